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
            # Our own actions/workflows: @v1 in the development tree; scripts/pin_release_refs.py pins
            # them to the release commit's SHA when a release is cut (docs/workflows.md).
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
    assert list(jobs) == ["plan", "apply", "summary", "continue"]
    assert jobs["apply"]["needs"] == "plan"
    assert jobs["apply"]["strategy"]["max-parallel"] == "${{ inputs.max-parallel }}"
    assert "fromJSON(needs.plan.outputs.matrix)" in jobs["apply"]["strategy"]["matrix"]
    assert jobs["summary"]["needs"] == ["plan", "apply"]
    # The continuation: only the dispatch needs actions: write; the plan reads the previous
    # run's plan artifact (actions: read) and passes it as rollout plan --previous.
    assert jobs["continue"]["needs"] == ["plan", "apply"]
    assert jobs["continue"]["permissions"] == {"actions": "write"}
    assert jobs["plan"]["permissions"] == {"contents": "read", "actions": "read"}
    (download,) = [s for s in jobs["plan"]["steps"] if "run-id" in (s.get("with") or {})]
    assert download["with"]["run-id"] == "${{ inputs.previous-run-id }}"
    (plan,) = [s for s in jobs["plan"]["steps"] if s.get("id") == "plan"]
    assert plan["env"]["CATALOG_OPS_PREVIOUS"] == f"{download['with']['path']}/catalog-ops-plan.json"
    run = "\n".join(s.get("run", "") for s in jobs["continue"]["steps"])
    assert "catalog-ops rollout continue" in run and "previous-run-id=$RUN_ID" in run
    caller = load_yaml(REPO / "examples" / "workflows" / "catalog-rollout.yml")
    assert {"release-tag", "previous-run-id"} <= set(caller["on"]["workflow_dispatch"]["inputs"])
    assert caller["jobs"]["rollout"]["permissions"]["actions"] == "write"


def test_module_ci_shape_affected_matrix_report() -> None:
    jobs = load_yaml(REPO / ".github" / "workflows" / "module-ci.yml")["jobs"]
    assert list(jobs) == ["affected", "lint", "test", "policy", "migrations", "report"]
    for name in ("lint", "test", "policy"):
        assert jobs[name]["needs"] == "affected"
        assert jobs[name]["strategy"]["matrix"]["module"] == "${{ fromJSON(needs.affected.outputs.modules) }}"
    assert jobs["migrations"]["needs"] == "affected"
    assert jobs["report"]["needs"] == ["affected", "lint", "test", "policy", "migrations"]


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
    """``Settings.from_env`` rejects unknown ``CATALOG_OPS_*`` variables, so the actions set only known
    ones: run-wide settings and the variables of command options (``cli.option_env_names``)."""
    from catalog_ops.cli import build_parser, option_env_names
    from catalog_ops.settings import SETTINGS_VARIABLES

    _KNOWN = SETTINGS_VARIABLES | option_env_names(build_parser())

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


# ------------------------------------------------------------------ regression tests (steps evaluated)
_EXPR = re.compile(r"^\$\{\{\s*(.*?)\s*\}\}$", re.S)


def _eval_expression(expr: str, inputs: dict[str, str]) -> Any:
    """The few GitHub expression forms the step actions use in ``env:``: ``inputs.x``, ``'literal'``,
    ``a == 'b'``, ``a != 'b'``, ``&&`` and ``||`` (GitHub docs, "Evaluate expressions": ``&&``/``||``
    return an operand; ``''`` is falsy)."""
    expr = expr.strip()
    if " || " in expr:
        left, right = expr.rsplit(" || ", 1)
        value = _eval_expression(left, inputs)
        return value if value not in ("", False, None) else _eval_expression(right, inputs)
    if " && " in expr:
        left, right = expr.rsplit(" && ", 1)
        value = _eval_expression(left, inputs)
        return _eval_expression(right, inputs) if value not in ("", False, None) else value
    for op in (" == ", " != "):
        if op in expr:
            left, right = (_eval_expression(part, inputs) for part in expr.split(op, 1))
            return (left == right) if op == " == " else (left != right)
    if expr.startswith("'") and expr.endswith("'"):
        return expr[1:-1].replace("''", "'")
    assert expr.startswith("inputs."), f"unsupported expression {expr!r}"
    return inputs[expr.removeprefix("inputs.")]


def _step_env(value: Any, inputs: dict[str, str]) -> str:
    match = _EXPR.match(str(value))
    if not match:
        return str(value)
    result = _eval_expression(match.group(1), inputs)
    return ("true" if result else "false") if isinstance(result, bool) else str(result)


