"""Dependency sweep of the catalog: what it depends on, what is newer, and the update PRs.

Dependencies found in the catalog repository (``refs.scan_files`` plus the workflows):

- the Terraform / OpenTofu CLI: ``required_version`` constraints, ``.terraform-version``,
  ``.tool-versions`` lines and ``terraform_version`` / ``tofu_version`` inputs in
  ``.github/workflows/*.yml``; latest versions come from the forge's releases of the upstream
  project (``hashicorp/terraform`` / ``opentofu/opentofu``, configurable);
- providers in ``required_providers``: versions from the registry protocol of their host;
- third-party modules: registry modules from the registry protocol, git modules from
  ``git ls-remote --tags``.

The core is pure: ``collect`` (files -> dependencies), ``plan`` (dependencies + available
versions -> per-dependency results with byte-exact edits) and ``group`` (results -> PR plans).
I/O lives in ``resolve`` (registry, forge, git) and ``apply`` (forge commits and PRs).

Rules: pre-releases are only proposed for pins that are pre-releases themselves; constraints are
changed with ``versions.update_constraint`` (only when they do not already admit the target) and
module refs with ``bump.bump_files``, so only version bytes change; a major update goes into its
own PR, the rest into one grouped PR (``grouping``); branches are deterministic so a rerun
force-updates the open PR instead of opening another. An upstream that fails marks its
dependency ``unknown``; everything else proceeds and the command exits non-zero.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import yaml

from catalog_ops.core.edits import Edit, apply_edits
from catalog_ops.core.versions import (
    UpdateType,
    Version,
    parse_constraint,
    parse_version,
    update_constraint,
    update_type,
)
from catalog_ops.core.yamlnodes import compose_document, where
from catalog_ops.errors import CatalogOpsError, ConfigError, EditConflict, SourceParseError
from catalog_ops.sweep.registry import RegistryError

SCHEMA = 1
DEFAULT_UPSTREAMS = {"terraform": "hashicorp/terraform", "opentofu": "opentofu/opentofu"}
DEFAULT_REGISTRY = "registry.terraform.io"
GROUPINGS = ("majors-separate", "single", "per-dependency")
CONFIG_PATHS = (".catalog-ops.yml", ".catalog-ops.yaml", ".github/catalog-ops.yml")
MARKER_PREFIX = "<!-- catalog-ops:sweep"
WORKFLOW_RE = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")
_WORKFLOW_INPUT_RE = re.compile(
    r"^(?P<lead>[ \t]*(?:-[ \t]+)?)(?P<key>terraform_version|tofu_version)[ \t]*:[ \t]*"
    r"(?P<q>[\"']?)(?P<val>[^\"'\s#]+)(?P=q)[ \t]*(?:#.*)?$"
)
_UPDATE_NAMES = {
    UpdateType.NONE: "none",
    UpdateType.PATCH: "patch",
    UpdateType.MINOR: "minor",
    UpdateType.MAJOR: "major",
}


class DepKind(enum.StrEnum):
    """What kind of dependency: the CLI, a provider, or a third-party module."""

    CLI = "cli"
    PROVIDER = "provider"
    MODULE = "module"


class Status(enum.StrEnum):
    """How one dependency ended up in the sweep."""

    UPDATE = "update"  # at least one file changes
    CURRENT = "current"  # every pin/constraint already admits the latest version
    IGNORED = "ignored"  # newer versions exist but the ignore list excludes them
    UNKNOWN = "unknown"  # the upstream failed; nothing known
    SKIPPED = "skipped"  # nothing updatable (branch/sha refs, "latest", no version constraint)


# --------------------------------------------------------------------------- configuration


@dataclasses.dataclass(frozen=True, kw_only=True)
class IgnoreRule:
    """One ``sweep.ignore`` entry: versions of matching dependencies that are never proposed.

    Attributes:
        dependency: fnmatch glob on the dependency id (``"registry.terraform.io/hashicorp/*"``,
            ``"terraform"``, ``"github.com/acme/*"``).
        versions: optional Terraform constraint; only versions it admits are ignored.
        update_types: optional subset of ``patch``/``minor``/``major``; only those updates ignored.
    """

    dependency: str
    versions: str | None = None
    update_types: tuple[str, ...] = ()

    def ignores(self, dep_id: str, version: Version, kind: UpdateType) -> bool:
        """True when this rule excludes moving ``dep_id`` to ``version`` (an update of ``kind``)."""
        if not fnmatch.fnmatchcase(dep_id, self.dependency):
            return False
        if self.versions is not None and not parse_constraint(self.versions).admits(
            dataclasses.replace(version, prerelease="") if version.is_prerelease else version
        ):
            return False
        return not (self.update_types and _UPDATE_NAMES[kind] not in self.update_types)


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """The ``sweep:`` section of the catalog's ``.catalog-ops.yml`` (all keys optional).

    Attributes:
        cli: ``terraform`` or ``opentofu``: which upstream ``required_version`` constraints and
            ``.tool-versions`` ``terraform`` lines track (None: follow ``--tf-binary``).
        upstreams: CLI name -> forge repository whose releases give its versions.
        default_registry: host for provider and module addresses written without one.
        registries: host -> base URL used instead of ``https://HOST/`` (mirrors, tests).
        grouping: ``majors-separate`` (default: each major update alone, the rest in one PR),
            ``single`` (everything in one PR) or ``per-dependency`` (one PR per dependency).
        branch_prefix: branch of the grouped PR; other branches are ``<prefix>-major-<slug>`` and
            ``<prefix>-<slug>``.
        labels: labels put on the PRs.
        ignore: ignore rules.
        workflows: also sweep ``terraform_version``/``tofu_version`` inputs in workflows.
        source: where the config came from (None: defaults).
    """

    cli: str | None = None
    upstreams: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(DEFAULT_UPSTREAMS))
    default_registry: str = DEFAULT_REGISTRY
    registries: Mapping[str, str] = dataclasses.field(default_factory=dict)
    grouping: str = "majors-separate"
    branch_prefix: str = "catalog-ops/sweep"
    labels: tuple[str, ...] = ("dependencies",)
    ignore: tuple[IgnoreRule, ...] = ()
    workflows: bool = True
    source: str | None = None

    def ignores_entirely(self, dep_id: str) -> bool:
        """True when a rule without ``versions``/``update_types`` matches: never looked up."""
        return any(
            not r.versions and not r.update_types and fnmatch.fnmatchcase(dep_id, r.dependency)
            for r in self.ignore
        )

    def ignored(self, dep_id: str, version: Version, kind: UpdateType) -> bool:
        """True when any ignore rule excludes this update."""
        return any(rule.ignores(dep_id, version, kind) for rule in self.ignore)


_where = where


def _plain(node: yaml.Node) -> Any:
    return yaml.safe_load(yaml.serialize(node))


def parse_sweep_config(text: str | bytes, path: str = ".catalog-ops.yml") -> SweepConfig:
    """Read the ``sweep:`` section of a ``.catalog-ops.yml`` (other sections are ignored).

    Raises:
        ConfigError: ``path:line:col: sweep.KEY: problem`` for invalid YAML, unknown keys, wrong
            types or values (all problems, one per line).
    """
    root = compose_document(text, path)
    if root is None:
        return SweepConfig(source=path)
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(f"{_where(path, root)}: the document must be a mapping")
    section = next((v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "sweep"), None)
    if section is None or (isinstance(section, yaml.ScalarNode) and section.tag.endswith(":null")):
        return SweepConfig(source=path)
    if not isinstance(section, yaml.MappingNode):
        raise ConfigError(f"{_where(path, section)}: sweep: must be a mapping")
    errors: list[str] = []
    values: dict[str, Any] = {}

    def err(node: yaml.Node, key: str, problem: str) -> None:
        errors.append(f"{_where(path, node)}: sweep.{key}: {problem}")

    for key_node, node in section.value:
        key = str(key_node.value)
        value = _plain(node)
        if key == "cli":
            if value not in ("terraform", "opentofu"):
                err(node, key, "must be terraform or opentofu")
            else:
                values[key] = value
        elif key in ("upstreams", "registries"):
            if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()
            ):
                err(node, key, "must be a mapping of strings to strings")
                continue
            if key == "upstreams":
                bad = [k for k in value if k not in DEFAULT_UPSTREAMS]
                if bad:
                    err(node, key, f"unknown CLI {bad[0]!r} (known: terraform, opentofu)")
                    continue
                bad = [v for v in value.values() if v.count("/") != 1]
                if bad:
                    err(node, key, f"{bad[0]!r} is not OWNER/REPO")
                    continue
                values[key] = {**DEFAULT_UPSTREAMS, **value}
            else:
                bad = [v for v in value.values() if not v.startswith(("https://", "http://"))]
                if bad:
                    err(node, key, f"{bad[0]!r} is not an http(s) URL")
                    continue
                values[key] = dict(value)
        elif key in ("default_registry", "branch_prefix"):
            if not isinstance(value, str) or not value.strip() or " " in value:
                err(node, key, "must be a non-empty string without spaces")
            else:
                values[key] = value.strip()
        elif key == "grouping":
            if value not in GROUPINGS:
                err(node, key, f"must be one of {', '.join(GROUPINGS)}")
            else:
                values[key] = value
        elif key == "labels":
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                err(node, key, "must be a list of strings")
            else:
                values[key] = tuple(value)
        elif key == "workflows":
            if not isinstance(value, bool):
                err(node, key, "must be true or false")
            else:
                values[key] = value
        elif key == "ignore":
            rules = _parse_ignore(node, path, errors)
            if rules is not None:
                values[key] = rules
        else:
            err(
                key_node,
                key,
                "unknown key (known: branch_prefix, cli, default_registry, grouping, ignore, labels, "
                "registries, upstreams, workflows)",
            )
    if errors:
        raise ConfigError("\n".join(errors))
    return SweepConfig(source=path, **values)


def _parse_ignore(node: yaml.Node, path: str, errors: list[str]) -> tuple[IgnoreRule, ...] | None:
    if not isinstance(node, yaml.SequenceNode):
        errors.append(f"{_where(path, node)}: sweep.ignore: must be a list")
        return None
    rules = []
    ok = True
    for item in node.value:
        value = _plain(item)
        if isinstance(value, str) and value.strip():
            rules.append(IgnoreRule(dependency=value.strip()))
            continue
        if not isinstance(value, dict) or not isinstance(value.get("dependency"), str):
            errors.append(
                f"{_where(path, item)}: sweep.ignore: an entry is a glob or a mapping with 'dependency'"
            )
            ok = False
            continue
        unknown = set(value) - {"dependency", "versions", "update_types"}
        if unknown:
            errors.append(f"{_where(path, item)}: sweep.ignore: unknown key {sorted(unknown)[0]!r}")
            ok = False
            continue
        versions = value.get("versions")
        if versions is not None:
            try:
                parse_constraint(str(versions))
            except CatalogOpsError as exc:
                errors.append(f"{_where(path, item)}: sweep.ignore.versions: {exc}")
                ok = False
                continue
        kinds = value.get("update_types") or []
        if not isinstance(kinds, list) or not all(k in ("patch", "minor", "major") for k in kinds):
            errors.append(
                f"{_where(path, item)}: sweep.ignore.update_types: must be a list of patch, minor, major"
            )
            ok = False
            continue
        rules.append(
            IgnoreRule(
                dependency=value["dependency"],
                versions=None if versions is None else str(versions),
                update_types=tuple(kinds),
            )
        )
    return tuple(rules) if ok else None


def load_sweep_config(files: Mapping[str, bytes]) -> SweepConfig:
    """The sweep config from the first of ``CONFIG_PATHS`` in ``files``; defaults when none.
    Raises ConfigError."""
    for candidate in CONFIG_PATHS:
        if candidate in files:
            return parse_sweep_config(files[candidate], candidate)
    return SweepConfig()


# --------------------------------------------------------------------------- model


@dataclasses.dataclass(frozen=True, kw_only=True)
class Occurrence:
    """One place a dependency's version is written.

    Attributes:
        path, line, col: file and 1-based position of the version token (or source for modules).
        where: ``required_version`` | ``.terraform-version`` | ``.tool-versions`` | ``workflow`` |
            ``required_providers`` | ``module``.
        current: the version, constraint or git ref exactly as written.
        exact: True when ``current`` is an exact version (files, workflow inputs, git tags),
            False for a constraint.
        address: for modules, the address ``bump.bump_files`` matches (without ref).
        span: ``[start, end)`` of ``current`` in the file's text when the scanner knows it.
    """

    path: str
    line: int
    col: int
    where: str
    current: str
    exact: bool
    address: str | None = None
    span: tuple[int, int] | None = None


@dataclasses.dataclass(kw_only=True)
class Dependency:
    """A dependency and every place it is written.

    Attributes:
        id: ``terraform`` / ``opentofu``, ``HOST/NAMESPACE/TYPE`` (provider),
            ``HOST/NAMESPACE/NAME/SYSTEM`` (registry module) or the git identity
            (``github.com/acme/repo``).
        kind: CLI, provider or module.
        lookup: where versions come from: ``("forge", "hashicorp/terraform")``,
            ``("provider", host, ns, type)``, ``("module", host, ns, name, system)``, ``("git", url)``.
        occurrences: the places, in file order.
        skipped: ``path:line:col: reason`` for places that cannot be updated.
    """

    id: str
    kind: DepKind
    lookup: tuple[str, ...]
    occurrences: list[Occurrence] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Available:
    """Versions an upstream offers (any order; pre-releases included) and release-note links
    keyed by ``Version.core``."""

    versions: tuple[Version, ...]
    notes: Mapping[str, str] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(kw_only=True)
class DependencyResult:
    """What the sweep decided for one dependency.

    Attributes:
        dependency: the dependency.
        status: see ``Status``.
        current: distinct current versions/constraints as written.
        latest: newest stable version the upstream has (``None`` when unknown).
        target: version the updates move to (``None`` when there is none).
        update: biggest update type among the changed places.
        new: distinct new versions/constraints written.
        notes_url: release notes of ``target`` when known.
        reason: why unknown/skipped/ignored.
        edits: path -> byte-exact edits (against the original file text).
    """

    dependency: Dependency
    status: Status
    current: list[str] = dataclasses.field(default_factory=list)
    latest: str | None = None
    target: Version | None = None
    update: UpdateType = UpdateType.NONE
    new: list[str] = dataclasses.field(default_factory=list)
    notes_url: str | None = None
    reason: str | None = None
    edits: dict[str, list[Edit]] = dataclasses.field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        """Paths this result changes, sorted."""
        return sorted(self.edits)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        dep = self.dependency
        return {
            "id": dep.id,
            "kind": dep.kind.value,
            "status": self.status.value,
            "current": list(self.current),
            "latest": self.latest,
            "target": self.target.core if self.target else None,
            "update": _UPDATE_NAMES[self.update],
            "new": list(self.new),
            "files": self.files,
            "notes_url": self.notes_url,
            "reason": self.reason,
            "skipped": list(dep.skipped),
            "places": [f"{o.path}:{o.line}:{o.col}" for o in dep.occurrences],
        }


@dataclasses.dataclass(kw_only=True)
class PullPlan:
    """One sweep PR: its deterministic branch, title and the results it carries."""

    branch: str
    title: str
    major: bool
    results: list[DependencyResult]

    def changes(self, files: Mapping[str, bytes]) -> dict[str, bytes]:
        """New bytes of every changed file (edits of all results applied together).

        Raises EditConflict when two results edit the same bytes differently.
        """
        per_file: dict[str, list[Edit]] = {}
        for result in self.results:
            for path, edits in result.edits.items():
                per_file.setdefault(path, []).extend(edits)
        out = {}
        for path, edits in sorted(per_file.items()):
            text = files[path].decode("utf-8")
            new = apply_edits(text, edits)
            if new != text:
                out[path] = new.encode("utf-8")
        return out


# --------------------------------------------------------------------------- collect


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


def _cli_for_tool(name: str | None) -> str | None:
    name = (name or "").lower()
    if name == "terraform":
        return "terraform"
    if name in ("opentofu", "tofu"):
        return "opentofu"
    return None


def normalize_provider(address: str, default_registry: str = DEFAULT_REGISTRY) -> tuple[str, str, str] | None:
    """``(host, namespace, type)`` of a provider source address (Terraform "Provider
    Requirements": ``[HOSTNAME/]NAMESPACE/TYPE``, default host the public registry; a bare
    ``TYPE`` means ``hashicorp/TYPE``). Lower-cased. None when malformed."""
    parts = [p for p in address.strip().lower().split("/")]
    if any(not p for p in parts):
        return None
    if len(parts) == 1:
        return (default_registry, "hashicorp", parts[0])
    if len(parts) == 2:
        return (default_registry, parts[0], parts[1])
    if len(parts) == 3:
        return (parts[0], parts[1], parts[2])
    return None


def git_url_of(raw: str) -> str | None:
    """The URL ``git ls-remote`` needs for a git module source (Terraform "Module Sources"):
    ``git::`` forced prefix, ``?ref=`` query and ``//subdir`` removed; GitHub shorthand
    ``github.com/o/r`` becomes ``https://github.com/o/r.git``. None when not a git source."""
    text = raw.strip()
    if text.startswith("git::"):
        text = text[len("git::") :]
    text = text.split("?", 1)[0]
    scheme_end = text.find("://")
    sub = text.find("//", scheme_end + 3 if scheme_end >= 0 else 0)
    if sub != -1:
        text = text[:sub]
    if text.startswith("github.com/"):
        owner_repo = text[len("github.com/") :].removesuffix(".git")
        return f"https://github.com/{owner_repo}.git"
    if text.startswith("bitbucket.org/"):
        return f"https://{text}"
    return text or None


