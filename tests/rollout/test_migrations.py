"""Migration patches in the rollout: applied after the bump in order, shown in the PR body,
"patched" only when every breaking release is covered, auto-merged only with
``automerge_patched_majors`` (docs/migrations.md)."""

from __future__ import annotations

from catalog_ops.forge.base import FileChange
from fixtures.rollout import (
    BRANCH,
    CATALOG,
    GIT,
    RolloutWorld,
    dependent_of,
    outcome_kinds,
)

P2 = "modules/network/migrations/v2-rename-cidr.yml"
P3 = "modules/network/migrations/v3-ipv4.yml"
PATCH2 = b"""schema: 1
release: 2.0.0
description: cidr is now cidr_block
steps:
  - kind: rename_input
    from: cidr
    to: cidr_block
"""
PATCH3 = b"""schema: 1
release: 3.0.0
description: cidr_block is now ipv4_cidr; tags are required
steps:
  - kind: rename_input
    from: cidr_block
    to: ipv4_cidr
  - kind: add_input
    name: tags
    value: {}
"""

MAIN = f'''module "net" {{
  source = "{GIT}//modules/network?ref=v1.0.0"
  cidr   = "10.0.0.0/16" # keep this comment
}}

output "vpc" {{
  value = module.net.vpc_id
}}
'''


def add_patch(w: RolloutWorld, path: str, data: bytes) -> None:
    parent = w.forge.branch_sha(CATALOG, "main") or ""
    w.forge.commit_files(
        CATALOG, "main", parent_sha=parent, message=f"add {path}", changes=[FileChange(path, data)]
    )


def two_majors(w: RolloutWorld, *, patch3: bool = True, urgency: str = "normal") -> str:
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("app", {"main.tf": MAIN})
    add_patch(w, P2, PATCH2)
    w.release("v2.0.0", modules=["modules/network"])
    if patch3:
        add_patch(w, P3, PATCH3)
    w.release("v3.0.0", modules=["modules/network"], urgency=urgency)
    return repo


