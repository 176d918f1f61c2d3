"""Releases of the catalog: next version, changed modules, notes, annotated tag and forge release.

Pieces, from pure to effectful:

* ``TagScheme`` / ``next_version`` / ``effective_level``: tag names and the version algorithm
  (semver.org 2.0.0 precedence; pre-releases ``<id>.<n>``). Pure.
* ``build_entries`` / ``render_notes``: one note entry per merged PR (or per commit without a PR),
  sections and per-module groups, Jinja2 template (users can override). Pure given the data.
* ``GitHistory``: a real ``git clone`` of the catalog (``forge.clone_url``) to read tags, commits
  and trees. ``plan_releases`` computes what a run would do; ``execute_plan`` creates the tag and
  the release through the forge. Nothing is created on ``--dry-run``.

See ``docs/releases.md`` for the user-facing rules and ``docs/release-metadata.md`` for the
metadata the rollout reads back.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import re
import subprocess
import tempfile
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jinja2
import semver

from catalog_ops.catalog.layout import (
    DEFAULT_PATTERNS,
    DEFAULT_SHARED_GLOBS,
    ChangeSet,
    classify_changes,
    discover_modules,
    local_module_graph,
    transitive_dependencies,
)
from catalog_ops.checks.results import load_config
from catalog_ops.core.commits import (
    DEFAULT_LABEL_RULES,
    DEFAULT_SECURITY_LABELS,
    DEFAULT_SECURITY_TYPES,
    DEFAULT_TYPE_RULES,
    BumpLevel,
    ConventionalCommit,
    NotParsable,
    commit_level,
    is_github_merge_subject,
    labels_level,
    parse_commit_message,
    pr_number_from_subject,
    strip_pr_suffix,
)
from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.errors import Conflict, ForgeError, NotFound, ReleaseError, ToolMissing, UsageError
from catalog_ops.forge.base import ChecksState, CommitChecks, Forge, PullRequest, PullState
from catalog_ops.gitutil import git_binary, git_env, redact

__all__ = [
    "SECTIONS",
    "GitHistory",
    "NoteEntry",
    "ReleaseOptions",
    "ReleasePlan",
    "TagScheme",
    "VersionTag",
    "build_entries",
    "effective_level",
    "execute_plan",
    "extract_migration",
    "next_version",
    "plan_releases",
    "render_notes",
    "run_release",
]

#: (key, title) of the notes sections, in order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("breaking", "Breaking changes"),
    ("security", "Security"),
    ("features", "Features"),
    ("fixes", "Fixes"),
    ("other", "Other"),
)
#: trailer of the annotated tags catalog-ops makes; a tag carrying it whose release is missing is
#: completed by a re-run (an earlier run stopped between the tag and the release).
TAG_TRAILER = "Created-by: catalog-ops"
#: upper bound of ``forge.pulls_for_commit`` requests per run (one per first-parent commit).
MAX_PR_LOOKUPS = 500
_PRERELEASE_ID_RE = re.compile(r"[A-Za-z][0-9A-Za-z-]*\Z")
_ZERO = semver.Version(0, 0, 0)


# =============================================================================== versions & tags
@dataclasses.dataclass(frozen=True)
class TagScheme:
    """How versions are written as tags.

    ``module=None``: repo-wide ``v{version}`` (or ``{version}`` when the repo's tags have no
    ``v``). ``module="modules/vpc"``: ``modules/vpc/v{version}`` (or ``modules/vpc/{version}``).
    A tag belongs to a scheme only when everything after the prefix is a semver.org 2.0.0
    version, so ``modules/vpc-peering/v1.0.0`` never counts for ``modules/vpc`` and module tags
    never count for the repo-wide scheme.
    """

    module: str | None = None

    @property
    def kind(self) -> str:
        """``"repo"`` or ``"module"``."""
        return "repo" if self.module is None else "module"

    @property
    def prefixes(self) -> tuple[str, str]:
        """(prefix with ``v``, prefix without)."""
        base = "" if self.module is None else self.module.strip("/") + "/"
        return base + "v", base

    def parse(self, tag: str) -> tuple[semver.Version, str] | None:
        """``(version, prefix)`` when ``tag`` belongs to this scheme, else None."""
        for prefix in self.prefixes:
            if tag.startswith(prefix):
                rest = tag[len(prefix) :]
                if semver.Version.is_valid(rest):
                    return semver.Version.parse(rest), prefix
        return None

    def format(self, version: semver.Version, prefix: str | None = None) -> str:
        """Tag name for ``version``; ``prefix`` defaults to the ``v`` style."""
        return (self.prefixes[0] if prefix is None else prefix) + str(version)


@dataclasses.dataclass(frozen=True, order=True)
class VersionTag:
    """A tag of a scheme. Orders by semver precedence (build metadata ignored), then name."""

    version: semver.Version
    name: str
    prefix: str = dataclasses.field(compare=False)
    sha: str = dataclasses.field(compare=False)

    @property
    def is_prerelease(self) -> bool:
        """The version has a pre-release part (``1.3.0-rc.0``)."""
        return self.version.prerelease is not None


def tag_message(tag: str) -> str:
    """Message of the annotated tags catalog-ops creates."""
    return f"Release {tag}\n\n{TAG_TRAILER}"


def _split_prerelease(pre: str) -> tuple[str, int | None]:
    head, _, tail = pre.rpartition(".")
    if head and tail.isdigit():
        return head, int(tail)
    return pre, None


def effective_level(level: BumpLevel, base: semver.Version | None) -> BumpLevel:
    """Auto-derived level after the 0.y.z rule: before 1.0.0 a breaking change bumps the minor
    (semver.org item 4 leaves 0.y.z free; catalog-ops reserves 1.0.0 for an explicit
    ``--bump major``)."""
    if level == BumpLevel.MAJOR and (base or _ZERO).major == 0:
        return BumpLevel.MINOR
    return level


def _bump(version: semver.Version, level: BumpLevel) -> semver.Version:
    if level == BumpLevel.MAJOR:
        return version.bump_major()
    if level == BumpLevel.MINOR:
        return version.bump_minor()
    if level == BumpLevel.PATCH:
        return version.bump_patch()
    return version


def next_version(
    *,
    base: semver.Version | None,
    current: semver.Version | None,
    level: BumpLevel,
    prerelease: str | None = None,
) -> semver.Version:
    """The version to release.

    Args:
        base: highest *final* version released so far (None: nothing yet, counts as 0.0.0).
        current: highest version including pre-releases (None: nothing yet).
        level: bump over ``base`` (already adjusted with ``effective_level`` for auto bumps).
        prerelease: pre-release identifier such as ``"rc"``; None for a final release.

    Returns:
        ``base`` bumped by ``level``; when ``current`` is a pre-release of a higher version, that
        version (the series continues: ``1.3.0-rc.1`` + fix -> ``1.3.0``). With ``prerelease``
        the result is ``<final>-<id>.0``, or ``<id>.<n+1>`` when ``current`` is ``<final>-<id>.<n>``.

    Raises:
        ReleaseError: the result would not be higher than ``current`` (e.g. ``beta`` after ``rc``).
    """
    start = base or _ZERO
    final = _bump(start, level)
    if current is not None and current.prerelease is not None:
        core = current.finalize_version()
        if core > final:
            final = core
    if prerelease is None:
        result = final
    else:
        result = final.replace(prerelease=f"{prerelease}.0")
        if current is not None and current.prerelease is not None and current.finalize_version() == final:
            cur_id, cur_n = _split_prerelease(current.prerelease)
            if cur_id == prerelease and cur_n is not None:
                result = final.replace(prerelease=f"{prerelease}.{cur_n + 1}")
    if current is not None and result.compare(current) <= 0:
        raise ReleaseError(f"next version {result} would not be higher than the current {current}")
    return result


# ========================================================================================= git
@dataclasses.dataclass(frozen=True)
class CommitInfo:
    """One commit: id, parent ids, full message, files changed against its first parent."""

    sha: str
    parents: tuple[str, ...]
    message: str
    files: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        """First line of the message."""
        return self.message.split("\n", 1)[0].strip()

    @property
    def is_merge(self) -> bool:
        """More than one parent."""
        return len(self.parents) > 1


def _git_env() -> dict[str, str]:
    """``git_env`` for read-only history commands: C locale output, never a credential prompt."""
    return git_env({"LC_ALL": "C", "GIT_ASKPASS": "", "GCM_INTERACTIVE": "never"})


class GitHistory:
    """Read-only view of a clone (uses the ``git`` CLI without a shell).

    Create with ``GitHistory.clone(url, dest)``. Raises ``ReleaseError`` when git fails (messages
    never contain the credentials a clone URL may carry).
    """

    def __init__(self, path: Path, git: str = "git") -> None:
        self.path = path
        self._git = git
        self._commits: dict[tuple[str | None, str], list[CommitInfo]] = {}

    @classmethod
    def clone(cls, url: str, dest: Path) -> GitHistory:
        """``git clone --no-checkout url dest`` (all branches and tags).

        Raises ReleaseError when git fails (git's stderr with URL credentials redacted).
        """
        try:
            git = git_binary()
        except ToolMissing:
            git = "git"
        proc = subprocess.run(
            [git, "clone", "--quiet", "--no-checkout", url, str(dest)],
            capture_output=True,
            text=True,
            env=_git_env(),
        )
        if proc.returncode != 0:
            raise ReleaseError(f"git clone failed: {redact(proc.stderr.strip())}")
        return cls(dest, git)

    def run(self, *args: str, check: bool = True) -> str:
        """stdout of ``git -C <path> <args>``; raises ReleaseError on failure when ``check``."""
        proc = subprocess.run(
            [self._git, "-c", "core.quotePath=false", *args],
            cwd=self.path,
            capture_output=True,
            text=True,
            env=_git_env(),
        )
        if check and proc.returncode != 0:
            raise ReleaseError(f"git {args[0]} failed: {redact(proc.stderr.strip())}")
        return proc.stdout if proc.returncode == 0 else ""

    def resolve(self, ref: str) -> str | None:
        """Commit id for ``ref`` (sha, short sha, tag, branch), or None."""
        if ref.startswith("-"):
            return None
        for candidate in (ref, f"origin/{ref}"):
            out = self.run("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", check=False).strip()
            if out:
                return out
        return None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """``git merge-base --is-ancestor``: ``ancestor`` is reachable from ``descendant``."""
        proc = subprocess.run(
            [self._git, "merge-base", "--is-ancestor", ancestor, descendant],
            cwd=self.path,
            capture_output=True,
            env=_git_env(),
        )
        return proc.returncode == 0

    def tags_merged_into(self, sha: str) -> list[tuple[str, str]]:
        """``(tag name, peeled commit id)`` of tags reachable from ``sha``."""
        out = self.run(
            "for-each-ref",
            f"--merged={sha}",
            "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)",
            "refs/tags",
        )
        tags = []
        for line in out.splitlines():
            name, obj, peeled = [*line.split("\0"), "", ""][:3]
            tags.append((name, peeled or obj))
        return tags

    def commits(self, base: str | None, target: str) -> list[CommitInfo]:
        """Commits reachable from ``target`` but not ``base``, children before parents."""
        if (base, target) not in self._commits:
            self._commits[base, target] = self._read_commits(base, target)
        return self._commits[base, target]

    def _read_commits(self, base: str | None, target: str) -> list[CommitInfo]:
        rng = [target] if base is None else [f"{base}..{target}"]
        raw = self.run("log", "--topo-order", "--format=%H%x1f%P%x1f%B%x1e", *rng, "--")
        files_raw = self.run(
            "log",
            "--topo-order",
            "--format=%x1e%H",
            "--name-only",
            "--no-renames",
            "--diff-merges=first-parent",
            *rng,
            "--",
        )
        files: dict[str, tuple[str, ...]] = {}
        for chunk in files_raw.split("\x1e"):
            lines = [x for x in chunk.split("\n") if x.strip()]
            if lines:
                files[lines[0].strip()] = tuple(lines[1:])
        result = []
        for record in raw.split("\x1e"):
            record = record.lstrip("\n")
            if not record.strip():
                continue
            sha, parents, message = [*record.split("\x1f"), "", ""][:3]
            result.append(
                CommitInfo(
                    sha=sha,
                    parents=tuple(parents.split()),
                    message=message.strip("\n"),
                    files=files.get(sha, ()),
                )
            )
        return result

    def tag_message(self, name: str) -> str:
        """Message of annotated tag ``name`` ("" for lightweight or unknown tags)."""
        out = self.run(
            "for-each-ref", "--format=%(objecttype)%00%(contents)", f"refs/tags/{name}", check=False
        )
        kind, _, contents = out.partition("\0")
        return contents if kind == "tag" else ""

    def rev_list(self, exclude: str, include: str) -> list[str]:
        """Commit ids reachable from ``include`` but not from ``exclude`` (newest first)."""
        return self.run("rev-list", f"{exclude}..{include}").split()

    def changed_files(self, base: str | None, target: str) -> list[str]:
        """Paths that differ between ``base`` and ``target`` (every path at ``target`` when
        ``base`` is None). Deleted and renamed-away paths are included."""
        if base is None:
            out = self.run("ls-tree", "-r", "--name-only", target)
        else:
            out = self.run("diff", "--name-only", "--no-renames", base, target)
        return [line for line in out.splitlines() if line]

    def checkout(self, sha: str) -> None:
        """Check out ``sha`` (detached) in the clone's work tree."""
        self.run("-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", "--detach", sha)


# ======================================================================================= notes
@dataclasses.dataclass
class NoteEntry:
    """One line of the release notes: a merged PR, or a commit that came without one.

    Attributes:
        key: ``"pr:12"`` or ``"commit:<sha>"``.
        title: PR title or commit subject (without GitHub's ``" (#12)"`` suffix).
        parsed: Conventional Commits parse of ``title`` (or of the commit's full message).
        commits: member commits, newest first.
        pr_number / pr_url: the PR when known (forge, or ``(#12)``/merge subject).
        labels: PR labels.
        level: raw bump level (before the 0.y.z rule); breaking -> MAJOR.
        breaking / security: flags; ``breaking_notes`` from ``BREAKING CHANGE:`` footers.
        migration: text of ``## Migration`` sections of the PR body.
        modules / test_modules: modules whose own files / examples-tests the entry changed.
    """

    key: str
    title: str
    parsed: ConventionalCommit | NotParsable
    commits: list[CommitInfo] = dataclasses.field(default_factory=list)
    pr_number: int | None = None
    pr_url: str | None = None
    merged_sha: str | None = None
    labels: tuple[str, ...] = ()
    level: BumpLevel = BumpLevel.NONE
    breaking: bool = False
    security: bool = False
    breaking_notes: tuple[str, ...] = ()
    migration: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    test_modules: tuple[str, ...] = ()

    @property
    def files(self) -> set[str]:
        """Paths changed by the member commits (first-parent diffs)."""
        return {f for c in self.commits for f in c.files}

    @property
    def section(self) -> str:
        """Key of the notes section (``SECTIONS``)."""
        if self.breaking:
            return "breaking"
        if self.security:
            return "security"
        if self.level == BumpLevel.MINOR or (self.parsed.parsed and self.parsed.type == "feat"):
            return "features"
        if self.level == BumpLevel.PATCH:
            return "fixes"
        return "other"

    @property
    def text(self) -> str:
        """Markdown text of the entry (no links)."""
        p = self.parsed
        if isinstance(p, ConventionalCommit):
            scope = f"**{p.scope}:** " if p.scope else ""
            return scope + p.description
        return self.title

    def links(self, commit_url: Callable[[str], str | None]) -> str:
        """Markdown links: the PR, then the merge/squash commit (or every member commit)."""
        parts = []
        if self.pr_number is not None:
            parts.append(f"[#{self.pr_number}]({self.pr_url})" if self.pr_url else f"#{self.pr_number}")
        shas = [self.merged_sha] if self.merged_sha else [c.sha for c in self.commits]
        for sha in shas:
            url = commit_url(sha)
            parts.append(f"[`{sha[:7]}`]({url})" if url else f"`{sha[:7]}`")
        return ", ".join(parts)


_MIGRATION_RE = re.compile(r"^(#{1,6})[ \t]+Migration\b[^\n]*$", re.I | re.M)
_HEADING_RE = re.compile(r"^(#{1,6})[ \t]+\S", re.M)
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)


