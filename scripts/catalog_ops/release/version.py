"""The release version algorithm (pure): which tags count, the next version, the 0.y.z rule.

Rules (see ``docs/releases.md``): precedence is semver.org 2.0.0 §11; a bump is the highest
``Level`` the changes ask for (``core.commits``); before 1.0.0 a breaking change bumps the minor
(semver.org §4 leaves 0.y.z free; 1.0.0 is made by an explicit ``--bump major``); pre-releases
are ``<final>-<id>.<n>`` and a series continues until it is promoted. No git, no forge: the tags
come in as ``(name, commit id)`` pairs read by ``release.history``.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from catalog_ops.core.versions import Level, TagScheme, Version, is_unstable
from catalog_ops.errors import ReleaseError

__all__ = [
    "PRERELEASE_ID_RE",
    "TAG_TRAILER",
    "VersionTag",
    "effective_level",
    "next_version",
    "scheme_tags",
    "tag_message",
]

#: trailer of the annotated tags catalog-ops makes; a tag carrying it whose release is missing is
#: completed by a re-run (an earlier run stopped between the tag and the release).
TAG_TRAILER = "Created-by: catalog-ops"
#: a pre-release identifier (``--prerelease``): ``rc``, ``beta``, ``alpha-2``.
PRERELEASE_ID_RE = re.compile(r"[A-Za-z][0-9A-Za-z-]*\Z")
_ZERO = Version(0, 0, 0)


@dataclasses.dataclass(frozen=True, order=True)
class VersionTag:
    """A tag of a scheme. Orders by semver precedence (build metadata ignored), then name.

    Attributes:
        version: the version the tag names (its ``prefix`` as written in the tag).
        name: the tag, e.g. ``"v1.3.0"`` or ``"modules/vpc/v1.3.0"``.
        prefix: the scheme prefix the tag was written with (``"v"``, ``""``, ``"modules/vpc/v"``).
        sha: the commit the tag points at (peeled, 40 hex).
    """

    version: Version
    name: str
    prefix: str = dataclasses.field(compare=False)
    sha: str = dataclasses.field(compare=False)

    @property
    def is_prerelease(self) -> bool:
        """The version is a pre-release (``1.3.0-rc.0``); a tag family's suffix
        (``v1.0.0-queue``, ``versions.family_suffix``) is not one (``versions.is_unstable``)."""
        return is_unstable(self.version)


def scheme_tags(tags: Iterable[tuple[str, str]], scheme: TagScheme) -> list[VersionTag]:
    """The tags of ``scheme`` among ``(tag name, commit id)`` pairs, lowest version first."""
    found = []
    for name, sha in tags:
        parsed = scheme.parse(name)
        if parsed is not None:
            found.append(VersionTag(version=parsed[0], name=name, prefix=parsed[1], sha=sha))
    return sorted(found)


def tag_message(tag: str) -> str:
    """Message of the annotated tags catalog-ops creates (ends with ``TAG_TRAILER``)."""
    return f"Release {tag}\n\n{TAG_TRAILER}"


def _split_prerelease(pre: str) -> tuple[str, int | None]:
    head, _, tail = pre.rpartition(".")
    if head and tail.isdigit():
        return head, int(tail)
    return pre, None


def effective_level(level: Level, base: Version | None) -> Level:
    """Auto-derived level after the 0.y.z rule: before 1.0.0 a breaking change bumps the minor
    (semver.org item 4 leaves 0.y.z free; catalog-ops reserves 1.0.0 for an explicit
    ``--bump major``). ``base`` None (nothing released) counts as 0.0.0."""
    if level == Level.MAJOR and (base or _ZERO).major == 0:
        return Level.MINOR
    return level


def next_version(
    *,
    base: Version | None,
    current: Version | None,
    level: Level,
    prerelease: str | None = None,
) -> Version:
    """The version to release (without prefix: the tag scheme writes it).

    Args:
        base: highest *final* version released so far (None: nothing yet, counts as 0.0.0).
        current: highest version including pre-releases (None: nothing yet).
        level: bump over ``base`` (already adjusted with ``effective_level`` for auto bumps).
        prerelease: pre-release identifier such as ``"rc"``; None for a final release.

    Returns:
        ``base`` bumped by ``level``; when ``current`` is a pre-release of a higher version, that
        version (the series continues: ``1.3.0-rc.1`` + fix -> ``1.3.0``). With ``prerelease``
        the result is ``<final>-<id>.0``, or ``<id>.<n+1>`` when ``current`` is ``<final>-<id>.<n>``.

    Raises:
        ReleaseError: the result would not be higher than ``current`` (e.g. ``beta`` after ``rc``).
    """
    start = base or _ZERO
    final = start.bump(level)
    if current is not None and current.prerelease is not None:
        core = current.finalize_version()
        if core > final:
            final = core
    if prerelease is None:
        result = final
    else:
        result = final.replace(prerelease=f"{prerelease}.0")
        if current is not None and current.prerelease is not None and current.finalize_version() == final:
            cur_id, cur_n = _split_prerelease(current.prerelease)
            if cur_id == prerelease and cur_n is not None:
                result = final.replace(prerelease=f"{prerelease}.{cur_n + 1}")
    if current is not None and result.compare(current) <= 0:
        raise ReleaseError(f"next version {result.core} would not be higher than the current {current.core}")
    return Version.parse(result.core)
