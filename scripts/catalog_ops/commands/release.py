"""`catalog-ops release`: next version, changed modules, notes, annotated tag and release.

See ``docs/releases.md``. Exit codes: 0 released / already released / nothing to release /
dry run; ``ReleaseError`` (1) when refused; 2 usage; 3 forge; 1 with ``PartialFailure`` when
some per-module releases failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from catalog_ops import gha
from catalog_ops.core.versions import TagScheme, Urgency
from catalog_ops.errors import PartialFailure
from catalog_ops.forge import make_forge
from catalog_ops.release.model import BUMP_CHOICES, ReleaseOptions, ReleasePlan
from catalog_ops.release.run import run_release
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    """Register ``release`` and its options."""
    p = sub.add_parser(
        "release",
        help="tag and release the catalog (next version from Conventional Commits and PR labels)",
        description=(
            "Compute the next version of the catalog from the commits and merged PRs since the "
            "current version, the modules that changed, and release notes; then create an "
            "annotated tag and a release carrying machine-readable metadata."
        ),
    )
    p.add_argument("--repo", required=True, help="catalog repository OWNER/REPO")
    p.add_argument("--bump", choices=BUMP_CHOICES, default="auto", help="default: auto")
    p.add_argument("--prerelease", metavar="ID", help="make a pre-release <version>-ID.N (e.g. rc)")
    p.add_argument(
        "--urgency",
        choices=Urgency.values(),
        help="release urgency for the rollout (default: security when a security change is included)",
    )
    p.add_argument("--ref", metavar="SHA", help="commit to release (default: head of the default branch)")
    p.add_argument(
        "--tag-scheme",
        choices=TagScheme.KINDS,
        help="repo: v{version}; module: {module_path}/v{version} (default: repo, module with --module)",
    )
    p.add_argument("--module", metavar="PATH", help="release only this module (per-module tags)")
    p.add_argument("--template", metavar="FILE", type=Path, help="Jinja2 template for the notes")
    p.add_argument("--dry-run", action="store_true", help="print version, modules and notes; create nothing")
    p.add_argument("--json", action="store_true", help="print a JSON document instead of text")
    p.add_argument(
        "--checks-gate",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="refuse a commit whose checks fail or are pending (default: on for the github forge)",
    )
    p.set_defaults(func=run)


def _print_plan(plan: ReleasePlan, *, dry_run: bool) -> None:
    print(plan.message)
    if plan.status in ("nothing", "failed", "exists"):
        if plan.release_url:
            print(f"  release: {plan.release_url}")
        return
    cs = plan.changes
    print(f"  version:  {plan.version}" + (" (pre-release)" if plan.prerelease else ""))
    print(f"  tag:      {plan.tag} -> {plan.target}")
    print(f"  previous: {plan.previous or '(none)'}")
    print(f"  urgency:  {plan.urgency}; breaking: {'yes' if plan.breaking else 'no'}")
    if plan.checks:
        print(f"  checks:   {plan.checks}")
    if cs is not None:
        print(f"  changed modules: {', '.join(cs.changed + cs.removed) or '-'}")
        print(f"  via dependency:  {', '.join(cs.via_dependency) or '-'}")
        print(f"  tests only:      {', '.join(cs.tests_only) or '-'}")
        if cs.all_affected:
            print(f"  shared config changed: {', '.join(cs.shared)}")
    if plan.release_url:
        print(f"  release: {plan.release_url}")
    if dry_run:
        print()
        print(plan.notes)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run ``catalog-ops release``. Raises ReleaseError/UsageError/ForgeError (see module doc)."""
    options = ReleaseOptions(
        bump=args.bump,
        prerelease=args.prerelease,
        urgency=args.urgency,
        ref=args.ref,
        tag_scheme=args.tag_scheme or ("module" if args.module else "repo"),
        module=args.module,
        template=args.template,
        checks_gate=args.checks_gate,
        dry_run=args.dry_run,
    )
    options.validate()
    forge = make_forge(settings)
    plans = run_release(forge, args.repo, options)
    for warning in dict.fromkeys(w for p in plans for w in p.warnings):
        print(f"catalog-ops: warning: {warning}", file=sys.stderr)
    docs = [p.to_json() for p in plans]
    if args.json:
        json.dump({"dry_run": args.dry_run, "releases": docs}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for plan in plans:
            _print_plan(plan, dry_run=args.dry_run)
    made = [p for p in plans if p.tag and p.status in ("released", "completed", "release")]
    gha.set_outputs(
        {
            "released": "true" if any(p.status in ("released", "completed") for p in plans) else "false",
            "tag": made[0].tag or "" if made else "",
            "version": made[0].version or "" if made else "",
            "previous": made[0].previous or "" if made else "",
            "notes": made[0].notes if made else "",
            "releases": json.dumps(docs),
        }
    )
    summary = []
    for p in plans:
        summary.append(f"### {p.message}\n")
        if p.tag and p.status not in ("nothing", "failed"):
            cs = p.changes
            if cs is not None:
                summary.append(
                    f"Changed modules: {', '.join(cs.changed + cs.removed) or '-'}; via dependency: "
                    f"{', '.join(cs.via_dependency) or '-'}; tests only: {', '.join(cs.tests_only) or '-'}\n"
                )
            summary.append(p.notes)
    gha.write_summary("\n".join(summary))
    failed = [p for p in plans if p.status == "failed"]
    if failed:
        raise PartialFailure(
            f"{len(failed)} of {len(plans)} release(s) failed: " + "; ".join(p.message for p in failed)
        )
    return 0
