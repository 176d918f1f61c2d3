"""What the sweep proposes: target versions, byte-exact edits, and the PRs they go into (pure).

Rules: pre-releases are only proposed for pins that are pre-releases themselves; constraints are
changed with ``versions.update_constraint`` (only when they do not already admit the target) and
module refs with ``bump.bump_files``, so only version bytes change; a major update goes into its
own PR, the rest into one grouped PR (``sweep.grouping``); branches are deterministic so a rerun
force-updates the open PR instead of opening another.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping, Sequence

from catalog_ops.bump import bump_files
from catalog_ops.core import drift
from catalog_ops.core.edits import Edit
from catalog_ops.core.sources import ProviderAddress, without_public_registry
from catalog_ops.core.versions import (
    Level,
    TagScheme,
    Version,
    is_unstable,
    parse_version,
    update_constraint,
    update_type,
)
from catalog_ops.errors import CatalogOpsError
from catalog_ops.lockfile import PackageSource, lock_constraints, lock_files_for, plan_lock
from catalog_ops.refs import Reference, is_candidate_path
from catalog_ops.sweep.config import SweepConfig
from catalog_ops.sweep.model import (
    Available,
    Dependency,
    DependencyResult,
    DepKind,
    GitRemote,
    Occurrence,
    PullPlan,
    Status,
)


def _offset(text: str, line: int, col: int) -> int:
    lines = text.split("\n")
    line = max(1, min(line, len(lines)))
    return sum(len(x) + 1 for x in lines[: line - 1]) + max(0, col - 1)


def _locate(text: str, value: str, line: int, col: int, *, quoted: bool) -> int | None:
    """Offset of the occurrence of ``value`` (as a whole token) nearest to ``line:col``."""
    anchor = _offset(text, line, col)
    needle = f'"{value}"' if quoted else value
    best: int | None = None
    start = text.find(needle)
    while start != -1:
        pos = start + 1 if quoted else start
        if not quoted:
            before = text[pos - 1] if pos > 0 else ""
            after = text[pos + len(value)] if pos + len(value) < len(text) else ""
            if (before and (before.isalnum() or before in ".-")) or (
                after and (after.isalnum() or after in ".-")
            ):
                start = text.find(needle, start + 1)
                continue
        if best is None or abs(pos - anchor) < abs(best - anchor):
            best = pos
        start = text.find(needle, start + 1)
    return best


def _current_version(occ: Occurrence, versions: Sequence[Version]) -> Version | None:
    """The version a place is at: ``core.drift.resolve_current`` (the pin; for a constraint the
    newest available version it admits, else its floor), the answer rollout and dashboard use."""
    if occ.exact:
        return parse_version(occ.current)
    return drift.resolve_current(occ.current, versions)


def plan(
    deps: Sequence[Dependency],
    available: Mapping[str, Available | str],
    files: Mapping[str, bytes],
    config: SweepConfig,
    locks: PackageSource | None = None,
) -> list[DependencyResult]:
    """Decide each dependency's target version and compute the byte-exact edits (pure but for
    ``locks``).

    A provider whose constraint changes in a directory that commits a ``.terraform.lock.hcl``
    moves in that lock file too, in the same result (so in the same commit), computed from the
    packages ``locks`` serves (``lockfile.plan_lock``); without ``locks`` the lock file is
    left and reported in the dependency's ``skipped``.

    For every dependency: the current version is the lowest among its places (for a constraint,
    the newest available version it admits); candidates are the upstream's versions newer than
    that, stable only unless a place pins a pre-release, minus ``config.ignore``; the target is
    the newest candidate. Each place then changes only if it does not already admit the target.
    """
    results = []
    cache: dict[str, str] = {}
    for dep in deps:
        avail = available.get(dep.id)
        current_texts = list(dict.fromkeys(o.current for o in dep.occurrences))
        if not dep.occurrences:
            results.append(
                DependencyResult(
                    dependency=dep,
                    status=Status.SKIPPED,
                    reason="; ".join(dep.skipped) or "nothing to update",
                )
            )
            continue
        if config.ignores_entirely(dep.id):
            results.append(
                DependencyResult(
                    dependency=dep,
                    status=Status.IGNORED,
                    current=current_texts,
                    reason="ignored by sweep.ignore",
                )
            )
            continue
        if avail is None or isinstance(avail, str):
            results.append(
                DependencyResult(
                    dependency=dep,
                    status=Status.UNKNOWN,
                    current=current_texts,
                    reason=avail or "not resolved",
                )
            )
            continue
        result = _plan_one(dep, avail, files, config, current_texts)
        if result.edits and dep.kind is DepKind.PROVIDER and result.target is not None:
            _plan_locks(result, files, locks, cache)
        results.append(result)
    return results


def _plan_locks(
    result: DependencyResult, files: Mapping[str, bytes], locks: PackageSource | None, cache: dict[str, str]
) -> None:
    """Add the lock-file edits of a provider result (see ``plan``)."""
    dep = result.dependency
    assert isinstance(dep.lookup, ProviderAddress) and result.target is not None
    new_by_dir: dict[str, list[str]] = {}
    for occ in dep.occurrences:
        if occ.span is None:
            continue
        edit = next((e for e in result.edits.get(occ.path, []) if (e.start, e.end) == occ.span), None)
        d = occ.path.rsplit("/", 1)[0] if "/" in occ.path else ""
        new_by_dir.setdefault(d, []).append(edit.new if edit is not None else occ.current)
    for d, lock in sorted(lock_files_for(list(result.edits), files).items()):
        if locks is None:
            dep.skipped.append(f"{lock}: not updated (set sweep.provider_mirror to keep lock files in step)")
            continue
        constraints = new_by_dir.get(d) or []
        combined = lock_constraints(constraints) if constraints else None
        text = files[lock].decode("utf-8")
        decided = plan_lock(lock, text, dep.lookup, result.target.core, combined, locks, cache)
        dep.skipped.extend(decided.notes)
        if decided.edit is not None:
            result.edits.setdefault(lock, []).append(decided.edit)


def _plan_one(
    dep: Dependency,
    avail: Available,
    files: Mapping[str, bytes],
    config: SweepConfig,
    current_texts: list[str],
) -> DependencyResult:
    all_versions = sorted(set(avail.versions))
    stable = [v for v in all_versions if not is_unstable(v)]
    latest = max(stable) if stable else None
    currents = [(o, _current_version(o, all_versions)) for o in dep.occurrences]
    known = [c for _, c in currents if c is not None]
    result = DependencyResult(
        dependency=dep,
        status=Status.CURRENT,
        current=current_texts,
        latest=latest.core if latest else None,
    )
    if not known:
        result.status = Status.SKIPPED
        result.reason = "no version could be read from " + ", ".join(current_texts)
        return result
    lowest = min(known)
    allow_pre = any(is_unstable(c) for c in known)
    # Git tags of a monorepo carry a path prefix or a family suffix (``v1.0.0-queue``): a git
    # dependency is one tag series (``collect`` splits a repository's series), so only follow it.
    schemes = {TagScheme.of_version(c) for c in known}
    pool = [
        v
        for v in all_versions
        if (allow_pre or not is_unstable(v))
        and v > lowest
        and (not isinstance(dep.lookup, GitRemote) or TagScheme.of_version(v) in schemes)
    ]
    wanted = [v for v in pool if not config.ignored(dep.id, v, update_type(lowest, v))]
    if not wanted:
        if pool:
            result.status = Status.IGNORED
            result.reason = f"newer version(s) ignored by sweep.ignore: {max(pool).core}"
        return result
    target = max(wanted)
    result.target = target
    result.notes_url = avail.notes.get(target.core) or avail.notes.get(str(target))
    module_occs = [o for o, _ in currents if o.where == "module"]
    for occ, cur in currents:
        if occ.where == "module":
            continue
        edit = _edit_for(occ, cur, target, files)
        if isinstance(edit, str):
            dep.skipped.append(edit)
            continue
        if edit is None:
            continue
        result.edits.setdefault(occ.path, []).append(edit)
        result.new.append(edit.new)
        if cur is not None:
            result.update = max(result.update, update_type(cur, target))
    if module_occs:
        _plan_modules(dep, module_occs, dict(currents), target, files, result)
    result.new = list(dict.fromkeys(result.new))
    for edits in result.edits.values():
        edits.sort()
    if result.edits:
        result.status = Status.UPDATE
        if result.update == Level.NONE:
            result.update = Level.PATCH
    return result


def _edit_for(
    occ: Occurrence, cur: Version | None, target: Version, files: Mapping[str, bytes]
) -> Edit | str | None:
    """One edit for a CLI/provider place, None when it already admits ``target``, or a
    ``path:line:col: reason`` string when it cannot be changed."""
    where = f"{occ.path}:{occ.line}:{occ.col}"
    try:
        text = files[occ.path].decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        return f"{where}: file not readable"
    if occ.exact:
        if cur is None or cur >= target:
            return None
        new = target.with_prefix(cur.prefix)
    else:
        if drift.assess(occ.current, versions=[], target=target).admits_target:
            return None  # already admits the target: left as written (core.drift)
        try:
            updated = update_constraint(occ.current, target)
        except CatalogOpsError as exc:
            return f"{where}: {exc}"
        if updated is None:
            return None
        new = updated
    if occ.span is not None and text[occ.span[0] : occ.span[1]] == occ.current:
        pos: int | None = occ.span[0]
    else:
        quoted = occ.where in ("required_version", "required_providers")
        pos = _locate(text, occ.current, occ.line, occ.col, quoted=quoted)
    if pos is None:
        return f"{where}: could not find {occ.current!r} in the file"
    return Edit(pos, pos + len(occ.current), occ.current, new)


def _plan_modules(
    dep: Dependency,
    occs: Sequence[Occurrence],
    currents: Mapping[Occurrence, Version | None],
    target: Version,
    files: Mapping[str, bytes],
    result: DependencyResult,
) -> None:
    """Module places go through ``bump.bump_files`` (same rules as ``catalog-ops bump``); its new
    bytes are turned back into minimal edits so they combine with other results' edits."""
    addresses = sorted({occ.address or "" for occ in occs})
    tree = {p: b for p, b in files.items() if is_candidate_path(p)}
    for address in addresses:
        try:
            bumped = bump_files(
                tree,
                address=address,
                to=target.core,
                allow_prerelease=target.is_prerelease,
                select=_both(
                    _not_admitting(target),
                    _same_series(target) if isinstance(dep.lookup, GitRemote) else None,
                ),
            )
        except CatalogOpsError as exc:
            dep.skipped.append(f"{address}: {exc}")
            continue
        for e in bumped.errors:
            dep.skipped.append(str(e))
        for outcome in bumped.outcomes:
            if outcome.status == "bumped" and outcome.new:
                result.new.append(outcome.new)
            elif outcome.status == "skipped":
                dep.skipped.append(f"{outcome.path}:{outcome.line}: {outcome.reason}")
        for path, new_bytes in bumped.changed.items():
            old = tree[path].decode("utf-8")
            new = new_bytes.decode("utf-8")
            result.edits.setdefault(path, []).extend(diff_edits(old, new))
    for occ in occs:
        cur = currents.get(occ)
        if cur is not None and occ.path in result.edits and cur < target:
            result.update = max(result.update, update_type(cur, target))


