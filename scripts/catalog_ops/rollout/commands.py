"""Commands in rollout PRs: ``/catalog-ops rebase`` and friends, parsed and decided (pure).

A person with write access to a dependent steers its rollout PR with a comment holding one
command per line, at the start of the line (``COMMANDS``). The next ``rollout plan`` reads the
comments of the dependent's open and newest closed rollout PR (``rollout.gather``), decides each
new command here (``decide``) and records the decisions in the plan (``DependentPlan.commands``);
``rollout.apply`` acts on them and acknowledges each one exactly once.

What is parsed, and what it may steer (docs/security.md, "Commands"):

* A comment is read only when it is not the product's own (``is_product``), its body is at most
  ``MAX_BODY_CHARS`` characters, and it is one of the first or the newest ``MAX_COMMENTS``
  comments of the PR (a flood of comments hides neither the product's state comment nor a new
  command);
  at most ``MAX_COMMANDS`` command lines per comment are taken. A command line starts with
  ``/catalog-ops`` at column 1, outside fenced code blocks, followed by whitespace or the end of
  the line. Its command word is matched case-insensitively with runs of whitespace read as one
  space (``/CATALOG-OPS Rebase`` is ``rebase``; users type slash commands as they do
  ``@dependabot rebase``); a line with no command, or an unknown one, is answered with the list
  of commands (a refusal), never dropped in silence. Nothing else in a comment is read.
* A command counts only from a login whose permission on the dependent is ``write`` or
  ``admin`` (GitHub's ``GET /repos/{owner}/{repo}/collaborators/{username}/permission``, whose
  ``permission`` maps ``maintain`` to ``write`` and ``triage`` to ``read``:
  https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user).
  A comment's ``author_association`` is not used: it says how the author relates to the
  repository (``MEMBER``, ``CONTRIBUTOR``, ...), not whether they may write to it.
* A command steers only the PR's dependent: rebuild its branch, re-plan it, and the ignores
  below. Ignores are kept in the product's own state comment on the PR (``STATE``: a trailing
  machine-readable block of a comment the product wrote, ``forge.base.Identity``); nothing is
  read from a block in anyone else's comment.

Semantics (docs/rollout.md, "Commands"):

``rebase``           rebuild the branch from the current base tip (like ``apply --force``; commits
                     others pushed onto the rollout branch are dropped).
``retry``            plan this dependent again from its files (never reused from ``--previous``)
                     and apply it; on a PR closed by a person it proposes the same release again.
``ignore this major`` no PR for the PR's modules at their current target majors.
``ignore this module`` no PR for the PR's modules, ever (until the state comment is deleted).
``skip this release`` no PR for this release (its highest target); a newer release proposes again.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from catalog_ops.core.versions import Version, parse_version
from catalog_ops.fanout.pulls import Marker
from catalog_ops.forge.base import Comment, authored_by

PREFIX = "/catalog-ops"
MAX_COMMENTS = 100
"""Comments read per PR: the first page of ``GET …/issues/{n}/comments`` (ascending ids)."""
MAX_BODY_CHARS = 65536
"""Longest comment body parsed (GitHub's limit on a comment body); a longer body is not read."""
MAX_COMMANDS = 5
"""Command lines taken from one comment (the rest of the comment is not read)."""
WRITE_PERMISSIONS = ("admin", "write")
"""``permission`` values that count as write access (``maintain`` is reported as ``write``)."""
STATE = Marker("catalog-ops:commands")
"""The trailing block of the product's state comment on a rollout PR."""
STATE_PREFIX = "<!-- " + STATE.name
"""What ``Comments.upsert_comment`` finds the state comment by (its trailing block starts so)."""
STATE_SCHEMA = 1
MAX_LOG = 50
"""Decisions the state comment lists (the newest)."""


class Command(enum.StrEnum):
    """The commands a comment may hold (the text after ``/catalog-ops``)."""

    REBASE = "rebase"
    RETRY = "retry"
    IGNORE_MAJOR = "ignore this major"
    IGNORE_MODULE = "ignore this module"
    SKIP_RELEASE = "skip this release"


class Verdict(enum.StrEnum):
    """What the plan decided for one command: honoured (acted on, acknowledged with a ``+1``
    reaction) or refused (a reply in the state comment says why)."""

    HONOURED = "honoured"
    REFUSED = "refused"


class IgnoreKind(enum.StrEnum):
    """What an ignore covers: a module at one major, a module, or one release."""

    MAJOR = "major"
    MODULE = "module"
    RELEASE = "release"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Ignore:
    """One ignore in force for a dependent.

    Attributes:
        kind: ``IgnoreKind``. module: catalog module dir (``major``/``module``). major: the
            target major (``major``). release: the tag skipped (``release``; its version and
            older targets are not proposed). pr / comment / by: where it was commanded.
    """

    kind: IgnoreKind
    module: str | None = None
    major: int | None = None
    release: str | None = None
    pr: int = 0
    comment: int = 0
    by: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (state block and plan JSON)."""
        out: dict[str, Any] = {"kind": self.kind.value, "pr": self.pr, "comment": self.comment, "by": self.by}
        if self.module is not None:
            out["module"] = self.module
        if self.major is not None:
            out["major"] = self.major
        if self.release is not None:
            out["release"] = self.release
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Ignore | None:
        """Inverse of ``to_json``; None for an entry of the wrong shape (never raises)."""
        try:
            kind = IgnoreKind(str(data["kind"]))
            module = data.get("module")
            major = data.get("major")
            release = data.get("release")
            ignore = cls(
                kind=kind,
                module=str(module) if module is not None else None,
                major=int(major) if major is not None else None,
                release=str(release) if release is not None else None,
                pr=int(data.get("pr") or 0),
                comment=int(data.get("comment") or 0),
                by=str(data["by"]) if data.get("by") is not None else None,
            )
        except (KeyError, TypeError, ValueError):
            return None
        needs = {
            IgnoreKind.MAJOR: (module, major),
            IgnoreKind.MODULE: (module,),
            IgnoreKind.RELEASE: (release,),
        }
        return ignore if all(v is not None for v in needs[kind]) else None

    def key(self) -> tuple[str, str, int, str]:
        """Identity of what is ignored (two commands ignoring the same thing are one ignore)."""
        return (
            self.kind.value,
            self.module or "",
            self.major if self.major is not None else -1,
            self.release or "",
        )

    def covers_module(self, module: str, target_major: int) -> bool:
        """True when this ignore keeps ``module`` at a target of major ``target_major`` out of PRs."""
        if self.kind is IgnoreKind.MODULE:
            return self.module == module
        if self.kind is IgnoreKind.MAJOR:
            return self.module == module and self.major == target_major
        return False

    @property
    def command(self) -> Command:
        """The command that makes this ignore (``ignore this major`` for ``major``, ...)."""
        return {
            IgnoreKind.MODULE: Command.IGNORE_MODULE,
            IgnoreKind.MAJOR: Command.IGNORE_MAJOR,
            IgnoreKind.RELEASE: Command.SKIP_RELEASE,
        }[self.kind]

    def describe(self) -> str:
        """One line for reasons and the state comment, e.g. ``modules/vpc v2.x ignored``."""
        if self.kind is IgnoreKind.MODULE:
            return f"{self.module} ignored"
        if self.kind is IgnoreKind.MAJOR:
            return f"{self.module} v{self.major}.x ignored"
        return f"release {self.release} skipped"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Decision:
    """The plan's decision on one command line of one comment.

    Attributes:
        pr: the PR the comment is on. comment: its id. url: its link. author: its login.
        command: the ``Command`` text. verdict: ``Verdict``. reason: why (shown in the state
        comment; for a refusal, the reply). ignores: what an honoured ignore adds.
    """

    pr: int
    comment: int
    author: str | None
    command: str
    verdict: Verdict
    reason: str
    url: str = ""
    ignores: tuple[Ignore, ...] = ()

    @property
    def honoured(self) -> bool:
        """True when the command is acted on."""
        return self.verdict is Verdict.HONOURED

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan JSON ``commands``)."""
        return {
            "pr": self.pr,
            "comment": self.comment,
            "author": self.author,
            "command": self.command,
            "verdict": self.verdict.value,
            "reason": self.reason,
            "url": self.url,
            "ignores": [i.to_json() for i in self.ignores],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a wrong shape."""
        return cls(
            pr=int(data["pr"]),
            comment=int(data["comment"]),
            author=data.get("author"),
            command=str(data["command"]),
            verdict=Verdict(data["verdict"]),
            reason=str(data.get("reason") or ""),
            url=str(data.get("url") or ""),
            ignores=tuple(i for x in data.get("ignores", ()) if (i := Ignore.from_json(x)) is not None),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class State:
    """What the product's state comments on a PR record: the command comments handled (comment
    id -> ``Verdict`` value) and the ignores in force."""

    handled: Mapping[int, str] = dataclasses.field(default_factory=dict)
    ignores: tuple[Ignore, ...] = ()
    log: tuple[Decision, ...] = ()

    def merged(self, other: State) -> State:
        """Union of two states (a duplicate state comment left by a concurrent run is harmless)."""
        seen = {(d.comment, d.command) for d in self.log}
        return State(
            handled={**self.handled, **other.handled},
            ignores=merge_ignores(self.ignores, other.ignores),
            log=(*self.log, *(d for d in other.log if (d.comment, d.command) not in seen))[-MAX_LOG:],
        )

    def to_json(self, catalog: str) -> dict[str, Any]:
        """The state block payload: ``{"schema", "catalog", "handled": {id: verdict}, "ignores",
        "log"}`` (the log: the last ``MAX_LOG`` decisions, for the comment's text)."""
        return {
            "schema": STATE_SCHEMA,
            "catalog": catalog,
            "handled": {str(k): v for k, v in sorted(self.handled.items())},
            "ignores": [i.to_json() for i in self.ignores],
            "log": [{**d.to_json(), "ignores": []} for d in self.log[-MAX_LOG:]],
        }


def merge_ignores(*groups: Iterable[Ignore]) -> tuple[Ignore, ...]:
    """The ignores of ``groups``, each ignored thing once (the first command naming it wins)."""
    out: dict[tuple[str, str, int, str], Ignore] = {}
    for group in groups:
        for ignore in group:
            out.setdefault(ignore.key(), ignore)
    return tuple(out.values())


def is_product(author: str | None, identity: str | None) -> bool:
    """True when a comment by ``author`` was written by the product.

    On a forge with authors (``identity`` set) the logins must match (``forge.base.authored_by``).
    The local forge (``identity`` None) records the author of comments people post and none
    for its own, so there a comment is the product's exactly when it has no author.
    """
    if identity is None:
        return author is None
    return authored_by(author, identity)


def parse_command_line(line: str) -> str | None:
    """The command text of one line (no line break), or None when it is not a command line.

    A command line starts at column 1 with ``/catalog-ops`` in any case, followed by whitespace
    or its end. The text after it has its whitespace runs read as one space; a known command
    (``Command``, any case) is returned as its value (``"ignore this major"``), anything else as
    written (at most 80 characters; ``""`` for none) so the reply can say so."""
    if line[: len(PREFIX)].lower() != PREFIX or (len(line) > len(PREFIX) and not line[len(PREFIX)].isspace()):
        return None
    text = " ".join(line[len(PREFIX) :].split())
    known = {c.value for c in Command}
    return text.lower() if text.lower() in known else text[:80]


def parse_commands(body: str) -> list[str]:
    """Command lines of one comment body, in order (``parse_command_line``), outside fenced
    code blocks. At most ``MAX_COMMANDS``; a body longer than ``MAX_BODY_CHARS`` yields none.
    Never raises."""
    if len(body) > MAX_BODY_CHARS:
        return []
    out: list[str] = []
    fence: str | None = None
    for raw in body.splitlines():
        line = raw.rstrip()
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            mark = stripped[:3]
            if fence is None:
                fence = mark
            elif mark == fence:
                fence = None
            continue
        if fence is not None:
            continue
        text = parse_command_line(line)
        if text is None:
            continue
        out.append(text)
        if len(out) >= MAX_COMMANDS:
            break
    return out


def parse_state(comment: Comment, *, catalog: str, identity: str | None) -> State | None:
    """The state recorded by ``comment`` when the product wrote it for ``catalog`` (its trailing
    ``STATE`` block), else None. Entries of the wrong shape are dropped, never raised."""
    if not is_product(comment.author, identity):
        return None
    data = STATE.parse(comment.body)
    if not data or data.get("catalog") != catalog or data.get("schema") != STATE_SCHEMA:
        return None
    handled: dict[int, str] = {}
    raw_handled = data.get("handled")
    if isinstance(raw_handled, dict):
        for key, value in raw_handled.items():
            if str(key).isdigit() and value in (Verdict.HONOURED.value, Verdict.REFUSED.value):
                handled[int(key)] = str(value)
    raw_ignores = data.get("ignores")
    ignores = tuple(
        i
        for x in (raw_ignores if isinstance(raw_ignores, list) else [])
        if isinstance(x, dict) and (i := Ignore.from_json(x)) is not None
    )
    log: list[Decision] = []
    raw_log = data.get("log")
    for x in (raw_log if isinstance(raw_log, list) else [])[-MAX_LOG:]:
        try:
            log.append(Decision.from_json(x))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return State(handled=handled, ignores=ignores, log=tuple(log))


def read_state(comments: Iterable[Comment], *, catalog: str, identity: str | None) -> State:
    """The union of every product-written state block among ``comments``."""
    state = State()
    for c in comments:
        found = parse_state(c, catalog=catalog, identity=identity)
        if found is not None:
            state = state.merged(found)
    return state


@dataclasses.dataclass(frozen=True, kw_only=True)
class PullCommands:
    """A rollout PR's comments as the plan read them: the PR, whether it is open, its comments
    (the first ``MAX_COMMENTS`` and the newest ``MAX_COMMENTS``: ``Conversations.list_comments``)
    and the permission of each commenter who wrote a command."""

    number: int
    open: bool
    comments: tuple[Comment, ...]
    url: str = ""


def pending(pull: PullCommands, *, state: State, identity: str | None) -> list[tuple[Comment, str]]:
    """``(comment, command text)`` of every command line on ``pull`` not handled yet: comments
    not written by the product, not in ``state.handled``. Bounded by ``2 * MAX_COMMENTS`` comments
    (the first and the newest ``MAX_COMMENTS``) and ``MAX_COMMANDS`` lines each."""
    out: list[tuple[Comment, str]] = []
    for c in pull.comments[: 2 * MAX_COMMENTS]:
        if is_product(c.author, identity) or c.id in state.handled:
            continue
        for text in parse_commands(c.body or ""):
            out.append((c, text))
    return out


def decide(
    pull: PullCommands,
    found: Sequence[tuple[Comment, str]],
    *,
    repo: str,
    permissions: Mapping[str, str],
    targets: Mapping[str, Version],
    release: str | None,
) -> list[Decision]:
    """Decide each pending command of ``pull`` (pure).

    Args:
        found: ``pending(...)``'s ``(comment, command text)`` pairs.
        repo: the dependent (named in refusals).
        permissions: login -> permission on ``repo`` (``admin``/``write``/``read``/``none``;
            GitHub's legacy base roles, ``Repos.permission``).
        targets: module -> the target version the plan proposes for it now (the PR's modules).
        release: the highest target tag the PR proposes now (what ``skip this release`` skips).

    Returns one ``Decision`` per line: refused (unknown command, no author, no write access,
    nothing it could apply to) or honoured (with the ignores it adds).
    """
    out: list[Decision] = []
    for comment, text in found:
        verdict, reason, ignores = _judge(
            pull, comment, text, repo=repo, permissions=permissions, targets=targets, release=release
        )
        out.append(
            Decision(
                pr=pull.number,
                comment=comment.id,
                author=comment.author,
                url=comment.url,
                command=text,
                verdict=verdict,
                reason=reason,
                ignores=ignores,
            )
        )
    return out


def _judge(
    pull: PullCommands,
    comment: Comment,
    text: str,
    *,
    repo: str,
    permissions: Mapping[str, str],
    targets: Mapping[str, Version],
    release: str | None,
) -> tuple[Verdict, str, tuple[Ignore, ...]]:
    """``decide`` for one command line: ``(verdict, reason, ignores)``."""
    refused = Verdict.REFUSED
    try:
        command = Command(text)
    except ValueError:
        what = "unknown command" if text else "no command given"
        return refused, f"{what}; known: {', '.join(c.value for c in Command)}", ()
    who = comment.author
    if not who:
        return refused, "the comment has no author", ()
    permission = permissions.get(who, "none")
    if permission not in WRITE_PERMISSIONS:
        return refused, f"{who} does not have write access to {repo} (permission: {permission})", ()
    if command is Command.REBASE:
        if not pull.open:
            return refused, "the PR is closed: there is no branch to rebase", ()
        return Verdict.HONOURED, "the branch is rebuilt from the current base", ()
    if command is Command.RETRY:
        again = "" if pull.open else " and proposed again"
        return Verdict.HONOURED, f"this dependent is planned again from its files{again}", ()
    if command is Command.SKIP_RELEASE:
        if not release:
            return refused, "this rollout proposes no release now", ()
        skip = Ignore(kind=IgnoreKind.RELEASE, release=release, pr=pull.number, comment=comment.id, by=who)
        return Verdict.HONOURED, f"no PR for {release}; a newer release proposes again", (skip,)
    if not targets:
        return refused, "this rollout proposes no module update now", ()
    if command is Command.IGNORE_MODULE:
        mods = tuple(
            Ignore(kind=IgnoreKind.MODULE, module=m, pr=pull.number, comment=comment.id, by=who)
            for m in sorted(targets)
        )
        return Verdict.HONOURED, "no more PRs for " + ", ".join(sorted(targets)), mods
    majors = tuple(
        Ignore(kind=IgnoreKind.MAJOR, module=m, major=v.major, pr=pull.number, comment=comment.id, by=who)
        for m, v in sorted(targets.items())
    )
    return (
        Verdict.HONOURED,
        "no PRs for " + ", ".join(f"{m} v{v.major}.x" for m, v in sorted(targets.items())),
        majors,
    )


def record(state: State, decisions: Sequence[Decision], ignores: Iterable[Ignore], *, failed: bool) -> State:
    """``state`` after handling ``decisions``: each marked handled (an honoured one only when its
    action did not fail, so the next run tries it again), logged, and ``ignores`` (the ignores in
    force) kept."""
    new = [d for d in decisions if not (failed and d.honoured)]
    handled = {**state.handled, **{d.comment: d.verdict.value for d in new}}
    seen = {(d.comment, d.command) for d in state.log}
    log = (*state.log, *(d for d in new if (d.comment, d.command) not in seen))[-MAX_LOG:]
    return State(handled=handled, ignores=merge_ignores(state.ignores, ignores), log=log)


def release_skipped(ignores: Iterable[Ignore], targets: Iterable[Version]) -> Ignore | None:
    """The ``release`` ignore that covers a PR proposing ``targets`` (every target is that release
    or older, in the same tag scheme family), else None."""
    versions = list(targets)
    if not versions:
        return None
    for ignore in ignores:
        if ignore.kind is not IgnoreKind.RELEASE or ignore.release is None:
            continue
        skipped = parse_version(ignore.release)
        if skipped is not None and all(v <= skipped for v in versions):
            return ignore
    return None


def honoured_of(decisions: Iterable[Decision], command: Command) -> list[Decision]:
    """The honoured decisions of ``command``."""
    return [d for d in decisions if d.honoured and d.command == command.value]
