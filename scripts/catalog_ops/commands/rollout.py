"""`catalog-ops rollout plan|shard|apply|summary`: fan a catalog release out as update PRs.

- ``plan``: read the release and its metadata, find dependents, write the plan JSON.
- ``shard``: print a GitHub Actions matrix (<= 256 entries) that balances the plan's work.
- ``apply``: open/update/close PRs per the plan (or one shard of it); ``--dry-run`` writes nothing.
- ``merge``: the merge pass: arm, merge through the gate, or disarm each open rollout PR of a
  plan (a scheduled workflow runs ``plan`` then ``merge``); writes no branch or PR text.
- ``summary``: merge the JSON reports of several apply shards into one summary.

See docs/rollout.md for the plan schema, the dependent ``.catalog-ops.yml`` and the templates.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from catalog_ops import gha
from catalog_ops.errors import UsageError
from catalog_ops.fanout.dependents import add_selection_arguments, positive_int, selection_from_args
from catalog_ops.settings import Settings

if TYPE_CHECKING:
    from catalog_ops.rollout.model import Plan


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
    add_selection_arguments(pp)
    pp.add_argument(
        "--bump-all", action="store_true", help="bump every reference, not only modules that changed"
    )
    pp.add_argument("--out", type=Path, help="write the plan here (default: stdout)")
    pp.add_argument(
        "--previous",
        type=Path,
        help="the last plan of this catalog (e.g. the previous run's artifact): dependents whose "
        "base branch head did not change since are not read again (a missing file is ignored)",
    )
    pp.add_argument("--json", action="store_true", help="print the plan JSON on stdout even with --out")
    pp.add_argument(
        "--allow-problems",
        action="store_true",
        help="exit 0 with a warning instead of 1 when some dependents had problems but the plan "
        "was written to --out (the rollout action: the others are still rolled out)",
    )
    pp.set_defaults(func=run)

    sp = rsub.add_parser("shard", help="print a GitHub Actions matrix that splits the plan's work")
    sp.add_argument("--plan", type=Path, required=True)
    sp.add_argument(
        "--shards",
        type=positive_int,
        required=True,
        help="wanted number of shards (capped at 256 and at the work)",
    )
    sp.set_defaults(func=run)

    ap = rsub.add_parser("apply", help="open/update/close the PRs of a plan")
    ap.add_argument("--plan", type=Path, required=True)
    ap.add_argument("--shard", help="K/N: apply only shard K of N (from 'rollout shard')")
    ap.add_argument("--dry-run", action="store_true", help="print every diff and PR text; write nothing")
    _merge_arguments(ap)
    ap.add_argument(
        "--merge-only",
        action="store_true",
        help="only the merge pass (as 'rollout merge'): write no branch or PR text; for the action's merge-only input",
    )
    ap.add_argument(
        "--concurrency", type=positive_int, default=4, help="dependents processed in parallel (default 4)"
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
    ap.add_argument(
        "--time-budget",
        type=_positive_float,
        help="seconds this run may take (e.g. what is left of the job's 6 hours): a dependent whose "
        "writes would not fit under GitHub's limits is deferred, untouched, to the next run",
    )
    ap.add_argument(
        "--budget-share",
        type=positive_int,
        default=1,
        help="jobs writing with the same token at once (e.g. the workflow's max-parallel): each "
        "takes this share of GitHub's 80/minute and 500/hour content-creation limits (default 1)",
    )
    ap.add_argument("--template-dir", type=Path, help="directory with pr_title.j2 / pr_body.md.j2 overrides")
    _report_arguments(ap)
    ap.set_defaults(func=run)

    mp = rsub.add_parser(
        "merge",
        help="merge pass: merge each open rollout PR of a plan whose checks passed on its head "
        "(arm GitHub auto-merge where required checks exist; disarm where the policy no longer allows it)",
    )
    mp.add_argument("--plan", type=Path, required=True)
    mp.add_argument("--shard", help="K/N: only shard K of N (from 'rollout shard')")
    _merge_arguments(mp)
    mp.add_argument(
        "--concurrency", type=positive_int, default=4, help="dependents processed in parallel (default 4)"
    )
    _report_arguments(mp)
    mp.set_defaults(func=run)

    sm = rsub.add_parser("summary", help="merge apply shard reports (JSON) into one summary")
    sm.add_argument("reports", nargs="+", type=Path)
    sm.add_argument("--json", action="store_true")
    sm.set_defaults(func=run)

    cp = rsub.add_parser(
        "continue",
        help="when apply deferred dependents (GitHub's limits, the job's time), dispatch the rollout "
        "workflow again to continue from where it stands",
    )
    cp.add_argument("reports", nargs="+", type=Path, help="the apply shard reports (JSON) of this run")
    cp.add_argument(
        "--workflow-ref",
        required=True,
        metavar="OWNER/REPO/PATH@REF",
        help="the workflow to dispatch, as GitHub's github.workflow_ref names it "
        "(acme/modules/.github/workflows/catalog-rollout.yml@refs/heads/main)",
    )
    cp.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a workflow_dispatch input of the continuation (repeatable), e.g. previous-run-id=123",
    )
    cp.add_argument(
        "--plan",
        type=Path,
        help="this run's plan: its release becomes the continuation's release-tag input (same release)",
    )
    cp.add_argument("--dry-run", action="store_true", help="say what would be dispatched, dispatch nothing")
    cp.set_defaults(func=run)


def _report_arguments(p: argparse.ArgumentParser) -> None:
    """``--json``, ``--report FILE`` and ``--report-dir DIR``: where ``apply`` and ``merge`` put
    their outcome report (``render.report.Report``)."""
    p.add_argument("--json", action="store_true", help="print the report as JSON on stdout")
    p.add_argument("--report", type=Path, help="also write the JSON report to this file")
    p.add_argument(
        "--report-dir",
        metavar="DIR",
        help="write the JSON report to DIR/shard-K-of-N.json (DIR/shard-all.json without --shard) "
        "and set the step output report-file",
    )


def _merge_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the merge step shared by ``apply`` and ``merge``."""
    p.add_argument(
        "--wait-and-merge",
        action="store_true",
        help="where GitHub's auto-merge does not wait for required checks, poll the merge gate "
        "until the checks on the PR head passed (then merge, pinned to that head) or failed",
    )
    p.add_argument(
        "--wait-timeout", type=_nonneg_float, default=600.0, help="seconds to wait per PR (default 600)"
    )
    p.add_argument(
        "--poll-interval",
        type=_positive_float,
        default=15.0,
        help="seconds between check polls (default 15)",
    )
    p.add_argument(
        "--checks-grace",
        type=_nonneg_float,
        default=300.0,
        help="seconds after the head commit during which 'no check reported yet' is pending; after "
        "it a PR whose repository reported no check is not merged (default 300)",
    )
    p.add_argument(
        "--merge-method",
        choices=("squash", "merge", "rebase"),
        default="squash",
        help="preferred merge method; another one the repository allows is used when it is disabled",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Dispatch to the step; returns the exit code (1 when any dependent failed)."""
    step = args.rollout_command
    if step == "plan":
        return _plan(args, settings)
    if step == "shard":
        return _shard(args)
    if step == "apply":
        return _apply(args, settings)
    if step == "merge":
        return _merge(args, settings)
    if step == "continue":
        return _continue(args, settings)
    return _summary(args)


def _console() -> Any:
    """stderr console; when stderr is not a terminal (CI logs, pipes) it is 200 columns wide so
    table rows (reasons, paths) stay on one line instead of wrapping at 80."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        console = Console(stderr=True, width=max(200, console.width))
    return console


def _load_plan(path: Path) -> Plan:
    from catalog_ops.rollout.model import Plan

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no such plan file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"{path}: not UTF-8 text (byte {exc.start}): not a plan written by `rollout plan`"
        ) from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the plan: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    return Plan.from_json(data)


