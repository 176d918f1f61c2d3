"""Plan + apply against the local forge: PRs, idempotence, updates, supersession, merge policy,
stale plans, tag schemes, foreign commits, PRs closed by a person."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.forge.base import ChecksState, FileChange, PullState
from catalog_ops.forge.local.checks import LocalChecks
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import merge_plan
from catalog_ops.rollout.model import Action, Plan
from catalog_ops.rollout.prtext import parse_marker, render_pr
from fixtures.rollout import (
    BRANCH,
    CATALOG,
    GIT,
    NET,
    RolloutWorld,
    dependent_of,
    example_world,
    network_module,
    outcome_kinds,
    outcome_of,
    tf_module,
)


def test_security_release_rollout_end_to_end(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    example_world(w)
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
    assert outcome_kinds(report)["acme/web"] == "opened"
    assert not report.failed
    pr = w.forge.find_open_pull("acme/web", BRANCH) or w.forge.get_pull("acme/web", 1)
    # security + the dependent's checks ran on the pushed head and passed -> merged by the gate,
    # pinned to that head
    assert pr.state is PullState.MERGED
    merge = {o.subject: o.details.get("merge", "") for o in report.outcomes}
    assert merge["acme/web"] == f"merged after checks local-checks passed at {pr.head_sha[:12]}"
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
    example_world(w)
    w.release("v1.1.0", modules=["modules/service"])
    plan = w.plan()
    report = w.apply(plan)
    assert outcome_kinds(report)["acme/payments"] == "opened"
    pr = w.forge.find_open_pull("acme/payments", BRANCH)
    assert pr is not None and pr.state is PullState.OPEN and not pr.auto_merge
    assert "carol" in pr.reviewers and any("payments-team" in r for r in pr.reviewers)
    assert w.read("acme/payments", "infra/main.tf", BRANCH).count("?ref=1.1.0") == 1  # no-v style kept
    assert "Auto-merge: off" in pr.body

    before = dict(w.forge.request_counts())
    again = w.apply(w.plan())
    assert outcome_kinds(again)["acme/payments"] == "up_to_date"
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
    example_world(w)
    w.release("v1.1.0", modules=["modules/service"])
    w.apply(w.plan())
    first = w.forge.find_open_pull("acme/payments", BRANCH)
    assert first is not None
    w.release("v1.2.0", modules=["modules/service"])
    plan = w.plan()
    d = next(d for d in plan.dependents if d.repo == "acme/payments")
    assert (d.action, d.existing_pr) == (Action.UPDATE, first.number)
    report = w.apply(plan)
    assert outcome_kinds(report)["acme/payments"] == "updated"
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
    assert outcome_kinds(report)["acme/payments"] == "closed"
    closed = w.forge.get_pull("acme/payments", first.number)
    assert closed.state is PullState.CLOSED
    comments = w.forge.list_comments("acme/payments", first.number)
    assert any("superseded" in c.body for c in comments)


def test_config_error_skips_that_repo_only_and_failures_are_per_dependent(
    rollout_world: RolloutWorld,
) -> None:
    w = rollout_world
    example_world(w)
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
    kinds = outcome_kinds(report)
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
    example_world(w)
    w.release("v1.1.0", urgency="security", modules=["modules/network"])
    plan = w.plan()
    out = io.StringIO()
    report = w.apply(plan, dry_run=True, out=out)
    assert outcome_kinds(report)["acme/web"] == "would_open"
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


def test_security_prs_merge_only_through_the_gate(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("noauto", {"main.tf": tf_module("n", NET)}, allow_auto_merge=False)
    w.dependent("failing", {"main.tf": tf_module("n", NET), "FAIL_CHECKS": "1"})
    w.dependent("noci", {"main.tf": tf_module("n", NET)})
    w.forge.set_repo_settings("acme/noci", ci=False)  # a dependent whose CI never reports
    w.release("v1.0.1", urgency="security", modules=["modules/network"])
    report = w.apply(w.plan())
    assert not report.failed
    merge = {o.subject: o.details.get("merge", "") for o in report.outcomes}
    assert merge["acme/noauto"].startswith("merged after checks local-checks passed at ")
    assert "?ref=v1.0.1" in w.read("acme/noauto", "main.tf")
    failing = w.forge.find_open_pull("acme/failing", BRANCH)
    assert failing is not None and failing.state is PullState.OPEN
    assert merge["acme/failing"] == f"not merged: checks failed (local-checks) at {failing.head_sha[:12]}"
    noci = w.forge.find_open_pull("acme/noci", BRANCH)
    assert noci is not None and merge["acme/noci"] == f"not merged: no checks ran on {noci.head_sha[:12]}"
    assert "?ref=v1.0.0" in w.read("acme/failing", "main.tf") and "?ref=v1.0.0" in w.read(
        "acme/noci", "main.tf"
    )


def test_checks_failed_fixed_rerun_then_the_merge_pass_merges(
    rollout_world: RolloutWorld, tmp_path: Path
) -> None:
    """ "Checks failed, fixed, re-run" on the local forge: the dependent's CI fails for a reason
    outside the PR (here a file its checks need is missing), is fixed, the checks are re-run on
    the same head, and the merge pass merges through the gate."""
    w = rollout_world
    broken = tmp_path / "ci-broken"
    broken.write_text("the CI runner lacks a secret\n")
    w.forge.checks = LocalChecks(command=f"test ! -e {broken}")
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("app", {"main.tf": tf_module("n", NET)})
    w.release("v1.0.1", urgency="security", modules=["modules/network"])
    plan = w.plan()
    report = w.apply(plan)
    pr = w.forge.find_open_pull("acme/app", BRANCH)
    assert pr is not None
    assert report.outcomes[0].details["merge"].startswith("not merged: checks failed (local-checks)")
    assert outcome_kinds(merge_plan(w.forge, plan))["acme/app"] == "up_to_date"  # same head, same result
    broken.unlink()  # fixed
    assert w.forge.rerun_checks("acme/app", pr.number) is ChecksState.SUCCESS
    report = merge_plan(w.forge, plan)
    assert (
        report.outcomes[0].details["merge"]
        == f"merged after checks local-checks passed at {pr.head_sha[:12]}"
    )
    assert w.forge.get_pull("acme/app", pr.number).state is PullState.MERGED
    assert "?ref=v1.0.1" in w.read("acme/app", "main.tf")


def test_head_moved_between_check_and_merge_is_not_merged_locally(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("app", {"main.tf": tf_module("n", NET)})
    w.release("v1.0.1", urgency="security", modules=["modules/network"])
    plan = w.plan()
    read = w.forge.merge_facts

    def facts_then_push(repo: str, number: int) -> Any:
        got = read(repo, number)
        tip = w.forge.branch_sha(repo, BRANCH)
        assert tip
        w.forge.commit_files(
            repo, BRANCH, parent_sha=tip, message="pushed", changes=[FileChange("x.tf", b"\n")]
        )
        return got

    w.forge.merge_facts = facts_then_push  # type: ignore[method-assign]
    report = w.apply(plan)
    merge = {o.subject: o.details.get("merge", "") for o in report.outcomes}
    assert merge["acme/app"].startswith("not merged: head moved (")
    pr = w.forge.find_open_pull("acme/app", BRANCH)
    assert pr is not None and pr.state is PullState.OPEN


def test_policy_changed_to_never_or_a_breaking_update_disarms_locally(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("app", {"main.tf": tf_module("n", NET), "FAIL_CHECKS": "1"})
    w.dependent("brk", {"main.tf": tf_module("n", NET), "FAIL_CHECKS": "1"})
    w.release("v1.0.1", urgency="security", modules=["modules/network"])
    w.apply(w.plan())
    for repo in ("acme/app", "acme/brk"):  # armed by a person (or an older catalog-ops)
        pr = w.forge.find_open_pull(repo, BRANCH)
        assert pr is not None
        w.forge.enable_auto_merge(repo, pr.number)
        assert w.forge.get_pull(repo, pr.number).auto_merge
    w.push("acme/app", {".catalog-ops.yml": "automerge: never\n"})
    w.release("v2.0.0", modules=["modules/network"], breaking=True)
    report = w.apply(w.plan())
    merge = {o.subject: o.details.get("merge", "") for o in report.outcomes}
    assert merge["acme/app"].startswith("auto-merge disarmed: automerge: never")
    assert merge["acme/brk"].startswith("auto-merge disarmed: breaking update")
    for repo in ("acme/app", "acme/brk"):
        pr = w.forge.find_open_pull(repo, BRANCH)
        assert pr is not None and not pr.auto_merge


def test_template_override(rollout_world: RolloutWorld, tmp_path: Path) -> None:
    w = rollout_world
    example_world(w)
    w.release("v1.1.0", modules=["modules/network"])
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    (tdir / "pr_title.j2").write_text("chore(deps): {{ catalog_name }} {{ target }}")
    plan = w.plan()
    dep = next(d for d in plan.dependents if d.repo == "acme/web")
    from catalog_ops.rollout.prtext import template_env

    title, body = render_pr(plan, dep, env=template_env(tdir))
    assert title == "chore(deps): infrastructure-modules v1.1.0"
    assert "catalog-ops:rollout" in body
    w.apply(plan, template_dir=tdir)
    pr = w.forge.find_open_pull("acme/web", BRANCH)
    assert pr is not None and pr.title == title


def test_custom_template_marker_moves_to_the_end(rollout_world: RolloutWorld, tmp_path: Path) -> None:
    """Only a trailing marker is read (docs/security.md), so a custom body that puts it first gets
    it moved to the end, and a rerun recognises the PR as up to date."""
    w = rollout_world
    example_world(w)
    w.release("v1.1.0", modules=["modules/network"])
    tdir = tmp_path / "tpl"
    tdir.mkdir()
    (tdir / "pr_body.md.j2").write_text("{{ marker }}\nUpdate to {{ target }}.\n")
    plan = w.plan()
    dep = next(d for d in plan.dependents if d.repo == "acme/web")
    from catalog_ops.rollout.prtext import template_env

    _title, body = render_pr(plan, dep, env=template_env(tdir))
    assert body.startswith("Update to v1.1.0.\n\n<!-- catalog-ops:rollout ") and body.endswith("-->\n")
    assert parse_marker(body) is not None and body.count("catalog-ops:rollout") == 1
    w.apply(plan, template_dir=tdir)
    rerun = w.apply(plan, template_dir=tdir)
    assert outcome_of(rerun, "acme/web").kind is OutcomeKind.UP_TO_DATE


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
    example_world(w)
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


# --------------------------------------------------------------------------- regressions (were test_rollout_findings / _fixes)
# --------------------------------------------------------------------------- 1: breaking
def test_breaking_0x_minor_security_release_is_not_auto_merged(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v0.1.0", modules=["modules/network"])
    repo = w.dependent("zero", {"main.tf": network_module("v0.1.0")})
    w.release("v0.2.0", urgency="security", modules=["modules/network"], breaking=True)
    plan = w.plan()
    d = dependent_of(plan, repo)
    assert (d.update, d.breaking, d.automerge) == ("minor", True, False)
    report = w.apply(plan)
    assert outcome_of(report, repo).kind is OutcomeKind.OPENED
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None and pr.state is PullState.OPEN and not pr.auto_merge
    assert "?ref=v0.1.0" in w.read(repo, "main.tf")  # main untouched
    assert "merges automatically" not in pr.body
    assert "crosses a major version" not in pr.body
    assert "contains breaking changes" in pr.body
    # the breaking change text is shown (no migration notes were written for it)
    assert "## Breaking changes" in pr.body and "network: change in v0.2.0" in pr.body
    assert "read the migration notes below" not in pr.body.lower()


def test_prerelease_to_stable_across_breaking_release_is_not_auto_merged(
    rollout_world: RolloutWorld,
) -> None:
    w = rollout_world
    w.release("v3.0.0-rc.0", modules=["modules/network"], prerelease=True)
    repo = w.dependent("rc", {"main.tf": network_module("v3.0.0-rc.0")})
    allowed = w.dependent(
        "rc-allowed",
        {"main.tf": network_module("v3.0.0-rc.0"), ".catalog-ops.yml": "automerge_majors: true\n"},
    )
    w.release("v3.0.0", modules=["modules/network"], breaking=True)
    w.release("v3.0.2", urgency="security", modules=["modules/network"])
    plan = w.plan()
    d = dependent_of(plan, repo)
    assert d.breaking and not d.automerge
    assert dependent_of(plan, allowed).automerge  # the dependent opted in
    w.apply(plan)
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None and not pr.auto_merge and pr.state is PullState.OPEN
    assert "?ref=v3.0.2" in w.read(allowed, "main.tf")  # merged


# --------------------------------------------------------------------------- 2: stale plan
def test_stale_plan_never_downgrades(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v3.0.0", modules=["modules/network"])
    repo = w.dependent("stale", {"main.tf": network_module("v3.0.0")})
    older = w.dependent("older", {"main.tf": network_module("v3.0.0")})
    w.release("v3.0.2", urgency="security", modules=["modules/network"])
    plan = w.plan()
    assert dependent_of(plan, repo).action is Action.OPEN
    w.release("v3.1.0", modules=["modules/network"])
    w.push(repo, {"main.tf": network_module("v3.1.0")}, "bump by hand")
    w.push(older, {"main.tf": network_module("v2.9.0")}, "roll back by hand")
    report = w.apply(plan)
    o = outcome_of(report, repo)
    assert o.kind is OutcomeKind.SKIPPED
    assert o.reason == "already at v3.1.0, newer than the plan's target v3.0.2"
    assert w.forge.find_open_pull(repo, BRANCH) is None and w.forge.branch_sha(repo, BRANCH) is None
    assert "?ref=v3.1.0" in w.read(repo, "main.tf")
    o = outcome_of(report, older)
    assert o.kind is OutcomeKind.SKIPPED and "re-plan" in (o.reason or "")
    assert w.forge.branch_sha(older, BRANCH) is None


def test_a_ref_newer_than_the_target_in_another_file_is_not_moved_back(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.release("v1.2.0", modules=["modules/network"])
    w.release("v1.3.0", modules=["modules/network"])
    repo = w.dependent("two", {"a.tf": network_module("v1.3.0"), "b.tf": network_module("v1.0.0")})
    plan = w.plan(release="v1.2.0")  # e.g. the workflow of an older release
    d = dependent_of(plan, repo)
    assert d.files == ("b.tf",)
    report = w.apply(plan)
    assert outcome_of(report, repo).kind is OutcomeKind.OPENED
    assert "?ref=v1.2.0" in w.read(repo, "b.tf", BRANCH)
    assert "?ref=v1.3.0" in w.read(repo, "a.tf", BRANCH)  # bump_files alone moved it back to v1.2.0


# --------------------------------------------------------------------------- 3: tag schemes
def _tag_release(w: RolloutWorld, tag: str, version: str, module: str | None, changed: list[str]) -> None:
    parent = w.forge.branch_sha(CATALOG, "main") or ""
    sha = w.forge.commit_files(
        CATALOG,
        "main",
        parent_sha=parent,
        message=f"change for {tag}",
        changes=[FileChange(f"{m}/main.tf", f"# {m} {tag}\n".encode()) for m in changed],
    )
    w.forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)
    meta = ReleaseMetadata(
        version=version,
        tag=tag,
        previous=None,
        urgency="normal",
        breaking=False,
        modules={m: ModuleChange(path=m, notes=(f"{m} in {tag}",)) for m in changed},
        module=module,
    )
    w.forge.create_release(CATALOG, tag=tag, name=tag, body=render_release_metadata(meta) + "\n")


def test_mixed_tag_schemes_only_target_existing_tags_of_the_same_scheme(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    _tag_release(w, "v0.1.0", "0.1.0", None, ["modules/network", "modules/naming"])
    _tag_release(w, "modules/network/v0.1.0", "0.1.0", "modules/network", ["modules/network"])
    _tag_release(w, "modules/naming/v0.1.0", "0.1.0", "modules/naming", ["modules/naming"])
    _tag_release(w, "modules/network/v0.1.1", "0.1.1", "modules/network", ["modules/network"])
    text = (
        tf_module("a", f"{GIT}//modules/network?ref=modules/network/v0.1.0")
        + tf_module("b", f"{GIT}//modules/network?ref=v0.1.0")
        + tf_module("c", f"{GIT}//modules/naming?ref=modules/naming/v0.1.0")
    )
    repo = w.dependent("mixed", {"main.tf": text})
    plan = w.plan(release="modules/network/v0.1.1")
    d = dependent_of(plan, repo)
    targets = {(r.current, r.target, r.action) for r in d.refs}
    assert ("modules/network/v0.1.0", "modules/network/v0.1.1", "bump") in targets
    tags = {t.name for t in w.forge.list_tags(CATALOG)}
    assert all(r.target is None or r.target in tags for r in d.refs if r.action == "bump")
    assert not any(r.target == "modules/naming/v0.1.1" for r in d.refs)
    assert [b.tag for b in d.bumps] == ["modules/network/v0.1.1"]
    w.apply(plan)
    want = text.replace("ref=modules/network/v0.1.0", "ref=modules/network/v0.1.1")
    assert w.read(repo, "main.tf", BRANCH) == want  # ?ref=v0.1.0 and naming untouched


# --------------------------------------------------------------------------- 5: foreign commits
def test_commits_by_a_person_on_the_branch_are_not_force_pushed_away(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("human", {"main.tf": network_module("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    w.apply(w.plan())
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    human = w.forge.commit_files(
        repo, BRANCH, parent_sha=pr.head_sha, message="fix inputs", changes=[FileChange("fix.tf", b"# fix\n")]
    )
    w.release("v1.2.0", modules=["modules/network"])
    plan = w.plan()
    for _ in range(2):  # a rerun comments no second time
        report = w.apply(plan)
        o = outcome_of(report, repo)
        assert o.kind is OutcomeKind.FAILED  # someone else's commits: the run exits non-zero
        assert "branch has commits not made by catalog-ops" in (o.error or "")
        assert report.failed
    assert w.forge.branch_sha(repo, BRANCH) == human
    comments = [c for c in w.forge.list_comments(repo, pr.number) if "not made by catalog-ops" in c.body]
    assert len(comments) == 1
    forced = w.apply(plan, force=True)
    assert outcome_of(forced, repo).kind is OutcomeKind.UPDATED
    assert "?ref=v1.2.0" in w.read(repo, "main.tf", BRANCH)


# --------------------------------------------------------------------------- 6: closed by a person
def test_pr_closed_by_a_person_is_not_reopened_for_the_same_release(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("closer", {"main.tf": network_module("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    w.apply(w.plan())
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    w.forge.close_pull(repo, pr.number)  # a person says no
    report = w.apply(w.plan())
    o = outcome_of(report, repo)
    assert o.kind is OutcomeKind.SKIPPED
    assert (o.reason or "").startswith("closed by a person; not reopening for v1.1.0")
    assert w.forge.find_open_pull(repo, BRANCH) is None
    w.release("v1.2.0", modules=["modules/network"])
    report = w.apply(w.plan())
    assert outcome_of(report, repo).kind is OutcomeKind.OPENED  # a newer release opens again
    again = w.forge.find_open_pull(repo, BRANCH)
    assert again is not None and again.number != pr.number


# --------------------------------------------------------------------------- 7: low
def test_footer_without_codeowners_or_reviewers(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("noowners", {"main.tf": network_module("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    w.apply(w.plan())
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    assert "CODEOWNERS of the changed files" not in pr.body
    assert "no reviewers configured and no CODEOWNERS file" in pr.body


def test_force_rebuilds_a_branch_with_foreign_commits_for_the_same_plan(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("human", {"main.tf": network_module("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    plan = w.plan()
    assert outcome_of(w.apply(plan), repo).kind is OutcomeKind.OPENED
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    human = w.forge.commit_files(
        repo, BRANCH, parent_sha=pr.head_sha, message="fix inputs", changes=[FileChange("fix.tf", b"# fix\n")]
    )
    skipped = outcome_of(w.apply(plan), repo)
    assert skipped.kind is OutcomeKind.FAILED
    assert "branch has commits not made by catalog-ops" in (skipped.error or "")
    forced = outcome_of(w.apply(plan, force=True), repo)
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
    assert outcome_of(w.apply(plan), repo).kind is OutcomeKind.UP_TO_DATE
