"""``catalog-ops release``: plan the releases of the catalog and make them (tag + forge release).

The pieces live beside this module: ``version`` (the pure version algorithm), ``history``
(reading the catalog's clone through ``gitutil``), ``notes`` (note entries, the Markdown, the
metadata), ``model`` (options and plans). This module orchestrates them:

* ``plan_releases`` computes what a run would do for each tag scheme (no writes);
* ``execute_plan`` creates the annotated tag and the release through the forge (idempotent);
* ``run_release`` clones, plans, applies the checks gate and executes (nothing on ``--dry-run``).

See ``docs/releases.md`` for the user-facing rules and ``docs/release-metadata.md`` for the
metadata the rollout reads back.
"""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import jinja2

from catalog_ops.catalog.layout import (
    DEFAULT_PATTERNS,
    DEFAULT_SHARED_GLOBS,
    ChangeSet,
    classify_changes,
    discover_modules,
    local_module_graph,
    transitive_dependencies,
)
from catalog_ops.checks.results import CONFIG_FILE, load_config
from catalog_ops.core.versions import Level, TagScheme, Urgency, Version, family_suffix, is_unstable
from catalog_ops.errors import Conflict, ForgeError, NotFound, ReleaseError, UsageError
from catalog_ops.forge import FORGE_KINDS
from catalog_ops.forge.base import ChecksState, CommitChecks, PullRequest, ReleaseForge
from catalog_ops.release.history import CommitInfo, GitHistory, filter_commits
from catalog_ops.release.model import NoteEntry, ReleaseOptions, ReleasePlan
from catalog_ops.release.notes import build_entries, load_template, release_metadata, render_notes
from catalog_ops.release.version import (
    TAG_TRAILER,
    VersionTag,
    effective_level,
    next_version,
    scheme_tags,
    tag_message,
)

__all__ = [
    "MAX_PR_LOOKUPS",
    "commit_checks",
    "execute_plan",
    "plan_releases",
    "run_release",
]

#: upper bound of ``forge.pulls_for_commit`` requests per run (one per first-parent commit).
MAX_PR_LOOKUPS = 500


class _Context:
    """State shared by the plans of one repo run: the clone and forge lookups (cached)."""

    def __init__(self, forge: ReleaseForge, repo: str, history: GitHistory, target: str) -> None:
        self.forge = forge
        self.repo = repo
        self.history = history
        self._pulls: dict[str, list[PullRequest]] = {}
        self._first_parent = history.first_parent_chain(target)
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
    return scheme_tags(history.tags_merged_into(merged_into), scheme)


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
    family_module: str | None = None,
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
        family_module=family_module,
    )
    scope: list[str] | None = None
    module = plan.module
    if module is not None:
        scope = [module, *sorted(transitive_dependencies(graph, module))]
    label = f"{ctx.repo}" + (f" {module}" if module else "")
    if scheme.suffix is not None and options.prerelease is not None:
        raise UsageError(
            f"{label}: --prerelease cannot be combined with the tag family -{scheme.suffix} "
            "(v1.0.0-queue is the queue family's release 1.0.0, not a pre-release)"
        )

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
    since_current = filter_commits(history.commits(current.sha if current else None, target), scope)
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
    series_commits = filter_commits(history.commits(last_final.sha if last_final else None, target), scope)
    series_entries = build_entries(
        series_commits,
        pulls_for=ctx.pulls_for,
        merge_members=ctx.merge_members,
        html_url=html_url,
        subjects=ctx.forge.merge_subjects,
    )
    base_version = last_final.version if last_final else None
    since_ids = {c.sha for c in since_current}
    new_entries = [e for e in series_entries if any(c.sha in since_ids for c in e.commits)]
    if options.bump == "auto":
        series_level = effective_level(
            max((e.level for e in series_entries), default=Level.NONE), base_version
        )
        new_level = max((e.level for e in new_entries), default=Level.NONE)
        if new_level == Level.NONE and not promote:
            plan.message = (
                f"{label}: no releasable commits since {current.name if current else 'the start'} "
                f"({len(since_current)} commit(s), none is a feat/fix/breaking change or has a semver label)"
            )
            return plan
        level = series_level
    else:
        level = Level(options.bump)
    version = next_version(
        base=_without_family(base_version),
        current=_without_family(current.version) if current else None,
        level=level,
        prerelease=options.prerelease,
    )
    if scheme.suffix is not None:  # the family's next release: v1.0.1-queue
        version = Version(version.major, version.minor, version.patch, scheme.suffix, prefix=version.prefix)
    plan.level = level
    plan.version = version.core
    plan.prerelease = is_unstable(version)
    plan.tag = scheme.format(version, prefix)
    prev = current if plan.prerelease else last_final
    plan.status = "release"
    _fill(ctx, plan, prev, target, scope, modules, graph, options, template)
    plan.message = f"{label}: {_version_change(plan, level, options.bump, promote=promote)}"
    return plan


