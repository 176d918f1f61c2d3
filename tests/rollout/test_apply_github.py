"""Plan + apply through GitHubForge against the GitHub emulator: PRs, auto-merge, reruns."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from catalog_ops.rollout.model import Action
from emulator.state import Protection
from fixtures.rollout import FakeClock

CATALOG = "acme/infrastructure-modules"
GIT = "git::https://github.com/acme/infrastructure-modules.git"
BRANCH = "catalog-ops/acme-infrastructure-modules"


def _release(forge: Any, tag: str, urgency: str, modules: tuple[str, ...]) -> None:
    """A real change to ``modules`` (git is what decides what changed), tagged and released."""
    parent = forge.branch_sha(CATALOG, "main")
    sha = forge.commit_files(
        CATALOG,
        "main",
        parent_sha=parent,
        message=f"fix: change for {tag}",
        changes=[FileChange(f"{m}/main.tf", f"# {m} {tag}\n".encode()) for m in modules],
    )
    forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)
    meta = ReleaseMetadata(
        version=tag[1:],
        tag=tag,
        previous=None,
        urgency=urgency,
        modules={m: ModuleChange(path=m, notes=(f"{m} in {tag}",)) for m in modules},
    )
    forge.create_release(CATALOG, tag=tag, name=tag, body=f"{tag}\n\n{render_release_metadata(meta)}\n")


def _network_world(emu: Any, forge: Any) -> str:
    """The catalog with modules/network released as v1.0.0 then v1.1.0 (normal); returns the text
    of a dependent's main.tf pinning v1.0.0."""
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0", "normal", ("modules/network",))
    _release(forge, "v1.1.0", "normal", ("modules/network",))
    return f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'