def _registry_module(identity: str, default_registry: str) -> tuple[str, str, str, str] | None:
    parts = identity.split("/")
    if len(parts) == 4:
        return (parts[0], parts[1], parts[2], parts[3])
    if len(parts) == 3:
        return (default_registry, parts[0], parts[1], parts[2])
    return None


def _provider_source(ref: Any) -> str | None:
    """Provider source address of a PROVIDER reference (adapter over refs' fields)."""
    for attr in ("provider_source", "address"):
        value = getattr(ref, attr, None)
        if isinstance(value, str) and value:
            return value
    src = getattr(ref, "source", None)
    if src is not None:
        raw = getattr(src, "raw", None) or getattr(src, "identity", None)
        if isinstance(raw, str) and raw:
            return raw
    return getattr(ref, "name", None)


def _occurrence(
    ref: Any,
    path: str,
    where: str,
    current: str,
    *,
    exact: bool,
    address: str | None = None,
    span: tuple[int, int] | None = None,
) -> Occurrence:
    """``Occurrence`` at the line/col of ``ref`` (a ``refs.Reference``) written in ``path``."""
    return Occurrence(
        path=path,
        line=ref.line,
        col=ref.col,
        where=where,
        current=current,
        exact=exact,
        address=address,
        span=span,
    )


