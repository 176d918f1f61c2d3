"""Waves on GitHub (the emulator): a canary wave chosen by topic opens first, a failing check on
the canary's head stops the rollout, a passing one lets it wait for the merge, and the merge
opens the next wave; every fact is read back from GitHub (PR, marker, statuses, times)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from catalog_ops.rollout.model import Action, DependentState, Plan

CATALOG = "acme/infrastructure-modules"
GIT = "git::https://github.com/acme/infrastructure-modules.git"
BRANCH = "catalog-ops/acme-infrastructure-modules"
CONFIG = """\
rollout:
  waves:
    - name: canary
      topics: [canary]
      time_limit: 2d
"""


def _release(forge: Any, tag: str, urgency: str, modules: tuple[str, ...]) -> None:
    """A real change to ``modules``, tagged and released with catalog-ops metadata."""
    sha = forge.commit_files(
        CATALOG,
        "main",
        parent_sha=forge.branch_sha(CATALOG, "main"),
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


def _plan(forge: Any, clock: Any = None, previous: Plan | None = None) -> Plan:
    return build_plan(
        forge,
        catalog=CATALOG,
        selection=DependentSelection(org="acme", concurrency=2),
        clock=clock,
        previous=previous,
    )


def _dep(plan: Plan, repo: str) -> Any:
    return next(d for d in plan.dependents if d.repo == repo)


def test_canary_wave_on_github(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n", ".catalog-ops.yml": CONFIG})
    _release(forge, "v1.0.0", "normal", ("modules/network",))
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    emu.create_repo("acme/canary", files={"main.tf": net}, topics=["canary"])
    emu.create_repo("acme/app", files={"main.tf": net})
    _release(forge, "v1.1.0", "normal", ("modules/network",))

    plan = _plan(forge)
    assert {d.repo: d.action for d in plan.dependents} == {
        "acme/canary": Action.OPEN,
        "acme/app": Action.HOLD,
    }
    assert _dep(plan, "acme/app").reason == "waits for wave 'canary': 0 of 1 merged"
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=2))
    assert {o.subject: o.kind for o in report.outcomes} == {
        "acme/canary": OutcomeKind.OPENED,
        "acme/app": OutcomeKind.SKIPPED,
    }
    assert emu.pulls("acme/app") == []
    (pr,) = emu.pulls("acme/canary")

    # the canary's CI fails on the PR head: the rollout stops, and says why
    emu.set_status("acme/canary", pr["head"]["sha"], "failure")
    plan = _plan(forge)
    assert _dep(plan, "acme/canary").state is DependentState.FAILED
    stopped = f"rollout stopped: wave 'canary' failed: acme/canary #{pr['number']}: checks failed"
    assert _dep(plan, "acme/app").reason == stopped
    assert plan.waves[0]["failed"] is True and plan.next_step.startswith(
        "rollout stopped: wave 'canary' failed"
    )
    # the time limit does not start the next wave of a failed one
    opened = dt.datetime.fromisoformat(pr["created_at"].replace("Z", "+00:00"))
    late = _plan(forge, clock=lambda: opened + dt.timedelta(days=3))
    assert _dep(late, "acme/app").action is Action.HOLD and _dep(late, "acme/app").reason == stopped

    # fixed (a new run of its CI passes): it waits for the merge, or the time limit
    emu.set_status("acme/canary", pr["head"]["sha"], "success")
    plan = _plan(forge, clock=lambda: opened + dt.timedelta(hours=1))
    app = _dep(plan, "acme/app")
    assert app.action is Action.HOLD and app.held_until == (opened + dt.timedelta(days=2)).strftime(
        "%Y-%m-%dT%H:%MZ"
    )
    assert app.reason.startswith("waits for wave 'canary': 0 of 1 merged, or its time limit at ")

    # the canary merges: the next wave opens (also when the plan starts from the previous plan
    # artifact, as the scheduled workflow does: a held entry is never reused)
    forge.merge_pull("acme/canary", pr["number"], sha=pr["head"]["sha"])
    plan = _plan(forge, previous=plan)
    assert {d.repo: d.action for d in plan.dependents} == {
        "acme/canary": Action.NOTHING,
        "acme/app": Action.OPEN,
    }
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=2))
    assert {o.subject: o.kind for o in report.outcomes}["acme/app"] is OutcomeKind.OPENED
    (app_pr,) = emu.pulls("acme/app")
    assert app_pr["head"]["ref"] == BRANCH and app_pr["state"] == "open"


def test_minimum_release_age_on_github(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo(
        CATALOG,
        files={"modules/network/main.tf": "# n\n", ".catalog-ops.yml": "rollout:\n  min_release_age: 1d\n"},
    )
    _release(forge, "v1.0.0", "normal", ("modules/network",))
    emu.create_repo(
        "acme/app", files={"main.tf": f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'}
    )
    _release(forge, "v1.1.0", "normal", ("modules/network",))
    rel = forge.get_release(CATALOG, "v1.1.0")
    assert rel is not None and rel.published_at  # GitHub's published_at, not the commit date
    published = dt.datetime.fromisoformat(rel.published_at.replace("Z", "+00:00"))
    young = _plan(forge, clock=lambda: published + dt.timedelta(hours=3))
    assert _dep(young, "acme/app").action is Action.HOLD
    assert _dep(young, "acme/app").held_until == (published + dt.timedelta(days=1)).strftime(
        "%Y-%m-%dT%H:%MZ"
    )
    assert (
        _dep(_plan(forge, clock=lambda: published + dt.timedelta(days=1)), "acme/app").action is Action.OPEN
    )


def test_cap_per_dependent_counts_open_rollout_prs_on_github(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0", "normal", ("modules/network",))
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    emu.create_repo("acme/busy", files={"main.tf": net, ".catalog-ops.yml": "max_open_prs: 1\n"})
    emu.create_repo("acme/free", files={"main.tf": net, ".catalog-ops.yml": "max_open_prs: 1\n"})
    # the product already has a rollout PR of another catalog open in acme/busy
    forge.commit_files(
        "acme/busy",
        "catalog-ops/acme-other",
        parent_sha=forge.branch_sha("acme/busy", "main"),
        message="other catalog",
        changes=[FileChange("other.tf", b"# other\n")],
        expected_head=None,
    )
    forge.open_pull("acme/busy", head="catalog-ops/acme-other", base="main", title="other", body="other")
    _release(forge, "v1.1.0", "normal", ("modules/network",))
    plan = _plan(forge)
    busy, free = _dep(plan, "acme/busy"), _dep(plan, "acme/free")
    assert busy.action is Action.HOLD
    assert busy.reason == "held by cap: 1 open rollout PR, at most 1 in this repository"
    assert free.action is Action.OPEN
