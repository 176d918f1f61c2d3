"""Apply a rollout plan: one PR per dependent per catalog, idempotent, paced, per-repo outcomes.

For each dependent of the plan (or of one shard) ``apply_plan`` does exactly one of:

* ``open`` / ``update``: find the open PR on the deterministic branch (``plan.branch_name``).
  When its machine-readable marker carries the same change digest and its title/body are what
  the templates render now, nothing is written (``up_to_date``). Otherwise the files are read at
  the base tip, bumped in memory (``bump.bump_files``), committed as one commit on the base tip
  (the branch is created or force-moved: a rebuilt branch), and the PR is opened or its
  title/body refreshed (``opened`` / ``updated``). Then, when the dependent's policy allows it
  (security releases by default; majors only with ``automerge_majors``), auto-merge is enabled;
  where the forge refuses (``AutoMergeUnavailable``) and ``wait_and_merge`` is set, checks are
  polled until green (bounded by ``wait_timeout``) and the PR is merged. Otherwise reviews are
  requested from the configured reviewers or the CODEOWNERS of the changed files.
* ``close``: the open rollout PR is no longer needed; it is closed with a comment saying why.
* ``nothing`` / ``skip``: recorded as ``up_to_date`` / ``skipped`` with the plan's reason.

Every content-creating forge call goes through one shared ``Pacer`` (GitHub's guidance for
secondary rate limits: at least one second between content-creating requests; the GitHub forge
paces its own requests too). A failure in one dependent is recorded as ``failed`` and the others
continue. ``dry_run`` reads but never writes, and prints each diff and PR text.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import difflib
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import jinja2

from catalog_ops.core.codeowners import owners_for
from catalog_ops.core.versions import parse_version
from catalog_ops.errors import AutoMergeUnavailable, CatalogOpsError, Conflict, UsageError
from catalog_ops.forge.base import ChecksState, FileChange, Forge, PullRequest, PullState
from catalog_ops.render.report import Outcome, OutcomeKind, Report
from catalog_ops.rollout.planner import (
    Action,
    DependentPlan,
    Plan,
    bump_planned,
    dependents_of_shard,
    spanned_releases,
    stale_reason,
)

MARKER = "catalog-ops:rollout"
_MARKER_RE = re.compile(r"<!--\s*" + re.escape(MARKER) + r"\s+(\{.*?\})\s*-->", re.S)
TEMPLATES_DIR = Path(__file__).parent / "templates"
DEFAULT_LABELS = ("dependencies", "catalog-ops")
REPORT_COLUMNS = ("update", "urgency", "modules", "merge")
QUIET_REASONS = ("no reference to the catalog", "up to date")
TEMPLATE_NAMES = ("pr_title.j2", "pr_body.md.j2", "superseded_comment.md.j2")
COMMIT_TRAILER = "Catalog-Ops-Rollout"
FOREIGN_MARKER = "<!-- catalog-ops:rollout-foreign-commits -->"
FOREIGN_REASON = "branch has commits not made by catalog-ops"


# --------------------------------------------------------------------------- pacing
class Pacer:
    """One shared minimum interval between content-creating requests (thread-safe).

    Args:
        interval: seconds between two ``wait()`` returns (0 disables pacing).
        clock / sleep: injectable for tests (``time.monotonic`` / ``time.sleep``).
    """

    def __init__(
        self,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = max(0.0, interval)
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = threading.Lock()
        self.calls = 0

    def wait(self) -> None:
        """Block until the next write slot (slots are handed out in call order)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self.interval
            self.calls += 1
        delay = slot - now
        if delay > 0:
            self._sleep(delay)


# --------------------------------------------------------------------------- marker and texts
def render_marker(catalog: str, release: str, digest: str, head: str | None = None) -> str:
    """The HTML comment that identifies a rollout PR and what it contains; ``head`` is the
    commit catalog-ops last put on the branch (a different PR head means someone else pushed)."""
    data = {"catalog": catalog, "release": release, "digest": digest}
    if head:
        data["head"] = head
    payload = json.dumps(data, sort_keys=True)
    payload = payload.replace("--", "-\\u002d")
    return f"<!-- {MARKER} {payload} -->"