def test_rollout_on_github_emulator(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    # GitHub requests reviews from code owners (with access) itself; catalog-ops does not repeat it.
    emu.use_github_semantics(only="reviewers")
    emu.state.teams.setdefault("acme", set()).add("sre")
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n", "modules/naming/main.tf": "# l\n"})
    _release(forge, "v1.0.0", "normal", ("modules/network", "modules/naming"))
    _release(forge, "v1.1.0", "security", ("modules/network",))
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    # acme/sec requires the check "ci": GitHub's auto-merge waits for it
    emu.create_repo("acme/sec", files={"main.tf": net}, protection={"main": Protection(contexts=["ci"])})
    emu.create_repo("acme/noauto", files={"main.tf": net}, allow_auto_merge=False)
    emu.create_repo(
        "acme/review",
        files={
            "main.tf": net,
            ".catalog-ops.yml": "automerge: never\n",
            ".github/CODEOWNERS": "* @alice @acme/sre\n",
        },
        collaborators=("alice",),  # GitHub requests code owners with write access by itself
    )
    emu.state.teams["acme"] = {"sre"}
    emu.create_repo("acme/plain", files={"main.tf": 'module "x" {\n  source = "./x"\n}\n', "x/main.tf": "\n"})
    emu.create_repo("acme/old", files={"main.tf": net}, archived=True)

    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=4))
    actions = {d.repo: d.action for d in plan.dependents}
    assert actions == {
        "acme/sec": Action.OPEN,
        "acme/noauto": Action.OPEN,
        "acme/review": Action.OPEN,
        "acme/plain": Action.NOTHING,
        "acme/old": Action.SKIP,
    }
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=3))
    kinds = {o.subject: o.kind for o in report.outcomes}
    assert kinds["acme/sec"] is OutcomeKind.OPENED and kinds["acme/review"] is OutcomeKind.OPENED
    assert not report.failed, report.to_json()
    (review,) = emu.pulls("acme/review")
    assert review["state"] == "open" and review["head"]["ref"] == BRANCH
    # GitHub requested the CODEOWNERS itself; catalog-ops requested no one (none configured)
    assert {u["login"] for u in review["requested_reviewers"]} == {"alice"}
    assert {t["slug"] for t in review["requested_teams"]} == {"sre"}
    assert "GitHub requests the CODEOWNERS of the changed files" in review["body"]
    assert not any(e.operation.endswith("requested_reviewers") for e in emu.request_log)
    assert {label["name"] for label in review["labels"]} >= {"dependencies", "catalog-ops", "security"}
    (sec,) = emu.pulls("acme/sec")
    assert sec["auto_merge"] is not None and not sec["merged"]  # armed, not merged
    merge = {o.subject: o.details.get("merge", "") for o in report.outcomes}
    assert merge["acme/sec"] == "armed on GitHub (merges when required checks ci pass)"
    assert merge["acme/noauto"].startswith("waiting for checks (none reported yet")

    writes_before = sum(emu.content_creating_counts().values())
    rerun = apply_plan(forge, plan, options=ApplyOptions(concurrency=3))
    assert sum(emu.content_creating_counts().values()) == writes_before  # idempotent: no writes
    assert not any(o.kind in (OutcomeKind.OPENED, OutcomeKind.UPDATED) for o in rerun.outcomes)
    # no auto-merge on GitHub's side: --wait-and-merge polls the gate and merges when green;
    # the product's own 600 s / 15 s on an injected clock: outcomes follow the checks, not the load
    (noauto,) = emu.pulls("acme/noauto")
    wait = ApplyOptions(wait_and_merge=True)
    emu.set_status("acme/noauto", noauto["head"]["sha"], "pending")
    clock = FakeClock()
    pending = apply_plan(forge, plan, options=wait, sleep=clock.sleep, clock=clock.now)
    merge = {o.subject: o.details.get("merge", "") for o in pending.outcomes}
    assert merge["acme/noauto"].startswith("waiting for checks (ci/test pending"), merge
    assert clock.slept == [15.0] * 40  # polled every 15 s through the whole 600 s, then gave up
    (noauto,) = emu.pulls("acme/noauto")
    assert noauto["merged"] is False
    emu.set_status("acme/noauto", noauto["head"]["sha"], "success")
    clock = FakeClock()
    waited = apply_plan(forge, plan, options=wait, sleep=clock.sleep, clock=clock.now)
    assert clock.slept == []  # green on the first poll: merged without waiting
    merge = {o.subject: o.details.get("merge", "") for o in waited.outcomes}
    assert merge["acme/noauto"] == f"merged after checks ci/test passed at {noauto['head']['sha'][:12]}"
    (noauto,) = emu.pulls("acme/noauto")
    assert noauto["merged"] is True


def test_pr_closed_by_a_person_is_not_reopened_on_github(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    net = _network_world(emu, forge)
    emu.create_repo("acme/closer", files={"main.tf": net})
    apply_plan(
        forge,
        build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme")),
        options=ApplyOptions(),
    )
    (pr,) = emu.pulls("acme/closer")
    forge.close_pull("acme/closer", pr["number"])  # a person says no
    report = apply_plan(
        forge,
        build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme")),
        options=ApplyOptions(),
    )
    (outcome,) = [o for o in report.outcomes if o.subject == "acme/closer"]
    assert outcome.kind is OutcomeKind.SKIPPED
    assert (outcome.reason or "").startswith("closed by a person; not reopening for v1.1.0")
    assert [p["state"] for p in emu.pulls("acme/closer")] == ["closed"]


def test_writes_that_do_not_fit_the_budget_are_deferred_untouched_and_resumed(github_emulator: Any) -> None:
    from catalog_ops.forge.github import GitHubForge
    from catalog_ops.forge.github.pacing import Budget

    emu = github_emulator
    setup = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=0.0)
    net = _network_world(emu, setup)
    names = [f"acme/d{i}" for i in range(3)]
    for name in names:
        emu.create_repo(name, files={"main.tf": net})
    plan = build_plan(setup, catalog=CATALOG, selection=DependentSelection(org="acme"))
    # Room for one dependent's writes (3: branch + commit, PR, labels) in this hour.
    tight = GitHubForge(api_url=emu.api_url, token=emu.token, budget=Budget(per_hour=4, interval=0.0))
    report = apply_plan(tight, plan, options=ApplyOptions(concurrency=1, time_budget=600))
    kinds = {o.subject: o for o in report.outcomes}
    assert [kinds[n].kind for n in names] == [OutcomeKind.OPENED, OutcomeKind.SKIPPED, OutcomeKind.SKIPPED]
    assert all((kinds[n].reason or "").startswith("deferred:") for n in names[1:])
    for name in names[1:]:  # untouched: no branch, no PR
        assert emu.state.branch_sha(emu.state.repos[name], BRANCH) is None
        assert not emu.pulls(name)
    # The next run, with a fresh budget, continues from the forge state and the same plan.
    again = apply_plan(setup, plan, options=ApplyOptions(concurrency=1))
    assert {o.subject: o.kind for o in again.outcomes} == {
        names[0]: OutcomeKind.UP_TO_DATE,
        names[1]: OutcomeKind.OPENED,
        names[2]: OutcomeKind.OPENED,
    }