def _without_family(version: Version | None) -> Version | None:
    """``version`` without its tag family suffix (``1.0.0-queue`` -> ``1.0.0``): the family's own
    numbering, which the version algorithm continues (``versions.family_suffix``)."""
    if version is None or family_suffix(version) is None:
        return version
    return Version(version.major, version.minor, version.patch, prefix=version.prefix)


def _why(entries: Sequence[NoteEntry]) -> str:
    """``"2 feat, 1 fix"``: the entries that asked for a version bump, counted by kind."""
    counts: dict[str, int] = {}
    for e in entries:
        if e.level == Level.NONE:
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


def _version_change(plan: ReleasePlan, level: Level, bump: str, *, promote: bool) -> str:
    """Human summary of a planned version change.

    ``v1.2.0 -> v1.3.0 (minor: 2 feat, 1 fix)``; ``first release: v0.0.1 (patch: 1 fix)``;
    ``v1.3.0-rc.1 -> v1.3.0 (promotes the pre-release)``; ``... (major, forced by --bump major)``.
    """
    name = level.value
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
    commits = filter_commits(history.commits(prev.sha if prev else None, target), scope)
    entries = build_entries(
        commits,
        pulls_for=ctx.pulls_for,
        merge_members=ctx.merge_members,
        html_url=plan.html_url,
        subjects=ctx.forge.merge_subjects,
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
    if plan.module is not None:
        m = plan.module
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
    plan.urgency = (
        Urgency(options.urgency) if options.urgency else (Urgency.SECURITY if security else Urgency.NORMAL)
    )

    plan.metadata = release_metadata(plan)
    plan.notes = render_notes(plan, template)


@contextmanager
def _clone(forge: ReleaseForge, repo: str) -> Iterator[GitHistory]:
    with tempfile.TemporaryDirectory(prefix="catalog-ops-release-") as tmp:
        url = forge.clone_url(repo)
        yield GitHistory.clone(url, Path(tmp) / "catalog", env=forge.git_auth_env(url))


def plan_releases(
    forge: ReleaseForge, repo: str, options: ReleaseOptions, history: GitHistory
) -> list[ReleasePlan]:
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
        history.fetch(head)
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
    config = load_config(
        history.path, name=f"{repo}:{CONFIG_FILE}"
    )  # the catalog's own .catalog-ops.yml, as `check affected` reads it
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
    # A module whose releases are a tag family (v1.0.0-queue for modules/queue: the suffix is the
    # module's directory name) continues that family (versions.family_suffix, TagScheme.families).
    families = {f.suffix for f in TagScheme().families(name for name, _ in history.tags_merged_into(head))}
    family_of = {
        s: TagScheme(suffix=posixpath.basename(s.module))
        for s in schemes
        if s.module is not None
        and posixpath.basename(s.module) in families
        and not _scheme_tags(history, s, head)
    }
    plans = []
    for s in schemes:
        try:
            plans.append(
                _plan_one(
                    ctx,
                    scheme=family_of.get(s, s),
                    family_module=s.module if s in family_of else None,
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


def commit_checks(forge: ReleaseForge, repo: str, sha: str) -> ChecksState:
    """Combined checks state of a commit (``forge.base.CommitChecks.commit_checks_state``).

    Raises:
        ReleaseError: the forge does not implement ``commit_checks_state``.
    """
    if not isinstance(forge, CommitChecks):
        raise ReleaseError(
            f"the {forge.kind} forge cannot report the checks of a commit; "
            "rerun with --no-checks-gate to release without the gate"
        )
    return ChecksState(forge.commit_checks_state(repo, sha))


def execute_plan(forge: ReleaseForge, plan: ReleasePlan) -> ReleasePlan:
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


def run_release(forge: ReleaseForge, repo: str, options: ReleaseOptions) -> list[ReleasePlan]:
    """Plan and (unless ``options.dry_run``) execute. The checks gate refuses the run (before
    anything is created) when the target's checks are failing or pending.

    Raises:
        ReleaseError: see ``plan_releases``; gate refusal; tag conflicts.
        ForgeError: forge failures.
    """
    with _clone(forge, repo) as history:
        plans = plan_releases(forge, repo, options, history)
    todo = [p for p in plans if p.status in ("release", "completed")]
    gate = options.checks_gate
    if gate is None:
        kind = FORGE_KINDS.get(forge.kind)
        gate = kind is not None and kind.release_checks_gate
    if todo and gate and options.checks_gate is None and not isinstance(forge, CommitChecks):
        # default-on gate, forge without the capability: say so instead of blocking every release
        gate = False
        for p in plans:
            p.warnings.append(
                f"checks gate skipped: the {forge.kind} forge cannot report commit checks "
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
