"""Gathering a rollout plan through a forge: the catalog's releases, its dependents, their
candidate files and config, their open rollout PRs (read-only requests only).

The decisions are ``rollout.planner``'s; this module only reads and assembles the
``rollout.model.Plan``. Which repositories are dependents is ``fanout.dependents``'s.

Two ways to read:

* **batched** (a forge with ``read_snapshots``/``read_blobs``, i.e. GitHub): GraphQL requests
  covering many repositories each (``forge.github.batch``): heads and open rollout PRs, then the
  trees of the repositories that must be read, then the texts of their candidate files and
  config; an org of 5,000 repositories is read in about a hundred requests. With a
  ``previous`` plan (the last plan artifact), a dependent whose base head did not change is not
  read again: its entry is reused when it had no reference to the catalog, or when the previous
  plan was for the same release and options (only its open-PR state is refreshed).
* **per repository** (the local forge, or a forge without batched reads): one tree listing per
  dependent, then only the files the scanner would look at, memoised per run.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as _dt
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import EllipsisType
from typing import Any

from catalog_ops import gitutil
from catalog_ops.catalog.config import CONFIG_PATHS, DependentConfig, config_path_in, parse_config
from catalog_ops.catalog.layout import DEFAULT_PATTERNS, DEFAULT_SHARED_GLOBS, ROOT_MODULE, module_key
from catalog_ops.checks.results import CONFIG_FILE, load_config
from catalog_ops.core import drift
from catalog_ops.core.codeowners import CODEOWNERS_PATHS
from catalog_ops.core.metadata import ReleaseMetadata, check_release_metadata, parse_release_metadata
from catalog_ops.core.schedule import parse_time
from catalog_ops.core.versions import TagScheme, is_unstable, parse_version
from catalog_ops.errors import ConfigError, ForgeError, NotFound, ReleaseError
from catalog_ops.fanout.dependents import DependentSelection, list_dependents, registry_modules_for
from catalog_ops.forge.base import (
    ChecksState,
    CommitChecks,
    Contents,
    PlanForge,
    PullRequest,
    PullState,
    Release,
    Repo,
    authored_by,
)
from catalog_ops.migrate import Migration
from catalog_ops.migrate.load import load_at as load_migrations_at
from catalog_ops.refs import is_candidate_path
from catalog_ops.release.changes import changelog_sections, version_changes
from catalog_ops.release.history import GitHistory
from catalog_ops.rollout import commands
from catalog_ops.rollout.chain import EnvFacts, chain_branches, plan_chain
from catalog_ops.rollout.commands import Ignore
from catalog_ops.rollout.config import RolloutConfig, load_rollout_config, parse_rollout_config
from catalog_ops.rollout.locks import CatalogAtTags, is_lock_path, plan_locks
from catalog_ops.rollout.model import (
    MAX_BODY,
    Action,
    Bump,
    CatalogRelease,
    DependentPlan,
    DependentState,
    LockUpdate,
    Plan,
    RefAction,
    RefPlan,
    branch_name,
    env_branch_name,
)
from catalog_ops.rollout.pace import pace_for
from catalog_ops.rollout.planner import PlanOptions, plan_dependent, select_release
from catalog_ops.rollout.waves import Facts, schedule, state_of

ProgressFn = Callable[[str], None]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Budget:
    """The most work one dependent may cause while planning (docs/security.md, "Bounded work").

    A dependent's tree, files and config are written by its team; exceeding any limit makes
    that dependent a ``skip`` with a reason naming the limit, never a stalled plan.

    Attributes:
        max_files: candidate files read (Terraform/Terragrunt/version files the scan looks at).
        max_bytes: bytes read in total (config excluded; it has ``catalog.config.MAX_CONFIG_BYTES``).
        max_seconds: wall-clock seconds spent on the dependent, checked between reads.
        clock: monotonic clock in seconds (tests inject one).
    """

    max_files: int = 5000
    max_bytes: int = 64 * 1024 * 1024
    max_seconds: float = 600.0
    clock: Callable[[], float] = time.monotonic


class BudgetExceeded(Exception):
    """One dependent exceeded its ``Budget``; the message names the limit."""


def trusted_metadata(
    rel: Release,
    *,
    identity: str | None,
    tags: Mapping[str, str] | None,
    problems: list[str] | None,
) -> ReleaseMetadata | None:
    """The release metadata of forge release ``rel`` when the product wrote it, else None.

    Trusted only when ``rel`` was published by ``identity`` (the product's own login,
    ``forge.identity()``; None on a forge without authors) and its trailing block passes
    ``core.metadata.check_release_metadata`` against ``tags`` (tag name -> commit id). Otherwise a
    line saying why goes to ``problems`` and the release has no metadata (the history from git
    decides; urgency ``normal``). docs/security.md, "Machine-readable blocks".
    """
    meta = parse_release_metadata(rel.body or "")
    if meta is None:
        return None
    if not authored_by(rel.author, identity):
        why: str | None = f"it was published by {rel.author or 'an unknown author'}, not by {identity}"
    else:
        why = check_release_metadata(meta, tag=rel.tag, tags=tags)
    if why is None:
        return meta
    if problems is not None:
        problems.append(f"release {rel.tag}: metadata ignored: {why}")
    return None


def catalog_releases(
    forge: PlanForge,
    catalog: str,
    *,
    progress: ProgressFn | None = None,
    config_files: dict[str, bytes] | None = None,
    release: str | None = None,
    migrations: list[Migration] | None = None,
) -> tuple[list[CatalogRelease], list[str]]:
    """The versions of the catalog (newest first): its tags, read from a clone, each with what
    it changed computed from git (``release.changes.version_changes``), enriched by the forge
    release of the tag (page, body, pre-release flag, catalog-ops metadata) and the tag's
    ``CHANGELOG.md`` section (the module's own ``<module>/CHANGELOG.md`` is read by the PR text
    through ``changelog``; here the catalog root's, at the default branch head).

    ``config_files`` (when given) receives the catalog's config file from the clone's default
    branch head (``{path: bytes}``, the first of ``CONFIG_PATHS``; left empty when there is none
    or the clone failed), so its ``rollout:`` section costs no request.
    ``migrations``, when given, receives the catalog's migration patches (docs/migrations.md)
    read from the clone at ``release`` (default: the newest tag that is not a pre-release): the
    patches as released; a bad patch file is a warning naming ``path:line:col`` and is left out.

    Returns ``(releases, warnings)``. When the catalog cannot be cloned, the forge releases alone
    are returned (``releases_from_forge``: metadata decides what changed) with a warning saying
    so. Raises ForgeError when the forge releases cannot be listed.
    """
    forge_releases = [r for r in forge.list_releases(catalog) if not getattr(r, "draft", False)]
    by_tag = {r.tag: r for r in forge_releases}
    warnings: list[str] = []
    identity = forge.identity()
    tags = {t.name: t.sha for t in forge.list_tags(catalog)}
    info = forge.get_repo(catalog)
    with tempfile.TemporaryDirectory(prefix="catalog-ops-catalog-") as tmp:
        try:
            url = forge.clone_url(catalog)
            auth = getattr(forge, "git_auth_env", None)  # a private catalog needs the forge's token
            history = GitHistory.clone(url, Path(tmp) / "catalog", env=auth(url) if callable(auth) else None)
            head = history.resolve(f"origin/{info.default_branch}") or history.resolve("HEAD")
            config: dict[str, Any] = {}
            changelog: dict[str, str] = {}
            if head:
                history.checkout(head)
                cfg = next((p for p in CONFIG_PATHS if (history.path / p).is_file()), None)
                if cfg is not None and config_files is not None:
                    config_files[cfg] = (history.path / cfg).read_bytes()
                try:
                    config = load_config(history.path, name=f"{catalog}:{CONFIG_FILE}")
                except ConfigError as exc:
                    warnings.append(f"{exc}; using the default module layout")
                log = history.path / "CHANGELOG.md"
                if log.is_file():
                    changelog = changelog_sections(log.read_text(encoding="utf-8", errors="replace"))
            patterns: tuple[str, ...] = tuple(config.get("module_patterns") or DEFAULT_PATTERNS)
            shared: tuple[str, ...] = tuple(config.get("shared") or DEFAULT_SHARED_GLOBS)
            changes = version_changes(history, patterns=patterns, shared_globs=shared, progress=progress)
            if migrations is not None:
                stable = [ch for ch in changes if not ch.version.is_prerelease]
                tag = release or (max(stable, key=lambda ch: ch.version).tag if stable else None)
                if tag is not None:
                    try:
                        found, problems = load_migrations_at(history.git_dir, tag)
                    except gitutil.GitError as exc:
                        warnings.append(f"{catalog}: could not read the migration patches at {tag} ({exc})")
                    else:
                        migrations.extend(found)
                        warnings.extend(f"{catalog}@{tag}: {p}; patch ignored" for p in problems)
        except (ReleaseError, OSError) as exc:
            warnings.append(
                f"{catalog}: could not read the catalog's git history ({exc}); what changed is taken "
                "from release metadata only, and tags without a release are not seen"
            )
            return (
                releases_from_forge(forge_releases, identity=identity, tags=tags, problems=warnings),
                warnings,
            )
    html = (info.html_url or "").rstrip("/")
    out: list[CatalogRelease] = []
    for ch in changes:
        rel = by_tag.get(ch.tag)
        body = rel.body if rel is not None else ""
        out.append(
            CatalogRelease(
                tag=ch.tag,
                version=ch.version,
                prerelease=(bool(rel.prerelease) if rel is not None else False) or is_unstable(ch.version),
                url=rel.url if rel is not None and rel.url else (f"{html}/tree/{ch.tag}" if html else ""),
                metadata=trusted_metadata(rel, identity=identity, tags=tags, problems=warnings)
                if rel is not None
                else None,
                changed=ch.changed,
                via=dict(ch.via),
                subjects=dict(ch.subjects),
                previous=ch.previous,
                body=_bounded(body),
                changelog=changelog.get(ch.version.core),
                has_release=rel is not None,
                published_at=(rel.published_at or rel.created_at) if rel is not None else "",
            )
        )
    known = {r.tag for r in out}
    # forge releases whose tag the clone does not hold (should not happen): metadata only
    out.extend(
        releases_from_forge(
            [r for r in forge_releases if r.tag not in known], identity=identity, tags=tags, problems=warnings
        )
    )
    return sorted(out, key=lambda r: r.version, reverse=True), warnings


def _bounded(body: str) -> str:
    """A release body cut to ``MAX_BODY`` characters (at a line end, with an ellipsis line)."""
    if len(body) <= MAX_BODY:
        return body
    return body[:MAX_BODY].rsplit("\n", 1)[0] + "\n…"


def releases_from_forge(
    items: Iterable[Release],
    *,
    identity: str | None = None,
    tags: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
) -> list[CatalogRelease]:
    """``CatalogRelease`` values (newest first) from forge ``Release`` objects; drafts and tags
    that are not semantic versions are left out. Metadata only through ``trusted_metadata``
    (``identity``, ``tags``; why a block was ignored goes to ``problems``)."""
    out = []
    for rel in items:
        if getattr(rel, "draft", False):
            continue
        version = parse_version(rel.tag)
        if version is None:
            continue
        out.append(
            CatalogRelease(
                tag=rel.tag,
                version=version,
                prerelease=bool(rel.prerelease) or is_unstable(version),
                url=rel.url,
                metadata=trusted_metadata(rel, identity=identity, tags=tags, problems=problems),
                body=_bounded(rel.body or ""),
                published_at=rel.published_at or rel.created_at,
            )
        )
    return sorted(out, key=lambda r: r.version, reverse=True)


@dataclasses.dataclass
class _Cache:
    """Per-run cache of file reads, keyed by (repo, ref, path)."""

    files: dict[tuple[str, str, str], bytes | None] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


def read_files(
    forge: Contents,
    repo: str,
    ref: str,
    paths: Iterable[str],
    cache: _Cache | None = None,
    *,
    budget: Budget | None = None,
    deadline: float | None = None,
) -> dict[str, bytes]:
    """``{path: bytes}`` of ``paths`` at ``ref`` (missing files left out), one read per file,
    memoised in ``cache``.

    Raises:
        BudgetExceeded: with ``budget``: the bytes read exceed ``budget.max_bytes``, or
            ``budget.clock()`` passed ``deadline`` before a read.
    """
    out: dict[str, bytes] = {}
    total = 0
    for path in paths:
        if budget is not None and deadline is not None and budget.clock() > deadline:
            raise BudgetExceeded(
                f"planning took longer than {budget.max_seconds:g} s (the budget per dependent)"
            )
        key = (repo, ref, path)
        if cache is not None:
            with cache.lock:
                hit = key in cache.files
                data = cache.files.get(key)
            if not hit:
                data = forge.read_file(repo, path, ref)
                with cache.lock:
                    cache.files[key] = data
        else:
            data = forge.read_file(repo, path, ref)
        if data is not None:
            out[path] = data
            total += len(data)
            if budget is not None and total > budget.max_bytes:
                raise BudgetExceeded(
                    f"its files exceed {budget.max_bytes} bytes (the budget per dependent); "
                    "narrow them with 'paths:' in .catalog-ops.yml"
                )
    return out


def scan_dependent(
    forge: PlanForge,
    repo: Repo,
    opts: PlanOptions,
    branch: str,
    cache: _Cache | None = None,
    budget: Budget | None = None,
    identity: str | None = None,
) -> DependentPlan:
    """Plan one dependent by reading it through the forge: one tree listing, the config file if
    present, then only candidate files (``refs.is_candidate_path`` and the config's ``paths``)
    and dependency lock files (``rollout.locks``).
    Then look for an open rollout PR when there is something to do or to close, and read the
    commands in its rollout PRs (``with_commands``; ``identity``: ``forge.identity()``).

    Never raises for a per-repo problem: returns a ``skip`` plan with the reason (forge errors,
    config errors, ``budget`` exceeded: default ``Budget()``).
    """
    budget = budget or Budget()
    deadline = budget.clock() + budget.max_seconds

    name = repo.full_name
    default = repo.default_branch

    def skip(reason: str) -> DependentPlan:
        return DependentPlan(repo=name, default_branch=default, action=Action.SKIP, reason=reason)

    try:
        try:
            tree = forge.list_tree(name, default)
        except NotFound:
            return skip("empty repository (no default branch)")
        config = DependentConfig()
        cfg_path = config_path_in(tree)
        if cfg_path:
            raw = read_files(forge, name, default, [cfg_path], cache).get(cfg_path, b"")
            try:
                config = parse_config(raw, f"{name}:{cfg_path}")
            except ConfigError as exc:
                return skip(f"invalid config: {exc}")
        base = config.base or default
        if base != default:
            try:
                tree = forge.list_tree(name, base)
            except NotFound:
                return skip(f"base branch {base!r} from {cfg_path} does not exist")
        candidates = sorted(
            p for p in tree if (is_candidate_path(p) or is_lock_path(p)) and config.scans_path(p)
        )
        if len(candidates) > budget.max_files:
            return skip(
                f"{len(candidates)} candidate files exceed the budget of {budget.max_files} per dependent; "
                "narrow them with 'paths:' in .catalog-ops.yml"
            )
        files = read_files(forge, name, base, candidates, cache, budget=budget, deadline=deadline)
        planned = plan_one(forge, name, files, opts, branch, default_branch=default, config=config)
        if budget.clock() > deadline:
            return skip(f"planning took longer than {budget.max_seconds:g} s (the budget per dependent)")
        owners = next((p for p in CODEOWNERS_PATHS if p in tree), None)
        planned = dataclasses.replace(planned, codeowners=owners)
        if planned.chain is not None:  # the chain read its environments' PRs itself
            return chain_with_commands(
                forge, planned, files, opts, branch, default_branch=default, config=config, identity=identity
            )
        if planned.refs:
            pr = forge.find_open_pull(name, branch)

            def replan(ignores: tuple[Ignore, ...]) -> DependentPlan:
                again = plan_dependent(
                    name, files, opts, default_branch=default, config=config, ignores=ignores
                )
                return dataclasses.replace(again, codeowners=owners)

            planned = with_commands(
                forge,
                planned,
                catalog=opts.catalog,
                branch=branch,
                release=opts.release.tag,
                open_pr=pr.number if pr is not None else None,
                identity=identity,
                replan=replan,
            )
            if pr is not None:
                if planned.action is Action.OPEN:
                    planned = dataclasses.replace(planned, action=Action.UPDATE, existing_pr=pr.number)
                elif pr.base == base:
                    planned = dataclasses.replace(
                        planned,
                        action=Action.CLOSE,
                        existing_pr=pr.number,
                        reason=close_reason(planned),
                    )
        return planned
    except ForgeError as exc:
        return skip(f"forge error: {exc}")
    except BudgetExceeded as exc:
        return skip(str(exc))
    except Exception as exc:  # one repository never aborts the plan
        return skip(f"could not be planned: {type(exc).__name__}: {exc}")


def with_commands(
    forge: PlanForge,
    dep: DependentPlan,
    *,
    catalog: str,
    branch: str,
    release: str,
    open_pr: int | None,
    identity: str | None,
    replan: Callable[[tuple[Ignore, ...]], DependentPlan],
    closed_pr: PullRequest | EllipsisType | None = ...,
) -> DependentPlan:
    """``dep`` (a fresh ``plan_dependent`` result, before the open-PR adjustment) after the
    commands in its rollout PRs and a PR closed by a person (docs/rollout.md, "Commands").

    Reads, only when there is something to propose or an open rollout PR: the open PR's comments
    (one request), the newest closed rollout PR (one request; only one the product opened, with
    its trusted marker) and its comments, and the permission of each commenter with a new command.
    The product's state comments give the commands already handled and the ignores in force;
    new commands are decided (``rollout.commands.decide``); with ignores the dependent is planned
    again by ``replan(ignores)``. Then a PR closed by a person for this release (or the same
    changes) is not proposed again (``skip``, as apply reports it), unless a writer asked
    ``retry`` on it.
    ``closed_pr``: the newest closed rollout PR when the caller read it already (a batched
    snapshot); ``...`` (default): look it up.

    Raises ForgeError from the forge (the caller turns it into a ``skip``).
    """
    from catalog_ops.rollout.prtext import pr_marker  # prtext imports this module

    if not dep.refs or (dep.action is not Action.OPEN and open_pr is None):
        return dep
    pulls: list[commands.PullCommands] = []
    if open_pr is not None:
        comments = forge.list_comments(dep.repo, open_pr, limit=commands.MAX_COMMENTS)
        pulls.append(commands.PullCommands(number=open_pr, open=True, comments=tuple(comments)))
    closed = forge.find_closed_pull(dep.repo, branch) if isinstance(closed_pr, EllipsisType) else closed_pr
    closed_marker = pr_marker(closed, catalog=catalog, branch=branch, repo=dep.repo, identity=identity)
    if closed is not None and closed_marker is not None and closed.number != open_pr:
        comments = forge.list_comments(dep.repo, closed.number, limit=commands.MAX_COMMENTS)
        pulls.append(
            commands.PullCommands(number=closed.number, open=False, comments=tuple(comments), url=closed.url)
        )
    state = commands.State()
    for pull in pulls:
        state = state.merged(commands.read_state(pull.comments, catalog=catalog, identity=identity))
    targets = {b.module: b.target for b in dep.bumps}
    top = max(dep.bumps, key=lambda b: b.target, default=None)
    decisions: list[commands.Decision] = []
    permissions: dict[str, str] = {}
    for pull in pulls:
        found = commands.pending(pull, state=state, identity=identity)
        for comment, _text in found:
            who = comment.author
            if who and who not in permissions:
                permissions[who] = forge.permission(dep.repo, who)
        decisions += commands.decide(
            pull,
            found,
            repo=dep.repo,
            permissions=permissions,
            targets=targets,
            release=top.tag if top is not None else None,
        )
    ignores = commands.merge_ignores(state.ignores, *(d.ignores for d in decisions if d.honoured))
    planned = replan(ignores) if ignores else dep
    planned = dataclasses.replace(planned, commands=tuple(decisions), ignores=ignores)
    retry = any(d.honoured and d.command == commands.Command.RETRY.value for d in decisions)
    if (
        open_pr is None
        and planned.action is Action.OPEN
        and closed is not None
        and closed_marker is not None
        and closed.state is PullState.CLOSED
        and not closed_marker.get("closed_by")
        and (closed_marker.get("release") == release or closed_marker.get("digest") == planned.digest())
        and not retry
    ):
        planned = dataclasses.replace(
            planned,
            action=Action.SKIP,
            reason=f"{CLOSED_BY_PERSON} for {closed_marker.get('release')} (#{closed.number}); "
            "comment /catalog-ops retry there to propose it again",
        )
    return planned


NO_REFERENCE = "no reference to the catalog"
CLOSED_BY_PERSON = "closed by a person; not reopening"


def _closed_by_person(dep: DependentPlan) -> bool:
    """The plan entry skips ``dep`` because a person closed its rollout PR (``with_commands``)."""
    return dep.action is Action.SKIP and (dep.reason or "").startswith(CLOSED_BY_PERSON)


def chain_facts(
    forge: PlanForge, repo: str, branch: str, config: DependentConfig, *, catalog: str
) -> dict[str, EnvFacts]:
    """What the forge says about each environment of a chain dependent (``rollout.chain``):
    per environment branch (``model.env_branch_name``) the open rollout PR and the newest
    closed one when it was merged, each only when the product opened it and its trailing marker
    names this catalog and environment (``prtext.pr_marker``); with ``post_merge_checks``, the
    checks reported on that PR's merge commit (``forge.base.CommitChecks``; a forge without the
    capability reports none, so the next step is held).

    Cost: two PR lookups per environment, plus one checks read per merged PR when asked.
    Raises ForgeError.
    """
    from catalog_ops.rollout.prtext import pr_marker  # prtext imports this module

    identity = forge.identity()
    out: dict[str, EnvFacts] = {}
    for env, env_branch in chain_branches(branch, config):

        def ours(pr: Any, env: str = env, env_branch: str = env_branch) -> bool:
            return (
                pr_marker(pr, catalog=catalog, branch=env_branch, repo=repo, identity=identity, env=env)
                is not None
            )

        open_pr = forge.find_open_pull(repo, env_branch)
        closed = forge.find_closed_pull(repo, env_branch)
        merged = closed if closed is not None and closed.state is PullState.MERGED and ours(closed) else None
        checks: ChecksState | None = None
        if config.post_merge_checks and merged is not None and merged.merged_sha:
            if isinstance(forge, CommitChecks):
                checks = forge.commit_checks_state(repo, merged.merged_sha)
            else:
                checks = ChecksState.NONE
        out[env] = EnvFacts(
            env=env, open_pr=open_pr if ours(open_pr) else None, merged_pr=merged, checks=checks
        )
    return out


def plan_one(
    forge: PlanForge,
    name: str,
    files: dict[str, bytes],
    opts: PlanOptions,
    branch: str,
    *,
    default_branch: str,
    config: DependentConfig,
    ignores: tuple[Ignore, ...] = (),
) -> DependentPlan:
    """``planner.plan_dependent``, or for a dependent with ``environments:`` ``chain.plan_chain``
    over the facts ``chain_facts`` reads (at ``opts.now``, default: the current time);
    ``ignores``: those in force from commands (``with_commands``)."""
    if not config.environments:
        return plan_dependent(
            name, files, opts, default_branch=default_branch, config=config, ignores=ignores
        )
    facts = chain_facts(forge, name, branch, config, catalog=opts.catalog)
    now = opts.now or _dt.datetime.now(_dt.UTC)
    return plan_chain(
        name, files, opts, default_branch=default_branch, config=config, facts=facts, now=now, ignores=ignores
    )


def chain_with_commands(
    forge: PlanForge,
    planned: DependentPlan,
    files: dict[str, bytes],
    opts: PlanOptions,
    branch: str,
    *,
    default_branch: str,
    config: DependentConfig,
    identity: str | None,
) -> DependentPlan:
    """A chain dependent (``planned.chain`` set) after the commands in the rollout PRs of the
    environment its chain works on now (``with_commands`` on that environment's branch,
    ``model.env_branch_name``: its open PR, ``planned.existing_pr``, and its newest closed
    one); with ignores the chain is planned again (``plan_one``, which reads its environments'
    facts again). Without a step to work on (complete, held or failed) nothing is read.

    Raises ForgeError (the caller turns it into a ``skip``)."""
    chain = planned.chain
    if chain is None or chain.step is None:
        return planned
    env_branch = env_branch_name(branch, chain.steps[chain.step - 1].env)

    def replan(ignores: tuple[Ignore, ...]) -> DependentPlan:
        again = plan_one(
            forge,
            planned.repo,
            files,
            opts,
            branch,
            default_branch=default_branch,
            config=config,
            ignores=ignores,
        )
        return dataclasses.replace(again, codeowners=planned.codeowners, head=planned.head)

    return with_commands(
        forge,
        planned,
        catalog=opts.catalog,
        branch=env_branch,
        release=opts.release.tag,
        open_pr=planned.existing_pr,
        identity=identity,
        replan=replan,
    )


def close_reason(dep: DependentPlan) -> str:
    """Why the open rollout PR of ``dep`` (nothing to bump, some references) is closed: "newest"
    only when a reference is at the newest version it may use; when every reference was skipped
    (e.g. a registry address without ``--registry-module``), say so instead."""
    if dep.reason and "/catalog-ops " in dep.reason:
        return dep.reason
    if any(r.action is RefAction.SKIP and "/catalog-ops " in (r.reason or "") for r in dep.refs):
        return "every update it proposed is ignored by a /catalog-ops command"
    if any(r.action is RefAction.CURRENT for r in dep.refs):
        return f"{dep.base} already uses the newest catalog versions it may use"
    return (
        f"{dep.base} has no reference to the catalog that rollout can update (every one was skipped; "
        "a registry address needs --registry-module)"
    )


def _has_new_commands(
    forge: PlanForge,
    dep: DependentPlan,
    *,
    catalog: str,
    branch: str,
    open_pr: int | None,
    identity: str | None,
    closed: PullRequest | None,
) -> bool:
    """Whether the rollout PRs of a dependent whose previous plan entry could be reused hold a
    command not handled yet (then it is planned again). Reads what ``with_commands`` reads, only
    for entries with something to propose or an open PR."""
    from catalog_ops.rollout.prtext import pr_marker

    if not dep.refs or (
        dep.action not in (Action.OPEN, Action.UPDATE) and not _closed_by_person(dep) and open_pr is None
    ):
        return False
    numbers = [open_pr] if open_pr is not None else []
    if closed is not None and pr_marker(
        closed, catalog=catalog, branch=branch, repo=dep.repo, identity=identity
    ):
        numbers.append(closed.number)
    for number in dict.fromkeys(numbers):
        comments = tuple(forge.list_comments(dep.repo, number, limit=commands.MAX_COMMENTS))
        state = commands.read_state(comments, catalog=catalog, identity=identity)
        pull = commands.PullCommands(number=number, open=number == open_pr, comments=comments)
        if commands.pending(pull, state=state, identity=identity):
            return True
    return False


def _reusable(
    prev: Plan | None,
    *,
    catalog: str,
    address: str,
    registry: Mapping[str, str],
    bump_all: bool,
    rollout: RolloutConfig | None = None,
) -> bool:
    """Whether entries of ``prev`` may be reused: same catalog, address, options and ``rollout:``
    settings (a new strategy or age changes targets). Held entries are never reused
    (``plan_batched``): waves, windows and ages are decided again at every plan."""
    return (
        prev is not None
        and prev.catalog == catalog
        and prev.catalog_address == address
        and dict(prev.registry_modules) == dict(registry)
        and prev.bump_all == bump_all
        and (rollout is None or prev.rollout == rollout)
    )


def _with_pr(dep: DependentPlan, open_pr: int | None) -> DependentPlan:
    """``dep`` with its action adjusted to the open rollout PR seen now."""
    if dep.action in (Action.OPEN, Action.UPDATE):
        if open_pr is None:
            return dataclasses.replace(dep, action=Action.OPEN, existing_pr=None)
        return dataclasses.replace(dep, action=Action.UPDATE, existing_pr=open_pr)
    if dep.action is Action.CLOSE and open_pr is None:
        return dataclasses.replace(dep, action=Action.NOTHING, existing_pr=None)
    if dep.action is Action.NOTHING and dep.refs and open_pr is not None:
        return dataclasses.replace(
            dep,
            action=Action.CLOSE,
            existing_pr=open_pr,
            reason=close_reason(dep),
        )
    return dep


def plan_batched(
    forge: Any,
    repos: Sequence[Repo],
    opts: PlanOptions,
    branch: str,
    *,
    previous: Plan | None = None,
    progress: ProgressFn | None = None,
    identity: str | None = None,
) -> list[DependentPlan]:
    """Plan ``repos`` through the forge's batched reads (module docstring).

    Commands in rollout PRs are read per dependent (``with_commands``); an entry of ``previous``
    is reused only when its rollout PRs hold no new command (``_has_new_commands``).

    Never raises for a per-repository problem (a ``skip`` plan with the reason); raises
    ForgeError when a whole batched request fails.
    """
    names = [r.full_name for r in repos]
    by_name = {r.full_name: r for r in repos}
    prev = {d.repo: d for d in previous.dependents} if previous is not None else {}
    same_release = previous is not None and previous.release.tag == opts.release.tag
    out: dict[str, DependentPlan] = {}
    todo = names
    if prev:
        heads = forge.read_snapshots(names, trees=False, pr_branch=branch)
        todo = []
        for name in names:
            snap, old = heads[name], prev.get(name)
            default = snap.default_branch or by_name[name].default_branch
            if (
                old is not None
                and snap.error is None
                and snap.head is not None
                and old.head == snap.head
                and old.base in ("", default)
                and (
                    old.action not in (Action.SKIP, Action.HOLD)
                    or (old.action is Action.SKIP and _closed_by_person(old) and snap.open_pr is None)
                )
                and not any(r.held_until for r in old.refs)  # a young release may have aged since
                and old.chain is None  # a chain's state is in its PRs and the clock: read again
                # a proposal whose PR is gone while a closed one exists: was it closed by a person?
                and not (
                    old.action in (Action.OPEN, Action.UPDATE) and snap.open_pr is None and snap.closed_pr
                )
                and (old.reason == NO_REFERENCE or same_release)
                and not _has_new_commands(
                    forge,
                    old,
                    catalog=opts.catalog,
                    branch=branch,
                    open_pr=snap.open_pr,
                    identity=identity,
                    closed=snap.closed_pr,
                )
            ):
                reused = dataclasses.replace(old, default_branch=default, commands=())
                out[name] = _with_pr(reused, snap.open_pr)
                if progress:
                    progress(name)
            else:
                todo.append(name)
    snaps = forge.read_snapshots(todo, trees=True, pr_branch=branch) if todo else {}
    wanted: list[tuple[str, str, str]] = []
    sizes: dict[tuple[str, str], int] = {}
    per_repo: dict[str, list[str]] = {}
    for name in todo:
        snap = snaps[name]
        default = snap.default_branch or by_name[name].default_branch
        if snap.error is not None:
            out[name] = DependentPlan(
                repo=name, default_branch=default, action=Action.SKIP, reason=f"forge error: {snap.error}"
            )
            continue
        if snap.head is None:
            out[name] = DependentPlan(
                repo=name,
                default_branch=default,
                action=Action.SKIP,
                reason="empty repository (no default branch)",
            )
            continue
        tree = list(snap.paths or {})
        cfg = config_path_in(tree)
        paths = sorted(
            {p for p in tree if is_candidate_path(p) or is_lock_path(p)} | ({cfg} if cfg else set())
        )
        per_repo[name] = paths
        for p in paths:
            wanted.append((name, snap.head, p))
            sizes[(name, p)] = int((snap.paths or {}).get(p, 0))
    texts = forge.read_blobs(wanted, sizes) if wanted else {}
    for name, paths in per_repo.items():
        snap = snaps[name]
        default = snap.default_branch or by_name[name].default_branch
        try:
            files = {p: data for p in paths if (data := texts.get((name, p))) is not None}
            tree = list(snap.paths or {})
            cfg = config_path_in(tree)
            config = DependentConfig()
            if cfg:
                try:
                    config = parse_config(files.pop(cfg, b""), f"{name}:{cfg}")
                except ConfigError as exc:
                    out[name] = DependentPlan(
                        repo=name, default_branch=default, action=Action.SKIP, reason=f"invalid config: {exc}"
                    )
                    continue
            if config.base and config.base != default:
                # Another base branch: read it the per-repository way (rare).
                out[name] = scan_dependent(forge, by_name[name], opts, branch, identity=identity)
                continue
            scoped = {p: b for p, b in files.items() if config.scans_path(p)}
            planned = plan_one(forge, name, scoped, opts, branch, default_branch=default, config=config)
            owners = next((p for p in CODEOWNERS_PATHS if p in (snap.paths or {})), None)
            planned = dataclasses.replace(planned, codeowners=owners, head=snap.head)

            def replan(
                ignores: tuple[Ignore, ...],
                name: str = name,
                scoped: dict[str, bytes] = scoped,
                default: str = default,
                config: DependentConfig = config,
                owners: str | None = owners,
                head: str | None = snap.head,
            ) -> DependentPlan:
                again = plan_dependent(
                    name, scoped, opts, default_branch=default, config=config, ignores=ignores
                )
                return dataclasses.replace(again, codeowners=owners, head=head)

            if planned.chain is not None:  # the chain read its environments' PRs itself
                out[name] = chain_with_commands(
                    forge,
                    planned,
                    scoped,
                    opts,
                    branch,
                    default_branch=default,
                    config=config,
                    identity=identity,
                )
                if progress:
                    progress(name)
                continue
            planned = with_commands(
                forge,
                planned,
                catalog=opts.catalog,
                branch=branch,
                release=opts.release.tag,
                open_pr=snap.open_pr,
                identity=identity,
                replan=replan,
                closed_pr=snap.closed_pr,
            )
            out[name] = _with_pr(planned, snap.open_pr)
        except Exception as exc:  # one repository never aborts the plan
            out[name] = DependentPlan(
                repo=name,
                default_branch=default,
                action=Action.SKIP,
                reason=f"could not be planned: {type(exc).__name__}: {exc}",
            )
        if progress:
            progress(name)
    return [out[n] for n in names]


def read_rollout_config(forge: PlanForge, catalog: str, ref: str) -> RolloutConfig:
    """The ``rollout:`` section of the catalog's config file at ``ref`` (the first of
    ``catalog.config.CONFIG_PATHS`` that exists; one read each until found); defaults when none.

    Raises ConfigError (``catalog:path:line:col: rollout.KEY: problem``): a rollout whose waves
    or pace cannot be read must not open PRs everywhere."""
    for path in CONFIG_PATHS:
        data = forge.read_file(catalog, path, ref)
        if data is not None:
            return parse_rollout_config(data, f"{catalog}:{path}")
    return RolloutConfig()


def rollout_facts(
    forge: Any,
    dependents: Sequence[DependentPlan],
    *,
    catalog: str,
    branch: str,
    release: str,
    topics: Mapping[str, tuple[str, ...]],
    config: RolloutConfig,
) -> dict[str, Facts]:
    """Where each dependent stands for ``release`` (``rollout.waves.Facts``), read from the
    forge: for a dependent whose plan updates an open rollout PR, that PR (its trusted marker
    names the release, ``prtext.pr_marker``; its creation time; ``checks_state`` of its head:
    failing checks make it ``failed``); for one whose plan opens a PR, and (with waves) one
    that is up to date, the newest closed rollout PR (``find_closed_pull``): closed unmerged by
    a person for this release is ``failed``, its creation time starts the wave. With a
    ``max_open_prs`` cap, a dependent that would get a new PR has its open PRs listed
    (``list_open_pulls``) to count those on ``catalog-ops/`` branches.

    A chain dependent (``rollout.chain``) is read on the branch of the environment its chain
    works on (with none, the first environment's), its PRs' markers naming that environment.

    Cost: at most 2 reads per dependent with work, 1 per up-to-date (or, for a chain, held)
    dependent when waves are configured. A forge error leaves that dependent's facts to its
    plan alone.
    """
    from catalog_ops.rollout.prtext import pr_marker  # prtext imports this module

    identity = forge.identity()
    out: dict[str, Facts] = {}
    for dep in dependents:
        facts = Facts(repo=dep.repo, topics=topics.get(dep.repo, ()), state=state_of(dep))
        # a chain's PRs are on its environments' branches (the step it works on; else the first
        # environment's, whose PR for the release opened first), their markers name the environment
        env = (dep.env or dep.chain.steps[0].env) if dep.chain is not None and dep.chain.steps else None
        dep_branch = env_branch_name(branch, env) if env is not None else branch
        try:
            if dep.action is Action.UPDATE and dep.existing_pr is not None:
                pr = forge.get_pull(dep.repo, dep.existing_pr)
                marker = pr_marker(
                    pr, catalog=catalog, branch=dep_branch, repo=dep.repo, identity=identity, env=env
                )
                if marker and marker.get("release") == release:
                    state = DependentState.OPEN
                    why = ""
                    if forge.checks_state(dep.repo, pr.number) is ChecksState.FAILURE:
                        state, why = DependentState.FAILED, f"#{pr.number}: checks failed"
                    facts = dataclasses.replace(
                        facts, state=state, why=why, opened_at=parse_time(pr.created_at)
                    )
                else:  # its open PR rolls out an older release: it waits for this one
                    facts = dataclasses.replace(facts, state=DependentState.WAITING)
            elif (
                dep.action is Action.OPEN
                or _closed_by_person(dep)  # the plan skips a PR a person closed: the wave sees why
                or (dep.action is Action.NOTHING and dep.refs and config.waves)
                or (dep.chain is not None and dep.action is Action.HOLD and config.waves)  # when it started
            ):
                pr = forge.find_closed_pull(dep.repo, dep_branch)
                marker = pr_marker(
                    pr, catalog=catalog, branch=dep_branch, repo=dep.repo, identity=identity, env=env
                )
                if pr is not None and marker and marker.get("release") == release:
                    facts = dataclasses.replace(facts, opened_at=parse_time(pr.created_at))
                    if (
                        pr.state is PullState.CLOSED
                        and not marker.get("closed_by")
                        and (dep.action is Action.OPEN or _closed_by_person(dep))
                    ):
                        facts = dataclasses.replace(
                            facts,
                            state=DependentState.FAILED,
                            why=f"#{pr.number}: closed unmerged by a person",
                        )
            if dep.action is Action.OPEN and pace_for(config, dep.config).max_open_prs is not None:
                lister = getattr(forge, "list_open_pulls", None)
                if lister is not None:
                    mine = [
                        p
                        for p in lister(dep.repo)
                        if p.head.startswith("catalog-ops/") and authored_by(p.author, identity)
                    ]
                    facts = dataclasses.replace(facts, open_prs=len(mine))
        except ForgeError:
            pass
        out[dep.repo] = facts
    return out


def build_plan(
    forge: PlanForge,
    *,
    catalog: str,
    selection: DependentSelection,
    release: str | None = None,
    bump_all: bool = False,
    progress: ProgressFn | None = None,
    budget: Budget | None = None,
    previous: Plan | None = None,
    now: _dt.datetime | None = None,
    clock: Callable[[], _dt.datetime] | None = None,
) -> Plan:
    """Gather a plan through ``forge`` (rules: ``rollout.planner``; dependents with
    ``environments:``: ``rollout.chain``), then schedule it: the catalog's ``rollout:`` section
    (``rollout.config``) decides waves, strategy and pace, with facts read from the forge
    (``rollout_facts``) and ``rollout.waves.schedule``.

    Args:
        catalog: catalog repo ``owner/name``; release: tag (default: the latest, see
            ``planner.select_release``).
        selection: which repositories are dependents, how they address the catalog, how many
            are scanned in parallel (``fanout.dependents``).
        bump_all: bump every reference, not only those whose module changed.
        progress: called with each repo name when it is done.
        budget: the most work one dependent may cause (default ``Budget()``).
        previous: the last plan (artifact) of this catalog: entries of dependents whose base
            head did not change are reused (batched reads only; module docstring).
        now: the time of the plan (aware UTC), default ``clock()`` or the current time: the soak
            of chains, release ages, windows and wave time limits are judged against it.
        clock: returns the current time (aware UTC; tests inject one), when ``now`` is not given.

    Raises:
        ReleaseError: no such release. UsageError: neither org nor dependents given.
        ForgeError: the catalog's releases or the org listing cannot be read.
        ConfigError: the catalog's ``rollout:`` section is invalid.
    """
    now = now or (clock() if clock is not None else _dt.datetime.now(_dt.UTC))
    migrations: list[Migration] = []
    config_files: dict[str, bytes] = {}
    releases, warnings = catalog_releases(
        forge, catalog, release=release, migrations=migrations, config_files=config_files
    )
    if config_files:
        rollout = load_rollout_config(config_files, label=catalog)
    elif any("could not read the catalog's git history" in w for w in warnings):
        rollout = read_rollout_config(forge, catalog, forge.get_repo(catalog).default_branch)
    else:
        rollout = RolloutConfig()
    if not releases:
        raise ReleaseError(f"{catalog} has no releases (no version tags)")
    chosen = select_release(releases, release)
    address = selection.catalog_address or forge.module_address(catalog)
    registry_modules = registry_modules_for(catalog, selection)
    trees: dict[str, set[str] | None] = {}
    trees_lock = threading.Lock()

    def module_exists(tag: str, module: str) -> bool | None:
        """One tree listing of the catalog per tag (cached): is ``module`` a directory there?"""
        with trees_lock:
            if tag not in trees:
                try:
                    paths = forge.list_tree(catalog, tag)
                except ForgeError:
                    trees[tag] = None
                else:
                    dirs: set[str] = set()
                    for p in paths:
                        parts = p.split("/")[:-1]
                        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
                    trees[tag] = dirs
            known = trees[tag]
        if known is None:
            return None
        return module_key(module) == ROOT_MODULE or module_key(module) in known

    url = forge.clone_url(catalog)
    auth = getattr(forge, "git_auth_env", None)
    catalog_at = CatalogAtTags(
        url, env=auth(url) if callable(auth) else None, name=f"{catalog}:{CONFIG_FILE}"
    )
    lock_cache: dict[str, str] = {}
    lock_guard = threading.Lock()

    def locks(
        files: Mapping[str, bytes], refs: Sequence[RefPlan], bumps: Sequence[Bump]
    ) -> tuple[LockUpdate, ...]:
        """The lock-file entries of one dependent (``rollout.locks``; one clone, one hash cache)."""
        with lock_guard:
            return plan_locks(files, refs, bumps, catalog_at, cache=lock_cache)

    opts = PlanOptions(
        catalog=catalog,
        catalog_address=address,
        release=chosen,
        releases=tuple(releases),
        bump_all=bump_all,
        registry_modules=registry_modules,
        module_exists=module_exists,
        rollout=rollout,
        now=now,
        migrations=tuple(migrations),
        locks=locks,
    )
    branch = branch_name(catalog)
    listing = list_dependents(forge, catalog, selection)
    skipped = [
        DependentPlan(repo=name, default_branch=default, action=Action.SKIP, reason=why)
        for name, default, why in listing.skipped
    ]
    cache = _Cache()
    results: dict[str, DependentPlan] = {}
    identity = forge.identity()

    def one(r: Repo) -> DependentPlan:
        d = scan_dependent(forge, r, opts, branch, cache, budget, identity)
        if progress:
            progress(r.full_name)
        return d

    if hasattr(forge, "read_snapshots") and hasattr(forge, "read_blobs"):
        reuse = (
            previous
            if _reusable(
                previous,
                catalog=catalog,
                address=address,
                registry=registry_modules,
                bump_all=bump_all,
                rollout=rollout,
            )
            else None
        )
        for d in plan_batched(
            forge, listing.repos, opts, branch, previous=reuse, progress=progress, identity=identity
        ):
            results[d.repo] = d
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, selection.concurrency)) as pool:
            for d in pool.map(one, listing.repos):
                results[d.repo] = d
    catalog_at.close()  # on an exception, TemporaryDirectory's finaliser removes the clone
    all_deps = sorted([*results.values(), *skipped], key=lambda d: d.repo)
    capped = any(pace_for(rollout, d.config).max_open_prs is not None for d in all_deps)
    facts = (
        rollout_facts(
            forge,
            all_deps,
            catalog=catalog,
            branch=branch,
            release=chosen.tag,
            topics={r.full_name: tuple(r.topics) for r in listing.repos},
            config=rollout,
        )
        if rollout.waves or capped
        else {}
    )
    planned = schedule(all_deps, facts, rollout, now, partial=bool(selection.include or selection.exclude))
    all_deps = list(planned.dependents)
    compares: dict[str, str] = {}
    for d in all_deps:
        for _module, base_tag, head_tag in compare_pairs(d, releases):
            key = f"{base_tag}...{head_tag}"
            if key not in compares:
                compares[key] = forge.compare_url(catalog, base_tag, head_tag)
    return Plan(
        catalog=catalog,
        catalog_address=address,
        release=chosen,
        releases=tuple(releases),
        dependents=tuple(all_deps),
        bump_all=bump_all,
        registry_modules=registry_modules,
        branch=branch,
        generated_at=now.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        compares=compares,
        warnings=tuple(warnings),
        migrations=tuple(migrations),
        rollout=rollout,
        waves=tuple(w.to_json() for w in planned.waves),
        next_step=planned.next_step,
    )


def compare_pairs(dep: DependentPlan, releases: Iterable[CatalogRelease]) -> list[tuple[str, str, str]]:
    """``(module, from tag, to tag)`` of every bumped reference of ``dep``: the tag it is at (a pinned
    ref as written; a constraint: the newest release it admits, ``core.drift``) and the tag it
    moves to."""
    rels = list(releases)
    tags_of = {str(r.version): r.tag for r in rels}
    tag_names = {r.tag for r in rels}
    versions = [r.version for r in rels if not r.prerelease and TagScheme().owns(r.version)]
    pairs: list[tuple[str, str, str]] = []
    targets = {b.module: b.tag for b in dep.bumps}
    for r in dep.refs:
        if r.action is not RefAction.BUMP or r.current is None:
            continue
        to_tag = targets.get(r.module)
        if to_tag is None:
            continue
        from_tag: str | None = None
        pinned = parse_version(r.current)
        if r.current in tag_names:
            from_tag = r.current
        elif pinned is not None:
            from_tag = tags_of.get(str(pinned)) or next((x.tag for x in rels if x.version == pinned), None)
        else:
            cur = drift.resolve_current(r.current, versions)
            from_tag = tags_of.get(str(cur)) if cur is not None else None
            if from_tag is None:
                from_tag = next((x.tag for x in rels if cur is not None and x.version == cur), None)
        if from_tag and (r.module, from_tag, to_tag) not in pairs:
            pairs.append((r.module, from_tag, to_tag))
    return pairs