def _security_world(emu: Any, forge: Any, users: int, others: int) -> list[str]:
    """v1.0.0 then a security v1.1.0 of modules/network; ``users`` dependents on v1.0.0 whose
    main branch requires the check "ci" (GitHub's auto-merge waits for it), ``others`` without
    a reference to the catalog."""
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0", "normal", ("modules/network",))
    _release(forge, "v1.1.0", "security", ("modules/network",))
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    names = [f"acme/u{i}" for i in range(users)]
    for name in names:
        emu.create_repo(
            name,
            files={"main.tf": net, "variables.tf": "# v\n"},
            protection={"main": Protection(contexts=["ci"])},
        )
    for i in range(others):
        emu.create_repo(f"acme/o{i}", files={"main.tf": 'module "x" {\n  source = "./x"\n}\n'})
    return names


def _apply_security_release(emu: Any, forge: Any, *, users: int, others: int) -> tuple[Any, ...]:
    """Plan and apply a security release to ``users`` dependents (and ``others`` that do not
    use the catalog); every user gets a PR. Returns ``(names, plan, report, apply's request log)``."""
    names = _security_world(emu, forge, users=users, others=others)
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    mark = len(emu.request_log)
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=2))
    assert {o.subject: o.kind for o in report.outcomes if o.subject in names} == {
        n: OutcomeKind.OPENED for n in names
    }, report.to_json()
    return names, plan, report, emu.request_log[mark:]