def _run_step(action: str, step_id: str, inputs: dict[str, str]) -> tuple[int, Any, str]:
    """Evaluate step ``step_id`` of actions/ACTION as the runner would: its ``env:`` from ``inputs``
    (the action's own defaults for the others), then the ``catalog-ops`` command line of its
    ``run:`` parsed the way ``catalog-ops`` parses it (``cli.parse_args``: flags, then ``CATALOG_OPS_*``).
    Returns (exit status, parsed arguments or None, stderr)."""
    import contextlib
    import io
    import shlex

    from catalog_ops.cli import build_parser, parse_args

    doc = load_yaml(REPO / "actions" / action / "action.yml")
    values = {name: str((spec or {}).get("default", "")) for name, spec in doc["inputs"].items()}
    values.update(inputs)
    (step,) = [s for s in doc["runs"]["steps"] if s.get("id") == step_id]
    env = {name: _step_env(value, values) for name, value in (step.get("env") or {}).items()}
    argv = shlex.split(step["run"])
    assert argv[0] == "catalog-ops", f"actions/{action}: the step must be one plain catalog-ops command"
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = parse_args(build_parser(), argv[1:], env)
    except SystemExit as exc:
        return int(exc.code or 0), None, err.getvalue()
    return 0, args, err.getvalue()


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
        "repo": "acme/cat",
        "bump": "auto",
        "prerelease": "",
        "ref": "",
        "dry-run": "false",
        "checks-gate": "auto",
    }
    for urgency, expected in (("auto", None), ("", None), ("normal", "normal"), ("security", "security")):
        code, args, err = _run_step("release", "run", {**base, "urgency": urgency})
        assert code == 0, err
        if expected is None:
            assert args.urgency is None, f"urgency={urgency!r}: {args}"
        else:
            assert args.urgency == expected
        assert args.checks_gate is None  # "auto": the forge's default
    code, _, err = _run_step("release", "run", {**base, "urgency": "urgent"})
    assert code != 0 and "invalid choice: 'urgent'" in err


def test_module_ci_report_allows_no_affected_modules(tmp_path: Path) -> None:
    """README-only PR: lint/test/policy are skipped, so Report must pass --allow-empty."""
    jobs = load_yaml(REPO / ".github" / "workflows" / "module-ci.yml")["jobs"]
    (step,) = [
        s
        for s in jobs["report"]["steps"]
        if str(s.get("uses", "")).startswith(f"{ACTION_REPO}/actions/report@")
    ]
    assert step["with"]["allow-empty"] == "${{ needs.affected.outputs.any != 'true' }}"
    base = {"results-dir": "results", "pr": "", "repo": "acme/cat", "sha": "abc"}
    _, args, _ = _run_step("report", "run", {**base, "allow-empty": "true"})
    assert args.allow_empty is True and args.results == ["results"] and args.pr is None
    _, args, _ = _run_step("report", "run", {**base, "allow-empty": "false"})
    assert args.allow_empty is False


