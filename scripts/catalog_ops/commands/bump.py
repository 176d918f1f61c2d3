"""`catalog-ops bump`: rewrite the version token of every reference to a module address."""

from __future__ import annotations

import argparse
import json
import sys

from catalog_ops.bump import BumpOutcome, BumpResult, bump_tree
from catalog_ops.commands.refs import error_json, escape, progress_bar
from catalog_ops.errors import CatalogOpsError, PartialFailure
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
    p.add_argument(
        "--no-stack-values",
        dest="stack_values",
        action="store_false",
        help="leave terragrunt.stack.hcl values.version alone (by default it follows its block's ref)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def unified_diff(result: BumpResult) -> str:
    """The unified diff (``a/PATH`` → ``b/PATH``) of every changed file."""
    import difflib  # only --dry-run needs it

    out: list[str] = []
    for path in sorted(result.changed):
        old = result.original[path].decode("utf-8").splitlines(keepends=True)
        new = result.changed[path].decode("utf-8").splitlines(keepends=True)
        out.extend(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}"))
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in out)


def outcome_line(o: BumpOutcome) -> str:
    """``path:line  status  old -> new  # reason`` (control characters escaped)."""
    change = f"{o.old} -> {o.new}" if o.new else o.old
    line = f"{o.path}:{o.line}  {o.status}  {change}"
    if o.reason and (o.status != "bumped" or o.new is None):
        line += f"  # {o.reason}"
    return escape(line)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Bump; print outcomes on stdout (with --dry-run: the diff on stdout, outcomes on stderr).

    Exits 1 when a file failed to read/parse (PartialFailure) or when no reference matches
    ``--source`` (e.g. a typo), after printing everything else.
    """
    with progress_bar("bumping") as hook:
        result = bump_tree(
            args.paths or ["."],
            address=args.source,
            to=args.to,
            allow_prerelease=args.allow_prerelease,
            dry_run=args.dry_run,
            progress=hook,
            stack_values=getattr(args, "stack_values", True),
        )
    if args.json:
        doc: dict[str, object] = {
            "dry_run": args.dry_run,
            "changed": sorted(result.changed),
            "outcomes": [o.to_json() for o in result.outcomes],
            "errors": [error_json(e) for e in result.errors],
        }
        if args.dry_run:
            doc["diff"] = unified_diff(result)
        print(json.dumps(doc, indent=2))
    elif args.dry_run:
        sys.stdout.write(unified_diff(result))
        sys.stdout.flush()
        for o in result.outcomes:
            print(outcome_line(o), file=sys.stderr)
    else:
        for o in result.outcomes:
            print(outcome_line(o))
    for err in result.errors:
        print(str(err), file=sys.stderr)
    if result.errors:
        raise PartialFailure(f"{len(result.errors)} file(s) could not be read or parsed")
    if not result.outcomes:
        raise CatalogOpsError(f"no references to {args.source.strip()} found in {result.files_scanned} files")
    return 0
