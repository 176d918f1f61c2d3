"""Request counts of rollout apply and of the merge gate on the GitHub emulator (issue 18, "Apply
reuses the plan": the gate's reads ride on the batched freshness check; the writes are only what
GitHub needs). Every count is taken from the emulator's request log, i.e. what reached GitHub."""

from __future__ import annotations

from typing import Any

from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import ApplyOptions, apply_plan, merge_plan
from catalog_ops.rollout.gather import build_plan
from emulator.state import CiJob, Protection, Ruleset
from rollout.test_apply_github import BRANCH, CATALOG, GIT, _apply_security_release, _release, _security_world

NET = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
NEVER = CiJob(name="ci", after=10**9, unit="reads")  # a CI that has not reported yet


def test_apply_of_n_updated_dependents_makes_at_most_five_requests_each(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    names, _plan, report, log = _apply_security_release(emu, forge, users=6, others=2)
    # Per PR: branch + commit, PR, labels, auto-merge (4 writes) and one re-read of branch tip
    # and PR after the text is written; plus one batched freshness check for all of them. The
    # merge gate reads nothing of its own: required checks and merge methods came with the check.
    assert len(log) <= 5 * len(names) + 1, [e.operation for e in log]
    assert sum(1 for e in log if e.content_creating) == 4 * len(names)
    gate_reads = {
        "GET /repos/{owner}/{repo}",
        "GET /repos/{owner}/{repo}/git/commits/{sha}",
        "GET /repos/{owner}/{repo}/commits/{ref}/status",
        "GET /repos/{owner}/{repo}/commits/{ref}/check-runs",
        "GET /repos/{owner}/{repo}/rules/branches/{branch}",
        "GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks",
        "GET /repos/{owner}/{repo}/pulls/{number}",
    }
    assert not [e.operation for e in log if e.operation in gate_reads]
    merge = {o.details.get("merge") for o in report.outcomes if o.subject in names}
    assert merge == {"armed on GitHub (merges when required checks ci pass)"}
    for name in names:
        (pr,) = emu.pulls(name)
        assert pr["auto_merge"] is not None and not pr["merged"]


def _gate_world(emu: Any, forge: Any) -> None:
    """One dependent of a security release whose main branch requires nothing (so GitHub's
    auto-merge is not armed and the merge gate decides)."""
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0", "normal", ("modules/network",))
    _release(forge, "v1.1.0", "security", ("modules/network",))
    emu.create_repo("acme/dep", files={"main.tf": NET}, ci=[NEVER])


def test_gate_on_a_pr_with_pending_checks_costs_no_extra_request(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    _gate_world(emu, forge)
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    report = apply_plan(forge, plan)
    (outcome,) = [o for o in report.outcomes if o.subject == "acme/dep"]
    assert outcome.kind is OutcomeKind.OPENED and outcome.details["merge"].startswith(
        "waiting for checks (none reported yet"
    ), outcome
    (pr,) = emu.pulls("acme/dep")
    head = pr["head"]["sha"]
    emu.set_status("acme/dep", head, "pending", context="ci")

    # The merge pass: one batched GraphQL query (open PR, required checks, merge methods, the
    # checks on the head) and nothing else while the check is pending.
    mark = len(emu.request_log)
    waiting = merge_plan(forge, plan)
    log = emu.request_log[mark:]
    assert [(e.kind, e.content_creating) for e in log] == [("graphql", False)], [e.operation for e in log]
    (outcome,) = [o for o in waiting.outcomes if o.subject == "acme/dep"]
    assert outcome.details["merge"].startswith("waiting for checks (ci pending)"), outcome

    # A rerun of apply on the same plan: the PR is current, the gate still waits, same cost.
    mark = len(emu.request_log)
    rerun = apply_plan(forge, plan)
    assert [e.kind for e in emu.request_log[mark:]] == ["graphql"]
    (outcome,) = [o for o in rerun.outcomes if o.subject == "acme/dep"]
    assert outcome.kind is OutcomeKind.UP_TO_DATE and outcome.details["merge"].startswith(
        "waiting for checks (ci pending)"
    )

    # Green on that exact head: the batched query, the gate's facts read again right before the
    # merge (one query: a merge is never decided on the batched read alone) and one merge
    # pinned to the head.
    emu.set_status("acme/dep", head, "success", context="ci")
    mark = len(emu.request_log)
    merged = merge_plan(forge, plan)
    log = emu.request_log[mark:]
    assert [e.operation for e in log] == [
        "graphql:refs",
        "graphql:refs",
        "PUT /repos/{owner}/{repo}/pulls/{number}/merge",
    ]
    (outcome,) = [o for o in merged.outcomes if o.subject == "acme/dep"]
    assert outcome.details["merge"] == f"merged after checks ci passed at {head[:12]}"
    (pr,) = emu.pulls("acme/dep")
    assert pr["merged"] and pr["head"]["sha"] == head


def test_gate_merges_nothing_whose_checks_ran_on_another_head(
    github_emulator: Any, github_forge: Any
) -> None:
    """The batched facts are the checks of the PR's head: a green status on another commit (the
    base, an older head) is not a pass."""
    emu, forge = github_emulator, github_forge
    _gate_world(emu, forge)
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    apply_plan(forge, plan)
    (pr,) = emu.pulls("acme/dep")
    emu.set_status("acme/dep", pr["base"]["sha"], "success", context="ci")
    emu.set_status("acme/dep", pr["head"]["sha"], "failure", context="ci")
    (outcome,) = [o for o in merge_plan(forge, plan).outcomes if o.subject == "acme/dep"]
    assert outcome.details["merge"].startswith("not merged: checks failed (ci)"), outcome
    assert not emu.pulls("acme/dep")[0]["merged"]


def test_batched_gate_facts_are_the_rest_ones(github_emulator: Any, github_forge: Any) -> None:
    """``read_rollout_states``' merge facts equal ``merge_facts`` (the seven REST reads): required
    checks from classic protection and rulesets, merge methods, the checks on the head reduced
    the same way (status and check runs; pending, failed, passed)."""
    emu, forge = github_emulator, github_forge
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    _release(forge, "v1.0.0", "normal", ("modules/network",))
    _release(forge, "v1.1.0", "security", ("modules/network",))
    emu.create_repo(
        "acme/dep",
        files={"main.tf": NET},
        protection={"main": Protection(contexts=["ci"])},
        rulesets=[Ruleset(id=7, name="checks", required_checks=["lint"])],
        allow_auto_merge=False,
        allow_rebase_merge=False,
    )
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    apply_plan(forge, plan)
    (pr,) = emu.pulls("acme/dep")
    head = pr["head"]["sha"]
    emu.set_status("acme/dep", head, "success", context="ci")
    emu.set_status("acme/dep", head, "error", context="legacy")
    emu.add_check_run("acme/dep", head, "lint", status="in_progress", conclusion=None)
    emu.add_check_run("acme/dep", head, "docs", conclusion="skipped")
    emu.add_check_run("acme/dep", head, "unit", conclusion="timed_out")
    (dep,) = [d for d in plan.dependents if d.repo == "acme/dep"]
    batched = forge.read_rollout_states([("acme/dep", "main", dep.head, ())], BRANCH)["acme/dep"]
    rest = forge.merge_facts("acme/dep", pr["number"])
    assert batched.merge is not None
    assert (batched.merge.head_sha, batched.merge.state, batched.merge.auto_merge) == (
        rest.head_sha,
        rest.state,
        rest.auto_merge,
    )
    assert batched.merge.checks == rest.checks
    assert {c.name: c.state for c in rest.checks} == {
        "ci": "success",
        "docs": "success",
        "legacy": "failure",
        "lint": "pending",
        "unit": "failure",
    }
    assert sorted(batched.merge.required) == sorted(rest.required) == ["ci", "lint"]
    assert batched.merge.merge_methods == rest.merge_methods == ("merge", "squash")
    assert batched.merge.native_auto_merge is False  # autoMergeAllowed: false
    assert abs(batched.merge.head_age - rest.head_age) < 60
    assert batched.merge_policy == (batched.merge.required, ("merge", "squash"), False)


def test_updating_an_open_pr_to_a_newer_release_costs_at_most_four_writes(
    github_emulator: Any, github_forge: Any
) -> None:
    """An open, armed rollout PR moved to a newer release after the base moved and the
    dependent asked for one more label: the re-parented commit (tree, commit, ``updateRefs``)
    and one ``updatePullRequest`` carrying title, body, base and labels; auto-merge stays armed."""
    emu, forge = github_emulator, github_forge
    names = _security_world(emu, forge, users=3, others=0)
    apply_plan(forge, build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme")))
    for name in names:
        emu.state.label_json(emu.repo(name), "infra")  # the repository has the label "infra"
        emu.push(name, "main", {".catalog-ops.yml": "labels: [infra]\n"})
    _release(forge, "v1.2.0", "security", ("modules/network",))
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    mark = len(emu.request_log)
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=1))
    assert {o.subject: o.kind for o in report.outcomes} == {n: OutcomeKind.UPDATED for n in names}, (
        report.to_json()
    )
    log = emu.request_log[mark:]
    writes = [e.operation for e in log if e.content_creating]
    assert len(writes) <= 4 * len(names), writes
    assert writes.count("graphql:updatePullRequest") == len(names), writes
    assert not [w for w in writes if "/labels" in w or "/issues/" in w or w.startswith("PATCH")], writes
    for name in names:
        (pr,) = emu.pulls(name)
        tip = emu.state.branch_sha(emu.state.repos[name], BRANCH)
        assert pr["state"] == "open" and f'"head": "{tip}"' in pr["body"] and "v1.2.0" in pr["title"]
        assert "?ref=v1.2.0" in (forge.read_file(name, "main.tf", BRANCH) or b"").decode()
        assert {x["name"] for x in pr["labels"]} == {"dependencies", "catalog-ops", "security", "infra"}
        assert pr["auto_merge"] is not None and not pr["merged"]
        main = emu.state.branch_sha(emu.state.repos[name], "main")
        assert emu.state.git(emu.repo(name), "log", "-1", "--format=%P", tip).split() == [main]


def test_pr_text_and_labels_are_one_update_pull_request_or_rest_for_a_new_label(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    (name,) = _security_world(emu, forge, users=1, others=0)
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    apply_plan(forge, plan)
    (pr,) = emu.pulls(name)
    emu.state.label_json(emu.repo(name), "infra")
    forge.read_rollout_states([(name, "main", None, ())], BRANCH)  # node ids of the PR and labels
    have = [x["name"] for x in pr["labels"]]
    mark = len(emu.request_log)
    got = forge.update_pull_text(
        name, pr["number"], title="t1", body="b1", base="main", labels=[*have, "infra"]
    )
    assert [e.operation for e in emu.request_log[mark:]] == ["graphql:updatePullRequest"]
    assert (got.title, got.body, set(got.labels)) == ("t1", "b1", {*have, "infra"})
    (pr,) = emu.pulls(name)
    assert (pr["title"], pr["body"], {x["name"] for x in pr["labels"]}) == ("t1", "b1", {*have, "infra"})
    # A label the repository does not have: GraphQL cannot create it, REST adds (and creates) it.
    mark = len(emu.request_log)
    got = forge.update_pull_text(
        name, pr["number"], title="t2", body="b2", base="main", labels=[*have, "infra", "brand-new"]
    )
    assert [e.operation for e in emu.request_log[mark:]] == [
        "PATCH /repos/{owner}/{repo}/pulls/{number}",
        "POST /repos/{owner}/{repo}/issues/{number}/labels",
    ]
    (pr,) = emu.pulls(name)
    assert (pr["title"], pr["body"]) == ("t2", "b2") and "brand-new" in {x["name"] for x in pr["labels"]}
    assert set(got.labels) == {*have, "infra", "brand-new"}
