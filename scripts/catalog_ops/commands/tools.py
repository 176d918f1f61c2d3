"""`catalog-ops tools`: show or install the pinned external tools (see toolchain.toml)."""

from __future__ import annotations

import argparse
import json

from catalog_ops import toolchain
from catalog_ops.errors import ToolMissing
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tools", help="show or install the pinned external tools")
    p.add_argument("action", choices=("list", "install"), nargs="?", default="list")
    p.add_argument("names", nargs="*", help="tools (default: all)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """List pinned tools with where they resolve, or install them. Exit 4 if any is missing."""
    if args.action == "install":
        toolchain.install(args.names or None)
        return 0
    rows = []
    missing = 0
    for name, spec in toolchain.load_specs().items():
        if not spec.binary and spec.kind != "path":
            continue
        try:
            location = str(toolchain.which(name))
        except ToolMissing as exc:
            location, missing = f"MISSING ({exc})", missing + 1
        rows.append({"tool": name, "version": spec.version or f">= {spec.min_version}", "location": location})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        for row in rows:
            print(f"{row['tool']:<12} {row['version']:<12} {row['location']}")
    return 4 if missing else 0