def parse_marker(body: str | None) -> dict[str, Any] | None:
    """The marker payload of a PR body (``{"catalog", "release", "digest"[, "head"]}``) or None."""
    match = _MARKER_RE.search(body or "")
    if not match:
        return None
    try:
        data = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def template_env(template_dir: Path | None = None) -> jinja2.Environment:
    """Jinja2 environment: ``template_dir`` (user overrides) first, then the bundled templates.
    Undefined variables are errors (``StrictUndefined``).

    Raises UsageError when ``template_dir`` is given but is not an existing directory (a typo
    must not silently fall back to the bundled templates).
    """
    loaders: list[jinja2.BaseLoader] = []
    if template_dir is not None:
        if not Path(template_dir).is_dir():
            raise UsageError(f"--template-dir {template_dir}: no such directory")
        loaders.append(jinja2.FileSystemLoader(str(template_dir)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES_DIR)))
    return jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
        trim_blocks=False,
    )


def _undefined_location(exc: BaseException, template: jinja2.Template) -> str:
    """``file:line`` of the template line that raised ``exc`` (Jinja2 rewrites tracebacks so
    template frames carry the template's file name and line), or just the file."""
    filename = template.filename or template.name or "<template>"
    line = None
    tb = exc.__traceback__
    while tb is not None:  # the innermost template frame (an included template may be the culprit)
        code_file = tb.tb_frame.f_code.co_filename
        if code_file == filename or code_file.endswith(".j2"):
            filename, line = code_file, tb.tb_lineno
        tb = tb.tb_next
    return f"{filename}:{line}" if line else filename


def _render_check(env: jinja2.Environment, name: str, ctx: dict[str, Any]) -> None:
    """Render template ``name`` with ``ctx``; raises UsageError ``file:line: undefined variable 'x'``."""
    template = env.get_template(name)
    try:
        template.render(ctx)
    except jinja2.UndefinedError as exc:
        match = re.search(r"'([^']+)' is undefined", exc.message or "")
        what = f"undefined variable '{match.group(1)}'" if match else f"undefined: {exc.message}"
        raise UsageError(f"{_undefined_location(exc, template)}: {what}") from None
    except (jinja2.TemplateError, TypeError, ValueError):
        pass  # data-dependent: reported per dependent by the run itself


def check_templates(env: jinja2.Environment, plan: Plan | None = None) -> None:
    """Compile every rollout template once, up front, so a syntax error fails the run before
    any dependent is touched; with ``plan``, also render them (``StrictUndefined``) against a
    representative context (the first dependent that gets a PR, and a close comment), so an
    undefined variable fails once instead of once per dependent.

    Raises UsageError ``file:line: template syntax error: message`` or
    ``file:line: undefined variable 'x'`` (exit 2).
    """
    for name in TEMPLATE_NAMES:
        try:
            env.get_template(name)
        except jinja2.TemplateSyntaxError as exc:
            where = exc.filename or exc.name or name
            raise UsageError(f"{where}:{exc.lineno}: template syntax error: {exc.message}") from None
        except jinja2.TemplateNotFound:
            raise UsageError(f"{name}: template not found") from None
    if plan is None:
        return
    sample = next((d for d in plan.dependents if d.action in (Action.OPEN, Action.UPDATE)), None)
    ctx: dict[str, Any] | None = None
    if sample is not None:
        try:
            ctx = pr_context(plan, sample, "0" * 40)
        except CatalogOpsError:  # reported for that dependent by the run itself
            ctx = None
    if ctx is not None:
        _render_check(env, "pr_title.j2", ctx)
        _render_check(env, "pr_body.md.j2", ctx)
    _render_check(
        env,
        "superseded_comment.md.j2",
        {
            "reason": "Nothing is left to update.",
            "catalog": plan.catalog,
            "release": plan.release.tag,
            "marker": render_marker(plan.catalog, plan.release.tag, "closed"),
        },
    )


def effective_automerge(dep: DependentPlan) -> bool:
    """The plan's auto-merge decision, re-checked: a breaking update never merges by itself
    unless the dependent sets ``automerge_majors`` (guards plans written by older versions)."""
    return dep.automerge and (not dep.breaking or dep.config.automerge_majors)


def _module_name(module: str) -> str:
    return module.rsplit("/", 1)[-1] if module else "(root)"


