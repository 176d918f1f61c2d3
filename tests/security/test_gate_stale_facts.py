"""The merge gate never merges on batched facts that went stale (attack4).

``rollout merge`` / ``apply`` read the gate's facts (checks on the head) in one batched
freshness check per wave of ``FRESH_WAVE`` dependents; with paced writes the last PR of a wave is
decided many minutes after that read. A check that was re-run (or reported late) and failed in
between must not be merged on the earlier "success": a MERGE verdict is confirmed on facts read
right before the merge.
"""

from __future__ import annotations

from typing import Any

import pytest

from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.rollout import apply as apply_mod
from catalog_ops.rollout.apply import ApplyOptions, apply_plan, merge_plan
from catalog_ops.rollout.gather import build_plan
from rollout.test_apply_github import CATALOG, _network_world


def test_a_check_that_failed_after_the_batched_read_is_not_merged(
    github_emulator: Any, github_forge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu, forge = github_emulator, github_forge
    net = _network_world(emu, forge)
    emu.create_repo(
        "acme/dep", files={"main.tf": net, ".catalog-ops.yml": "automerge: minor\n"}, allow_auto_merge=False
    )
    plan = build_plan(forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=2))
    report = apply_plan(forge, plan, options=ApplyOptions(concurrency=1, checks_grace=0))
    assert not report.failed, report.to_json()
    (pr,) = emu.pulls("acme/dep")
    head = pr["head"]["sha"]
    emu.set_status("acme/dep", head, "success")

    real = apply_mod._Apply.prefetch

    def prefetch_then_fail(self: Any, deps: Any, **kwargs: Any) -> None:
        real(self, deps, **kwargs)
        emu.set_status("acme/dep", head, "failure")  # re-run after the read: now failing

    monkeypatch.setattr(apply_mod._Apply, "prefetch", prefetch_then_fail)
    merged = merge_plan(forge, plan, options=ApplyOptions(concurrency=1, checks_grace=0))
    (pr,) = emu.pulls("acme/dep")
    assert pr["merged"] is False, merged.to_json()
    assert "checks failed" in merged.outcomes[0].details.get("merge", ""), merged.to_json()
