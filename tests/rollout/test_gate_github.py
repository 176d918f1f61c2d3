"""The merge gate on GitHub's semantics (emulator): arm where GitHub waits for required checks,
merge through the gate only after the checks ran on the exact head, disarm when an update stops
qualifying, reviewers GitHub refuses (issue 14 "Done when")."""

from __future__ import annotations

from typing import Any

from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange
from catalog_ops.render.report import OutcomeKind, Report
from catalog_ops.rollout.apply import REVIEWERS_MARKER, ApplyOptions, apply_plan, merge_plan
from catalog_ops.rollout.gather import build_plan
from catalog_ops.rollout.model import Plan
from emulator.state import CiJob, Protection
from fixtures.rollout import FakeClock

CATALOG = "acme/infrastructure-modules"
GIT = "git::https://github.com/acme/infrastructure-modules.git"
NET = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
NEVER = CiJob(name="ci", after=10**9, unit="reads")  # a CI that has not reported yet


def _release(forge: Any, tag: str, urgency: str, *, breaking: bool = False) -> None:
    """A real change to modules/network (git decides what changed), tagged and released."""
    parent = forge.branch_sha(CATALOG, "main")
    sha = forge.commit_files(
        CATALOG,
        "main",
        parent_sha=parent,
        message=f"fix: change for {tag}",
        changes=[FileChange("modules/network/main.tf", f"# network {tag}\n".encode())],
    )
    forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)
    meta = ReleaseMetadata(
        version=tag[1:],
        tag=tag,
        previous=None,
        urgency=urgency,
        modules={
            "modules/network": ModuleChange(
                path="modules/network", notes=(f"network in {tag}",), breaking=breaking
            )
        },
    )
    forge.create_release(CATALOG, tag=tag, name=tag, body=f"{tag}\n\n{render_release_metadata(meta)}\n")


def _world(emu: Any, forge: Any, **dep: Any) -> None:
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0", "normal")
    _release(forge, "v1.1.0", "security")
    files = {"main.tf": NET, **dep.pop("files", {})}
    emu.create_repo("acme/dep", files=files, **dep)


def _plan(forge: Any) -> Plan:
    return build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))


def _merge(report: Report) -> str:
    (outcome,) = [o for o in report.outcomes if o.subject == "acme/dep"]
    assert outcome.kind is not OutcomeKind.FAILED, outcome
    return outcome.details.get("merge", "")


def _pr(emu: Any) -> dict[str, Any]:
    (pr,) = emu.pulls("acme/dep")
    return pr


