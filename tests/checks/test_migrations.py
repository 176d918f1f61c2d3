"""`catalog-ops check migrations`: patch schema errors and a dry application to the examples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fixtures.checks import SAMPLE_CATALOG
from fixtures.gitrepo import GitRepo

PATCH = """schema: 1
release: 2.0.0
description: cidr_block is now ipv4_cidr_block
steps:
  - kind: rename_input
    from: cidr_block
    to: ipv4_cidr_block
"""


@pytest.fixture
def catalog_repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    shutil.copytree(SAMPLE_CATALOG, repo.path / "catalog", ignore=shutil.ignore_patterns(".terraform"))
    repo.commit("initial")
    repo.git("tag", "v1.0.0")
    return repo


def _check(run_check, repo: GitRepo, *extra: str):
    return run_check(["check", "migrations", "--root", str(repo.path / "catalog"), "--json", *extra])


def test_dry_application_to_the_examples_at_the_previous_release(catalog_repo: GitRepo, run_check) -> None:
    example = catalog_repo.path / "catalog/examples/network/main.tf"
    catalog_repo.commit(
        "feat(network)!: rename cidr_block",
        {
            "catalog/modules/network/migrations/v2-ipv4.yml": PATCH,
            "catalog/examples/network/main.tf": example.read_text().replace(
                "  cidr_block   = var.cidr_block", "  ipv4_cidr_block = var.cidr_block"
            ),
        },
    )
    run = _check(run_check, catalog_repo, "--base", "v1.0.0", "network")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    entry = doc["modules"]["modules/network"]
    assert entry["patches"] == ["modules/network/migrations/v2-ipv4.yml"]
    assert [(f["rule"], f["path"], f["line"]) for f in entry["findings"]] == [
        ("migration-dry-run", "examples/network/main.tf", 11)
    ]
    assert entry["summary"] == "1 patch; 1 step(s) applied to examples at v1.0.0"
    # the work tree was not written
    assert "ipv4_cidr_block = var.cidr_block" in example.read_text()
    # at the head the examples are migrated already: nothing to change, nothing to fail
    head = json.loads(_check(run_check, catalog_repo, "network").out)
    assert head["status"] == "passed" and head["modules"]["modules/network"]["findings"] == []


def test_schema_error_and_unapplicable_step_fail(catalog_repo: GitRepo, run_check) -> None:
    conflict = PATCH.replace("to: ipv4_cidr_block", "to: subnet_count")
    catalog_repo.commit(
        "bad patches",
        {
            "catalog/modules/network/migrations/conflict.yml": conflict,
            "catalog/modules/naming/migrations/broken.yml": "schema: 1\nrelease: 2.0.0\nsteps:\n  - kind: nope\n",
            "catalog/modules/gone/migrations/x.yml": PATCH,
        },
    )
    run = _check(run_check, catalog_repo)
    assert run.code == 1
    doc = json.loads(run.out)
    findings = [
        (f["rule"], f.get("path"), f.get("line"), f["level"])
        for e in doc["modules"].values()
        for f in e["findings"]
    ] + [(f["rule"], f.get("path"), f.get("line"), f["level"]) for f in doc["findings"]]
    assert ("migration-schema", "modules/naming/migrations/broken.yml", 4, "error") in findings
    assert ("migration-skip", "examples/network/main.tf", 12, "error") in findings
    assert ("migration-module", "modules/gone/migrations/x.yml", 1, "error") in findings
    assert doc["status"] == "failed"


def test_a_patch_for_a_release_that_is_not_a_major_passes_with_a_warning(
    catalog_repo: GitRepo, run_check
) -> None:
    catalog_repo.commit(
        "patch for a minor",
        {"catalog/modules/network/migrations/minor.yml": PATCH.replace("release: 2.0.0", "release: 2.2.0")},
    )
    run = _check(run_check, catalog_repo, "network")
    assert run.code == 0, run.err
    doc = json.loads(run.out)
    assert doc["status"] == "passed"
    warnings = [f for f in doc["modules"]["modules/network"]["findings"] if f["level"] == "warning"]
    assert [(f["rule"], f["path"], f["line"], f["col"], f["message"]) for f in warnings] == [
        (
            "migration-release",
            "modules/network/migrations/minor.yml",
            2,
            10,
            "release 2.2.0 is not a major release: this patch is applied only where 2.2.0 is breaking for "
            "modules/network (its release metadata marks the module breaking, or an update crosses a major into it)",
        )
    ]
    text = run_check(["check", "migrations", "--root", str(catalog_repo.path / "catalog"), "network"])
    assert text.code == 0 and "not a major release" in text.out + text.err
