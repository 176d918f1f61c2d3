"""The version vocabulary: versions, tag schemes, bump levels, urgency; and Terraform constraints.

A *version* is a semantic version (semver.org 2.0.0, on the ``semver`` package) with an optional
prefix kept as written: ``1.2.3``, ``v1.2.3`` or a monorepo tag such as ``modules/vpc/v1.2.3``.
Precedence follows semver.org §11 (build metadata and prefix ignored).

A *tag scheme* says which tags form one release series: repository-wide (``v1.2.3`` or ``1.2.3``)
or per module (``modules/vpc/v1.2.3``). A *level* is how far apart two versions are, or how far
a change moves the version (none < patch < minor < major); an *urgency* is how pressing a
release is (normal < security). Levels and urgencies are string enums whose values are the words
written in plan JSON, release metadata, CLI options and templates.

A *constraint* follows Terraform's version constraint syntax
(https://developer.hashicorp.com/terraform/language/expressions/version-constraints):
comma-separated ``OP VERSION`` parts with ``=`` (or none), ``!=``, ``>``, ``>=``, ``<``, ``<=`` and
``~>`` (pessimistic: only the right-most given component may grow). Versions in constraints may be
partial (``1.2`` means ``1.2.0``). A pre-release version is admitted only by an exact ``=`` part.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Iterable
from typing import ClassVar, SupportsInt, cast

import semver

from catalog_ops.core.version_text import VERSION_RE as _VERSION_RE
from catalog_ops.errors import UsageError

__all__ = [
    "Constraint",
    "ConstraintPart",
    "Level",
    "TagScheme",
    "Urgency",
    "Version",
    "constraint_admits",
    "family_suffix",
    "is_unstable",
    "parse_constraint",
    "parse_version",
    "update_constraint",
    "update_type",
]


class Version(semver.Version):
    """A ``semver.Version`` plus the prefix it was written with.

    Construct with ``Version(major, minor, patch, prerelease=None, build=None, prefix="")`` or
    parse with ``Version.parse`` / ``parse_version``. Everything of ``semver.Version`` applies
    (``bump_major()``, ``finalize_version()``, ``replace()``, ``compare()``; ``prerelease`` and
    ``build`` are None when absent); results of those keep no prefix.

    Attributes:
        prefix: text before the version core as written: ``""``, ``"v"`` or ``"modules/vpc/v"``.

    Ordering, equality and hashing follow semver.org precedence only (prefix and build ignored).
    ``str()`` gives the version as written (prefix + core); ``core`` the version without prefix.
    """

    __slots__ = ("_prefix",)

    def __init__(
        self,
        major: SupportsInt,
        minor: SupportsInt = 0,
        patch: SupportsInt = 0,
        prerelease: str | int | None = None,
        build: str | int | None = None,
        *,
        prefix: str = "",
    ) -> None:
        super().__init__(major, minor, patch, None if prerelease == "" else prerelease, build or None)
        self._prefix = prefix

    @property
    def prefix(self) -> str:
        """Text written before the version core (``""``, ``"v"``, ``"modules/vpc/v"``)."""
        return self._prefix

    @property
    def core(self) -> str:
        """The version without prefix: ``1.2.3-rc.1+b5`` (semver.org 2.0.0 text)."""
        return super().__str__()

    @property
    def is_prerelease(self) -> bool:
        """True when the version has pre-release identifiers (semver.org §9)."""
        return bool(self.prerelease)

    def bump(self, level: Level) -> Version:
        """The next version at ``level`` (semver.org §6-8: patch, minor or major; lower parts
        reset to 0, pre-release and build dropped); ``Level.NONE`` returns ``self``."""
        if level == Level.MAJOR:
            return cast(Version, self.bump_major())
        if level == Level.MINOR:
            return cast(Version, self.bump_minor())
        if level == Level.PATCH:
            return cast(Version, self.bump_patch())
        return self

    def finalize_version(self) -> Version:
        """This version without pre-release and build (``1.3.0-rc.1`` -> ``1.3.0``), no prefix."""
        return Version(self.major, self.minor, self.patch)

    def replace(self, **parts: int | str | None) -> Version:
        """A copy with some of ``major``, ``minor``, ``patch``, ``prerelease``, ``build`` changed
        (no prefix). Raises TypeError on other keys."""
        return cast(Version, super().replace(**parts))

    def with_prefix(self, prefix: str) -> str:
        """Return this version written with ``prefix`` (e.g. ``"v"`` → ``"v1.2.3"``)."""
        return prefix + self.core

    def __str__(self) -> str:
        return self._prefix + self.core

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"

    @classmethod
    def parse(cls, version: str | bytes, optional_minor_and_patch: bool = False) -> Version:
        """Parse ``"v1.2.3"``, ``"1.2.3-rc.1"`` or ``"modules/vpc/v1.2.3"`` (prefix kept).

        The prefix may be empty, ``v``/``V``, or a tag path ending in ``/``, ``-`` or ``_``
        optionally followed by ``v`` (monorepo tags). The core must be a full semver.org 2.0.0
        version (``optional_minor_and_patch`` is accepted for ``semver.Version`` compatibility and
        must be False).

        Raises:
            ValueError: the text is not a version.
        """
        text = version.decode("utf-8") if isinstance(version, bytes) else version
        m = _VERSION_RE.fullmatch(text.strip())
        if m is None or optional_minor_and_patch:
            raise ValueError(f"{text!r} is not a semantic version")
        return cls(
            int(m["major"]), int(m["minor"]), int(m["patch"]), m["pre"], m["build"], prefix=m["prefix"]
        )


def parse_version(text: str) -> Version | None:
    """``Version.parse(text)``, or ``None`` when ``text`` is not a (prefixed) semantic version."""
    try:
        return Version.parse(text)
    except ValueError:
        return None


# --------------------------------------------------------------------------- ordered words


class _Ranked(enum.StrEnum):
    """A string enum ordered by the order its members are declared (not alphabetically).

    Comparing with a plain string compares with the member of that value (``ValueError`` when
    there is none).
    """

    @classmethod
    def values(cls) -> tuple[str, ...]:
        """The words of the members, lowest first (for CLI ``choices`` and validation)."""
        return tuple(m.value for m in cls)

    @property
    def rank(self) -> int:
        """Position in declaration order (0 for the lowest)."""
        return type(self)._member_names_.index(self.name)

    def _other_rank(self, other: str) -> int:
        return type(self)(other).rank

    def __lt__(self, other: str) -> bool:
        return self.rank < self._other_rank(other)

    def __le__(self, other: str) -> bool:
        return self.rank <= self._other_rank(other)

    def __gt__(self, other: str) -> bool:
        return self.rank > self._other_rank(other)

    def __ge__(self, other: str) -> bool:
        return self.rank >= self._other_rank(other)


class Level(_Ranked):
    """How far apart two versions are, or how far a change moves the version (semver.org §8).

    Ordered ``NONE < PATCH < MINOR < MAJOR``, so ``max()`` picks the biggest; the values are the
    words used in plan JSON, release notes and ``--bump`` (``"none"``, ``"patch"``, ...).
    """

    NONE = "none"
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"


class Urgency(_Ranked):
    """How pressing a release is: ``NORMAL < SECURITY`` (release metadata ``urgency``,
    ``--urgency``). ``security`` when a release carries a security fix (``docs/releases.md``)."""

    NORMAL = "normal"
    SECURITY = "security"

    @classmethod
    def highest(cls, urgencies: Iterable[str]) -> Urgency:
        """The highest of ``urgencies``; unknown words are ignored; ``NORMAL`` when none."""
        known = [cls(u) for u in urgencies if u in cls.values()]
        return max(known, default=cls.NORMAL)


def update_type(old: Version, new: Version) -> Level:
    """Classify the change from ``old`` to ``new`` (either direction) by the first differing component.

    A change only in pre-release identifiers counts as ``PATCH``; equal precedence is ``NONE``.
    """
    if old.major != new.major:
        return Level.MAJOR
    if old.minor != new.minor:
        return Level.MINOR
    if old.patch != new.patch or old.prerelease != new.prerelease:
        return Level.PATCH
    return Level.NONE


# --------------------------------------------------------------------------- tag schemes


PRERELEASE_LABELS = frozenset(
    {
        "a", "alpha", "b", "beta", "c", "rc", "cr", "pre", "preview", "dev", "devel", "develop",
        "snapshot", "canary", "nightly", "next", "edge", "experimental", "exp", "test", "testing",
        "unstable", "insiders", "ea", "early", "m", "milestone", "draft", "wip", "tmp", "temp",
    }
)  # fmt: skip
"""Words that mark a pre-release when they make up a version's pre-release part (the labels
semver.org §9's examples and the common release tools use: ``alpha``, ``beta``, ``rc``, ...)."""
_FAMILY_RE = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