def pr_context(plan: Plan, dep: DependentPlan, head: str | None = None) -> dict[str, Any]:
    """Template context for one dependent's PR (documented in docs/rollout.md); ``head`` is the
    branch commit recorded in the marker."""
    bumped = [r for r in dep.refs if r.action == "bump"]
    rows: dict[str, dict[str, Any]] = {}
    for r in bumped:
        row = rows.setdefault(
            r.module,
            {
                "module": r.module,
                "module_name": _module_name(r.module),
                "from_set": [],
                "to": r.target,
                "update_type": r.update,
                "breaking": False,
                "files": [],
            },
        )
        if r.current not in row["from_set"]:
            row["from_set"].append(r.current)
        if r.written_in not in row["files"]:
            row["files"].append(r.written_in)
        order = ("none", "patch", "minor", "major")
        if order.index(r.update) > order.index(row["update_type"]):
            row["update_type"] = r.update
        row["breaking"] = row["breaking"] or r.breaking
    for row in rows.values():
        row["from"] = ", ".join(str(x) for x in row.pop("from_set"))
    modules = set(rows)
    lowest = None
    for r in bumped:
        v = parse_version(r.current or "")
        if v is None and r.current:
            # registry constraint: take the version the plan resolved it to
            from catalog_ops.core.versions import parse_constraint

            try:
                v = parse_constraint(r.current).parts[0].version
            except CatalogOpsError:
                v = None
        if v is not None and (lowest is None or v < lowest):
            lowest = v
    targets = [v for v in (parse_version(b.to) for b in dep.bumps) if v is not None]
    target = max(targets, default=plan.release.version)
    spanned = spanned_releases(lowest, target, plan.releases) if lowest is not None else [plan.release]
    notes: list[dict[str, Any]] = []
    migration: list[dict[str, Any]] = []
    breaking_changes: list[dict[str, Any]] = []
    breaking_modules = {row["module"] for row in rows.values() if row["breaking"]}
    for rel in spanned:
        meta = rel.metadata
        entry: dict[str, Any] = {
            "tag": rel.tag,
            "url": rel.url,
            "urgency": rel.urgency,
            "has_metadata": meta is not None,
            "modules": [],
        }
        if meta is not None:
            for mod in sorted(modules):
                change = meta.modules.get(mod) if mod else None
                if change is not None and change.changed and (change.notes or not change.tests_only):
                    entry["modules"].append({"module": mod, "notes": list(change.notes) or ["(no notes)"]})
                if change is not None and change.migration:
                    migration.append({"module": mod, "tag": rel.tag, "notes": list(change.migration)})
                if change is not None and change.breaking and mod in breaking_modules:
                    breaking_changes.append(
                        {"module": mod, "tag": rel.tag, "notes": list(change.notes) or ["(no notes)"]}
                    )
        notes.append(entry)
    top_bump = max(
        (b for b in dep.bumps if parse_version(b.to) is not None),
        key=lambda b: parse_version(b.to) or target,
        default=None,
    )
    target_tag = (
        top_bump.tag
        if top_bump is not None and top_bump.tag
        else next((rel.tag for rel in plan.releases if rel.version == target), str(target))
    )
    return {
        "catalog": plan.catalog,
        "catalog_name": plan.catalog.split("/", 1)[-1],
        "catalog_address": plan.catalog_address,
        "release": plan.release.tag,
        "release_url": plan.release.url or f"https://{plan.catalog_address}",
        "target": target_tag,
        "repo": dep.repo,
        "base": dep.base,
        "rows": sorted(rows.values(), key=lambda x: x["module"]),
        "skipped": [r for r in dep.refs if r.action == "skip"],
        "notes": notes,
        "migration": migration,
        "breaking_changes": breaking_changes,
        "urgency": dep.urgency,
        "breaking": dep.breaking,
        "crosses_major": any(row["update_type"] == "major" for row in rows.values()),
        "update": dep.update,
        "automerge": effective_automerge(dep),
        "policy": dep.config.automerge,
        "configured_reviewers": list(dep.config.reviewers),
        "codeowners": dep.codeowners,
        "unreadable": list(dep.errors),
        "marker": render_marker(plan.catalog, plan.release.tag, dep.digest(), head),
    }


def render_pr(
    plan: Plan, dep: DependentPlan, *, env: jinja2.Environment | None = None, head: str | None = None
) -> tuple[str, str]:
    """``(title, body)`` of the dependent's PR from ``pr_title.j2`` / ``pr_body.md.j2``;
    ``head`` (the commit catalog-ops put on the branch) goes into the marker.

    Raises CatalogOpsError when a template fails (undefined variable, syntax error).
    """
    env = env or template_env()
    ctx = pr_context(plan, dep, head)
    try:
        title = " ".join(env.get_template("pr_title.j2").render(ctx).split())
        body = env.get_template("pr_body.md.j2").render(ctx)
    except jinja2.TemplateError as exc:
        raise CatalogOpsError(f"PR template error: {exc}") from exc
    if ctx["marker"] not in body:
        body = body.rstrip("\n") + "\n\n" + ctx["marker"] + "\n"
    return title, body


