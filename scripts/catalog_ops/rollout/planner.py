"""Rollout plans: which dependents get which module bumps for a catalog release (schema 1).

The pure core (target choice, update classification, urgency, per-dependent planning from file
contents, sharding) is separate from the I/O that gathers inputs from a forge
(``build_plan``). The plan is a JSON document (``Plan.to_json``; schema in ``docs/rollout.md``)
that ``catalog-ops rollout shard`` splits and ``catalog-ops rollout apply`` executes.

Rules (issue 5):

* Target of a reference at version ``V``: the newest release that is not a pre-release and not
  newer than the release being rolled out; a pre-release only when ``V`` is itself a pre-release
  of the same ``major.minor.patch`` line (semver.org §9, §11). A dependent that opts out of
  majors (``majors: false``) gets the newest release of its current major instead.
* By default a reference is bumped only when its module changed in a release between ``V``
  (exclusive) and the target (inclusive), according to the releases' metadata; a release without
  metadata counts as changing every module. ``bump_all`` bumps every reference of the catalog.
* The update type is ``versions.update_type(V, target)``; the urgency is the highest urgency of
  the releases spanned that changed the module (a security fix to another module does not make
  this bump urgent); an update is *breaking* when it crosses a major version or a spanned
  release marks the module breaking.
* Branch, SHA, missing and interpolated refs, and references the references module could not
  resolve, are skipped with the reason.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as _dt
import enum
import fnmatch
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from catalog_ops.catalog.config import DependentConfig, config_path_in, parse_config
from catalog_ops.core.metadata import ReleaseMetadata, parse_release_metadata
from catalog_ops.core.versions import UpdateType, Version, parse_version, update_type
from catalog_ops.errors import ConfigError, ForgeError, NotFound, ReleaseError, UsageError

PLAN_SCHEMA = 1
MAX_MATRIX = 256  # GitHub Actions: a matrix can generate at most 256 jobs per workflow run.
URGENCY_ORDER = ("normal", "security")
# Skip reasons that are errors (``rollout plan`` and ``dashboard`` exit 1 on them): the
# dependent could not be read or its ``.catalog-ops.yml`` is invalid (file:line:col).
PROBLEM_REASONS = ("forge error", "invalid config", "could not be planned", "base branch")


class Action(enum.StrEnum):
    """What apply does for a dependent."""

    OPEN = "open"  # open a PR
    UPDATE = "update"  # refresh the open PR on the rollout branch
    CLOSE = "close"  # close the open rollout PR: superseded (nothing left to bump)
    NOTHING = "nothing"  # up to date, or no reference to the catalog
    SKIP = "skip"  # cannot be planned (config error, empty repo, archived, ...)


# --------------------------------------------------------------------------- releases
@dataclasses.dataclass(frozen=True, kw_only=True)
class CatalogRelease:
    """One release of the catalog as a plan sees it.

    Attributes:
        tag: git tag, e.g. ``"v1.3.0"``.
        version: parsed ``tag``.
        prerelease: the forge marks it a pre-release (or the version has pre-release ids).
        url: release page.
        metadata: parsed release metadata, None when the body carries none.
    """

    tag: str
    version: Version
    prerelease: bool = False
    url: str = ""
    metadata: ReleaseMetadata | None = None

    @property
    def urgency(self) -> str:
        """``normal`` or ``security`` (``normal`` without metadata)."""
        return self.metadata.urgency if self.metadata else "normal"

    def changes_module(self, module: str) -> bool:
        """True when this release changed ``module`` (``""``: the root/any module). Unknown
        (no metadata) counts as changed."""
        if self.metadata is None:
            return True
        if not module:
            return any(m.changed and not m.tests_only for m in self.metadata.modules.values())
        m = self.metadata.modules.get(module)
        return bool(m and m.changed and not m.tests_only)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md)."""
        return {
            "tag": self.tag,
            "version": self.version.core,
            "prerelease": self.prerelease,
            "url": self.url,
            "metadata": self.metadata.to_json() if self.metadata else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CatalogRelease:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a wrong shape."""
        version = parse_version(str(data["tag"])) or parse_version(str(data["version"]))
        if version is None:
            raise ValueError(f"release {data['tag']!r} has no semantic version")
        meta = data.get("metadata")
        return cls(
            tag=str(data["tag"]),
            version=version,
            prerelease=bool(data.get("prerelease", False)),
            url=str(data.get("url", "")),
            metadata=ReleaseMetadata.from_json(meta) if meta else None,
        )


def releases_from_forge(items: Iterable[Any]) -> list[CatalogRelease]:
    """``CatalogRelease`` values (newest first) from forge ``Release`` objects; drafts and tags
    that are not semantic versions are left out."""
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
                prerelease=bool(rel.prerelease) or version.is_prerelease,
                url=rel.url,
                metadata=parse_release_metadata(rel.body),
            )
        )
    return sorted(out, key=lambda r: r.version, reverse=True)


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


def tag_scheme(prefix: str) -> str:
    """The tag scheme of a version prefix: ``""`` for repository-wide tags (``v1.2.3`` and
    ``1.2.3`` are one scheme: the ``v`` style of a reference is kept as written), else the
    per-module prefix itself (``"modules/vpc/v"``: ``modules/vpc/v1.2.3``)."""
    return "" if prefix in ("", "v", "V") else prefix


def same_scheme(a: Version, b: Version) -> bool:
    """True when two versions come from the same tag scheme (see ``tag_scheme``)."""
    return tag_scheme(a.prefix) == tag_scheme(b.prefix)


def choose_target(
    current: Version, releases: Sequence[CatalogRelease], *, ceiling: Version, allow_major: bool = True
) -> CatalogRelease | None:
    """The release a reference at ``current`` should move to, or None when there is none newer.

    Only releases whose tag has the reference's scheme are candidates (``tag_scheme``): a
    ``?ref=modules/a/v0.1.0`` moves to ``modules/a/v…`` tags only, a ``?ref=v0.1.0`` to
    repository-wide tags only, so the target is always an existing tag.

    Args:
        current: the version the reference pins (its ``prefix`` gives the scheme).
        releases: all known releases (any order).
        ceiling: the release being rolled out; newer releases are not considered.
        allow_major: False keeps the target within ``current.major``.
    """
    candidates = []
    for rel in releases:
        v = rel.version
        if v > ceiling or not same_scheme(v, current):
            continue
        if rel.prerelease:
            same_line = (v.major, v.minor, v.patch) == (current.major, current.minor, current.patch)
            if not (current.is_prerelease and same_line):
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
    same tag scheme as ``current`` (``tag_scheme``). Pre-releases of other lines are included
    only when they are the target itself."""
    out = [
        r
        for r in releases
        if current < r.version <= target
        and same_scheme(r.version, current)
        and (not r.prerelease or r.version == target or current.is_prerelease)
    ]
    return sorted(out, key=lambda r: r.version)


def highest_urgency(urgencies: Iterable[str]) -> str:
    """``"security"`` when any is security, else ``"normal"``."""
    best = 0
    for u in urgencies:
        if u in URGENCY_ORDER:
            best = max(best, URGENCY_ORDER.index(u))
    return URGENCY_ORDER[best]


# --------------------------------------------------------------------------- plan values
@dataclasses.dataclass(frozen=True, kw_only=True)
class RefPlan:
    """One reference to the catalog in a dependent and what happens to it.

    Attributes:
        path, line, col: where the reference is (1-based), ``written_in`` where its bytes live.
        module: catalog module dir (``"modules/network"``; ``""`` for the repository root).
        source: the source string as written/resolved.
        current: the pinned ref or version constraint (None when there is none).
        target: the target version written like ``current`` (``"v1.3.0"``), None if no update.
        update: ``none`` | ``patch`` | ``minor`` | ``major``.
        urgency: ``normal`` | ``security``.
        breaking: crosses a major or a spanned release marks the module breaking.
        action: ``bump`` | ``current`` (already at target / nothing changed) | ``skip``.
        reason: why (for ``current`` and ``skip``).
        address: the address given to ``bump.bump_files`` (``bump`` only).
    """

    path: str
    line: int
    col: int
    written_in: str
    module: str
    source: str
    current: str | None
    target: str | None = None
    update: str = "none"
    urgency: str = "normal"
    breaking: bool = False
    action: str = "skip"
    reason: str | None = None
    address: str | None = None
    ref_line: int = 0  # line of the version token in ``written_in`` (0: unknown)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md)."""
        return dataclasses.asdict(self)

    @property
    def token_at(self) -> tuple[str, int]:
        """``(file, line)`` of the version token, as ``bump.BumpOutcome`` reports it."""
        return (self.written_in, self.ref_line or self.line)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RefPlan:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a wrong shape."""
        known: dict[str, Any] = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data}
        return cls(**known)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bump:
    """One ``bump.bump_files`` call: every reference to ``address`` goes to ``to``."""

    address: str
    module: str
    to: str  # version core, e.g. "1.3.0"
    tag: str  # release tag, e.g. "v1.3.0"
    allow_prerelease: bool = False
    # Tag scheme of the references this bump moves (``tag_scheme``: "" repository-wide,
    # "modules/a/v" per module); None (plans written before the field existed): any scheme.
    scheme: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md)."""
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DependentPlan:
    """Everything apply needs for one dependent repository.

    Attributes:
        repo: ``owner/name``. default_branch / base: its default branch and the PR base.
        action / reason: see ``Action``.
        refs: every reference to the catalog found (bumped or not).
        bumps: ``bump_files`` calls to make (grouped per module and target).
        files: paths whose bytes change.
        inputs: paths apply reads to redo the bumps (``files`` plus include sources).
        update / urgency / breaking: highest over the bumped references.
        automerge: the dependent's config allows merging without review.
        config: the dependent's effective ``.catalog-ops.yml``.
        existing_pr: number of the open rollout PR found while planning.
        errors: parse errors of its files (``path:line:col: message``); not fatal.
        files_scanned: candidate files read.
        codeowners: path of its CODEOWNERS file (GitHub's lookup order), None when absent.
    """

    repo: str
    default_branch: str = ""
    base: str = ""
    action: Action = Action.NOTHING
    reason: str | None = None
    refs: tuple[RefPlan, ...] = ()
    bumps: tuple[Bump, ...] = ()
    files: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    update: str = "none"
    urgency: str = "normal"
    breaking: bool = False
    automerge: bool = False
    config: DependentConfig = dataclasses.field(default_factory=DependentConfig)
    existing_pr: int | None = None
    errors: tuple[str, ...] = ()
    files_scanned: int = 0
    codeowners: str | None = None

    @property
    def weight(self) -> int:
        """Relative apply cost used for sharding (work items only)."""
        if self.action in (Action.OPEN, Action.UPDATE):
            return 4 + len(self.files)
        if self.action is Action.CLOSE:
            return 2
        return 0

    def digest(self) -> str:
        """Stable hash of what the PR should contain (bumps and the references they touch);
        stored in the PR marker so a rerun recognises an up-to-date PR without reading files."""
        payload = {
            "bumps": sorted((b.address, b.to) for b in self.bumps),
            "refs": sorted(
                (r.written_in, r.line, r.current or "", r.target or "")
                for r in self.refs
                if r.action == "bump"
            ),
            "base": self.base,
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md)."""
        return {
            "repo": self.repo,
            "default_branch": self.default_branch,
            "base": self.base,
            "action": self.action.value,
            "reason": self.reason,
            "update": self.update,
            "urgency": self.urgency,
            "breaking": self.breaking,
            "automerge": self.automerge,
            "existing_pr": self.existing_pr,
            "files": list(self.files),
            "inputs": list(self.inputs),
            "bumps": [b.to_json() for b in self.bumps],
            "refs": [r.to_json() for r in self.refs],
            "config": self.config.to_json(),
            "errors": list(self.errors),
            "files_scanned": self.files_scanned,
            "codeowners": self.codeowners,
            "digest": self.digest() if self.bumps else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DependentPlan:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a wrong shape."""
        return cls(
            repo=str(data["repo"]),
            default_branch=str(data.get("default_branch", "")),
            base=str(data.get("base", "")),
            action=Action(data["action"]),
            reason=data.get("reason"),
            refs=tuple(RefPlan.from_json(r) for r in data.get("refs", ())),
            bumps=tuple(
                Bump(**{k: v for k, v in b.items() if k in {f.name for f in dataclasses.fields(Bump)}})
                for b in data.get("bumps", ())
            ),
            files=tuple(data.get("files", ())),
            inputs=tuple(data.get("inputs", ())),
            update=str(data.get("update", "none")),
            urgency=str(data.get("urgency", "normal")),
            breaking=bool(data.get("breaking", False)),
            automerge=bool(data.get("automerge", False)),
            config=DependentConfig.from_json(data.get("config") or {}),
            existing_pr=data.get("existing_pr"),
            errors=tuple(data.get("errors", ())),
            files_scanned=int(data.get("files_scanned", 0)),
            codeowners=data.get("codeowners"),
        )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Plan:
    """A rollout plan (JSON schema ``PLAN_SCHEMA``; see docs/rollout.md).

    Attributes:
        catalog: catalog repository ``owner/name``.
        catalog_address: module address dependents use for it (``github.com/acme/modules``).
        release: the release being rolled out.
        releases: every known release of the catalog (newest first), with metadata.
        bump_all: bump every reference, not only those whose module changed.
        registry_modules: registry address -> catalog module dir aliases.
        branch: the rollout branch in every dependent.
        dependents: one entry per repository considered.
        generated_at: ISO 8601 UTC.
    """

    catalog: str
    catalog_address: str
    release: CatalogRelease
    releases: tuple[CatalogRelease, ...]
    dependents: tuple[DependentPlan, ...]
    bump_all: bool = False
    registry_modules: Mapping[str, str] = dataclasses.field(default_factory=dict)
    branch: str = ""
    generated_at: str = ""

    def counts(self) -> dict[str, int]:
        """Dependents per action."""
        out: dict[str, int] = {}
        for d in self.dependents:
            out[d.action.value] = out.get(d.action.value, 0) + 1
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan schema 1, see docs/rollout.md)."""
        return {
            "schema": PLAN_SCHEMA,
            "generated_at": self.generated_at,
            "catalog": self.catalog,
            "catalog_address": self.catalog_address,
            "branch": self.branch,
            "release": self.release.tag,
            "bump_all": self.bump_all,
            "registry_modules": dict(self.registry_modules),
            "counts": self.counts(),
            "releases": [r.to_json() for r in self.releases],
            "dependents": [d.to_json() for d in self.dependents],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        """Load a plan document. Raises UsageError on an unknown schema or a wrong shape."""
        if not isinstance(data, Mapping) or data.get("schema") != PLAN_SCHEMA:
            found = data.get("schema") if isinstance(data, Mapping) else type(data).__name__
            raise UsageError(
                f"unsupported plan schema {found!r} (this catalog-ops reads schema {PLAN_SCHEMA})"
            )
        try:
            releases = tuple(CatalogRelease.from_json(r) for r in data["releases"])
            release = next(r for r in releases if r.tag == data["release"])
            return cls(
                catalog=str(data["catalog"]),
                catalog_address=str(data["catalog_address"]),
                release=release,
                releases=releases,
                dependents=tuple(DependentPlan.from_json(d) for d in data["dependents"]),
                bump_all=bool(data.get("bump_all", False)),
                registry_modules=dict(data.get("registry_modules") or {}),
                branch=str(data.get("branch") or branch_name(str(data["catalog"]))),
                generated_at=str(data.get("generated_at", "")),
            )
        except (KeyError, StopIteration, TypeError, ValueError) as exc:
            raise UsageError(f"malformed plan: {exc!r}") from None


def branch_name(catalog: str) -> str:
    """The deterministic rollout branch for a catalog: ``catalog-ops/<owner>-<name>``."""
    return "catalog-ops/" + catalog.replace("/", "-").lower()


# --------------------------------------------------------------------------- pure planning
@dataclasses.dataclass(frozen=True, kw_only=True)
class PlanOptions:
    """Inputs shared by every dependent of one plan."""

    catalog: str
    catalog_address: str
    release: CatalogRelease
    releases: tuple[CatalogRelease, ...]
    bump_all: bool = False
    registry_modules: Mapping[str, str] = dataclasses.field(default_factory=dict)
    # (tag, module dir) -> does the directory exist in the catalog at that tag? None: unknown.
    module_exists: Callable[[str, str], bool | None] | None = dataclasses.field(default=None, compare=False)


def _identity(address: str) -> str:
    from catalog_ops.core.sources import normalize_identity

    return normalize_identity(address)[0]


def _registry_current(constraint: str) -> Version | None:
    """The version a registry constraint is written at: its first part (the pin, or the floor
    of ``~>``/``>=`` ranges). Raises UsageError for an invalid constraint."""
    from catalog_ops.core.versions import parse_constraint

    cons = parse_constraint(constraint)
    return cons.parts[0].version if cons.parts else None


def plan_reference(ref: Any, opts: PlanOptions, config: DependentConfig) -> RefPlan | None:
    """Plan one ``refs.Reference``; None when it does not refer to the catalog.

    Raises nothing for ordinary input; problems become ``skip`` with a reason.
    """
    from catalog_ops.core.sources import RefKind, SourceKind, source_matches

    source = getattr(ref, "source", None)
    if source is None:
        return None
    module: str | None = None
    registry_address: str | None = None
    if source.kind is SourceKind.REGISTRY:
        for address, mod in opts.registry_modules.items():
            if source.identity == _identity(address):
                module, registry_address = mod.strip("/"), address
                break
        if module is None:
            return None
    else:
        try:
            if not source_matches(source, opts.catalog_address):
                return None
        except UsageError:
            return None
        module = (source.subdir or "").strip("/")
    base = RefPlan(
        path=ref.path,
        line=ref.line,
        col=ref.col,
        written_in=getattr(ref, "written_in", None) or ref.path,
        module=module,
        source=source.raw,
        current=ref.version if registry_address else source.ref,
    )
    if getattr(ref, "status", "ok") != "ok":
        return dataclasses.replace(base, reason=ref.reason or f"reference status {ref.status}")
    if config.ignores_module(module):
        return dataclasses.replace(base, reason=f"module {module} is ignored by {config.source or 'config'}")
    if registry_address:
        if not ref.version:
            return dataclasses.replace(base, reason="registry module without a version constraint")
        try:
            current = _registry_current(ref.version)
        except UsageError as exc:
            return dataclasses.replace(base, reason=str(exc))
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
        current = parse_version(source.ref or "")
    if current is None:
        return dataclasses.replace(base, reason=f"cannot read a version from {base.current!r}")
    target = choose_target(current, opts.releases, ceiling=opts.release.version, allow_major=config.majors)
    if target is None and not config.majors:
        newer_major = choose_target(current, opts.releases, ceiling=opts.release.version)
        if newer_major is not None:
            return dataclasses.replace(
                base,
                reason=f"major update to {newer_major.tag} not proposed: {config.source or 'config'} sets majors: false",
            )
    if target is None:
        return dataclasses.replace(base, action="current", reason="already at the newest release it may use")
    if module and opts.module_exists is not None and opts.module_exists(target.tag, module) is False:
        # The module moved or was removed: fall back to the newest release that still has it.
        older = [
            r
            for r in opts.releases
            if current < r.version < target.version
            and same_scheme(r.version, current)
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
    spanned = spanned_releases(current, target.version, opts.releases)
    changed = opts.bump_all or any(r.changes_module(module) for r in spanned)
    written = target.version.with_prefix(current.prefix) if not registry_address else target.version.core
    kind = update_type(current, target.version)
    breaking = kind is UpdateType.MAJOR or any(
        r.metadata is not None and (m := r.metadata.modules.get(module)) is not None and m.breaking
        for r in spanned
    )
    plan = dataclasses.replace(
        base,
        target=written,
        update=kind.name.lower(),
        urgency=highest_urgency(r.urgency for r in spanned if r.changes_module(module)),
        breaking=breaking,
    )
    if not changed:
        return dataclasses.replace(
            plan,
            action="current",
            reason=f"{module or 'the catalog root'} did not change between {current} and {target.tag}",
        )
    address = registry_address or (f"{opts.catalog_address}//{module}" if module else opts.catalog_address)
    return dataclasses.replace(plan, action="bump", address=address)


def plan_dependent(
    repo: str,
    files: Mapping[str, bytes],
    opts: PlanOptions,
    *,
    default_branch: str,
    config: DependentConfig,
    scan: Callable[[Mapping[str, bytes]], Any] | None = None,
    bump: Callable[..., Any] | None = None,
) -> DependentPlan:
    """Plan one dependent from its candidate files (path -> bytes) at the base branch.

    ``scan``/``bump`` default to ``refs.scan_files`` / ``bump.bump_files`` (injectable for
    tests). The bumps are applied in memory to find the files that change; references that
    ``bump_files`` could not edit become ``skip``.
    """
    if scan is None:
        from catalog_ops.bump import needle_for
        from catalog_ops.refs.scan import scan_files

        needle = None if opts.registry_modules else needle_for(opts.catalog_address)

        def scan(f: Mapping[str, bytes]) -> Any:
            return scan_files(f, needle=needle)

    if bump is None:
        from catalog_ops.bump import bump_files

        bump = bump_files
    base = config.base or default_branch
    result = scan(files)
    errors = tuple(str(e) for e in getattr(result, "errors", ()))
    refs: list[RefPlan] = []
    for ref in result.references:
        planned = plan_reference(ref, opts, config)
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
    to_bump = [r for r in refs if r.action == "bump"]
    if not to_bump:
        return DependentPlan(action=Action.NOTHING, reason=_nothing_reason(refs), refs=tuple(refs), **common)
    # One bump per address and tag scheme: the newest target among its references.
    by_address: dict[tuple[str, str], RefPlan] = {}
    for r in to_bump:
        assert r.address is not None and r.target is not None
        key = (r.address, _ref_scheme(r))
        prev = by_address.get(key)
        if prev is None or _ver(r.target) > _ver(prev.target):
            by_address[key] = r
    bumps: list[Bump] = []
    for (address, scheme), r in sorted(by_address.items()):
        v = _ver(r.target)
        tag = next(
            (
                rel.tag
                for rel in opts.releases
                if rel.version == v and tag_scheme(rel.version.prefix) == scheme
            ),
            r.target or "",
        )
        bumps.append(
            Bump(
                address=address,
                module=r.module,
                to=v.core,
                tag=tag,
                allow_prerelease=v.is_prerelease,
                scheme=scheme,
            )
        )
    changed, outcomes, bump_errors = bump_planned(files, bumps, bump=bump)
    errors += bump_errors
    bumped_lines = {(o.path, o.line) for o in outcomes if o.status == "bumped"}
    already = {(o.path, o.line): o.reason for o in outcomes if o.status == "already"}
    skipped = {(o.path, o.line): o.reason for o in outcomes if o.status == "skipped"}
    final: list[RefPlan] = []
    for r in refs:
        hit = r.token_at in bumped_lines
        if r.action == "bump" and not hit and r.token_at in already:
            # e.g. a registry range that already admits the target: left as written
            r = dataclasses.replace(
                r, action="current", reason=already[r.token_at] or "already admits the target"
            )
        elif r.action == "bump" and not hit:
            why = skipped.get(r.token_at)
            if why or not changed:
                r = dataclasses.replace(
                    r, action="skip", reason=why or "the bump tool found nothing to change"
                )
        elif r.action == "current" and hit and r.target is not None:
            # Same module as a reference that must move: every reference of it moves together.
            r = dataclasses.replace(
                r,
                action="bump",
                address=next((b.address for b in bumps if b.module == r.module), None),
                reason="moved with the other references of the module",
            )
        final.append(r)
    live = [r for r in final if r.action == "bump"]
    if not changed or not live:
        return DependentPlan(
            action=Action.NOTHING, reason=_nothing_reason(final), refs=tuple(final), **common
        )
    top = max((UpdateType[r.update.upper()] for r in live), default=UpdateType.NONE)
    urgency = highest_urgency(r.urgency for r in live)
    breaking = any(r.breaking for r in live)
    return DependentPlan(
        action=Action.OPEN,
        refs=tuple(final),
        bumps=tuple(bumps),
        files=tuple(sorted(changed)),
        inputs=_inputs(final, files),
        update=top.name.lower(),
        urgency=urgency,
        breaking=breaking,
        automerge=config.allows_automerge(urgency=urgency, update_type=top.name.lower(), breaking=breaking),
        **common,
    )


def _ref_scheme(r: RefPlan) -> str:
    """Tag scheme of a planned reference (registry constraints: repository-wide)."""
    v = parse_version(r.current or "") if r.current else None
    return tag_scheme(v.prefix) if v is not None else ""


_MASK = "catalogopsmask{}x"


def bump_planned(
    files: Mapping[str, bytes], bumps: Sequence[Bump], *, bump: Callable[..., Any] | None = None
) -> tuple[dict[str, bytes], list[Any], tuple[str, ...]]:
    """Apply ``bumps`` to ``files`` in memory with ``bump.bump_files``, never touching a git ref
    of another tag scheme than the bump's (``Bump.scheme``) and never moving a ref backwards
    (a ref newer than the bump's target stays as written).

    ``bump_files`` moves every reference of an address; the references it must not touch are
    masked first (their ref token is replaced by a unique branch-like name, which it skips) and
    restored afterwards, byte for byte.

    Returns:
        ``(changed, outcomes, errors)``: ``{path: new bytes}`` of files whose bytes change,
        the ``BumpOutcome`` values of the references bumped or left alone, parse errors.
    """
    from catalog_ops.core.sources import RefKind, source_matches
    from catalog_ops.refs.scan import decode, scan_files

    if bump is None:
        from catalog_ops.bump import bump_files

        bump = bump_files
    work = dict(files)
    changed: dict[str, bytes] = {}
    outcomes: list[Any] = []
    errors: tuple[str, ...] = ()
    for b in bumps:
        target = _ver(b.to)
        masks: dict[str, list[tuple[int, int, str]]] = {}
        try:
            scanned = scan_files(work).references
        except Exception:  # the bump reports parse errors itself
            scanned = []
        for ref in scanned:
            src = getattr(ref, "source", None)
            span = getattr(ref, "ref_span", None)
            if src is None or span is None or src.ref_kind is not RefKind.SEMVER_TAG:
                continue
            try:
                if not source_matches(src, b.address):
                    continue
            except UsageError:
                continue
            v = parse_version(src.ref or "")
            if v is None:
                continue
            wrong_scheme = b.scheme is not None and tag_scheme(v.prefix) != b.scheme
            if wrong_scheme or v > target:
                masks.setdefault(ref.written_in, []).append((span[0], span[1], src.ref or ""))
        masked = dict(work)
        originals: dict[str, str] = {}
        for path, spans in masks.items():
            try:
                text = decode(path, work[path])
            except Exception:
                continue
            for start, end, old in sorted(set(spans), reverse=True):
                if text[start:end] != old:
                    continue
                name = _MASK.format(len(originals))
                originals[name] = old
                text = text[:start] + name + text[end:]
            masked[path] = text.encode("utf-8")
        res = bump(masked, address=b.address, to=b.to, allow_prerelease=b.allow_prerelease)
        for path, data in res.changed.items():
            text = data.decode("utf-8")
            for name, old in originals.items():
                text = text.replace(name, old)
            new = text.encode("utf-8")
            if new != work.get(path):
                work[path] = new
                changed[path] = new
        outcomes.extend(
            o for o in res.outcomes if not str(getattr(o, "old", "")).startswith("catalogopsmask")
        )
        errors += tuple(str(e) for e in getattr(res, "errors", ()))
    changed = {p: c for p, c in changed.items() if files.get(p) != c}
    return changed, outcomes, errors


def stale_reason(files: Mapping[str, bytes], dep: DependentPlan) -> str | None:
    """Why the plan's bumps must not be applied to ``files`` (the dependent's base branch as it
    is now), or None when they still fit.

    A reference of a bumped module that is now *newer* than the bump's target would move
    backwards: ``"already at X, newer than the plan's target T"``. One now at a version the plan
    did not start from (and not the target) would get an update the plan never classified
    (e.g. across a major): ``"path:line is at X, the plan expected F; re-plan"``.
    """
    from catalog_ops.core.sources import RefKind, SourceKind, source_matches
    from catalog_ops.refs.scan import scan_files

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
        target = _ver(b.to)
        expected = [
            v
            for r in dep.refs
            if r.action == "bump" and r.address == b.address and (v := version_of(r.current)) is not None
        ]
        for ref in scanned:
            src = getattr(ref, "source", None)
            if src is None:
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
                if v is not None and b.scheme is not None and tag_scheme(v.prefix) != b.scheme:
                    continue
            else:
                continue
            if v is None or v == target:
                continue
            where = (getattr(ref, "written_in", None) or ref.path, _token_line(ref, files))
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


def stack_values_version_edit(text: str, line: int, old: str, new: str) -> Any | None:
    """The edit of ``values = { version = "<old>" }`` in the ``unit``/``stack`` block of a
    ``terragrunt.stack.hcl`` whose ``source`` is on ``line`` (1-based), or None.

    Gruntwork's catalog pattern passes the module version to the unit as ``values.version`` and
    the unit fetches its module with ``?ref=${values.version}``; the stack pins the unit with
    ``?ref=<old>`` too. Bumping only the ``?ref`` would mix unit and module versions, so the
    literal ``version`` value is bumped with it when, and only when, it is exactly ``old``.
    Returns an ``edits.Edit`` over the string contents (byte-exact; nothing else changes).
    """
    from catalog_ops.core.edits import Edit
    from catalog_ops.refs.scan import lex

    try:
        toks = [t for t in lex(text) if t.kind != "nl"]
    except Exception:
        return None
    line_start = 0
    for _ in range(line - 1):
        line_start = text.index("\n", line_start) + 1
    line_end = text.find("\n", line_start)
    line_end = len(text) if line_end < 0 else line_end
    # Find the top-level unit/stack block containing the source line.
    depth = 0
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.kind == "punct" and t.text == "{":
            depth += 1
        elif t.kind == "punct" and t.text == "}":
            depth -= 1
        elif depth == 0 and t.kind == "ident" and t.text in ("unit", "stack"):
            j = i + 1
            while j < len(toks) and not (toks[j].kind == "punct" and toks[j].text == "{"):
                j += 1
            k, d = j, 0
            while k < len(toks):
                if toks[k].kind == "punct" and toks[k].text == "{":
                    d += 1
                elif toks[k].kind == "punct" and toks[k].text == "}":
                    d -= 1
                    if d == 0:
                        break
                k += 1
            if k < len(toks) and toks[j].start <= line_start and line_end <= toks[k].end:
                return _values_version(text, toks[j + 1 : k], old, new, Edit)
            i = k
        i += 1
    return None


def _values_version(text: str, body: list[Any], old: str, new: str, edit_cls: Any) -> Any | None:
    depth = 0
    for n, t in enumerate(body):
        if t.kind == "punct" and t.text in "{[(":
            depth += 1
        elif t.kind == "punct" and t.text in "}])":
            depth -= 1
        elif depth == 0 and t.kind == "ident" and t.text == "values" and n + 2 < len(body):
            if not (body[n + 1].text == "=" and body[n + 2].text == "{"):
                continue
            inner = 0
            for m in range(n + 2, len(body)):
                u = body[m]
                if u.kind == "punct" and u.text in "{[(":
                    inner += 1
                elif u.kind == "punct" and u.text in "}])":
                    inner -= 1
                    if inner == 0:
                        return None
                elif inner == 1 and u.kind == "ident" and u.text == "version" and m + 2 < len(body):
                    value = body[m + 2]
                    if body[m + 1].text not in ("=", ":") or value.kind != "string":
                        return None
                    parts = value.parts or []
                    if len(parts) != 1 or parts[0][0] != "lit":
                        return None
                    _kind, a, b = parts[0]
                    return edit_cls(a, b, old, new) if text[a:b] == old else None
    return None


def apply_stack_values(files: Mapping[str, bytes], refs: Sequence[RefPlan]) -> dict[str, bytes]:
    """Files whose ``values.version`` follows their bumped unit/stack ``?ref`` (see
    ``stack_values_version_edit``); ``files`` must hold the already bumped bytes.

    Not needed after ``bump.bump_files`` (and so ``bump_planned``) with ``stack_values=True``,
    the default, which already moves ``values.version`` with the ref; this then returns ``{}``.
    """
    from catalog_ops.core.edits import apply_edits

    out: dict[str, bytes] = {}
    by_file: dict[str, list[RefPlan]] = {}
    for r in refs:
        if (
            r.action == "bump"
            and r.path.endswith(".stack.hcl")
            and r.written_in == r.path
            and r.current
            and r.target
        ):
            by_file.setdefault(r.path, []).append(r)
    for path, items in sorted(by_file.items()):
        data = files.get(path)
        if data is None:
            continue
        text = data.decode("utf-8")
        edits = [
            e
            for r in items
            if (e := stack_values_version_edit(text, r.line, r.current or "", r.target or ""))
        ]
        if edits:
            new = apply_edits(text, edits).encode("utf-8")
            if new != data:
                out[path] = new
    return out


def _nothing_reason(refs: Sequence[RefPlan]) -> str:
    """``"up to date"``, plus how many references were skipped and why."""
    skipped = [r for r in refs if r.action == "skip"]
    if not skipped:
        return "up to date"
    why = "; ".join(f"{r.written_in}:{r.ref_line or r.line} {r.reason}" for r in skipped[:3])
    more = f" (+{len(skipped) - 3} more)" if len(skipped) > 3 else ""
    return f"nothing to bump; {len(skipped)} reference(s) skipped: {why}{more}"


def _inputs(refs: Sequence[RefPlan], files: Mapping[str, bytes]) -> tuple[str, ...]:
    """Files apply must read to redo the bumps: those holding references and version tokens,
    plus the Terragrunt configs other units may include (``*.hcl`` other than units)."""
    import posixpath

    wanted = {r.path for r in refs} | {r.written_in for r in refs}
    wanted |= {p for p in files if p.endswith(".hcl") and posixpath.basename(p) != "terragrunt.hcl"}
    return tuple(sorted(p for p in wanted if p in files))


def _token_line(ref: Any, files: Mapping[str, bytes]) -> int:
    """Line of the reference's version token in the file that holds it (as bump reports it)."""
    from catalog_ops.core.edits import line_col

    source = getattr(ref, "source", None)
    span, where = getattr(ref, "ref_span", None), getattr(ref, "written_in", None) or ref.path
    if span is None or (source is not None and source.ref is None):
        span, where = getattr(ref, "version_span", None), ref.path
    data = files.get(where)
    if span is None or data is None:
        return int(ref.line)
    return line_col(data.decode("utf-8", errors="replace"), span[0])[0]