def extract_migration(body: str | None) -> tuple[str, ...]:
    """Texts of the ``## Migration`` sections of a PR body (Markdown ATX headings, any level,
    heading text starting with "Migration"), each up to the next heading of the same or a higher
    level. HTML comments (PR template placeholders) are dropped; empty sections are skipped."""
    if not body:
        return ()
    text = _HTML_COMMENT_RE.sub("", body.replace("\r\n", "\n"))
    found = []
    for match in _MIGRATION_RE.finditer(text):
        level = len(match.group(1))
        end = len(text)
        for heading in _HEADING_RE.finditer(text, match.end()):
            if len(heading.group(1)) <= level:
                end = heading.start()
                break
        section = text[match.end() : end].strip()
        if section:
            found.append(section)
    return tuple(found)


def _is_security(parsed: ConventionalCommit | NotParsable, labels: Iterable[str]) -> bool:
    if parsed.parsed and (
        (parsed.type or "") in DEFAULT_SECURITY_TYPES
        or (parsed.scope or "").lower() in DEFAULT_SECURITY_TYPES
    ):
        return True
    return any(label.strip().lower() in DEFAULT_SECURITY_LABELS for label in labels)


def build_entries(
    commits: Sequence[CommitInfo],
    *,
    pulls_for: Callable[[str], Sequence[PullRequest]] = lambda sha: (),
    merge_members: Callable[[CommitInfo], Iterable[str]] = lambda c: (),
    html_url: str = "",
    type_rules: Mapping[str, BumpLevel] = DEFAULT_TYPE_RULES,
    label_rules: Mapping[str, BumpLevel] = DEFAULT_LABEL_RULES,
) -> list[NoteEntry]:
    """Group commits into note entries (newest first).

    Args:
        commits: commits of the range, children before parents (``GitHistory.commits``).
        pulls_for: merged PRs containing a commit (``forge.pulls_for_commit``).
        merge_members: commit ids a merge commit brought in (``git rev-list M^1..M^2``).
        html_url: repository web URL for PR links when the forge gave none.
        type_rules / label_rules: bump rules (``catalog_ops.core.commits``).

    A commit belongs to the entry of its merged PR (forge), else to the PR of the GitHub merge
    commit that brought it in, else to the PR named in its squash subject (``"feat: x (#12)"``),
    else it is an entry of its own. Plain merge commits (``Merge branch 'x'``) are not entries.
    """
    entries: dict[str, NoteEntry] = {}
    member_of: dict[str, str] = {}
    pulls: dict[str, PullRequest] = {}

    def merged(prs: Sequence[PullRequest]) -> list[PullRequest]:
        return [p for p in prs if p.state == PullState.MERGED or p.merged_sha]

    for c in commits:
        prs = merged(pulls_for(c.sha))
        key: str | None
        pr: PullRequest | None = None
        number: int | None = None
        if prs:
            pr = next((p for p in prs if p.merged_sha == c.sha), None) or min(prs, key=lambda p: p.number)
            key, number = f"pr:{pr.number}", pr.number
        elif c.sha in member_of:
            key = member_of[c.sha]
        elif c.is_merge:
            number = pr_number_from_subject(c.subject) if is_github_merge_subject(c.subject) else None
            key = None if number is None else f"pr:{number}"
        else:
            number = pr_number_from_subject(c.subject)
            key = f"pr:{number}" if number is not None else f"commit:{c.sha}"
        if key is None:
            continue
        if c.is_merge:
            for sha in merge_members(c):
                member_of.setdefault(sha, key)
        if pr is not None:
            pulls.setdefault(key, pr)
        entry = entries.get(key)
        if entry is None:
            if pr is not None:
                title = strip_pr_suffix(pr.title)
            elif c.is_merge:
                body = c.message.split("\n", 1)[1].strip() if "\n" in c.message else ""
                title = body.split("\n", 1)[0].strip() or c.subject
            else:
                title = strip_pr_suffix(c.subject)
            entry = NoteEntry(key=key, title=title, parsed=parse_commit_message(title), pr_number=number)
            if pr is None and not c.is_merge and number is None:
                entry.parsed = parse_commit_message(c.message)  # full message: footers count
            entries[key] = entry
        entry.commits.append(c)

    result = []
    for key, entry in entries.items():
        pr = pulls.get(key)
        if pr is not None:
            entry.pr_url = pr.url or None
            entry.labels = tuple(pr.labels)
            entry.migration = extract_migration(pr.body)
            if pr.merged_sha and any(c.sha == pr.merged_sha for c in entry.commits):
                entry.merged_sha = pr.merged_sha
        if entry.pr_number is not None and not entry.pr_url and html_url:
            entry.pr_url = f"{html_url.rstrip('/')}/pull/{entry.pr_number}"
        if entry.merged_sha is None:
            merges = [c.sha for c in entry.commits if c.is_merge]
            if merges:
                entry.merged_sha = merges[0]
        parsed_all: list[ConventionalCommit | NotParsable] = [entry.parsed]
        for c in entry.commits:
            if not c.is_merge and entry.key != f"commit:{c.sha}":
                parsed_all.append(parse_commit_message(c.message))
        entry.level = max(
            [commit_level(p, rules=type_rules) for p in parsed_all]
            + [labels_level(entry.labels, label_rules)]
        )
        entry.breaking = (
            any(p.breaking for p in parsed_all) or labels_level(entry.labels, label_rules) == BumpLevel.MAJOR
        )
        entry.security = any(_is_security(p, entry.labels) for p in parsed_all)
        notes: list[str] = []
        for p in parsed_all:
            for note in p.breaking_notes:
                if note not in notes:
                    notes.append(note)
        entry.breaking_notes = tuple(notes)
        result.append(entry)
    return result


