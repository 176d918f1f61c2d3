"""Dashboard discovery is exactly rollout plan's: an invalid `.catalog-ops.yml` in a dependent
is an error (file:line:col, exit 1), and the issue is still written."""

from __future__ import annotations

from typing import Any

import pytest

from catalog_ops.cli import main
from catalog_ops.forge.base import FileChange
from catalog_ops.forge.local import LocalForge
from fixtures.sweep import CATALOG, build_dashboard_world


def test_invalid_dependent_config_fails_like_rollout_plan(
    local_forge: LocalForge, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    forge = local_forge
    build_dashboard_world(forge)
    base = forge.branch_sha("acme/app-b", "main")
    forge.commit_files(
        "acme/app-b",
        "main",
        parent_sha=base or "",
        message="config",
        changes=[FileChange(".catalog-ops.yml", b"labels: [a]\nautomerge: sometimes\n")],
    )
    root = ["--local-root", str(forge.root)]
    assert main([*root, "rollout", "plan", "--catalog", CATALOG, "--org", "acme"]) == 1
    plan_err = capsys.readouterr().err
    where = ".catalog-ops.yml:2:"
    plan_line = next(line for line in plan_err.splitlines() if line.startswith("error: acme/app-b: "))
    assert where in plan_line
    assert main([*root, "dashboard", "--catalog", CATALOG, "--org", "acme"]) == 1
    err = capsys.readouterr().err
    assert "acme/app-b" in err and where in err
    message = plan_line.removeprefix("error: ").strip()
    assert message in err  # the same file:line:col error text as rollout plan
    issues = forge.list_issues(CATALOG)
    assert len(issues) == 1  # the dashboard was still written
