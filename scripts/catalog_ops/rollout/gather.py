"""Gathering a rollout plan through a forge: the catalog's releases, its dependents, their
candidate files and config, their open rollout PRs (read-only requests only).

The decisions are ``rollout.planner``'s; this module only reads (one tree listing per
dependent, then only the files the scanner would look at, memoised per run) and assembles the
``rollout.model.Plan``. Which repositories are dependents is ``fanout.dependents``'s.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as _dt
import threading
import time
from collections.abc import Callable, Iterable, Mapping

from catalog_ops.catalog.config import DependentConfig, config_path_in, parse_config
from catalog_ops.core.codeowners import CODEOWNERS_PATHS
from catalog_ops.core.metadata import check_release_metadata, parse_release_metadata
from catalog_ops.core.versions import parse_version
from catalog_ops.errors import ConfigError, ForgeError, NotFound, ReleaseError
from catalog_ops.fanout.dependents import DependentSelection, list_dependents
from catalog_ops.forge.base import Contents, PlanForge, Release, Repo, authored_by
from catalog_ops.refs import is_candidate_path
from catalog_ops.rollout.model import Action, CatalogRelease, DependentPlan, Plan, branch_name
from catalog_ops.rollout.planner import PlanOptions, plan_dependent, select_release


def releases_from_forge(
    items: Iterable[Release],
    *,
    identity: str | None = None,
    tags: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
) -> list[CatalogRelease]:
    """``CatalogRelease`` values (newest first) from forge ``Release`` objects; drafts and tags
    that are not semantic versions are left out.

    Release metadata is trusted only when the release was published by ``identity`` (the
    product's own login, ``forge.identity()``; None on a forge without authors) and its
    trailing block passes ``core.metadata.check_release_metadata`` against ``tags`` (tag name
    -> commit id). Otherwise the release has no metadata (it counts as changing every module,
    urgency normal: the history from git decides) and a line saying why goes to ``problems``.
    """
    out = []
    for rel in items:
        if getattr(rel, "draft", False):
            continue
        version = parse_version(rel.tag)
        if version is None:
            continue
        meta = parse_release_metadata(rel.body)
        why = None
        if meta is not None and not authored_by(rel.author, identity):
            why = f"it was published by {rel.author or 'an unknown author'}, not by {identity}"
        elif meta is not None:
            why = check_release_metadata(meta, tag=rel.tag, tags=tags)
        if why is not None:
            meta = None
            if problems is not None:
                problems.append(f"release {rel.tag}: metadata ignored: {why}")
        out.append(
            CatalogRelease(
                tag=rel.tag,
                version=version,
                prerelease=bool(rel.prerelease) or version.is_prerelease,
                url=rel.url,
                metadata=meta,
            )
        )
    return sorted(out, key=lambda r: r.version, reverse=True)


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
) -> DependentPlan:
    """Plan one dependent by reading it through the forge: one tree listing, the config file if
    present, then only candidate files (``refs.is_candidate_path`` and the config's ``paths``).
    Then look for an open rollout PR when there is something to do or to close.

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
        candidates = sorted(p for p in tree if is_candidate_path(p) and config.scans_path(p))
        if len(candidates) > budget.max_files:
            return skip(
                f"{len(candidates)} candidate files exceed the budget of {budget.max_files} per dependent; "
                "narrow them with 'paths:' in .catalog-ops.yml"
            )
        files = read_files(forge, name, base, candidates, cache, budget=budget, deadline=deadline)
        planned = plan_dependent(name, files, opts, default_branch=default, config=config)
        if budget.clock() > deadline:
            return skip(f"planning took longer than {budget.max_seconds:g} s (the budget per dependent)")
        owners = next((p for p in CODEOWNERS_PATHS if p in tree), None)
        planned = dataclasses.replace(planned, codeowners=owners)
        if planned.action is Action.OPEN or (planned.refs and planned.action is Action.NOTHING):
            pr = forge.find_open_pull(name, branch)
            if pr is not None:
                if planned.action is Action.OPEN:
                    planned = dataclasses.replace(planned, action=Action.UPDATE, existing_pr=pr.number)
                elif pr.base == base:
                    planned = dataclasses.replace(
                        planned,
                        action=Action.CLOSE,
                        existing_pr=pr.number,
                        reason=f"{base} already uses the newest catalog versions it may use",
                    )
        return planned
    except ForgeError as exc:
        return skip(f"forge error: {exc}")
    except BudgetExceeded as exc:
        return skip(str(exc))
    except Exception as exc:  # one repository never aborts the plan
        return skip(f"could not be planned: {type(exc).__name__}: {exc}")


def build_plan(
    forge: PlanForge,
    *,
    catalog: str,
    selection: DependentSelection,
    release: str | None = None,
    bump_all: bool = False,
    progress: ProgressFn | None = None,
    budget: Budget | None = None,
) -> Plan:
    """Gather a plan through ``forge`` (rules: ``rollout.planner``).

    Args:
        catalog: catalog repo ``owner/name``; release: tag (default: the latest, see
            ``planner.select_release``).
        selection: which repositories are dependents, how they address the catalog, how many
            are scanned in parallel (``fanout.dependents``).
        bump_all: bump every reference, not only those whose module changed.
        progress: called with each repo name when it is done.
        budget: the most work one dependent may cause (default ``Budget()``).

    Raises:
        ReleaseError: no such release. UsageError: neither org nor dependents given.
        ForgeError: the catalog's releases or the org listing cannot be read.
    """
    warnings: list[str] = []
    releases = releases_from_forge(
        forge.list_releases(catalog),
        identity=forge.identity(),
        tags={t.name: t.sha for t in forge.list_tags(catalog)},
        problems=warnings,
    )
    if not releases:
        raise ReleaseError(f"{catalog} has no releases")
    chosen = select_release(releases, release)
    address = selection.catalog_address or forge.module_address(catalog)
    registry_modules = dict(selection.registry_modules)
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
        return None if known is None else module.strip("/") in known

    opts = PlanOptions(
        catalog=catalog,
        catalog_address=address,
        release=chosen,
        releases=tuple(releases),
        bump_all=bump_all,
        registry_modules=registry_modules,
        module_exists=module_exists,
    )
    branch = branch_name(catalog)
    listing = list_dependents(forge, catalog, selection)
    skipped = [
        DependentPlan(repo=name, default_branch=default, action=Action.SKIP, reason=why)
        for name, default, why in listing.skipped
    ]
    cache = _Cache()
    results: dict[str, DependentPlan] = {}

    def one(r: Repo) -> DependentPlan:
        d = scan_dependent(forge, r, opts, branch, cache, budget)
        if progress:
            progress(r.full_name)
        return d

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, selection.concurrency)) as pool:
        for d in pool.map(one, listing.repos):
            results[d.repo] = d
    all_deps = sorted([*results.values(), *skipped], key=lambda d: d.repo)
    return Plan(
        catalog=catalog,
        catalog_address=address,
        release=chosen,
        releases=tuple(releases),
        dependents=tuple(all_deps),
        bump_all=bump_all,
        registry_modules=registry_modules,
        branch=branch,
        generated_at=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        warnings=tuple(warnings),
    )
