"""Plan + apply against the local forge: PRs, idempotence, updates, supersession, merge policy."""

from __future__ import annotations

import io
import json
from pathlib import Path

from catalog_ops.forge.base import PullState
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import parse_marker, render_pr
from catalog_ops.rollout.planner import Action, Plan
from fixtures.rollout import RolloutWorld, tf_module

GIT = "git::https://github.com/acme/infrastructure-modules.git"
BRANCH = "catalog-ops/acme-infrastructure-modules"
NET = f"{GIT}//modules/network?ref=v1.0.0"


def _kinds(report) -> dict[str, str]:
    return {o.subject: o.kind.value for o in report.outcomes}


def _world(w: RolloutWorld) -> None:
    w.release("v1.0.0", modules=["modules/naming", "modules/network", "modules/service"])
    w.dependent(
        "web", {"main.tf": tf_module("net", NET) + tf_module("lbl", f"{GIT}//modules/naming?ref=v1.0.0")}
    )
    w.dependent(
        "payments",
        {
            "infra/main.tf": tf_module(
                "svc", "git@github.com:acme/infrastructure-modules.git//modules/service?ref=1.0.0"
            ),
            "CODEOWNERS": "infra/ @acme/payments-team @carol\n",
        },
    )
    w.dependent("untouched", {"main.tf": tf_module("x", "./local")})
    w.dependent("old", {"main.tf": tf_module("net", NET)}, archived=True)
    w.dependent("forked", {"main.tf": tf_module("net", NET)}, fork=True)