def _template_env() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML
    )


def load_template(path: Path | None) -> jinja2.Template:
    """The notes template: ``path`` when given, else the bundled ``release_notes.md.j2``.

    Raises:
        UsageError: unreadable file, or a syntax error (``path:line:col: message``).
    """
    if path is None:
        name = "release_notes.md.j2"
        source = (
            importlib.resources.files("catalog_ops").joinpath("templates", name).read_text(encoding="utf-8")
        )
    else:
        name = str(path)
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{path}:1:1: cannot read template: {exc.strerror}") from None
    try:
        template = _template_env().from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise UsageError(f"{name}:{exc.lineno}:1: template syntax error: {exc.message}") from None
    template.name = name  # named in render errors (``render_notes``)
    return template


def _notes_context(plan: ReleasePlan) -> dict[str, Any]:
    commit_url = plan.commit_url

    def entry_ctx(e: NoteEntry) -> dict[str, Any]:
        return {
            "text": e.text,
            "links": e.links(commit_url),
            "title": e.title,
            "type": e.parsed.type,
            "scope": e.parsed.scope,
            "breaking": e.breaking,
            "breaking_notes": list(e.breaking_notes),
            "migration": list(e.migration),
            "pr_number": e.pr_number,
            "pr_url": e.pr_url,
            "labels": list(e.labels),
            "commits": [{"sha": c.sha, "short": c.sha[:7], "url": commit_url(c.sha)} for c in e.commits],
            "modules": list(e.modules),
            "test_modules": list(e.test_modules),
        }

    sections = []
    for key, title in SECTIONS:
        members = [e for e in plan.entries if e.section == key]
        if not members:
            continue
        groups: dict[str | None, list[NoteEntry]] = {}
        for e in members:
            mods: list[str | None] = [*sorted(set(e.modules) | set(e.test_modules))]
            if plan.scheme.module is not None:
                mods = [plan.scheme.module]
            for m in mods or [None]:
                groups.setdefault(m, []).append(e)
        ordered = sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        sections.append(
            {
                "key": key,
                "title": title,
                "groups": [
                    {
                        "module": m,
                        "title": f"`{m}`" if m else "General",
                        "entries": [entry_ctx(e) for e in es],
                    }
                    for m, es in ordered
                ],
            }
        )
    migrations = [
        {"title": e.text, "links": e.links(commit_url), "text": text}
        for e in plan.entries
        for text in e.migration
    ]
    cs = plan.changes or ChangeSet()
    module_rows = (
        [{"module": m, "change": "changed"} for m in cs.changed]
        + [{"module": m, "change": "removed"} for m in cs.removed]
        + [
            {
                "module": m,
                "change": "uses a changed module (" + ", ".join(f"`{d}`" for d in plan.via.get(m, ())) + ")",
            }
            for m in cs.via_dependency
        ]
        + [{"module": m, "change": "examples/tests only"} for m in cs.tests_only]
    )
    previous_link = None
    if plan.previous:
        previous_link = f"`{plan.previous}`"
        if plan.html_url:
            previous_link = f"[`{plan.previous}`]({plan.html_url}/compare/{plan.previous}...{plan.tag})"
    return {
        "release": {
            "repo": plan.repo,
            "tag": plan.tag,
            "version": plan.version,
            "previous": plan.previous,
            "previous_link": previous_link,
            "commit": plan.target,
            "commit_short": plan.target[:7],
            "commit_url": commit_url(plan.target),
            "urgency": plan.urgency,
            "breaking": plan.breaking,
            "prerelease": plan.prerelease,
            "bump": plan.level.name.lower(),
            "module": plan.scheme.module,
        },
        "sections": sections,
        "migrations": migrations,
        "modules": module_rows,
        "all_affected": cs.all_affected,
    }


