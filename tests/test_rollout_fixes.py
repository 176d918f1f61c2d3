"""Regressions: --force over foreign commits, --template-dir validation, undefined template
variables checked once up front."""

from __future__ import annotations

import json
from pathlib import Path

from catalog_ops.forge.base import FileChange
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import parse_marker
from fixtures.rollout import RolloutWorld, tf_module

GIT = "git::https://github.com/acme/infrastructure-modules.git"
BRANCH = "catalog-ops/acme-infrastructure-modules"


def _net(ref: str) -> str:
    return tf_module("net", f"{GIT}//modules/network?ref={ref}")


def _outcome(report, repo: str):
    return next(o for o in report.outcomes if o.subject == repo)


def test_force_rebuilds_a_branch_with_foreign_commits_for_the_same_plan(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("human", {"main.tf": _net("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    plan = w.plan()
    assert _outcome(w.apply(plan), repo).kind is OutcomeKind.OPENED
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    human = w.forge.commit_files(
        repo, BRANCH, parent_sha=pr.head_sha, message="fix inputs", changes=[FileChange("fix.tf", b"# fix\n")]
    )
    skipped = _outcome(w.apply(plan), repo)
    assert (skipped.kind, skipped.reason) == (
        OutcomeKind.SKIPPED,
        "branch has commits not made by catalog-ops",
    )
    forced = _outcome(w.apply(plan, force=True), repo)
    assert forced.kind is OutcomeKind.UPDATED, (forced.kind, forced.reason)
    head = w.forge.branch_sha(repo, BRANCH)
    assert head is not None and head != human
    assert "?ref=v1.1.0" in w.read(repo, "main.tf", BRANCH)
    assert w.forge.read_file(repo, "fix.tf", head) is None  # rebuilt from the base
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None and pr.head_sha == head
    marker = parse_marker(pr.body)
    assert marker is not None and marker["head"] == head
    comments = [c for c in w.forge.list_comments(repo, pr.number) if "not made by catalog-ops" in c.body]
    assert len(comments) == 1
    # and now the branch is ours again: a plain rerun is a no-op
    assert _outcome(w.apply(plan), repo).kind is OutcomeKind.UP_TO_DATE


def _plan_file(w: RolloutWorld, tmp: Path, name: str) -> tuple[str, Path]:
    w.release("v1.0.0", modules=["modules/network"])
    for i in range(4):
        w.dependent(f"{name}{i}", {"main.tf": _net("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    plan_path = tmp / "plan.json"
    plan_path.write_text(json.dumps(w.plan().to_json()))
    return f"acme/{name}0", plan_path


def test_missing_template_dir_is_a_usage_error(
    rollout_world: RolloutWorld, rollout_tmp: Path, capsys
) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    repo, plan_path = _plan_file(w, rollout_tmp, "nodir")
    missing = rollout_tmp / "nonexistent"
    root = ["--local-root", str(w.forge.root)]
    rc = main([*root, "rollout", "apply", "--plan", str(plan_path), "--template-dir", str(missing)])
    err = capsys.readouterr().err
    assert rc == 2
    assert str(missing) in err
    assert w.forge.branch_sha(repo, BRANCH) is None


def test_undefined_template_variable_fails_once_up_front(
    rollout_world: RolloutWorld, rollout_tmp: Path, capsys
) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    _, plan_path = _plan_file(w, rollout_tmp, "undef")
    tdir = rollout_tmp / "tpl"
    tdir.mkdir()
    (tdir / "pr_title.j2").write_text("chore: bump {{ catalog }}\n{{ x }}\n")
    root = ["--local-root", str(w.forge.root)]
    rc = main([*root, "rollout", "apply", "--plan", str(plan_path), "--template-dir", str(tdir), "--json"])
    captured = capsys.readouterr()
    assert rc == 2
    assert f"{tdir / 'pr_title.j2'}:2: undefined variable 'x'" in captured.err
    assert captured.err.count("undefined variable") == 1
    assert "failed" not in captured.out
    for i in range(4):
        assert w.forge.branch_sha(f"acme/undef{i}", BRANCH) is None
