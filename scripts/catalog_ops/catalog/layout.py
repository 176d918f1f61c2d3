"""Catalog layout: which directories are modules, how they use each other, what a change affects.

Used by releases (changed modules between two versions) and by catalog PR checks (which modules
to lint/test). Everything here reads a catalog tree: a checked-out directory (``Path``) or any
``LayoutTree`` (``release.history.TreeSnapshot``: a commit's tree read from git objects, no work
tree); nothing talks to a forge.

Layout conventions (documented for users in ``docs/internals.md`` and ``docs/releases.md``):

* A *module* is a directory matching one of the ``patterns`` (default ``modules/*``, globs
  relative to the catalog root, ``*`` within one path component, ``**`` across components) that
  directly holds at least one ``*.tf`` or ``*.tf.json`` file (Terraform: "a module is a collection
  of .tf and/or .tf.json files kept together in a directory"). ``"."`` names the root module.
* A module *uses* another through a ``module`` block whose ``source`` is a local path
  (Terraform: local paths must begin with ``./`` or ``../``) that resolves into the other module's
  directory (or a directory below it).
* Example and test files of a module (a change there is reported as ``tests_only``):
  ``<module>/examples/**``, ``<module>/test/**``, ``<module>/tests/**``; at the catalog root
  ``examples/<name>*/**`` (``<name>`` is the module directory's base name; the longest module name
  that prefixes the example directory at a ``-``/``_``/``.`` boundary wins, so ``vpc-peering-basic``
  belongs to ``vpc-peering``, not ``vpc``), examples that use a module through a local path, and
  ``test/``/``tests/`` files or directories named ``<name>``, ``<name>_*``, ``<name>_test.go``,
  ``<name>.tftest.hcl`` (``-`` and ``_`` are equivalent). Root-level example/test files that match
  no module (shared helpers) count as a test change of every module.
* Shared configuration (``shared_globs``, anchored at the root) affects every module.
"""

from __future__ import annotations

import dataclasses
import json
import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from catalog_ops import hcl
from catalog_ops.core.edits import line_col
from catalog_ops.core.glob import glob_matches
from catalog_ops.errors import SourceParseError

__all__ = [
    "DEFAULT_PATTERNS",
    "DEFAULT_SHARED_GLOBS",
    "ROOT_MODULE",
    "ChangeSet",
    "LayoutTree",
    "classify_changes",
    "discover_modules",
    "glob_match",
    "has_tf_files",
    "local_module_graph",
    "local_module_sources",
    "module_for_path",
    "module_key",
    "tf_files",
    "transitive_dependencies",
    "unowned_terraform",
]

#: ``"."``: the root module, when the catalog root directly holds ``*.tf`` files (a single-module
#: repository, or terraform-aws-modules' root module with ``modules/*`` submodules); ``modules/*``:
#: Gruntwork's layout. Both are found without configuration.
DEFAULT_PATTERNS: tuple[str, ...] = (".", "modules/*")
DEFAULT_SHARED_GLOBS: tuple[str, ...] = (".tflint.hcl", "go.mod", "go.sum", "policies/**", ".catalog-ops.yml")
_TEST_DIRS = ("examples", "test", "tests")
#: root directories that hold examples, tests and generated wrappers of the modules (terraform-aws-
#: modules' ``wrappers/<name>`` call ``modules/<name>`` for Terragrunt users): never a module change.
_ROOT_TEST_DIRS = (*_TEST_DIRS, "wrappers")
#: root files and directories that are documentation or repository tooling, not part of the root
#: module (``.github/``, ``.pre-commit-config.yaml``, ``README.md``, ``CHANGELOG.md``, ``LICENSE``).
_ROOT_DOC_DIRS = ("docs", "doc")
_DOC_SUFFIXES = (".md", ".markdown", ".rst", ".txt", ".png", ".svg", ".jpg")
_DOC_STEMS = ("license", "licence", "notice", "authors", "codeowners", "makefile")
TF_SUFFIXES: tuple[str, ...] = (".tf", ".tf.json", ".tofu", ".tofu.json")
_TF_SUFFIXES = (".tf", ".tf.json")


ROOT_MODULE = "."
"""The name of the catalog's root module everywhere (``catalog.layout``, release metadata, plan,
PR body, dashboard); ``module_name`` shows it as ``(root)``."""