def _with_marker_field(marker: str, **fields: str) -> str:
    """``marker`` (one rendered marker comment) with extra payload fields."""
    data = parse_marker(marker) or {}
    data.update(fields)
    payload = json.dumps(data, sort_keys=True).replace("--", "-\\u002d")
    return f"<!-- {MARKER} {payload} -->"


def _has_foreign_head(pr: PullRequest) -> bool:
    """True when the PR's head is not the commit catalog-ops last put on the branch (the
    marker's ``head``): someone else pushed onto the rollout branch."""
    marker = parse_marker(pr.body)
    ours = str(marker.get("head") or "") if marker else ""
    return bool(ours and pr.head_sha and pr.head_sha != ours)


def _find_closed_pull(forge: Forge, repo: str, head: str) -> PullRequest | None:
    """The newest closed (or merged) PR whose head branch is ``head``, or None (``Forge.find_closed_pull``)."""
    return forge.find_closed_pull(repo, head)


def labels_for(dep: DependentPlan) -> list[str]:
    """Labels of the dependent's PR: defaults, ``security``, ``breaking-change``, configured."""
    labels = list(DEFAULT_LABELS)
    if dep.urgency == "security":
        labels.append("security")
    if dep.breaking:
        labels.append("breaking-change")
    labels.extend(dep.config.labels)
    return list(dict.fromkeys(labels))