def collect(
    files: Mapping[str, bytes], config: SweepConfig, *, default_cli: str = "terraform"
) -> tuple[list[Dependency], list[str]]:
    """Find the catalog's dependencies in ``files`` (path -> bytes, the whole repo or its
    candidate files and workflows).

    Args:
        files: repository files.
        config: sweep config (CLI flavour, default registry, workflows on/off).
        default_cli: ``terraform`` or ``opentofu`` when ``config.cli`` is unset.

    Returns:
        ``(dependencies sorted by id, errors as "path:line:col: message")``. Never raises for
        bad input files.
    """
    from catalog_ops.core.sources import SourceKind
    from catalog_ops.refs import scan as refs_mod
    from catalog_ops.refs.scan import RefKindOfEntry

    cli = config.cli or default_cli
    deps: dict[str, Dependency] = {}
    errors: list[str] = []

    def dep(id_: str, kind: DepKind, lookup: tuple[str, ...]) -> Dependency:
        if id_ not in deps:
            deps[id_] = Dependency(id=id_, kind=kind, lookup=lookup)
        return deps[id_]

    def cli_dep(name: str) -> Dependency:
        return dep(name, DepKind.CLI, ("forge", config.upstreams.get(name, DEFAULT_UPSTREAMS[name])))

    candidates = {p: b for p, b in files.items() if refs_mod.is_candidate_path(p)}
    scan = refs_mod.scan_files(candidates)
    errors.extend(str(e) for e in scan.errors)
    for ref in scan.references:
        where = f"{ref.path}:{ref.line}:{ref.col}"
        path = getattr(ref, "written_in", None) or ref.path
        version = ref.version
        span = getattr(ref, "version_span", None)
        if ref.entry == RefKindOfEntry.REQUIRED_VERSION:
            if version:
                cli_dep(cli).occurrences.append(
                    _occurrence(ref, path, "required_version", version, exact=False, span=span)
                )
        elif ref.entry in (RefKindOfEntry.TERRAFORM_VERSION_FILE, RefKindOfEntry.TOOL_VERSIONS):
            if ref.entry == RefKindOfEntry.TERRAFORM_VERSION_FILE:
                tool: str | None = "terraform"
                kind = ".terraform-version"
            else:
                tool, kind = _cli_for_tool(ref.name), ".tool-versions"
            if tool is None:
                continue
            target = cli_dep(tool)
            if version and parse_version(version):
                target.occurrences.append(_occurrence(ref, path, kind, version, exact=True))
            else:
                target.skipped.append(f"{where}: {version!r} is not an exact version")
        elif ref.entry == RefKindOfEntry.PROVIDER:
            address = _provider_source(ref)
            norm = normalize_provider(address or "", config.default_registry)
            if norm is None:
                errors.append(f"{where}: provider source {address!r} is not [HOST/]NAMESPACE/TYPE")
                continue
            host, ns, type_ = norm
            target = dep(f"{host}/{ns}/{type_}", DepKind.PROVIDER, ("provider", host, ns, type_))
            if not version:
                target.skipped.append(f"{where}: no version constraint")
                continue
            target.occurrences.append(
                _occurrence(ref, path, "required_providers", version, exact=False, span=span)
            )
        elif ref.entry in (RefKindOfEntry.MODULE, RefKindOfEntry.TERRAGRUNT, RefKindOfEntry.STACK_UNIT):
            src = ref.source
            if src is None or src.kind in (SourceKind.LOCAL, SourceKind.DYNAMIC):
                continue
            if src.kind == SourceKind.REGISTRY and src.identity:
                parsed = _registry_module(src.identity, config.default_registry)
                if parsed is None:
                    continue
                host, ns, name, system = parsed
                target = dep(
                    f"{host}/{ns}/{name}/{system}", DepKind.MODULE, ("module", host, ns, name, system)
                )
                # Terragrunt "tfr:///NS/NAME/SYSTEM?version=X" pins an exact version in the source.
                pinned = src.ref if (not version and src.ref and parse_version(src.ref)) else None
                if not version and not pinned:
                    target.skipped.append(f"{where}: no version constraint")
                    continue
                target.occurrences.append(
                    _occurrence(
                        ref,
                        path,
                        "module",
                        pinned or version or "",
                        exact=pinned is not None,
                        address=src.raw.split("?", 1)[0],
                    )
                )
            elif src.kind in (SourceKind.GIT, SourceKind.GITHUB, SourceKind.BITBUCKET) and src.identity:
                url = git_url_of(src.raw)
                if url is None:
                    continue
                target = dep(src.identity, DepKind.MODULE, ("git", url))
                ref_version = parse_version(src.ref) if src.ref else None
                if not src.updatable or ref_version is None:
                    target.skipped.append(
                        f"{where}: ref {src.ref!r} is not a version tag ({src.reason or src.ref_kind})"
                    )
                    continue
                target.occurrences.append(
                    _occurrence(
                        ref, path, "module", src.ref or "", exact=True, address=src.raw.split("?", 1)[0]
                    )
                )
    if config.workflows:
        for path in sorted(p for p in files if WORKFLOW_RE.match(p)):
            try:
                text = files[path].decode("utf-8")
            except UnicodeDecodeError:
                errors.append(f"{path}:1:1: not UTF-8")
                continue
            for lineno, line in enumerate(text.splitlines(), start=1):
                m = _WORKFLOW_INPUT_RE.match(line)
                if not m:
                    continue
                name = "terraform" if m["key"] == "terraform_version" else "opentofu"
                target = cli_dep(name)
                col = m.start("val") + 1
                value = m["val"]
                if parse_version(value) is None:
                    target.skipped.append(
                        f"{path}:{lineno}:{col}: {m['key']} {value!r} is not an exact version"
                    )
                    continue
                target.occurrences.append(
                    Occurrence(path=path, line=lineno, col=col, where="workflow", current=value, exact=True)
                )
    for d in deps.values():
        d.occurrences.sort(key=lambda o: (o.path, o.line, o.col))
    return sorted(deps.values(), key=lambda d: (list(DepKind).index(d.kind), d.id)), errors


