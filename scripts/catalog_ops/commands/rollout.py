"""`catalog-ops rollout plan|shard|apply|summary`: fan a catalog release out as update PRs.

- ``plan``: read the release and its metadata, find dependents, write the plan JSON.
- ``shard``: print a GitHub Actions matrix (<= 256 entries) that balances the plan's work.
- ``apply``: open/update/close PRs per the plan (or one shard of it); ``--dry-run`` writes nothing.
- ``summary``: merge the JSON reports of several apply shards into one summary.

See docs/rollout.md for the plan schema, the dependent ``.catalog-ops.yml`` and the templates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from catalog_ops import gha
from catalog_ops.errors import UsageError
from catalog_ops.settings import Settings


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (usage error, exit 2, otherwise)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (got {value})")
    return value


def _nonneg_float(text: str) -> float:
    """argparse type: a number of seconds >= 0 (usage error, exit 2, otherwise)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0 (got {text})")
    return value


def _positive_float(text: str) -> float:
    """argparse type: a number of seconds > 0."""
    value = _nonneg_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg,unused-ignore]
    """Register ``rollout`` and its sub-commands."""
    p = sub.add_parser("rollout", help="roll a catalog release out to dependents as update PRs")
    rsub = p.add_subparsers(dest="rollout_command", metavar="STEP", required=True)

    pp = rsub.add_parser("plan", help="find dependents and the module bumps they need; write the plan JSON")
    pp.add_argument("--catalog", required=True, help="catalog repository OWNER/REPO")
    pp.add_argument("--release", help="release tag to roll out (default: the latest non-pre-release)")
    src = pp.add_mutually_exclusive_group(required=True)
    src.add_argument("--org", help="list the dependents from this org/user")
    src.add_argument("--dependents", type=Path, help="file with one OWNER/REPO per line (or a JSON list)")
    pp.add_argument("--topic", action="append", default=[], help="keep repos having this topic (repeatable)")
    pp.add_argument(
        "--include", action="append", default=[], help="keep repo names matching this glob (repeatable)"
    )
    pp.add_argument(
        "--exclude", action="append", default=[], help="drop repo names matching this glob (repeatable)"
    )
    pp.add_argument(
        "--catalog-address", help="module address dependents use (default: github.com/OWNER/REPO)"
    )
    pp.add_argument(
        "--registry-module",
        action="append",
        default=[],
        metavar="ADDRESS=MODULE",
        help="registry module address published from catalog module dir, e.g. "
        "app.terraform.io/acme/naming/generic=modules/naming (repeatable)",
    )
    pp.add_argument(
        "--bump-all", action="store_true", help="bump every reference, not only modules that changed"
    )
    pp.add_argument("--out", type=Path, help="write the plan here (default: stdout)")
    pp.add_argument(
        "--concurrency", type=_positive_int, default=8, help="dependents scanned in parallel (default 8)"
    )
    pp.add_argument("--json", action="store_true", help="print the plan JSON on stdout even with --out")
    pp.set_defaults(func=run)

    sp = rsub.add_parser("shard", help="print a GitHub Actions matrix that splits the plan's work")
    sp.add_argument("--plan", type=Path, required=True)
    sp.add_argument(
        "--shards",
        type=_positive_int,
        required=True,
        help="wanted number of shards (capped at 256 and at the work)",
    )
    sp.set_defaults(func=run)

    ap = rsub.add_parser("apply", help="open/update/close the PRs of a plan")
    ap.add_argument("--plan", type=Path, required=True)
    ap.add_argument("--shard", help="K/N: apply only shard K of N (from 'rollout shard')")
    ap.add_argument("--dry-run", action="store_true", help="print every diff and PR text; write nothing")
    ap.add_argument(
        "--wait-and-merge",
        action="store_true",
        help="where auto-merge is unavailable, wait for green checks and merge",
    )
    ap.add_argument(
        "--wait-timeout", type=_nonneg_float, default=600.0, help="seconds to wait per PR (default 600)"
    )
    ap.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=15.0,
        help="seconds between check polls (default 15)",
    )
    ap.add_argument(
        "--concurrency", type=_positive_int, default=4, help="dependents processed in parallel (default 4)"
    )
    ap.add_argument(
        "--write-interval",
        type=_nonneg_float,
        help="seconds between content-creating requests (default: settings)",
    )
    ap.add_argument(
        "--force",
        action="store_true",
        help="rebuild the rollout branch even when it has commits not made by catalog-ops",
    )
    ap.add_argument("--template-dir", type=Path, help="directory with pr_title.j2 / pr_body.md.j2 overrides")
    ap.add_argument("--merge-method", choices=("squash", "merge", "rebase"), default="squash")
    ap.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    ap.add_argument("--report", type=Path, help="also write the JSON report to this file")
    ap.set_defaults(func=run)

    sm = rsub.add_parser("summary", help="merge apply shard reports (JSON) into one summary")
    sm.add_argument("reports", nargs="+", type=Path)
    sm.add_argument("--json", action="store_true")
    sm.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch to the step; returns the exit code (1 when any dependent failed)."""
    step = args.rollout_command
    if step == "plan":
        return _plan(args, settings)
    if step == "shard":
        return _shard(args)
    if step == "apply":
        return _apply(args, settings)
    return _summary(args)


def _console() -> Any:
    """stderr console; when stderr is not a terminal (CI logs, pipes) it is 200 columns wide so
    table rows (reasons, paths) stay on one line instead of wrapping at 80."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        console = Console(stderr=True, width=max(200, console.width))
    return console


