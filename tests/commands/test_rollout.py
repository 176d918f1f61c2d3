"""`catalog-ops rollout plan|shard|apply|summary` through the CLI: exit codes, tables, reports,
template errors reported once up front."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from catalog_ops.render.report import OutcomeKind
from fixtures.rollout import (
    BRANCH,
    CATALOG,
    GIT,
    RolloutWorld,
    example_world,
    network_module,
    outcome_of,
    plan_file,
)


def test_cli_plan_shard_apply(rollout_world: RolloutWorld, rollout_tmp: Path, capsys, monkeypatch) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    example_world(w)
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


# --------------------------------------------------------------------------- 4: unreadable files
def _unreadable_world(w: RolloutWorld) -> str:
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent(
        "broken",
        {
            "good.tf": network_module("v1.0.0"),
            "bad.tf": 'module "b" {\n  source = "' + GIT + '//modules/network?ref=v1.0.0"\n',
            "latin.tf": ("# caf\xe9\n" + network_module("v1.0.0")).encode("latin-1"),
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
    assert outcome_of(report, repo).kind is OutcomeKind.OPENED
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    assert "could not be read" in pr.body
    assert "`bad.tf:1:1: block 'module' is not closed`" in pr.body and "latin.tf:1:6" in pr.body


def test_plan_exits_non_zero_for_a_missing_dependent(rollout_world: RolloutWorld, rollout_tmp: Path) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("here", {"main.tf": network_module("v1.0.0")})
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
    repo = w.dependent("tpl", {"main.tf": network_module("v1.0.0")})
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


def test_missing_template_dir_is_a_usage_error(
    rollout_world: RolloutWorld, rollout_tmp: Path, capsys
) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    repo, plan_path = plan_file(w, rollout_tmp, "nodir")
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
    _, plan_path = plan_file(w, rollout_tmp, "undef")
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


# ------------------------------------------------ options the rollout actions set (one plain command each)
def test_plan_allow_problems_warns_and_exits_zero_once_the_plan_is_written(
    rollout_world: RolloutWorld, rollout_tmp: Path, capsys, monkeypatch
) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("here", {"main.tf": network_module("v1.0.0")})
    deps = rollout_tmp / "deps.txt"
    deps.write_text("acme/here\nacme/nope\n")
    out = rollout_tmp / "plan.json"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("CATALOG_OPS_ALLOW_PROBLEMS", "true")  # as actions/rollout-plan sets it
    root = ["--local-root", str(w.forge.root)]
    capsys.readouterr()
    rc = main([*root, "rollout", "plan", "--catalog", CATALOG, "--dependents", str(deps), "--out", str(out)])
    assert rc == 0 and out.stat().st_size
    assert (
        "::warning title=catalog-ops rollout plan::some dependents had problems (see above); rolling out the rest"
        in capsys.readouterr().out
    )


def test_apply_report_dir_names_the_report_per_shard_and_sets_outputs(
    rollout_world: RolloutWorld, rollout_tmp: Path, monkeypatch
) -> None:
    from catalog_ops.cli import main

    w = rollout_world
    _, plan_path = plan_file(w, rollout_tmp, "rdir")
    outputs = rollout_tmp / "outputs.txt"
    outputs.write_text("")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    reports = rollout_tmp / "reports"
    root = ["--local-root", str(w.forge.root)]
    argv = [*root, "rollout", "apply", "--plan", str(plan_path), "--dry-run", "--report-dir", str(reports)]
    assert main([*argv, "--shard", "1/1"]) == 0
    assert json.loads((reports / "shard-1-of-1.json").read_text())["schema"] == 1
    text = outputs.read_text()
    assert "shard-id<<" in text and "\n1-of-1\n" in text and f"\n{reports}/shard-1-of-1.json\n" in text
    outputs.write_text("")
    assert main(argv[:-2]) == 0  # no --report-dir: shard-id only
    assert "\nall\n" in outputs.read_text() and "report-file" not in outputs.read_text()


def test_merge_pass_merges_after_checks_fixed_and_rerun(
    rollout_world: RolloutWorld, rollout_tmp: Path, capsys, monkeypatch
) -> None:
    """`rollout apply` leaves a security PR whose checks failed open ("not merged: checks failed");
    after the fix and `forge checks --rerun`, `rollout merge` (and `apply --merge-only`, what the
    action runs) merges it through the gate, pinned to its head."""
    from catalog_ops.cli import main

    w = rollout_world
    broken = rollout_tmp / "ci-broken"
    broken.write_text("x\n")
    monkeypatch.setenv("CATALOG_OPS_LOCAL_CHECKS", f"test ! -e {broken}")
    w.release("v1.0.0", modules=["modules/network"])
    w.dependent("app", {"main.tf": network_module("v1.0.0")})
    w.release("v1.0.1", urgency="security", modules=["modules/network"])
    root = ["--local-root", str(w.forge.root)]
    plan_path = rollout_tmp / "plan.json"
    assert (
        main([*root, "rollout", "plan", "--catalog", w.catalog, "--org", "acme", "--out", str(plan_path)])
        == 0
    )
    capsys.readouterr()
    assert main([*root, "rollout", "apply", "--plan", str(plan_path), "--json"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)["outcomes"]
    assert outcome["details"]["merge"].startswith("not merged: checks failed (local-checks)")
    pr = w.forge.find_open_pull("acme/app", BRANCH)
    assert pr is not None
    assert main([*root, "rollout", "apply", "--plan", str(plan_path), "--merge-only", "--json"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)["outcomes"]
    assert outcome["kind"] == "up_to_date" and "checks failed" in outcome["details"]["merge"]
    broken.unlink()
    assert main([*root, "forge", "checks", "acme/app", str(pr.number), "--rerun"]) == 0
    capsys.readouterr()
    assert main([*root, "rollout", "merge", "--plan", str(plan_path), "--json"]) == 0
    (outcome,) = json.loads(capsys.readouterr().out)["outcomes"]
    assert outcome["details"]["merge"] == f"merged after checks local-checks passed at {pr.head_sha[:12]}"
    assert "?ref=v1.0.1" in w.read("acme/app", "main.tf")


def test_continue_dispatches_only_with_deferred_dependents_and_says_why_not(
    rollout_tmp: Path, capsys, monkeypatch
) -> None:
    from catalog_ops.cli import main

    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    ref = "acme/m/.github/workflows/catalog-rollout.yml@refs/heads/main"
    done = rollout_tmp / "done.json"
    done.write_text(
        json.dumps(
            {
                "schema": 1,
                "title": "Rollout of acme/m v1",
                "outcomes": [{"subject": "acme/a", "kind": "opened"}],
            }
        )
    )
    # nothing deferred: nothing dispatched (no forge needed, whatever the workflow ref)
    assert main(["rollout", "continue", str(done), "--workflow-ref", "not-a-ref"]) == 0
    assert "nothing to continue" in capsys.readouterr().err
    deferred = rollout_tmp / "deferred.json"
    reason = "deferred: GitHub's rate limits leave no room in this run; resume after 2026-12-07T15:00:00Z"
    deferred.write_text(
        json.dumps(
            {
                "schema": 1,
                "title": "Rollout of acme/m v1",
                "outcomes": [
                    {"subject": "acme/a", "kind": "opened"},
                    {"subject": "acme/b", "kind": "skipped", "reason": reason},
                ],
            }
        )
    )
    assert (
        main(
            [
                "rollout",
                "continue",
                str(deferred),
                "--workflow-ref",
                ref,
                "--input",
                "previous-run-id=7",
                "--dry-run",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "would dispatch catalog-rollout.yml on main in acme/m (previous-run-id=7)" in err
    assert "progress: done 1 / remaining 1 dependents; resume after 2026-12-07T15:00:00Z" in err
    # one-line usage errors (exit 2): a ref that is not github.workflow_ref's shape, a bad input,
    # a forge that has no workflows to dispatch
    assert main(["rollout", "continue", str(deferred), "--workflow-ref", "acme/m@main"]) == 2
    assert "expected OWNER/REPO/.github/workflows/FILE.yml@REF" in capsys.readouterr().err
    assert main(["rollout", "continue", str(deferred), "--workflow-ref", ref, "--input", "novalue"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err
    monkeypatch.setenv("CATALOG_OPS_FORGE", "local")
    monkeypatch.setenv("CATALOG_OPS_LOCAL_ROOT", str(rollout_tmp))
    assert main(["rollout", "continue", str(deferred), "--workflow-ref", ref]) == 2
    assert "dispatches a GitHub Actions workflow; the local forge has none" in capsys.readouterr().err


def test_a_plan_without_a_required_key_is_a_one_line_error(
    rollout_world: RolloutWorld, rollout_tmp: Path, capsys
) -> None:
    """New-user trial: ``malformed plan: KeyError('releases')`` named a Python exception."""
    from catalog_ops.cli import main

    _, plan_path = plan_file(rollout_world, rollout_tmp, "bad")
    doc = json.loads(plan_path.read_text())
    del doc["releases"]
    plan_path.write_text(json.dumps(doc))
    root = ["--local-root", str(rollout_world.forge.root)]
    assert main([*root, "rollout", "apply", "--plan", str(plan_path)]) == 2
    err = capsys.readouterr().err
    assert "malformed plan: missing key 'releases'" in err and "KeyError" not in err
