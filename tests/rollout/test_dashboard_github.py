"""The dashboard through GitHubForge against the GitHub emulator: one issue, updated in place."""

from __future__ import annotations

from typing import Any

from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.rollout import dashboard as dashboard
from fixtures.sweep import CATALOG, ROLLOUT_BRANCH, build_dashboard_world


def test_dashboard_issue_on_github_emulator(github_emulator: Any, github_forge: Any) -> None:
    build_dashboard_world(github_forge, create_repo=github_emulator.create_repo)
    board = dashboard.build_dashboard(github_forge, catalog=CATALOG, selection=DependentSelection(org="acme"))
    issue = dashboard.publish(github_forge, board, labels=["dependencies"])
    pr = github_forge.find_open_pull("acme/app-a", ROLLOUT_BRANCH)
    issues = github_emulator.issues(CATALOG)
    assert [(i["number"], i["title"], i["state"]) for i in issues] == [
        (issue.number, "Dependency dashboard", "open")
    ]
    body = issues[0]["body"]
    assert body.startswith(
        "<!-- catalog-ops:dashboard catalog=acme/catalog -->\n## Dependency dashboard for acme/catalog\n"
    )
    assert (
        f"| acme/app-a | `envs/prod/main.tf:2` | `v1.0.0` | **major** | 2 (to v2.0.0) | ⚠️ v1.2.0 | [#{pr.number}]({pr.url}) |"
        in body.splitlines()
    )
    assert "| acme/app-c | `db.tf:2` | `v2.0.0` | up to date | 0 | — | — |" in body.splitlines()
    assert [label["name"] for label in issues[0]["labels"]] == ["dependencies"]
    # second run: same issue, body replaced
    github_forge.close_pull("acme/app-a", pr.number)
    again = dashboard.publish(
        github_forge,
        dashboard.build_dashboard(github_forge, catalog=CATALOG, selection=DependentSelection(org="acme")),
    )
    assert again.number == issue.number
    issues = github_emulator.issues(CATALOG)
    assert len(issues) == 1
    assert "[#" not in issues[0]["body"]