def render_notes(plan: ReleasePlan, template: jinja2.Template | None = None) -> str:
    """Release notes Markdown (without the metadata comment).

    Args:
        plan: the release plan whose entries are rendered.
        template: from ``load_template`` (default: the bundled one).

    Raises:
        UsageError: the template fails to render (``name:line:1: message``; the line is the
            template line Jinja2 reports, 1 when it reports none).
    """
    template = template or load_template(None)
    try:
        text = template.render(**_notes_context(plan))
    except jinja2.TemplateError as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        line = next((f.lineno for f in reversed(frames) if f.filename == "<template>"), None) or 1
        where = f"{template.name or 'release notes template'}:{line}:1"
        raise UsageError(f"{where}: release notes template error: {exc}") from None
    text = re.sub(r"\n{3,}", "\n\n", text).strip("\n")
    return text + "\n"


# ======================================================================================= plans
@dataclasses.dataclass(frozen=True, kw_only=True)
class ReleaseOptions:
    """What ``catalog-ops release`` was asked to do (see ``docs/releases.md``)."""

    bump: str = "auto"  # auto|patch|minor|major
    prerelease: str | None = None
    urgency: str | None = None  # None: "security" when a security change is included
    ref: str | None = None
    tag_scheme: str = "repo"  # repo|module
    module: str | None = None
    template: Path | None = None
    checks_gate: bool | None = None  # None: on for the github forge
    dry_run: bool = False
    module_patterns: tuple[str, ...] | None = None  # None: checks.module_patterns of .catalog-ops.yml

    def validate(self) -> None:
        """Raises UsageError on inconsistent options."""
        if self.bump not in ("auto", "patch", "minor", "major"):
            raise UsageError(f"--bump must be auto, patch, minor or major, not {self.bump!r}")
        if self.prerelease is not None and not _PRERELEASE_ID_RE.match(self.prerelease):
            raise UsageError(
                f"--prerelease must be an identifier like 'rc' or 'beta', not {self.prerelease!r}"
            )
        if self.urgency not in (None, "normal", "security"):
            raise UsageError(f"--urgency must be normal or security, not {self.urgency!r}")
        if self.tag_scheme not in ("repo", "module"):
            raise UsageError(f"--tag-scheme must be repo or module, not {self.tag_scheme!r}")
        if self.module is not None and self.tag_scheme != "module":
            raise UsageError("--module needs --tag-scheme module")