def test_security_release_rollout_end_to_end(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    _world(w)
    w.release("v1.1.0", urgency="security", modules=["modules/network"])
    plan = w.plan()
    actions = {d.repo: (d.action, d.reason) for d in plan.dependents}
    assert actions["acme/web"][0] is Action.OPEN
    assert actions["acme/payments"] == (Action.NOTHING, "up to date")  # service unchanged since 1.0.0
    assert actions["acme/untouched"] == (Action.NOTHING, "no reference to the catalog")
    assert actions["acme/old"] == (Action.SKIP, "archived")
    assert actions["acme/forked"][0] is Action.SKIP and "fork" in (actions["acme/forked"][1] or "")
    assert "acme/infrastructure-modules" not in actions

    report = w.apply(plan)
    assert _kinds(report)["acme/web"] == "opened"
    assert not report.failed
    pr = w.forge.find_open_pull("acme/web", BRANCH) or w.forge.get_pull("acme/web", 1)
    # security + fast checks pass -> auto-merged by the local forge
    assert pr.state is PullState.MERGED and pr.auto_merge
    main_tf = w.read("acme/web", "main.tf")
    assert f"{GIT}//modules/network?ref=v1.1.0" in main_tf
    assert f"{GIT}//modules/naming?ref=v1.0.0" in main_tf  # naming did not change: untouched
    assert pr.title == "[security] Update infrastructure-modules module network to v1.1.0"
    assert "Security release" in pr.body and "| `modules/network` | `v1.0.0` | `v1.1.0` | minor |" in pr.body
    assert "network: change in v1.1.0" in pr.body
    assert parse_marker(pr.body) == {
        "catalog": "acme/infrastructure-modules",
        "release": "v1.1.0",
        "digest": plan.dependents[[d.repo for d in plan.dependents].index("acme/web")].digest(),
        "head": pr.head_sha,  # the commit catalog-ops pushed (foreign commits are detected)
    }
    assert set(pr.labels) >= {"dependencies", "catalog-ops", "security"}


def test_normal_release_requests_codeowners_never_merges_and_rerun_is_idempotent(
    rollout_world: RolloutWorld,
) -> None:
    w = rollout_world
    _world(w)
    w.release("v1.1.0", modules=["modules/service"])
    plan = w.plan()
    report = w.apply(plan)
    assert _kinds(report)["acme/payments"] == "opened"
    pr = w.forge.find_open_pull("acme/payments", BRANCH)
    assert pr is not None and pr.state is PullState.OPEN and not pr.auto_merge
    assert "carol" in pr.reviewers and any("payments-team" in r for r in pr.reviewers)
    assert w.read("acme/payments", "infra/main.tf", BRANCH).count("?ref=1.1.0") == 1  # no-v style kept
    assert "Auto-merge: off" in pr.body

    before = dict(w.forge.request_counts())
    again = w.apply(w.plan())
    assert _kinds(again)["acme/payments"] == "up_to_date"
    assert not any(
        o.kind in (OutcomeKind.OPENED, OutcomeKind.UPDATED, OutcomeKind.CLOSED) for o in again.outcomes
    )
    after = w.forge.request_counts()
    writes = {
        k: after.get(k, 0) - before.get(k, 0)
        for k in ("commit_files", "open_pull", "update_pull", "add_labels")
    }
    assert writes == {"commit_files": 0, "open_pull": 0, "update_pull": 0, "add_labels": 0}
    assert w.forge.get_pull("acme/payments", pr.number).head_sha == pr.head_sha


def test_newer_release_updates_same_pr_and_superseded_pr_is_closed(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    _world(w)
    w.release("v1.1.0", modules=["modules/service"])
    w.apply(w.plan())
    first = w.forge.find_open_pull("acme/payments", BRANCH)
    assert first is not None
    w.release("v1.2.0", modules=["modules/service"])
    plan = w.plan()
    d = next(d for d in plan.dependents if d.repo == "acme/payments")
    assert (d.action, d.existing_pr) == (Action.UPDATE, first.number)
    report = w.apply(plan)
    assert _kinds(report)["acme/payments"] == "updated"
    pr = w.forge.get_pull("acme/payments", first.number)
    assert pr.state is PullState.OPEN and pr.head_sha != first.head_sha
    assert "to 1.2.0" in pr.title
    assert (
        "service: change in v1.1.0" in pr.body and "service: change in v1.2.0" in pr.body
    )  # every version between
    assert w.read("acme/payments", "infra/main.tf", BRANCH).count("?ref=1.2.0") == 1
    # someone bumps by hand on main: the rollout PR is superseded and closed with a comment
    w.push("acme/payments", {"infra/main.tf": w.read("acme/payments", "infra/main.tf", BRANCH)})
    plan = w.plan()
    assert next(d for d in plan.dependents if d.repo == "acme/payments").action is Action.CLOSE
    report = w.apply(plan)
    assert _kinds(report)["acme/payments"] == "closed"
    closed = w.forge.get_pull("acme/payments", first.number)
    assert closed.state is PullState.CLOSED
    comments = w.forge.list_comments("acme/payments", first.number)
    assert any("superseded" in c.body for c in comments)


def test_config_error_skips_that_repo_only_and_failures_are_per_dependent(
    rollout_world: RolloutWorld,
) -> None:
    w = rollout_world
    _world(w)
    w.dependent("badcfg", {"main.tf": tf_module("net", NET), ".catalog-ops.yml": "automerge: sometimes\n"})
    w.dependent("other", {"main.tf": tf_module("net", NET)})
    w.release("v1.1.0", modules=["modules/network"])
    plan = w.plan()
    bad = next(d for d in plan.dependents if d.repo == "acme/badcfg")
    assert bad.action is Action.SKIP
    assert "acme/badcfg:.catalog-ops.yml:1:12: key 'automerge'" in (bad.reason or "")
    # break one dependent between plan and apply: its base branch disappears
    doc = plan.to_json()
    for dep in doc["dependents"]:
        if dep["repo"] == "acme/other":
            dep["base"] = "gone"
    report = w.apply(Plan.from_json(doc))
    kinds = _kinds(report)
    assert (
        kinds["acme/other"] == "failed"
        and kinds["acme/web"] == "opened"
        and kinds["acme/badcfg"] == "skipped"
    )
    assert report.failed


def test_dependent_config_paths_reviewers_labels_base_and_majors(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    cfg = "paths: [live]\nreviewers: [dave, acme/sre]\nlabels: [infra]\nbase: develop\nautomerge: never\n"
    repo = w.dependent(
        "cfg",
        {"live/main.tf": tf_module("n", NET), "other/main.tf": tf_module("n", NET), ".catalog-ops.yml": cfg},
    )
    w.push(repo, {"README.md": "x"})
    base_sha = w.forge.branch_sha(repo, "main")
    assert base_sha
    w.forge.commit_files(repo, "develop", parent_sha=base_sha, message="develop", changes=[])
    w.dependent("nomajor", {"main.tf": tf_module("n", NET), ".catalog-ops.yml": "majors: false\n"})
    w.release(
        "v2.0.0",
        urgency="security",
        modules=["modules/network"],
        breaking=True,
        migration={"modules/network": "Rename `cidr` to `cidr_block`."},
    )
    plan = w.plan()
    d = next(d for d in plan.dependents if d.repo == repo)
    assert d.base == "develop" and d.files == ("live/main.tf",) and d.breaking and not d.automerge
    nm = next(d for d in plan.dependents if d.repo == "acme/nomajor")
    assert nm.action is Action.NOTHING and "majors: false" in (nm.refs[0].reason or "")
    w.apply(plan)
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None and pr.base == "develop" and pr.state is PullState.OPEN and not pr.auto_merge
    assert {"infra", "breaking-change", "security"} <= set(pr.labels)
    assert "[breaking]" in pr.title and "Breaking update" in pr.body
    assert "## Migration notes" in pr.body and "Rename `cidr` to `cidr_block`." in pr.body
    assert "| `modules/network` | `v1.0.0` | `v2.0.0` | major (breaking) |" in pr.body
    assert set(pr.reviewers) == {"dave", "acme/sre"}  # configured reviewers, not CODEOWNERS
    assert "?ref=v1.0.0" in w.read(repo, "other/main.tf", BRANCH)  # outside `paths`: not scanned, not bumped
    assert "?ref=v2.0.0" in w.read(repo, "live/main.tf", BRANCH)


def test_dry_run_prints_diffs_and_writes_nothing(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    _world(w)
    w.release("v1.1.0", urgency="security", modules=["modules/network"])
    plan = w.plan()
    out = io.StringIO()
    report = w.apply(plan, dry_run=True, out=out)
    assert _kinds(report)["acme/web"] == "would_open"
    text = out.getvalue()
    assert (
        '-  source = "git::https://github.com/acme/infrastructure-modules.git//modules/network?ref=v1.0.0"'
        in text
    )
    assert (
        '+  source = "git::https://github.com/acme/infrastructure-modules.git//modules/network?ref=v1.1.0"'
        in text
    )
    assert "--- title\n[security] Update" in text
    assert w.forge.branch_sha("acme/web", BRANCH) is None


def test_wait_and_merge_when_auto_merge_unavailable(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("noauto", {"main.tf": tf_module("n", NET)}, allow_auto_merge=False)
    w.dependent("failing", {"main.tf": tf_module("n", NET), "FAIL_CHECKS": "1"}, allow_auto_merge=False)
    w.release("v1.0.1", urgency="security", modules=["modules/network"])
    plan = w.plan()
    report = w.apply(plan)
    merge = {o.subject: o.details.get("merge", "") for o in report.outcomes}
    assert "auto-merge unavailable" in merge["acme/noauto"]
    report = w.apply(w.plan(), wait_and_merge=True, poll_interval=0.01, wait_timeout=5)
    kinds = _kinds(report)
    assert kinds["acme/failing"] == "failed"  # checks fail: recorded, not merged
    assert w.forge.find_open_pull("acme/failing", BRANCH) is not None
    assert "?ref=v1.0.1" in w.read("acme/noauto", "main.tf")  # merged after polling


def test_template_override(rollout_world: RolloutWorld, tmp_path: Path) -> None:
    w = rollout_world
    _world(w)
    w.release("v1.1.0", modules=["modules/network"])
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    (tdir / "pr_title.j2").write_text("chore(deps): {{ catalog_name }} {{ target }}")
    plan = w.plan()
    dep = next(d for d in plan.dependents if d.repo == "acme/web")
    from catalog_ops.rollout.apply import template_env

    title, body = render_pr(plan, dep, env=template_env(tdir))
    assert title == "chore(deps): infrastructure-modules v1.1.0"
    assert "catalog-ops:rollout" in body
    w.apply(plan, template_dir=tdir)
    pr = w.forge.find_open_pull("acme/web", BRANCH)
    assert pr is not None and pr.title == title


def test_cli_plan_shard_apply(rollout_world: RolloutWorld, rollout_tmp: Path, capsys, monkeypatch) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    _world(w)
    w.release("v1.1.0", modules=["modules/network", "modules/service"])
    summary = rollout_tmp / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("CATALOG_OPS_LOCAL_CHECKS", "true")
    root = ["--local-root", str(w.forge.root)]
    plan_path = rollout_tmp / "plan.json"
    assert (
        main([*root, "rollout", "plan", "--catalog", w.catalog, "--org", "acme", "--out", str(plan_path)])
        == 0
    )
    doc = json.loads(plan_path.read_text())
    assert doc["counts"]["open"] == 2
    capsys.readouterr()
    assert main(["rollout", "shard", "--plan", str(plan_path), "--shards", "5"]) == 0
    m = json.loads(capsys.readouterr().out)
    assert [e["shard"] for e in m["include"]] == ["1/2", "2/2"]
    for entry in m["include"]:
        rc = main(
            [
                *root,
                "rollout",
                "apply",
                "--plan",
                str(plan_path),
                "--shard",
                entry["shard"],
                "--write-interval",
                "0",
                "--json",
            ]
        )
        assert rc == 0
    assert json.loads(capsys.readouterr().out.split("\n}\n")[0] + "\n}")["schema"] == 1
    assert "Rollout of acme/infrastructure-modules v1.1.0 (shard 1/2)" in summary.read_text()
    assert "### Rollout plan: acme/infrastructure-modules v1.1.0 (normal)" in summary.read_text()
    assert w.forge.find_open_pull("acme/web", BRANCH) is not None
    assert w.forge.find_open_pull("acme/payments", BRANCH) is not None


def test_terragrunt_include_composed_source_apply(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    unit = (
        'include "root" {\n  path   = find_in_parent_folders("root.hcl")\n  expose = true\n}\n\n'
        'terraform {\n  source = "${include.root.locals.base_source_url}//modules/network?ref=v1.0.0"\n}\n'
    )
    repo = w.dependent(
        "live",
        {
            "root.hcl": 'locals {\n  base_source_url = "git::git@github.com:acme/infrastructure-modules.git"\n}\n',
            "dev/network/terragrunt.hcl": unit,
            "prod/network/terragrunt.hcl": unit.replace("\n", "\r\n"),  # CRLF survives
        },
    )
    w.release("v1.1.0", modules=["modules/network"])
    plan = w.plan()
    d = next(d for d in plan.dependents if d.repo == repo)
    assert "root.hcl" in d.inputs and "root.hcl" not in d.files
    w.apply(plan)
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    dev = w.read(repo, "dev/network/terragrunt.hcl", BRANCH)
    assert dev == unit.replace("?ref=v1.0.0", "?ref=v1.1.0")
    prod = w.forge.read_file(repo, "prod/network/terragrunt.hcl", BRANCH)
    assert prod == unit.replace("\n", "\r\n").replace("?ref=v1.0.0", "?ref=v1.1.0").encode()
    assert w.read(repo, "root.hcl", BRANCH) == w.read(repo, "root.hcl")


def test_an_older_plan_never_rewrites_or_closes_a_newer_pr(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    _world(w)
    w.release("v1.1.0", modules=["modules/service"])
    old_plan = w.plan()
    w.release("v1.2.0", modules=["modules/service"])
    w.apply(w.plan())
    pr = w.forge.find_open_pull("acme/payments", BRANCH)
    assert pr is not None and "1.2.0" in pr.title
    report = w.apply(old_plan)  # e.g. the workflow of the older release re-run by hand
    outcome = next(o for o in report.outcomes if o.subject == "acme/payments")
    assert outcome.kind is OutcomeKind.SKIPPED and "newer release v1.2.0" in (outcome.reason or "")
    after = w.forge.get_pull("acme/payments", pr.number)
    assert (after.state, after.head_sha, after.title) == (pr.state, pr.head_sha, pr.title)