def test_rollout_and_dashboard_pass_the_filter_and_address_inputs(tmp_path: Path) -> None:
    rollout = load_yaml(REPO / ".github" / "workflows" / "rollout.yml")
    inputs = rollout["on"]["workflow_call"]["inputs"]
    assert {"registry-module", "catalog-address", "wait-and-merge"} <= set(inputs)
    steps = {s.get("id"): s for s in _steps(rollout)}
    assert steps["plan"]["with"]["registry-module"] == "${{ inputs.registry-module }}"
    assert steps["plan"]["with"]["catalog-address"] == "${{ inputs.catalog-address }}"
    assert steps["apply"]["with"]["wait-and-merge"] == "${{ inputs.wait-and-merge }}"
    values = {
        "catalog": "acme/cat",
        "release-tag": "v1.0.0",
        "org": "acme",
        "topics": "terraform",
        "include": "",
        "exclude": "",
        "dependents-file": "",
        "plan-file": "plan.json",
        "catalog-address": "git.example.com/acme/cat",
        "registry-module": "app.terraform.io/acme/naming/generic=modules/naming  app.terraform.io/acme/net/aws=modules/network",
    }
    code, args, err = _run_step("rollout-plan", "plan", values)
    assert code == 0, err
    assert args.catalog_address == "git.example.com/acme/cat"
    assert args.registry_module == [
        "app.terraform.io/acme/naming/generic=modules/naming",
        "app.terraform.io/acme/net/aws=modules/network",
    ]
    assert (args.catalog, args.release, args.org, args.topic, str(args.out)) == (
        "acme/cat", "v1.0.0", "acme", ["terraform"], "plan.json",
    )  # fmt: skip
    code, args, _ = _run_step(
        "rollout-plan", "plan", {**values, "catalog-address": "", "registry-module": ""}
    )
    assert args.catalog_address is None and args.registry_module == []
    code, args, err = _run_step("rollout-plan", "plan", {**values, "dependents-file": "deps.txt"})
    assert code == 0, err
    assert (str(args.dependents), args.org, args.topic) == ("deps.txt", None, [])  # the file wins, as before

    sweep = load_yaml(REPO / ".github" / "workflows" / "dependency-sweep.yml")
    assert {"topics", "include", "exclude"} <= set(sweep["on"]["workflow_call"]["inputs"])
    (dash,) = [
        s for s in sweep["jobs"]["dashboard"]["steps"] if "actions/dashboard@" in str(s.get("uses", ""))
    ]
    assert {k: dash["with"][k] for k in ("topics", "include", "exclude")} == {
        k: f"${{{{ inputs.{k} }}}}" for k in ("topics", "include", "exclude")
    }
    values = {
        "catalog": "acme/cat",
        "org": "acme",
        "dependents-file": "",
        "topics": "terraform aws",
        "include": "infra-*",
        "exclude": "sandbox-*",
    }
    code, args, err = _run_step("dashboard", "run", values)
    assert code == 0, err
    assert (args.command, args.catalog, args.org, args.topic, args.include, args.exclude) == (
        "dashboard", "acme/cat", "acme", ["terraform", "aws"], ["infra-*"], ["sandbox-*"],
    )  # fmt: skip
    assert (args.dependents, args.catalog_address, args.registry_module) == (None, None, [])
    assert {k: dash["with"][k] for k in ("catalog-address", "registry-module")} == {
        k: f"${{{{ inputs.{k} }}}}" for k in ("catalog-address", "registry-module")
    }
    values |= {
        "catalog-address": "git.example.com/acme/cat",
        "registry-module": "app.terraform.io/acme/n/aws=modules/n",
    }
    code, args, err = _run_step("dashboard", "run", values)
    assert code == 0, err
    assert (args.catalog, args.catalog_address, args.registry_module) == (
        "acme/cat", "git.example.com/acme/cat", ["app.terraform.io/acme/n/aws=modules/n"],
    )  # fmt: skip


def test_step_actions_are_one_plain_command() -> None:
    """No flag-building shell in the step actions: each ``run:`` is ``catalog-ops`` and its
    (sub)command words; options reach it as ``CATALOG_OPS_*`` variables in ``env:``."""
    for name in STEP_ACTIONS[1:]:
        for step in load_yaml(REPO / "actions" / name / "action.yml")["runs"]["steps"]:
            if "run" in step:
                assert re.fullmatch(r"catalog-ops( [a-z]+)+", step["run"].strip()), (
                    f"actions/{name}: {step['run']!r} is not one plain command"
                )