def split_owners(owners: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(users, teams)`` from CODEOWNERS/config owners: ``@user`` -> user, ``@org/team`` ->
    team ``org/team``; e-mail owners cannot be requested and are dropped."""
    users: list[str] = []
    teams: list[str] = []
    for owner in owners:
        name = owner.strip().lstrip("@")
        if not name or "@" in name:
            continue
        (teams if "/" in name else users).append(name)
    return list(dict.fromkeys(users)), list(dict.fromkeys(teams))


def unified_diff(path: str, old: bytes, new: bytes) -> str:
    """``git diff``-style unified diff of one file (``a/`` and ``b/`` prefixes)."""
    a = old.decode("utf-8", errors="replace").splitlines(keepends=True)
    b = new.decode("utf-8", errors="replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}"))


# --------------------------------------------------------------------------- apply
@dataclasses.dataclass(kw_only=True)
class ApplyOptions:
    """Knobs of ``apply_plan``.

    Attributes:
        dry_run: read only; print diffs and PR texts to ``out``.
        wait_and_merge: when auto-merge is unavailable, poll checks and merge when green.
        wait_timeout: seconds to poll per PR (bounded wait); poll_interval: seconds between polls.
        concurrency: dependents processed in parallel.
        template_dir: directory overriding ``pr_title.j2`` / ``pr_body.md.j2``.
        merge_method: ``squash`` | ``merge`` | ``rebase``.
        out: stream for dry-run output (diffs, PR texts).
        force: rebuild the branch even when someone else pushed commits onto it.
    """

    dry_run: bool = False
    wait_and_merge: bool = False
    wait_timeout: float = 600.0
    poll_interval: float = 15.0
    concurrency: int = 4
    template_dir: Path | None = None
    merge_method: str = "squash"
    out: TextIO | None = None
    force: bool = False


class _Apply:
    def __init__(
        self, forge: Any, plan: Plan, opts: ApplyOptions, pacer: Pacer, sleep: Callable[[float], None]
    ) -> None:
        self.forge = forge
        self.plan = plan
        self.opts = opts
        self.pacer = pacer
        self.sleep = sleep
        self.env = template_env(opts.template_dir)
        self.print_lock = threading.Lock()

    # writes: every content-creating call is paced
    def write(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a content-creating forge method after waiting for the shared pacer."""
        self.pacer.wait()
        return fn(*args, **kwargs)

    def emit(self, text: str) -> None:
        """Print dry-run text atomically (threads)."""
        if self.opts.out is None:
            return
        with self.print_lock:
            self.opts.out.write(text)
            self.opts.out.flush()

    def details(self, dep: DependentPlan, merge: str = "") -> dict[str, str]:
        """Report columns for a dependent: update type, urgency, modules, merge state."""
        mods = []
        for r in dep.refs:
            if r.action == "bump":
                item = f"{_module_name(r.module)} {r.current}→{r.target}"
                if item not in mods:
                    mods.append(item)
        d = {
            "update": dep.update if dep.bumps else "",
            "urgency": dep.urgency if dep.bumps else "",
            "modules": ", ".join(mods),
        }
        if merge:
            d["merge"] = merge
        return d

    def run_one(self, dep: DependentPlan) -> Outcome:
        """Apply one dependent; never raises (failures become ``failed`` outcomes)."""
        try:
            if dep.action is Action.SKIP:
                return Outcome(subject=dep.repo, kind=OutcomeKind.SKIPPED, reason=dep.reason or "skipped")
            if dep.action is Action.NOTHING:
                return Outcome(
                    subject=dep.repo,
                    kind=OutcomeKind.UP_TO_DATE,
                    reason=dep.reason,
                    details=self.details(dep),
                )
            if dep.action is Action.CLOSE:
                return self.close(dep)
            return self.open_or_update(dep)
        except CatalogOpsError as exc:
            return Outcome(subject=dep.repo, kind=OutcomeKind.FAILED, error=str(exc) or type(exc).__name__)
        except Exception as exc:  # one repo never aborts the run
            return Outcome(subject=dep.repo, kind=OutcomeKind.FAILED, error=f"{type(exc).__name__}: {exc}")

    def newer_pr(self, dep: DependentPlan, pr: PullRequest | None) -> Outcome | None:
        """A skip when the open PR was made by a rollout of a newer release than this plan's
        (an old plan, e.g. a re-run workflow, must not rewrite or close it)."""
        marker = parse_marker(pr.body) if pr else None
        theirs = parse_version(str(marker.get("release", ""))) if marker else None
        if pr is None or theirs is None or not theirs > self.plan.release.version:
            return None
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.SKIPPED,
            reason=f"PR #{pr.number} rolls out the newer release {marker['release'] if marker else ''}; "
            f"this plan is for {self.plan.release.tag}",
            url=pr.url,
        )

    def close(self, dep: DependentPlan, pr: PullRequest | None = None) -> Outcome:
        """Close the open rollout PR with the superseded comment (unless a newer rollout owns it)."""
        pr = pr or self.forge.find_open_pull(dep.repo, self.plan.branch)
        if pr is None or parse_marker(pr.body) is None:
            return Outcome(subject=dep.repo, kind=OutcomeKind.UP_TO_DATE, reason=dep.reason or "up to date")
        newer = self.newer_pr(dep, pr)
        if newer is not None:
            return newer
        foreign = self.foreign_commits(dep, pr)
        if foreign is not None:
            return foreign
        marker = render_marker(self.plan.catalog, self.plan.release.tag, "closed")
        comment = self.env.get_template("superseded_comment.md.j2").render(
            reason=dep.reason or "Nothing is left to update.",
            catalog=self.plan.catalog,
            release=self.plan.release.tag,
            marker=marker,
        )
        if self.opts.dry_run:
            self.emit(f"\n=== {dep.repo}: would close #{pr.number}\n{comment}\n")
            return Outcome(subject=dep.repo, kind=OutcomeKind.WOULD_CLOSE, reason=dep.reason, url=pr.url)
        # Record in the PR's own marker that catalog-ops closed it (a PR closed by a person is
        # not reopened for the same release; one closed as superseded may be).
        closed_body = _MARKER_RE.sub(
            lambda m: _with_marker_field(m.group(0), closed_by="catalog-ops"), pr.body or "", count=1
        )
        if closed_body != pr.body:
            self.write(self.forge.update_pull, dep.repo, pr.number, body=closed_body)
        self.write(self.forge.close_pull, dep.repo, pr.number, comment=comment)
        return Outcome(subject=dep.repo, kind=OutcomeKind.CLOSED, reason=dep.reason, url=pr.url)

    def foreign_commits(self, dep: DependentPlan, pr: PullRequest) -> Outcome | None:
        """A skip when the PR's head is not the commit catalog-ops last put on the branch (its
        marker's ``head``): someone pushed commits that a rebuild would force-push away. A
        comment says so on the PR, once (upserted by marker). ``--force`` rebuilds anyway."""
        if self.opts.force or not _has_foreign_head(pr):
            return None
        marker = parse_marker(pr.body)
        ours = str(marker.get("head") or "") if marker else ""
        if not self.opts.dry_run:
            body = (
                f"{FOREIGN_MARKER}\ncatalog-ops did not update this PR for {self.plan.release.tag}: the branch "
                f"`{self.plan.branch}` has commits not made by catalog-ops (head `{pr.head_sha[:12]}`, "
                f"catalog-ops last pushed `{ours[:12]}`). Rebuilding it would discard them. Merge or close "
                "this PR, or rerun `catalog-ops rollout apply --force` to rebuild the branch.\n"
            )
            self.write(self.forge.upsert_comment, dep.repo, pr.number, marker=FOREIGN_MARKER, body=body)
        return Outcome(subject=dep.repo, kind=OutcomeKind.SKIPPED, reason=FOREIGN_REASON, url=pr.url)

    def closed_by_person(self, dep: DependentPlan) -> Outcome | None:
        """A skip when the newest PR on the rollout branch was closed without merging by a
        person for this same release (or the same changes): like Renovate/Dependabot, a closed
        update is not reopened; a newer release opens again.

        Uses the forge's optional ``find_closed_pull(repo, head)`` when it has one, else the
        local forge's PR records; other forges cannot tell (the PR is opened again).
        """
        pr = _find_closed_pull(self.forge, dep.repo, self.plan.branch)
        if pr is None or pr.state is not PullState.CLOSED:
            return None
        marker = parse_marker(pr.body)
        if not marker or marker.get("closed_by") or marker.get("catalog") != self.plan.catalog:
            return None
        if marker.get("release") != self.plan.release.tag and marker.get("digest") != dep.digest():
            return None
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.SKIPPED,
            reason=f"closed by a person; not reopening for {marker.get('release')} (#{pr.number})",
            url=pr.url,
        )

    def reviewers(self, dep: DependentPlan, paths: Sequence[str]) -> tuple[list[str], list[str]]:
        """``(users, teams)`` to request: configured reviewers, else CODEOWNERS of ``paths``."""
        if dep.config.reviewers:
            return split_owners(dep.config.reviewers)
        # The plan saw the tree: read the one CODEOWNERS file it found (or none) instead of
        # probing GitHub's three locations.
        data = self.forge.read_file(dep.repo, dep.codeowners, dep.base) if dep.codeowners else None
        text = data.decode("utf-8", errors="replace") if data else None
        return split_owners(owners_for(text, paths)) if text else ([], [])

    def open_or_update(self, dep: DependentPlan) -> Outcome:
        """Open, refresh or leave the dependent's PR (see the module docstring)."""
        forge, repo, branch = self.forge, dep.repo, self.plan.branch
        pr: PullRequest | None = forge.find_open_pull(repo, branch)
        newer = self.newer_pr(dep, pr)
        if newer is not None:
            return newer
        if pr is not None:
            foreign = self.foreign_commits(dep, pr)
            if foreign is not None:
                return foreign
        else:
            closed = self.closed_by_person(dep)
            if closed is not None:
                return closed
        digest = dep.digest()
        marker = parse_marker(pr.body) if pr else None
        labels = labels_for(dep)
        # --force over someone else's commits: the text may match, but the branch must be rebuilt.
        rebuild = pr is not None and self.opts.force and _has_foreign_head(pr)
        if pr is not None and marker and marker.get("digest") == digest and not rebuild:
            title, body = render_pr(self.plan, dep, env=self.env, head=marker.get("head"))
            if pr.title == title and pr.body == body and pr.base == dep.base:
                return self.finish_existing(dep, pr, labels)
            # Same changes, new text (e.g. a newer release that does not touch these modules).
            if self.opts.dry_run:
                self.emit(
                    f"\n=== {repo}: would refresh the text of #{pr.number}\n--- title\n{title}\n--- body\n{body}\n"
                )
                return Outcome(
                    subject=repo, kind=OutcomeKind.WOULD_UPDATE, url=pr.url, details=self.details(dep)
                )
            pr = self.write(forge.update_pull, repo, pr.number, title=title, body=body, base=dep.base)
            assert pr is not None
            merge = self.after_write(dep, pr, labels, fresh=False)
            return Outcome(
                subject=repo,
                kind=OutcomeKind.UPDATED,
                reason="PR text refreshed",
                url=pr.url,
                details=self.details(dep, merge),
            )
        base_sha = forge.branch_sha(repo, dep.base)
        if base_sha is None:
            raise CatalogOpsError(f"base branch {dep.base!r} of {repo} does not exist")
        files = {}
        for path in dep.inputs or dep.files:
            data = forge.read_file(repo, path, base_sha)
            if data is not None:
                files[path] = data
        # The base may have moved since the plan: never move a reference backwards, and never
        # apply an update the plan did not classify.
        stale = stale_reason(files, dep)
        if stale is not None:
            return Outcome(subject=repo, kind=OutcomeKind.SKIPPED, reason=stale, url=pr.url if pr else None)
        changed, _outcomes, _errors = bump_planned(files, dep.bumps)
        changed = {p: c for p, c in changed.items() if files.get(p) != c}
        if not changed:
            if pr is not None:
                return self.close(
                    dataclasses.replace(dep, reason=f"{dep.base} already has these versions"), pr
                )
            return Outcome(
                subject=repo, kind=OutcomeKind.UP_TO_DATE, reason=f"{dep.base} already has these versions"
            )
        reviewers_u, reviewers_t = (
            ([], []) if effective_automerge(dep) else self.reviewers(dep, sorted(changed))
        )
        title, body = render_pr(self.plan, dep, env=self.env)
        message = f"{title}\n\n" + "\n".join(
            f"- {r.written_in}:{r.line}: {r.module or '(root)'} {r.current} -> {r.target}"
            for r in dep.refs
            if r.action == "bump"
        )
        message += f"\n\n{COMMIT_TRAILER}: {self.plan.catalog} {self.plan.release.tag}\n"
        if self.opts.dry_run:
            diff = "".join(unified_diff(p, files[p], changed[p]) for p in sorted(changed))
            verb = "update" if pr else "open"
            self.emit(
                f"\n=== {repo}: would {verb} a PR {branch} -> {dep.base}\n--- diff\n{diff}--- title\n{title}\n--- body\n{body}\n"
            )
            kind = OutcomeKind.WOULD_UPDATE if pr else OutcomeKind.WOULD_OPEN
            return Outcome(subject=repo, kind=kind, url=pr.url if pr else None, details=self.details(dep))
        head = self.write(
            forge.commit_files,
            repo,
            branch,
            parent_sha=base_sha,
            message=message,
            changes=[FileChange(p, changed[p]) for p in sorted(changed)],
        )
        title, body = render_pr(self.plan, dep, env=self.env, head=head)
        if pr is not None:
            pr = self.write(forge.update_pull, repo, pr.number, title=title, body=body, base=dep.base)
            assert pr is not None
            merge = self.after_write(dep, pr, labels, fresh=False, reviewers=(reviewers_u, reviewers_t))
            return Outcome(
                subject=repo, kind=OutcomeKind.UPDATED, url=pr.url, details=self.details(dep, merge)
            )
        pr = self.write(
            forge.open_pull,
            repo,
            head=branch,
            base=dep.base,
            title=title,
            body=body,
            labels=labels,
            reviewers=reviewers_u,
            team_reviewers=reviewers_t,
        )
        assert pr is not None
        merge = self.after_write(dep, pr, labels, fresh=True)
        return Outcome(subject=repo, kind=OutcomeKind.OPENED, url=pr.url, details=self.details(dep, merge))

    def finish_existing(self, dep: DependentPlan, pr: PullRequest, labels: list[str]) -> Outcome:
        """The PR already has the right content: only fill in labels / auto-merge if missing."""
        missing = [label for label in labels if label not in pr.labels]
        # Auto-merge was requested when the PR was opened or updated; if it is off now, the repo
        # does not allow it or a person turned it off: only --wait-and-merge acts on it again.
        need_merge = effective_automerge(dep) and not pr.auto_merge and self.opts.wait_and_merge
        if not missing and not need_merge:
            if pr.auto_merge:
                merge = "auto-merge enabled"
            elif effective_automerge(dep):
                merge = "auto-merge off (not allowed or turned off); --wait-and-merge merges when green"
            else:
                merge = "waiting for review"
            return Outcome(
                subject=dep.repo,
                kind=OutcomeKind.UP_TO_DATE,
                reason="PR is current",
                url=pr.url,
                details=self.details(dep, merge),
            )
        if self.opts.dry_run:
            return Outcome(
                subject=dep.repo, kind=OutcomeKind.WOULD_UPDATE, reason="labels/auto-merge", url=pr.url
            )
        if missing:
            self.write(self.forge.add_labels, dep.repo, pr.number, missing)
        merge = self.merge_policy(dep, pr) if need_merge else ""
        return Outcome(
            subject=dep.repo,
            kind=OutcomeKind.UPDATED,
            reason="labels/auto-merge set",
            url=pr.url,
            details=self.details(dep, merge),
        )

    def after_write(
        self,
        dep: DependentPlan,
        pr: PullRequest,
        labels: list[str],
        *,
        fresh: bool,
        reviewers: tuple[list[str], list[str]] | None = None,
    ) -> str:
        """Labels/reviewers for an updated PR, then the merge policy; returns the merge state."""
        if not fresh:
            missing = [label for label in labels if label not in pr.labels]
            if missing:
                self.write(self.forge.add_labels, dep.repo, pr.number, missing)
            if reviewers and (reviewers[0] or reviewers[1]):
                users = [u for u in reviewers[0] if u not in pr.reviewers]
                teams = [t for t in reviewers[1] if t not in pr.reviewers]
                if users or teams:
                    self.write(self.forge.request_reviewers, dep.repo, pr.number, users=users, teams=teams)
        if effective_automerge(dep):
            if pr.auto_merge:
                return "auto-merge enabled"
            return self.merge_policy(dep, pr)
        who = ", ".join(pr.reviewers) if pr.reviewers else "no CODEOWNERS/reviewers configured"
        return f"waiting for review ({who})"

    def merge_policy(self, dep: DependentPlan, pr: PullRequest) -> str:
        """Enable auto-merge, or with ``--wait-and-merge`` wait for green checks and merge."""
        try:
            self.write(self.forge.enable_auto_merge, dep.repo, pr.number, method=self.opts.merge_method)
            return "auto-merge enabled"
        except AutoMergeUnavailable as exc:
            if not self.opts.wait_and_merge:
                return f"auto-merge unavailable ({exc}); needs a manual merge or --wait-and-merge"
        return self.wait_and_merge(dep, pr)

    def wait_and_merge(self, dep: DependentPlan, pr: PullRequest) -> str:
        """Poll checks every ``poll_interval`` seconds up to ``wait_timeout``; merge when green."""
        deadline = time.monotonic() + self.opts.wait_timeout
        while True:
            state = self.forge.checks_state(dep.repo, pr.number)
            if state in (ChecksState.SUCCESS, ChecksState.NONE):
                try:
                    self.write(self.forge.merge_pull, dep.repo, pr.number, method=self.opts.merge_method)
                except Conflict as exc:
                    raise CatalogOpsError(f"checks passed but the merge was refused: {exc}") from exc
                return (
                    "merged (checks green)"
                    if state is ChecksState.SUCCESS
                    else "merged (no checks configured)"
                )
            if state is ChecksState.FAILURE:
                raise CatalogOpsError(f"checks failed on #{pr.number}; not merged ({pr.url})")
            if time.monotonic() + self.opts.poll_interval > deadline:
                return f"checks still pending after {self.opts.wait_timeout:g}s; not merged"
            self.sleep(self.opts.poll_interval)