def test_security_pr_with_required_checks_is_armed_and_merges_only_after_they_pass(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    _world(emu, forge, protection={"main": Protection(contexts=["ci"])}, ci=[NEVER])
    merge = _merge(apply_plan(forge, _plan(forge)))
    assert merge == "armed on GitHub (merges when required checks ci pass)"
    pr = _pr(emu)
    assert pr["auto_merge"] is not None and not pr["merged"]
    emu.set_status("acme/dep", pr["head"]["sha"], "pending", context="ci")
    assert not _pr(emu)["merged"]
    emu.set_status("acme/dep", pr["head"]["sha"], "success", context="ci")
    assert _pr(emu)["merged"]  # GitHub merged it once the required check passed


def test_without_protection_nothing_merges_before_the_checks_ran(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    _world(emu, forge, ci=[NEVER])
    plan = _plan(forge)
    merge = _merge(apply_plan(forge, plan))
    assert merge.startswith("waiting for checks (none reported yet")
    pr = _pr(emu)
    assert pr["state"] == "open" and not pr["merged"] and pr["auto_merge"] is None
    # the merge pass finds nothing new: still waiting, not merged
    assert _merge(merge_plan(forge, plan)).startswith("waiting for checks")
    emu.set_status("acme/dep", pr["head"]["sha"], "pending", context="ci")
    assert _merge(merge_plan(forge, plan)).startswith("waiting for checks (ci pending)")
    assert not _pr(emu)["merged"]
    emu.set_status("acme/dep", pr["head"]["sha"], "success", context="ci")
    merged = _merge(merge_plan(forge, plan))
    assert merged == f"merged after checks ci passed at {pr['head']['sha'][:12]}"
    assert _pr(emu)["merged"]


def test_failing_checks_are_not_merged_and_reported(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    _world(emu, forge)
    plan = _plan(forge)
    apply_plan(forge, plan)
    sha = _pr(emu)["head"]["sha"]
    emu.set_status("acme/dep", sha, "success", context="lint")
    emu.set_status("acme/dep", sha, "failure", context="ci")
    clock = FakeClock()  # the product's own 600 s / 15 s on an injected clock
    report = apply_plan(
        forge, plan, options=ApplyOptions(wait_and_merge=True), sleep=clock.sleep, clock=clock.now
    )
    assert _merge(report) == f"not merged: checks failed (ci) at {sha[:12]}"
    assert clock.slept == []  # a failed check ends the wait at once
    assert _pr(emu)["state"] == "open" and not _pr(emu)["merged"]


def test_a_dependent_that_never_reports_a_check_is_not_merged(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    _world(emu, forge)
    plan = _plan(forge)
    report = apply_plan(forge, plan, options=ApplyOptions(checks_grace=0))
    sha = _pr(emu)["head"]["sha"]
    assert _merge(report) == f"not merged: no checks ran on {sha[:12]}"
    assert not _pr(emu)["merged"]


def test_no_checks_merge_when_the_dependent_explicitly_allows_it(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    _world(
        emu, forge, files={".catalog-ops.yml": "automerge_without_checks: true\n"}, allow_squash_merge=False
    )
    report = apply_plan(forge, _plan(forge), options=ApplyOptions(checks_grace=0))
    assert "without checks" in _merge(report)
    pr = _pr(emu)
    assert pr["merged"]
    assert emu.state.repos["acme/dep"].pulls[pr["number"]].get("merged_with", "merge") != "squash"


def test_head_moving_between_check_and_merge_is_not_merged(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    _world(emu, forge)
    plan = _plan(forge)
    apply_plan(forge, plan)
    pr = _pr(emu)
    emu.set_status("acme/dep", pr["head"]["sha"], "success", context="ci")
    # The gate's facts come from the merge pass's batched read (required checks, the checks on
    # the head); someone pushes right after it.
    read = forge.read_rollout_states

    def facts_then_push(wanted: Any, branch: str) -> Any:
        got = read(wanted, branch)
        emu.push("acme/dep", pr["head"]["ref"], {"extra.tf": "# pushed after the checks\n"})
        return got

    forge.read_rollout_states = facts_then_push
    merge = _merge(merge_plan(forge, plan))
    assert merge.startswith("not merged: head moved (")
    assert _pr(emu)["state"] == "open" and not _pr(emu)["merged"]
    # The same with the per-PR read (a forge without the batched read, or a fact it missed).
    emu.set_status("acme/dep", _pr(emu)["head"]["sha"], "success", context="ci")
    pr = _pr(emu)
    read_facts = forge.merge_facts

    def per_pr_then_push(repo: str, number: int) -> Any:
        got = read_facts(repo, number)
        emu.push("acme/dep", pr["head"]["ref"], {"extra2.tf": "# pushed after the checks\n"})
        return got

    forge.read_rollout_states = lambda wanted, branch: {}
    forge.merge_facts = per_pr_then_push
    merge = _merge(merge_plan(forge, plan))
    assert merge.startswith("not merged: head moved (")
    assert _pr(emu)["state"] == "open" and not _pr(emu)["merged"]


def test_breaking_update_after_an_armed_security_pr_disarms_it(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    _world(emu, forge, protection={"main": Protection(contexts=["ci"])})
    apply_plan(forge, _plan(forge))
    assert _pr(emu)["auto_merge"] is not None
    _release(forge, "v2.0.0", "normal", breaking=True)
    merge = _merge(apply_plan(forge, _plan(forge)))
    assert merge.startswith("auto-merge disarmed: breaking update")
    pr = _pr(emu)
    assert pr["auto_merge"] is None and pr["state"] == "open"
    assert "?ref=v2.0.0" in forge.read_file("acme/dep", "main.tf", pr["head"]["sha"]).decode()
    emu.set_status("acme/dep", pr["head"]["sha"], "success", context="ci")
    assert not _pr(emu)["merged"]  # green checks no longer merge it


def test_policy_changed_to_never_disarms(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    _world(emu, forge, protection={"main": Protection(contexts=["ci"])})
    apply_plan(forge, _plan(forge))
    assert _pr(emu)["auto_merge"] is not None
    emu.push("acme/dep", "main", {".catalog-ops.yml": "automerge: never\n"})
    merge = _merge(merge_plan(forge, _plan(forge)))
    assert merge.startswith("auto-merge disarmed: automerge: never")
    assert _pr(emu)["auto_merge"] is None


def test_a_refused_reviewer_is_dropped_noted_and_retried(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    cfg = "automerge: never\nreviewers: [alice, mallory, acme/sre]\n"
    _world(emu, forge, files={".catalog-ops.yml": cfg}, collaborators=["alice"])
    emu.state.teams["acme"] = {"sre"}
    plan = _plan(forge)
    report = apply_plan(forge, plan)
    (outcome,) = report.outcomes
    assert outcome.kind is OutcomeKind.OPENED
    assert outcome.details["merge"].endswith("review request refused for @mallory")
    pr = _pr(emu)
    assert {u["login"] for u in pr["requested_reviewers"]} == {"alice"}
    assert {t["slug"] for t in pr["requested_teams"]} == {"sre"}
    (note,) = [c["body"] for c in emu.comments("acme/dep", pr["number"]) if REVIEWERS_MARKER in c["body"]]
    assert "@mallory" in note and "collaborators" in note
    emu.state.repos["acme/dep"].collaborators.add("mallory")  # access granted: the rerun completes it
    rerun = apply_plan(forge, plan)
    assert "refused" not in rerun.outcomes[0].details.get("merge", "")
    assert {u["login"] for u in _pr(emu)["requested_reviewers"]} == {"alice", "mallory"}
