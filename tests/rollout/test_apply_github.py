"""Plan + apply through GitHubForge against the GitHub emulator: PRs, auto-merge, reruns."""

from __future__ import annotations

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
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0", "normal", ("modules/network",))
    _release(forge, "v1.1.0", "normal", ("modules/network",))
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
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
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(setup, "v1.0.0", "normal", ("modules/network",))
    _release(setup, "v1.1.0", "normal", ("modules/network",))
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
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
