"""Where a catalog's modules and their examples are (built on ``catalog_ops.catalog.layout``).

Examples of a module (the directories ``check lint`` validates and ``check policy`` plans):

* ``<module>/examples/<name>/`` directories holding ``*.tf`` files;
* ``examples/<name>/`` at the catalog root whose ``module`` blocks use the module through a
  local path (``source = "../../modules/<module>"``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

from catalog_ops.catalog import layout as catalog_modules
from catalog_ops.errors import UsageError


def _example_dirs(root: Path, modules: Sequence[str]) -> list[str]:
    out: list[str] = []
    bases = [root / "examples", *[root / m / "examples" for m in modules if m != "."]]
    for base in bases:
        if not base.is_dir():
            continue
        for d in sorted(base.iterdir()):
            if d.is_dir() and not d.name.startswith(".") and catalog_modules.has_tf_files(d):
                out.append(d.relative_to(root).as_posix())
    return sorted(set(out))


def examples_by_module(root: Path, modules: Sequence[str]) -> dict[str, list[str]]:
    """``{module: [example dir, ...]}`` (catalog-relative posix paths, sorted) for ``modules``.

    An example directory under ``<module>/examples/`` belongs to that module; a root-level
    ``examples/<name>`` belongs to every module it uses through local ``module`` sources.
    Unreadable files are skipped (lint reports them).
    """
    mods = list(modules)
    result: dict[str, list[str]] = {m: [] for m in mods}
    all_mods = catalog_modules.discover_modules(root) or mods
    for ex in _example_dirs(root, all_mods):
        owner = catalog_modules.module_for_path(ex, mods)
        if owner is not None and owner != ".":
            result[owner].append(ex)
            continue
        users: set[str] = set()
        for f in catalog_modules.tf_files(root / ex):
            try:
                sources = catalog_modules.local_module_sources(
                    f"{ex}/{f.name}", f.read_text(encoding="utf-8", errors="replace")
                )
            except Exception:  # a broken example is lint's business, not layout's
                continue
            for _label, source, _line, _col in sources:
                if not source.startswith(("./", "../")):
                    continue
                target = posixpath.normpath(posixpath.join(ex, source.split("//")[0]))
                owner = catalog_modules.module_for_path(target, all_mods)
                if owner in result:
                    users.add(owner)
        for m in users:
            result[m].append(ex)
    return {m: sorted(set(v)) for m, v in result.items()}


def select_modules(
    root: Path, requested: Sequence[str] | None, patterns: Sequence[str] | None = None
) -> list[str]:
    """The modules to check: ``requested`` (validated, ``./`` and trailing ``/`` stripped) or all.

    A bare name (``vpc``) is resolved against discovered modules' base names. ``patterns``:
    module directory globs (``checks.module_patterns``; default ``modules/*``).

    Raises:
        UsageError: a requested module is not a module directory of the catalog.
    """
    found = catalog_modules.discover_modules(root, tuple(patterns or catalog_modules.DEFAULT_PATTERNS))
    if not requested:
        return found
    out: list[str] = []
    for raw in requested:
        name = raw.strip().removeprefix("./").strip("/")
        if not name:
            continue
        if name in found:
            out.append(name)
            continue
        by_base = [m for m in found if posixpath.basename(m) == name]
        if len(by_base) == 1:
            out.append(by_base[0])
            continue
        raise UsageError(f"{raw}: not a module of {root} (modules: {', '.join(found) or 'none'})")
    return sorted(set(out))
