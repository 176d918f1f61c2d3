"""``check migrations``: the catalog's migration patches (docs/migrations.md) are valid and apply.

For every module checked: each patch file under ``<module>/migrations/`` parses against the
schema (errors name ``path:line:col``), names an existing module, and is applied, dry, to the
module's own examples (``checks.layout.examples_by_module``) — as they are in the work tree, or
as they were at ``base`` (a git ref, e.g. the previous release tag: the examples as consumers
wrote them before the breaking change). A step that cannot be applied there is an error
(``migration-skip``, at the example's ``file:line``); a step that changes an example is a note
(``migration-dry-run``). Nothing is written.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from catalog_ops import gitutil
from catalog_ops.checks.layout import examples_by_module
from catalog_ops.checks.results import Finding, module_of
from catalog_ops.core.sources import SourceKind
from catalog_ops.core.versions import Version, parse_constraint
from catalog_ops.errors import UsageError
from catalog_ops.hcl.text import MAX_FILE_BYTES
from catalog_ops.migrate import Migration, apply_migrations, load_tree
from catalog_ops.refs import Reference, is_candidate_path

SCHEMA = 1
TOOL = "catalog-ops"
_LOC = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<msg>.*)$", re.S)


def _finding(text: str, rule: str, level: str, modules: Sequence[str]) -> Finding:
    m = _LOC.match(text)
    if not m:
        return Finding(tool=TOOL, rule=rule, level=level, message=text)
    path = m["path"]
    return Finding(
        tool=TOOL,
        rule=rule,
        level=level,
        message=m["msg"],
        path=path,
        line=int(m["line"]),
        col=int(m["col"]),
        module=module_of(path, modules),
    )


def _tree_files(root: Path, dirs: Sequence[str]) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for d in dirs:
        for p in sorted((root / d).iterdir()) if (root / d).is_dir() else []:
            rel = f"{d}/{p.name}"
            if p.is_file() and is_candidate_path(rel):
                out[rel] = p.read_bytes()
    return out


def _git_files(root: Path, rev: str, dirs: Sequence[str]) -> dict[str, bytes]:
    """The candidate files of ``dirs`` (catalog-relative) at ``rev``; ``{}`` for a dir absent there.

    Raises:
        UsageError: ``rev`` is not a commit of the repository holding ``root``.
    """
    if (
        rev.startswith("-")
        or gitutil.run_git(
            ["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], cwd=root, check=False
        ).returncode
    ):
        raise UsageError(f"--base {rev}: not a commit of the catalog's repository")
    out: dict[str, bytes] = {}
    for d in dirs:
        proc = gitutil.run_git(["ls-tree", "--name-only", "-z", rev, "--", f"{d}/"], cwd=root, check=False)
        for raw in proc.stdout.split(b"\0"):
            rel = raw.decode("utf-8", errors="surrogateescape")
            if not rel or not is_candidate_path(rel):
                continue
            blob = gitutil.run_git(["cat-file", "blob", f"{rev}:./{rel}"], cwd=root, check=False)
            if blob.returncode == 0 and len(blob.stdout) <= MAX_FILE_BYTES:
                out[rel] = blob.stdout
    return out


def _uses(module: str) -> Any:
    """``is_target`` for an example: a local ``module`` source resolving to ``module``."""

    def is_target(_mig: Migration, ref: Reference) -> bool:
        src = ref.source
        if src is None or src.kind is not SourceKind.LOCAL:
            return False
        target = posixpath.normpath(posixpath.join(posixpath.dirname(ref.path), src.raw.split("//")[0]))
        return target == module or (module == "." and target in ("", "."))

    return is_target


def check_migrations(
    root: Path, modules: Sequence[str], *, base: str | None = None, all_modules: Sequence[str] | None = None
) -> dict[str, Any]:
    """Validate the patches of ``modules`` of the catalog at ``root``; returns a results document
    (``check: migrations``, the shape ``check report`` reads).

    Args:
        modules: module dirs to check (``modules/vpc``); patches of other modules are still
            parsed (a broken file anywhere fails the check).
        base: read the examples at this git ref instead of the work tree.
        all_modules: every module of the catalog (a patch for a module not in it is an error).

    Raises:
        UsageError: ``base`` is not a commit.
    """
    migrations, errors = load_tree(root)
    known = set(all_modules if all_modules is not None else modules)
    per_module: dict[str, dict[str, Any]] = {
        m: {"status": "passed", "findings": [], "patches": [], "examples": []} for m in modules
    }
    unowned: list[Finding] = []

    def add(f: Finding) -> None:
        owner = f.module if f.module in per_module else None
        if owner is None:
            unowned.append(f)
            return
        per_module[owner]["findings"].append(f.to_json())
        if f.level == "error":
            per_module[owner]["status"] = "failed"

    for e in errors:
        add(_finding(e, "migration-schema", "error", list(per_module)))
    for mig in migrations:
        if mig.module not in known:
            add(
                Finding(
                    tool=TOOL,
                    rule="migration-module",
                    level="error",
                    message=f"{mig.module} is not a module of the catalog",
                    path=mig.path,
                    line=1,
                    col=1,
                )
            )
        elif mig.release is not None and not _is_major(mig.release):
            add(
                Finding(
                    tool=TOOL,
                    rule="migration-release",
                    level="warning",
                    message=(
                        f"release {mig.release} is not a major release: this patch is applied only where "
                        f"{mig.release} is breaking for {mig.module} (its release metadata marks the module "
                        "breaking, or an update crosses a major into it)"
                    ),
                    path=mig.path,
                    line=_value_at(root / mig.path, "release")[0],
                    col=_value_at(root / mig.path, "release")[1],
                    module=mig.module,
                )
            )
    examples = examples_by_module(root, list(per_module))
    for m, entry in per_module.items():
        mine = [g for g in migrations if g.module == m]
        entry["patches"] = [g.path for g in mine]
        entry["examples"] = examples.get(m, [])
        if not mine:
            entry["summary"] = "no migration patches"
            continue
        files = _git_files(root, base, entry["examples"]) if base else _tree_files(root, entry["examples"])
        ordered = sorted(mine, key=_order)
        result = apply_migrations(files, ordered, is_target=_uses(m))
        applied = 0
        for o in result.outcomes:
            if o.status == "skipped":
                add(
                    Finding(
                        tool=TOOL,
                        rule="migration-skip",
                        level="error",
                        message=f"{o.patch} step {o.step} ({o.description}) cannot be applied here: {o.reason}",
                        path=o.path,
                        line=o.line,
                        module=m,
                    )
                )
            elif o.status == "applied":
                applied += 1
                add(
                    Finding(
                        tool=TOOL,
                        rule="migration-dry-run",
                        level="note",
                        message=f"{o.patch} step {o.step} ({o.description}) changes this example",
                        path=o.path,
                        line=o.line,
                        module=m,
                    )
                )
        where = f"examples at {base}" if base else "examples"
        targets = len({o.path for o in result.outcomes})
        entry["summary"] = (
            f"{len(mine)} patch{'es' if len(mine) != 1 else ''}; {applied} step(s) applied to {where}"
            + ("" if targets else f" (no {where} use the module: nothing to try them on)")
        )
    status = "failed" if unowned and any(f.level == "error" for f in unowned) else "passed"
    if any(e["status"] == "failed" for e in per_module.values()):
        status = "failed"
    return {
        "schema": SCHEMA,
        "check": "migrations",
        "status": status,
        "modules": per_module,
        "findings": [f.to_json() for f in unowned],
        "artifacts": {},
        "messages": [],
    }


def _is_major(version: Version) -> bool:
    """``X.0.0`` with X >= 1: a release every dependent crosses as a major update (without
    release metadata, ``rollout.pace.is_breaking``)."""
    return version.major >= 1 and version.minor == 0 and version.patch == 0


def _value_at(path: Path, key: str) -> tuple[int, int]:
    """1-based ``(line, col)`` of the value of the top-level ``key:`` in YAML file ``path``
    (``(1, 1)`` when not found)."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return (1, 1)
    for number, text in enumerate(lines, 1):
        m = re.match(rf"{key}\s*:\s*", text)
        if m:
            return (number, m.end() + 1)
    return (1, 1)


def _order(mig: Migration) -> tuple[Version, str]:
    """Application order of a module's patches: the release they cover (the floor of an
    ``applies_to`` range), then the file name."""
    if mig.release is not None:
        return (mig.release, mig.name)
    cons = parse_constraint(mig.applies_to or "")
    floor = min((p.version for p in cons.parts if p.op in (">=", ">", "~>", "=")), default=None)
    return (floor or Version(0, 0, 0), mig.name)
