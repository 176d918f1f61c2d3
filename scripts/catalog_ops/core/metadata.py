"""Machine-readable release metadata carried in a release body.

A GitHub release can hold it without assets: the body ends with one HTML comment
``<!-- catalog-ops:release-metadata {JSON} -->`` which GitHub does not render. The rollout and the
dashboard read it back with ``parse_release_metadata``. Schema (version 1) is documented in
``docs/release-metadata.md``.

The body also holds text written by others (commit subjects, PR titles and bodies copied into the
notes), so only the *trailing* block counts (the product appends it last), and
``check_release_metadata`` cross-checks it against the release it sits in; a mismatch means no
metadata (the history from git decides) and is reported (docs/security.md).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from catalog_ops.core.versions import Urgency, parse_version

MARKER = "catalog-ops:release-metadata"
SCHEMA = 1
_OPEN = "<!-- " + MARKER
_TRAILING = re.compile(r"<!--\s*" + re.escape(MARKER) + r"\s+(\{[^\n]*\})\s*-->\s*\Z")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ModuleChange:
    """One module's part of a release.

    Attributes:
        path: module directory in the catalog, e.g. ``"modules/vpc"``.
        changed: True when the module's own files (or a local module it uses) changed.
        tests_only: True when only its examples/tests changed (not a reason to roll out).
        notes: one line per change (commit/PR subjects), Markdown.
        migration: migration notes (from ``## Migration`` sections of PR bodies), Markdown.
        breaking: a breaking change touched this module.
        via: changed modules this one uses through local paths (why it changed when its own
            files did not); empty when its own files changed.
    """

    path: str
    changed: bool = True
    tests_only: bool = False
    notes: tuple[str, ...] = ()
    migration: tuple[str, ...] = ()
    breaking: bool = False
    via: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReleaseMetadata:
    """What a rollout needs to know about one release.

    Attributes:
        version: semver without prefix, e.g. ``"1.3.0"``.
        tag: the git tag, e.g. ``"v1.3.0"`` or ``"modules/vpc/v1.3.0"``.
        previous: previous tag or None for the first release.
        urgency: ``Urgency`` (JSON ``"normal"`` or ``"security"``).
        breaking: any breaking change in this release.
        modules: changed modules keyed by path.
        commit: the commit the tag points at (40 hex), when known.
        prerelease: the version has a pre-release part (``1.3.0-rc.0``).
        module: for per-module tags (``modules/vpc/v1.3.0``) the module released; None for
            repo-wide tags.
    """

    version: str
    tag: str
    previous: str | None
    urgency: Urgency = Urgency.NORMAL
    breaking: bool = False
    modules: Mapping[str, ModuleChange] = dataclasses.field(default_factory=dict)
    schema: int = SCHEMA
    commit: str | None = None
    prerelease: bool = False
    module: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (schema 1)."""
        return {
            "schema": self.schema,
            "version": self.version,
            "tag": self.tag,
            "previous": self.previous,
            "urgency": self.urgency,
            "breaking": self.breaking,
            "commit": self.commit,
            "prerelease": self.prerelease,
            "module": self.module,
            "modules": {
                path: {
                    "changed": m.changed,
                    "tests_only": m.tests_only,
                    "breaking": m.breaking,
                    "notes": list(m.notes),
                    "migration": list(m.migration),
                    "via": list(m.via),
                }
                for path, m in sorted(self.modules.items())
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReleaseMetadata:
        """Inverse of ``to_json``. Raises ValueError on a wrong shape or unknown schema."""
        if not isinstance(data, Mapping) or data.get("schema") != SCHEMA:
            raise ValueError(
                f"unsupported release metadata schema: {data.get('schema') if isinstance(data, Mapping) else data!r}"
            )
        try:
            urgency = Urgency(data.get("urgency", "normal"))
        except ValueError:
            raise ValueError(f"unknown urgency {data.get('urgency')!r}") from None
        modules = {}
        for path, m in (data.get("modules") or {}).items():
            modules[path] = ModuleChange(
                path=path,
                changed=bool(m.get("changed", True)),
                tests_only=bool(m.get("tests_only", False)),
                breaking=bool(m.get("breaking", False)),
                notes=tuple(m.get("notes", ())),
                migration=tuple(m.get("migration", ())),
                via=tuple(m.get("via", ())),
            )
        return cls(
            version=str(data["version"]),
            tag=str(data["tag"]),
            previous=data.get("previous"),
            urgency=urgency,
            breaking=bool(data.get("breaking", False)),
            modules=modules,
            commit=data.get("commit"),
            prerelease=bool(data.get("prerelease", False)),
            module=data.get("module"),
        )


def render_release_metadata(meta: ReleaseMetadata) -> str:
    """The HTML comment to append to a release body. ``--`` inside JSON strings is escaped so
    the comment cannot be closed early."""
    payload = json.dumps(meta.to_json(), sort_keys=True, separators=(",", ":")).replace("--", "-\\u002d")
    return f"<!-- {MARKER} {payload} -->"


def parse_release_metadata(body: str) -> ReleaseMetadata | None:
    """Metadata from the single trailing block of a release body (what ``render_release_metadata``
    appends: one line, nothing but whitespace after it), or None when the body does not end with
    one or it is malformed. Blocks anywhere else in the body are never read: notes copy text
    written by catalog contributors (docs/security.md)."""
    text = body or ""
    start = text.rfind(_OPEN)
    if start < 0:
        return None
    match = _TRAILING.match(text, start)
    if not match:
        return None
    try:
        return ReleaseMetadata.from_json(json.loads(match.group(1)))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def check_release_metadata(
    meta: ReleaseMetadata, *, tag: str, tags: Mapping[str, str] | None = None
) -> str | None:
    """Why ``meta`` does not describe the release of ``tag``, or None when it does.

    Args:
        meta: the metadata read from the release's body.
        tag: the release's own tag (``Release.tag``).
        tags: tag name -> commit id (40 hex) of every tag of the catalog, or None when unknown
            (then ``commit`` and ``previous`` are checked for shape only).

    Rules: ``meta.tag`` is ``tag``; ``meta.version`` is the version of ``tag``; ``meta.commit``
    (when set) is the commit ``tag`` points at; ``meta.previous`` (when set) is an existing tag
    of a lower version. The product writes all of these from git (``release.run``), so a
    mismatch means the block was not written for this release.
    """
    if meta.tag != tag:
        return f"its metadata names tag {meta.tag!r}"
    own = parse_version(tag)
    claimed = parse_version(meta.version)
    if own is None or claimed is None or own.core != claimed.core:
        return f"its metadata names version {meta.version!r}"
    if meta.commit is not None:
        if not re.fullmatch(r"[0-9a-f]{40}", str(meta.commit)):
            return f"its metadata names commit {meta.commit!r}"
        if tags is not None and tags.get(tag) not in (None, meta.commit):
            return f"its metadata names commit {str(meta.commit)[:12]}, the tag points at {tags[tag][:12]}"
    if tags is not None and tag not in tags:
        return "its tag does not exist"
    if meta.previous is not None:
        prev = parse_version(str(meta.previous))
        if prev is None or not prev < own or (tags is not None and meta.previous not in tags):
            return f"its metadata names previous release {meta.previous!r}"
    return None
