"""`catalog-ops dashboard`: one issue in the catalog showing which dependents use which version.

See docs/sweep.md ("Dependency dashboard"). Reads dependents like ``rollout plan`` does (same
options), then creates or updates the dashboard issue in the catalog, writes the same table to
the step summary, and prints it (``--json``: the JSON document on stdout).
"""

from __future__ import annotations

import argparse
import json
import sys

from catalog_ops.errors import PartialFailure, UsageError
from catalog_ops.fanout.dependents import add_selection_arguments, selection_from_args
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
    add_selection_arguments(p)
    p.add_argument(
        "--title", default="Dependency dashboard", help="issue title (default: Dependency dashboard)"
    )
    p.add_argument("--label", action="append", default=[], help="label for the issue (repeatable)")
    p.add_argument("--no-issue", action="store_true", help="do not touch the issue (summary/JSON only)")
    p.add_argument("--json", action="store_true", help="print the dashboard JSON on stdout")
    p.set_defaults(func=run)


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
    from catalog_ops.rollout.model import PROBLEM_REASONS

    if args.catalog.count("/") != 1:
        raise UsageError(f"--catalog {args.catalog!r}: expected OWNER/REPO")
    selection = selection_from_args(args)
    forge = make_forge(settings)
    board = dashboard.build_dashboard(forge, catalog=args.catalog, selection=selection)
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
