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
    assert f"no modules found under {tmp_path} (patterns: modules/*)" in captured.err
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
