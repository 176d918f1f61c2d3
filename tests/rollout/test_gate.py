"""The merge gate's pure decision (``rollout.gate.decide``): every rule, one forge-free test each."""

from __future__ import annotations

import dataclasses

from catalog_ops.forge.base import CheckResult, MergeFacts, PullState
from catalog_ops.rollout.gate import Policy, Verdict, decide, pick_method

HEAD = "a" * 40
ALLOW = Policy(allowed=True)


def facts(
    *checks: tuple[str, str], required: tuple[str, ...] = (), age: float = 1000.0, **kw: object
) -> MergeFacts:
    base = MergeFacts(
        head_sha=HEAD,
        state=PullState.OPEN,
        auto_merge=False,
        checks=tuple(CheckResult(name=n, state=s) for n, s in checks),
        required=required,
        merge_methods=("merge", "squash", "rebase"),
        head_age=age,
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def test_all_checks_passed_on_the_expected_head_merges_pinned_to_it() -> None:
    d = decide(facts(("ci", "success"), ("lint", "success")), policy=ALLOW, expected_head=HEAD)
    assert d.verdict is Verdict.MERGE and d.sha == HEAD and d.method == "squash"
    assert [c.name for c in d.checks] == ["ci", "lint"]
    assert d.summary() == f"mergeable after checks ci, lint passed at {HEAD[:12]}"


def test_nothing_reported_yet_is_pending_within_the_grace_period() -> None:
    d = decide(facts(age=3.0), policy=ALLOW, grace=300)
    assert d.verdict is Verdict.WAIT and "none reported yet" in d.summary()


def test_never_any_check_is_not_merged_after_the_grace_period() -> None:
    d = decide(facts(age=301.0), policy=ALLOW, grace=300)
    assert d.verdict is Verdict.NO_CHECKS
    assert d.summary() == f"not merged: no checks ran on {HEAD[:12]}"


def test_no_checks_merge_only_when_the_config_explicitly_allows_it() -> None:
    d = decide(facts(age=301.0), policy=Policy(allowed=True, without_checks=True), grace=300)
    assert d.verdict is Verdict.MERGE and "without checks" in d.summary()


def test_a_pending_or_failing_non_required_check_holds_when_nothing_is_required() -> None:
    assert decide(facts(("ci", "success"), ("e2e", "pending")), policy=ALLOW).verdict is Verdict.WAIT
    d = decide(facts(("ci", "success"), ("e2e", "failure")), policy=ALLOW)
    assert d.verdict is Verdict.FAILED and d.summary().startswith("not merged: checks failed (e2e)")


def test_required_checks_decide_alone_and_missing_ones_are_awaited() -> None:
    d = decide(facts(("ci", "success"), ("flaky", "failure"), required=("ci",)), policy=ALLOW)
    assert d.verdict is Verdict.MERGE and [c.name for c in d.checks] == ["ci"]
    waiting = decide(facts(("lint", "success"), required=("ci",), age=10_000), policy=ALLOW)
    assert waiting.verdict is Verdict.WAIT and "ci not reported yet" in waiting.summary()


def test_policy_and_foreign_head_and_closed_pr_are_never_merged() -> None:
    green = facts(("ci", "success"))
    d = decide(green, policy=Policy(allowed=False, reason="automerge: never"))
    assert d.verdict is Verdict.POLICY and d.summary() == "not merged: policy (automerge: never)"
    moved = decide(green, policy=ALLOW, expected_head="b" * 40)
    assert moved.verdict is Verdict.HEAD_MOVED and "not merged: head moved" in moved.summary()
    closed = decide(dataclasses.replace(green, state=PullState.CLOSED), policy=ALLOW)
    assert closed.verdict is Verdict.CLOSED


def test_merge_method_follows_the_repository_settings() -> None:
    assert pick_method("squash", ("merge", "rebase")) == "merge"
    assert pick_method("rebase", ("merge", "squash", "rebase")) == "rebase"
    assert pick_method("squash", ()) is None
    d = decide(facts(("ci", "success"), merge_methods=("rebase",)), policy=ALLOW)
    assert d.method == "rebase"
    none = decide(facts(("ci", "success"), merge_methods=()), policy=ALLOW)
    assert none.verdict is Verdict.REFUSED
