"""Structural rules for the actions, reusable workflows and example callers (issue 8 "Security").

Every rule is checked on every file, and each failure names the file and the offending element.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import pytest

from fixtures.workflows import (
    ACTION_FILES,
    ACTION_REPO,
    EXAMPLE_FILES,
    REPO,
    REUSABLE_WORKFLOWS,
    STEP_ACTIONS,
    WORKFLOW_FILES,
    load_yaml,
    rel,
)

ALL_FILES = [*ACTION_FILES, *WORKFLOW_FILES, *EXAMPLE_FILES]
WORKFLOWS_AND_EXAMPLES = [*WORKFLOW_FILES, *EXAMPLE_FILES]
SHA_PIN = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses:\s*\S+@[0-9a-f]{40}\s+#\s*v\d+(\.\d+){0,2}\s*$")
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _ids(paths: list[Path]) -> list[str]:
    return [rel(p) for p in paths]


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """All steps of a workflow (every job) or of a composite action."""
    if "runs" in doc:
        return list(doc["runs"].get("steps", []))
    steps: list[dict[str, Any]] = []
    for job in (doc.get("jobs") or {}).values():
        steps.extend(job.get("steps", []))
    return steps


def _uses(doc: dict[str, Any]) -> list[str]:
    found = [step["uses"] for step in _steps(doc) if "uses" in step]
    found += [job["uses"] for job in (doc.get("jobs") or {}).values() if "uses" in job]
    return found


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_third_party_uses_are_pinned_by_sha_with_version_comment(path: Path) -> None:
    doc = load_yaml(path)
    text = path.read_text(encoding="utf-8")
    for uses in _uses(doc):
        if uses.startswith(("./", "docker://")):
            continue
        if uses.startswith(f"{ACTION_REPO}/") or uses.startswith(f"{ACTION_REPO}@"):
            # Our own actions/workflows: the moving major tag of the same release (see .github/zizmor.yml).
            assert uses.endswith("@v1"), f"{rel(path)}: own action {uses} must use @v1"
            continue
        assert SHA_PIN.match(uses), f"{rel(path)}: {uses} is not pinned by a full commit SHA"
        line = next(line for line in text.splitlines() if uses in line)
        assert VERSION_COMMENT.search(line), f"{rel(path)}: {uses} lacks a '# vX.Y.Z' comment"


@pytest.mark.parametrize("path", ALL_FILES, ids=_ids(ALL_FILES))
def test_no_expressions_inside_run_scripts(path: Path) -> None:
    for step in _steps(load_yaml(path)):
        if "run" in step:
            assert "${{" not in step["run"], (
                f"{rel(path)}: step {step.get('name') or step.get('id')!r} has ${{{{ }}}} in run:"
            )


@pytest.mark.parametrize("path", WORKFLOWS_AND_EXAMPLES, ids=_ids(WORKFLOWS_AND_EXAMPLES))
def test_workflow_permissions_timeouts_and_triggers(path: Path) -> None:
    doc = load_yaml(path)
    assert doc.get("permissions") == {}, f"{rel(path)}: top-level permissions must be {{}}"
    on = doc["on"]
    triggers = on if isinstance(on, (dict, list)) else [on]
    assert "pull_request_target" not in triggers, f"{rel(path)}: pull_request_target is not allowed"
    for name, job in doc["jobs"].items():
        assert "permissions" in job, f"{rel(path)}: job {name} has no permissions:"
        if "uses" not in job:  # a job calling a reusable workflow takes the callee's timeouts
            assert "timeout-minutes" in job, f"{rel(path)}: job {name} has no timeout-minutes"


@pytest.mark.parametrize("path", WORKFLOWS_AND_EXAMPLES, ids=_ids(WORKFLOWS_AND_EXAMPLES))
def test_checkout_never_persists_credentials(path: Path) -> None:
    for step in _steps(load_yaml(path)):
        if step.get("uses", "").startswith("actions/checkout@"):
            assert (step.get("with") or {}).get("persist-credentials") is False, (
                f"{rel(path)}: checkout without persist-credentials: false"
            )


@pytest.mark.parametrize("name", REUSABLE_WORKFLOWS)
def test_reusable_workflows_document_inputs_secrets_outputs(name: str) -> None:
    path = REPO / ".github" / "workflows" / name
    call = load_yaml(path)["on"]["workflow_call"]
    for kind in ("inputs", "secrets", "outputs"):
        for key, spec in (call.get(kind) or {}).items():
            assert KEBAB.match(key), f"{name}: {kind[:-1]} {key!r} is not kebab-case"
            assert spec.get("description"), f"{name}: {kind[:-1]} {key!r} has no description"
            if kind == "inputs":
                assert "type" in spec, f"{name}: input {key!r} has no type"
                assert spec.get("required") or "default" in spec, f"{name}: input {key!r} has no default"


@pytest.mark.parametrize("name", REUSABLE_WORKFLOWS)
def test_secrets_reach_workflows_only_as_declared_secrets(name: str) -> None:
    """Secrets come in through ``on.workflow_call.secrets`` (never inputs) and every use is declared."""
    path = REPO / ".github" / "workflows" / name
    doc = load_yaml(path)
    declared = set((doc["on"]["workflow_call"].get("secrets") or {}).keys())
    for used in re.findall(r"secrets\.([A-Za-z0-9_-]+)", path.read_text(encoding="utf-8")):
        assert used in declared, (
            f"{name}: uses secrets.{used} which is not declared under workflow_call.secrets"
        )
    for key in doc["on"]["workflow_call"].get("inputs") or {}:
        assert not re.search(r"token|key|password|secret", key) or key == "app-id", (
            f"{name}: input {key!r} looks like a credential; declare it under secrets:"
        )


def test_release_and_rollout_have_concurrency_groups() -> None:
    for name in ("release.yml", "rollout.yml"):
        doc = load_yaml(REPO / ".github" / "workflows" / name)
        groups = [doc.get("concurrency")] + [job.get("concurrency") for job in doc["jobs"].values()]
        groups = [g for g in groups if g]
        assert groups, f"{name}: no concurrency group"
        for group in groups:
            assert group["cancel-in-progress"] is False, f"{name}: a running {name} must never be cancelled"


def test_release_is_dispatchable_with_the_documented_inputs() -> None:
    doc = load_yaml(REPO / ".github" / "workflows" / "release.yml")
    dispatch = doc["on"]["workflow_dispatch"]["inputs"]
    assert set(dispatch) >= {"bump", "prerelease", "urgency", "dry-run"}
    assert dispatch["bump"]["options"] == ["auto", "patch", "minor", "major"]
    assert dispatch["urgency"]["options"] == ["normal", "security"]


def test_rollout_shape_plan_matrix_summary() -> None:
    jobs = load_yaml(REPO / ".github" / "workflows" / "rollout.yml")["jobs"]
    assert list(jobs) == ["plan", "apply", "summary"]
    assert jobs["apply"]["needs"] == "plan"
    assert jobs["apply"]["strategy"]["max-parallel"] == "${{ inputs.max-parallel }}"
    assert "fromJSON(needs.plan.outputs.matrix)" in jobs["apply"]["strategy"]["matrix"]
    assert jobs["summary"]["needs"] == ["plan", "apply"]


def test_module_ci_shape_affected_matrix_report() -> None:
    jobs = load_yaml(REPO / ".github" / "workflows" / "module-ci.yml")["jobs"]
    assert list(jobs) == ["affected", "lint", "test", "policy", "report"]
    for name in ("lint", "test", "policy"):
        assert jobs[name]["needs"] == "affected"
        assert jobs[name]["strategy"]["matrix"]["module"] == "${{ fromJSON(needs.affected.outputs.modules) }}"
    assert jobs["report"]["needs"] == ["affected", "lint", "test", "policy"]


@pytest.mark.parametrize("path", ACTION_FILES, ids=_ids(ACTION_FILES))
def test_action_inputs_and_outputs_are_documented(path: Path) -> None:
    doc = load_yaml(path)
    assert doc["runs"]["using"] == "composite"
    for key, spec in (doc.get("inputs") or {}).items():
        assert KEBAB.match(key), f"{rel(path)}: input {key!r} is not kebab-case"
        assert spec.get("description"), f"{rel(path)}: input {key!r} has no description"
        assert spec.get("required") or "default" in spec, f"{rel(path)}: input {key!r} has no default"
    assert doc.get("outputs"), f"{rel(path)}: declares no outputs"
    for key, spec in doc["outputs"].items():
        assert KEBAB.match(key), f"{rel(path)}: output {key!r} is not kebab-case"
        assert spec.get("description") and spec.get("value"), (
            f"{rel(path)}: output {key!r} lacks description/value"
        )
    for step in doc["runs"]["steps"]:
        if "run" in step:
            assert step.get("shell") == "bash", f"{rel(path)}: run step without shell: bash"


@pytest.mark.parametrize("path", ACTION_FILES, ids=_ids(ACTION_FILES))
def test_api_url_comes_from_github_api_url(path: Path) -> None:
    doc = load_yaml(path)
    inputs = doc.get("inputs") or {}
    if "api-url" in inputs:
        assert inputs["api-url"]["default"] == "${{ github.api_url }}"
    for step in doc["runs"]["steps"]:
        env = step.get("env") or {}
        if "CATALOG_OPS_GITHUB_API_URL" in env:
            assert env["CATALOG_OPS_GITHUB_API_URL"] == "${{ inputs.api-url }}"
        assert "api.github.com" not in str(step), f"{rel(path)}: hard-coded api.github.com"


@pytest.mark.parametrize("name", [n for n in STEP_ACTIONS if n != "setup"])
def test_step_actions_pass_only_known_catalog_ops_settings(name: str) -> None:
    """``Settings.from_env`` rejects unknown ``CATALOG_OPS_*`` variables, so the actions set only known ones."""
    from catalog_ops.settings import _KNOWN

    doc = load_yaml(REPO / "actions" / name / "action.yml")
    for step in doc["runs"]["steps"]:
        for var in step.get("env") or {}:
            if var.startswith("CATALOG_OPS_"):
                assert var in _KNOWN, f"actions/{name}: {var} is not a catalog-ops setting"


def test_umbrella_runs_exactly_the_step_actions() -> None:
    """The umbrella copies each step action's steps behind ``if: inputs.command == '<name>'``."""
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        import gen_action_docs
    finally:
        sys.path.pop(0)
    umbrella = load_yaml(REPO / "action.yml")
    assert umbrella == load_yaml_text(gen_action_docs.render_umbrella())
    commands = umbrella["inputs"]["command"]["description"]
    for name in STEP_ACTIONS[1:]:
        assert name in commands
        step_runs = [
            s["run"] for s in load_yaml(REPO / "actions" / name / "action.yml")["runs"]["steps"] if "run" in s
        ]
        guarded = [
            s["run"]
            for s in umbrella["runs"]["steps"]
            if "run" in s and s.get("if", "").startswith(f"inputs.command == '{name}'")
        ]
        assert guarded == step_runs, f"umbrella steps for {name} differ from actions/{name}"


def load_yaml_text(text: str) -> dict[str, Any]:
    import yaml

    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data
