"""Rewriting a rollout PR's text never removes a label a person put on it (attack4).

``update_pull_text`` sets the labels with ``updatePullRequest(labelIds:)``, which replaces the
PR's labels; the set it sent was the labels of the batched freshness check plus the rollout's,
read up to a paced wave earlier. A label added in between (``do-not-merge`` by a reviewer) was
silently removed.
"""

from __future__ import annotations

from typing import Any

from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from rollout.test_apply_github import CATALOG, _network_world, _release


def test_a_label_added_after_the_batched_read_survives_the_text_rewrite(
    github_emulator: Any, github_forge: Any
) -> None:
    emu, forge = github_emulator, github_forge
    net = _network_world(emu, forge)
    emu.create_repo("acme/dep", files={"main.tf": net})
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    assert not apply_plan(forge, plan).failed
    (pr,) = emu.pulls("acme/dep")
    _release(forge, "v1.2.0", "normal", ("modules/network",))
    newer = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    real = forge.read_rollout_states

    def then_labelled(wanted: Any, branch: str) -> Any:
        facts = real(wanted, branch)
        forge.add_labels("acme/dep", pr["number"], ["do-not-merge"])  # a reviewer, right after
        return facts

    forge.read_rollout_states = then_labelled
    report = apply_plan(forge, newer, options=ApplyOptions(concurrency=1))
    assert [o.kind for o in report.outcomes] == [OutcomeKind.UPDATED], report.to_json()
    assert any(e.operation == "graphql:updatePullRequest" for e in emu.request_log), "the one-request path"
    (pr,) = emu.pulls("acme/dep")
    assert "do-not-merge" in {label["name"] for label in pr["labels"]}
