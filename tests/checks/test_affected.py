"""`catalog-ops check affected` on real git histories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fixtures.checks import SAMPLE_CATALOG
from fixtures.gitrepo import GitRepo


@pytest.fixture
def catalog_repo(tmp_path: Path) -> GitRepo:
    """The sample catalog under ``catalog/`` of a repo (the catalog need not be the repo root)."""
    repo = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_CATALOG, repo.path / "catalog", ignore=shutil.ignore_patterns(".terraform"))
    repo.write("README.md", "top\n")
    repo.commit("initial")
    repo.git("branch", "base")
    return repo


def _affected(run_check, repo: GitRepo, *extra: str):
    run = run_check(
        ["check", "affected", "--root", str(repo.path / "catalog"), "--base", "base", "--json", *extra]
    )
    assert run.code == 0, run.err
    return json.loads(run.out), run


def test_dependency_closure_and_matrix(catalog_repo: GitRepo, run_check):
    catalog_repo.commit(
        "feat(naming): longer ids",
        {
            "catalog/modules/naming/main.tf": (
                catalog_repo.path / "catalog/modules/naming/main.tf"
            ).read_text()
            + "\n# change\n"
        },
    )
    doc, run = _affected(run_check, catalog_repo)
    assert doc["changed"] == ["modules/naming"]
    assert doc["via_dependency"] == ["modules/service"]  # service uses ../naming
    assert doc["modules"] == ["modules/naming", "modules/service"]
    assert doc["matrix"] == {
        "include": [
            {"module": "modules/naming", "name": "naming"},
            {"module": "modules/service", "name": "service"},
        ]
    }
    assert doc["changed_paths"] == ["modules/naming/main.tf"]
    assert "matrix<<ghadelim_" in run.outputs
    assert json.dumps(doc["matrix"]) in run.outputs
    assert "count<<" in run.outputs and "any<<" in run.outputs


def test_example_and_test_changes(catalog_repo: GitRepo, run_check):
    catalog_repo.commit(
        "test: network example",
        {
            "catalog/examples/network/main.tf": (
                catalog_repo.path / "catalog/examples/network/main.tf"
            ).read_text()
            + "\n",
            "catalog/test/naming_test.go": (catalog_repo.path / "catalog/test/naming_test.go").read_text()
            + "\n",
            "README.md": "outside the catalog\n",
        },
    )
    doc, _ = _affected(run_check, catalog_repo)
    assert doc["changed"] == []
    assert doc["tests_only"] == ["modules/naming", "modules/network"]
    assert doc["modules"] == ["modules/naming", "modules/network"]


@pytest.mark.parametrize("path", [".tflint.hcl", "policies/tags.rego", ".catalog-ops.yml"])
def test_shared_config_affects_all(catalog_repo: GitRepo, run_check, path: str):
    catalog_repo.commit(
        "chore: shared", {f"catalog/{path}": (catalog_repo.path / "catalog" / path).read_text() + "\n# x\n"}
    )
    doc, _ = _affected(run_check, catalog_repo)
    assert doc["all_affected"] is True
    assert doc["modules"] == ["modules/naming", "modules/network", "modules/service"]


def test_no_change_and_bad_ref(catalog_repo: GitRepo, run_check):
    doc, run = _affected(run_check, catalog_repo)
    assert doc["modules"] == [] and doc["matrix"] == {"include": []} and doc["count"] == 0
    run = run_check(["check", "affected", "--root", str(catalog_repo.path / "catalog"), "--base", "nope"])
    assert run.code == 2
    assert "nope: not a commit" in run.err


def test_human_output(catalog_repo: GitRepo, run_check):
    catalog_repo.commit(
        "fix",
        {
            "catalog/modules/network/main.tf": (
                catalog_repo.path / "catalog/modules/network/main.tf"
            ).read_text()
            + "\n"
        },
    )
    run = run_check(["check", "affected", "--root", str(catalog_repo.path / "catalog"), "--base", "base"])
    assert run.out == "modules/network\tchanged\n"
