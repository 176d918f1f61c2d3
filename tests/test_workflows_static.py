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
    assert dispatch["urgency"]["options"] == ["auto", "normal", "security"]


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


# ------------------------------------------------------------------ regression tests (scripts run)
def _run_step_script(
    action: str, step_id: str, env: dict[str, str], tmp_path: Path, cwd: Path | None = None
) -> tuple[int, list[list[str]], str]:
    """Run the ``run:`` script of step ``step_id`` of actions/ACTION with bash and a stub
    ``catalog-ops`` that records its argv; returns (exit status, recorded argv lists, stderr)."""
    import json
    import os
    import subprocess

    doc = load_yaml(REPO / "actions" / action / "action.yml")
    (step,) = [s for s in doc["runs"]["steps"] if s.get("id") == step_id]
    bindir = tmp_path / "bin"
    bindir.mkdir(parents=True, exist_ok=True)
    calls = tmp_path / "calls.jsonl"
    stub = bindir / "catalog-ops"
    stub.write_text(
        f"#!{sys.executable}\nimport json, sys\n"
        f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
    )
    stub.chmod(0o755)
    outputs = tmp_path / "github_output"
    outputs.touch()
    full_env = {
        "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(outputs),
        "HOME": str(tmp_path),
        **env,
    }
    proc = subprocess.run(
        ["bash", "-e", "-c", step["run"]],
        env=full_env,
        cwd=cwd or tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    recorded = [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []
    return proc.returncode, recorded, proc.stderr


def test_release_urgency_defaults_to_auto_detection(tmp_path: Path) -> None:
    """A dispatched release must not force ``--urgency normal`` over the detected security urgency."""
    for path in (
        REPO / ".github" / "workflows" / "release.yml",
        REPO / "examples" / "workflows" / "catalog-release.yml",
    ):
        urgency = load_yaml(path)["on"]["workflow_dispatch"]["inputs"]["urgency"]
        assert urgency["default"] == "auto", f"{rel(path)}: dispatch urgency must default to auto"
        assert urgency["options"] == ["auto", "normal", "security"], rel(path)
    base = {
        "REPO": "acme/cat",
        "BUMP": "auto",
        "PRERELEASE": "",
        "REF": "",
        "DRY_RUN": "false",
        "CHECKS_GATE": "auto",
    }
    for urgency, expected in (("auto", None), ("", None), ("normal", "normal"), ("security", "security")):
        code, calls, err = _run_step_script(
            "release", "run", {**base, "URGENCY": urgency}, tmp_path / urgency
        )
        assert code == 0, err
        (argv,) = calls[-1:]
        if expected is None:
            assert "--urgency" not in argv, f"urgency={urgency!r}: {argv}"
        else:
            assert argv[argv.index("--urgency") + 1] == expected
    code, _, err = _run_step_script("release", "run", {**base, "URGENCY": "urgent"}, tmp_path / "bad")
    assert code != 0 and "auto, normal or security" in err


def test_module_ci_report_allows_no_affected_modules(tmp_path: Path) -> None:
    """README-only PR: lint/test/policy are skipped, so Report must pass --allow-empty."""
    jobs = load_yaml(REPO / ".github" / "workflows" / "module-ci.yml")["jobs"]
    (step,) = [
        s
        for s in jobs["report"]["steps"]
        if str(s.get("uses", "")).startswith(f"{ACTION_REPO}/actions/report@")
    ]
    assert step["with"]["allow-empty"] == "${{ needs.affected.outputs.any != 'true' }}"
    base = {"RESULTS_DIR": "results", "PR": "", "REPO": "acme/cat", "SHA": "abc"}
    _, calls, _ = _run_step_script("report", "run", {**base, "ALLOW_EMPTY": "true"}, tmp_path / "a")
    assert "--allow-empty" in calls[-1]
    _, calls, _ = _run_step_script("report", "run", {**base, "ALLOW_EMPTY": "false"}, tmp_path / "b")
    assert "--allow-empty" not in calls[-1]


def test_rollout_and_dashboard_pass_the_filter_and_address_inputs(tmp_path: Path) -> None:
    rollout = load_yaml(REPO / ".github" / "workflows" / "rollout.yml")
    inputs = rollout["on"]["workflow_call"]["inputs"]
    assert {"registry-module", "catalog-address", "wait-and-merge"} <= set(inputs)
    steps = {s.get("id"): s for s in _steps(rollout)}
    assert steps["plan"]["with"]["registry-module"] == "${{ inputs.registry-module }}"
    assert steps["plan"]["with"]["catalog-address"] == "${{ inputs.catalog-address }}"
    assert steps["apply"]["with"]["wait-and-merge"] == "${{ inputs.wait-and-merge }}"
    env = {
        "CATALOG": "acme/cat",
        "RELEASE_TAG": "v1.0.0",
        "ORG": "acme",
        "TOPICS": "terraform",
        "INCLUDE": "",
        "EXCLUDE": "",
        "DEPENDENTS_FILE": "",
        "PLAN": "plan.json",
        "CATALOG_ADDRESS": "git.example.com/acme/cat",
        "REGISTRY_MODULES": "app.terraform.io/acme/naming/generic=modules/naming  app.terraform.io/acme/net/aws=modules/network",
    }
    code, calls, err = _run_step_script("rollout-plan", "plan", env, tmp_path / "plan")
    assert code == 0, err
    argv = calls[-1]
    assert argv[argv.index("--catalog-address") + 1] == "git.example.com/acme/cat"
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "--registry-module"]
    assert pairs == [
        "app.terraform.io/acme/naming/generic=modules/naming",
        "app.terraform.io/acme/net/aws=modules/network",
    ]
    code, calls, _ = _run_step_script(
        "rollout-plan", "plan", {**env, "CATALOG_ADDRESS": "", "REGISTRY_MODULES": ""}, tmp_path / "p2"
    )
    assert "--catalog-address" not in calls[-1] and "--registry-module" not in calls[-1]

    sweep = load_yaml(REPO / ".github" / "workflows" / "dependency-sweep.yml")
    assert {"topics", "include", "exclude"} <= set(sweep["on"]["workflow_call"]["inputs"])
    (dash,) = [
        s for s in sweep["jobs"]["dashboard"]["steps"] if "actions/dashboard@" in str(s.get("uses", ""))
    ]
    assert {k: dash["with"][k] for k in ("topics", "include", "exclude")} == {
        k: f"${{{{ inputs.{k} }}}}" for k in ("topics", "include", "exclude")
    }
    env = {
        "CATALOG": "acme/cat",
        "ORG": "acme",
        "DEPENDENTS_FILE": "",
        "TOPICS": "terraform aws",
        "INCLUDE": "infra-*",
        "EXCLUDE": "sandbox-*",
    }
    code, calls, err = _run_step_script("dashboard", "run", env, tmp_path / "dash")
    assert code == 0, err
    assert calls[-1] == [
        "dashboard", "--catalog", "acme/cat", "--org", "acme", "--topic", "terraform", "--topic", "aws",
        "--include", "infra-*", "--exclude", "sandbox-*",
    ]  # fmt: skip
    assert {k: dash["with"][k] for k in ("catalog-address", "registry-module")} == {
        k: f"${{{{ inputs.{k} }}}}" for k in ("catalog-address", "registry-module")
    }
    env |= {
        "CATALOG_ADDRESS": "git.example.com/acme/cat",
        "REGISTRY_MODULES": "app.terraform.io/acme/n/aws=modules/n",
    }
    code, calls, err = _run_step_script("dashboard", "run", env, tmp_path / "dash2")
    assert code == 0, err
    assert calls[-1][:7] == [
        "dashboard", "--catalog", "acme/cat", "--catalog-address", "git.example.com/acme/cat",
        "--registry-module", "app.terraform.io/acme/n/aws=modules/n",
    ]  # fmt: skip


def test_dependent_checks_validate_every_terraform_directory(tmp_path: Path) -> None:
    """The dependent example validates every directory with *.tf files, not only the root."""
    import os
    import subprocess

    from catalog_ops.toolchain import tool_env, which

    doc = load_yaml(REPO / "examples" / "workflows" / "dependent-checks.yml")
    steps = doc["jobs"]["validate"]["steps"]
    (cred,) = [s for s in steps if "insteadOf" in s.get("run", "")]
    assert cred["env"]["CATALOG_READ_TOKEN"] == "${{ secrets.CATALOG_READ_TOKEN }}"
    (check,) = [s for s in steps if "validate" in s.get("run", "") and not s.get("name", "").startswith("#")]
    text = (REPO / "examples" / "workflows" / "dependent-checks.yml").read_text(encoding="utf-8")
    assert "terragrunt validate" in text
    repo = tmp_path / "dependent"
    for rel_path, body in (
        ("main.tf", 'module "n" {\n  source = "./modules/ok"\n}\n'),
        ("modules/ok/main.tf", 'output "x" {\n  value = 1\n}\n'),
        ("envs/prod/main.tf", 'output "y" {\n  value = var.missing\n}\n'),
    ):
        (repo / rel_path).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel_path).write_text(body)
    env = tool_env({**os.environ, "HOME": str(tmp_path), "TF_IN_AUTOMATION": "1"})
    git = str(which("git", env))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "terraform").symlink_to(which("terraform", env))
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    subprocess.run([git, "init", "-q"], cwd=repo, check=True, env=env)
    subprocess.run([git, "add", "."], cwd=repo, check=True, env=env)
    proc = subprocess.run(
        ["bash", "-e", "-c", check["run"]],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "::error file=envs/prod::" in proc.stdout
    assert "::group::modules/ok" in proc.stdout and "::group::." in proc.stdout
    assert "::error file=modules/ok" not in proc.stdout and "::error file=.::" not in proc.stdout
