"""The sweep's values: dependencies, where they are written, what upstreams offer, what was decided.

A ``Dependency`` (found by ``sweep.collect``) names where its versions come from with a typed
``Lookup``; ``Available`` is what ``sweep.resolve`` got from that upstream; a
``DependencyResult`` (``sweep.plan``) holds the decision and its byte-exact edits; a ``PullPlan``
(``sweep.plan.group``) is one PR's share of the results.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from catalog_ops.core.edits import Edit, apply_edits
from catalog_ops.core.sources import ProviderAddress, RegistryModuleAddress
from catalog_ops.core.versions import Level, Version


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


@dataclasses.dataclass(frozen=True)
class ForgeReleases:
    """Versions are the releases of ``repo`` (``OWNER/NAME``) on the forge (the CLI upstreams)."""

    repo: str


@dataclasses.dataclass(frozen=True)
class GitRemote:
    """Versions are the tags of the git remote at ``url`` (``git ls-remote --tags``)."""

    url: str


Lookup = ForgeReleases | ProviderAddress | RegistryModuleAddress | GitRemote
"""Where a dependency's versions come from: forge releases, the provider or module registry
protocol of the address's host, or a git remote's tags."""


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
        lookup: where versions come from (see ``Lookup``).
        occurrences: the places, in file order.
        skipped: ``path:line:col: reason`` for places that cannot be updated.
        hints: ``path:line:col: advice`` for places that are updated but should be rewritten
            (a legacy ``provider { version }`` constraint: move it to ``required_providers``).
    """

    id: str
    kind: DepKind
    lookup: Lookup
    occurrences: list[Occurrence] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    hints: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Available:
    """Versions an upstream offers (any order; pre-releases included) and release-note links
    keyed by ``Version.core`` (``str(version)`` for git tags)."""

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
        update: biggest update level among the changed places.
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
    update: Level = Level.NONE
    new: list[str] = dataclasses.field(default_factory=list)
    notes_url: str | None = None
    reason: str | None = None
    edits: dict[str, list[Edit]] = dataclasses.field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        """Paths this result changes, sorted."""
        return sorted(self.edits)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (one entry of the report's ``dependencies``)."""
        dep = self.dependency
        return {
            "id": dep.id,
            "kind": dep.kind.value,
            "status": self.status.value,
            "current": list(self.current),
            "latest": self.latest,
            "target": self.target.core if self.target else None,
            "update": self.update.value,
            "new": list(self.new),
            "files": self.files,
            "notes_url": self.notes_url,
            "reason": self.reason,
            "skipped": list(dep.skipped),
            "hints": list(dep.hints),
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

        Args:
            files: path -> original bytes (UTF-8 text) of the files the results edit.

        Raises:
            EditConflict: two results edit the same bytes differently.
            UnicodeDecodeError: a file is not UTF-8.
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