def family_suffix(version: Version) -> str | None:
    """The tag family a version's suffix names, or None when it has none.

    Some catalogs tag each module of one repository with a suffix instead of a path prefix:
    ``v1.0.0-queue``, ``v1.1.0-topic``. semver.org reads ``-queue`` as a pre-release; catalog-ops
    reads it as a *family* (one release series per module) when the pre-release part is one
    word (letters, inner dashes; no digits, no dots) that is not a pre-release label
    (``PRERELEASE_LABELS``: ``alpha``, ``beta``, ``rc``, ...). So ``v1.0.0-queue`` and
    ``v1.0.0-sqs-queue`` have families ``queue`` and ``sqs-queue``; ``v1.0.0-rc.1``,
    ``v1.0.0-beta`` and ``v1.0.0-queue2`` have none (they are pre-releases).
    """
    pre = version.prerelease
    if not pre or not _FAMILY_RE.fullmatch(pre):
        return None
    if pre.split("-", 1)[0].lower() in PRERELEASE_LABELS:
        return None
    return pre


def is_unstable(version: Version) -> bool:
    """True for a pre-release that is not a family release (``family_suffix``): ``v1.0.0-rc.1``
    is unstable, ``v1.0.0-queue`` is the ``queue`` family's stable 1.0.0."""
    return version.is_prerelease and family_suffix(version) is None