def test_apply_decides_on_one_batched_freshness_check_and_writes_four_requests_per_pr(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    names, plan, _report, log = _apply_security_release(emu, forge, users=5, others=3)
    writes = [e.operation for e in log if e.content_creating]
    # branch + commit (one request), PR, labels, auto-merge armed: 4 per PR
    assert sorted(set(writes)) == [
        "PATCH /repos/{owner}/{repo}/issues/{number}",
        "POST /repos/{owner}/{repo}/pulls",
        "graphql:createCommitOnBranch",
        "graphql:enablePullRequestAutoMerge",
    ]
    assert len(writes) == 4 * len(names)
    # The plan's reads are not repeated: no open/closed PR lookups, base ref or file reads.
    assert not [e.path for e in log if "/contents/" in e.path or e.path.endswith("/git/ref/heads/main")]
    assert not [e.path for e in log if e.operation == "GET /repos/{owner}/{repo}/pulls" and "head=" in e.path]
    for name in names:
        (pr,) = emu.pulls(name)
        assert (
            pr["auto_merge"] is not None
            and "?ref=v1.1.0" in (forge.read_file(name, "main.tf", BRANCH) or b"").decode()
        )
    # A rerun is the batched check alone: one GraphQL query for all five, nothing written.
    mark = len(emu.request_log)
    rerun = apply_plan(forge, plan, options=ApplyOptions(concurrency=2))
    log = emu.request_log[mark:]
    assert [(e.kind, e.content_creating) for e in log] == [("graphql", False)], [e.operation for e in log]
    assert {o.details.get("merge") for o in rerun.outcomes if o.subject in names} == {
        "armed on GitHub (merges when its required checks pass)"
    }


def test_stale_batched_facts_fall_back_to_the_compare_and_swap_path(
    github_emulator: Any, github_forge: Any, github_forge_factory: Any
) -> None:
    emu, forge = github_emulator, github_forge
    names = _security_world(emu, forge, users=3, others=0)
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    other = github_forge_factory()
    real = forge.read_rollout_states

    def stale(wanted: Any, branch: str) -> Any:
        facts = real(wanted, branch)
        # Between the check and the writes a concurrent apply of the same plan does everything.
        apply_plan(other, plan, options=ApplyOptions(concurrency=1))
        return facts

    forge.read_rollout_states = stale
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=1))
    assert not report.failed, report.to_json()
    for name in names:
        (pr,) = emu.pulls(name)  # one PR, its marker naming the branch tip
        tip = emu.state.branch_sha(emu.state.repos[name], BRANCH)
        assert pr["state"] == "open" and f'"head": "{tip}"' in pr["body"]
        branches = emu.state.git(emu.repo(name), "for-each-ref", "--format=%(refname)", "refs/heads").split()
        assert branches == [f"refs/heads/{BRANCH}", "refs/heads/main"]


def test_a_deferred_rollout_dispatches_its_continuation_and_two_runs_converge(
    github_emulator: Any, github_forge: Any, tmp_path: Any, monkeypatch: Any
) -> None:
    from catalog_ops.cli import main
    from catalog_ops.forge.github import GitHubForge
    from catalog_ops.forge.github.pacing import Budget

    emu, setup = github_emulator, github_forge
    # the caller workflow the continuation dispatches (GitHub: 404 without it, 422 for an input it
    # does not declare): the template the product ships
    caller = (Path(__file__).resolve().parents[2] / "examples/workflows/catalog-rollout.yml").read_text()
    emu.create_repo(
        CATALOG,
        files={"modules/network/main.tf": "# n\n", ".github/workflows/catalog-rollout.yml": caller},
    )
    _release(setup, "v1.0.0", "normal", ("modules/network",))
    _release(setup, "v1.1.0", "normal", ("modules/network",))
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    names = [f"acme/d{i}" for i in range(5)]
    for name in names:
        emu.create_repo(name, files={"main.tf": net})
    monkeypatch.setenv("CATALOG_OPS_FORGE", "github")
    monkeypatch.setenv("GITHUB_API_URL", emu.api_url)
    monkeypatch.setenv("GITHUB_TOKEN", emu.token)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    ref = f"{CATALOG}/.github/workflows/catalog-rollout.yml@refs/heads/main"

    # Run 1: the hour's budget has room for two dependents (3 writes each); the rest is deferred.
    plan = build_plan(setup, catalog=CATALOG, selection=DependentSelection(org="acme"))
    tight = GitHubForge(api_url=emu.api_url, token=emu.token, budget=Budget(per_hour=7, interval=0.0))
    first = apply_plan(tight, plan, options=ApplyOptions(concurrency=1, time_budget=600))
    assert sorted(o.kind for o in first.outcomes) == sorted(
        [OutcomeKind.OPENED] * 2 + [OutcomeKind.SKIPPED] * 3
    )
    (tmp_path / "r1.json").write_text(json.dumps(first.to_json()), encoding="utf-8")
    assert (
        main(
            [
                "rollout",
                "continue",
                str(tmp_path / "r1.json"),
                "--workflow-ref",
                ref,
                "--input",
                "previous-run-id=41",
            ]
        )
        == 0
    )
    assert emu.dispatches == [(CATALOG, "catalog-rollout.yml", "main", {"previous-run-id": "41"})]
    # No branch of a deferred dependent: every rollout branch has its PR.
    for name in names:
        has_branch = emu.state.branch_sha(emu.state.repos[name], BRANCH) is not None
        assert has_branch == bool(emu.pulls(name)), name

    # Run 2 (the dispatched one): re-plan from the previous plan, apply with a fresh budget.
    again = build_plan(setup, catalog=CATALOG, selection=DependentSelection(org="acme"), previous=plan)
    second = apply_plan(setup, again, options=ApplyOptions(concurrency=2, time_budget=600))
    kinds = sorted(o.kind for o in second.outcomes if o.subject in names)
    assert kinds == sorted([OutcomeKind.UP_TO_DATE] * 2 + [OutcomeKind.OPENED] * 3), second.to_json()
    (tmp_path / "r2.json").write_text(json.dumps(second.to_json()), encoding="utf-8")
    assert main(["rollout", "continue", str(tmp_path / "r2.json"), "--workflow-ref", ref]) == 0
    assert len(emu.dispatches) == 1  # all done: nothing more dispatched
    for name in names:
        (pr,) = emu.pulls(name)
        tip = emu.state.branch_sha(emu.state.repos[name], BRANCH)
        assert pr["state"] == "open" and f'"head": "{tip}"' in pr["body"]