def module_key(module: str | None) -> str:
    """The one name of a catalog module dir: ``"modules/vpc"``; ``"."`` for the root module
    (``""``, ``"/"``, ``"./"`` and ``"."`` are all the root)."""
    name = (module or "").strip().strip("/")
    while name.startswith("./"):
        name = name[2:]
    return name if name and name != "." else ROOT_MODULE


# --------------------------------------------------------------------------------------- globs
def glob_match(pattern: str, path: str) -> bool:
    """Whether posix ``path`` (relative to the catalog root) matches ``pattern``.

    Patterns are anchored at the root: ``*`` and ``?`` stay within one path component, ``**``
    spans any number of components (``policies/**`` matches everything under ``policies/``),
    ``[abc]``/``[!abc]`` are character classes. Matched in linear time (``core.glob``): catalog
    contributors write the patterns.
    """
    return glob_matches(pattern.strip("/"), _norm(path), classes=True, nonempty_dirs=True)


def _norm(path: str) -> str:
    path = path.replace("\\", "/")
    while path.startswith("./"):
        path = path[2:]
    return path.strip("/")


# ------------------------------------------------------------------------------------- trees
class LayoutTree(Protocol):
    """A catalog tree the layout functions read instead of a checked-out directory.

    Paths are posix, relative to the catalog root; ``"."`` is the root directory. A "Terraform
    file" is a file (or a symlink to one inside the tree) named ``*.tf`` / ``*.tf.json``.
    """

    def tf_dirs(self) -> Iterable[str]:
        """Every directory that directly holds a Terraform file."""
        ...

    def tf_files(self, directory: str) -> list[str]:
        """The Terraform files directly in ``directory`` (root-relative paths), sorted."""
        ...

    def module_sources(self, path: str) -> list[tuple[str, str, int, int]]:
        """``local_module_sources(path, text)`` of the Terraform file ``path`` (text decoded as
        ``Path.read_text(errors="replace")`` would). Raises SourceParseError."""
        ...