def test_dependent_checks_validate_every_terraform_directory_and_terragrunt_unit(tmp_path: Path) -> None:
    """The dependent example validates every directory with *.tf / *.tf.json files (not only the
    root) and the module each Terragrunt unit resolves to (through an include's locals); the
    catalog token reaches git through the environment only (never ~/.gitconfig, never argv)."""
    import os
    import subprocess

    from catalog_ops.toolchain import tool_env, which

    doc = load_yaml(REPO / "examples" / "workflows" / "dependent-checks.yml")
    steps = doc["jobs"]["validate"]["steps"]
    (check,) = [s for s in steps if "validate" in s.get("run", "")]
    assert check["env"]["CATALOG_READ_TOKEN"] == "${{ secrets.CATALOG_READ_TOKEN }}"
    assert ".gitconfig" not in check["run"] and "git config" not in check["run"]
    env = tool_env({**os.environ, "HOME": str(tmp_path / "home"), "TF_IN_AUTOMATION": "1"})
    (tmp_path / "home").mkdir()
    git = str(which("git", env))

    def sh(*args: str, cwd: Path) -> None:
        subprocess.run([git, *args], cwd=cwd, check=True, env=env, capture_output=True)

    # a catalog in a local git repository: modules/good validates, modules/bad does not
    catalog = tmp_path / "catalog"
    for rel_path, body in (
        ("modules/good/main.tf", 'output "x" {\n  value = 1\n}\n'),
        ("modules/bad/main.tf", 'output "y" {\n  value = var.missing\n}\n'),
    ):
        (catalog / rel_path).parent.mkdir(parents=True, exist_ok=True)
        (catalog / rel_path).write_text(body)
    sh("init", "-q", "-b", "main", cwd=catalog)
    sh("add", ".", cwd=catalog)
    sh("-c", "user.name=t", "-c", "user.email=t@e", "commit", "-qm", "c", cwd=catalog)
    sh("tag", "v1.0.0", cwd=catalog)
    base = f"git::file://{catalog}"
    repo = tmp_path / "dependent"
    for rel_path, body in (
        ("main.tf", 'module "n" {\n  source = "./modules/ok"\n}\n'),
        ("modules/ok/main.tf", 'output "x" {\n  value = 1\n}\n'),
        ("envs/prod/main.tf", 'output "y" {\n  value = var.missing\n}\n'),
        ("json/main.tf.json", '{"output": {"z": {"value": "${var.nope}"}}}\n'),
        ("live/root.hcl", f'locals {{\n  base = "{base}"\n}}\n'),
        (
            "live/good/terragrunt.hcl",
            'include "root" {\n  path = find_in_parent_folders("root.hcl")\n  expose = true\n}\n'
            'terraform {\n  source = "${include.root.locals.base}//modules/good?ref=v1.0.0"\n}\n',
        ),
        (
            "live/bad/terragrunt.hcl",
            'include "root" {\n  path = find_in_parent_folders("root.hcl")\n  expose = true\n}\n'
            'terraform {\n  source = "${include.root.locals.base}//modules/bad?ref=v1.0.0"\n}\n',
        ),
    ):
        (repo / rel_path).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel_path).write_text(body)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "terraform").symlink_to(which("terraform", env))
    (bindir / "catalog-ops").symlink_to(Path(sys.executable).parent / "catalog-ops")
    # a `git` that logs its argv and the config it sees from the environment, then runs git
    log = tmp_path / "git.log"
    (bindir / "git").write_text(
        "#!/bin/sh\n"
        f'printf "argv: %s\\n" "$*" >> {log}\n'
        f'{git} config --get-all url.https://github.com/.insteadof | sed "s/^/insteadof: /" >> {log}\n'
        f'{git} config --get http.https://github.com/.extraheader | sed "s/^/header: /" >> {log}\n'
        f'exec {git} "$@"\n'
    )
    (bindir / "git").chmod(0o755)
    env["PATH"] = f"{bindir}{os.pathsep}{env['PATH']}"
    sh("init", "-q", cwd=repo)
    sh("add", ".", cwd=repo)
    secret = "ghs_secret_token_value_123"
    proc = subprocess.run(
        ["bash", "-e", "-c", check["run"]],
        cwd=repo,
        env={**env, "CATALOG_READ_TOKEN": secret, "RUNNER_TEMP": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = proc.stdout + proc.stderr
    (tmp_path / "out.txt").write_text(out)
    assert proc.returncode == 1, out
    assert "::error file=envs/prod::" in out and "::error file=json::" in out
    assert "::group::modules/ok" in out and "::group::." in out
    assert "::error file=modules/ok" not in out and "::error file=.::" not in out
    assert "::error file=live/bad/terragrunt.hcl::" in out
    assert "::error file=live/good/terragrunt.hcl::" not in out and "live/good/terragrunt.hcl ->" in out
    logged = log.read_text()
    assert "insteadof: git@github.com:" in logged and "insteadof: ssh://git@github.com/" in logged
    assert "header: AUTHORIZATION: basic " in logged
    # the token is printed only to mask it (GitHub hides it from the log)
    assert all(secret not in line or line.startswith("::add-mask::") for line in out.splitlines())
    assert not (tmp_path / "home" / ".gitconfig").exists()
    assert all(secret not in line for line in logged.splitlines() if line.startswith("argv:"))


def test_dependent_commands_example_runs_no_code_and_holds_no_comment_text() -> None:
    """examples/workflows/dependent-commands.yml (issue_comment): no checkout, no permission for
    GITHUB_TOKEN, the comment text only in `if:` (never in `run:` or `env:`), and the only thing
    it does is dispatch the catalog's rollout for this repository (docs/rollout.md, "Commands")."""
    doc = load_yaml(REPO / "examples" / "workflows" / "dependent-commands.yml")
    assert doc["permissions"] == {}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {}
    assert "github.event.comment.body" in job["if"]
    (step,) = job["steps"]
    assert "uses" not in step
    assert "${{" not in step["run"] and step["run"].startswith("gh workflow run catalog-rollout.yml")
    assert all("comment" not in str(v) for v in step["env"].values())