def _load_plan(path: Path) -> Any:
    from catalog_ops.rollout.planner import Plan

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such plan file") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    return Plan.from_json(data)


def _registry_modules(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        address, sep, module = item.partition("=")
        if not sep or not address.strip() or not module.strip():
            raise UsageError(f"--registry-module must be ADDRESS=MODULE, not {item!r}")
        out[address.strip()] = module.strip().strip("/")
    return out


def _plan(args: argparse.Namespace, settings: Settings) -> int:
    from rich.markup import escape
    from rich.progress import Progress

    from catalog_ops.forge import make_forge
    from catalog_ops.render.report import print_wide
    from catalog_ops.rollout.planner import build_plan, load_dependents_file

    forge = make_forge(settings)
    names = None
    if args.dependents is not None:
        try:
            text = args.dependents.read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"{args.dependents}: {exc.strerror}") from None
        names = load_dependents_file(text, str(args.dependents))
    console = _console()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("scanning dependents", total=None)
        plan = build_plan(
            forge,
            catalog=args.catalog,
            release=args.release,
            org=args.org,
            topics=args.topic,
            include=args.include,
            exclude=args.exclude,
            dependents=names,
            catalog_address=args.catalog_address,
            bump_all=args.bump_all,
            registry_modules=_registry_modules(args.registry_module),
            concurrency=args.concurrency,
            progress=lambda _name: progress.advance(task),
        )
    doc = json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(doc, encoding="utf-8")
    if not args.out or args.json:
        sys.stdout.write(doc)
    print_wide(console, _plan_table(plan))
    for d in plan.dependents:
        if d.action.value == "skip" and d.reason and d.reason.startswith("invalid config"):
            gha.annotate("warning", d.reason, title=f"catalog-ops rollout: {d.repo} skipped")
        for err in d.errors:
            gha.annotate("warning", err, title=f"catalog-ops rollout: {d.repo}: file not parsed")
    gha.write_summary(_plan_markdown(plan))
    counts = plan.counts()
    work = sum(counts.get(a, 0) for a in ("open", "update", "close"))
    problems = _plan_problems(plan)
    gha.set_outputs(
        {
            "has_work": "true" if work else "false",
            "counts": json.dumps(counts, sort_keys=True),
            "problems": str(len(problems)),
        }
    )
    for line in problems:
        console.print(f"[red]error[/]: {escape(line)}", soft_wrap=True)
    return 1 if problems else 0


def _plan_problems(plan: Any) -> list[str]:
    """What makes ``rollout plan`` exit 1 (the plan is still written): files that could not be
    parsed in a dependent, and dependents that could not be read (missing repository, forge
    errors, invalid ``.catalog-ops.yml``) — like ``dashboard``, which exits 1 on such errors."""
    from catalog_ops.rollout.planner import PROBLEM_REASONS

    out: list[str] = []
    for d in plan.dependents:
        for err in d.errors:
            out.append(f"{d.repo}: {err}")
        if d.action.value == "skip" and d.reason and d.reason.startswith(PROBLEM_REASONS):
            out.append(f"{d.repo}: {d.reason}")
    return out