# --------------------------------------------------------------------------- resolve


def release_notes_url(dep: Dependency, version: Version, tag: str | None = None) -> str | None:
    """Link to upstream release notes/docs for ``version`` where the host is known: the public
    Terraform registry's provider/module pages, GitHub release pages for github.com git modules."""
    lookup = dep.lookup
    if lookup[0] == "provider" and lookup[1] == DEFAULT_REGISTRY:
        return f"https://registry.terraform.io/providers/{lookup[2]}/{lookup[3]}/{version.core}"
    if lookup[0] == "module" and lookup[1] == DEFAULT_REGISTRY:
        return f"https://registry.terraform.io/modules/{lookup[2]}/{lookup[3]}/{lookup[4]}/{version.core}"
    if lookup[0] == "git" and dep.id.startswith("github.com/") and tag:
        return f"https://{dep.id}/releases/tag/{tag}"
    return None


def resolve(
    deps: Sequence[Dependency],
    *,
    registry: Any,
    forge: Any,
    git_tags: Callable[[str], list[str]],
    config: SweepConfig | None = None,
) -> dict[str, Available | str]:
    """Fetch available versions for each dependency.

    Args:
        deps: from ``collect``.
        registry: a ``registry.RegistryClient``.
        forge: a ``Forge`` (for CLI releases).
        git_tags: ``url -> tag names`` (``registry.git_remote_tags``).
        config: when given, dependencies its ignore list ignores entirely are not looked up.

    Returns:
        dependency id -> ``Available``, or an error message string when the upstream failed
        (HTTP error, timeout, bad JSON, git failure, missing forge repo).
    """
    out: dict[str, Available | str] = {}
    for dep in deps:
        if not dep.occurrences or (config is not None and config.ignores_entirely(dep.id)):
            continue
        try:
            out[dep.id] = _resolve_one(dep, registry, forge, git_tags)
        except (RegistryError, CatalogOpsError) as exc:
            out[dep.id] = str(exc)
    return out


