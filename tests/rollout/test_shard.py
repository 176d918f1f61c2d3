"""Sharding a plan over a GitHub Actions matrix (at most 256 jobs)."""

from __future__ import annotations

import pytest

from catalog_ops.errors import UsageError
from catalog_ops.rollout.model import Action, DependentPlan, Plan
from catalog_ops.rollout.shard import dependents_of_shard, matrix, parse_shard, shard_assignments
from fixtures.rollout import ADDRESS, CATALOG, catalog_release

RELEASES = (catalog_release("v1.0.0", modules=["modules/network"]),)


def _plan_with(weights: dict[str, int]) -> Plan:
    deps = []
    for name, nfiles in weights.items():
        if nfiles < 0:
            deps.append(DependentPlan(repo=name, action=Action.NOTHING))
        else:
            deps.append(
                DependentPlan(repo=name, action=Action.OPEN, files=tuple(f"f{i}" for i in range(nfiles)))
            )
    return Plan(
        catalog=CATALOG,
        catalog_address=ADDRESS,
        release=RELEASES[0],
        releases=RELEASES,
        dependents=tuple(deps),
    )


def test_shards_balance_and_cover_everything_once() -> None:
    plan = _plan_with({f"acme/r{i:03d}": (i % 7) for i in range(300)} | {"acme/quiet": -1})
    groups = shard_assignments(plan, 4)
    assert len(groups) == 4
    loads = [sum(4 + (int(r[-3:]) % 7) for r in g) for g in groups]
    assert max(loads) - min(loads) <= 10
    m = matrix(plan, 1000)
    assert len(m["include"]) == 256  # GitHub's matrix limit
    assert m["include"][0]["shard"] == "1/256"
    seen: list[str] = []
    for k in range(1, 257):
        seen += [d.repo for d in dependents_of_shard(plan, (k, 256))]
    assert sorted(seen) == sorted(d.repo for d in plan.dependents)  # quiet one reported once (shard 1)
    with pytest.raises(UsageError, match="splits into 256"):
        dependents_of_shard(plan, (1, 300))


def test_matrix_without_work_has_one_entry() -> None:
    plan = _plan_with({"acme/a": -1})
    assert matrix(plan, 8) == {"include": [{"shard": "1/1", "repos": 0, "weight": 0}]}


@pytest.mark.parametrize("text", ["1", "0/3", "4/3", "a/b"])
def test_parse_shard_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_shard(text)