@dataclasses.dataclass(frozen=True)
class TagScheme:
    """Which tags form one release series.

    ``module=None``: repository-wide ``v{version}`` or ``{version}`` (the ``v`` is a writing
    style, not a different series). ``module="modules/vpc"``: ``modules/vpc/v{version}`` or
    ``modules/vpc/{version}``. A tag belongs to a scheme only when everything after the prefix is a
    semver.org 2.0.0 version, so ``modules/vpc-peering/v1.0.0`` never counts for ``modules/vpc``
    and module tags never count for the repository-wide scheme.

    ``suffix``: the tag family of suffix-tagged modules (``v1.0.0-queue`` -> ``"queue"``, see
    ``family_suffix``); ``of_version`` sets it, ``of`` (prefix only) never does.
    """

    module: str | None = None
    suffix: str | None = None

    #: the values of ``kind`` (``--tag-scheme``), repository-wide first.
    KINDS: ClassVar[tuple[str, str]] = ("repo", "module")

    def __post_init__(self) -> None:
        if self.module is not None:  # "modules/vpc/" and "modules/vpc" are one module
            object.__setattr__(self, "module", self.module.strip("/"))

    @classmethod
    def of(cls, prefix: str) -> TagScheme:
        """The scheme of a version written with ``prefix`` (``Version.prefix``): ``""``, ``"v"``
        and ``"V"`` are repository-wide; ``"modules/vpc/v"`` and ``"modules/vpc/"`` are
        ``modules/vpc``; any other prefix (``"release-"``) is a series of its own."""
        if prefix in ("", "v", "V"):
            return cls()
        base = prefix[:-1] if prefix[-1] in "vV" and prefix[-2:-1] in ("/", "-", "_") else prefix
        return cls(base[:-1] if base.endswith("/") else base)

    @classmethod
    def of_version(cls, version: Version) -> TagScheme:
        """The series ``version`` belongs to: its prefix's scheme (``of``) plus its tag family
        (``family_suffix``): ``v1.0.0-queue`` and ``v1.1.0-topic`` are two series, ``v1.0.0`` and
        ``v1.1.0-rc.1`` one."""
        return dataclasses.replace(cls.of(version.prefix), suffix=family_suffix(version))

    @classmethod
    def from_key(cls, key: str) -> TagScheme:
        """Inverse of ``key``."""
        base, sep, suffix = key.partition("*-")
        return dataclasses.replace(cls.of(base), suffix=suffix or None) if sep else cls.of(key)

    @property
    def key(self) -> str:
        """The scheme as one string (plan JSON ``bumps[].scheme``): ``""`` repository-wide, else
        the module's ``v``-style tag prefix (``"modules/vpc/v"``); a family adds ``*-SUFFIX``
        (``"v*-queue"``)."""
        base = "" if self.module is None else self.prefixes[0]
        return base if self.suffix is None else f"{base or 'v'}*-{self.suffix}"

    @property
    def kind(self) -> str:
        """``"repo"`` or ``"module"``."""
        return "repo" if self.module is None else "module"

    @property
    def prefixes(self) -> tuple[str, str]:
        """(prefix with ``v``, prefix without)."""
        base = "" if self.module is None else self.module.strip("/") + "/"
        return base + "v", base

    def owns(self, version: Version) -> bool:
        """True when ``version`` belongs to this series: written with a prefix of this scheme
        and in this scheme's tag family (``of_version``). So a scheme without a family never owns
        ``v1.0.0-queue`` (the ``queue`` family's 1.0.0, not a pre-release of 1.0.0), and the
        ``queue`` family never owns ``v1.1.0-topic``; pre-releases (``v1.1.0-rc.1``) stay in
        their prefix's series. The one rule release, rollout, bump and the sweep follow."""
        return TagScheme.of_version(version) == self

    def parse(self, tag: str) -> tuple[Version, str] | None:
        """``(version, prefix)`` when ``tag`` belongs to this scheme (``owns``), else None."""
        for prefix in self.prefixes:
            if tag.startswith(prefix):
                rest = tag[len(prefix) :]
                if semver.Version.is_valid(rest):
                    v = semver.Version.parse(rest)
                    version = Version(v.major, v.minor, v.patch, v.prerelease, v.build, prefix=prefix)
                    if family_suffix(version) == self.suffix:
                        return version, prefix
        return None

    def format(self, version: Version, prefix: str | None = None) -> str:
        """Tag name for ``version`` (its core, whatever prefix it was written with); ``prefix``
        (one of ``prefixes``) defaults to the ``v`` style. A family scheme appends its suffix
        to a version without one (``1.0.1`` -> ``v1.0.1-queue``)."""
        core = version.core
        if self.suffix is not None and not version.prerelease:
            core += f"-{self.suffix}"
        return (self.prefixes[0] if prefix is None else prefix) + core

    def families(self, tags: Iterable[str]) -> list[TagScheme]:
        """The tag families of this scheme's prefix among ``tags`` (``v1.0.0-queue`` ->
        ``TagScheme(suffix="queue")``), sorted by suffix."""
        found = set()
        for tag in tags:
            for prefix in self.prefixes:
                rest = tag[len(prefix) :] if tag.startswith(prefix) else None
                if rest is not None and semver.Version.is_valid(rest):
                    v = semver.Version.parse(rest)
                    fam = family_suffix(
                        Version(v.major, v.minor, v.patch, v.prerelease, v.build, prefix=prefix)
                    )
                    if fam is not None:
                        found.add(fam)
        return [dataclasses.replace(self, suffix=f) for f in sorted(found)]