def apply_plan(
    forge: Any,
    plan: Plan,
    *,
    shard: tuple[int, int] | None = None,
    options: ApplyOptions | None = None,
    pacer: Pacer | None = None,
    report: Report | None = None,
    progress: Callable[[Outcome], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Report:
    """Apply ``plan`` (or shard ``(K, N)`` of it) through ``forge``; returns the report.

    Never raises for a per-dependent problem (those are ``failed`` outcomes). ``progress`` is
    called with each outcome as it is recorded (from worker threads).
    """
    options = options or ApplyOptions()
    pacer = pacer or Pacer(1.0)
    title = f"Rollout of {plan.catalog} {plan.release.tag}" + (
        f" (shard {shard[0]}/{shard[1]})" if shard else ""
    )
    if options.dry_run:
        title += " — dry run"
    report = report or Report(title, columns=REPORT_COLUMNS, quiet_reasons=QUIET_REASONS)
    runner = _Apply(forge, plan, options, pacer, sleep)
    check_templates(runner.env, plan)  # a template error fails the run once (UsageError)
    deps = dependents_of_shard(plan, shard)

    def one(dep: DependentPlan) -> Outcome:
        outcome = report.add(runner.run_one(dep))
        if progress:
            progress(outcome)
        return outcome

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.concurrency)) as pool:
        list(pool.map(one, deps))
    return report