class _DiskTree:
    """``LayoutTree`` over a checked-out directory (what a ``Path`` argument means)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def tf_dirs(self) -> Iterable[str]:
        for dirpath, _dirs, _files in os.walk(self.root):
            if has_tf_files(Path(dirpath)):
                rel = Path(dirpath).relative_to(self.root).as_posix()
                yield rel or "."

    def tf_files(self, directory: str) -> list[str]:
        base = self.root if directory == "." else self.root / directory
        return [f.relative_to(self.root).as_posix() for f in tf_files(base)]

    def module_sources(self, path: str) -> list[tuple[str, str, int, int]]:
        text = (self.root / path).read_text(encoding="utf-8", errors="replace")
        return local_module_sources(path, text)


def _tree(root: Path | LayoutTree) -> LayoutTree:
    return _DiskTree(root) if isinstance(root, Path) else root


# ------------------------------------------------------------------------------------- discovery
def has_tf_files(directory: Path) -> bool:
    """Whether ``directory`` directly holds a ``*.tf``/``*.tf.json`` file (False when unreadable)."""
    try:
        return any(p.is_file() and p.name.endswith(_TF_SUFFIXES) for p in directory.iterdir())
    except OSError:
        return False


def discover_modules(root: Path | LayoutTree, patterns: Sequence[str] = DEFAULT_PATTERNS) -> list[str]:
    """Module directories of the catalog checked out at ``root``.

    Args:
        root: catalog working tree (globbed with ``pathlib``), or a ``LayoutTree`` (its
            ``tf_dirs`` matched with ``glob_match``).
        patterns: globs relative to ``root`` (see ``glob_match``); ``"."`` is the root module.

    Returns:
        Sorted posix paths relative to ``root`` (``"modules/vpc"``; ``"."`` for the root) of the
        matching directories that directly hold a ``*.tf`` or ``*.tf.json`` file. Hidden
        directories (``.terraform``) are never modules.
    """
    if not isinstance(root, Path):
        return _discover_in(root, patterns)
    found: set[str] = set()
    for pattern in patterns:
        pattern = _norm(pattern)
        if pattern in ("", "."):
            if has_tf_files(root):
                found.add(".")
            continue
        for candidate in root.glob(pattern):
            if not candidate.is_dir():
                continue
            rel = candidate.relative_to(root).as_posix()
            if any(part.startswith(".") for part in rel.split("/")):
                continue
            if has_tf_files(candidate):
                found.add(rel)
    return sorted(found)


def _discover_in(tree: LayoutTree, patterns: Sequence[str]) -> list[str]:
    """``discover_modules`` of a ``LayoutTree``."""
    dirs = set(tree.tf_dirs())
    found: set[str] = set()
    for pattern in patterns:
        pattern = _norm(pattern)
        if pattern in ("", "."):
            if "." in dirs:
                found.add(".")
            continue
        for rel in dirs:
            if rel == "." or any(part.startswith(".") for part in rel.split("/")):
                continue
            if glob_match(pattern, rel):
                found.add(rel)
    return sorted(found)


def module_for_path(path: str, modules: Iterable[str]) -> str | None:
    """The module owning ``path``: the longest module directory that contains it.

    ``modules/vpc-peering/main.tf`` belongs to ``modules/vpc-peering`` even when ``modules/vpc``
    also exists (prefixes are compared per path component). The root module ``"."`` owns every
    path no other module owns.
    """
    path = _norm(path)
    best: str | None = None
    for m in modules:
        if m == ".":
            if best is None:
                best = m
            continue
        if (path == m or path.startswith(m + "/")) and (best is None or best == "." or len(m) > len(best)):
            best = m
    return best


# ---------------------------------------------------------------------------- module sources
def local_module_sources(path: str, text: str) -> list[tuple[str, str, int, int]]:
    """``module`` blocks of one Terraform file: ``(label, source, line, col)`` per block.

    ``path`` decides the syntax (``*.tf.json``: Terraform JSON syntax, else HCL native syntax).
    Only sources written as a string are returned (raw, as written; an interpolated source is not
    valid Terraform anyway). Line/column are 1-based and point at the source string's contents.
    HCL files are read with ``catalog_ops.hcl`` (comments, heredocs and nested blocks are skipped).

    Raises:
        SourceParseError: a ``.tf.json`` file that is not valid JSON, or an HCL syntax error.
    """
    found: list[tuple[str, str, int, int]] = []
    if path.endswith(".tf.json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SourceParseError(path, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
        blocks: list[Any] = data.get("module", []) if isinstance(data, dict) else []
        for block in blocks if isinstance(blocks, list) else [blocks]:
            if not isinstance(block, dict):
                continue
            for label, body in block.items():
                for item in body if isinstance(body, list) else [body]:
                    if isinstance(item, dict) and isinstance(item.get("source"), str):
                        found.append((label, item["source"], 0, 0))
        return found
    try:
        root = hcl.parse(text, skim=("module",))
    except hcl.HclSyntaxError as exc:
        line, col = line_col(text, exc.offset)
        raise SourceParseError(path, line, col, exc.message) from None
    for block in root.blocks:
        attr = block.attrs.get("source")
        if block.type != "module" or not block.labels or attr is None:
            continue
        literal = hcl.leading_string(text, attr.expr)
        if literal is not None:
            line, col = line_col(text, literal[1])
            found.append((block.labels[0], literal[0], line, col))
    return found


def _is_local(source: str) -> bool:
    # Terraform: "A local path must begin with either ./ or ../"
    return source.startswith(("./", "../", ".\\", "..\\"))


def tf_files(directory: Path) -> list[Path]:
    """``*.tf``/``*.tf.json`` files directly in ``directory``, sorted (``[]`` when unreadable)."""
    try:
        return sorted(p for p in directory.iterdir() if p.is_file() and p.name.endswith(_TF_SUFFIXES))
    except OSError:
        return []


def _local_targets(
    root: Path | LayoutTree, directory: str, errors: list[SourceParseError] | None
) -> set[str]:
    """Root-relative directories that ``directory``'s module blocks use through local paths."""
    targets: set[str] = set()
    tree = _tree(root)
    for rel in tree.tf_files(directory):
        try:
            sources = tree.module_sources(rel)
        except SourceParseError as exc:
            if errors is not None:
                errors.append(exc)
            continue
        for _label, source, _line, _col in sources:
            if not _is_local(source):
                continue
            joined = posixpath.normpath(posixpath.join(directory, source.replace("\\", "/").split("//")[0]))
            if joined == ".." or joined.startswith("../"):
                continue  # outside the catalog
            targets.add(joined)
    return targets