@dataclasses.dataclass(kw_only=True)
class ReleasePlan:
    """What a release run does (or did) for one tag scheme/module.

    ``status``: ``"release"`` (to be created), ``"released"`` (created), ``"exists"`` (the
    target is already released under this scheme: nothing created), ``"completed"`` (the tag
    existed without a release; the release was created), ``"nothing"`` (no releasable commits).
    """

    repo: str
    scheme: TagScheme
    status: str
    message: str
    target: str
    default_branch: str
    html_url: str = ""
    tag: str | None = None
    version: str | None = None
    previous: str | None = None
    level: BumpLevel = BumpLevel.NONE
    bump_mode: str = "auto"
    prerelease: bool = False
    urgency: str = "normal"
    breaking: bool = False
    changes: ChangeSet | None = None
    via: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    entries: list[NoteEntry] = dataclasses.field(default_factory=list)
    notes: str = ""
    metadata: ReleaseMetadata | None = None
    checks: str | None = None
    release_url: str | None = None
    created: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)

    def commit_url(self, sha: str) -> str | None:
        """Web URL of a commit, or None when the forge has no web URLs."""
        return f"{self.html_url}/commit/{sha}" if self.html_url else None

    @property
    def body(self) -> str:
        """Release body: notes plus the metadata comment."""
        if self.metadata is None:
            return self.notes
        return self.notes.rstrip("\n") + "\n\n" + render_release_metadata(self.metadata) + "\n"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (``--json``)."""
        return {
            "repo": self.repo,
            "scheme": self.scheme.kind,
            "module": self.scheme.module,
            "status": self.status,
            "message": self.message,
            "tag": self.tag,
            "version": self.version,
            "previous": self.previous,
            "commit": self.target,
            "bump": self.level.name.lower(),
            "bump_mode": self.bump_mode,
            "prerelease": self.prerelease,
            "urgency": self.urgency,
            "breaking": self.breaking,
            "modules": (self.changes or ChangeSet()).to_json(),
            "notes": self.notes,
            "metadata": self.metadata.to_json() if self.metadata else None,
            "checks": self.checks,
            "release_url": self.release_url,
            "created": list(self.created),
            "warnings": list(self.warnings),
        }


class _Context:
    """State shared by the plans of one repo run: the clone and forge lookups (cached)."""

    def __init__(self, forge: Forge, repo: str, history: GitHistory, target: str) -> None:
        self.forge = forge
        self.repo = repo
        self.history = history
        self._pulls: dict[str, list[PullRequest]] = {}
        self._first_parent = set(history.run("rev-list", "--first-parent", target).split())
        self.warnings: list[str] = []
        self.shared_globs: tuple[str, ...] = DEFAULT_SHARED_GLOBS

    def pulls_for(self, sha: str) -> list[PullRequest]:
        """Merged PRs of a commit on the default branch's first-parent chain (squash, rebase and
        merge commits: where GitHub records PRs); other commits are folded into the PR of the
        merge commit that brought them in, so they need no request. At most
        ``MAX_PR_LOOKUPS`` requests per run; beyond that, messages alone decide."""
        if sha not in self._pulls:
            if sha not in self._first_parent:
                return []
            if len(self._pulls) >= MAX_PR_LOOKUPS:
                if not self.warnings:
                    self.warnings.append(
                        f"more than {MAX_PR_LOOKUPS} commits: PR titles/labels were looked up for the "
                        "newest ones only; older commits are judged by their messages"
                    )
                return []
            try:
                self._pulls[sha] = list(self.forge.pulls_for_commit(self.repo, sha))
            except NotFound:
                self._pulls[sha] = []
        return self._pulls[sha]

    def merge_members(self, commit: CommitInfo) -> list[str]:
        """Commits a merge commit brought in: ``git rev-list <first parent>..<other parent>``."""
        if len(commit.parents) < 2:
            return []
        return [s for p in commit.parents[1:] for s in self.history.rev_list(commit.parents[0], p)]


def _scheme_tags(history: GitHistory, scheme: TagScheme, merged_into: str) -> list[VersionTag]:
    tags = []
    for name, sha in history.tags_merged_into(merged_into):
        parsed = scheme.parse(name)
        if parsed is not None:
            tags.append(VersionTag(version=parsed[0], name=name, prefix=parsed[1], sha=sha))
    return sorted(tags)


def _filter_commits(commits: Sequence[CommitInfo], scope: Sequence[str] | None) -> list[CommitInfo]:
    if scope is None:
        return list(commits)
    prefixes = tuple(s.rstrip("/") + "/" for s in scope)
    return [c for c in commits if any(f.startswith(prefixes) for f in c.files)]


def _plan_one(
    ctx: _Context,
    *,
    scheme: TagScheme,
    target: str,
    head: str,
    default_branch: str,
    html_url: str,
    options: ReleaseOptions,
    modules: list[str],
    graph: dict[str, set[str]],
    template: jinja2.Template,
) -> ReleasePlan:
    history = ctx.history
    plan = ReleasePlan(
        repo=ctx.repo,
        scheme=scheme,
        status="nothing",
        message="",
        target=target,
        default_branch=default_branch,
        html_url=html_url.rstrip("/"),
        bump_mode=options.bump,
    )
    scope: list[str] | None = None
    if scheme.module is not None:
        scope = [scheme.module, *sorted(transitive_dependencies(graph, scheme.module))]
    label = f"{ctx.repo}" + (f" {scheme.module}" if scheme.module else "")

    on_branch = _scheme_tags(history, scheme, head)
    reachable = on_branch if target == head else _scheme_tags(history, scheme, target)
    current = reachable[-1] if reachable else None
    finals = [t for t in reachable if not t.is_prerelease]
    last_final = finals[-1] if finals else None
    if on_branch and (current is None or on_branch[-1] > current) and on_branch[-1].sha != target:
        newest = on_branch[-1]
        if not history.is_ancestor(newest.sha, target):
            raise ReleaseError(
                f"{label}: commit {target[:12]} is older than the latest release {newest.name} on "
                f"{default_branch}; release a newer commit"
            )
    prefix = current.prefix if current else (on_branch[-1].prefix if on_branch else None)

    at_target = [t for t in reachable if t.sha == target]
    since_current = _filter_commits(history.commits(current.sha if current else None, target), scope)
    promote = bool(current and current.is_prerelease and options.prerelease is None)

    if at_target and not (promote and current is not None and current.sha == target):
        # already released at this commit under this scheme: nothing new to tag
        existing = at_target[-1]
        plan.tag, plan.version = existing.name, str(existing.version)
        plan.prerelease = existing.is_prerelease
        release = ctx.forge.get_release(ctx.repo, existing.name)
        ours = TAG_TRAILER in history.tag_message(existing.name)
        if release is not None or not ours:
            plan.status = "exists"
            plan.release_url = release.url if release is not None and release.url else None
            plan.message = f"{label}: {target[:12]} is already released as {existing.name}; nothing created"
            if release is None:
                plan.message += (
                    " (the tag has no release; it was not made by catalog-ops, so it is left alone)"
                )
            return plan
        # tag without a release (an earlier run stopped half-way): complete it
        older = [t for t in reachable if t.version.compare(existing.version) < 0]
        if existing.is_prerelease:
            prev = older[-1] if older else None
        else:
            older_finals = [t for t in older if not t.is_prerelease]
            prev = older_finals[-1] if older_finals else None
        plan.status = "completed"
        plan.message = f"{label}: tag {existing.name} exists without a release; creating the release"
        _fill(ctx, plan, prev, target, scope, modules, graph, options, template)
        return plan

    if not since_current and not promote:
        plan.message = (
            f"{label}: no commits since {current.name if current else 'the start'}; nothing to release"
        )
        return plan

    # level over the whole pre-release series (since the last final release)
    series_commits = _filter_commits(history.commits(last_final.sha if last_final else None, target), scope)
    series_entries = build_entries(
        series_commits, pulls_for=ctx.pulls_for, merge_members=ctx.merge_members, html_url=html_url
    )
    base_version = last_final.version if last_final else None
    since_ids = {c.sha for c in since_current}
    new_entries = [e for e in series_entries if any(c.sha in since_ids for c in e.commits)]
    if options.bump == "auto":
        series_level = effective_level(
            max((e.level for e in series_entries), default=BumpLevel.NONE), base_version
        )
        new_level = max((e.level for e in new_entries), default=BumpLevel.NONE)
        if new_level == BumpLevel.NONE and not promote:
            plan.message = (
                f"{label}: no releasable commits since {current.name if current else 'the start'} "
                f"({len(since_current)} commit(s), none is a feat/fix/breaking change or has a semver label)"
            )
            return plan
        level = series_level
    else:
        level = BumpLevel[options.bump.upper()]
    version = next_version(
        base=base_version,
        current=current.version if current else None,
        level=level,
        prerelease=options.prerelease,
    )
    plan.level = level
    plan.version = str(version)
    plan.prerelease = version.prerelease is not None
    plan.tag = scheme.format(version, prefix)
    prev = current if plan.prerelease else last_final
    plan.status = "release"
    _fill(ctx, plan, prev, target, scope, modules, graph, options, template)
    plan.message = f"{label}: {_version_change(plan, level, options.bump, promote=promote)}"
    return plan


def _why(entries: Sequence[NoteEntry]) -> str:
    """``"2 feat, 1 fix"``: the entries that asked for a version bump, counted by kind."""
    counts: dict[str, int] = {}
    for e in entries:
        if e.level == BumpLevel.NONE:
            continue
        if e.breaking:
            kind = "breaking"
        elif e.parsed.parsed and e.parsed.type:
            kind = str(e.parsed.type)
        else:
            kind = "labelled"
        counts[kind] = counts.get(kind, 0) + 1
    order = {"breaking": 0, "feat": 1, "fix": 2}
    return ", ".join(
        f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: (order.get(kv[0], 3), kv[0]))
    )


def _version_change(plan: ReleasePlan, level: BumpLevel, bump: str, *, promote: bool) -> str:
    """Human summary of a planned version change.

    ``v1.2.0 -> v1.3.0 (minor: 2 feat, 1 fix)``; ``first release: v0.0.1 (patch: 1 fix)``;
    ``v1.3.0-rc.1 -> v1.3.0 (promotes the pre-release)``; ``... (major, forced by --bump major)``.
    """
    name = level.name.lower()
    if bump != "auto":
        reason = f"{name}, forced by --bump {bump}"
    else:
        why = _why(plan.entries)
        reason = f"{name}: {why}" if why else name
        if promote and not why:
            reason = "promotes the pre-release"
    if plan.previous is None:
        return f"first release: {plan.tag} ({reason})"
    return f"{plan.previous} -> {plan.tag} ({reason})"


def _fill(
    ctx: _Context,
    plan: ReleasePlan,
    prev: VersionTag | None,
    target: str,
    scope: list[str] | None,
    modules: list[str],
    graph: dict[str, set[str]],
    options: ReleaseOptions,
    template: jinja2.Template,
) -> None:
    history = ctx.history
    plan.previous = prev.name if prev else None
    commits = _filter_commits(history.commits(prev.sha if prev else None, target), scope)
    entries = build_entries(
        commits, pulls_for=ctx.pulls_for, merge_members=ctx.merge_members, html_url=plan.html_url
    )
    root = history.path
    for e in entries:
        cs = classify_changes(
            root, sorted(e.files), modules=modules, graph=graph, shared_globs=ctx.shared_globs
        )
        e.modules = tuple(sorted(set(cs.changed) | set(cs.removed)))
        e.test_modules = cs.tests_only
    files = history.changed_files(prev.sha if prev else None, target)
    cs = classify_changes(root, files, modules=modules, graph=graph, shared_globs=ctx.shared_globs)
    changed_set = set(cs.changed) | set(cs.removed)
    via: dict[str, tuple[str, ...]] = {}
    for m in cs.via_dependency:
        via[m] = tuple(sorted(transitive_dependencies(graph, m) & changed_set))
    if plan.scheme.module is not None:
        m = plan.scheme.module
        cs = ChangeSet(
            changed=(m,) if m in cs.changed else (),
            via_dependency=(m,) if m in cs.via_dependency else (),
            tests_only=(m,) if m in cs.tests_only else (),
            affected=(m,) if m in cs.affected else (),
            removed=(),
        )
        via = {k: v for k, v in via.items() if k == m}
    plan.changes = cs
    plan.via = via
    plan.entries = entries
    plan.breaking = any(e.breaking for e in entries)
    security = any(e.security for e in entries)
    plan.urgency = options.urgency or ("security" if security else "normal")

    commit_url = plan.commit_url
    meta_modules: dict[str, ModuleChange] = {}
    group_of: Callable[[NoteEntry], set[str]]
    if plan.scheme.module is not None:
        module = plan.scheme.module
        group_of = lambda e: {module}  # noqa: E731
    else:
        group_of = lambda e: set(e.modules) | set(e.test_modules)  # noqa: E731
    for m in [*cs.changed, *cs.removed, *cs.via_dependency, *cs.tests_only]:
        mine = [e for e in entries if m in group_of(e)]
        notes = [f"{e.text} ({e.links(commit_url)})" if e.links(commit_url) else e.text for e in mine]
        if m in cs.removed:
            notes.append("Module removed.")
        if m in via:
            notes.append("Uses " + ", ".join(f"`{d}`" for d in via[m]) + ", which changed.")
        meta_modules[m] = ModuleChange(
            path=m,
            changed=m not in cs.tests_only,
            tests_only=m in cs.tests_only,
            notes=tuple(notes),
            migration=tuple(t for e in mine for t in e.migration),
            breaking=any(e.breaking for e in mine),
            via=via.get(m, ()),
        )
    plan.metadata = ReleaseMetadata(
        version=plan.version or "",
        tag=plan.tag or "",
        previous=plan.previous,
        urgency=plan.urgency,
        breaking=plan.breaking,
        modules=meta_modules,
        commit=target,
        prerelease=plan.prerelease,
        module=plan.scheme.module,
    )
    plan.notes = render_notes(plan, template)


@contextmanager
def _clone(forge: Forge, repo: str) -> Iterator[GitHistory]:
    with tempfile.TemporaryDirectory(prefix="catalog-ops-release-") as tmp:
        yield GitHistory.clone(forge.clone_url(repo), Path(tmp) / "catalog")


def plan_releases(forge: Forge, repo: str, options: ReleaseOptions, history: GitHistory) -> list[ReleasePlan]:
    """Compute the releases a run would make (no writes).

    Args:
        forge: where the catalog lives (default branch, PRs, existing releases).
        repo: ``"owner/name"``.
        options: ``ReleaseOptions``.
        history: a clone of ``repo`` (``GitHistory.clone(forge.clone_url(repo), dir)``); its work
            tree is checked out at the target commit.

    Returns:
        One plan for the repo-wide scheme or ``--module``; one per module for
        ``--tag-scheme module`` without ``--module``.

    Raises:
        ReleaseError: the target is not on the default branch, is older than the latest release,
            or the next version would not be higher than the current one.
        UsageError: bad options or template, or ``--ref`` names no commit, tag or branch of the
            repository.
    """
    options.validate()
    info = forge.get_repo(repo)
    default_branch = info.default_branch
    head = forge.branch_sha(repo, default_branch)
    if head is None:
        raise ReleaseError(f"{repo}: default branch {default_branch!r} does not exist")
    if history.resolve(head) is None:
        history.run("fetch", "--quiet", "origin", head, check=False)
    if options.ref:
        target = history.resolve(options.ref)
        if target is None:
            raise UsageError(
                f"--ref {options.ref!r}: no such commit, tag or branch in {repo} "
                f"(give a sha, tag or branch of the repository; default: the head of {default_branch!r})"
            )
    else:
        target = head
    if not history.is_ancestor(target, head):
        raise ReleaseError(
            f"{repo}: commit {target[:12]} is not on the default branch {default_branch!r}; "
            "releases are made from the default branch only"
        )
    history.checkout(target)
    template = load_template(options.template)
    config = load_config(history.path)  # the catalog's own .catalog-ops.yml, as `check affected` reads it
    patterns = options.module_patterns or tuple(config.get("module_patterns") or DEFAULT_PATTERNS)
    modules = discover_modules(history.path, patterns)
    graph = local_module_graph(history.path, modules)
    ctx = _Context(forge, repo, history, target)
    ctx.shared_globs = tuple(config.get("shared") or DEFAULT_SHARED_GLOBS)
    if options.tag_scheme == "repo":
        schemes = [TagScheme()]
    elif options.module is not None:
        module = options.module.strip("/")
        if module not in modules:
            raise UsageError(
                f"--module {module!r} is not a module of {repo} at {target[:12]} (modules: {', '.join(modules) or 'none'})"
            )
        schemes = [TagScheme(module)]
    else:
        schemes = [TagScheme(m) for m in modules]
    plans = []
    for s in schemes:
        try:
            plans.append(
                _plan_one(
                    ctx,
                    scheme=s,
                    target=target,
                    head=head,
                    default_branch=default_branch,
                    html_url=info.html_url,
                    options=options,
                    modules=modules,
                    graph=graph,
                    template=template,
                )
            )
        except ReleaseError as exc:
            if len(schemes) == 1:
                raise
            plans.append(
                ReleasePlan(
                    repo=repo,
                    scheme=s,
                    status="failed",
                    message=str(exc),
                    target=target,
                    default_branch=default_branch,
                    html_url=info.html_url.rstrip("/"),
                    bump_mode=options.bump,
                )
            )
    for p in plans:
        p.warnings = list(ctx.warnings)
    return plans


def commit_checks(forge: Forge, repo: str, sha: str) -> ChecksState:
    """Combined checks state of a commit (``forge.base.CommitChecks.commit_checks_state``).

    Raises:
        ReleaseError: the forge does not implement ``commit_checks_state``.
    """
    if not isinstance(forge, CommitChecks):
        raise ReleaseError(
            f"the {getattr(forge, 'kind', '?')} forge cannot report the checks of a commit; "
            "rerun with --no-checks-gate to release without the gate"
        )
    return ChecksState(forge.commit_checks_state(repo, sha))


def execute_plan(forge: Forge, plan: ReleasePlan) -> ReleasePlan:
    """Create the annotated tag (unless it exists at the target) and the release (unless it
    exists). Safe to re-run. Raises ReleaseError when the tag exists on another commit."""
    if plan.status not in ("release", "completed") or plan.tag is None:
        return plan
    existing = {t.name: t for t in forge.list_tags(plan.repo)}
    tag = existing.get(plan.tag)
    if tag is not None and tag.sha != plan.target:
        raise ReleaseError(
            f"{plan.repo}: tag {plan.tag} already exists on {tag.sha[:12]}, not {plan.target[:12]}"
        )
    if tag is None:
        try:
            forge.create_tag(plan.repo, name=plan.tag, sha=plan.target, message=tag_message(plan.tag))
            plan.created.append("tag")
        except Conflict:
            again = {t.name: t for t in forge.list_tags(plan.repo)}.get(plan.tag)
            if again is None or again.sha != plan.target:
                raise
    release = forge.get_release(plan.repo, plan.tag)
    if release is None:
        release = forge.create_release(
            plan.repo, tag=plan.tag, name=plan.tag, body=plan.body, prerelease=plan.prerelease
        )
        plan.created.append("release")
    plan.release_url = release.url or None
    plan.status = "released" if plan.status == "release" else plan.status
    plan.message = (
        f"{plan.repo}: released {plan.tag}" + (f" (previous {plan.previous})" if plan.previous else "")
        if plan.status == "released"
        else f"{plan.repo}: created the missing release for existing tag {plan.tag}"
    )
    return plan


def run_release(forge: Forge, repo: str, options: ReleaseOptions) -> list[ReleasePlan]:
    """Plan and (unless ``options.dry_run``) execute. The checks gate refuses the run (before
    anything is created) when the target's checks are failing or pending.

    Raises:
        ReleaseError: see ``plan_releases``; gate refusal; tag conflicts.
        ForgeError: forge failures.
    """
    with _clone(forge, repo) as history:
        plans = plan_releases(forge, repo, options, history)
    todo = [p for p in plans if p.status in ("release", "completed")]
    gate = options.checks_gate if options.checks_gate is not None else getattr(forge, "kind", "") == "github"
    if todo and gate and options.checks_gate is None and not isinstance(forge, CommitChecks):
        # default-on gate, forge without the capability: say so instead of blocking every release
        gate = False
        for p in plans:
            p.warnings.append(
                f"checks gate skipped: the {getattr(forge, 'kind', '?')} forge cannot report commit checks "
                "(pass --checks-gate to require it)"
            )
    if todo and gate:
        state = commit_checks(forge, repo, todo[0].target)
        for p in plans:
            p.checks = state.value
        if state in (ChecksState.FAILURE, ChecksState.PENDING) and not options.dry_run:
            raise ReleaseError(
                f"{repo}: checks on {todo[0].target[:12]} are {state.value}; refusing to release "
                "(pass --no-checks-gate to override)"
            )
    if options.dry_run:
        return plans
    errors: list[str] = []
    for p in todo:
        try:
            execute_plan(forge, p)
        except (ReleaseError, ForgeError) as exc:
            errors.append(str(exc))
            p.message = f"failed: {exc}"
            p.status = "failed"
    if errors and len(errors) == len(todo) and len(todo) == 1:
        raise ReleaseError(errors[0])
    return plans
