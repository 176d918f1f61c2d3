"""``rollout merge`` never merges a PR catalog-ops did not open (attack4).

``merge_one`` read the open PR's marker with ``parse_marker`` (no author, no head-repository
check), so a person's PR on the rollout branch whose body copies the product's marker, with its
``head`` set to their own commit, passed the gate's "head is the commit catalog-ops pushed" rule
and was merged once checks passed on it (the batched freshness check's
``pullRequests(headRefName:)`` also lists PRs from forks whose branch has that name).
"""

from __future__ import annotations

import re
from typing import Any

from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.github import GitHubForge
from catalog_ops.rollout.apply import ApplyOptions, apply_plan, merge_plan
from catalog_ops.rollout.gather import build_plan
from rollout.test_apply_github import BRANCH, CATALOG, _network_world


def test_rollout_merge_leaves_a_strangers_pr_with_a_copied_marker_unmerged(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    net = _network_world(emu, forge)
    emu.create_repo(
        "acme/noauto",
        files={"main.tf": net, ".catalog-ops.yml": "automerge: minor\n"},
        allow_auto_merge=False,
    )
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=2))
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=2))
    assert not report.failed, report.to_json()
    (ours,) = emu.pulls("acme/noauto")
    forge.close_pull("acme/noauto", ours["number"])

    # mallory pushes onto the rollout branch and opens a PR with the product's body, head edited
    evil = emu.push("acme/noauto", BRANCH, {"evil.tf": "# not reviewed\n"})
    body = re.sub(r'("head":\s*")[0-9a-f]{40}', rf"\g<1>{evil}", ours["body"])
    assert evil in body
    emu.add_token("mallory-token", login="mallory")
    mallory = GitHubForge(api_url=emu.api_url, token="mallory-token")
    theirs = mallory.open_pull("acme/noauto", head=BRANCH, base="main", title=ours["title"], body=body)
    emu.set_status("acme/noauto", evil, "success")

    merged = merge_plan(forge, plan, options=ApplyOptions(concurrency=1))
    (pr,) = [p for p in emu.pulls("acme/noauto") if p["number"] == theirs.number]
    assert pr["merged"] is False, merged.to_json()


def test_a_pull_from_another_repository_is_never_taken_from_the_batched_read(
    github_emulator: Any, github_forge: Any
) -> None:
    """``pullRequests(headRefName:)`` matches the branch name only: a fork's PR from a branch
    named like the rollout branch is listed too. The batched freshness check leaves such a
    dependent out (it is read with REST's ``head=owner:branch``, which lists this repository's
    branch only), so a fork's PR never stands for the rollout PR (its facts, its gate)."""
    emu, forge = github_emulator, github_forge
    net = _network_world(emu, forge)
    emu.create_repo("acme/noauto", files={"main.tf": net})
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=2))
    apply_plan(forge, plan, options=ApplyOptions(concurrency=1))
    (ours,) = emu.pulls("acme/noauto")
    wanted = [("acme/noauto", "main", None, ())]
    assert forge.read_rollout_states(wanted, BRANCH)["acme/noauto"].open_pr.number == ours["number"]
    emu.state.repos["acme/noauto"].pulls[ours["number"]]["cross_repository"] = True  # as if from a fork
    assert "acme/noauto" not in forge.read_rollout_states(wanted, BRANCH)


def test_the_plan_asks_rest_when_the_batched_pull_is_from_another_repository(
    github_emulator: Any, github_forge: Any
) -> None:
    """The plan's batched heads (``read_snapshots``) use the same ``headRefName`` filter: a PR
    from another repository there is replaced by REST's answer for this repository's branch."""
    emu, forge = github_emulator, github_forge
    net = _network_world(emu, forge)
    emu.create_repo("acme/noauto", files={"main.tf": net})
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=2))
    apply_plan(forge, plan, options=ApplyOptions(concurrency=1))
    (ours,) = emu.pulls("acme/noauto")
    mark = len(emu.request_log)
    assert (
        forge.read_snapshots(["acme/noauto"], trees=False, pr_branch=BRANCH)["acme/noauto"].open_pr
        == ours["number"]
    )
    assert [e.kind for e in emu.request_log[mark:]] == ["graphql"]
    emu.state.repos["acme/noauto"].pulls[ours["number"]]["cross_repository"] = True  # as if from a fork
    mark = len(emu.request_log)
    forge.read_snapshots(["acme/noauto"], trees=False, pr_branch=BRANCH)
    assert "GET /repos/{owner}/{repo}/pulls" in [e.operation for e in emu.request_log[mark:]]