def _plan_table(plan: Any) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=f"Rollout plan: {plan.catalog} {plan.release.tag} ({plan.release.urgency})",
        caption=", ".join(f"{n} {a}" for a, n in sorted(plan.counts().items())),
    )
    for col in ("Repository", "Action", "Update", "Urgency", "Changes / reason"):
        table.add_column(col, overflow="fold")
    quiet = 0
    for d in plan.dependents:
        if d.action.value == "nothing" and not d.refs and len(plan.dependents) > 30:
            quiet += 1
            continue
        bumped = sorted(
            {
                f"{r.module.rsplit('/', 1)[-1] or '(root)'} {r.current}→{r.target}"
                for r in d.refs
                if r.action == "bump"
            }
        )
        skipped = [
            f"{r.written_in}:{r.ref_line or r.line} skipped: {r.reason}" for r in d.refs if r.action == "skip"
        ]
        unread = [f"not read: {e}" for e in d.errors]
        text = "; ".join(bumped + skipped + unread) or (d.reason or "")
        if unread and d.reason and d.reason not in text:
            text = f"{d.reason}; {text}"
        table.add_row(
            d.repo, d.action.value, d.update if d.bumps else "", d.urgency if d.bumps else "", escape(text)
        )
    if quiet:
        table.add_row(f"({quiet} more)", "nothing", "", "", "no reference to the catalog")
    return table


def _plan_markdown(plan: Any) -> str:
    """Step-summary Markdown: counts and one row per dependent with work or a skip."""
    lines = [
        f"### Rollout plan: {plan.catalog} {plan.release.tag} ({plan.release.urgency})",
        "",
        ", ".join(f"{n} {a}" for a, n in sorted(plan.counts().items())),
        "",
        "| Repository | Action | Update | Urgency | Changes / reason |",
        "|---|---|---|---|---|",
    ]
    for d in plan.dependents:
        if d.action.value == "nothing" and not d.errors:
            continue
        bumped = sorted(
            {f"{r.module or '(root)'} {r.current}→{r.target}" for r in d.refs if r.action == "bump"}
        )
        unread = [f"not read: {e}" for e in d.errors]
        text = ("; ".join(bumped + unread) or d.reason or "").replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {d.repo} | {d.action.value} | {d.update if d.bumps else ''} | {d.urgency if d.bumps else ''} | {text} |"
        )
    return "\n".join(lines) + "\n"


def _shard(args: argparse.Namespace) -> int:
    from catalog_ops.rollout.planner import matrix

    plan = _load_plan(args.plan)
    result = matrix(plan, args.shards)
    text = json.dumps(result, separators=(",", ":"))
    print(text)
    gha.set_outputs({"matrix": text})
    return 0


def _apply(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import Progress

    from catalog_ops.forge import make_forge
    from catalog_ops.rollout.apply import ApplyOptions, Pacer, apply_plan, check_templates, template_env
    from catalog_ops.rollout.planner import dependents_of_shard, parse_shard

    plan = _load_plan(args.plan)
    shard = parse_shard(args.shard) if args.shard else None
    check_templates(template_env(args.template_dir), plan)  # template errors fail once, up front (exit 2)
    forge = make_forge(settings)
    interval = settings.write_interval if args.write_interval is None else args.write_interval
    options = ApplyOptions(
        dry_run=args.dry_run,
        wait_and_merge=args.wait_and_merge,
        wait_timeout=args.wait_timeout,
        poll_interval=args.poll_interval,
        concurrency=args.concurrency,
        template_dir=args.template_dir,
        merge_method=args.merge_method,
        out=sys.stdout if args.dry_run and not args.json else None,
        force=args.force,
    )
    console = _console()
    total = len(dependents_of_shard(plan, shard))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("applying", total=total)
        report = apply_plan(
            forge,
            plan,
            shard=shard,
            options=options,
            pacer=Pacer(interval),
            progress=lambda _o: progress.advance(task),
        )
    report.render_table(console)
    gha.write_summary(report.to_markdown())
    doc = json.dumps(report.to_json(), indent=2) + "\n"
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(doc, encoding="utf-8")
    if args.json:
        sys.stdout.write(doc)
    gha.set_outputs({"failed": "true" if report.failed else "false", "counts": json.dumps(report.counts())})
    return 1 if report.failed else 0


def _summary(args: argparse.Namespace) -> int:
    from catalog_ops.render.report import merge_reports, validate_report
    from catalog_ops.rollout.apply import QUIET_REASONS, REPORT_COLUMNS

    docs = []
    title = "Rollout"
    seen: set[Path] = set()
    for path in args.reports:
        if path.resolve() in seen:  # the same file given twice counts once
            continue
        seen.add(path.resolve())
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"{path}: cannot read report: {exc}") from None
        problem = validate_report(doc)
        if problem:
            raise UsageError(f"{path}: not a catalog-ops apply report: {problem}")
        docs.append(doc)
        title = str(doc.get("title", title)).split(" (shard")[0]
    try:
        report = merge_reports(title, docs, columns=REPORT_COLUMNS)
        report.quiet_reasons = frozenset(QUIET_REASONS)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    report.render_table(_console())
    gha.write_summary(report.to_markdown(), env=os.environ)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    return 1 if report.failed else 0