def _resolve_one(
    dep: Dependency, registry: Any, forge: Any, git_tags: Callable[[str], list[str]]
) -> Available:
    kind = dep.lookup[0]
    if kind == "forge":
        versions, notes = [], {}
        for release in forge.list_releases(dep.lookup[1]):
            if release.draft:
                continue
            v = parse_version(release.tag)
            if v is None or (release.prerelease and not v.is_prerelease):
                continue
            versions.append(v)
            notes[v.core] = release.url
        if not versions:
            raise RegistryError(f"{dep.lookup[1]}: no releases found on the forge")
        return Available(versions=tuple(versions), notes=notes)
    if kind == "provider":
        raw = registry.provider_versions(*dep.lookup[1:])
        versions = [v for v in (parse_version(x) for x in raw) if v is not None]
        return Available(
            versions=tuple(versions), notes={v.core: u for v in versions if (u := release_notes_url(dep, v))}
        )
    if kind == "module":
        raw = registry.module_versions(*dep.lookup[1:])
        versions = [v for v in (parse_version(x) for x in raw) if v is not None]
        return Available(
            versions=tuple(versions), notes={v.core: u for v in versions if (u := release_notes_url(dep, v))}
        )
    if kind == "git":
        tags = git_tags(dep.lookup[1])
        versions = []
        notes = {}
        for tag in tags:
            v = parse_version(tag)
            if v is None:
                continue
            versions.append(v)
            url = release_notes_url(dep, v, tag)
            if url:
                notes[str(v)] = url
        return Available(versions=tuple(versions), notes=notes)
    raise AssertionError(kind)


