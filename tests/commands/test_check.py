"""`catalog-ops check` on misconfigured catalogs: no modules, not a git repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_ops import cli


@pytest.mark.parametrize("check", ["lint", "test", "policy"])
def test_check_without_modules_is_an_error(
    check: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "README.md").write_text("not a catalog\n")
    results = tmp_path / "results.json"
    assert cli.main(["check", check, "--root", str(tmp_path), "--results", str(results)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"no modules found under {tmp_path} (patterns: ., modules/*)" in captured.err
    assert not results.exists()


def test_check_without_modules_names_configured_patterns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".catalog-ops.yml").write_text("checks:\n  module_patterns: [terraform/*, mods/*]\n")
    assert cli.main(["check", "lint", "--root", str(tmp_path)]) == 1
    assert "(patterns: terraform/*, mods/*)" in capsys.readouterr().err


def test_check_affected_outside_git_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "modules" / "vpc").mkdir(parents=True)
    (tmp_path / "modules" / "vpc" / "main.tf").write_text("# vpc\n")
    assert cli.main(["check", "affected", "--root", str(tmp_path), "--base", "origin/main"]) == 2
    err = capsys.readouterr().err
    assert f"{tmp_path} is not a git repository" in err
    assert "git fetch" not in err


def test_results_dir_names_the_files_per_module_list_and_sets_outputs(tmp_path: Path, run_check) -> None:
    """``--results-dir`` (the lint/test/policy actions): DIR/<check>-<modules slug>.json/.sarif,
    outputs set before the check runs (here it fails: no modules)."""
    from catalog_ops.commands.check import results_stem

    assert results_stem("out", "lint", []) == "out/lint-all"
    assert results_stem("out", "policy", ["modules/a", "modules/b c"]) == "out/policy-modules_a_modules_b_c"
    assert results_stem("out", "test", ["módulo"]) == "out/test-m__dulo"  # bytewise, like `tr -c`
    (tmp_path / "README.md").write_text("not a catalog\n")
    results = tmp_path / "results"
    run = run_check(["check", "lint", "--root", str(tmp_path)], env={"CATALOG_OPS_RESULTS_DIR": str(results)})
    assert run.code == 1 and results.is_dir()
    assert "results-file<<" in run.outputs and f"\n{results}/lint-all.json\n" in run.outputs
    assert f"\n{results}/lint-all.sarif\n" in run.outputs
    run = run_check(["check", "test", "--root", str(tmp_path), "--results-dir", str(results), "x"])
    assert f"\n{results}/test-x.json\n" in run.outputs and "sarif-file" not in run.outputs


def test_report_allow_empty_accepts_a_results_directory_that_does_not_exist(
    tmp_path: Path, run_check
) -> None:
    missing = tmp_path / "never-downloaded"
    run = run_check(["check", "report", str(missing), "--allow-empty"])
    assert run.code == 0 and "No modules affected by this change" in run.out
    run = run_check(["check", "report", str(missing)])
    assert run.code == 2 and "cannot read" in run.err
