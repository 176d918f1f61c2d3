"""Regressions from a new user's trial (local forge, checks pass): breaking auto-merge, stale
plans, mixed tag schemes, unreadable files, foreign commits, closed PRs, CLI edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.forge.base import FileChange, PullState
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.planner import Action
from fixtures.rollout import CATALOG, RolloutWorld, tf_module

GIT = "git::https://github.com/acme/infrastructure-modules.git"
BRANCH = "catalog-ops/acme-infrastructure-modules"


def _net(ref: str) -> str:
    return tf_module("net", f"{GIT}//modules/network?ref={ref}")


def _outcome(report, repo: str):
    return next(o for o in report.outcomes if o.subject == repo)


def _dep(plan, repo: str):
    return next(d for d in plan.dependents if d.repo == repo)


# --------------------------------------------------------------------------- 1: breaking
def test_breaking_0x_minor_security_release_is_not_auto_merged(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v0.1.0", modules=["modules/network"])
    repo = w.dependent("zero", {"main.tf": _net("v0.1.0")})
    w.release("v0.2.0", urgency="security", modules=["modules/network"], breaking=True)
    plan = w.plan()
    d = _dep(plan, repo)
    assert (d.update, d.breaking, d.automerge) == ("minor", True, False)
    report = w.apply(plan)
    assert _outcome(report, repo).kind is OutcomeKind.OPENED
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
    repo = w.dependent("rc", {"main.tf": _net("v3.0.0-rc.0")})
    allowed = w.dependent(
        "rc-allowed", {"main.tf": _net("v3.0.0-rc.0"), ".catalog-ops.yml": "automerge_majors: true\n"}
    )
    w.release("v3.0.0", modules=["modules/network"], breaking=True)
    w.release("v3.0.2", urgency="security", modules=["modules/network"])
    plan = w.plan()
    d = _dep(plan, repo)
    assert d.breaking and not d.automerge
    assert _dep(plan, allowed).automerge  # the dependent opted in
    w.apply(plan)
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None and not pr.auto_merge and pr.state is PullState.OPEN
    assert "?ref=v3.0.2" in w.read(allowed, "main.tf")  # merged


# --------------------------------------------------------------------------- 2: stale plan
def test_stale_plan_never_downgrades(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v3.0.0", modules=["modules/network"])
    repo = w.dependent("stale", {"main.tf": _net("v3.0.0")})
    older = w.dependent("older", {"main.tf": _net("v3.0.0")})
    w.release("v3.0.2", urgency="security", modules=["modules/network"])
    plan = w.plan()
    assert _dep(plan, repo).action is Action.OPEN
    w.release("v3.1.0", modules=["modules/network"])
    w.push(repo, {"main.tf": _net("v3.1.0")}, "bump by hand")
    w.push(older, {"main.tf": _net("v2.9.0")}, "roll back by hand")
    report = w.apply(plan)
    o = _outcome(report, repo)
    assert o.kind is OutcomeKind.SKIPPED
    assert o.reason == "already at v3.1.0, newer than the plan's target v3.0.2"
    assert w.forge.find_open_pull(repo, BRANCH) is None and w.forge.branch_sha(repo, BRANCH) is None
    assert "?ref=v3.1.0" in w.read(repo, "main.tf")
    o = _outcome(report, older)
    assert o.kind is OutcomeKind.SKIPPED and "re-plan" in (o.reason or "")
    assert w.forge.branch_sha(older, BRANCH) is None


def test_a_ref_newer_than_the_target_in_another_file_is_not_moved_back(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.release("v1.2.0", modules=["modules/network"])
    w.release("v1.3.0", modules=["modules/network"])
    repo = w.dependent("two", {"a.tf": _net("v1.3.0"), "b.tf": _net("v1.0.0")})
    plan = w.plan(release="v1.2.0")  # e.g. the workflow of an older release
    d = _dep(plan, repo)
    assert d.files == ("b.tf",)
    report = w.apply(plan)
    assert _outcome(report, repo).kind is OutcomeKind.OPENED
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
    d = _dep(plan, repo)
    targets = {(r.current, r.target, r.action) for r in d.refs}
    assert ("modules/network/v0.1.0", "modules/network/v0.1.1", "bump") in targets
    tags = {t.name for t in w.forge.list_tags(CATALOG)}
    assert all(r.target is None or r.target in tags for r in d.refs if r.action == "bump")
    assert not any(r.target == "modules/naming/v0.1.1" for r in d.refs)
    assert [b.tag for b in d.bumps] == ["modules/network/v0.1.1"]
    w.apply(plan)
    want = text.replace("ref=modules/network/v0.1.0", "ref=modules/network/v0.1.1")
    assert w.read(repo, "main.tf", BRANCH) == want  # ?ref=v0.1.0 and naming untouched


# --------------------------------------------------------------------------- 4: unreadable files
def _unreadable_world(w: RolloutWorld) -> str:
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent(
        "broken",
        {
            "good.tf": _net("v1.0.0"),
            "bad.tf": 'module "b" {\n  source = "' + GIT + '//modules/network?ref=v1.0.0"\n',
            "latin.tf": ("# caf\xe9\n" + _net("v1.0.0")).encode("latin-1"),
        },
    )
    w.release("v1.1.0", modules=["modules/network"])
    return repo


def test_unreadable_files_are_reported_in_plan_and_pr(
    rollout_world: RolloutWorld, rollout_tmp: Path, capsys, monkeypatch
) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    repo = _unreadable_world(w)
    monkeypatch.setenv("COLUMNS", "80")
    out = rollout_tmp / "plan.json"
    rc = main(
        [
            "--local-root",
            str(w.forge.root),
            "rollout",
            "plan",
            "--catalog",
            CATALOG,
            "--org",
            "acme",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1  # like dashboard: errors make a non-zero exit, the plan is still written
    doc = json.loads(out.read_text())
    d = next(x for x in doc["dependents"] if x["repo"] == repo)
    assert d["action"] == "open"
    assert "bad.tf:1:1: block 'module' is not closed" in d["errors"]
    assert any(e.startswith("latin.tf:1:6:") for e in d["errors"])
    assert "not read: bad.tf:1:1: block 'module' is not closed" in err
    assert "latin.tf:1:6" in err
    report = w.apply(w.plan())
    assert _outcome(report, repo).kind is OutcomeKind.OPENED
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    assert "could not be read" in pr.body
    assert "`bad.tf:1:1: block 'module' is not closed`" in pr.body and "latin.tf:1:6" in pr.body


# --------------------------------------------------------------------------- 5: foreign commits
def test_commits_by_a_person_on_the_branch_are_not_force_pushed_away(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("human", {"main.tf": _net("v1.0.0")})
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
        o = _outcome(report, repo)
        assert (o.kind, o.reason) == (OutcomeKind.SKIPPED, "branch has commits not made by catalog-ops")
    assert w.forge.branch_sha(repo, BRANCH) == human
    comments = [c for c in w.forge.list_comments(repo, pr.number) if "not made by catalog-ops" in c.body]
    assert len(comments) == 1
    forced = w.apply(plan, force=True)
    assert _outcome(forced, repo).kind is OutcomeKind.UPDATED
    assert "?ref=v1.2.0" in w.read(repo, "main.tf", BRANCH)


# --------------------------------------------------------------------------- 6: closed by a person
def test_pr_closed_by_a_person_is_not_reopened_for_the_same_release(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("closer", {"main.tf": _net("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    w.apply(w.plan())
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    w.forge.close_pull(repo, pr.number)  # a person says no
    report = w.apply(w.plan())
    o = _outcome(report, repo)
    assert o.kind is OutcomeKind.SKIPPED
    assert (o.reason or "").startswith("closed by a person; not reopening for v1.1.0")
    assert w.forge.find_open_pull(repo, BRANCH) is None
    w.release("v1.2.0", modules=["modules/network"])
    report = w.apply(w.plan())
    assert _outcome(report, repo).kind is OutcomeKind.OPENED  # a newer release opens again
    again = w.forge.find_open_pull(repo, BRANCH)
    assert again is not None and again.number != pr.number


# --------------------------------------------------------------------------- 7: low
def test_footer_without_codeowners_or_reviewers(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("noowners", {"main.tf": _net("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    w.apply(w.plan())
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    assert "CODEOWNERS of the changed files" not in pr.body
    assert "no reviewers configured and no CODEOWNERS file" in pr.body


def test_plan_exits_non_zero_for_a_missing_dependent(rollout_world: RolloutWorld, rollout_tmp: Path) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("here", {"main.tf": _net("v1.0.0")})
    deps = rollout_tmp / "deps.txt"
    deps.write_text("acme/here\nacme/nope\n")
    out = rollout_tmp / "plan.json"
    root = ["--local-root", str(w.forge.root)]
    rc = main([*root, "rollout", "plan", "--catalog", CATALOG, "--dependents", str(deps), "--out", str(out)])
    assert rc == 1
    doc = json.loads(out.read_text())
    assert {d["repo"]: d["action"] for d in doc["dependents"]} == {
        "acme/here": "nothing",
        "acme/nope": "skip",
    }


def test_template_syntax_error_fails_up_front_with_file_and_line(
    rollout_world: RolloutWorld, rollout_tmp: Path, capsys
) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("tpl", {"main.tf": _net("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    plan_path = rollout_tmp / "plan.json"
    plan_path.write_text(json.dumps(w.plan().to_json()))
    tdir = rollout_tmp / "tpl"
    tdir.mkdir()
    (tdir / "pr_body.md.j2").write_text("line one\n{% if x %}\nnever closed\n")
    root = ["--local-root", str(w.forge.root)]
    rc = main([*root, "rollout", "apply", "--plan", str(plan_path), "--template-dir", str(tdir)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{tdir / 'pr_body.md.j2'}:" in err and "template syntax error" in err
    assert w.forge.branch_sha(repo, BRANCH) is None  # nothing was touched


@pytest.mark.parametrize(
    "args",
    [
        ["apply", "--concurrency", "0"],
        ["apply", "--concurrency", "-1"],
        ["apply", "--wait-timeout", "-5"],
        ["plan", "--catalog", CATALOG, "--org", "acme", "--concurrency", "0"],
        ["plan", "--catalog", CATALOG, "--org", "acme", "--concurrency", "-1"],
    ],
)
def test_bad_numbers_are_usage_errors(
    args: list[str], rollout_world: RolloutWorld, rollout_tmp: Path
) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    plan_path = rollout_tmp / "plan.json"
    plan_path.write_text(json.dumps(w.plan().to_json()))  # a valid plan: only the number is wrong
    if args[0] == "apply":
        args = [*args, "--plan", str(plan_path)]
    try:
        rc = main(["--local-root", str(w.forge.root), "rollout", *args])
    except SystemExit as exc:
        rc = exc.code  # type: ignore[assignment]
    assert rc == 2


def test_summary_rejects_bad_reports_and_counts_each_report_once(rollout_tmp: Path, capsys) -> None:
    from catalog_ops.cli import main

    good = rollout_tmp / "r1.json"
    good.write_text(
        json.dumps(
            {
                "schema": 1,
                "title": "Rollout of acme/m v1 (shard 1/2)",
                "outcomes": [{"subject": "acme/a", "kind": "opened"}],
            }
        )
    )
    assert main(["rollout", "summary", str(good), str(good), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"] == {"opened": 1}
    bad = rollout_tmp / "bad.json"
    bad.write_text(json.dumps({"schema": 1, "foo": 1}))
    assert main(["rollout", "summary", str(bad)]) == 2
    assert "not a catalog-ops apply report" in capsys.readouterr().err


def test_plan_table_is_wide_when_not_a_tty_and_lines_match_the_json(
    rollout_world: RolloutWorld, rollout_tmp: Path, capsys, monkeypatch
) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    unit = (
        'include "root" {\n  path   = find_in_parent_folders("root.hcl")\n  expose = true\n}\n\n'
        'terraform {\n  source = "${include.root.locals.src}"\n}\n'
    )
    # the ?ref= is written in root.hcl (line 2); the unit's source is on its line 7
    root_hcl = 'locals {\n  src = "git::git@github.com:acme/infrastructure-modules.git//modules/network?ref=main"\n}\n'
    repo = w.dependent("wide", {"root.hcl": root_hcl, "live/network/terragrunt.hcl": unit})
    monkeypatch.setenv("COLUMNS", "80")
    out = rollout_tmp / "plan.json"
    root = ["--local-root", str(w.forge.root)]
    assert main([*root, "rollout", "plan", "--catalog", CATALOG, "--org", "acme", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    d = next(x for x in json.loads(out.read_text())["dependents"] if x["repo"] == repo)
    ref = d["refs"][0]
    where = f"{ref['written_in']}:{ref['ref_line'] or ref['line']}"
    assert where == "root.hcl:2" and where in d["reason"]
    line = next(line for line in err.splitlines() if "acme/wide" in line)
    assert f"{where} skipped: {ref['reason']}" in line, (line, ref)
