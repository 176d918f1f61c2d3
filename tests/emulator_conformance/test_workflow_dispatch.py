"""``POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches`` ("Create a workflow
dispatch event", https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event),
the request the rollout's continuation job makes (``rollout continue``).

Driven over plain HTTP first (the emulator answers as GitHub does, every request and response
validated against @octokit/openapi by the ``github_emulator`` fixture, error bodies against the
description's ``basic-error`` / ``validation-error`` schemas), then through the product's caller
(``GitHubForge.dispatch_workflow`` and ``catalog-ops rollout continue``) with the workflow the
product ships as the caller template (``examples/workflows/catalog-rollout.yml``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from catalog_ops.errors import Conflict, NotFound, PermissionDenied
from catalog_ops.forge.github import GitHubForge
from emulator import GitHubEmulator

ROOT = Path(__file__).resolve().parents[2]
CALLER = (ROOT / "examples" / "workflows" / "catalog-rollout.yml").read_text(encoding="utf-8")
OPERATION = "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches"
DOC = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
REQUIRED = """name: deploy
on:
  workflow_dispatch:
    inputs:
      environment:
        type: string
        required: true
      note:
        type: string
        required: true
        default: none
jobs: {}
"""
PUSH_ONLY = "name: ci\non:\n  push:\n    branches: [main]\njobs: {}\n"
CATALOG = "acme/modules"
URL = f"/repos/{CATALOG}/actions/workflows/catalog-rollout.yml/dispatches"


@pytest.fixture
def emu(github_emulator: GitHubEmulator) -> GitHubEmulator:
    """The catalog with the shipped caller workflow, a workflow with required inputs, one without a
    ``workflow_dispatch`` trigger, a tag ``v1.1.0`` and a branch ``feature``."""
    github_emulator.create_repo(
        CATALOG,
        files={
            ".github/workflows/catalog-rollout.yml": CALLER,
            ".github/workflows/deploy.yml": REQUIRED,
            ".github/workflows/ci.yml": PUSH_ONLY,
            "modules/network/main.tf": "# n\n",
        },
    )
    with github_emulator.state.lock:
        repo = github_emulator.repo(CATALOG)
        sha = github_emulator.state.branch_sha(repo, "main")
        assert sha is not None
        github_emulator.state.git(repo, "update-ref", "refs/tags/v1.1.0", sha)
        github_emulator.state.git(repo, "update-ref", "refs/heads/feature", sha)
    return github_emulator


@pytest.fixture
def post(emu: GitHubEmulator) -> Iterator[Callable[..., requests.Response]]:
    """``post(path, body, token=None) -> Response`` (JSON body, the emulator's token)."""
    session = requests.Session()

    def call(path: str, body: Any, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token or emu.token}", "Accept": "application/vnd.github+json"}
        return session.post(f"{emu.api_url}{path}", json=body, headers=headers, timeout=30)

    yield call
    session.close()


def _refused(emu: GitHubEmulator, resp: requests.Response, status: int, message: str) -> None:
    """``resp`` is GitHub's error answer: ``status``, ``message``, the operation's docs link, a
    body that fits the description's ``basic-error`` schema; nothing was dispatched."""
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["message"] == message
    assert body["documentation_url"] == DOC
    checker = emu.conformance
    assert checker is not None
    assert checker.check_schema("basic-error", body) == []
    assert emu.dispatches == []


def test_dispatch_with_declared_inputs_is_204_without_a_body(emu: GitHubEmulator, post: Any) -> None:
    """ "You can replace ``workflow_id`` with the workflow file name"; ``ref`` "can be a branch or
    tag name"; "Any default properties configured in the workflow file will be used when
    ``inputs`` are omitted"; 204 "Empty response"."""
    resp = post(URL, {"ref": "main", "inputs": {"previous-run-id": "123", "release-tag": "v1.1.0"}})
    assert (resp.status_code, resp.content) == (204, b"")
    assert post(URL, {"ref": "refs/tags/v1.1.0"}).status_code == 204
    assert post(URL, {"ref": "v1.1.0", "inputs": {}}).status_code == 204
    assert post(URL, {"ref": "refs/heads/feature", "inputs": {"dry-run": "true"}}).status_code == 204
    assert emu.dispatches == [
        (CATALOG, "catalog-rollout.yml", "main", {"previous-run-id": "123", "release-tag": "v1.1.0"}),
        (CATALOG, "catalog-rollout.yml", "refs/tags/v1.1.0", {}),
        (CATALOG, "catalog-rollout.yml", "v1.1.0", {}),
        (CATALOG, "catalog-rollout.yml", "refs/heads/feature", {"dry-run": "true"}),
    ]
    checker = emu.conformance
    assert checker is not None
    assert checker.operations[OPERATION] == 4
    assert checker.stats["responses_validated"] >= 4 and checker.violations == []


def test_unknown_workflow_is_404(emu: GitHubEmulator, post: Any) -> None:
    """A workflow file the repository does not have (by name, or an id the emulator does not
    know) and a repository that does not exist: 404."""
    _refused(
        emu,
        post(f"/repos/{CATALOG}/actions/workflows/nope.yml/dispatches", {"ref": "main"}),
        404,
        "Not Found",
    )
    _refused(
        emu, post(f"/repos/{CATALOG}/actions/workflows/12345/dispatches", {"ref": "main"}), 404, "Not Found"
    )
    resp = post("/repos/acme/missing/actions/workflows/catalog-rollout.yml/dispatches", {"ref": "main"})
    assert resp.status_code == 404 and emu.dispatches == []


def test_a_ref_that_is_no_branch_or_tag_is_422(emu: GitHubEmulator, post: Any) -> None:
    """422 "No ref found for: <ref>"; a body without the required ``ref`` is 422 too (and is not
    a request the description allows)."""
    _refused(emu, post(URL, {"ref": "nope"}), 422, "No ref found for: nope")
    _refused(emu, post(URL, {"ref": "refs/heads/v1.1.0"}), 422, "No ref found for: refs/heads/v1.1.0")
    resp = post(URL, {"inputs": {"release-tag": "v1"}})
    assert resp.status_code == 422 and emu.dispatches == []
    checker = emu.conformance
    assert checker is not None
    assert checker.check_schema("validation-error", resp.json()) == []
    found = list(checker.violations)
    checker.violations.clear()
    assert found == [f"{OPERATION} request body $: 'ref' is a required property"], found


def test_a_workflow_without_a_workflow_dispatch_trigger_is_422(emu: GitHubEmulator, post: Any) -> None:
    """ "You must configure your GitHub Actions workflow to run when the ``workflow_dispatch``
    webhook event occurs": 422 "Workflow does not have 'workflow_dispatch' trigger"."""
    _refused(
        emu,
        post(f"/repos/{CATALOG}/actions/workflows/ci.yml/dispatches", {"ref": "main"}),
        422,
        "Workflow does not have 'workflow_dispatch' trigger",
    )


def test_inputs_the_workflow_does_not_declare_or_requires_are_422(emu: GitHubEmulator, post: Any) -> None:
    """ "The ``inputs`` are configured in the workflow file": an undeclared one is refused with
    422 "Unexpected inputs provided: [...]", a ``required`` one without a default that is missing
    with 422 "Required input '...' not provided"."""
    _refused(
        emu,
        post(URL, {"ref": "main", "inputs": {"release-tag": "v1", "run-id": "1", "extra": "x"}}),
        422,
        'Unexpected inputs provided: ["extra", "run-id"]',
    )
    deploy = f"/repos/{CATALOG}/actions/workflows/deploy.yml/dispatches"
    _refused(emu, post(deploy, {"ref": "main"}), 422, "Required input 'environment' not provided")
    assert post(deploy, {"ref": "main", "inputs": {"environment": "prod"}}).status_code == 204
    assert emu.dispatches == [(CATALOG, "deploy.yml", "main", {"environment": "prod"})]


def test_more_than_25_inputs_are_refused(emu: GitHubEmulator, post: Any) -> None:
    """``inputs``: "The maximum number of properties is 25" (OpenAPI ``maxProperties: 25``)."""
    inputs = {f"i{n}": "x" for n in range(26)}
    resp = post(URL, {"ref": "main", "inputs": inputs})
    assert resp.status_code == 422 and emu.dispatches == []
    checker = emu.conformance
    assert checker is not None
    found = list(checker.violations)
    checker.violations.clear()
    assert len(found) == 1 and found[0].startswith(f"{OPERATION} request body $.inputs: "), found


def test_dispatch_needs_actions_write(emu: GitHubEmulator, post: Any) -> None:
    """Fine-grained tokens need "Actions" repository permissions (write)
    (https://docs.github.com/en/rest/authentication/permissions-required-for-fine-grained-personal-access-tokens)."""
    read_only = emu.mint_token(permissions={"contents": "write", "actions": "read"})
    resp = post(URL, {"ref": "main"}, token=read_only)
    assert resp.status_code == 403 and resp.json()["message"] == "Resource not accessible by integration"
    assert (
        post(URL, {"ref": "main"}, token=emu.mint_token(permissions={"actions": "write"})).status_code == 204
    )
    assert len(emu.dispatches) == 1


# --- the product's caller ----------------------------------------------------------------------------
def test_the_continuation_sends_what_the_shipped_caller_workflow_declares(
    emu: GitHubEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``rollout continue`` as .github/workflows/rollout.yml's continuation job runs it
    (``--workflow-ref "$WORKFLOW_REF" --input "previous-run-id=$RUN_ID" --plan``): the request is
    exactly the documented body (``ref`` a branch name, ``inputs`` strings the caller template
    declares) and GitHub accepts it."""
    from catalog_ops.cli import main

    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CATALOG_OPS_FORGE", "github")
    monkeypatch.setenv("GITHUB_API_URL", emu.api_url)
    monkeypatch.setenv("GITHUB_TOKEN", emu.mint_token(permissions={"actions": "write", "contents": "read"}))
    reason = "deferred: GitHub's rate limits leave no room in this run; resume after 2026-12-07T15:00:00Z"
    report = tmp_path / "shard-all.json"
    report.write_text(
        json.dumps(
            {
                "schema": 1,
                "title": f"Rollout of {CATALOG} v1.1.0",
                "outcomes": [
                    {"subject": "acme/a", "kind": "opened"},
                    {"subject": "acme/b", "kind": "skipped", "reason": reason},
                ],
            }
        ),
        encoding="utf-8",
    )
    ref = f"{CATALOG}/.github/workflows/catalog-rollout.yml@refs/heads/main"
    args = ["rollout", "continue", str(report), "--workflow-ref", ref, "--input", "previous-run-id=9876"]
    seen: list[Any] = []
    emu.observers.append(lambda entry: seen.append(entry) if entry.operation == OPERATION else None)
    assert main([*args, "--input", "release-tag=v1.1.0"]) == 0
    assert "dispatched catalog-rollout.yml on main in acme/modules" in capsys.readouterr().err
    assert emu.dispatches == [
        (CATALOG, "catalog-rollout.yml", "main", {"previous-run-id": "9876", "release-tag": "v1.1.0"})
    ]
    assert [(e.status, e.path) for e in seen] == [(204, URL)]
    checker = emu.conformance
    assert checker is not None and checker.operations[OPERATION] == 1

    # an input the caller template does not declare: one line naming GitHub's answer, exit 1
    assert main([*args, "--input", "run-attempt=2"]) != 0
    err = capsys.readouterr().err
    assert 'Unexpected inputs provided: ["run-attempt"]' in err and "Traceback" not in err
    # more inputs than GitHub takes: refused before any request (exit 2)
    many = [a for n in range(25) for a in ("--input", f"k{n}=v")]
    before = len(emu.request_log)
    assert main([*args, *many]) == 2
    assert "26 workflow_dispatch inputs; GitHub takes at most 25" in capsys.readouterr().err
    assert len(emu.request_log) == before and len(emu.dispatches) == 1


def test_forge_dispatch_maps_githubs_answers(emu: GitHubEmulator) -> None:
    """``GitHubForge.dispatch_workflow``: 204 → done; 404 → NotFound; 422 → Conflict with GitHub's
    message; 403 → PermissionDenied."""
    forge = GitHubForge(api_url=emu.api_url, token=emu.token, write_interval=0.001, backoff=0.01)
    forge.dispatch_workflow(CATALOG, "catalog-rollout.yml", ref="v1.1.0", inputs={"release-tag": "v1.1.0"})
    assert emu.dispatches == [(CATALOG, "catalog-rollout.yml", "v1.1.0", {"release-tag": "v1.1.0"})]
    with pytest.raises(NotFound):
        forge.dispatch_workflow(CATALOG, "gone.yml", ref="main", inputs={})
    with pytest.raises(Conflict, match="No ref found for: nope"):
        forge.dispatch_workflow(CATALOG, "catalog-rollout.yml", ref="nope", inputs={})
    with pytest.raises(Conflict, match="Workflow does not have 'workflow_dispatch' trigger"):
        forge.dispatch_workflow(CATALOG, "ci.yml", ref="main", inputs={})
    weak = GitHubForge(
        api_url=emu.api_url, token=emu.mint_token(permissions={"contents": "write"}), write_interval=0.001
    )
    with pytest.raises(PermissionDenied):
        weak.dispatch_workflow(CATALOG, "catalog-rollout.yml", ref="main", inputs={})
    assert len(emu.dispatches) == 1
