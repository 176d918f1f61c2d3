"""What the catalog depends on: Terraform/OpenTofu versions, providers, third-party modules (pure).

Sources of dependencies in the catalog's files (``refs.scan_files`` plus the workflows):

- the Terraform / OpenTofu CLI: ``required_version`` constraints, ``.terraform-version``,
  ``.tool-versions`` lines and ``terraform_version`` / ``tofu_version`` inputs in
  ``.github/workflows/*.yml``; versions are the forge releases of the upstream project;
- providers in ``required_providers`` (Terraform "Provider Requirements"): versions from the
  provider registry protocol of their host;
- third-party modules: registry modules (module registry protocol) and git modules (tags).
  Local paths and dynamic sources are not dependencies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from catalog_ops.catalog.config import CONFIG_PATHS
from catalog_ops.core.sources import (
    SourceKind,
    address_without_query,
    git_remote_url,
    parse_provider_address,
    registry_module_address,
)
from catalog_ops.core.versions import TagScheme, parse_version
from catalog_ops.refs import Reference, RefKindOfEntry, RefStatus, is_candidate_path, scan_files
from catalog_ops.refs.scan import LOCK_FILE
from catalog_ops.sweep.config import DEFAULT_UPSTREAMS, SweepConfig
from catalog_ops.sweep.model import Dependency, DepKind, ForgeReleases, GitRemote, Lookup, Occurrence

WORKFLOW_RE = re.compile(r"^\.github/workflows/[^/]+\.ya?ml$")
"""Workflow files whose ``terraform_version`` / ``tofu_version`` inputs are CLI pins."""
_WORKFLOW_INPUT_RE = re.compile(
    r"^(?P<lead>[ \t]*(?:-[ \t]+)?)(?P<key>terraform_version|tofu_version)[ \t]*:[ \t]*"
    r"(?P<q>[\"']?)(?P<val>[^\"'\s#]+)(?P=q)[ \t]*(?:#.*)?$"
)
_MODULE_ENTRIES = (
    RefKindOfEntry.MODULE,
    RefKindOfEntry.TERRAGRUNT,
    RefKindOfEntry.STACK_UNIT,
    RefKindOfEntry.STACK,
)
_GIT_KINDS = (SourceKind.GIT, SourceKind.GITHUB, SourceKind.BITBUCKET)


def is_sweep_path(path: str) -> bool:
    """True for the repository paths ``collect`` reads: files ``refs`` scans, workflows, the
    catalog config file, and the dependency lock files the sweep keeps in step (``lockfile``)."""
    return (
        is_candidate_path(path)
        or bool(WORKFLOW_RE.match(path))
        or path in CONFIG_PATHS
        or path.rsplit("/", 1)[-1] == LOCK_FILE
    )


def _cli_for_tool(name: str | None) -> str | None:
    """The CLI a ``.tool-versions`` tool name stands for (asdf/mise plugin names)."""
    name = (name or "").lower()
    if name == "terraform":
        return "terraform"
    if name in ("opentofu", "tofu"):
        return "opentofu"
    return None


def _occurrence(
    ref: Reference,
    where: str,
    current: str,
    *,
    exact: bool,
    address: str | None = None,
    span: tuple[int, int] | None = None,
) -> Occurrence:
    """``Occurrence`` at the line/col of ``ref``, written in ``ref.written_in``."""
    return Occurrence(
        path=ref.written_in or ref.path,
        line=ref.line,
        col=ref.col,
        where=where,
        current=current,
        exact=exact,
        address=address,
        span=span,
    )


class _Found:
    """Dependencies by id as they are found, and the collection errors."""

    def __init__(self, config: SweepConfig) -> None:
        self.config = config
        self.deps: dict[str, Dependency] = {}
        self.errors: list[str] = []

    def dep(self, id_: str, kind: DepKind, lookup: Lookup) -> Dependency:
        if id_ not in self.deps:
            self.deps[id_] = Dependency(id=id_, kind=kind, lookup=lookup)
        return self.deps[id_]

    def cli(self, name: str) -> Dependency:
        repo = self.config.upstreams.get(name, DEFAULT_UPSTREAMS[name])
        return self.dep(name, DepKind.CLI, ForgeReleases(repo))


def collect(
    files: Mapping[str, bytes], config: SweepConfig, *, default_cli: str = "terraform"
) -> tuple[list[Dependency], list[str]]:
    """Find the catalog's dependencies in ``files``.

    Args:
        files: path -> bytes: the whole repository, or at least its ``is_sweep_path`` files.
        config: sweep config (CLI flavour, default registry, workflows on/off).
        default_cli: ``terraform`` or ``opentofu`` when ``config.cli`` is unset.

    Returns:
        ``(dependencies sorted by kind then id, errors as "path:line:col: message")``. Never
        raises for bad input files.
    """
    found = _Found(config)
    cli = config.cli or default_cli
    scan = scan_files({p: b for p, b in files.items() if is_candidate_path(p)})
    found.errors.extend(str(e) for e in scan.errors)
    for ref in scan.references:
        _collect_reference(found, ref, cli)
    if config.workflows:
        _collect_workflows(found, files)
    for d in found.deps.values():
        d.occurrences.sort(key=lambda o: (o.path, o.line, o.col))
    deps = sorted(found.deps.values(), key=lambda d: (list(DepKind).index(d.kind), d.id))
    return deps, found.errors


def _collect_reference(found: _Found, ref: Reference, cli: str) -> None:
    """Add what one scanned reference says to ``found``."""
    where = f"{ref.path}:{ref.line}:{ref.col}"
    version = ref.version
    if ref.entry == RefKindOfEntry.REQUIRED_VERSION:
        if version:
            found.cli(cli).occurrences.append(
                _occurrence(ref, "required_version", version, exact=False, span=ref.version_span)
            )
    elif ref.entry in (RefKindOfEntry.TERRAFORM_VERSION_FILE, RefKindOfEntry.TOOL_VERSIONS):
        if ref.entry == RefKindOfEntry.TERRAFORM_VERSION_FILE:
            tool: str | None = "terraform"
            kind = ".terraform-version"
        else:
            tool, kind = _cli_for_tool(ref.name), ".tool-versions"
        if tool is None:
            return
        target = found.cli(tool)
        if version and parse_version(version):
            target.occurrences.append(_occurrence(ref, kind, version, exact=True))
        else:
            target.skipped.append(f"{where}: {version!r} is not an exact version")
    elif ref.entry in (RefKindOfEntry.PROVIDER, RefKindOfEntry.PROVIDER_BLOCK):
        # The same validation as ``refs`` (refs.extract.provider.provider_status): an entry
        # ``refs`` does not report ``ok`` is never updated.
        provider = parse_provider_address(ref.provider_source or "", found.config.default_registry)
        if ref.status != RefStatus.OK or provider is None:
            found.errors.append(f"{where}: {ref.reason or 'provider source is not valid'}")
            return
        target = found.dep(str(provider), DepKind.PROVIDER, provider)
        if not version:
            target.skipped.append(f"{where}: no version constraint")
            return
        legacy = ref.entry == RefKindOfEntry.PROVIDER_BLOCK
        target.occurrences.append(
            _occurrence(
                ref, "provider block" if legacy else "required_providers", version, exact=False,
                span=ref.version_span,
            )
        )  # fmt: skip
        if legacy and ref.reason:
            target.hints.append(f"{where}: {ref.reason}")
    elif ref.entry in _MODULE_ENTRIES:
        _collect_module(found, ref, where)


def _collect_module(found: _Found, ref: Reference, where: str) -> None:
    """A module-like reference: a registry module (version constraint, or Terragrunt's
    ``tfr://...?version=X`` exact pin) or a git module pinned to a version tag."""
    src = ref.source
    version = ref.version
    if src is None or src.kind in (SourceKind.LOCAL, SourceKind.DYNAMIC):
        return
    if src.kind == SourceKind.REGISTRY and src.identity:
        module = registry_module_address(src.identity, found.config.default_registry)
        if module is None:
            return
        target = found.dep(str(module), DepKind.MODULE, module)
        # Terragrunt "tfr:///NS/NAME/SYSTEM?version=X" pins an exact version in the source.
        pinned = src.ref if (not version and src.ref and parse_version(src.ref)) else None
        if not version and not pinned:
            target.skipped.append(f"{where}: no version constraint")
            return
        target.occurrences.append(
            _occurrence(
                ref,
                "module",
                pinned or version or "",
                exact=pinned is not None,
                address=address_without_query(src.raw),
            )
        )
    elif src.kind in _GIT_KINDS and src.identity:
        url = git_remote_url(src.raw)
        if url is None:
            return
        ref_version = parse_version(src.ref) if src.ref else None
        # One repository may carry several tag series (``modules/vpc/v1.0.0``, or suffix
        # families ``v1.0.0-queue`` / ``v1.0.0-topic``): each is a dependency of its own.
        scheme = TagScheme.of_version(ref_version) if ref_version is not None else TagScheme()
        dep_id = src.identity if scheme == TagScheme() else f"{src.identity}#{scheme.key}"
        target = found.dep(dep_id, DepKind.MODULE, GitRemote(url))
        if not src.updatable or ref_version is None:
            target.skipped.append(
                f"{where}: ref {src.ref!r} is not a version tag ({src.reason or src.ref_kind})"
            )
            return
        target.occurrences.append(
            _occurrence(ref, "module", src.ref or "", exact=True, address=address_without_query(src.raw))
        )


def _collect_workflows(found: _Found, files: Mapping[str, bytes]) -> None:
    """``terraform_version`` / ``tofu_version`` inputs in ``.github/workflows/*.yml`` (exact
    versions only; anything else is a skipped place)."""
    for path in sorted(p for p in files if WORKFLOW_RE.match(p)):
        try:
            text = files[path].decode("utf-8")
        except UnicodeDecodeError:
            found.errors.append(f"{path}:1:1: not UTF-8")
            continue
        for lineno, line in enumerate(text.splitlines(), start=1):
            m = _WORKFLOW_INPUT_RE.match(line)
            if not m:
                continue
            target = found.cli("terraform" if m["key"] == "terraform_version" else "opentofu")
            col = m.start("val") + 1
            value = m["val"]
            if parse_version(value) is None:
                target.skipped.append(f"{path}:{lineno}:{col}: {m['key']} {value!r} is not an exact version")
                continue
            target.occurrences.append(
                Occurrence(path=path, line=lineno, col=col, where="workflow", current=value, exact=True)
            )
