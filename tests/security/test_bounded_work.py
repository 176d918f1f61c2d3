"""Bounded work per untrusted input (issue 15): a dependent's ``paths:`` globs, CODEOWNERS and
tree cannot stall the plan. Bounds are asserted on the matcher's work counter and on limit
errors, never on wall-clock time."""

from __future__ import annotations

import itertools

import pytest

from catalog_ops.catalog.config import parse_config
from catalog_ops.errors import ConfigError
from fixtures.rollout import RolloutWorld, network_module

REDOS = "**/a" * 12 + "**/b"  # ran for over 7 minutes as a backtracking regex (issue 15)
DEEP = "/".join(["a"] * 36) + "/c.tf"  # 36 deep, never matches REDOS


def test_redos_paths_glob_is_a_limit_error_naming_file_and_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(f'version: 1\npaths:\n  - "{REDOS}"\n', "acme/app:.catalog-ops.yml")
    message = str(err.value)
    assert message.startswith("acme/app:.catalog-ops.yml:")
    assert "item at line 3" in message and "13 '**'; at most 8" in message


def test_redos_glob_matching_work_is_linear() -> None:
    from catalog_ops.core.glob import Matcher, compile_glob

    tokens = compile_glob(REDOS)
    matcher = Matcher()
    assert not matcher.match(tokens, DEEP, below=True)
    # O(len(pattern) x len(path)): at most 2 states per token, a few steps per state and character.
    bound = 4 * 2 * (len(tokens) + 1) * (len(DEEP) + 1)
    assert 0 < matcher.steps <= bound, (matcher.steps, bound)
    # ... and it grows linearly: twice the path, about twice the work (a backtracking regex
    # grows combinatorially: C(36, 13) ways to place the 13 '**').
    twice = Matcher()
    twice.match(tokens, DEEP + "/" + DEEP, below=True)
    assert twice.steps <= 2.2 * matcher.steps


def test_codeowners_patterns_are_matched_in_linear_time() -> None:
    from catalog_ops.core.codeowners import parse_codeowners
    from catalog_ops.core.glob import Matcher

    pattern = "**/a" * 7 + "**/b"  # 8 '**', at the limit: kept
    [rule] = parse_codeowners(f"{pattern} @acme/owners\n{REDOS} @acme/everyone\n")
    assert rule.pattern == pattern  # the pattern beyond the limit is skipped, like an invalid line
    matcher = Matcher()
    assert not rule.matches(DEEP, matcher)
    assert matcher.steps <= 4 * 2 * (len(rule.tokens) + 1) * (len(DEEP) + 1)


def test_a_dependents_redos_config_skips_only_that_dependent(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("evil", {".catalog-ops.yml": f'paths: ["{REDOS}"]\n', "x/main.tf": network_module("v1.0.0")})
    w.dependent("good", {"main.tf": network_module("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    plan = w.plan()
    by_repo = {d.repo: d for d in plan.dependents}
    assert by_repo["acme/evil"].action.value == "skip"
    assert "invalid config" in (by_repo["acme/evil"].reason or "")
    assert "at most 8" in (by_repo["acme/evil"].reason or "")
    assert by_repo["acme/good"].action.value == "open"


def test_budgets_per_dependent(rollout_world: RolloutWorld) -> None:
    from catalog_ops.fanout.dependents import DependentSelection
    from catalog_ops.rollout.gather import Budget, build_plan

    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("many", {f"m{i}.tf": network_module("v1.0.0") for i in range(5)})
    w.dependent("big", {"main.tf": network_module("v1.0.0") + "#" * 5000 + "\n"})
    w.dependent("slow", {"a.tf": network_module("v1.0.0"), "b.tf": "\n"})
    w.release("v1.1.0", modules=["modules/network"])
    ticks = itertools.count()

    budget = Budget(max_files=4, max_bytes=4096, max_seconds=30.0, clock=lambda: 0.0)  # time stands still
    sel = DependentSelection(dependents=("acme/many", "acme/big"), concurrency=1)
    plan = build_plan(w.forge, catalog=w.catalog, selection=sel, budget=budget)
    reasons = {d.repo: d.reason or "" for d in plan.dependents}
    assert "5 candidate files exceed the budget of 4 per dependent" in reasons["acme/many"]
    assert "exceed 4096 bytes (the budget per dependent)" in reasons["acme/big"]

    slow = Budget(max_seconds=30.0, clock=lambda: 60.0 * next(ticks))  # a minute per clock read
    plan = build_plan(
        w.forge, catalog=w.catalog, selection=DependentSelection(dependents=("acme/slow",)), budget=slow
    )
    [dep] = plan.dependents
    assert dep.action.value == "skip" and "longer than 30 s (the budget per dependent)" in (dep.reason or "")
