"""`catalog-ops bump`: rewrite the version token of every reference to a module address."""

from __future__ import annotations

import argparse
import difflib
import json
import sys

from catalog_ops.bump import BumpResult, bump_tree
from catalog_ops.commands.refs import progress_bar
from catalog_ops.errors import PartialFailure
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bump",
        help="bump every reference to a module address to a version (byte-exact)",
        description="Rewrite only the version token (git ref, tfr version, registry constraint) of every "
        "reference to ADDRESS under PATHs (default: .).",
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    p.add_argument(
        "--source",
        required=True,
        metavar="ADDRESS",
        help="module address without ref, e.g. github.com/acme/mods//modules/vpc or acme/eks/aws",
    )
    p.add_argument("--to", required=True, metavar="VERSION", help="target version, 1.3.0 or v1.3.0")
    p.add_argument("--dry-run", action="store_true", help="print a unified diff instead of writing")
    p.add_argument("--allow-prerelease", action="store_true", help="allow a pre-release --to")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def unified_diff(result: BumpResult) -> str:
    """The unified diff (``a/PATH`` → ``b/PATH``) of every changed file."""
    out: list[str] = []
    for path in sorted(result.changed):
        old = result.original[path].decode("utf-8").splitlines(keepends=True)
        new = result.changed[path].decode("utf-8").splitlines(keepends=True)
        out.extend(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Bump; print outcomes (or a diff with --dry-run). Exit non-zero if any file failed."""
    with progress_bar("bumping") as hook:
        result = bump_tree(
            args.paths or ["."],
            address=args.source,
            to=args.to,
            allow_prerelease=args.allow_prerelease,
            dry_run=args.dry_run,
            progress=hook,
        )
    if args.json:
        doc: dict[str, object] = {
            "dry_run": args.dry_run,
            "changed": sorted(result.changed),
            "outcomes": [o.to_json() for o in result.outcomes],
            "errors": [
                {"path": e.path, "line": e.line, "col": e.col, "message": e.message} for e in result.errors
            ],
        }
        if args.dry_run:
            doc["diff"] = unified_diff(result)
        print(json.dumps(doc, indent=2))
    elif args.dry_run:
        sys.stdout.write(unified_diff(result))
    else:
        for o in result.outcomes:
            change = f"{o.old} -> {o.new}" if o.new else o.old
            line = f"{o.path}:{o.line}  {o.status}  {change}"
            if o.reason and o.status != "bumped":
                line += f"  # {o.reason}"
            print(line)
    for err in result.errors:
        print(str(err), file=sys.stderr)
    if result.errors:
        raise PartialFailure(f"{len(result.errors)} file(s) could not be read or parsed")
    return 0