def test_a_dependent_failed_by_a_transient_error_is_finished_in_the_same_run(github_emulator: Any) -> None:
    """A 5xx that outlasts the transport's retries of ``POST /pulls`` leaves a branch without a
    PR; the run goes on with the others, then runs that dependent again from a fresh read (after
    an injected back-off) and opens its PR: the run ends with every dependent done, no failure."""
    from catalog_ops.forge.github import GitHubForge

    emu = github_emulator
    slept: list[float] = []
    forge = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=0.0, sleep=slept.append)
    net = _network_world(emu, forge)
    names = [f"acme/d{i}" for i in range(3)]
    for name in names:
        emu.create_repo(name, files={"main.tf": net})
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    # every attempt the transport makes at acme/d1's PR fails (max_retries + 1 = 7)
    emu.faults.fail(502, method="POST", path=r"/repos/acme/d1/pulls$", times=7)
    run_slept: list[float] = []
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=2), sleep=run_slept.append)
    assert {o.subject: o.kind for o in report.outcomes} == dict.fromkeys(names, OutcomeKind.OPENED)
    assert not report.failed
    assert run_slept == [30.0]  # one back-off before the second pass
    for name in names:
        (pr,) = emu.pulls(name)
        assert pr["state"] == "open" and pr["head"]["ref"] == BRANCH
        assert {label["name"] for label in pr["labels"]} >= {"catalog-ops"}
        assert forge.read_file(name, "main.tf", BRANCH) == net.replace("ref=v1.0.0", "ref=v1.1.0").encode()
    assert not emu.internal_errors


def test_a_dependent_that_keeps_failing_transiently_is_reported_failed_after_two_more_passes(
    github_emulator: Any,
) -> None:
    from catalog_ops.forge.github import GitHubForge

    emu = github_emulator
    forge = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=0.0, sleep=lambda _s: None)
    net = _network_world(emu, forge)
    emu.create_repo("acme/d0", files={"main.tf": net})
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    emu.faults.fail(502, method="POST", path=r"/repos/acme/d0/pulls$", times=1000)
    run_slept: list[float] = []
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=1), sleep=run_slept.append)
    (outcome,) = report.outcomes
    assert outcome.kind is OutcomeKind.FAILED and "HTTP 502" in (outcome.error or ""), outcome
    assert run_slept == [30.0, 60.0]  # the first run and two more passes, one outcome
    assert not emu.pulls("acme/d0")