def _plan(args: argparse.Namespace, settings: Settings) -> int:
    from rich.markup import escape
    from rich.progress import Progress

    from catalog_ops.forge import make_forge
    from catalog_ops.render.report import print_wide
    from catalog_ops.rollout.gather import build_plan
    from catalog_ops.rollout.summary import plan_markdown, plan_problems, plan_table

    selection = selection_from_args(args)
    previous = None
    if args.previous is not None and args.previous.is_file():
        try:
            previous = _load_plan(args.previous)
        except UsageError as exc:  # an unreadable previous plan only costs a full read
            gha.annotate("warning", f"{exc}; planning from scratch", title="catalog-ops rollout plan")
    forge = make_forge(settings)
    console = _console()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("scanning dependents", total=None)
        plan = build_plan(
            forge,
            catalog=args.catalog,
            release=args.release,
            selection=selection,
            bump_all=args.bump_all,
            progress=lambda _name: progress.advance(task),
            previous=previous,
        )
    doc = json.dumps(plan.to_json(), indent=2, sort_keys=False) + "\n"
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(doc, encoding="utf-8")
    if not args.out or args.json:
        sys.stdout.write(doc)
    print_wide(console, plan_table(plan))
    for line in plan.warnings:
        console.print(f"[yellow]warning[/]: {escape(line)}", soft_wrap=True)
        gha.annotate("warning", line, title="catalog-ops rollout plan")
    for d in plan.dependents:
        if d.action.value == "skip" and d.reason and d.reason.startswith("invalid config"):
            gha.annotate("warning", d.reason, title=f"catalog-ops rollout: {d.repo} skipped")
        for err in d.errors:
            gha.annotate("warning", err, title=f"catalog-ops rollout: {d.repo}: file not parsed")
    gha.write_summary(plan_markdown(plan))
    counts = plan.counts()
    work = sum(counts.get(a, 0) for a in ("open", "update", "close"))
    problems = plan_problems(plan)
    gha.set_outputs(
        {
            "has_work": "true" if work else "false",
            "counts": json.dumps(counts, sort_keys=True),
            "problems": str(len(problems)),
        }
    )
    for line in problems:
        console.print(f"[red]error[/]: {escape(line)}", soft_wrap=True)
    if problems and args.allow_problems and args.out and args.out.stat().st_size:
        gha.annotate(
            "warning",
            "some dependents had problems (see above); rolling out the rest",
            title="catalog-ops rollout plan",
        )
        return 0
    return 1 if problems else 0