def _ver(text: str | None) -> Version:
    v = parse_version(text or "")
    if v is None:
        raise ValueError(f"not a version: {text!r}")
    return v


# --------------------------------------------------------------------------- sharding
def shard_assignments(plan: Plan, shards: int) -> list[list[str]]:
    """Split the plan's work (open/update/close dependents) into at most ``min(shards, 256,
    work items)`` groups with balanced total weight (greedy longest-processing-time first;
    ties broken by repo name, so the result is deterministic). Always returns >= 1 group.

    Raises UsageError when ``shards < 1``.
    """
    if shards < 1:
        raise UsageError("--shards must be at least 1")
    work = sorted((d for d in plan.dependents if d.weight), key=lambda d: (-d.weight, d.repo))
    n = max(1, min(shards, MAX_MATRIX, len(work)))
    groups: list[list[str]] = [[] for _ in range(n)]
    loads = [0] * n
    for d in work:
        i = min(range(n), key=lambda k: (loads[k], k))
        groups[i].append(d.repo)
        loads[i] += d.weight
    return groups


def matrix(plan: Plan, shards: int) -> dict[str, Any]:
    """GitHub Actions matrix ``{"include": [{"shard": "K/N", "repos": n, "weight": w}, ...]}``."""
    groups = shard_assignments(plan, shards)
    weight = {d.repo: d.weight for d in plan.dependents}
    n = len(groups)
    return {
        "include": [
            {"shard": f"{k + 1}/{n}", "repos": len(g), "weight": sum(weight[r] for r in g)}
            for k, g in enumerate(groups)
        ]
    }


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with ``1 <= K <= N``. Raises UsageError."""
    try:
        k_text, n_text = text.split("/", 1)
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise UsageError(f"--shard must look like K/N, not {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text}: need 1 <= K <= N")
    return k, n


def dependents_of_shard(plan: Plan, shard: tuple[int, int] | None) -> list[DependentPlan]:
    """The dependents a shard applies (all when ``shard`` is None). Non-work dependents belong
    to shard 1 so they are reported exactly once."""
    if shard is None:
        return list(plan.dependents)
    k, n = shard
    groups = shard_assignments(plan, n)
    if len(groups) != n:
        raise UsageError(f"this plan splits into {len(groups)} shard(s), not {n}; rerun 'rollout shard'")
    mine = set(groups[k - 1])
    return [d for d in plan.dependents if d.repo in mine or (k == 1 and not d.weight)]


# --------------------------------------------------------------------------- I/O: build from a forge
ProgressFn = Callable[[str], None]


@dataclasses.dataclass
class _Cache:
    """Per-run cache of file reads, keyed by (repo, ref, path)."""

    files: dict[tuple[str, str, str], bytes | None] = dataclasses.field(default_factory=dict)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


def read_files(
    forge: Any, repo: str, ref: str, paths: Iterable[str], cache: _Cache | None = None
) -> dict[str, bytes]:
    """``{path: bytes}`` of ``paths`` at ``ref`` (missing files left out), one read per file,
    memoised in ``cache``."""
    out: dict[str, bytes] = {}
    for path in paths:
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
    return out


def scan_dependent(
    forge: Any, repo: Any, opts: PlanOptions, branch: str, cache: _Cache | None = None
) -> DependentPlan:
    """Plan one dependent by reading it through the forge: one tree listing, the config file if
    present, then only candidate files (``refs.is_candidate_path`` and the config's ``paths``).
    Then look for an open rollout PR when there is something to do or to close.

    Never raises for a per-repo problem: returns a ``skip`` plan with the reason (forge errors,
    config errors).
    """
    from catalog_ops.core.codeowners import CODEOWNERS_PATHS
    from catalog_ops.refs.scan import is_candidate_path

    name = repo.full_name
    default = repo.default_branch
    try:
        try:
            tree = forge.list_tree(name, default)
        except NotFound:
            return DependentPlan(
                repo=name,
                default_branch=default,
                action=Action.SKIP,
                reason="empty repository (no default branch)",
            )
        config = DependentConfig()
        cfg_path = config_path_in(tree)
        if cfg_path:
            raw = read_files(forge, name, default, [cfg_path], cache).get(cfg_path, b"")
            try:
                config = parse_config(raw, f"{name}:{cfg_path}")
            except ConfigError as exc:
                return DependentPlan(
                    repo=name, default_branch=default, action=Action.SKIP, reason=f"invalid config: {exc}"
                )
        base = config.base or default
        if base != default:
            try:
                tree = forge.list_tree(name, base)
            except NotFound:
                return DependentPlan(
                    repo=name,
                    default_branch=default,
                    action=Action.SKIP,
                    reason=f"base branch {base!r} from {cfg_path} does not exist",
                )
        candidates = sorted(p for p in tree if is_candidate_path(p) and config.scans_path(p))
        files = read_files(forge, name, base, candidates, cache)
        planned = plan_dependent(name, files, opts, default_branch=default, config=config)
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
        return DependentPlan(
            repo=name, default_branch=default, action=Action.SKIP, reason=f"forge error: {exc}"
        )
    except Exception as exc:  # one repository never aborts the plan
        return DependentPlan(
            repo=name,
            default_branch=default,
            action=Action.SKIP,
            reason=f"could not be planned: {type(exc).__name__}: {exc}",
        )


def load_dependents_file(text: str, path: str = "dependents") -> list[str]:
    """Repository names from a ``--dependents`` file: one ``owner/name`` per line (``#``
    comments, blank lines ignored), or a JSON list of names. Raises UsageError naming the line."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
        names = [str(x) for x in data]
    else:
        names = []
        for lineno, line in enumerate(text.splitlines(), 1):
            item = line.split("#", 1)[0].strip()
            if not item:
                continue
            if item.count("/") != 1:
                raise UsageError(f"{path}:{lineno}:1: expected owner/name, got {item!r}")
            names.append(item)
    return list(dict.fromkeys(names))


def build_plan(
    forge: Any,
    *,
    catalog: str,
    release: str | None = None,
    org: str | None = None,
    topics: Sequence[str] = (),
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    dependents: Sequence[str] | None = None,
    catalog_address: str | None = None,
    bump_all: bool = False,
    registry_modules: Mapping[str, str] | None = None,
    concurrency: int = 8,
    progress: ProgressFn | None = None,
) -> Plan:
    """Gather a plan through ``forge`` (see module docstring for the rules).

    Args:
        catalog: catalog repo ``owner/name``; release: tag (default latest).
        org / topics / include / exclude: list the org's repos with these filters; or
        dependents: explicit ``owner/name`` list (include/exclude globs still apply).
        catalog_address: how dependents address the catalog (default ``github.com/<catalog>``).
        registry_modules: registry module address -> catalog module dir.
        concurrency: dependents scanned in parallel (read-only requests).
        progress: called with each repo name when it is done.

    Raises:
        ReleaseError: no such release. UsageError: neither org nor dependents given.
        ForgeError: the catalog's releases or the org listing cannot be read.
    """
    releases = releases_from_forge(forge.list_releases(catalog))
    if not releases:
        raise ReleaseError(f"{catalog} has no releases")
    chosen = select_release(releases, release)
    address = catalog_address or f"github.com/{catalog}"
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
        registry_modules=dict(registry_modules or {}),
        module_exists=module_exists,
    )
    branch = branch_name(catalog)
    skipped: list[DependentPlan] = []
    repos: list[Any] = []
    if dependents is not None:
        for name in dependents:
            if name.lower() == catalog.lower():
                continue
            short = name.split("/", 1)[1]
            if include and not any(fnmatch.fnmatchcase(short, g) for g in include):
                continue
            if any(fnmatch.fnmatchcase(short, g) for g in exclude):
                continue
            try:
                r = forge.get_repo(name)
            except ForgeError as exc:
                skipped.append(DependentPlan(repo=name, action=Action.SKIP, reason=f"forge error: {exc}"))
                continue
            why = "archived" if r.archived else "disabled" if r.disabled else None
            if why:
                skipped.append(
                    DependentPlan(repo=name, default_branch=r.default_branch, action=Action.SKIP, reason=why)
                )
            else:
                repos.append(r)
    elif org:
        listing = forge.list_repos(org, include=include, exclude=exclude, topics=topics)
        repos = [r for r in listing.repos if r.full_name.lower() != catalog.lower()]
        for r, why in listing.skipped:
            if r.full_name.lower() != catalog.lower():
                skipped.append(
                    DependentPlan(
                        repo=r.full_name, default_branch=r.default_branch, action=Action.SKIP, reason=why
                    )
                )
    else:
        raise UsageError("give --org ORG or --dependents FILE")
    cache = _Cache()
    results: dict[str, DependentPlan] = {}

    def one(r: Any) -> DependentPlan:
        d = scan_dependent(forge, r, opts, branch, cache)
        if progress:
            progress(r.full_name)
        return d

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        for d in pool.map(one, repos):
            results[d.repo] = d
    all_deps = sorted([*results.values(), *skipped], key=lambda d: d.repo)
    return Plan(
        catalog=catalog,
        catalog_address=address,
        release=chosen,
        releases=tuple(releases),
        dependents=tuple(all_deps),
        bump_all=bump_all,
        registry_modules=dict(registry_modules or {}),
        branch=branch,
        generated_at=_dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
