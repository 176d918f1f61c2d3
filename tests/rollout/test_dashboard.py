"""Dependency dashboard on a LocalForge: exact issue body, in-place updates, JSON, step summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from catalog_ops.cli import main
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange
from catalog_ops.forge.local import LocalForge
from catalog_ops.rollout import dashboard as dashboard
from fixtures.sweep import CATALOG, ROLLOUT_BRANCH, build_dashboard_world


@pytest.fixture
def forge(local_forge: LocalForge) -> LocalForge:
    build_dashboard_world(local_forge)
    return local_forge


def expected_body(forge: LocalForge) -> str:
    release = forge.get_release(CATALOG, "v2.0.0")
    assert release is not None
    pr = forge.find_open_pull("acme/app-a", ROLLOUT_BRANCH)
    assert pr is not None
    return (
        "<!-- catalog-ops:dashboard catalog=acme/catalog -->\n"
        "## Dependency dashboard for acme/catalog\n\n"
        f"Latest release: [v2.0.0]({release.url}) · 3 dependents, 5 usages: 1 unknown, 2 major, "
        "2 up to date; **1 pending a security release**\n\n"
        "### Rollout of v2.0.0\n\n"
        "1 open · 2 merged\n\n"
        "**Next:** this run brings 1 open rollout PR to this release (a PR already on it is refreshed "
        "only when its changes moved)\n\n"
        "### `modules/db` · last changed in v2.0.0\n\n"
        "| Dependent | Where | Uses | Behind | Releases behind | Security | Update PR |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| acme/app-a | `envs/prod/main.tf:6` | `v1.2.0` | **major** | 1 (to v2.0.0) | — | [#{pr.number}]({pr.url}) |\n"
        "| acme/app-c | `db.tf:2` | `v2.0.0` | up to date | 0 | — | — |\n\n"
        "### `modules/vpc` · last changed in v1.2.0\n\n"
        "| Dependent | Where | Uses | Behind | Releases behind | Security | Update PR |\n"
        "|---|---|---|---|---|---|---|\n"
        f"| acme/app-a | `envs/prod/main.tf:2` | `v1.0.0` | **major** | 2 (to v2.0.0) | ⚠️ v1.2.0 | [#{pr.number}]({pr.url}) |\n"
        "| acme/app-c | `vpc.tf:2` | `main` | **unknown** (ref 'main' is a branch) | ? | — | — |\n"
        "| acme/app-b | `main.tf:2` | `v1.2.0` | up to date | 0 | — | — |\n\n"
        '<sub>Updated by `catalog-ops dashboard`. "Releases behind" counts newer releases that changed the module;\n'
        "security releases come from the release metadata.</sub>\n"
    )


def test_issue_body_is_exact(forge: LocalForge) -> None:
    board = dashboard.build_dashboard(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    issue = dashboard.publish(forge, board)
    assert issue.title == "Dependency dashboard"
    assert issue.body == expected_body(forge)
    # archived, unrelated repos and the catalog itself do not show up
    assert board.dependents == ["acme/app-a", "acme/app-b", "acme/app-c"]
    assert board.skipped == []


def test_rerun_updates_the_same_issue(forge: LocalForge) -> None:
    first = dashboard.publish(
        forge, dashboard.build_dashboard(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    )
    # app-b moves to a pinned old version; the rollout PR of app-a is closed
    base = forge.branch_sha("acme/app-b", "main")
    forge.commit_files(
        "acme/app-b",
        "main",
        parent_sha=base or "",
        message="pin",
        changes=[
            FileChange(
                "main.tf",
                b'module "vpc" {\n  source = "git::https://github.com/acme/catalog.git//modules/vpc?ref=v1.1.0"\n}\n',
            )
        ],
    )
    pr = forge.find_open_pull("acme/app-a", ROLLOUT_BRANCH)
    assert pr is not None
    forge.close_pull("acme/app-a", pr.number)
    second = dashboard.publish(
        forge, dashboard.build_dashboard(forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    )
    assert second.number == first.number
    issues = forge.list_issues(CATALOG)
    assert len(issues) == 1
    body = issues[0].body
    assert "| acme/app-b | `main.tf:2` | `v1.1.0` | **major** | 1 (to v2.0.0) | ⚠️ v1.2.0 | — |" in body
    assert "[#" not in body
    assert "2 pending a security release" in body


def test_dependents_file_and_json_and_summary(
    forge: LocalForge, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    deps = tmp_path / "dependents.txt"
    deps.write_text("# who uses the catalog\nacme/app-a\nacme/app-b\nacme/missing\n")
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "out.txt"))
    argv = [
        "--local-root",
        str(forge.root),
        "dashboard",
        "--catalog",
        CATALOG,
        "--dependents",
        str(deps),
        "--json",
    ]
    assert main(argv) == 1  # acme/missing cannot be read; the dashboard is still written
    out, err = capsys.readouterr()
    doc = json.loads(out)
    assert doc["dependents"] == ["acme/app-a", "acme/app-b"]
    assert doc["counts"] == {"unknown": 0, "major": 2, "minor": 0, "patch": 0, "up to date": 1, "security": 1}
    assert [s["repo"] for s in doc["skipped"]] == ["acme/missing"]
    vpc = next(m for m in doc["modules"] if m["module"] == "modules/vpc")
    assert vpc["usages"][0] == {
        "repo": "acme/app-a",
        "path": "envs/prod/main.tf",
        "line": 2,
        "module": "modules/vpc",
        "written": "v1.0.0",
        "version": "1.0.0",
        "behind": "major",
        "releases_behind": 2,
        "newest": "v2.0.0",
        "security": ["v1.2.0"],
        "pull_number": 1,
        "pull_url": forge.find_open_pull("acme/app-a", ROLLOUT_BRANCH).url,  # type: ignore[union-attr]
        "note": None,
    }
    issue = forge.list_issues(CATALOG)[0]
    assert doc["issue"] == {"number": issue.number, "url": issue.url}
    md = summary.read_text()
    assert md.startswith("## Dependency dashboard for acme/catalog\n")
    assert "catalog-ops:dashboard" not in md
    assert "- acme/missing: forge error:" in md
    assert "acme/missing: forge error" in err
    assert "issue-url<<" in (tmp_path / "out.txt").read_text()


def test_no_issue_flag_and_topic_filter(
    forge: LocalForge, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    forge.set_repo_settings("acme/app-b", topics=["terraform"])
    argv = [
        "--local-root",
        str(forge.root),
        "dashboard",
        "--catalog",
        CATALOG,
        "--org",
        "acme",
        "--topic",
        "terraform",
    ]
    assert main([*argv, "--no-issue"]) == 0
    out, _ = capsys.readouterr()
    assert "1 dependents, 1 usages: 1 up to date" in out
    assert forge.list_issues(CATALOG) == []
