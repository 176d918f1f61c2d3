"""Sharding a rollout plan over a GitHub Actions matrix (``catalog-ops rollout shard``).

Pure: a plan in, groups of dependent names out. The same assignment is recomputed by every
``rollout apply --shard K/N`` job, so the shards never overlap.
"""

from __future__ import annotations

from typing import Any

from catalog_ops.errors import UsageError
from catalog_ops.rollout.model import DependentPlan, Plan

MAX_MATRIX = 256  # GitHub Actions: a matrix can generate at most 256 jobs per workflow run.


def shard_assignments(plan: Plan, shards: int) -> list[list[str]]:
    """Split the plan's work (open/update/close dependents) into at most ``min(shards, 256,
    work items)`` groups with balanced total weight (greedy longest-processing-time first;
    ties broken by repo name, so the result is deterministic). Always returns >= 1 group.

    Raises UsageError when ``shards < 1``.
    """
    if shards < 1:
        raise UsageError("--shards must be at least 1")
    work = sorted((d for d in plan.dependents if d.weight), key=lambda d: (-d.weight, d.repo))
    n = max(1, min(shards, MAX_MATRIX, len(work)))
    groups: list[list[str]] = [[] for _ in range(n)]
    loads = [0] * n
    for d in work:
        i = min(range(n), key=lambda k: (loads[k], k))
        groups[i].append(d.repo)
        loads[i] += d.weight
    return groups


def matrix(plan: Plan, shards: int) -> dict[str, Any]:
    """GitHub Actions matrix ``{"include": [{"shard": "K/N", "repos": n, "weight": w}, ...]}``."""
    groups = shard_assignments(plan, shards)
    weight = {d.repo: d.weight for d in plan.dependents}
    n = len(groups)
    return {
        "include": [
            {"shard": f"{k + 1}/{n}", "repos": len(g), "weight": sum(weight[r] for r in g)}
            for k, g in enumerate(groups)
        ]
    }


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)`` with ``1 <= K <= N``. Raises UsageError."""
    try:
        k_text, n_text = text.split("/", 1)
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise UsageError(f"--shard must look like K/N, not {text!r}") from None
    if not 1 <= k <= n:
        raise UsageError(f"--shard {text}: need 1 <= K <= N")
    return k, n


def dependents_of_shard(plan: Plan, shard: tuple[int, int] | None) -> list[DependentPlan]:
    """The dependents a shard applies (all when ``shard`` is None). Non-work dependents belong
    to shard 1 so they are reported exactly once."""
    if shard is None:
        return list(plan.dependents)
    k, n = shard
    groups = shard_assignments(plan, n)
    if len(groups) != n:
        raise UsageError(f"this plan splits into {len(groups)} shard(s), not {n}; rerun 'rollout shard'")
    mine = set(groups[k - 1])
    return [d for d in plan.dependents if d.repo in mine or (k == 1 and not d.weight)]
