"""`catalog-ops tools`: show or install the pinned external tools (see toolchain.toml)."""

from __future__ import annotations

import argparse
import json

from catalog_ops import toolchain
from catalog_ops.errors import ToolMissing, UsageError
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``tools`` (``list``/``install`` and optional tool names)."""
    p = sub.add_parser("tools", help="show or install the pinned external tools")
    p.add_argument("action", choices=("list", "install"), nargs="?", default="list")
    p.add_argument("names", nargs="*", help="tools (default: all)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """List pinned tools with where they resolve, or install them. Exit 4 if any is missing.

    ``names`` restricts both actions to those tools (in toolchain.toml order).

    Raises:
        UsageError: a name is not a tool of toolchain.toml (exit 2; the message lists the known ones).
    """
    specs = toolchain.load_specs()
    unknown = [n for n in dict.fromkeys(args.names) if n not in specs]
    if unknown:
        raise UsageError(
            f"unknown tool{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)} (known: {', '.join(specs)})"
        )
    if args.action == "install":
        toolchain.install(args.names or None)
        return 0
    wanted = set(args.names)
    rows = []
    missing = 0
    for name, spec in specs.items():
        if wanted and name not in wanted:
            continue
        if not spec.binary and spec.kind != "path":
            if name in wanted:  # asked for by name: say what it is instead of printing nothing
                rows.append(
                    {"tool": name, "version": spec.version or "-", "location": f"{spec.kind} (no binary)"}
                )
            continue
        try:
            location = str(toolchain.which(name))
        except ToolMissing as exc:
            location, missing = f"MISSING ({exc})", missing + 1
        rows.append({"tool": name, "version": spec.version or f">= {spec.min_version}", "location": location})
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        # columns as wide as their longest cell (terraform-provider-time is longer than a tab stop)
        tool_w = max((len(row["tool"]) for row in rows), default=0)
        version_w = max((len(row["version"]) for row in rows), default=0)
        for row in rows:
            print(f"{row['tool']:<{tool_w}}  {row['version']:<{version_w}}  {row['location']}")
    return 4 if missing else 0
