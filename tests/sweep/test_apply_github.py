"""The sweep through GitHubForge against the GitHub emulator: PRs, branches, in-place updates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from catalog_ops.sweep.apply import run_sweep
from catalog_ops.sweep.registry import RegistryClient, git_remote_tags
from catalog_ops.sweep.report import SweepRun
from fixtures.sweep import CATALOG, MAIN_TF, TOKEN, VERSIONS_TF, RegistryServer, build_sweep_world


def test_sweep_on_github_emulator(
    github_emulator: Any, github_forge: Any, registry_server: RegistryServer, tmp_path: Path
) -> None:
    world = build_sweep_world(
        github_forge, registry_server, tmp_path, create_repo=github_emulator.create_repo
    )
    client = RegistryClient(
        env={"TF_TOKEN_private_example_com": TOKEN}, base_urls=registry_server.base_urls, retries=0, backoff=0
    )

    def go() -> SweepRun:
        return run_sweep(
            github_forge,
            CATALOG,
            registry=client,
            git_tags=lambda url: git_remote_tags(url, env=world.git_env),
        )

    first = go()
    assert [(p["branch"], p["outcome"]) for p in first.pulls] == [
        ("catalog-ops/sweep", "opened"),
        ("catalog-ops/sweep-major-hashicorp-aws", "opened"),
        ("catalog-ops/sweep-major-private.example.com-acme-network-aws", "opened"),
    ]
    pulls = github_emulator.pulls(CATALOG)
    assert [
        (p["number"], p["head"]["ref"], p["state"], [label["name"] for label in p["labels"]]) for p in pulls
    ] == [
        (1, "catalog-ops/sweep", "open", ["dependencies"]),
        (2, "catalog-ops/sweep-major-hashicorp-aws", "open", ["dependencies"]),
        (3, "catalog-ops/sweep-major-private.example.com-acme-network-aws", "open", ["dependencies"]),
    ]
    assert pulls[1]["title"] == "chore(deps): update hashicorp/aws to v5 (major)"
    assert pulls[1]["body"].startswith(
        "<!-- catalog-ops:sweep branch=catalog-ops/sweep-major-hashicorp-aws -->\n"
    )
    assert github_forge.read_file(
        CATALOG, "modules/vpc/versions.tf", "catalog-ops/sweep-major-hashicorp-aws"
    ) == (VERSIONS_TF.replace('"~> 4.67"', '"~> 5.40"').encode())
    assert github_forge.read_file(CATALOG, "modules/vpc/main.tf", "catalog-ops/sweep") == (
        MAIN_TF.replace('version = "5.1.2"', 'version = "5.5.0"')
        .replace("labels.git//tags?ref=v1.0.0", "labels.git//tags?ref=v1.1.0")
        .encode()
    )
    assert github_forge.read_file(CATALOG, ".terraform-version", "catalog-ops/sweep") == b"1.10.2\n"

    # rerun: nothing changes; then a new upstream release updates PR #1 in place
    assert [p["outcome"] for p in go().pulls] == ["up_to_date"] * 3
    github_forge.create_release("hashicorp/terraform", tag="v1.10.3", name="v1.10.3", body="")
    third = go()
    assert [(p["outcome"], p["number"]) for p in third.pulls] == [
        ("updated", 1),
        ("up_to_date", 2),
        ("up_to_date", 3),
    ]
    assert github_forge.read_file(CATALOG, ".terraform-version", "catalog-ops/sweep") == b"1.10.3\n"
    assert len(github_emulator.pulls(CATALOG)) == 3
    assert "`1.10.3`" in github_emulator.pulls(CATALOG)[0]["body"]