def local_module_graph(
    root: Path | LayoutTree, modules: Iterable[str], *, errors: list[SourceParseError] | None = None
) -> dict[str, set[str]]:
    """Which modules each module uses through local-path ``module`` blocks.

    Args:
        root: catalog working tree (or a ``LayoutTree``).
        modules: module directories (as returned by ``discover_modules``).
        errors: when given, unreadable files are appended here as ``SourceParseError``
            (``path:line:col: message``) instead of being silently skipped; one bad file never
            stops the others.

    Returns:
        ``{module: {used module, ...}}`` for every module in ``modules`` (empty set when it uses
        none). A source resolving below a module (``../vpc/modules/subnets``) counts as using that
        module; a module's own nested directories and paths outside the catalog are not edges.
    """
    mods = sorted(set(modules))
    graph: dict[str, set[str]] = {}
    for m in mods:
        used: set[str] = set()
        for target in _local_targets(root, m, errors):
            owner = module_for_path(target, mods)
            if owner is not None and owner != m:
                used.add(owner)
        graph[m] = used
    return graph


def transitive_dependencies(graph: Mapping[str, set[str]], module: str) -> set[str]:
    """Modules ``module`` uses through local paths, directly or transitively (itself excluded)."""
    seen: set[str] = set()
    todo = list(graph.get(module, ()))
    while todo:
        cur = todo.pop()
        if cur not in seen and cur != module:
            seen.add(cur)
            todo.extend(graph.get(cur, ()))
    return seen


def _reverse_closure(graph: Mapping[str, set[str]], start: Iterable[str]) -> set[str]:
    users: dict[str, set[str]] = {}
    for m, deps in graph.items():
        for d in deps:
            users.setdefault(d, set()).add(m)
    seen: set[str] = set()
    todo = list(start)
    while todo:
        cur = todo.pop()
        for u in users.get(cur, ()):
            if u not in seen:
                seen.add(u)
                todo.append(u)
    return seen