def _shard(args: argparse.Namespace) -> int:
    from catalog_ops.rollout.shard import matrix

    plan = _load_plan(args.plan)
    result = matrix(plan, args.shards)
    text = json.dumps(result, separators=(",", ":"))
    print(text)
    gha.set_outputs({"matrix": text})
    return 0


def _apply(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import Progress

    from catalog_ops.forge import make_forge
    from catalog_ops.rollout.apply import ApplyOptions, apply_plan
    from catalog_ops.rollout.prtext import check_templates, template_env
    from catalog_ops.rollout.shard import dependents_of_shard, parse_shard

    if args.merge_only:
        if args.dry_run:
            raise UsageError("--merge-only writes no PR text and has no --dry-run")
        return _merge(args, settings)
    shard_id = args.shard.replace("/", "-of-") if args.shard else "all"  # name-safe, for artifact names
    gha.set_outputs({"shard-id": shard_id})
    if args.report_dir and not args.report:
        args.report = Path(f"{args.report_dir}/shard-{shard_id}.json")
        gha.set_outputs({"report-file": f"{args.report_dir}/shard-{shard_id}.json"})
    plan = _load_plan(args.plan)
    shard = parse_shard(args.shard) if args.shard else None
    check_templates(template_env(args.template_dir), plan)  # template errors fail once, up front (exit 2)
    if args.write_interval is not None:  # the forge paces content-creating requests
        settings = settings.replace(write_interval=args.write_interval)
    forge = make_forge(settings)
    pacer = getattr(forge, "pacer", None)
    if pacer is not None and args.budget_share > 1 and hasattr(pacer, "per_hour"):
        # Parallel shards share the token's limits (GitHub counts per user or App installation).
        pacer.per_minute = max(1, pacer.per_minute // args.budget_share)
        pacer.per_hour = max(1, pacer.per_hour // args.budget_share)
    options = ApplyOptions(
        dry_run=args.dry_run,
        wait_and_merge=args.wait_and_merge,
        wait_timeout=args.wait_timeout,
        poll_interval=args.poll_interval,
        checks_grace=args.checks_grace,
        concurrency=args.concurrency,
        template_dir=args.template_dir,
        merge_method=args.merge_method,
        out=sys.stdout if args.dry_run and not args.json else None,
        force=args.force,
        time_budget=args.time_budget,
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
            progress=lambda _o: progress.advance(task),
        )
    report.render_table(console)
    from catalog_ops.rollout.summary import schedule_line

    progress_line = "\n".join(
        x for x in (rollout_progress(report), schedule_line(o.reason for o in report.outcomes)) if x
    )
    if progress_line:
        console.print(progress_line, soft_wrap=True, markup=False)
    gha.write_summary(report.to_markdown() + (f"\n{progress_line}\n" if progress_line else ""))
    doc = json.dumps(report.to_json(), indent=2) + "\n"
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(doc, encoding="utf-8")
    if args.json:
        sys.stdout.write(doc)
    deferred = [o for o in report.outcomes if (o.reason or "").startswith("deferred:")]
    gha.set_outputs(
        {
            "failed": "true" if report.failed else "false",
            "counts": json.dumps(report.counts()),
            "deferred": str(len(deferred)),
        }
    )
    return 1 if report.failed else 0


def rollout_progress(report: Any, per_hour: float = 500.0, writes_per_dependent: float = 4.0) -> str:
    """``done N / remaining M; ETA ...`` when some dependents were deferred (GitHub's limits
    left no room in this run), else "". ETA: the remaining writes at GitHub's 500
    content-creating requests an hour, from the resume time in the deferral reasons."""
    deferred = [o for o in report.outcomes if (o.reason or "").startswith("deferred:")]
    if not deferred:
        return ""
    done = len(report.outcomes) - len(deferred)
    resume = min((o.reason or "").rsplit("after ", 1)[-1] for o in deferred)
    hours = len(deferred) * writes_per_dependent / per_hour
    return (
        f"progress: done {done} / remaining {len(deferred)} dependents; resume after {resume}, "
        f"about {hours:.1f} h of GitHub's content-creation budget left to use (run apply again with the same plan)"
    )


def _merge(args: argparse.Namespace, settings: Settings) -> int:
    from catalog_ops.forge import make_forge
    from catalog_ops.rollout.apply import ApplyOptions, merge_plan
    from catalog_ops.rollout.shard import parse_shard

    shard_id = args.shard.replace("/", "-of-") if args.shard else "all"
    gha.set_outputs({"shard-id": shard_id})
    if args.report_dir and not args.report:
        args.report = Path(f"{args.report_dir}/shard-{shard_id}.json")
        gha.set_outputs({"report-file": f"{args.report_dir}/shard-{shard_id}.json"})
    plan = _load_plan(args.plan)
    shard = parse_shard(args.shard) if args.shard else None
    options = ApplyOptions(
        wait_and_merge=args.wait_and_merge,
        wait_timeout=args.wait_timeout,
        poll_interval=args.poll_interval,
        checks_grace=args.checks_grace,
        concurrency=args.concurrency,
        merge_method=args.merge_method,
    )
    report = merge_plan(make_forge(settings), plan, shard=shard, options=options)
    report.render_table(_console())
    gha.write_summary(report.to_markdown())
    doc = json.dumps(report.to_json(), indent=2) + "\n"
    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(doc, encoding="utf-8")
    if args.json:
        sys.stdout.write(doc)
    gha.set_outputs({"failed": "true" if report.failed else "false", "counts": json.dumps(report.counts())})
    return 1 if report.failed else 0


#: "Create a workflow dispatch event": ``inputs`` "The maximum number of properties is 25"
#: (https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event; the
#: OpenAPI description's ``maxProperties: 25``; GitHub once allowed 10).
MAX_DISPATCH_INPUTS = 25


def parse_workflow_ref(text: str) -> tuple[str, str, str]:
    """``(repo, workflow file name, ref name)`` of a ``github.workflow_ref`` value
    (``OWNER/REPO/.github/workflows/FILE.yml@refs/heads/main``: "The ref path to the workflow",
    https://docs.github.com/en/actions/reference/workflows-and-actions/contexts#github-context;
    in a reusable workflow it names the caller's workflow). Raises UsageError otherwise."""
    path, sep, ref = text.partition("@")
    parts = path.split("/")
    if not sep or not ref or len(parts) < 3 or not parts[-1].endswith((".yml", ".yaml")):
        raise UsageError(
            f"--workflow-ref {text!r}: expected OWNER/REPO/.github/workflows/FILE.yml@REF (github.workflow_ref)"
        )
    name = ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
    return f"{parts[0]}/{parts[1]}", parts[-1], name


def _continue(args: argparse.Namespace, settings: Settings) -> int:
    """``rollout continue``: dispatch the next run when the reports hold deferred dependents."""
    from catalog_ops.forge import make_forge

    report = _load_reports(args.reports)
    inputs: dict[str, str] = {}
    for item in args.input:
        key, sep, value = str(item).partition("=")
        if not sep or not key:
            raise UsageError(f"--input {item!r}: expected KEY=VALUE")
        inputs[key] = value
    if args.plan is not None:
        inputs.setdefault("release-tag", _load_plan(args.plan).release.tag)
    if len(inputs) > MAX_DISPATCH_INPUTS:
        raise UsageError(
            f"rollout continue: {len(inputs)} workflow_dispatch inputs; GitHub takes at most "
            f'{MAX_DISPATCH_INPUTS} ("Create a workflow dispatch event")'
        )
    line = rollout_progress(report)
    if not line:
        print("rollout continue: no dependent was deferred; nothing to continue", file=sys.stderr)
        gha.set_outputs({"continued": "false"})
        return 0
    repo, workflow, ref = parse_workflow_ref(args.workflow_ref)
    what = f"{workflow} on {ref} in {repo}" + (
        f" ({', '.join(f'{k}={v}' for k, v in sorted(inputs.items()))})" if inputs else ""
    )
    if args.dry_run:
        print(f"rollout continue: would dispatch {what}; {line}", file=sys.stderr)
        gha.set_outputs({"continued": "false"})
        return 0
    forge = make_forge(settings)
    dispatch = getattr(forge, "dispatch_workflow", None)
    if dispatch is None:
        raise UsageError(
            f"rollout continue dispatches a GitHub Actions workflow; the {settings.forge} forge has none"
        )
    dispatch(repo, workflow, ref=ref, inputs=inputs)
    print(f"rollout continue: dispatched {what}; {line}", file=sys.stderr)
    gha.set_outputs({"continued": "true"})
    gha.write_summary(f"Continuation dispatched: {what}.\n\n{line}\n", env=os.environ)
    return 0


def _load_reports(paths: Sequence[Path]) -> Any:
    """The shard reports at ``paths`` merged into one ``render.report.Report`` (a file given
    twice counts once). Raises UsageError for a file that is not an apply report."""
    from catalog_ops.render.report import merge_reports, validate_report
    from catalog_ops.rollout.apply import QUIET_REASONS, REPORT_COLUMNS

    docs = []
    title = "Rollout"
    seen: set[Path] = set()
    for path in paths:
        if path.resolve() in seen:  # the same file given twice counts once
            continue
        seen.add(path.resolve())
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # ValueError: invalid JSON or not UTF-8
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
    return report


def _summary(args: argparse.Namespace) -> int:
    report = _load_reports(args.reports)
    console = _console()
    report.render_table(console)
    from catalog_ops.rollout.summary import schedule_line

    line = "\n".join(
        x for x in (rollout_progress(report), schedule_line(o.reason for o in report.outcomes)) if x
    )
    if line:
        console.print(line, soft_wrap=True, markup=False)
    gha.write_summary(report.to_markdown() + (f"\n{line}\n" if line else ""), env=os.environ)
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    return 1 if report.failed else 0
