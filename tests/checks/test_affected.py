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


def _root_catalog(tmp_path: Path) -> GitRepo:
    """terraform-aws-modules layout, made here: a root module, modules/*, wrappers/, examples/."""
    repo = GitRepo(tmp_path / "sg")
    repo.commit(
        "initial",
        {
            "main.tf": 'resource "null_resource" "x" {}\n',
            "variables.tf": 'variable "name" {}\n',
            "modules/http-80/main.tf": 'module "sg" {\n  source = "../../"\n}\n',
            "wrappers/main.tf": 'module "w" {\n  source = "../"\n}\n',
            "examples/complete/main.tf": 'module "sg" {\n  source = "../../"\n}\n',
            "README.md": "sg\n",
        },
    )
    repo.git("branch", "base")
    return repo


def test_root_module_change_is_never_no_module_affected(tmp_path: Path, run_check) -> None:
    repo = _root_catalog(tmp_path)
    repo.commit("fix: root variable", {"variables.tf": 'variable "name" {\n  type = string\n}\n'})
    run = run_check(["check", "affected", "--root", str(repo.path), "--base", "base", "--json"])
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    # the root module "." changed, and every module that uses it through a local path
    assert doc["changed"] == ["."]
    assert doc["modules"] == [".", "modules/http-80"]
    assert doc["matrix"]["include"][0] == {"module": ".", "name": "root"}


def test_docs_wrappers_and_ci_are_not_root_changes(tmp_path: Path, run_check) -> None:
    repo = _root_catalog(tmp_path)
    repo.commit(
        "docs",
        {
            "README.md": "new\n",
            ".github/workflows/ci.yml": "on: push\n",
            "wrappers/main.tf": "# regenerated\n",
        },
    )
    run = run_check(["check", "affected", "--root", str(repo.path), "--base", "base", "--json"])
    doc = json.loads(run.out)
    assert run.code == 0 and doc["changed"] == [] and "." not in doc["modules"]


def test_terraform_outside_every_module_is_an_error(tmp_path: Path, run_check) -> None:
    repo = GitRepo(tmp_path / "gw")
    repo.commit("initial", {"modules/vpc/main.tf": "# vpc\n", "README.md": "x\n"})
    repo.git("branch", "base")
    repo.commit("stray", {"legacy/network/main.tf": "# not under modules/\n"})
    run = run_check(["check", "affected", "--root", str(repo.path), "--base", "base"])
    assert run.code == 1
    assert "no known module affected" in run.out
    assert "legacy/network/main.tf: Terraform code outside every known module" in run.err
