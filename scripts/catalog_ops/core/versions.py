"""Versions (semver.org 2.0.0 values that remember how they were written) and Terraform constraints.

A *version* is a semantic version with an optional prefix: ``1.2.3``, ``v1.2.3`` or a monorepo tag
such as ``modules/vpc/v1.2.3``. Precedence follows semver.org §11 (build metadata ignored).

A *constraint* follows Terraform's version constraint syntax
(https://developer.hashicorp.com/terraform/language/expressions/version-constraints):
comma-separated ``OP VERSION`` parts with ``=`` (or none), ``!=``, ``>``, ``>=``, ``<``, ``<=`` and
``~>`` (pessimistic: only the right-most given component may grow). Versions in constraints may be
partial (``1.2`` means ``1.2.0``). A pre-release version is admitted only by an exact ``=`` part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum

from catalog_ops.errors import UsageError

_CORE = (
    r"(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*))?"
    r"(?:\+(?P<build>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?"
)
_VERSION_RE = re.compile(r"(?P<prefix>(?:[A-Za-z0-9._/-]*[/_-])?[vV]?)" + _CORE)


def _pre_key(pre: str) -> tuple[object, ...]:
    if not pre:
        return (1,)
    parts: list[tuple[int, int | str]] = []
    for ident in pre.split("."):
        parts.append((0, int(ident)) if ident.isdigit() else (1, ident))
    return (0, tuple(parts))


@dataclass(frozen=True, order=True)
class Version:
    """A semantic version plus the prefix it was written with.

    Attributes:
        major, minor, patch: numeric components.
        prerelease: dot-separated pre-release identifiers without the ``-`` (``""`` if none).
        build: build metadata without the ``+`` (``""`` if none); ignored for ordering.
        prefix: text before the version core as written: ``""``, ``"v"`` or ``"modules/vpc/v"``.

    Ordering and equality follow semver.org precedence only (prefix and build are ignored).
    """

    key: tuple[object, ...] = field(init=False, repr=False)
    major: int = field(compare=False)
    minor: int = field(compare=False)
    patch: int = field(compare=False)
    prerelease: str = field(default="", compare=False)
    build: str = field(default="", compare=False)
    prefix: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", (self.major, self.minor, self.patch, _pre_key(self.prerelease)))

    @property
    def core(self) -> str:
        """The version without prefix: ``1.2.3-rc.1+b5``."""
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += f"-{self.prerelease}"
        if self.build:
            text += f"+{self.build}"
        return text

    @property
    def is_prerelease(self) -> bool:
        """True when the version has pre-release identifiers (semver.org §9)."""
        return bool(self.prerelease)

    def with_prefix(self, prefix: str) -> str:
        """Return this version written with ``prefix`` (e.g. ``"v"`` → ``"v1.2.3"``)."""
        return prefix + self.core

    def __str__(self) -> str:
        return self.prefix + self.core


def parse_version(text: str) -> Version | None:
    """Parse ``"v1.2.3"``, ``"1.2.3-rc.1"`` or ``"modules/vpc/v1.2.3"``; ``None`` if not a version.

    The prefix may be empty, ``v``/``V``, or a tag path ending in ``/``, ``-`` or ``_`` optionally
    followed by ``v`` (monorepo tags). The core must be a full semver.org 2.0.0 version.
    """
    m = _VERSION_RE.fullmatch(text.strip())
    if not m:
        return None
    return Version(
        major=int(m["major"]),
        minor=int(m["minor"]),
        patch=int(m["patch"]),
        prerelease=m["pre"] or "",
        build=m["build"] or "",
        prefix=m["prefix"],
    )


class UpdateType(IntEnum):
    """How far apart two versions are; ordered so ``max()`` picks the biggest change."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3


def update_type(old: Version, new: Version) -> UpdateType:
    """Classify the change from ``old`` to ``new`` (either direction) by the first differing component.

    A change only in pre-release identifiers counts as ``PATCH``; equal precedence is ``NONE``.
    """
    if old.major != new.major:
        return UpdateType.MAJOR
    if old.minor != new.minor:
        return UpdateType.MINOR
    if old.patch != new.patch or old.prerelease != new.prerelease:
        return UpdateType.PATCH
    return UpdateType.NONE


