"""End-to-end sweep on a LocalForge catalog: real registry server, real git tags, real PRs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from catalog_ops.cli import main
from catalog_ops.forge.local import LocalForge
from catalog_ops.sweep.apply import run_sweep
from catalog_ops.sweep.config import SweepConfig, parse_sweep_config
from catalog_ops.sweep.model import DependencyResult, Status
from catalog_ops.sweep.registry import RegistryClient, git_remote_tags
from catalog_ops.sweep.report import SweepRun
from fixtures.sweep import (
    CATALOG,
    DB_TF,
    MAIN_TF,
    TOKEN,
    VERSIONS_TF,
    WORKFLOW,
    RegistryServer,
    build_sweep_world,
)

GROUP = "catalog-ops/sweep"
AWS = "catalog-ops/sweep-major-hashicorp-aws"
NET = "catalog-ops/sweep-major-private.example.com-acme-network-aws"


def do_sweep(world: Any, **kw: Any) -> SweepRun:
    client = RegistryClient(
        env={"TF_TOKEN_private_example_com": TOKEN}, base_urls=world.server.base_urls, retries=1, backoff=0
    )
    return run_sweep(
        world.forge,
        CATALOG,
        registry=client,
        git_tags=lambda url: git_remote_tags(url, env=world.git_env),
        **kw,
    )


@pytest.fixture
def world(local_forge: LocalForge, registry_server: RegistryServer, tmp_path: Path) -> Any:
    return build_sweep_world(local_forge, registry_server, tmp_path)


def read(forge: LocalForge, branch: str, path: str) -> bytes:
    data = forge.read_file(CATALOG, path, branch)
    assert data is not None
    return data


def by_id(run: SweepRun) -> dict[str, DependencyResult]:
    return {r.dependency.id: r for r in run.results}


def test_first_sweep_opens_grouped_and_major_prs(world: Any) -> None:
    run = do_sweep(world)
    forge: LocalForge = world.forge
    results = by_id(run)
    assert {k: v.status.value for k, v in results.items()} == {
        "terraform": "update",
        "opentofu": "skipped",
        "broken.example.com/acme/fivehundred": "unknown",
        "registry.terraform.io/hashicorp/aws": "update",
        "registry.terraform.io/hashicorp/null": "update",
        "registry.terraform.io/hashicorp/random": "ignored",
        "git.example.com/acme/labels": "update",
        "private.example.com/acme/network/aws": "update",
        "registry.terraform.io/terraform-aws-modules/vpc/aws": "update",
    }
    assert run.failed  # the broken registry makes the run fail ...
    assert "HTTP 503" in (results["broken.example.com/acme/fivehundred"].reason or "")
    # ... but everything else proceeded: three PRs.
    assert [(p["branch"], p["outcome"]) for p in run.pulls] == [
        (GROUP, "opened"),
        (AWS, "opened"),
        (NET, "opened"),
    ]
    # pre-releases (terraform 1.11.0-rc1, aws 6.0.0-beta1, vpc 6.0.0-rc1, labels v2.0.0-rc1) never proposed
    assert results["terraform"].target and results["terraform"].target.core == "1.10.2"
    assert results["registry.terraform.io/hashicorp/aws"].new == ["~> 5.40"]
    assert results["git.example.com/acme/labels"].new == ["v1.1.0"]

    # grouped PR: exact bytes of every changed file
    assert read(forge, GROUP, ".terraform-version") == b"1.10.2\n"
    assert read(forge, GROUP, ".tool-versions") == b"terraform 1.10.2\ntflint 0.50.0\n"
    assert (
        read(forge, GROUP, ".github/workflows/ci.yml")
        == WORKFLOW.replace('terraform_version: "1.9.5"', 'terraform_version: "1.10.2"').encode()
    )
    assert (
        read(forge, GROUP, "modules/vpc/versions.tf") == VERSIONS_TF.replace("< 1.10.0", "< 1.11.0").encode()
    )
    assert read(forge, GROUP, "modules/vpc/main.tf") == (
        MAIN_TF.replace('version = "5.1.2"', 'version = "5.5.0"')
        .replace("labels.git//tags?ref=v1.0.0", "labels.git//tags?ref=v1.1.0")
        .encode()
    )
    # CRLF file: only the pin changes, line endings survive
    assert read(forge, GROUP, "modules/db/versions.tf") == DB_TF.replace('"3.1.0"', '"3.2.2"').encode()
    assert b"\r\n" in read(forge, GROUP, "modules/db/versions.tf")
    # major PRs carry only their own change
    assert (
        read(forge, AWS, "modules/vpc/versions.tf") == VERSIONS_TF.replace('"~> 4.67"', '"~> 5.40"').encode()
    )
    assert read(forge, AWS, "modules/vpc/main.tf") == MAIN_TF.encode()
    assert read(forge, NET, "modules/vpc/main.tf") == MAIN_TF.replace('"~> 2.0.0"', '"~> 3.0.0"').encode()

    group_pr = forge.find_open_pull(CATALOG, GROUP)
    assert group_pr is not None
    assert group_pr.title == "chore(deps): update 4 dependencies"
    assert group_pr.labels == ("dependencies",)
    lines = group_pr.body.splitlines()
    assert lines[0] == f"<!-- catalog-ops:sweep branch={GROUP} -->"
    assert (
        "| `registry.terraform.io/terraform-aws-modules/vpc/aws` | module | `5.1.2` | `5.5.0` | minor | "
        "`modules/vpc/main.tf` | [5.5.0](https://registry.terraform.io/modules/terraform-aws-modules/vpc/aws/5.5.0) |"
    ) in lines
    assert (
        "| `registry.terraform.io/hashicorp/null` | provider | `3.1.0`, `>= 3.0` | `3.2.2` | minor | "
        "`modules/db/versions.tf` | [3.2.2](https://registry.terraform.io/providers/hashicorp/null/3.2.2) |"
    ) in lines
    terraform_row = next(line for line in lines if line.startswith("| `terraform` |"))
    assert terraform_row.startswith(
        "| `terraform` | cli | `1.9.5`, `>= 1.5.0, < 1.10.0` | `1.10.2`, `>= 1.5.0, < 1.11.0` | minor | "
        "`.github/workflows/ci.yml`, `.terraform-version`, `.tool-versions`, `modules/vpc/versions.tf` | [1.10.2]("
    )
    aws_pr = forge.find_open_pull(CATALOG, AWS)
    assert aws_pr is not None
    assert aws_pr.title == "chore(deps): update hashicorp/aws to v5 (major)"
    assert aws_pr.body == (
        f"<!-- catalog-ops:sweep branch={AWS} -->\n"
        "## chore(deps): update hashicorp/aws to v5 (major)\n\n"
        "This is a **major** update: read the upstream release notes for breaking changes before merging.\n\n"
        "| Dependency | Kind | From | To | Update | Files | Release notes |\n"
        "|---|---|---|---|---|---|---|\n"
        "| `registry.terraform.io/hashicorp/aws` | provider | `~> 4.67` | `~> 5.40` | major | "
        "`modules/vpc/versions.tf` | [5.40.0](https://registry.terraform.io/providers/hashicorp/aws/5.40.0) |\n\n"
        "Constraints were changed only where they did not already admit the new version; nothing else in\n"
        "the files changed. Pre-releases are never proposed for stable pins.\n\n"
        f"<sub>Opened by `catalog-ops sweep` from `main` at `{run.base_sha[:12]}`. Rerunning the sweep updates\n"
        "this pull request. To skip a dependency or version, add an `ignore` entry to the `sweep:` section of\n"
        "`.catalog-ops.yml`.</sub>\n"
    )
    # the private registry got the token, the public one did not
    assert {a for h, _, a in world.server.requests if h == "private.example.com"} == {f"Bearer {TOKEN}"}
    assert {a for h, _, a in world.server.requests if h == "registry.terraform.io"} == {None}


def test_rerun_updates_the_open_prs_in_place(world: Any) -> None:
    forge: LocalForge = world.forge
    first = do_sweep(world)
    numbers = {p["branch"]: p["number"] for p in first.pulls}
    again = do_sweep(world)
    assert [(p["branch"], p["outcome"], p["number"]) for p in again.pulls] == [
        (b, "up_to_date", numbers[b]) for b in (GROUP, AWS, NET)
    ]
    # a new upstream release: the grouped PR is force-updated, no new PR appears
    forge.create_release("hashicorp/terraform", tag="v1.10.3", name="v1.10.3", body="")
    third = do_sweep(world)
    assert [(p["branch"], p["outcome"], p["number"]) for p in third.pulls] == [
        (GROUP, "updated", numbers[GROUP]),
        (AWS, "up_to_date", numbers[AWS]),
        (NET, "up_to_date", numbers[NET]),
    ]
    assert read(forge, GROUP, ".terraform-version") == b"1.10.3\n"
    pr = forge.get_pull(CATALOG, numbers[GROUP])
    assert "`1.10.3`" in pr.body
    open_pulls = [p for p in forge.load_record(CATALOG)["pulls"] if p["state"] == "open"]
    assert len(open_pulls) == 3


def test_dry_run_writes_nothing(world: Any) -> None:
    forge: LocalForge = world.forge
    run = do_sweep(world, dry_run=True)
    assert [p["outcome"] for p in run.pulls] == ["would_open"] * 3
    assert forge.branch_sha(CATALOG, GROUP) is None
    assert forge.load_record(CATALOG)["pulls"] == []


def test_grouping_single_and_ignore_majors(world: Any, registry_server: RegistryServer) -> None:
    cfg = parse_sweep_config(
        "sweep:\n  grouping: single\n  branch_prefix: deps/all\n  labels: [deps, bot]\n"
        "  ignore:\n    - dependency: private.example.com/*\n      update_types: [major]\n"
        "    - broken.example.com/*\n"
    )
    cfg = SweepConfig(**{**cfg.__dict__, "registries": registry_server.base_urls})
    run = do_sweep(world, config=cfg)
    assert [(p["branch"], p["major"]) for p in run.pulls] == [("deps/all", True)]
    results = by_id(run)
    # majors of the private module are ignored: it moves within its major instead (random is not
    # ignored in this config, so it is updated too)
    net = results["private.example.com/acme/network/aws"]
    assert (net.status, net.new, net.update.name) == (
        Status.UPDATE,
        ["~> 2.3.0"],
        "MINOR",
    )  # issue 17: the .0 floor survives
    # a dependency ignored entirely is not even looked up, so its broken registry does not fail the run
    assert results["broken.example.com/acme/fivehundred"].status is Status.IGNORED
    assert world.server.count("broken.example.com", "/versions") == 0
    assert not run.failed
    pr = world.forge.find_open_pull(CATALOG, "deps/all")
    assert pr.labels == ("deps", "bot")
    assert pr.title == "chore(deps): update 7 dependencies"
    assert "This is a **major** update" in pr.body
    assert read(world.forge, "deps/all", "modules/vpc/main.tf") == (
        MAIN_TF.replace('version = "5.1.2"', 'version = "5.5.0"')
        .replace("labels.git//tags?ref=v1.0.0", "labels.git//tags?ref=v1.1.0")
        .replace('"~> 2.0.0"', '"~> 2.3.0"')
        .encode()
    )
    assert read(world.forge, "deps/all", "modules/vpc/versions.tf") == (
        VERSIONS_TF.replace("< 1.10.0", "< 1.11.0")
        .replace('"~> 4.67"', '"~> 5.40"')
        .replace('"3.5.0"', '"3.6.1"')
        .encode()
    )


def test_cli_end_to_end(world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    forge: LocalForge = world.forge
    summary = tmp_path / "summary.md"
    outputs = tmp_path / "outputs.txt"
    for key, value in world.git_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TF_TOKEN_private_example_com", TOKEN)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    code = main(
        [
            "--forge",
            "local",
            "--local-root",
            str(forge.root),
            "sweep",
            "--repo",
            CATALOG,
            "--json",
            "--retries",
            "0",
        ]
    )
    assert code == 1  # the broken registry
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["failed"] is True
    assert [p["outcome"] for p in doc["pulls"]] == ["opened", "opened", "opened"]
    assert "broken.example.com/acme/fivehundred: GET" in err
    md = summary.read_text()
    assert md.startswith(
        f"### Dependency sweep of {CATALOG}\n\n9 dependencies: 1 unknown, 6 update, 1 ignored, 1 skipped\n"
    )
    assert "| `broken.example.com/acme/fivehundred` | provider | **unknown** |" in md
    assert "pull-requests<<" in outputs.read_text()


def test_cli_without_failures_exits_zero(
    local_forge: LocalForge,
    registry_server: RegistryServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    world = build_sweep_world(local_forge, registry_server, tmp_path)
    files = dict(world.files)
    files["modules/db/versions.tf"] = (
        DB_TF.replace("broken.example.com/acme/fivehundred", "hashicorp/null")
        .replace("fivehundred =", "null2 =")
        .encode()
    )
    base = local_forge.branch_sha(CATALOG, "main")
    from catalog_ops.forge.base import FileChange

    local_forge.commit_files(
        CATALOG,
        "main",
        parent_sha=base or "",
        message="fix",
        changes=[FileChange(p, b) for p, b in files.items()],
    )
    for key, value in world.git_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("TF_TOKEN_private_example_com", TOKEN)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    argv = ["--local-root", str(local_forge.root), "sweep", "--repo", CATALOG, "--dry-run"]
    assert main(argv) == 0
    assert local_forge.branch_sha(CATALOG, GROUP) is None


def test_obsolete_sweep_prs_are_closed(world: Any, registry_server: RegistryServer) -> None:
    forge: LocalForge = world.forge
    first = do_sweep(world)
    numbers = {p["branch"]: p["number"] for p in first.pulls}
    # the catalog now ignores aws majors and the broken provider: the aws major PR is obsolete
    cfg = parse_sweep_config(
        "sweep:\n  ignore:\n    - {dependency: registry.terraform.io/hashicorp/aws, update_types: [major]}\n"
        "    - broken.example.com/*\n    - {dependency: registry.terraform.io/hashicorp/random, update_types: [minor]}\n"
    )
    cfg = SweepConfig(**{**cfg.__dict__, "registries": registry_server.base_urls})
    dry = do_sweep(world, config=cfg, dry_run=True)
    assert (AWS, "would_close") in [(p["branch"], p["outcome"]) for p in dry.pulls]
    second = do_sweep(world, config=cfg)
    assert [(p["branch"], p["outcome"], p["number"]) for p in second.pulls] == [
        (GROUP, "up_to_date", numbers[GROUP]),
        (NET, "up_to_date", numbers[NET]),
        (AWS, "closed", numbers[AWS]),
    ]
    closed = forge.get_pull(CATALOG, numbers[AWS])
    assert closed.state.value == "closed"
    assert forge.branch_sha(CATALOG, AWS) is None
    assert not second.failed