def test_two_breaking_releases_apply_both_patches_in_order(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo = two_majors(w)
    plan = w.plan()
    dep = dependent_of(plan, repo)
    assert [m.path for m in plan.migrations] == [P2, P3]
    assert dep.breaking and dep.patched and not dep.needs_hands
    assert dep.refs[0].patches == (P2, P3)
    assert dep.automerge is False  # automerge_patched_majors is off by default
    report = w.apply(plan)
    assert outcome_kinds(report)[repo] == "opened"
    want = (
        MAIN.replace("ref=v1.0.0", "ref=v3.0.0")
        .replace("  source = ", "  source    = ")
        .replace(
            '  cidr   = "10.0.0.0/16" # keep this comment\n',
            '  ipv4_cidr = "10.0.0.0/16" # keep this comment\n  tags      = {}\n',
        )
    )
    assert w.read(repo, "main.tf", BRANCH) == want
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    assert "## Migration applied" in pr.body
    assert pr.body.index(P2) < pr.body.index(P3)
    assert "| rename input cidr -> cidr_block | `main.tf:3` | applied |" in pr.body
    assert "needs-hands" not in pr.labels and "breaking-change" in pr.labels
    # idempotent: the same plan again changes nothing
    assert outcome_kinds(w.apply(plan))[repo] == "up_to_date"


def test_uncovered_breaking_release_is_still_breaking(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo = two_majors(w, patch3=False)
    w.push(repo, {".catalog-ops.yml": "automerge: minor\nautomerge_patched_majors: true\n"})
    dep = dependent_of(w.plan(), repo)
    assert dep.breaking and not dep.patched
    assert dep.refs[0].patches == (P2,)
    assert dep.automerge is False


def test_patched_update_automerges_only_with_the_opt_in(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo = two_majors(w)
    w.push(repo, {".catalog-ops.yml": "automerge: minor\nautomerge_patched_majors: true\n"})
    dep = dependent_of(w.plan(), repo)
    assert dep.breaking and dep.patched and dep.automerge is True


def test_a_skipped_step_marks_the_pr_as_needing_hands(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo = two_majors(w)
    w.push(
        repo,
        {
            ".catalog-ops.yml": "automerge: minor\nautomerge_patched_majors: true\n",
            "main.tf": MAIN.replace("# keep this comment\n", "# keep this comment\n  ipv4_cidr = var.x\n"),
        },
    )
    plan = w.plan()
    dep = dependent_of(plan, repo)
    assert dep.patched and dep.needs_hands and dep.automerge is False
    skipped = [o for o in dep.migration if o.status == "skipped"]
    assert [(o.path, o.line) for o in skipped] == [("main.tf", 4)]
    from catalog_ops.rollout.summary import plan_markdown

    assert "network v1.0.0→v3.0.0; migration: 2 step(s) in the PR, 1 skipped (needs hands)" in plan_markdown(
        plan
    )
    w.apply(plan)
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    assert "needs-hands" in pr.labels
    assert "**Needs hands.**" in pr.body and "| skipped: " in pr.body


def test_needs_hands_never_automerges_even_with_automerge_majors(rollout_world: RolloutWorld) -> None:
    from catalog_ops.rollout.apply import policy_of

    w = rollout_world
    repo = two_majors(w, urgency="security")  # a security major: automerge_majors alone would merge it
    w.push(
        repo,
        {
            ".catalog-ops.yml": "automerge_majors: true\n",
            "main.tf": MAIN.replace("# keep this comment\n", "# keep this comment\n  ipv4_cidr = var.x\n"),
        },
    )
    dep = dependent_of(w.plan(), repo)
    assert dep.needs_hands and dep.automerge is False
    assert policy_of(dep).reason == "migration patches could not be applied everywhere (needs hands)"


def test_a_release_marked_breaking_is_covered_by_applies_to(rollout_world: RolloutWorld) -> None:
    """A 0.x minor release marked breaking (``feat!:``) is breaking without crossing a major; a
    patch whose ``applies_to`` admits it covers it."""
    w = rollout_world
    w.release("v0.1.0", modules=["modules/network"])
    repo = w.dependent("zero", {"main.tf": MAIN.replace("v1.0.0", "v0.1.0")})
    add_patch(w, P2, PATCH2.replace(b"release: 2.0.0", b"applies_to: '>= 0.2.0, < 0.3.0'"))
    w.release("v0.2.0", modules=["modules/network"], breaking=True)
    dep = dependent_of(w.plan(), repo)
    assert dep.update == "minor" and dep.breaking and dep.patched
    assert dep.refs[0].patches == (P2,)
    assert [o.status for o in dep.migration] == ["applied"]


def test_next_safe_goes_past_patched_breaking_releases_only(rollout_world: RolloutWorld) -> None:
    """A breaking release the catalog's patches cover counts as non-breaking for ``next-safe``
    (docs/migrations.md); an uncovered one still stops it (docs/rollout.md, strategies)."""
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("app", {"main.tf": MAIN, ".catalog-ops.yml": "strategy: next-safe\n"})
    add_patch(w, P2, PATCH2)
    w.release("v2.0.0", modules=["modules/network"])
    w.release("v3.0.0", modules=["modules/network"])  # no patch covers 3.0.0
    dep = dependent_of(w.plan(), repo)
    assert [b.tag for b in dep.bumps] == ["v2.0.0"]
    assert dep.breaking and dep.patched and dep.refs[0].patches == (P2,)
    add_patch(w, P3, PATCH3)
    w.release("v3.0.1", modules=["modules/network"])  # patches are read at the rolled-out tag
    dep = dependent_of(w.plan(), repo)
    assert [b.tag for b in dep.bumps] == ["v3.0.1"]
    assert dep.patched and dep.refs[0].patches == (P2, P3)
