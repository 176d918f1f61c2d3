"""What changed in each catalog module between two versions, read from git (the truth).

The versions of a catalog are its tags (annotated or lightweight) in the schemes
``core.versions.TagScheme`` knows (``v1.2.3``, ``1.2.3``, ``modules/vpc/v1.2.3``), whether or not
a forge release exists for them. For every tag, the change it brings is the git diff between the
previous tag of its scheme and the tag, classified by ``catalog.layout.classify_changes`` at the
tag's tree: a module changed when its own files changed (examples, tests and wrappers excluded)
or when a module it uses through a local path changed (``via``). The subjects of the non-merge
commits that changed a module's own files are kept as the notes of last resort.

catalog-ops' own release metadata is only a cache of this answer (``rollout.model.CatalogRelease``
prefers what is computed here). ``changelog_sections`` reads a ``CHANGELOG.md`` in the two
formats real catalogs use: Keep a Changelog (``## [1.2.0] - 2024-01-02``) and
conventional-changelog (``## [1.2.0](https://.../compare/v1.1.0...v1.2.0) (2024-01-02)``,
``# [2.0.0](...)``, ``### [1.2.1](...)``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence

from catalog_ops.catalog.layout import (
    DEFAULT_PATTERNS,
    DEFAULT_SHARED_GLOBS,
    classify_changes,
    discover_modules,
    local_module_graph,
    transitive_dependencies,
)
from catalog_ops.core.versions import TagScheme, Version, parse_version
from catalog_ops.release.history import CommitInfo, GitHistory, tree_diff
from catalog_ops.release.version import VersionTag

__all__ = [
    "MAX_SUBJECTS",
    "VersionChange",
    "changelog_sections",
    "repo_tags",
    "version_changes",
]

#: commit subjects kept per module and version (the rest are counted, not listed).
MAX_SUBJECTS = 30


@dataclasses.dataclass(frozen=True, kw_only=True)
class VersionChange:
    """The change one tag brings over the previous tag of its scheme.

    Attributes:
        tag: the tag (``"v1.3.0"``, ``"modules/vpc/v1.3.0"``). version: parsed ``tag``.
        sha: the commit the tag points at (peeled). previous: the previous tag of the scheme
            (the highest lower version; for a final version, the highest lower final one), None
            for the first.
        changed: modules (``catalog.layout`` names; ``"."`` is the root module) whose own files
            differ between ``previous`` and ``tag`` (examples/tests/wrappers excluded), plus
            modules removed at ``tag``.
        via: module -> the changed modules it uses through local paths, for modules that changed
            only through them.
        subjects: module -> subjects of the non-merge commits in ``previous..tag`` that changed
            the module's own files (newest first, at most ``MAX_SUBJECTS``).
    """

    tag: str
    version: Version
    sha: str
    previous: str | None
    changed: tuple[str, ...]
    via: Mapping[str, tuple[str, ...]]
    subjects: Mapping[str, tuple[str, ...]]

    def changes(self, module: str) -> bool:
        """True when ``module`` changed in this version (its own files or through ``via``)."""
        return module in self.changed or module in self.via


def repo_tags(history: GitHistory) -> list[VersionTag]:
    """Every tag of the clone that names a semantic version in a known scheme (annotated tags
    peeled to their commit), lowest version first."""
    out = history.run(
        "for-each-ref", "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)", "refs/tags"
    )
    tags: list[VersionTag] = []
    for line in out.splitlines():
        name, obj, peeled = [*line.split("\0"), "", ""][:3]
        version = parse_version(name)
        if version is None:
            continue
        tags.append(VersionTag(version=version, name=name, prefix=version.prefix, sha=peeled or obj))
    return sorted(tags)


def _previous(tags: Sequence[VersionTag]) -> dict[str, VersionTag | None]:
    """tag name -> previous tag of the same scheme (see ``VersionChange.previous``): one pass
    per scheme over its tags in version order."""
    by_scheme: dict[str, list[VersionTag]] = {}
    for t in tags:
        by_scheme.setdefault(TagScheme.of_version(t.version).key, []).append(t)
    prev: dict[str, VersionTag | None] = {}
    for series in by_scheme.values():
        series.sort()
        # the highest tag of a strictly lower version (any / final), over the groups of equal
        # versions seen so far; within a group the names order the tags
        below_any: VersionTag | None = None
        below_final: VersionTag | None = None
        last_any: VersionTag | None = None
        last_final: VersionTag | None = None
        for i, t in enumerate(series):
            if i and series[i - 1].version < t.version:
                below_any, below_final = last_any, last_final
            prev[t.name] = below_any if t.is_prerelease else below_final
            last_any = t
            if not t.is_prerelease:
                last_final = t
    return prev


def version_changes(
    history: GitHistory,
    *,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    shared_globs: Sequence[str] = DEFAULT_SHARED_GLOBS,
    tags: Sequence[VersionTag] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[VersionChange]:
    """The change of every version tag of the catalog, computed from git.

    The cost grows with the history, not with tags times history: the trees of all tags are
    read from the clone's objects in a few batches (``GitHistory.snapshots``; no checkout), each
    Terraform file is parsed once per blob, diffs are computed between those trees in memory,
    and the commits come from one read of the history (``GitHistory.commit_index``), each
    range ordered by a first-parent walk (a ``git rev-list`` only where merges make it
    ambiguous). docs/releases.md "Cost" has figures.

    Args:
        history: a clone of the catalog (``GitHistory.clone``); its work tree is not touched.
        patterns / shared_globs: the catalog's module patterns and shared configuration globs
            (``.catalog-ops.yml`` ``checks:``; defaults find ``.`` and ``modules/*``).
        tags: the tags to compute (default: ``repo_tags(history)``).
        progress: called with each tag name when it is done.

    Returns:
        One ``VersionChange`` per tag, lowest version first.

    Raises:
        ReleaseError: git fails.
    """
    all_tags = list(tags) if tags is not None else repo_tags(history)
    prev_of = _previous(all_tags)
    snaps = history.snapshots([t.sha for t in all_tags])
    index: dict[str, CommitInfo] | None = None
    layouts: dict[str, tuple[list[str], dict[str, set[str]]]] = {}
    discovered: dict[frozenset[str], list[str]] = {}  # the directories holding .tf files decide

    def layout_at(sha: str) -> tuple[list[str], dict[str, set[str]]]:
        if sha not in layouts:
            dirs = frozenset(snaps[sha].tf_dirs())
            if dirs not in discovered:
                discovered[dirs] = discover_modules(snaps[sha], patterns)
            mods = discovered[dirs]
            layouts[sha] = (mods, local_module_graph(snaps[sha], mods))
        return layouts[sha]

    diffs = {
        t.name: tree_diff(snaps[p.sha] if (p := prev_of.get(t.name)) else None, snaps[t.sha])
        for t in all_tags
    }
    history.preload_blobs(snaps[t.sha] for t in all_tags if diffs[t.name])
    out: list[VersionChange] = []
    for t in all_tags:
        prev = prev_of.get(t.name)
        files = diffs[t.name]
        tree = snaps[t.sha]
        changed: set[str] = set()
        via: dict[str, tuple[str, ...]] = {}
        subjects: dict[str, tuple[str, ...]] = {}
        if files:
            mods, graph = layout_at(t.sha)
            cs = classify_changes(
                tree, files, modules=mods, graph=graph, shared_globs=shared_globs, patterns=patterns
            )
            changed = set(cs.changed) | set(cs.removed)
            for m in cs.via_dependency:
                via[m] = tuple(sorted(transitive_dependencies(graph, m) & changed))
            if changed:
                if index is None:
                    index = history.commit_index([x.sha for x in all_tags])
                found: dict[str, list[str]] = {}
                for c in history.range_order(prev.sha if prev else None, t.sha, index):
                    if c.is_merge or not c.subject:
                        continue
                    own = classify_changes(
                        tree,
                        c.files,
                        modules=mods,
                        graph={},
                        shared_globs=shared_globs,
                        patterns=patterns,
                    )
                    for m in set(own.changed) | set(own.removed):
                        found.setdefault(m, []).append(c.subject)
                subjects = {m: tuple(found[m][:MAX_SUBJECTS]) for m in sorted(found)}  # stable JSON
        out.append(
            VersionChange(
                tag=t.name,
                version=t.version,
                sha=t.sha,
                previous=prev.name if prev else None,
                changed=tuple(sorted(changed)),
                via=via,
                subjects=subjects,
            )
        )
        if progress:
            progress(t.name)
    return out


# ------------------------------------------------------------------------------- CHANGELOG.md
#: a version heading: 1-3 ``#``, optional ``[``, optional ``v``, a semantic version, then ``]``,
#: whitespace, ``(`` or the end of the line (Keep a Changelog 1.1.0; conventional-changelog).
_HEADING = re.compile(
    r"^(?P<hashes>#{1,3})\s+\[?(?P<prefix>[vV]?)(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?)"
    r"(?:\]|\s|\(|$)",
    re.M,
)
#: any heading line (to end a section at a heading of the same or a higher level).
_ANY_HEADING = re.compile(r"^(#{1,6})\s", re.M)
#: bound on one section (characters), so one huge CHANGELOG cannot flood a PR body.
MAX_SECTION = 4000


def changelog_sections(text: str) -> dict[str, str]:
    """Sections of a ``CHANGELOG.md`` by version core (``"1.2.0"``), heading excluded, trimmed.

    A section runs from its version heading to the next version heading (any level) or the next
    other heading of the same or a higher level (its ``### Fixed`` sub-headings stay in it). Sections over
    ``MAX_SECTION`` characters are cut with an ellipsis line. ``[Unreleased]`` is skipped.
    """
    out: dict[str, str] = {}
    for match in _HEADING.finditer(text):
        level = len(match.group("hashes"))
        start = text.find("\n", match.end())
        start = len(text) if start < 0 else start + 1
        end = len(text)
        for h in _ANY_HEADING.finditer(text, start):
            # the next version heading ends it at any level (conventional-changelog writes patch
            # releases as ``###``), any other heading only at the same or a higher level
            if len(h.group(1)) <= level or _HEADING.match(text, h.start()):
                end = h.start()
                break
        body = text[start:end].strip("\n")
        # conventional-changelog's trailing link references / blank lines
        body = body.strip()
        if len(body) > MAX_SECTION:
            body = body[:MAX_SECTION].rsplit("\n", 1)[0] + "\n…"
        version = parse_version(match.group("version"))
        if version is not None and body and version.core not in out:
            out[version.core] = body
    return out
