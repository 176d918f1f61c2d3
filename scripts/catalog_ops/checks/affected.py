"""``check affected``: which modules a pull request's diff affects, as a CI matrix.

Changed paths come from ``git diff --name-only --no-renames --relative BASE...HEAD`` run in the
catalog root (three dots: against the merge base, as GitHub's PR "Files changed" view; renames
count as a delete plus an add; paths are relative to the catalog root, so a catalog in a
sub-directory works). ``catalog_ops.catalog.layout.classify_changes`` then decides: modules touched,
modules using a touched module through local paths (transitively), modules whose examples or
tests changed, and every module when shared configuration changed.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog_ops import gitutil
from catalog_ops.catalog import layout as catalog_modules
from catalog_ops.errors import CatalogOpsError, SourceParseError, UsageError

if TYPE_CHECKING:
    import subprocess


def changed_paths(
    root: Path, base: str, head: str = "HEAD", *, git: Path, env: Mapping[str, str]
) -> list[str]:
    """Catalog-relative posix paths changed between the merge base of ``base``/``head`` and ``head``.

    Args:
        root: the catalog directory (inside a git work tree; may be a sub-directory of it).
        base, head: commit-ish names (``origin/main``, a sha); ``base...head`` as in ``git diff``.
        git: path of the ``git`` binary (``toolchain.which("git")``).
        env: environment for git.

    Returns:
        sorted paths relative to ``root`` (deleted and renamed-away paths included).

    Raises:
        UsageError: ``root`` is not inside a git work tree, or ``base`` or ``head`` is not a commit of the repository (message names it).
        CatalogOpsError: ``git diff`` failed (message carries git's stderr).
    """

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        return gitutil.run_git(args, cwd=root, env=env, git=str(git), check=False)

    if run("rev-parse", "--is-inside-work-tree").returncode != 0:
        raise UsageError(
            f"{root} is not a git repository; `check affected` diffs commits, so run it in a checkout "
            "of the catalog (or point --root at one)"
        )
    for ref in (base, head):
        if run("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
            raise UsageError(f"{ref}: not a commit in {root} (fetch it first, e.g. `git fetch origin {ref}`)")
    proc = run("diff", "--name-only", "--no-renames", "--relative", "-z", f"{base}...{head}")
    if proc.returncode != 0:
        raise CatalogOpsError(
            f"git diff {base}...{head} failed in {root}: {proc.stderr.decode(errors='replace').strip()}"
        )
    return sorted(p for p in proc.stdout.decode("utf-8", errors="surrogateescape").split("\0") if p)


def affected_document(
    root: Path,
    paths: Sequence[str],
    *,
    config: Mapping[str, Any],
    base: str | None = None,
    head: str | None = None,
) -> dict[str, Any]:
    """Matrix-ready description of the affected modules.

    Args:
        root: catalog checkout at the head state.
        paths: changed catalog-relative paths.
        config: ``checks`` mapping of ``.catalog-ops.yml`` (``module_patterns``, ``shared``).

    Returns:
        ``{"base", "head", "modules": [...], "matrix": {"include": [{"module", "name"}]},
        "count", "changed", "via_dependency", "tests_only", "all_affected", "shared",
        "removed", "unowned", "errors": ["path:line:col: message"]}``. ``matrix`` can be fed to
        ``strategy.matrix`` with ``fromJSON`` (GitHub rejects an empty ``include``; use ``count``
        to skip the job).
    """
    patterns = tuple(config.get("module_patterns") or catalog_modules.DEFAULT_PATTERNS)
    shared = tuple(config.get("shared") or catalog_modules.DEFAULT_SHARED_GLOBS)
    errors: list[SourceParseError] = []
    cs = catalog_modules.classify_changes(root, paths, shared_globs=shared, patterns=patterns, errors=errors)
    doc: dict[str, Any] = {"base": base, "head": head, "modules": list(cs.affected)}
    doc["matrix"] = {
        "include": [{"module": m, "name": posixpath.basename(m) if m != "." else "root"} for m in cs.affected]
    }
    doc["count"] = len(cs.affected)
    doc.update({k: v for k, v in cs.to_json().items() if k != "affected"})
    doc["changed_paths"] = list(paths)
    doc["errors"] = [str(e) for e in errors]
    stray = catalog_modules.unowned_terraform(cs)
    doc["unowned_terraform"] = list(stray)
    if stray:
        # A Terraform change outside every module must never read as "no module affected".
        doc["errors"].append(
            f"{stray[0]}"
            + (f" (and {len(stray) - 1} more)" if len(stray) > 1 else "")
            + ": Terraform code outside every known module (module patterns: "
            + ", ".join(patterns)
            + "); add its directory to `checks.module_patterns` in .catalog-ops.yml"
        )
    return doc
