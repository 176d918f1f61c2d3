"""Migration patches: the value types (``Step``, ``Migration``), their limits and ``covers``.

A migration patch is a YAML file in the catalog next to the module it migrates
(``modules/vpc/migrations/<name>.yml``, docs/migrations.md). It names the breaking release(s)
it migrates across (``release: 3.0.0`` or ``applies_to: ">= 3.0.0, < 4.0.0"``) and ordered
``steps`` over the consumer's module block and its uses. Pure data: ``migrate.load`` builds
these values from YAML, ``migrate.apply`` turns them into ``core.edits.Edit`` spans.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from catalog_ops.core.versions import Version, constraint_admits, parse_version

SCHEMA = 1
"""The one patch file schema this version reads (``schema: 1``); others are errors."""

MIGRATIONS_DIR = "migrations"
"""Directory of a module (``<module>/migrations/``) that holds its patch files."""

# Bounds on what a catalog's patches may make a rollout do in each dependent (they are input
# written by the catalog's contributors and applied to every dependent: docs/security.md).
MAX_FILE_BYTES = 64 * 1024
MAX_STEPS = 64
MAX_FILES_PER_MODULE = 64
MAX_FILES = 1024
MAX_TEXT = 512  # an expression, literal (as rendered) or description, in characters
MAX_TARGETS = 256  # module blocks / units of one dependent one migration edits

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,127}")
"""An input / output name: a Terraform identifier (``hashicorp/hcl`` "Identifiers")."""

ADDRESS = re.compile(
    r"(?:module\.[A-Za-z_][A-Za-z0-9_-]*(?:\[[0-9]+\]|\[\"[A-Za-z0-9_.-]+\"\])?\.)*"
    r"(?:data\.)?[A-Za-z_][A-Za-z0-9_-]*\.[A-Za-z_][A-Za-z0-9_-]*(?:\[[0-9]+\]|\[\"[A-Za-z0-9_.-]+\"\])?"
)
"""A resource address inside the module (``aws_vpc.this``, ``module.inner.aws_vpc.this``)."""

SUBDIR = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*")
"""A module subdirectory of the catalog (``modules/vpc``), no leading or trailing slash."""

META_ARGUMENTS = frozenset({"source", "version", "count", "for_each", "providers", "depends_on"})
"""Module block arguments that are not inputs (Terraform "Module Blocks", meta-arguments)."""


class StepKind(StrEnum):
    """What a step does to a consumer (docs/migrations.md, "Steps")."""

    RENAME_INPUT = "rename_input"
    REMOVE_INPUT = "remove_input"
    ADD_INPUT = "add_input"
    CHANGE_SOURCE_SUBDIR = "change_source_subdir"
    RENAME_OUTPUT = "rename_output"
    ADD_MOVED = "add_moved"


@dataclass(frozen=True, kw_only=True)
class Step:
    """One declarative step.

    Attributes:
        kind: what the step does.
        old: the name/subdir/address being replaced (rename_input, remove_input, rename_output,
            change_source_subdir, add_moved ``from``); None for add_input.
        new: the replacement name/subdir/address (rename_*, change_source_subdir, add_moved
            ``to``) or the added input's name (add_input); None for remove_input.
        value: add_input only: a literal (str/int/float/bool/list/dict, as YAML read it), or
            None when ``expression`` is given.
        expression: add_input only: an HCL expression (one line, ``var.x``) written as is.
        line: 1-based line of the step in its patch file (for messages).
    """

    kind: StepKind
    old: str | None = None
    new: str | None = None
    value: Any = None
    expression: str | None = None
    line: int = 0

    def describe(self) -> str:
        """One line for PR bodies and reports, e.g. ``rename input cidr -> cidr_block``."""
        k = self.kind
        if k is StepKind.RENAME_INPUT:
            return f"rename input {self.old} -> {self.new}"
        if k is StepKind.REMOVE_INPUT:
            return f"remove input {self.old}"
        if k is StepKind.ADD_INPUT:
            what = (
                self.expression if self.expression is not None else json.dumps(self.value, ensure_ascii=False)
            )
            return f"add input {self.new} = {what}"
        if k is StepKind.CHANGE_SOURCE_SUBDIR:
            return f"change source //{self.old} -> //{self.new}"
        if k is StepKind.RENAME_OUTPUT:
            return f"rename output {self.old} -> {self.new}"
        return f"add moved {self.old} -> {self.new}"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (the plan JSON's ``migrations`` entries; ``from_json`` reads it)."""
        out: dict[str, Any] = {"kind": str(self.kind), "line": self.line}
        for key in ("old", "new", "expression"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.kind is StepKind.ADD_INPUT and self.expression is None:
            out["value"] = self.value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Step:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a malformed entry."""
        return cls(
            kind=StepKind(data["kind"]),
            old=data.get("old"),
            new=data.get("new"),
            value=data.get("value"),
            expression=data.get("expression"),
            line=int(data.get("line", 0)),
        )


@dataclass(frozen=True, kw_only=True)
class Migration:
    """One patch file: the module it migrates, which releases it covers, its steps.

    Attributes:
        module: catalog module dir (``modules/vpc``; ``.`` for the root module).
        name: file name without ``.yml``/``.yaml`` (orders patches of one release).
        path: the patch file's path in the catalog (for messages).
        release: the one release it migrates across (``release: 3.0.0``), or None.
        applies_to: a Terraform version constraint of the releases it covers, or None (exactly
            one of ``release``/``applies_to`` is set).
        description: one line for the PR body (untrusted: rendered through ``render.markdown``).
        steps: ordered steps.
    """

    module: str
    name: str
    path: str
    release: Version | None = None
    applies_to: str | None = None
    description: str = ""
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def covers(self, version: Version) -> bool:
        """True when this patch migrates across the release ``version`` (``release`` equal in
        precedence, or ``applies_to`` admits it)."""
        if self.release is not None:
            return version.compare(self.release) == 0
        return self.applies_to is not None and constraint_admits(self.applies_to, version)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (plan JSON, ``check migrations --json``)."""
        return {
            "module": self.module,
            "name": self.name,
            "path": self.path,
            "release": str(self.release) if self.release is not None else None,
            "applies_to": self.applies_to,
            "description": self.description,
            "steps": [s.to_json() for s in self.steps],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Migration:
        """Inverse of ``to_json``. Raises KeyError/ValueError on a malformed entry."""
        release = parse_version(data["release"]) if data.get("release") else None
        return cls(
            module=str(data["module"]),
            name=str(data["name"]),
            path=str(data["path"]),
            release=release,
            applies_to=data.get("applies_to"),
            description=str(data.get("description") or ""),
            steps=tuple(Step.from_json(s) for s in data.get("steps") or ()),
        )


def covering(migrations: Iterable[Migration], module: str, version: Version) -> list[Migration]:
    """The patches of ``module`` that migrate across ``version``, in name order."""
    return sorted((m for m in migrations if m.module == module and m.covers(version)), key=lambda m: m.name)


def covers(migrations: Iterable[Migration], module: str, version: Version) -> bool:
    """Is the breaking release ``version`` of ``module`` covered by a patch?

    The hook for "counts as non-breaking": a breaking release some patch covers is applied by
    the rollout, so ``next-safe`` may treat it as non-breaking for that module, and the rollout
    planner does (``rollout.planner``). Args: ``migrations`` as ``migrate.load`` returns them
    (the catalog's patches at the rolled-out tag), ``module`` a catalog module dir
    (``module_key`` names), ``version`` the release.
    """
    return bool(covering(migrations, module, version))


def for_update(
    migrations: Iterable[Migration], module: str, breaking: Sequence[Version]
) -> tuple[list[Migration], list[Version]]:
    """The patches an update of ``module`` applies, in order, and the breaking releases no
    patch covers.

    Args:
        breaking: the breaking releases the update spans (any order).

    Returns:
        ``(patches, uncovered)``: the patches of every covered release, oldest release first
        (a patch covering several spanned releases appears once, at its first), and the
        releases without a patch (an update with any is still breaking).
    """
    pool = list(migrations)
    out: list[Migration] = []
    uncovered: list[Version] = []
    for v in sorted(breaking):
        found = covering(pool, module, v)
        if not found:
            uncovered.append(v)
        out.extend(m for m in found if m not in out)
    return out, uncovered
