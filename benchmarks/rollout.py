"""Rollout cost against the GitHub emulator: requests per dependent, write rate, wall time.

Usage: ``.venv/bin/python benchmarks/rollout.py [--dependents 500] [--share 0.1] [--latency 0.05]
[--write-interval 1.0] [--concurrency 8] [--json]``

World: the catalog ``acme/infrastructure-modules`` with releases ``v1.0.0`` and ``v1.1.0``
(security, ``modules/network`` changed) and N dependents ``acme/dep-NNN`` with four files each
(``main.tf``, ``variables.tf``, a local module, ``README.md``); every ``1/share``-th one uses
``modules/network?ref=v1.0.0`` (and a ``CODEOWNERS``), the others only local and third-party
modules. Every request gets ``--latency`` seconds added by the emulator.

Measured (from the emulator's request log, i.e. what reached the server):

* requests per untouched dependent (plan: one tree listing + the candidate files) and per
  updated dependent (plan + apply: commit, PR, labels, reviewers, auto-merge);
* content-creating requests per minute: the busiest 60-second window (GitHub documents a
  secondary limit of 80/minute) and the average over the apply;
* wall time of plan and apply, sequential (1 worker) vs. concurrent (``--concurrency``);
* the request count of a rerun of the same plan (idempotent: reads only);
* with ``--github-model``: apply's requests by operation (``apply_requests_by_operation``, the
  emulator's ``LogEntry.operation``), the before/after table of docs/rollout.md.

The sequential and the concurrent apply run against two identical, separately built worlds.

``--github-model`` runs instead the large world under GitHub's documented cost model
(``emulator.faults.Limits.model = "github"``: 80 content-generating requests a minute and 500 an
hour, 2,000 GraphQL / 900 REST secondary points a minute, 5,000 primary points an hour with
GraphQL queries scored as GitHub scores them). The plan runs in real time; the apply runs on the
emulator's time-scaled clock (``--time-scale``, default 60: an emulated hour takes a real minute)
and the client's pacer (``forge.github.pacing.Budget``) and sleeps use that same clock, so
the figures (windows, projected hours) are in GitHub time. ``--faults`` adds 5xx and secondary
limit answers to the apply and reruns it until every dependent is done. In this world the
dependents that use the module require the check "ci" on main (as an org that auto-merges
security updates would), so GitHub's auto-merge is armed and waits for it; the audit then checks
that every updated dependent is done (an open PR whose marker names the branch tip) and that no
repository has a rollout branch without a PR.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange
from catalog_ops.forge.github import GitHubForge
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from catalog_ops.rollout.model import Plan
from emulator import GitHubEmulator
from emulator.state import Protection

CATALOG = "acme/infrastructure-modules"
JOB_TIME_BUDGET = 19800.0  # seconds: the rollout workflow's CATALOG_OPS_TIME_BUDGET
GIT = "git::https://github.com/acme/infrastructure-modules.git"


def dependent_files(i: int, uses: bool) -> dict[str, bytes]:
    main = (
        'module "local" {\n  source = "./modules/local"\n}\n\n'
        'module "vpc" {\n  source  = "terraform-aws-modules/vpc/aws"\n  version = "5.8.1"\n}\n'
    )
    if uses:
        main += f'\nmodule "network" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n\n  name = "dep-{i:03d}"\n}}\n'
    files = {
        "main.tf": main.encode(),
        "variables.tf": b'variable "region" {\n  type    = string\n  default = "eu-west-1"\n}\n',
        "modules/local/main.tf": b'resource "terraform_data" "x" {\n  input = 1\n}\n',
        "README.md": f"# dep-{i:03d}\n".encode(),
    }
    if uses:
        files[".github/CODEOWNERS"] = b"* @acme/platform @alice\n"
    return files


def build_world(
    emu: GitHubEmulator, n: int, share: float, *, required_check: bool = False
) -> tuple[list[str], GitHubForge]:
    emu.create_repo(
        CATALOG, files={f"modules/{m}/main.tf": f"# {m}\n".encode() for m in ("naming", "network", "service")}
    )
    setup = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=0.0)
    sha = setup.branch_sha(CATALOG, "main")
    assert sha
    for tag, urgency, modules in (
        ("v1.0.0", "normal", ("modules/naming", "modules/network", "modules/service")),
        ("v1.1.0", "security", ("modules/network",)),
    ):
        if tag != "v1.0.0":
            # What a release changed is git's answer (the diff to the previous tag): give
            # v1.1.0 a commit that changes modules/network.
            sha = setup.commit_files(
                CATALOG,
                "main",
                parent_sha=sha,
                message="fix(network): security fix",
                changes=[FileChange("modules/network/main.tf", b"# network, fixed\n")],
            )
        setup.create_tag(CATALOG, name=tag, sha=sha, message=tag)
        meta = ReleaseMetadata(
            version=tag[1:],
            tag=tag,
            previous=None,
            urgency=urgency,
            modules={m: ModuleChange(path=m, notes=(f"change in {tag}",)) for m in modules},
        )
        setup.create_release(CATALOG, tag=tag, name=tag, body=f"{tag}\n\n{render_release_metadata(meta)}\n")
    step = max(1, round(1 / share)) if share > 0 else n + 1
    users = []
    for i in range(n):
        uses = i % step == 0
        # With ``required_check`` the dependents that use the module require the check "ci" on
        # main, as a real org would: GitHub's auto-merge is armed and waits for it.
        extra: dict[str, Any] = (
            {"protection": {"main": Protection(contexts=["ci"])}} if uses and required_check else {}
        )
        emu.create_repo(f"acme/dep-{i:03d}", files=dependent_files(i, uses), **extra)
        if uses:
            users.append(f"acme/dep-{i:03d}")
    return users, setup


def window_max(times: list[float], window: float = 60.0) -> int:
    """Largest number of events in any ``window``-second interval."""
    best = 0
    j = 0
    for i, t in enumerate(times):
        while t - times[j] > window:
            j += 1
        best = max(best, i - j + 1)
    return best


def per_repo(entries: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for e in entries:
        parts = e.path.split("?")[0].split("/")
        if len(parts) > 3 and parts[1] == "repos":
            name = f"{parts[2]}/{parts[3]}"
            out[name] = out.get(name, 0) + 1
    return out


def run_world(
    n: int, share: float, latency: float, interval: float, workers: int, *, plan_both: bool
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        emu = GitHubEmulator(Path(tmp)).start()
        try:
            t0 = time.monotonic()
            users, _setup = build_world(emu, n, share)
            built = time.monotonic() - t0
            emu.faults.latency = latency
            forge = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=interval)
            result: dict[str, Any] = {
                "dependents": n,
                "using_module": len(users),
                "world_build_s": round(built, 1),
            }

            def plan_with(concurrency: int) -> tuple[Plan, float, list[Any]]:
                mark = len(emu.request_log)
                start = time.monotonic()
                plan = build_plan(
                    forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=concurrency)
                )
                return plan, time.monotonic() - start, emu.request_log[mark:]

            if plan_both:
                _p, seq_s, _e = plan_with(1)
                result["plan_sequential_s"] = round(seq_s, 1)
            plan, conc_s, plan_entries = plan_with(workers)
            result["plan_concurrent_s"] = round(conc_s, 1)
            result["plan_requests"] = len(plan_entries)
            result["plan_counts"] = plan.counts()

            mark = len(emu.request_log)
            start = time.monotonic()
            report = apply_plan(forge, plan, options=ApplyOptions(concurrency=workers))
            apply_s = time.monotonic() - start
            apply_entries = emu.request_log[mark:]
            result["apply_s"] = round(apply_s, 1)
            result["apply_counts"] = report.counts()
            result["apply_requests"] = len(apply_entries)
            cc_times = sorted(e.started for e in apply_entries if e.content_creating)
            result["content_creating"] = len(cc_times)
            result["content_creating_max_per_minute"] = window_max(cc_times)
            span = (cc_times[-1] - cc_times[0]) if len(cc_times) > 1 else 0.0
            # An average rate only means something over at least a minute of writing.
            result["content_creating_avg_per_minute"] = (
                round(len(cc_times) / span * 60, 1) if span >= 60 else None
            )
            result["secondary_limit_rejections"] = emu.limits.rejected if hasattr(emu, "limits") else None

            plan_by_repo = per_repo(plan_entries)
            apply_by_repo = per_repo(apply_entries)
            graphql_apply = sum(1 for e in apply_entries if e.kind == "graphql")
            untouched = [f"acme/dep-{i:03d}" for i in range(n) if f"acme/dep-{i:03d}" not in users]
            result["requests_per_untouched_dependent"] = round(
                sum(plan_by_repo.get(r, 0) + apply_by_repo.get(r, 0) for r in untouched)
                / max(1, len(untouched)),
                2,
            )
            if users:
                rest = sum(plan_by_repo.get(r, 0) + apply_by_repo.get(r, 0) for r in users)
                result["requests_per_updated_dependent"] = round((rest + graphql_apply) / len(users), 2)
                result["content_creating_per_updated_dependent"] = round(len(cc_times) / len(users), 2)
            result["fixed_requests"] = sum(
                1
                for e in plan_entries
                if e.path.split("?")[0].startswith(("/orgs/", "/users/", f"/repos/{CATALOG}"))
            )

            mark = len(emu.request_log)
            start = time.monotonic()
            rerun = apply_plan(forge, plan, options=ApplyOptions(concurrency=workers))
            rerun_entries = emu.request_log[mark:]
            result["rerun_s"] = round(time.monotonic() - start, 1)
            result["rerun_requests"] = len(rerun_entries)
            result["rerun_content_creating"] = sum(1 for e in rerun_entries if e.content_creating)
            result["rerun_counts"] = rerun.counts()
            return result
        finally:
            emu.stop()


def today_projection(n: int, updated: int) -> dict[str, float]:
    """Hours the per-repository rollout (before issue 18) needs, from its measured cost per
    dependent (issue 18: 4 requests per untouched dependent, 17 per updated one of which 6
    content-creating): bound by the primary limit (5,000 requests an hour) and the
    content-creation limit (500 an hour)."""
    requests = 4 * (n - updated) + 17 * updated
    content = 6 * updated
    return {
        "requests": requests,
        "content_creating": content,
        "hours": round(max(requests / 5000, content / 500), 1),
    }


def window_max_span(times: list[float], window: float) -> int:
    """Like ``window_max`` for any window length."""
    return window_max(times, window)


def audit_done(emu: GitHubEmulator, plan: Plan, users: list[str]) -> dict[str, Any]:
    """Every updated dependent done (an open PR whose marker names the branch tip, or merged) and
    no rollout branch without a PR anywhere (the state a stopped or faulted run must never leave)."""
    done, orphans = 0, []
    for name, r in emu.state.repos.items():
        if name == CATALOG:
            continue
        tip = emu.state.branch_sha(r, plan.branch)
        pulls = [p for p in r.pulls.values() if p["head"] == plan.branch]
        open_ = [p for p in pulls if p["state"] == "open"]
        if tip is not None and not open_ and not any(p["merged"] for p in pulls):
            orphans.append(name)
        if name in users and (
            any(p["merged"] for p in pulls) or (open_ and f'"head": "{tip}"' in (open_[0].get("body") or ""))
        ):
            done += 1
    return {
        "updated_done": f"{done}/{len(users)}",
        "all_done": done == len(users),
        "branches_without_pr": orphans,
    }


def run_github_world(n: int, share: float, latency: float, scale: float, faults: bool) -> dict[str, Any]:
    """The large world under GitHub's cost model (module docstring); returns the figures."""
    from catalog_ops.forge.github.pacing import Budget

    with tempfile.TemporaryDirectory() as tmp:
        emu = GitHubEmulator(Path(tmp)).start()
        try:
            emu.conformance = None  # tens of thousands of requests; conformance has its own tests
            t0 = time.monotonic()
            users, _setup = build_world(emu, n, share, required_check=True)
            out: dict[str, Any] = {
                "dependents": n,
                "using_module": len(users),
                "world_build_s": round(time.monotonic() - t0, 1),
            }
            emu.limits.model = "github"
            emu.faults.latency = latency
            clock = emu.clock
            budget = Budget(interval=1.0, clock=clock.now, wall=clock.time, sleep=clock.sleep)
            forge = GitHubForge(
                api_url=emu.api_url, token=emu.token, sleep=clock.sleep, budget=budget, timeout=120
            )
            sel = DependentSelection(org="acme")
            mark = len(emu.request_log)
            start = time.monotonic()
            plan = build_plan(forge, catalog=CATALOG, selection=sel)
            plan_entries = emu.request_log[mark:]
            out["plan_s"] = round(time.monotonic() - start, 1)
            out["plan_requests"] = len(plan_entries)
            out["plan_requests_per_dependent"] = round(len(plan_entries) / n, 4)
            fixed = sum(
                1
                for e in plan_entries
                if e.kind == "rest"
                and e.path.split("?")[0].startswith(("/orgs/", "/users/", f"/repos/{CATALOG}"))
            )
            # Batched: a plan request covers untouched and updated dependents alike, so every
            # request but the fixed ones (releases, org listing, the catalog) is shared.
            out["requests_per_untouched_dependent"] = round((len(plan_entries) - fixed) / n, 4)
            out["plan_counts"] = plan.counts()
            mark = len(emu.request_log)
            start = time.monotonic()
            replan = build_plan(forge, catalog=CATALOG, selection=sel, previous=plan)
            out["replan_s"] = round(time.monotonic() - start, 1)
            out["replan_requests"] = len(emu.request_log) - mark
            out["replan_requests_per_dependent"] = round(out["replan_requests"] / n, 4)
            assert replan.counts() == plan.counts()

            clock.set_scale(scale)
            if faults:
                emu.faults.chaos(error_rate=0.02, secondary_rate=0.01, retry_after=30, seed=7)
            runs = []
            mark = len(emu.request_log)
            e0 = clock.now()
            start = time.monotonic()
            for _ in range(4):
                # as the rollout workflow runs it: CATALOG_OPS_TIME_BUDGET (19,800 s of the job's
                # 6 hours), so a rate-limit wait that fits the job is waited out, not failed
                options = ApplyOptions(concurrency=4, time_budget=JOB_TIME_BUDGET)
                report = apply_plan(forge, plan, options=options, sleep=clock.sleep)
                runs.append(report.counts())
                for o in report.outcomes:
                    if o.kind.value == "failed":
                        print(f"apply run {len(runs)}: {o.subject} failed: {o.error}", flush=True)
                if not report.failed:
                    break
            emu.faults.clear()
            apply_entries = emu.request_log[mark:]
            out["apply_emulated_hours"] = round((clock.now() - e0) / 3600, 2)
            out["apply_runs"] = runs
            out["apply_real_s"] = round(time.monotonic() - start, 1)
            ok = [e for e in apply_entries if e.content_creating and e.status < 400 and not e.fault]
            cc = sorted(e.started for e in ok)
            out["content_creating"] = len(cc)
            out["content_creating_by_operation"] = dict(
                sorted(
                    {op: sum(1 for e in ok if e.operation == op) for op in {e.operation for e in ok}}.items()
                )
            )
            out["content_creating_per_updated"] = round(len(cc) / max(1, len(users)), 2)
            out["apply_requests_by_operation"] = dict(
                sorted(collections.Counter(e.operation for e in apply_entries).items(), key=lambda kv: -kv[1])
            )
            out["apply_requests"] = len(apply_entries)
            out["apply_requests_per_updated"] = round(len(apply_entries) / max(1, len(users)), 2)
            out["max_content_creating_per_minute"] = window_max(cc, 60.0)
            out["max_content_creating_per_hour"] = window_max(cc, 3600.0)
            out["secondary_rejections"] = emu.limits.rejected + emu.limits.points_rejected
            out["secondary_rejections_by_kind"] = {
                "content (80/min, 500/h)": emu.limits.rejected,
                "points (2,000 GraphQL / 900 REST a minute)": emu.limits.points_rejected,
            }
            out["faults_injected"] = sum(1 for e in apply_entries if e.fault)
            out.update(audit_done(emu, plan, users))
            mark = len(emu.request_log)
            rerun = apply_plan(forge, plan, options=ApplyOptions(concurrency=4), sleep=clock.sleep)
            out["rerun_requests"] = len(emu.request_log) - mark
            out["rerun_requests_per_dependent"] = round(out["rerun_requests"] / n, 4)
            out["rerun_counts"] = rerun.counts()
            out["untouched"] = n - len(users)
            out["today"] = today_projection(n, len(users))
            # Projected: plan and re-plan are latency-bound minutes; the apply is bound by the
            # content-creation hour window (500 an hour).
            out["projected_hours"] = round(out["apply_emulated_hours"] + (out["plan_s"]) / 3600, 2)
            return out
        finally:
            emu.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dependents", type=int, default=500)
    ap.add_argument("--share", type=float, default=0.1, help="share of dependents using the released module")
    ap.add_argument("--latency", type=float, default=0.05, help="seconds added to every request")
    ap.add_argument(
        "--write-interval", type=float, default=1.0, help="GitHubForge pacing of content-creating requests"
    )
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--github-model", action="store_true", help="the large world under GitHub's cost model")
    ap.add_argument("--time-scale", type=float, default=60.0, help="emulated seconds per real second (apply)")
    ap.add_argument("--faults", action="store_true", help="with --github-model: 5xx and secondary limits")
    args = ap.parse_args(argv)
    if args.github_model:
        res = run_github_world(args.dependents, args.share, args.latency, args.time_scale, args.faults)
        if args.json:
            print(json.dumps(res, indent=2))
            return 0
        print(
            f"dependents: {res['dependents']} ({res['using_module']} use the released module); GitHub cost model"
        )
        print(
            f"plan: {res['plan_requests']} requests ({res['plan_requests_per_dependent']} per dependent), {res['plan_s']} s"
        )
        print(
            f"re-plan with the previous plan: {res['replan_requests']} requests ({res['replan_requests_per_dependent']} per dependent)"
        )
        print(f"content-creating per updated dependent: {res['content_creating_per_updated']}")
        print(
            f"content-creating: max {res['max_content_creating_per_minute']} in any minute, "
            f"{res['max_content_creating_per_hour']} in any hour; secondary rejections {res['secondary_rejections']} {res['secondary_rejections_by_kind']}"
        )
        print(
            f"apply: {res['apply_emulated_hours']} h GitHub time ({res['apply_real_s']} s real), runs {res['apply_runs']}"
        )
        print(
            f"updated dependents done: {res['updated_done']}; rollout branches without a PR: "
            f"{len(res['branches_without_pr'])}; faults injected: {res['faults_injected']}"
        )
        print(
            f"requests per untouched dependent: {res['requests_per_untouched_dependent']}; apply requests per "
            f"updated dependent: {res['apply_requests_per_updated']}; content-creating: {res['content_creating_by_operation']}"
        )
        print(f"apply requests by operation: {res['apply_requests_by_operation']}")
        print(
            f"projected: {res['projected_hours']} h (plan {res['plan_s']} s real, world build {res['world_build_s']} s)"
        )
        print(
            f"rerun: {res['rerun_requests']} requests ({res['rerun_requests_per_dependent']} per dependent) {res['rerun_counts']}"
        )
        t = res["today"]
        print(
            f"today (per-repository reads and writes): {t['requests']} requests, {t['content_creating']} content-creating, >= {t['hours']} h"
        )
        return 0
    concurrent = run_world(
        args.dependents, args.share, args.latency, args.write_interval, args.concurrency, plan_both=True
    )
    sequential = run_world(args.dependents, args.share, args.latency, args.write_interval, 1, plan_both=False)
    out = {
        "settings": vars(args),
        "concurrent": concurrent,
        "sequential": {
            k: sequential[k]
            for k in ("apply_s", "apply_requests", "content_creating_max_per_minute", "rerun_s")
        },
    }
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    c = concurrent
    print(
        f"dependents: {c['dependents']} ({c['using_module']} use the released module); latency {args.latency * 1000:.0f} ms"
    )
    print(f"requests per untouched dependent:   {c['requests_per_untouched_dependent']}")
    print(
        f"requests per updated dependent:     {c.get('requests_per_updated_dependent')} "
        f"({c.get('content_creating_per_updated_dependent')} content-creating)"
    )
    print(f"fixed requests (releases, org listing): {c['fixed_requests']}")
    print(
        f"content-creating per minute: max {c['content_creating_max_per_minute']} in any 60 s window, "
        f"avg {c['content_creating_avg_per_minute']} (GitHub limit 80)"
    )
    print(
        f"plan wall time: sequential {c['plan_sequential_s']} s, concurrent ({args.concurrency}) {c['plan_concurrent_s']} s"
    )
    print(
        f"apply wall time: sequential {sequential['apply_s']} s, concurrent ({args.concurrency}) {c['apply_s']} s"
    )
    print(
        f"rerun: {c['rerun_requests']} requests, {c['rerun_content_creating']} content-creating, {c['rerun_counts']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
