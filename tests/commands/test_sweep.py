"""`catalog-ops sweep` on a local forge without the upstream CLI repository."""

from __future__ import annotations

import json

import pytest

from catalog_ops import cli
from catalog_ops.forge.local import LocalForge

VERSIONS_TF = 'terraform {\n  required_version = ">= 1.6"\n}\n'


def test_missing_upstream_repo_says_which_and_how_to_create_it(
    local_forge: LocalForge, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    local_forge.create_repo("acme/catalog", files={"versions.tf": VERSIONS_TF})
    base = ["--forge", "local", "--local-root", str(local_forge.root)]
    sweep = [*base, "sweep", "--repo", "acme/catalog", "--dry-run", "--json"]

    assert cli.main(sweep) == 1
    captured = capsys.readouterr()
    [dep] = json.loads(captured.out)["dependencies"]
    assert dep["status"] == "unknown"
    assert dep["reason"].startswith(
        "upstream repository hashicorp/terraform (the terraform versions are its releases) does not "
        f"exist on the local forge ({local_forge.root}): create it with "
        "`catalog-ops forge init-repo hashicorp/terraform` and add one release per version, e.g. "
        "`catalog-ops forge create-release hashicorp/terraform v1.11.4`"
    )
    assert "sweep.upstreams.terraform" in dep["reason"]
    assert "terraform: upstream repository hashicorp/terraform" in captured.err

    # exactly what the message says to do
    assert cli.main([*base, "forge", "init-repo", "hashicorp/terraform"]) == 0
    capsys.readouterr()
    assert cli.main(sweep) == 1
    [dep] = json.loads(capsys.readouterr().out)["dependencies"]
    assert "upstream repository hashicorp/terraform" in dep["reason"] and "has no releases" in dep["reason"]

    assert cli.main([*base, "forge", "create-release", "hashicorp/terraform", "v1.11.4"]) == 0
    capsys.readouterr()
    assert cli.main(sweep) == 0
    [dep] = json.loads(capsys.readouterr().out)["dependencies"]
    assert (dep["status"], dep["latest"]) == ("current", "1.11.4")