# -------------------------------------------------------------------------------- classification
@dataclasses.dataclass(frozen=True, kw_only=True)
class ChangeSet:
    """Modules affected by a set of changed paths (all tuples sorted).

    Attributes:
        changed: modules whose own files changed (examples/tests excluded).
        via_dependency: modules (not in ``changed``) that use a changed module through local
            paths, transitively.
        tests_only: modules (not in ``changed``/``via_dependency``) whose examples or tests
            changed; see the module docstring for the conventions.
        all_affected: a shared configuration file (``shared_globs``) changed.
        affected: union of the three above; every module when ``all_affected``.
        removed: module directories (per ``patterns``) that had changes but no longer exist.
        shared: the changed paths that matched ``shared_globs``.
        unowned: changed paths that belong to no module and are not shared/tests (README, docs).
    """

    changed: tuple[str, ...] = ()
    via_dependency: tuple[str, ...] = ()
    tests_only: tuple[str, ...] = ()
    all_affected: bool = False
    affected: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()
    unowned: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict with the same keys (lists for tuples)."""
        return {
            f.name: (list(v) if isinstance(v, tuple) else v)
            for f in dataclasses.fields(self)
            for v in [getattr(self, f.name)]
        }


def _name_key(name: str) -> str:
    return name.lower().replace("-", "_")


def _match_by_name(name: str, modules: Sequence[str], *, strip_suffixes: bool) -> str | None:
    """Module whose base name is ``name`` or the longest prefix of it at a -/_/. boundary."""
    stem = name
    if strip_suffixes:
        for suffix in ("_test.go", ".tftest.hcl", ".tftest.json", ".go", ".py"):
            if stem.endswith(suffix):
                stem = stem[: -len(suffix)]
                break
    key = _name_key(stem)
    best: tuple[int, str] | None = None
    for m in modules:
        base = _name_key(posixpath.basename(m)) if m != "." else ""
        if not base:
            continue
        matches = key == base or (key.startswith(base) and key[len(base)] in "_.")
        if matches and (best is None or len(base) > best[0]):
            best = (len(base), m)
    return best[1] if best else None


def _pattern_owner(path: str, patterns: Sequence[str]) -> str | None:
    parts = path.split("/")
    for pattern in patterns:
        pattern = _norm(pattern)
        if pattern in ("", "."):
            continue
        n = len(pattern.split("/"))
        if "**" in pattern or len(parts) <= n:
            continue
        prefix = "/".join(parts[:n])
        if glob_match(pattern, prefix):
            return prefix
    return None


def _is_root_doc(path: str) -> bool:
    """Documentation or tooling at the catalog root, never a change of the root module:
    hidden files and directories, ``docs/``, and top-level ``*.md``/``LICENSE``-like files."""
    parts = path.split("/")
    if any(p.startswith(".") for p in parts) or parts[0] in _ROOT_DOC_DIRS:
        return True
    if len(parts) == 1:
        name = parts[0].lower()
        return name.endswith(_DOC_SUFFIXES) or name.split(".", 1)[0] in _DOC_STEMS
    return False


def unowned_terraform(changes: ChangeSet) -> tuple[str, ...]:
    """The Terraform files (``*.tf``, ``*.tf.json``, ``*.tofu``) among ``changes.unowned``: a
    change to Terraform code that belongs to no known module. Callers must not report such a
    change as "no module affected" (``check affected`` fails on it, naming the files)."""
    return tuple(p for p in changes.unowned if p.endswith(TF_SUFFIXES))


def classify_changes(
    root: Path | LayoutTree,
    changed_paths: Iterable[str],
    *,
    shared_globs: Sequence[str] = DEFAULT_SHARED_GLOBS,
    patterns: Sequence[str] = DEFAULT_PATTERNS,
    modules: Sequence[str] | None = None,
    graph: Mapping[str, set[str]] | None = None,
    errors: list[SourceParseError] | None = None,
) -> ChangeSet:
    """Which modules a set of changed files affects.

    Args:
        root: catalog working tree at the *new* state (the module graph is read from it), or a
            ``LayoutTree`` of that state.
        changed_paths: posix paths relative to ``root`` (``git diff --name-only`` output),
            including deleted files.
        shared_globs: root-anchored globs (``glob_match``) of configuration shared by all modules.
        patterns: module directory globs for ``discover_modules``.
        modules: the module list when already known (skips discovery).
        graph: ``local_module_graph(root, modules)`` when already known (skips reading files).
        errors: collects unreadable Terraform files (see ``local_module_graph``).

    Returns:
        A ``ChangeSet``. Never raises for ordinary input.
    """
    mods = list(modules) if modules is not None else discover_modules(root, patterns)
    changed: set[str] = set()
    tests: set[str] = set()
    removed: set[str] = set()
    shared: list[str] = []
    unowned: list[str] = []
    tests_all = False
    example_cache: dict[str, set[str]] = {}

    for raw in changed_paths:
        path = _norm(raw)
        if not path:
            continue
        if any(glob_match(g, path) for g in shared_globs):
            shared.append(path)
            continue
        owner = module_for_path(path, mods)
        if owner is not None and owner != ".":
            inner = path[len(owner) + 1 :].split("/")
            if len(inner) > 1 and inner[0] in _TEST_DIRS:
                tests.add(owner)
            else:
                changed.add(owner)
            continue
        parts = path.split("/")
        if parts[0] in _ROOT_TEST_DIRS and len(parts) > 1:
            hit = _match_by_name(parts[1], mods, strip_suffixes=len(parts) == 2)
            found: set[str] = {hit} if hit else set()
            if parts[0] == "examples" and len(parts) > 2:
                exdir = "/".join(parts[:2])
                if exdir not in example_cache:
                    example_cache[exdir] = {
                        o
                        for t in _local_targets(root, exdir, errors)
                        for o in [module_for_path(t, mods)]
                        if o is not None and o != "."
                    }
                found |= example_cache[exdir]
            if found:
                tests |= found
            else:
                tests_all = True
            continue
        gone = _pattern_owner(path, patterns)
        if gone is not None and gone not in mods:
            removed.add(gone)
            continue
        if owner == "." and not _is_root_doc(path):
            changed.add(".")
            continue
        unowned.append(path)

    if graph is None:
        graph = local_module_graph(root, mods, errors=errors)
    via = _reverse_closure(graph, changed | removed) - changed
    if tests_all:
        tests |= set(mods) - {"."}
    tests -= changed | via
    all_affected = bool(shared)
    affected = set(mods) if all_affected else changed | via | tests
    return ChangeSet(
        changed=tuple(sorted(changed)),
        via_dependency=tuple(sorted(via)),
        tests_only=tuple(sorted(tests)),
        all_affected=all_affected,
        affected=tuple(sorted(affected)),
        removed=tuple(sorted(removed)),
        shared=tuple(sorted(set(shared))),
        unowned=tuple(sorted(set(unowned))),
    )