def _both(
    first: Callable[[Reference], bool], second: Callable[[Reference], bool] | None
) -> Callable[[Reference], bool]:
    """A ``select`` accepting what both accept (``second`` None: ``first`` alone)."""
    if second is None:
        return first
    return lambda ref: first(ref) and second(ref)


def _same_series(target: Version) -> Callable[[Reference], bool]:
    """``bump`` selector: only git refs in ``target``'s tag series (prefix scheme and family), so
    one repository's other series (``v1.0.0-queue`` beside ``v1.0.0-topic``) stay as written."""
    scheme = TagScheme.of_version(target)

    def select(ref: Reference) -> bool:
        current = parse_version(ref.source.ref) if ref.source and ref.source.ref else None
        return current is None or TagScheme.of_version(current) == scheme

    return select


def _not_admitting(target: Version) -> Callable[[Reference], bool]:
    """``bump_files``' ``select``: a module's registry constraint that already admits ``target``
    is left as written (``core.drift``, the rule rollout and the dashboard follow)."""

    def select(ref: Reference) -> bool:
        if ref.version and ref.source is not None and ref.source.ref is None:
            return not drift.assess(ref.version, versions=[], target=target).admits_target
        return True

    return select


def diff_edits(old: str, new: str) -> list[Edit]:
    """Minimal ``Edit`` spans turning ``old`` into ``new`` (character-level ``difflib``)."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        Edit(i1, i2, old[i1:i2], new[j1:j2])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


def slug(text: str) -> str:
    """Branch-safe slug of a dependency id: ``registry.terraform.io/hashicorp/aws`` -> ``hashicorp-aws``
    (a public registry host is dropped), other characters outside ``[a-z0-9.]`` become ``-``."""
    out = re.sub(r"[^a-z0-9.]+", "-", without_public_registry(text).lower()).strip("-.")
    return re.sub(r"\.{2,}", ".", out) or "dependency"


def _short_name(dep: Dependency) -> str:
    return without_public_registry(dep.id)


def group(results: Sequence[DependencyResult], config: SweepConfig) -> list[PullPlan]:
    """PR plans for the results with edits, per ``config.grouping``, in a stable order (pure).

    Branches: grouped ``<prefix>``; a major ``<prefix>-major-<slug>``; per-dependency
    ``<prefix>-<slug>``. Titles are Conventional Commits ``chore(deps): ...`` subjects.
    """
    updates = [r for r in results if r.status is Status.UPDATE]
    plans: list[PullPlan] = []
    prefix = config.branch_prefix
    grouped: list[DependencyResult] = []
    for r in updates:
        assert r.target is not None
        name = _short_name(r.dependency)
        is_major = r.update == Level.MAJOR
        if config.grouping == "per-dependency" or (config.grouping == "majors-separate" and is_major):
            branch = (
                f"{prefix}-major-{slug(r.dependency.id)}" if is_major else f"{prefix}-{slug(r.dependency.id)}"
            )
            suffix = f"v{r.target.major} (major)" if is_major else r.target.core
            plans.append(
                PullPlan(
                    branch=branch,
                    title=f"chore(deps): update {name} to {suffix}",
                    major=is_major,
                    results=[r],
                )
            )
        else:
            grouped.append(r)
    if grouped:
        if len(grouped) == 1:
            r = grouped[0]
            assert r.target is not None
            title = f"chore(deps): update {_short_name(r.dependency)} to {r.target.core}"
        else:
            title = f"chore(deps): update {len(grouped)} dependencies"
        plans.insert(
            0,
            PullPlan(
                branch=prefix,
                title=title,
                major=any(r.update == Level.MAJOR for r in grouped),
                results=grouped,
            ),
        )
    return plans


def stale_branches(results: Sequence[DependencyResult], config: SweepConfig, planned: set[str]) -> list[str]:
    """Sweep branches whose open PR would be obsolete now (pure): the branches the grouping could
    use for each dependency whose state is known, minus the branches planned this run. The grouped
    branch counts only when no dependency is unknown (it might still be needed)."""
    prefix = config.branch_prefix
    out: list[str] = []
    if not any(r.status is Status.UNKNOWN for r in results):
        out.append(prefix)
    for r in results:
        if r.status in (Status.UNKNOWN, Status.SKIPPED):
            continue
        name = slug(r.dependency.id)
        if config.grouping in ("majors-separate", "per-dependency"):
            out.append(f"{prefix}-major-{name}")
        if config.grouping == "per-dependency":
            out.append(f"{prefix}-{name}")
    return [b for b in dict.fromkeys(out) if b not in planned]
