"""Each job's token carries what the job needs and no more (issue 15, least privilege).

The rollout's plan job mints a read-only App token; apply gets contents and pull requests write
plus the reads of the merge gate. The permissions are read from ``.github/workflows/rollout.yml``
(the ``permission-*`` inputs of actions/create-github-app-token) and given to emulator tokens,
which answer 403 to anything outside them the way GitHub does (``emulator.permissions``). The
lint/test/policy actions get no token input and empty ``GITHUB_TOKEN``/``GH_TOKEN``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.errors import PermissionDenied
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.github import GitHubForge
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from catalog_ops.rollout.model import Action
from emulator.state import TokenInfo
from fixtures.emulator import FAST
from fixtures.rollout import FakeClock

ROOT = Path(__file__).resolve().parents[2]
CATALOG = "acme/infrastructure-modules"
GIT = "git::https://github.com/acme/infrastructure-modules.git"


def _app_token_permissions(workflow: str, job: str) -> dict[str, str]:
    """``{"contents": "read", ...}`` from the job's create-github-app-token step."""
    doc = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())
    [step] = [
        s
        for s in doc["jobs"][job]["steps"]
        if str(s.get("uses", "")).startswith("actions/create-github-app-token@")
    ]
    return {
        k.removeprefix("permission-").replace("-", "_"): v
        for k, v in step["with"].items()
        if k.startswith("permission-")
    }


def _forge(emu: Any, name: str, permissions: dict[str, str]) -> GitHubForge:
    token = f"ghs_{name}000000000000000000000000000000"
    emu.state.tokens[token] = TokenInfo(
        token=token, login="catalog-ops[bot]", kind="app", permissions=permissions
    )
    return GitHubForge(api_url=emu.api_url, token=token, **FAST)


def _world(emu: Any, forge: Any) -> None:
    emu.create_repo(CATALOG, files={"modules/network/main.tf": "# n\n"})
    sha = forge.branch_sha(CATALOG, "main")
    forge.create_tag(CATALOG, name="v1.1.0", sha=sha, message="v1.1.0")
    meta = ReleaseMetadata(
        version="1.1.0",
        tag="v1.1.0",
        previous=None,
        urgency="security",
        modules={"modules/network": ModuleChange(path="modules/network", notes=("fix",))},
    )
    # the release workflow publishes with the same App as the rollout (docs/workflows.md): the
    # rollout trusts release metadata only from its own identity (docs/security.md)
    publisher = emu.mint_token(login="catalog-ops[bot]")
    GitHubForge(api_url=emu.api_url, token=publisher, **FAST).create_release(
        CATALOG, tag="v1.1.0", name="v1.1.0", body=f"v1.1.0\n\n{render_release_metadata(meta)}\n"
    )
    net = f'module "n" {{\n  source = "{GIT}//modules/network?ref=v1.0.0"\n}}\n'
    emu.create_repo(
        "acme/app",
        files={"main.tf": net, ".catalog-ops.yml": "automerge: never\n", ".github/CODEOWNERS": "* @alice\n"},
    )
    emu.create_repo("acme/noauto", files={"main.tf": net}, allow_auto_merge=False)


def test_plan_token_is_read_only_and_enough(github_emulator: Any, github_forge: Any) -> None:
    perms = _app_token_permissions("rollout.yml", "plan")
    assert perms and set(perms.values()) == {"read"}, perms
    _world(github_emulator, github_forge)
    plan_forge = _forge(github_emulator, "plan", perms)
    plan = build_plan(plan_forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=2))
    assert {d.repo: d.action for d in plan.dependents} == {
        "acme/app": Action.OPEN,
        "acme/noauto": Action.OPEN,
    }
    assert all(not d.errors for d in plan.dependents)
    # and it really cannot write: the same plan applied with it fails on every dependent
    report = apply_plan(plan_forge, plan, options=ApplyOptions(concurrency=2))
    assert {o.kind for o in report.outcomes} == {OutcomeKind.FAILED}
    assert github_emulator.pulls("acme/app") == []


def test_apply_token_is_enough_and_each_write_permission_is_needed(
    github_emulator: Any, github_forge: Any
) -> None:
    perms = _app_token_permissions("rollout.yml", "apply")
    assert "issues" not in perms and perms["contents"] == "write" and perms["pull_requests"] == "write"
    _world(github_emulator, github_forge)
    plan = build_plan(
        _forge(github_emulator, "plan", _app_token_permissions("rollout.yml", "plan")),
        catalog=CATALOG,
        selection=DependentSelection(org="acme", concurrency=2),
    )
    for missing in ("contents", "pull_requests"):
        weaker = _forge(
            github_emulator, f"no{missing.replace('_', '')}", {k: v for k, v in perms.items() if k != missing}
        )
        report = apply_plan(weaker, plan, options=ApplyOptions(concurrency=2))
        assert report.failed, f"apply worked without {missing}: the workflow asks for too much"
    apply_forge = _forge(github_emulator, "apply", perms)
    report = apply_plan(apply_forge, plan, options=ApplyOptions(concurrency=2))
    assert not report.failed, report.to_json()
    (pr,) = github_emulator.pulls("acme/app")
    assert {label["name"] for label in pr["labels"]} >= {"security"}  # labels without issues: write
    # the merge gate reads checks and statuses with it
    (noauto,) = github_emulator.pulls("acme/noauto")
    github_emulator.set_status("acme/noauto", noauto["head"]["sha"], "success")
    clock = FakeClock()  # the wait ends on the gate's answers, never on how loaded the machine is
    waited = apply_plan(
        apply_forge, plan, options=ApplyOptions(wait_and_merge=True), sleep=clock.sleep, clock=clock.now
    )
    assert {o.subject: o.details.get("merge", "") for o in waited.outcomes}["acme/noauto"].startswith(
        "merged"
    )


@pytest.mark.parametrize("action", ["lint", "test", "policy"])
def test_checks_that_run_pr_code_get_no_token(action: str) -> None:
    doc = yaml.safe_load((ROOT / "actions" / action / "action.yml").read_text())
    assert "github-token" not in doc["inputs"]
    for step in doc["runs"]["steps"]:
        env = step.get("env") or {}
        assert env.get("GITHUB_TOKEN") == "" and env.get("GH_TOKEN") == ""
        assert not any(
            "token" in str(v).lower() for k, v in env.items() if k not in ("GITHUB_TOKEN", "GH_TOKEN")
        )
    text = (ROOT / "action.yml").read_text()  # the umbrella action's copies of those steps
    umbrella = yaml.safe_load(text)
    for step in umbrella["runs"]["steps"]:
        if f"inputs.command == '{action}'" in str(step.get("if", "")) and "run" in step:
            assert step["env"]["GITHUB_TOKEN"] == "" and step["env"]["GH_TOKEN"] == ""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "module-ci.yml").read_text())
    job = workflow["jobs"][action]
    assert job["permissions"] == {"contents": "read"}
    assert "token" not in yaml.safe_dump(job["steps"]).lower().replace("persist-credentials", "")


def test_permission_denied_is_what_a_missing_permission_raises(github_emulator: Any) -> None:
    github_emulator.create_repo("acme/app", files={"main.tf": "\n"})
    forge = _forge(github_emulator, "ro", {"contents": "read"})
    with pytest.raises(PermissionDenied):
        forge.open_pull("acme/app", head="main", base="main", title="t", body="")