# --------------------------------------------------------------------------- constraints

_PART_RE = re.compile(
    r"\s*(?P<op>~>|>=|<=|!=|=|>|<)?\s*(?P<ver>v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)\s*"
)
_PARTIAL_RE = re.compile(
    r"v?(?P<a>\d+)(?:\.(?P<b>\d+))?(?:\.(?P<c>\d+))?(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)


@dataclass(frozen=True)
class ConstraintPart:
    """One ``OP VERSION`` part of a constraint.

    Attributes:
        op: ``"="``, ``"!="``, ``">"``, ``">="``, ``"<"``, ``"<="`` or ``"~>"`` (``"="`` when omitted).
        op_written: the operator as written (``""`` when omitted).
        version: the version padded to three components.
        segments: how many numeric components were written (1–3).
        span: ``[start, end)`` of the version text inside the constraint string.
    """

    op: str
    op_written: str
    version: Version
    segments: int
    span: tuple[int, int]
    op_span: tuple[int, int] | None = None


@dataclass(frozen=True)
class Constraint:
    """A parsed Terraform version constraint: the original ``text`` and its ``parts`` (AND-ed)."""

    text: str
    parts: tuple[ConstraintPart, ...]

    def admits(self, version: Version) -> bool:
        """True when every part admits ``version`` (pre-releases only by an exact ``=`` part)."""
        if version.is_prerelease and not any(
            p.op == "=" and p.version == version and p.version.prerelease for p in self.parts
        ):
            return False
        return all(_part_admits(p, version) for p in self.parts)


def parse_constraint(text: str) -> Constraint:
    """Parse a Terraform version constraint string such as ``">= 1.2, < 2.0.0"`` or ``"~> 1.1"``.

    Raises:
        UsageError: the text is empty or a part is not ``[OP] VERSION``.
    """
    parts: list[ConstraintPart] = []
    pos = 0
    if not text.strip():
        raise UsageError(f"empty version constraint {text!r}")
    for chunk in text.split(","):
        m = _PART_RE.fullmatch(chunk)
        if not m:
            raise UsageError(f"invalid version constraint part {chunk.strip()!r} in {text!r}")
        vm = _PARTIAL_RE.fullmatch(m["ver"])
        assert vm is not None
        segments = 1 + (vm["b"] is not None) + (vm["c"] is not None)
        version = Version(
            major=int(vm["a"]),
            minor=int(vm["b"] or 0),
            patch=int(vm["c"] or 0),
            prerelease=vm["pre"] or "",
        )
        start = pos + m.start("ver")
        op_span = (pos + m.start("op"), pos + m.end("op")) if m["op"] else None
        parts.append(
            ConstraintPart(
                op=m["op"] or "=",
                op_written=m["op"] or "",
                version=version,
                segments=segments,
                span=(start, start + len(m["ver"])),
                op_span=op_span,
            )
        )
        pos += len(chunk) + 1
    return Constraint(text=text, parts=tuple(parts))


def _part_admits(part: ConstraintPart, v: Version) -> bool:
    c = part.version
    if part.op == "=":
        return v == c
    if part.op == "!=":
        return v != c
    if part.op == ">":
        return v > c
    if part.op == ">=":
        return v >= c
    if part.op == "<":
        return v < c
    if part.op == "<=":
        return v <= c
    # "~>": hashicorp/go-version pessimistic constraint.
    if v < c:
        return False
    cs = [c.major, c.minor, c.patch][: part.segments]
    vs = [v.major, v.minor, v.patch]
    if any(vs[i] != cs[i] for i in range(len(cs) - 1)):
        return False
    return cs[-1] <= vs[len(cs) - 1]


def constraint_admits(text: str, version: Version) -> bool:
    """True when the Terraform constraint ``text`` admits ``version``.

    Raises:
        UsageError: ``text`` is not a valid constraint.
    """
    return parse_constraint(text).admits(version)


def _truncate(v: Version, segments: int) -> str:
    return ".".join(str(x) for x in (v.major, v.minor, v.patch)[:segments])


def _upper_bound(old: ConstraintPart, target: Version) -> str:
    """A new exclusive upper bound above ``target`` with the shape (precision, boundary) of ``old``."""
    c = old.version
    segs = old.segments
    if c.minor == 0 and c.patch == 0:  # major boundary: < 2 / < 2.0 / < 2.0.0
        nums = [target.major + 1, 0, 0]
    elif c.patch == 0 and segs >= 2:  # minor boundary
        nums = [target.major, target.minor + 1, 0]
    else:
        nums = [target.major, target.minor, target.patch + 1]
        segs = 3
    return ".".join(str(x) for x in nums[:segs])


def update_constraint(text: str, target: Version, *, move_pessimistic: bool = False) -> str | None:
    """Return ``text`` changed to admit ``target``, or ``None`` when it already admits it (unchanged).

    Rules (issue 3): a constraint that already admits the target is left unchanged (``None``);
    otherwise an exact pin is replaced by the target; a ``~>`` part keeps its operator and
    precision (``~> 1.1.0`` → ``~> 1.3.0``; ``~> 1.1`` → ``~> 2.0`` for 2.0.0 — under Terraform's
    semantics ``~> 1.1`` already admits every 1.x from 1.1 on); any other range is widened to
    admit the target while keeping its lower bound (upper bounds move up keeping their shape, a
    ``!=`` excluding the target is dropped). Only version tokens change; spacing, operators and a
    ``v`` prefix stay as written. A pre-release target turns the constraint into an exact pin
    (Terraform admits pre-releases only by exact ``=``).

    With ``move_pessimistic`` (what ``catalog-ops bump`` uses, following the issue's example
    ``~> 1.1`` → ``~> 1.3``), ``~>`` parts always follow the target at their precision even when
    they already admit it; ``None`` then means the text would not change.

    Raises:
        UsageError: ``text`` is not a valid constraint.
    """
    cons = parse_constraint(text)
    pessimistic = move_pessimistic and not target.is_prerelease and any(p.op == "~>" for p in cons.parts)
    if cons.admits(target) and not pessimistic:
        return None
    if target.is_prerelease:
        first = cons.parts[0]
        if len(cons.parts) == 1 and first.op == "=":
            return _replace(text, first.span, target.core)
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()) :]
        return f"{lead}{target.core}{trail}" if not first.op_written else f"{lead}= {target.core}{trail}"
    edits: list[tuple[int, int, str]] = []
    drops: list[int] = []
    for i, part in enumerate(cons.parts):
        if _part_admits(part, target) and not (pessimistic and part.op == "~>"):
            continue
        if part.op == "=":
            new = target.core
        elif part.op == "~>":
            new = _truncate(target, part.segments)
        elif part.op in ("<", "<="):
            new = _upper_bound(part, target) if part.op == "<" else target.core
        elif part.op in (">", ">="):
            # The target lies below the lower bound (a downgrade): move the bound down to it.
            new = target.core
            if part.op == ">" and part.op_span is not None:
                edits.append((part.op_span[0], part.op_span[1], ">="))
        else:  # "!="
            drops.append(i)
            continue
        old = text[part.span[0] : part.span[1]]
        if old.startswith("v"):
            new = "v" + new
        edits.append((part.span[0], part.span[1], new))
    result = text
    for start, end, new in sorted(edits, reverse=True):
        result = result[:start] + new + result[end:]
    if drops:
        pieces = result.split(",")
        kept = [p for i, p in enumerate(pieces) if i not in drops]
        result = ",".join(kept) if kept else target.core
        if kept and kept[0] != pieces[0]:
            result = result.lstrip()
    if not parse_constraint(result).admits(target):  # pragma: no cover - defensive
        return target.core
    return None if result == text else result


def _replace(text: str, span: tuple[int, int], new: str) -> str:
    return text[: span[0]] + new + text[span[1] :]