# --------------------------------------------------------------------------- constraints

_PART_RE = re.compile(
    r"\s*(?P<op>~>|>=|<=|!=|=|>|<)?\s*(?P<ver>v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)\s*"
)
_PARTIAL_RE = re.compile(
    r"v?(?P<a>\d+)(?:\.(?P<b>\d+))?(?:\.(?P<c>\d+))?(?:-(?P<pre>[0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?"
)


@dataclasses.dataclass(frozen=True)
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


@dataclasses.dataclass(frozen=True)
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
        version = Version(int(vm["a"]), int(vm["b"] or 0), int(vm["c"] or 0), vm["pre"])
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


def _pessimistic(old: ConstraintPart, target: Version) -> str:
    """The version of a ``~>`` part moved to admit ``target``, in the shape it was written.

    The precision (how many components) is kept, and so is the ``.0`` patch floor of the
    three-component idiom "any patch of X.Y": ``~> 1.2.0`` for 1.3.7 becomes ``~> 1.3.0`` (not
    ``~> 1.3.7``); a non-zero patch follows the target (``~> 1.2.5`` for 1.3.7 becomes
    ``~> 1.3.7``), and so does a two-component part (``~> 1.1`` or ``~> 1.0`` for 1.3.0 becomes
    ``~> 1.3``: its right-most component is the minor, which the update moves). Both shapes admit
    the target: under hashicorp/go-version's pessimistic operator only the right-most written
    component may grow (https://developer.hashicorp.com/terraform/language/expressions/version-constraints).

    The floor holds for ``bump``'s ``move_pessimistic`` too, so moving is idempotent: ``~> 1.1.0``
    moved to 1.1.5 stays ``~> 1.1.0`` (it already admits every 1.1.x, as the user wrote it).
    """
    segs = old.segments
    nums = [target.major, target.minor, target.patch][:segs]
    written = [old.version.major, old.version.minor, old.version.patch][:segs]
    if segs == 3 and written[-1] == 0:
        nums[-1] = 0
    return ".".join(str(x) for x in nums)


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
    precision and a ``.0`` floor (``~> 1.2.0`` → ``~> 1.3.0`` for 1.3.7, see ``_pessimistic``;
    ``~> 1.1`` → ``~> 2.0`` for 2.0.0 — under Terraform's
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
            new = _pessimistic(part, target)
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
