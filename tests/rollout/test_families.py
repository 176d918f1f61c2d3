"""Suffix tag families (``v1.0.0-queue``, ``v1.1.0-topic``) in the rollout (issue 17, bug 4):
each family is its own release series, never a pre-release, and a reference moves only within
its family (``versions.TagScheme.owns``, the rule ``bump`` and the sweep follow)."""

from __future__ import annotations

import pytest

from catalog_ops.core.versions import parse_version
from catalog_ops.rollout.model import Action, RefAction
from catalog_ops.rollout.planner import choose_target
from fixtures.rollout import GIT, RolloutWorld, catalog_release, dependent_of, tf_module

FAMILY_RELEASES = (
    catalog_release("v1.0.0"),
    catalog_release("v1.0.0-queue"),
    catalog_release("v1.0.1-queue"),
    catalog_release("v1.1.0-topic"),
    catalog_release("v1.2.0-rc.1", prerelease=True),
)


@pytest.mark.parametrize(
    ("current", "ceiling", "want"),
    [
        ("v1.0.0-queue", "v1.1.0-topic", "v1.0.1-queue"),  # was None: the family read as a pre-release line
        ("v1.0.1-queue", "v1.1.0-topic", None),  # newest of its family; never v1.1.0-topic
        ("v1.0.0-topic", "v1.1.0-topic", "v1.1.0-topic"),
        ("v1.0.0", "v1.2.0-rc.1", None),  # the repo-wide series never moves to a family tag
        ("v1.0.0-queue", "v1.0.0-queue", None),  # the ceiling bounds families too
    ],
)
def test_choose_target_stays_in_the_family(current: str, ceiling: str, want: str | None) -> None:
    cur, top = parse_version(current), parse_version(ceiling)
    assert cur is not None and top is not None
    got = choose_target(cur, FAMILY_RELEASES, ceiling=top)
    assert (got.tag if got else None) == want


def test_families_roll_out_separately(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/naming", "modules/network", "modules/service"])
    w.release("v1.0.0-network", modules=["modules/network"])
    w.release("v1.0.0-naming", modules=["modules/naming"])
    main = (
        tf_module("net", f"{GIT}//modules/network?ref=v1.0.0-network")
        + tf_module("lbl", f"{GIT}//modules/naming?ref=v1.0.0-naming")
        + tf_module("svc", f"{GIT}//modules/service?ref=v1.0.0")
    )
    w.dependent("app", {"main.tf": main})
    w.release("v1.0.1-network", modules=["modules/network"])
    w.release("v1.1.0-naming", modules=["modules/naming", "modules/service"])
    plan = w.plan(release="v1.1.0-naming")
    assert not any(r.prerelease for r in plan.releases if "-" in r.tag)  # families are releases
    dep = dependent_of(plan, "acme/app")
    assert dep.action is Action.OPEN
    bumped = {r.module: r.target for r in dep.refs if r.action is RefAction.BUMP}
    assert bumped == {"modules/network": "v1.0.1-network", "modules/naming": "v1.1.0-naming"}
    w.apply(plan)
    text = w.read("acme/app", "main.tf", plan.branch)
    assert "?ref=v1.0.1-network" in text and "?ref=v1.1.0-naming" in text
    assert 'modules/service?ref=v1.0.0"' in text  # the repo-wide series has nothing newer
