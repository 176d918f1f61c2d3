"""Rollout plans: which dependents get which module bumps for a catalog release (schema 1).

Pure: decisions from gathered data (release list, file bytes, the dependent's config). The
values it returns live in ``rollout.model``; ``rollout.gather`` reads the inputs through a forge;
``rollout.apply`` re-runs ``bump_planned``/``stale_reason`` on the base branch it finds.

Rules (issue 5):

* Target of a reference at version ``V``: the newest release that is not a pre-release and not
  newer than the release being rolled out; a pre-release only when ``V`` is itself a pre-release
  of the same ``major.minor.patch`` line (semver.org §9, §11). A dependent that opts out of
  majors (``majors: false``) gets the newest release of its current major instead.
* By default a reference is bumped only when its module changed in a version between ``V``
  (exclusive) and the target (inclusive), according to git (``release.changes``: the diff of the
  module's files and its local-path dependencies between the tags; examples/tests excluded);
  catalog-ops' release metadata is used only when git could not be read. A constraint that
  already admits the target is left alone unless the dependent opts in (``raise_floor``). The
  decision is ``core.drift.assess`` (shared with the dashboard and the sweep). ``bump_all``
  bumps every reference of the catalog.
* The update type is ``versions.update_type(V, target)``; the urgency is the highest urgency of
  the releases spanned that changed the module (a security fix to another module does not make
  this bump urgent); an update is *breaking* when it crosses a major version or a spanned
  release marks the module breaking.
* Migration patches (docs/migrations.md): the releases of an update that are breaking for the
  module (``breaking_releases``) are looked up in the catalog's patches (``migrate.for_update``);
  the patches found are applied after the bump (``bump_and_migrate``, also what apply runs), and
  an update whose every breaking release is covered is *patched* (``RefPlan.patched``): it may
  merge by itself only with ``automerge_patched_majors`` and when every step applied.
* Branch, SHA, missing and interpolated refs, and references the references module could not
  resolve, are skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import posixpath
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from catalog_ops.bump import BumpOutcome, bump_files, needle_for
from catalog_ops.catalog.config import DependentConfig
from catalog_ops.catalog.layout import ROOT_MODULE, module_key
from catalog_ops.core import drift
from catalog_ops.core.edits import line_col
from catalog_ops.core.sources import RefKind, SourceKind, normalize_identity, source_matches
from catalog_ops.core.versions import (
    Level,
    TagScheme,
    Urgency,
    Version,
    is_unstable,
    parse_constraint,
    parse_version,
    update_constraint,
    update_type,
)
from catalog_ops.errors import ReleaseError, UsageError
from catalog_ops.migrate import (
    Migration,
    MigrationResult,
    StepOutcome,
    apply_migrations,
    covers,
    for_update,
)
from catalog_ops.refs import Reference, RefStatus, scan_files
from catalog_ops.rollout.commands import Ignore, release_skipped
from catalog_ops.rollout.config import RolloutConfig
from catalog_ops.rollout.model import (
    Action,
    Bump,
    CatalogRelease,
    DependentPlan,
    LockUpdate,
    RefAction,
    RefPlan,
)
from catalog_ops.rollout.pace import age_reason, format_time, is_breaking, next_safe, pace_for, split_by_age

NEXT_SAFE = "strategy next-safe"
"""How reasons of references next-safe stops before a breaking release begin."""


def select_release(releases: Sequence[CatalogRelease], tag: str | None) -> CatalogRelease:
    """The release named ``tag``, or the latest (newest non-pre-release, GitHub's "latest").

    Raises ReleaseError when there is no such release.
    """
    if tag:
        for rel in releases:
            if rel.tag == tag:
                return rel
        raise ReleaseError(f"release {tag} not found (known: {', '.join(r.tag for r in releases) or 'none'})")
    stable = [r for r in releases if not r.prerelease]
    if not stable:
        raise ReleaseError("the catalog has no release that is not a pre-release; pass --release TAG")
    return max(stable, key=lambda r: r.version)


def choose_target(
    current: Version, releases: Sequence[CatalogRelease], *, ceiling: Version, allow_major: bool = True
) -> CatalogRelease | None:
    """The release a reference at ``current`` should move to, or None when there is none newer.

    Only releases whose tag has the reference's scheme are candidates (``versions.TagScheme``; ``v1.2.3`` and ``1.2.3`` are one repository-wide scheme): a
    ``?ref=modules/a/v0.1.0`` moves to ``modules/a/v…`` tags only, a ``?ref=v0.1.0`` to
    repository-wide tags only, so the target is always an existing tag.

    Args:
        current: the version the reference pins (its ``prefix`` gives the scheme).
        releases: all known releases (any order).
        ceiling: the release being rolled out; newer releases are not considered.
        allow_major: False keeps the target within ``current.major``.
    """
    scheme = TagScheme.of_version(current)
    candidates = []
    for rel in releases:
        v = rel.version
        if v > ceiling or not scheme.owns(v):
            continue
        if rel.prerelease:
            same_line = (v.major, v.minor, v.patch) == (current.major, current.minor, current.patch)
            if not (is_unstable(current) and same_line):
                continue
        if not allow_major and v.major != current.major:
            continue
        candidates.append(rel)
    if not candidates:
        return None
    best = max(candidates, key=lambda r: r.version)
    return best if best.version > current else None


def spanned_releases(
    current: Version, target: Version, releases: Sequence[CatalogRelease]
) -> list[CatalogRelease]:
    """Releases newer than ``current`` and not newer than ``target``, oldest first, of the
    same tag scheme as ``current`` (``versions.TagScheme``). Pre-releases of other lines are included
    only when they are the target itself."""
    out = [
        r
        for r in releases
        if current < r.version <= target
        and TagScheme.of_version(current).owns(r.version)
        and (not r.prerelease or r.version == target or is_unstable(current))
    ]
    return sorted(out, key=lambda r: r.version)


# --------------------------------------------------------------------------- pure planning
@dataclasses.dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """Inputs shared by every dependent of one plan.

    ``rollout`` is the catalog's ``rollout:`` section (strategy, minimum release age; a
    dependent's ``.catalog-ops.yml`` overrides them, ``rollout.pace.pace_for``); ``now`` the
    moment release ages are judged at (aware; None: ages are not judged)."""

    catalog: str
    catalog_address: str
    release: CatalogRelease
    releases: tuple[CatalogRelease, ...]
    bump_all: bool = False
    registry_modules: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # (tag, module dir) -> does the directory exist in the catalog at that tag? None: unknown.
    module_exists: Callable[[str, str], bool | None] | None = dataclasses.field(default=None, compare=False)
    rollout: RolloutConfig = dataclasses.field(default_factory=RolloutConfig)
    # An environment's step of a chain (``rollout.chain``): only references whose version bytes
    # live in a file ``scope`` accepts are planned (None: all) ...
    scope: Callable[[str], bool] | None = dataclasses.field(default=None, compare=False)
    # ... and each module moves at most to ``ceilings[module]`` (what the previous environment
    # runs), exactly to it or not at all; a module without a ceiling is skipped with
    # ``no_ceiling`` (``{module}`` replaced). None: the release is the ceiling of every module.
    ceilings: Mapping[str, Version] | None = None
    # The time the plan is made (aware UTC; injected by tests): a chain's soak is measured against it.
    now: Any = dataclasses.field(default=None, compare=False)
    no_ceiling: str = "{module} is not used by the previous environment: nothing to promote"
    # the catalog's migration patches at the rolled-out tag (docs/migrations.md)
    migrations: tuple[Migration, ...] = ()
    # (files, refs, bumps) -> the lock-file entries the bumps need (``rollout.locks.plan_locks``).
    locks: (
        Callable[[Mapping[str, bytes], Sequence[RefPlan], Sequence[Bump]], tuple[LockUpdate, ...]] | None
    ) = dataclasses.field(default=None, compare=False)


def token_file(ref: Reference) -> str:
    """The file holding ``ref``'s version bytes: the registry ``version`` attribute's file for a
    registry source, else the file of the ``?ref=`` (``written_in``)."""
    if ref.source is not None and ref.source.kind is SourceKind.REGISTRY:
        return ref.version_path
    return ref.written_in or ref.path


def _identity(address: str) -> str:

    return normalize_identity(address)[0]


def _registry_current(constraint: str) -> Version | None:
    """The version a registry constraint is written at: its first part (the pin, or the floor
    of ``~>``/``>=`` ranges). Raises UsageError for an invalid constraint."""

    cons = parse_constraint(constraint)
    return cons.parts[0].version if cons.parts else None


def _by_version(releases: Sequence[CatalogRelease]) -> dict[Version, list[CatalogRelease]]:
    """Releases by version (``semver`` equality and hash: build metadata ignored), in order."""
    out: dict[Version, list[CatalogRelease]] = {}
    for r in releases:
        out.setdefault(r.version, []).append(r)
    return out


def _release_of(index: Mapping[Version, Sequence[CatalogRelease]], version: Version) -> CatalogRelease | None:
    """The first release (in ``opts.releases`` order) of ``version`` in its scheme; ``index``:
    ``_by_version(opts.releases)`` (a lookup per version, not a scan: a catalog with 1,000 tags
    asks this for every tag between a pin and the target)."""
    scheme = TagScheme.of_version(version)
    return next((r for r in index.get(version, ()) if scheme.owns(r.version)), None)


def plan_reference(
    ref: Reference, opts: PlanOptions, config: DependentConfig, ignores: Sequence[Ignore] = ()
) -> RefPlan | None:
    """Plan one ``refs.Reference``; None when it does not refer to the catalog.

    Whether it is behind and needs a PR is ``core.drift.assess``'s answer (the one the dashboard
    and the sweep use): a pinned ref needs one when a release after it, up to the target,
    changed its module (git decides, ``CatalogRelease.changes_module``); a constraint that
    already admits the target is left alone unless the dependent sets ``raise_floor: true``.

    ``ignores``: the dependent's ignores in force (``rollout.commands``, from commands in its
    rollout PRs): a module ignored, or ignored at its target's major, is a ``skip`` naming them.

    Raises nothing for ordinary input; problems become ``skip`` with a reason.
    """

    source = ref.source
    if source is None:
        return None
    module: str | None = None
    registry_address: str | None = None
    if source.kind is SourceKind.REGISTRY:
        for address, mod in opts.registry_modules.items():
            if source.identity == _identity(address):
                # a registry submodule (``ns/name/provider//modules/x``) is that dir below the
                # module the address is published from
                base_dir = module_key(mod)
                sub = (source.subdir or "").strip("/")
                module = module_key(posixpath.join(base_dir, sub) if sub else base_dir)
                registry_address = address + (f"//{sub}" if sub else "")
                break
        if module is None:
            return None
    else:
        try:
            if not source_matches(source, opts.catalog_address):
                return None
        except UsageError:
            return None
        module = module_key(source.subdir)
    base = RefPlan(
        path=ref.path,
        line=ref.line,
        col=ref.col,
        written_in=ref.version_path if registry_address else (ref.written_in or ref.path),
        module=module,
        source=source.raw,
        current=ref.version if registry_address else source.ref,
    )
    if ref.status != RefStatus.OK:
        return dataclasses.replace(base, reason=ref.reason or f"reference status {ref.status}")
    if config.ignores_module(module):
        return dataclasses.replace(base, reason=f"module {module} is ignored by {config.source or 'config'}")
    written = ""
    if registry_address:
        if not ref.version:
            return dataclasses.replace(base, reason="registry module without a version constraint")
        written = ref.version
        try:
            parse_constraint(written)
        except UsageError as exc:
            return dataclasses.replace(base, reason=str(exc))
        # the floor picks the candidates (its major is the one the user chose); core.drift
        # then resolves the constraint to the newest release it admits
        current = drift.resolve_current(written, [])
        if current is not None:
            current = _written(current, "")
    else:
        if not source.updatable:
            return dataclasses.replace(base, reason=source.reason or "source is not updatable")
        if source.ref_kind is not RefKind.SEMVER_TAG:
            why = {
                RefKind.BRANCH: f"ref {source.ref!r} is a branch: it follows the branch, not releases",
                RefKind.SHA: f"ref {source.ref!r} is a commit SHA: pinned on purpose",
                RefKind.NONE: "no ?ref= pin: it follows the default branch",
                RefKind.DYNAMIC: "ref is built by interpolation and cannot be resolved",
            }.get(source.ref_kind, f"ref kind {source.ref_kind}")
            return dataclasses.replace(base, reason=why)
        written = source.ref or ""
        current = parse_version(written)
    if current is None:
        return dataclasses.replace(base, reason=f"cannot read a version from {base.current!r}")
    ceiling = opts.release.version
    if opts.ceilings is not None:
        if module not in opts.ceilings:
            return dataclasses.replace(base, reason=opts.no_ceiling.format(module=module))
        ceiling = opts.ceilings[module]
    # strategy and minimum age choose what a rollout starts; a chain step promotes exactly what
    # the previous environment runs (rollout.chain)
    pace = pace_for(opts.rollout, config)
    pool: Sequence[CatalogRelease] = opts.releases
    young: dict[str, _dt.datetime] = {}
    if opts.now is not None and pace.min_release_age > 0 and opts.ceilings is None:
        pool, young = split_by_age(opts.releases, pace, opts.now)
    target = choose_target(current, pool, ceiling=ceiling, allow_major=config.majors)
    held: tuple[CatalogRelease, _dt.datetime] | None = None
    if young:
        newest = choose_target(current, opts.releases, ceiling=ceiling, allow_major=config.majors)
        if newest is not None and newest.tag in young and (target is None or newest.version > target.version):
            held = (newest, young[newest.tag])
    if target is None and held is not None:
        return dataclasses.replace(
            base,
            action=RefAction.CURRENT,
            reason=age_reason(held[0], pace, held[1]),
            held_until=format_time(held[1]),
        )
    if target is None and not config.majors:
        newer_major = choose_target(current, opts.releases, ceiling=opts.release.version)
        if newer_major is not None:
            return dataclasses.replace(
                base,
                reason=f"major update to {newer_major.tag} not proposed: {config.source or 'config'} sets majors: false",
            )
    if target is None:
        return dataclasses.replace(
            base, action=RefAction.CURRENT, reason="already at the newest release it may use"
        )
    ignored = next((i for i in ignores if i.covers_module(module, target.version.major)), None)
    if ignored is not None:
        return dataclasses.replace(
            base,
            reason=f"{ignored.describe()} by /catalog-ops {_command_of(ignored)} "
            f"(#{ignored.pr}, {ignored.by or 'unknown'})",
        )
    if opts.module_exists is not None and opts.module_exists(target.tag, module) is False:
        # The module moved or was removed: fall back to the newest release that still has it.
        older = [
            r
            for r in opts.releases
            if current < r.version < target.version
            and TagScheme.of_version(current).owns(r.version)
            and not r.prerelease
            and (config.majors or r.version.major == current.major)
        ]
        fallback = next(
            (
                r
                for r in sorted(older, key=lambda r: r.version, reverse=True)
                if opts.module_exists(r.tag, module)
            ),
            None,
        )
        if fallback is None:
            return dataclasses.replace(
                base,
                reason=f"{module} does not exist in the catalog at {target.tag} (moved or removed); "
                "change the source by hand",
            )
        target = fallback
    if opts.ceilings is not None and target.version.core != ceiling.core:
        # a chain step moves to exactly what the previous environment runs, never to another version
        return dataclasses.replace(
            base,
            reason=f"the previous environment runs {ceiling}, which is not a release this reference "
            "can move to (tag scheme, pre-release or majors: false)",
        )
    if pace.strategy == "next-safe" and opts.ceilings is None:
        key = module_key(module)
        safe, breaking_release = next_safe(
            current,
            pool,
            target,
            module,
            # a breaking release the catalog's migration patches cover is applied by the rollout:
            # next-safe goes past it (docs/migrations.md, "Patches in the rollout")
            patched=lambda v: covers(opts.migrations, key, v),
        )
        if safe is None:
            assert breaking_release is not None
            return dataclasses.replace(
                base,
                action=RefAction.CURRENT,
                reason=f"{NEXT_SAFE}: the next release {breaking_release.tag} is breaking for "
                f"{module}; move to it by hand, or set strategy: latest",
            )
        target = safe
    scheme = TagScheme.of_version(current)
    in_scheme = [
        r.version
        for r in opts.releases
        if scheme.owns(r.version) and (not r.prerelease or r.version == target.version)
    ]

    by_version = _by_version(opts.releases)

    def changed(v: Version) -> bool:
        rel = _release_of(by_version, v)
        return rel is not None and rel.changes_module(module)

    answer = drift.assess(
        written,
        versions=in_scheme,
        target=target.version,
        changed=changed,
        raise_floor=config.raise_floor,
        force=opts.bump_all,
    )
    spanned = [r for v in answer.behind if (r := _release_of(by_version, v)) is not None]
    target_written = _written(target.version, "" if registry_address else current.prefix)
    proposed = str(target_written)
    if registry_address:
        try:
            proposed = update_constraint(written, target.version, move_pessimistic=True) or written
        except UsageError:
            proposed = written
    kind = answer.update if answer.needs_change else update_type(current, target.version)
    breaking = kind is Level.MAJOR or any(is_breaking(r, module, before=current) for r in spanned)
    patches: tuple[str, ...] = ()
    patched = False
    if breaking and opts.migrations:
        crossed = breaking_releases(spanned, module, current)
        found, uncovered = for_update(opts.migrations, module_key(module), crossed)
        patches = tuple(m.path for m in found)
        patched = bool(crossed) and not uncovered
    plan = dataclasses.replace(
        base,
        target_version=target_written,
        proposed=proposed,
        update=kind,
        urgency=Urgency.highest(r.urgency for r in spanned),
        breaking=breaking,
        held_until=format_time(held[1]) if held else None,
        patches=patches,
        patched=patched,
    )
    if not answer.needs_change:
        reason = answer.reason
        if answer.admits_target is None or not answer.admits_target:
            reason = f"{module if module != ROOT_MODULE else 'the root module'} did not change between {current} and {target.tag}"
        return dataclasses.replace(plan, action=RefAction.CURRENT, reason=reason, proposed=None)
    if registry_address:
        address = registry_address
    else:
        address = opts.catalog_address if module == ROOT_MODULE else f"{opts.catalog_address}//{module}"
    return dataclasses.replace(plan, action=RefAction.BUMP, address=address)


def breaking_releases(spanned: Sequence[CatalogRelease], module: str, current: Version) -> list[Version]:
    """The releases among ``spanned`` (those that changed ``module``) that are breaking for it:
    a major version step over the version before it in the update (``current`` for the first),
    or release metadata marking the module breaking. Oldest first. Patches must cover each of
    them for the update to count as patched (``migrate.for_update``)."""
    out: list[Version] = []
    prev = current
    for r in sorted(spanned, key=lambda r: r.version):
        if is_breaking(r, module, before=prev):
            out.append(r.version)
        prev = r.version
    return out


def bump_and_migrate(
    files: Mapping[str, bytes],
    bumps: Sequence[Bump],
    refs: Sequence[RefPlan],
    migrations: Sequence[Migration],
) -> tuple[dict[str, bytes], list[BumpOutcome], tuple[str, ...], MigrationResult | None]:
    """``bump_planned``, then the migration patches of the bumped references on the bumped
    bytes (``migrate.apply_migrations``): what the plan computes and what apply commits.

    Each reference of ``refs`` with ``patches`` gets exactly its patches (two references of one
    module at different versions span different breaking releases); patches run in the order
    the references list them (oldest release first). A patch path missing from ``migrations``
    is reported as a skip (the plan is inconsistent).

    Returns:
        ``(changed, bump outcomes, errors, migration result or None when nothing is patched)``.
    """
    changed, outcomes, errors = bump_planned(files, bumps)
    wanted: dict[tuple[str, int], tuple[str, ...]] = {
        (r.path, r.line): r.patches for r in refs if r.action is RefAction.BUMP and r.patches
    }
    if not wanted:
        return changed, outcomes, errors, None
    by_path = {m.path: m for m in migrations}
    order: list[str] = []
    for paths in wanted.values():
        order.extend(p for p in paths if p not in order)
    missing = [p for p in order if p not in by_path]
    work = {**files, **changed}
    result = apply_migrations(
        work,
        [by_path[p] for p in order if p in by_path],
        is_target=lambda m, ref: m.path in wanted.get((ref.path, ref.line), ()),
    )
    for p in missing:
        result.outcomes.append(
            StepOutcome(p, 0, "migration patch", p, 1, "skipped", "not in the plan's patches")
        )
    for path, data in result.changed.items():
        changed[path] = data
    changed = {p: c for p, c in changed.items() if files.get(p) != c}
    return changed, outcomes, errors, result


def plan_dependent(
    repo: str,
    files: Mapping[str, bytes],
    opts: PlanOptions,
    *,
    default_branch: str,
    config: DependentConfig,
    ignores: Sequence[Ignore] = (),
) -> DependentPlan:
    """Plan one dependent from its candidate files (path -> bytes) at the base branch.

    The files are scanned once (``refs.scan_files``; only files mentioning the catalog address
    when no registry module is mapped), every reference is planned (``plan_reference``), and
    the bumps are applied in memory (``bump_planned``) to find the files that change;
    references that ``bump_files`` could not edit become ``skip``. ``ignores`` (from commands
    in its rollout PRs, ``rollout.commands``): ignored modules are skipped, and a PR whose every
    target is a skipped release or older is ``nothing`` with the reason.
    """
    needle = None if opts.registry_modules else needle_for(opts.catalog_address)
    base = config.base or default_branch
    result = scan_files(files, needle=needle)
    errors = tuple(str(e) for e in result.errors)
    refs: list[RefPlan] = []
    references = result.references
    scope_files: tuple[str, ...] | None = None
    if opts.scope is not None:
        references = [r for r in references if opts.scope(token_file(r))]
        scope_files = tuple(sorted({token_file(r) for r in references}))
    for ref in references:
        planned = plan_reference(ref, opts, config, ignores)
        if planned is not None:
            refs.append(dataclasses.replace(planned, ref_line=_token_line(ref, files)))
    refs.sort(key=lambda r: (r.path, r.line, r.col))
    common: dict[str, Any] = {
        "repo": repo,
        "default_branch": default_branch,
        "base": base,
        "config": config,
        "errors": errors,
        "files_scanned": len(files),
    }
    if not refs:
        return DependentPlan(action=Action.NOTHING, reason="no reference to the catalog", **common)
    to_bump = [r for r in refs if r.action is RefAction.BUMP]
    if not to_bump:
        held = sorted((r for r in refs if r.held_until), key=lambda r: r.held_until or "")
        if held:
            return DependentPlan(
                action=Action.HOLD,
                reason=held[0].reason,
                refs=tuple(refs),
                held_until=held[0].held_until,
                **common,
            )
        return DependentPlan(action=Action.NOTHING, reason=_nothing_reason(refs), refs=tuple(refs), **common)
    # One bump per address and tag scheme: the newest target among its references.
    by_address: dict[tuple[str, str], RefPlan] = {}
    for r in to_bump:
        assert r.address is not None and r.target_version is not None
        key = (r.address, TagScheme.of_version(r.target_version).key)
        prev = by_address.get(key)
        if prev is None or (prev.target_version is not None and r.target_version > prev.target_version):
            by_address[key] = r
    bumps: list[Bump] = []
    for (address, scheme_key), r in sorted(by_address.items()):
        assert r.target_version is not None
        v, scheme = r.target_version, TagScheme.from_key(scheme_key)
        release = next(
            (
                rel
                for rel in opts.releases
                if rel.version == v and TagScheme.of_version(rel.version) == scheme
            ),
            None,
        )
        bumps.append(
            Bump(
                address=address,
                module=r.module,
                target=release.version if release else v,
                tag=release.tag if release else str(v),
                allow_prerelease=is_unstable(v),
                scheme=scheme,
                raise_floor=config.raise_floor,
                files=scope_files,
            )
        )
    changed, outcomes, bump_errors = bump_planned(files, bumps)
    errors += bump_errors
    bumped_lines = {(o.path, o.line) for o in outcomes if o.status == "bumped"}
    already = {(o.path, o.line): o.reason for o in outcomes if o.status == "already"}
    skipped = {(o.path, o.line): o.reason for o in outcomes if o.status == "skipped"}
    final: list[RefPlan] = []
    for r in refs:
        hit = r.token_at in bumped_lines
        if r.action is RefAction.BUMP and not hit and r.token_at in already:
            # e.g. a registry range that already admits the target: left as written
            r = dataclasses.replace(
                r, action=RefAction.CURRENT, reason=already[r.token_at] or "already admits the target"
            )
        elif r.action is RefAction.BUMP and not hit:
            why = skipped.get(r.token_at)
            if why or not changed:
                r = dataclasses.replace(
                    r, action=RefAction.SKIP, reason=why or "the bump tool found nothing to change"
                )
        elif r.action is RefAction.CURRENT and hit and r.target_version is not None:
            # Same module as a reference that must move: every reference of it moves together.
            r = dataclasses.replace(
                r,
                action=RefAction.BUMP,
                address=next((b.address for b in bumps if b.module == r.module), None),
                reason="moved with the other references of the module",
            )
        final.append(r)
    live = [r for r in final if r.action is RefAction.BUMP]
    if not changed or not live:
        return DependentPlan(
            action=Action.NOTHING, reason=_nothing_reason(final), refs=tuple(final), **common
        )
    skipped_release = release_skipped(ignores, (b.target for b in bumps))
    if skipped_release is not None:
        why = (
            f"{skipped_release.describe()} by /catalog-ops skip this release "
            f"(#{skipped_release.pr}, {skipped_release.by or 'unknown'}); a newer release proposes again"
        )
        return DependentPlan(
            action=Action.NOTHING,
            reason=why,
            refs=tuple(
                dataclasses.replace(r, action=RefAction.SKIP, reason=why) if r.action is RefAction.BUMP else r
                for r in final
            ),
            **common,
        )
    top = max((r.update for r in live), default=Level.NONE)
    urgency = Urgency.highest(r.urgency for r in live)
    breaking = any(r.breaking for r in live)
    inputs = _inputs(final, files)
    migration: tuple[StepOutcome, ...] = ()
    patched = False
    if any(r.patches for r in live):
        # the patches read and may edit other files of the module blocks' directories (output
        # references, moved blocks) and Terragrunt units reading the unit's outputs
        dirs = {posixpath.dirname(r.path) for r in live if r.patches}
        inputs = tuple(
            sorted(
                set(inputs)
                | {p for p in files if posixpath.dirname(p) in dirs}
                | {p for p in files if posixpath.basename(p) == "terragrunt.hcl"}
            )
        )
        read = {p: files[p] for p in inputs if p in files}
        changed, _, _, migrated = bump_and_migrate(read, bumps, final, opts.migrations)
        if migrated is not None:
            migration = tuple(migrated.outcomes)
            errors += tuple(e for e in migrated.errors if e not in errors)
        patched = breaking and all(r.patched for r in live if r.breaking)
    needs_hands = any(o.status == "skipped" for o in migration)
    locks = opts.locks(files, final, bumps) if opts.locks is not None else ()
    lock_paths = {lk.path for lk in locks if lk.entry}
    return DependentPlan(
        action=Action.OPEN,
        refs=tuple(final),
        bumps=tuple(bumps),
        locks=locks,
        files=tuple(sorted(set(changed) | lock_paths)),
        inputs=tuple(sorted(set(inputs) | lock_paths)),
        update=top,
        urgency=urgency,
        breaking=breaking,
        automerge=not needs_hands
        and config.allows_automerge(urgency=urgency, update_type=top, breaking=breaking, patched=patched),
        patched=patched,
        migration=migration,
        **common,
    )


def bump_planned(
    files: Mapping[str, bytes], bumps: Sequence[Bump]
) -> tuple[dict[str, bytes], list[BumpOutcome], tuple[str, ...]]:
    """Apply ``bumps`` to ``files`` in memory with ``bump.bump_files``, never touching a git ref
    of another tag scheme than the bump's (``Bump.scheme``) and never moving a ref backwards
    (a ref newer than the bump's target stays as written): ``movable`` tells ``bump_files``
    which references it may select.

    Returns:
        ``(changed, outcomes, errors)``: ``{path: new bytes}`` of files whose bytes change,
        the ``BumpOutcome`` values of the references bumped or left alone, parse errors.
    """
    work = dict(files)
    changed: dict[str, bytes] = {}
    outcomes: list[BumpOutcome] = []
    errors: tuple[str, ...] = ()
    for b in bumps:
        res = bump_files(
            work, address=b.address, to=b.to, allow_prerelease=b.allow_prerelease, select=movable(b)
        )
        for path, new in res.changed.items():
            if new != work.get(path):
                work[path] = new
                changed[path] = new
        outcomes.extend(res.outcomes)
        errors += tuple(str(e) for e in res.errors)
    changed = {p: c for p, c in changed.items() if files.get(p) != c}
    return changed, outcomes, errors


def movable(b: Bump) -> Callable[[Reference], bool]:
    """``bump_files``' ``select`` for ``b``: False for a git ref pinned to a semantic version
    tag of another scheme than ``b.scheme`` or newer than ``b.to``; False for a reference of a
    submodule (``//modules/x``) when ``b`` moves the root module (an address without ``//``); False
    for a reference whose version bytes are outside ``b.files`` (a chain step); False for a registry constraint that already admits ``b.target`` unless ``b.raise_floor``
    (``core.drift``); True otherwise (references of other addresses are not ``bump_files``' to
    move anyway)."""
    target = b.target
    root_only = "//" not in b.address
    scope = None if b.files is None else frozenset(b.files)

    def select(ref: Reference) -> bool:
        if scope is not None and token_file(ref) not in scope:
            return False
        src = ref.source
        if src is None:
            return True
        if root_only and (src.subdir or "").strip("/"):
            return False
        if src.kind is SourceKind.REGISTRY and ref.version and not b.raise_floor:
            answer = drift.assess(ref.version, versions=[], target=target)
            if answer.admits_target:
                return False
        if ref.ref_span is None or src.ref_kind is not RefKind.SEMVER_TAG:
            return True
        v = parse_version(src.ref or "")
        if v is None:
            return True
        wrong_scheme = b.scheme is not None and TagScheme.of_version(v) != b.scheme
        return not (wrong_scheme or v > target)

    return select


def stale_reason(files: Mapping[str, bytes], dep: DependentPlan) -> str | None:
    """Why the plan's bumps must not be applied to ``files`` (the dependent's base branch as it
    is now), or None when they still fit.

    A reference of a bumped module that is now *newer* than the bump's target would move
    backwards: ``"already at X, newer than the plan's target T"``. One now at a version the plan
    did not start from (and not the target) would get an update the plan never classified
    (e.g. across a major): ``"path:line is at X, the plan expected F; re-plan"``.
    """

    try:
        scanned = scan_files(files).references
    except Exception:
        return None

    def version_of(text: str | None) -> Version | None:
        if not text:
            return None
        v = parse_version(text)
        if v is None:
            try:
                v = _registry_current(text)
            except UsageError:
                v = None
        return v

    # What the plan saw at each version token: a reference unchanged since the plan was already
    # judged there (e.g. one newer than the target is deliberately left alone).
    seen = {r.token_at: version_of(r.current) for r in dep.refs}
    for b in dep.bumps:
        target = b.target
        expected = [
            v
            for r in dep.refs
            if r.action is RefAction.BUMP
            and r.address == b.address
            and (v := version_of(r.current)) is not None
        ]
        for ref in scanned:
            src = ref.source
            if src is None or (b.files is not None and token_file(ref) not in b.files):
                continue
            try:
                if not source_matches(src, b.address):
                    continue
            except UsageError:
                continue
            if src.kind is SourceKind.REGISTRY and src.ref is None:
                written = ref.version or ""
                try:
                    v = _registry_current(written) if written else None
                except UsageError:
                    v = None
            elif src.ref_kind is RefKind.SEMVER_TAG:
                written = src.ref or ""
                v = parse_version(written)
                if v is not None and b.scheme is not None and TagScheme.of_version(v) != b.scheme:
                    continue
            else:
                continue
            if v is None or v == target:
                continue
            where = (ref.written_in or ref.path, _token_line(ref, files))
            if where in seen and seen[where] == v:
                continue
            if v > target:
                return f"already at {written}, newer than the plan's target {b.tag}"
            if expected and v not in expected:
                froms = ", ".join(sorted({str(e) for e in expected}))
                return (
                    f"{ref.written_in}:{ref.line} is at {written}, the plan expected {froms}; "
                    "the base branch changed since the plan: re-plan"
                )
    return None


def _nothing_reason(refs: Sequence[RefPlan]) -> str:
    """``"up to date"``, plus how many references were skipped and why."""
    skipped = [r for r in refs if r.action is RefAction.SKIP]
    stopped = [r for r in refs if r.action is RefAction.CURRENT and (r.reason or "").startswith(NEXT_SAFE)]
    if stopped and not skipped:
        r = stopped[0]
        return f"up to date for {NEXT_SAFE}; {r.written_in}:{r.ref_line or r.line} {r.reason}"
    if not skipped:
        return "up to date"
    why = "; ".join(f"{r.written_in}:{r.ref_line or r.line} {r.reason}" for r in skipped[:3])
    more = f" (+{len(skipped) - 3} more)" if len(skipped) > 3 else ""
    return f"nothing to bump; {len(skipped)} reference(s) skipped: {why}{more}"


def _inputs(refs: Sequence[RefPlan], files: Mapping[str, bytes]) -> tuple[str, ...]:
    """Files apply must read to redo the bumps: those holding references and version tokens,
    plus the Terragrunt configs other units may include (``*.hcl`` other than units)."""

    wanted = {r.path for r in refs} | {r.written_in for r in refs}
    wanted |= {p for p in files if p.endswith(".hcl") and posixpath.basename(p) != "terragrunt.hcl"}
    return tuple(sorted(p for p in wanted if p in files))


def _token_line(ref: Reference, files: Mapping[str, bytes]) -> int:
    """Line of the reference's version token in the file that holds it (as bump reports it)."""

    source = ref.source
    span, where = ref.ref_span, ref.written_in or ref.path
    if span is None or (source is not None and source.ref is None):
        span, where = ref.version_span, ref.version_path
    data = files.get(where)
    if span is None or data is None:
        return int(ref.line)
    return line_col(data.decode("utf-8", errors="replace"), span[0])[0]


def _command_of(ignore: Ignore) -> str:
    """The command text that makes ``ignore``."""
    return ignore.command.value


def _written(version: Version, prefix: str) -> Version:
    """``version`` as it will be written: with ``prefix`` (the reference's ``v`` style or
    module tag prefix; ``""`` for a registry constraint)."""
    return Version(
        version.major, version.minor, version.patch, version.prerelease, version.build, prefix=prefix
    )
