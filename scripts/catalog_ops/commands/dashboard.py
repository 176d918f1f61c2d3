"""`catalog-ops dashboard`: one issue in the catalog showing which dependents use which version.

See docs/sweep.md ("Dependency dashboard"). Reads dependents like ``rollout plan`` does (same
options), then creates or updates the dashboard issue in the catalog, writes the same table to
the step summary, and prints it (``--json``: the JSON document on stdout).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from catalog_ops.errors import PartialFailure, UsageError
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``dashboard`` and its options."""
    p = sub.add_parser(
        "dashboard",
        help="update the catalog's dependency dashboard issue (who uses which version, drift, security)",
        description="Scan the dependents (like 'rollout plan') and create or update one issue in the catalog "
        "that shows, per module, which dependents use which version, how far behind they are, pending "
        "security releases and open update PRs.",
    )
    p.add_argument("--catalog", required=True, metavar="OWNER/REPO", help="catalog repository")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--org", help="list the dependents from this org/user")
    src.add_argument("--dependents", type=Path, help="file with one OWNER/REPO per line (or a JSON list)")
    p.add_argument("--topic", action="append", default=[], help="keep repos having this topic (repeatable)")
    p.add_argument(
        "--include", action="append", default=[], help="keep repo names matching this glob (repeatable)"
    )
    p.add_argument(
        "--exclude", action="append", default=[], help="drop repo names matching this glob (repeatable)"
    )
    p.add_argument("--catalog-address", help="module address dependents use (default: github.com/OWNER/REPO)")
    p.add_argument(
        "--registry-module",
        action="append",
        default=[],
        metavar="ADDRESS=MODULE",
        help="registry module address published from a catalog module dir (repeatable)",
    )
    p.add_argument(
        "--title", default="Dependency dashboard", help="issue title (default: Dependency dashboard)"
    )
    p.add_argument("--label", action="append", default=[], help="label for the issue (repeatable)")
    p.add_argument("--no-issue", action="store_true", help="do not touch the issue (summary/JSON only)")
    p.add_argument("--concurrency", type=int, default=8, help="dependents scanned in parallel (default 8)")
    p.add_argument("--json", action="store_true", help="print the dashboard JSON on stdout")
    p.set_defaults(func=run)


def _registry_modules(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        address, sep, module = item.partition("=")
        if not sep or not address.strip() or not module.strip():
            raise UsageError(f"--registry-module {item!r}: expected ADDRESS=MODULE_DIR")
        out[address.strip()] = module.strip().strip("/")
    return out


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Build and publish the dashboard.

    Raises:
        UsageError: bad arguments or dependents file. ReleaseError: no catalog release.
        ForgeError: catalog/org unreadable or the issue cannot be written.
        PartialFailure: some dependents could not be scanned (the dashboard was still written).
    """
    from catalog_ops import gha
    from catalog_ops.forge import make_forge
    from catalog_ops.rollout import dashboard as dashboard
    from catalog_ops.rollout.planner import PROBLEM_REASONS, load_dependents_file

    if args.catalog.count("/") != 1:
        raise UsageError(f"--catalog {args.catalog!r}: expected OWNER/REPO")
    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    dependents = None
    if args.dependents is not None:
        try:
            text = args.dependents.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"--dependents {args.dependents}: {exc.strerror}") from None
        dependents = load_dependents_file(text, str(args.dependents))
    forge = make_forge(settings)
    board = dashboard.build_dashboard(
        forge,
        catalog=args.catalog,
        org=args.org,
        topics=args.topic,
        include=args.include,
        exclude=args.exclude,
        dependents=dependents,
        catalog_address=args.catalog_address,
        registry_modules=_registry_modules(args.registry_module),
        concurrency=args.concurrency,
    )
    issue = None
    if not args.no_issue:
        issue = dashboard.publish(forge, board, title=args.title, labels=args.label)
    doc = board.to_json()
    doc["issue"] = {"number": issue.number, "url": issue.url} if issue else None
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(board.to_markdown(with_marker=False))
    gha.write_summary(board.to_markdown(with_marker=False))
    if issue is not None:
        gha.set_outputs({"issue-url": issue.url})
        print(f"dashboard: {issue.url}", file=sys.stderr)
    # Exactly rollout plan's errors: unreadable dependents and invalid .catalog-ops.yml
    # (``path:line:col: message``), plus files that could not be parsed.
    failed = [(r, why) for r, why in board.skipped if why.startswith(PROBLEM_REASONS)]
    if failed or board.errors:
        problems = [f"{r}: {why}" for r, why in failed] + board.errors
        raise PartialFailure("some dependents could not be read:\n  " + "\n  ".join(problems))
    return 0
