"""What upstreams offer: available versions and release-note links per dependency (I/O).

Each dependency's ``Lookup`` says where to ask: the forge's releases (CLI upstreams), the
provider or module registry protocol of the address's host (``sweep.registry``), or the tags of
a git remote. An upstream that fails gives an error message for its dependency only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from catalog_ops.core.sources import (
    ProviderAddress,
    RegistryModuleAddress,
    git_release_url,
    module_docs_url,
    provider_docs_url,
)
from catalog_ops.core.versions import Version, parse_version
from catalog_ops.errors import CatalogOpsError
from catalog_ops.forge.base import Releases
from catalog_ops.sweep.config import SweepConfig
from catalog_ops.sweep.model import Available, Dependency, ForgeReleases, GitRemote
from catalog_ops.sweep.registry import RegistryError

GitTags = Callable[[str], list[str]]
"""``url -> tag names`` of a git remote (``registry.git_remote_tags`` with an environment)."""


class VersionRegistry(Protocol):
    """The registry protocol client the sweep asks (``registry.RegistryClient``)."""

    def provider_versions(self, host: str, namespace: str, type_: str) -> list[str]:
        """Version strings of a provider. Raises RegistryError."""
        ...

    def module_versions(self, host: str, namespace: str, name: str, system: str) -> list[str]:
        """Version strings of a registry module. Raises RegistryError."""
        ...


def release_notes_url(dep: Dependency, version: Version, tag: str | None = None) -> str | None:
    """Link to upstream release notes/docs for ``version`` where the host is known: the public
    Terraform registry's provider/module pages, GitHub release pages for github.com git modules
    (``tag`` is the git tag as written). None elsewhere."""
    lookup = dep.lookup
    if isinstance(lookup, ProviderAddress):
        return provider_docs_url(lookup, version.core)
    if isinstance(lookup, RegistryModuleAddress):
        return module_docs_url(lookup, version.core)
    if isinstance(lookup, GitRemote) and tag:
        return git_release_url(dep.id.split("#", 1)[0], tag)  # "#SERIES": see collect
    return None


def resolve(
    deps: Sequence[Dependency],
    *,
    registry: VersionRegistry,
    forge: Releases | None,
    git_tags: GitTags,
    config: SweepConfig | None = None,
) -> dict[str, Available | str]:
    """Fetch available versions for each dependency that has a place to update.

    Args:
        deps: from ``collect``.
        registry: the registry protocol client.
        forge: the forge whose releases give the CLI versions (None: no CLI dependency expected).
        git_tags: ``url -> tag names``.
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


def _from_registry(dep: Dependency, raw: list[str]) -> Available:
    versions = [v for v in (parse_version(x) for x in raw) if v is not None]
    return Available(
        versions=tuple(versions), notes={v.core: u for v in versions if (u := release_notes_url(dep, v))}
    )


def _resolve_one(
    dep: Dependency, registry: VersionRegistry, forge: Releases | None, git_tags: GitTags
) -> Available:
    lookup = dep.lookup
    if isinstance(lookup, ForgeReleases):
        if forge is None:
            raise RegistryError(f"{lookup.repo}: no forge to read its releases from")
        versions, notes = [], {}
        for release in forge.list_releases(lookup.repo):
            if release.draft:
                continue
            v = parse_version(release.tag)
            if v is None or (release.prerelease and not v.is_prerelease):
                continue
            versions.append(v)
            notes[v.core] = release.url
        if not versions:
            raise RegistryError(f"{lookup.repo}: no releases found on the forge")
        return Available(versions=tuple(versions), notes=notes)
    if isinstance(lookup, ProviderAddress):
        return _from_registry(dep, registry.provider_versions(*lookup))
    if isinstance(lookup, RegistryModuleAddress):
        return _from_registry(dep, registry.module_versions(*lookup))
    versions = []
    notes = {}
    for tag in git_tags(lookup.url):
        v = parse_version(tag)
        if v is None:
            continue
        versions.append(v)
        url = release_notes_url(dep, v, tag)
        if url:
            notes[str(v)] = url
    return Available(versions=tuple(versions), notes=notes)