# --------------------------------------------------------------------------- plan


def _same_line(a: str, b: str) -> bool:
    return (a in ("", "v") and b in ("", "v")) or a == b


def _current_version(occ: Occurrence, versions: Sequence[Version]) -> Version | None:
    if occ.exact:
        return parse_version(occ.current)
    try:
        cons = parse_constraint(occ.current)
    except CatalogOpsError:
        return None
    admitted = [v for v in versions if cons.admits(v)]
    if admitted:
        return max(admitted)
    return max((p.version for p in cons.parts if p.op in ("=", ">=", ">", "~>")), default=None)


def plan(
    deps: Sequence[Dependency],
    available: Mapping[str, Available | str],
    files: Mapping[str, bytes],
    config: SweepConfig,
) -> list[DependencyResult]:
    """Decide each dependency's target version and compute the byte-exact edits (pure).

    For every dependency: the current version is the lowest among its places (for a constraint,
    the newest available version it admits); candidates are the upstream's versions newer than
    that, stable only unless a place pins a pre-release, minus ``config.ignore``; the target is
    the newest candidate. Each place then changes only if it does not already admit the target.
    """
    results = []
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
        results.append(_plan_one(dep, avail, files, config, current_texts))
    return results


def _plan_one(
    dep: Dependency,
    avail: Available,
    files: Mapping[str, bytes],
    config: SweepConfig,
    current_texts: list[str],
) -> DependencyResult:
    all_versions = sorted(set(avail.versions))
    stable = [v for v in all_versions if not v.is_prerelease]
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
    allow_pre = any(c.is_prerelease for c in known)
    # Git tags of a monorepo carry a path prefix: only follow the prefix in use.
    prefixes = {c.prefix for c in known}
    pool = [
        v
        for v in all_versions
        if (allow_pre or not v.is_prerelease)
        and v > lowest
        and (dep.lookup[0] != "git" or any(_same_line(v.prefix, p) for p in prefixes))
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
        if result.update == UpdateType.NONE:
            result.update = UpdateType.PATCH
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
    from catalog_ops.bump import bump_files
    from catalog_ops.refs.scan import is_candidate_path

    addresses = sorted({occ.address or "" for occ in occs})
    tree = {p: b for p, b in files.items() if is_candidate_path(p)}
    for address in addresses:
        try:
            bumped = bump_files(tree, address=address, to=target.core, allow_prerelease=target.is_prerelease)
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


def diff_edits(old: str, new: str) -> list[Edit]:
    """Minimal ``Edit`` spans turning ``old`` into ``new`` (character-level ``difflib``)."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    return [
        Edit(i1, i2, old[i1:i2], new[j1:j2])
        for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        if tag != "equal"
    ]


# --------------------------------------------------------------------------- group


def slug(text: str) -> str:
    """Branch-safe slug of a dependency id: ``registry.terraform.io/hashicorp/aws`` -> ``hashicorp-aws``
    (the public registry host is dropped), other characters outside ``[a-z0-9.]`` become ``-``."""
    for host in (DEFAULT_REGISTRY + "/", "registry.opentofu.org/"):
        text = text.removeprefix(host)
    out = re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.")
    return re.sub(r"\.{2,}", ".", out) or "dependency"


def _short_name(dep: Dependency) -> str:
    for host in (DEFAULT_REGISTRY + "/", "registry.opentofu.org/"):
        if dep.id.startswith(host):
            return dep.id[len(host) :]
    return dep.id


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
        is_major = r.update == UpdateType.MAJOR
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
                major=any(r.update == UpdateType.MAJOR for r in grouped),
                results=grouped,
            ),
        )
    return plans


# --------------------------------------------------------------------------- render


def template_env() -> Any:
    """Jinja2 environment over ``catalog_ops/templates`` (Markdown: no autoescape, strict
    undefined) with filters ``code`` (wrap in backticks) and ``md`` (escape ``|`` for tables)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("catalog_ops", "templates"),
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["code"] = lambda s: f"`{s}`"
    env.filters["md"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
    return env


def marker(branch: str) -> str:
    """The HTML comment that identifies a sweep PR body."""
    return f"{MARKER_PREFIX} branch={branch} -->"


def render_pull_body(pr: PullPlan, *, base: str, base_sha: str, template: str = "sweep_pr.md.j2") -> str:
    """PR body (Markdown) from ``templates/sweep_pr.md.j2``."""
    rows = []
    for r in pr.results:
        rows.append(
            {
                "id": r.dependency.id,
                "kind": r.dependency.kind.value,
                "old": r.current,
                "new": r.new,
                "change": _UPDATE_NAMES[r.update],
                "files": r.files,
                "latest": r.target.core if r.target else "",
                "notes_url": r.notes_url,
            }
        )
    return (
        template_env()
        .get_template(template)
        .render(
            marker=marker(pr.branch),
            title=pr.title,
            major=pr.major,
            updates=rows,
            base=base,
            base_sha=base_sha,
        )
    )


def render_markdown(
    results: Sequence[DependencyResult], pulls: Sequence[Mapping[str, Any]], *, repo: str
) -> str:
    """Step-summary Markdown: one row per dependency, then the PRs."""
    lines = [f"### Dependency sweep of {repo}", "", summary_line(results), ""]
    lines.append("| Dependency | Kind | Status | Current | Latest | Proposed | Update | Details |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for r in results:
        status = f"**{r.status.value}**" if r.status is Status.UNKNOWN else r.status.value
        lines.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    f"`{r.dependency.id}`",
                    r.dependency.kind.value,
                    status,
                    ", ".join(f"`{c}`" for c in r.current),
                    r.latest or "",
                    ", ".join(f"`{c}`" for c in r.new),
                    _UPDATE_NAMES[r.update] if r.status is Status.UPDATE else "",
                    r.reason or "",
                )
            )
            + " |"
        )
    if pulls:
        lines += ["", "| Pull request | Outcome | Dependencies |", "|---|---|---|"]
        for p in pulls:
            link = f"[{p['title']}]({p['url']})" if p.get("url") else p["title"]
            lines.append(f"| {_cell(link)} | {p['outcome']} | {_cell(', '.join(p['dependencies']))} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def summary_line(results: Iterable[DependencyResult]) -> str:
    """``"5 dependencies: 2 update, 2 current, 1 unknown"``."""
    results = list(results)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    order = [s.value for s in (Status.UNKNOWN, Status.UPDATE, Status.IGNORED, Status.CURRENT, Status.SKIPPED)]
    parts = [f"{counts[k]} {k}" for k in order if k in counts]
    return f"{len(results)} dependencies: " + (", ".join(parts) if parts else "none found")


# --------------------------------------------------------------------------- apply


@dataclasses.dataclass(kw_only=True)
class SweepRun:
    """Everything one sweep did: results, PR outcomes and collection errors."""

    repo: str
    base: str
    base_sha: str
    results: list[DependencyResult]
    pulls: list[dict[str, Any]]
    errors: list[str]

    @property
    def failed(self) -> bool:
        """True when a dependency is unknown, a PR failed, or a file could not be parsed."""
        return (
            any(r.status is Status.UNKNOWN for r in self.results)
            or any(p["outcome"] == "failed" for p in self.pulls)
            or bool(self.errors)
        )

    def to_json(self) -> dict[str, Any]:
        """``{"schema": 1, "repo", "base", "base_sha", "failed", "summary", "dependencies",
        "pulls", "errors"}``."""
        return {
            "schema": SCHEMA,
            "repo": self.repo,
            "base": self.base,
            "base_sha": self.base_sha,
            "failed": self.failed,
            "summary": summary_line(self.results),
            "dependencies": [r.to_json() for r in self.results],
            "pulls": self.pulls,
            "errors": list(self.errors),
        }

    def to_markdown(self) -> str:
        """Step-summary Markdown."""
        md = render_markdown(self.results, self.pulls, repo=self.repo)
        if self.errors:
            md += "\n**Errors**\n\n" + "\n".join(f"- `{e}`" for e in self.errors) + "\n"
        return md


def read_repo_files(forge: Any, repo: str, ref: str) -> dict[str, bytes]:
    """The files a sweep looks at (``refs.is_candidate_path``, workflows, config) at ``ref``."""
    from catalog_ops.refs.scan import is_candidate_path

    out = {}
    for path in forge.list_tree(repo, ref):
        if is_candidate_path(path) or WORKFLOW_RE.match(path) or path in CONFIG_PATHS:
            data = forge.read_file(repo, path, ref)
            if data is not None:
                out[path] = data
    return out


def run_sweep(
    forge: Any,
    repo: str,
    *,
    registry: Any,
    git_tags: Callable[[str], list[str]],
    default_cli: str = "terraform",
    base: str | None = None,
    dry_run: bool = False,
    config: SweepConfig | None = None,
    base_sha: str | None = None,
    files: Mapping[str, bytes] | None = None,
) -> SweepRun:
    """Sweep ``repo`` on ``forge`` and open/update its PRs.

    Args:
        forge: a ``Forge``.
        repo: ``OWNER/NAME`` of the catalog.
        registry: ``RegistryClient`` (its base URLs may come from the config's ``registries``;
            pass a client built with them).
        git_tags: ``url -> tags`` for git modules.
        default_cli: CLI flavour when the config has no ``cli``.
        base: base branch (default: the repo's default branch).
        dry_run: compute everything, write nothing (PR outcomes become ``would_*``).
        config: overrides the config read from the repo.
        base_sha / files: the base commit and its files (``read_repo_files``) when the caller
            has read them already (saves a second round of reads).

    Raises:
        ConfigError: the repo's ``.catalog-ops.yml`` ``sweep:`` section is invalid.
        ForgeError: the repo or base branch cannot be read.
    """
    if base is None:
        base = forge.get_repo(repo).default_branch
    if base_sha is None:
        base_sha = forge.branch_sha(repo, base)
    if base_sha is None:
        from catalog_ops.errors import NotFound

        raise NotFound(f"{repo}: branch {base!r} does not exist")
    if files is None:
        files = read_repo_files(forge, repo, base_sha)
    cfg = config or load_sweep_config(files)
    deps, errors = collect(files, cfg, default_cli=default_cli)
    available = resolve(deps, registry=registry, forge=forge, git_tags=git_tags, config=cfg)
    results = plan(deps, available, files, cfg)
    pulls = []
    plans = group(results, cfg)
    for pr in plans:
        pulls.append(
            _apply_pull(
                forge, repo, pr, files, base=base, base_sha=base_sha, labels=cfg.labels, dry_run=dry_run
            )
        )
    for branch in stale_branches(results, cfg, {p.branch for p in plans}):
        record = _close_stale(forge, repo, branch, dry_run=dry_run)
        if record is not None:
            pulls.append(record)
    return SweepRun(repo=repo, base=base, base_sha=base_sha, results=results, pulls=pulls, errors=errors)


def _apply_pull(
    forge: Any,
    repo: str,
    pr: PullPlan,
    files: Mapping[str, bytes],
    *,
    base: str,
    base_sha: str,
    labels: Sequence[str],
    dry_run: bool,
) -> dict[str, Any]:
    from catalog_ops.forge.base import FileChange

    record: dict[str, Any] = {
        "branch": pr.branch,
        "title": pr.title,
        "major": pr.major,
        "dependencies": [r.dependency.id for r in pr.results],
        "files": sorted({p for r in pr.results for p in r.edits}),
        "outcome": "",
        "url": None,
        "number": None,
        "error": None,
    }
    try:
        changes = pr.changes(files)
    except (EditConflict, SourceParseError, UnicodeDecodeError) as exc:
        record.update(outcome="failed", error=f"edits conflict: {exc}")
        return record
    record["files"] = sorted(changes)
    body = render_pull_body(pr, base=base, base_sha=base_sha)
    try:
        existing = forge.find_open_pull(repo, pr.branch)
        if existing is not None:
            record.update(url=existing.url, number=existing.number)
            same_files = all(forge.read_file(repo, p, existing.head_sha) == b for p, b in changes.items())
            if same_files and existing.title == pr.title and _strip_base(existing.body) == _strip_base(body):
                record["outcome"] = "up_to_date"
                return record
        if dry_run:
            record["outcome"] = "would_update" if existing else "would_open"
            return record
        forge.commit_files(
            repo,
            pr.branch,
            parent_sha=base_sha,
            message=f"{pr.title}\n\nUpdated by catalog-ops sweep.",
            changes=[FileChange(p, b) for p, b in sorted(changes.items())],
        )
        if existing is not None:
            updated = forge.update_pull(repo, existing.number, title=pr.title, body=body)
            record.update(outcome="updated", url=updated.url, number=updated.number)
        else:
            opened = forge.open_pull(
                repo, head=pr.branch, base=base, title=pr.title, body=body, labels=list(labels)
            )
            record.update(outcome="opened", url=opened.url, number=opened.number)
    except CatalogOpsError as exc:
        record.update(outcome="failed", error=str(exc))
    return record


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


def _close_stale(forge: Any, repo: str, branch: str, *, dry_run: bool) -> dict[str, Any] | None:
    """Close the open sweep PR on ``branch`` (only one carrying our marker) with a comment."""
    try:
        pr = forge.find_open_pull(repo, branch)
        if pr is None or MARKER_PREFIX not in (pr.body or ""):
            return None
        record: dict[str, Any] = {
            "branch": branch,
            "title": pr.title,
            "major": "-major-" in branch,
            "dependencies": [],
            "files": [],
            "outcome": "would_close" if dry_run else "closed",
            "url": pr.url,
            "number": pr.number,
            "error": None,
        }
        if not dry_run:
            forge.close_pull(
                repo,
                pr.number,
                comment="Closed by `catalog-ops sweep`: these updates are no longer needed "
                "(already applied, ignored, or superseded by another sweep PR).",
            )
            forge.delete_branch(repo, branch)
        return record
    except CatalogOpsError as exc:
        return {
            "branch": branch,
            "title": "",
            "major": False,
            "dependencies": [],
            "files": [],
            "outcome": "failed",
            "url": None,
            "number": None,
            "error": f"closing the obsolete PR failed: {exc}",
        }


_BASE_LINE = re.compile(r"from `[^`]*` at `[0-9a-f]*`")


def _strip_base(body: str) -> str:
    """Body without the base sha, so a moved base alone does not force an update."""
    return _BASE_LINE.sub("", body or "")
