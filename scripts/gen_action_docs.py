#!/usr/bin/env python3
"""Generate the umbrella ``action.yml`` and ``docs/actions.md`` from the step actions and workflows.

Sources of truth:

- ``actions/<step>/action.yml``: one composite action per step (``actions/setup`` installs Python,
  the package and the pinned tools; the others run one ``catalog-ops`` command each).
- ``.github/workflows/{module-ci,release,rollout,dependency-sweep}.yml``: the reusable workflows
  (their ``workflow_call`` / ``workflow_dispatch`` inputs, secrets and outputs).

Outputs:

- ``actions/<step>/action.yml`` (every step action but setup): the parts every step action shares
  are spliced in between ``# BEGIN GENERATED`` / ``# END GENERATED`` comment lines: the inputs
  ``SHARED_INPUTS`` (working-directory, forge, github-token, api-url) and, in each step's ``env:``,
  the variables ``SHARED_ENV`` maps them to. The rest of the file is written by hand.
- ``action.yml`` (repository root): the umbrella action ``uses: OWNER/catalog-ops@v1`` with a
  ``command:`` input. It runs the setup steps, then the steps of the chosen step action, each
  guarded by ``if: inputs.command == '<step>'``. Composite actions cannot ``uses:`` a path relative
  to themselves, so the steps are copied here rather than referenced, and this generator (plus a
  drift test) keeps the copy exact.
- ``docs/actions.md``: inputs/outputs tables of every action and inputs/secrets/outputs of every
  reusable workflow.

Usage: ``python scripts/gen_action_docs.py`` writes both files; ``--check`` exits 1 (printing which
file differs) when a generated file is out of date. Only PyYAML is needed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]

#: Commands of the umbrella action, in the order they are documented; each is ``actions/<name>``.
COMMANDS: tuple[str, ...] = (
    "affected",
    "lint",
    "test",
    "policy",
    "migrations",
    "report",
    "release",
    "rollout-plan",
    "rollout-apply",
    "sweep",
    "dashboard",
)
#: Reusable workflows documented in docs/actions.md, in order.
WORKFLOWS: tuple[str, ...] = ("module-ci.yml", "release.yml", "rollout.yml", "dependency-sweep.yml")

#: The inputs every step action (not setup) declares, last in its ``inputs:``; see ``SHARED_ENV``.
SHARED_INPUTS: dict[str, dict[str, Any]] = {
    "working-directory": {
        "description": "Directory of the repository checkout to run in.",
        "required": False,
        "default": ".",
    },
    "forge": {
        "description": 'Forge to talk to, "github" (REST API at api-url) or "local" (plain git repos '
        "under $CATALOG_OPS_LOCAL_ROOT).",
        "required": False,
        "default": "github",
    },
    "github-token": {
        "description": "Token for the GitHub API (needs the scopes listed in docs/workflows.md for this step).",
        "required": False,
        "default": "${{ github.token }}",
    },
    "api-url": {
        "description": "GitHub REST base URL; the default follows the run's own server, so GitHub "
        "Enterprise Server works unchanged.",
        "required": False,
        "default": "${{ github.api_url }}",
    },
}
#: What each ``run`` step of a step action sets from the shared inputs (last in its ``env:``; the
#: step also runs in ``working-directory``). ``catalog-ops`` reads every other option from
#: ``CATALOG_OPS_<OPTION>`` variables, so a step is one plain command (see catalog_ops.cli).
SHARED_ENV: dict[str, str] = {
    "GITHUB_TOKEN": "${{ inputs.github-token }}",
    "CATALOG_OPS_FORGE": "${{ inputs.forge }}",
    "CATALOG_OPS_GITHUB_API_URL": "${{ inputs.api-url }}",
}
#: Step actions that run code the pull request chose (Terraform providers and modules, TFLint
#: plugins, Terratest's Go tests, Rego policies): they get no token at all. Their shared inputs
#: lack ``github-token`` and their shared env empties ``GITHUB_TOKEN``/``GH_TOKEN`` (so a token
#: the caller's job ``env:`` sets does not reach them either); see docs/workflows.md "Least privilege".
TOKENLESS: frozenset[str] = frozenset({"lint", "test", "policy", "migrations"})


def shared_inputs(name: str) -> dict[str, dict[str, Any]]:
    """The shared inputs of step action ``name`` (``SHARED_INPUTS`` minus the token when tokenless)."""
    return {k: v for k, v in SHARED_INPUTS.items() if not (name in TOKENLESS and k == "github-token")}


def shared_env(name: str) -> dict[str, str]:
    """The shared env of step action ``name``'s run steps (no token when tokenless)."""
    if name not in TOKENLESS:
        return dict(SHARED_ENV)
    return {
        "GITHUB_TOKEN": "",
        "GH_TOKEN": "",
        **{k: v for k, v in SHARED_ENV.items() if k != "GITHUB_TOKEN"},
    }


_BLOCK = re.compile(
    r"^(?P<indent>[ ]*)# BEGIN GENERATED: (?P<what>shared inputs|shared env)\b[^\n]*\n"
    r".*?^(?P=indent)# END GENERATED: (?P=what)[^\n]*\n",
    re.M | re.S,
)

_STEPS_REF = re.compile(r"\bsteps\.([A-Za-z_][A-Za-z0-9_-]*)\.")
_EXPR = re.compile(r"^\$\{\{\s*(.*?)\s*\}\}$", re.S)
_USES_COMMENT = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)$", re.M)
_RUN_COMMENT = re.compile(r"^\s*run:\s*\|\s*(#.*)\n\s*(\S.*)$", re.M)


def load_yaml(path: Path) -> dict[str, Any]:
    """Parse one YAML file into a dict. Raises ValueError (with the path) when it is not a mapping."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}:1:1: expected a YAML mapping")
    # PyYAML (YAML 1.1) reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def _uses_comments(texts: Sequence[str]) -> dict[str, str]:
    """``{"owner/repo@sha": "# v1.2.3"}`` from the ``uses:`` lines of the given YAML texts."""
    found: dict[str, str] = {}
    for text in texts:
        for match in _USES_COMMENT.finditer(text):
            found[match.group(1)] = match.group(2)
    return found


def _run_comments(texts: Sequence[str]) -> dict[str, str]:
    """``{first line of a run script: "# zizmor: ..."}`` for ``run: | # comment`` lines."""
    found: dict[str, str] = {}
    for text in texts:
        for match in _RUN_COMMENT.finditer(text):
            line = match.group(2).strip()
            found[line] = match.group(1)
            # the setup steps are copied with their paths rewritten (see build_umbrella)
            found[line.replace("$GITHUB_ACTION_PATH/../..", "$GITHUB_ACTION_PATH")] = match.group(1)
    return found


def _yaml_block(data: Mapping[str, Any], indent: str) -> str:
    text = yaml.dump(dict(data), Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True)
    return "".join(f"{indent}{line}\n" for line in text.splitlines())


def render_step_action(root: Path, name: str) -> str:
    """The text of ``actions/<name>/action.yml`` with its generated blocks filled in.

    Raises:
        ValueError: the file lacks the shared-inputs block, or a ``run`` step lacks the
            shared-env block or does not run in ``working-directory``.
    """
    path = root / "actions" / name / "action.yml"
    text = path.read_text(encoding="utf-8")

    def fill(match: re.Match[str]) -> str:
        indent, what = match.group("indent"), match.group("what")
        body = _yaml_block(shared_inputs(name) if what == "shared inputs" else shared_env(name), indent)
        return (
            f"{indent}# BEGIN GENERATED: {what} (scripts/gen_action_docs.py SHARED_"
            f"{'INPUTS' if what == 'shared inputs' else 'ENV'}; do not edit)\n"
            f"{body}{indent}# END GENERATED: {what}\n"
        )

    out = _BLOCK.sub(fill, text)
    blocks = [m.group("what") for m in _BLOCK.finditer(out)]
    runs = [s for s in (yaml.safe_load(out).get("runs") or {}).get("steps", []) if "run" in s]
    if blocks.count("shared inputs") != 1:
        raise ValueError(f"{path}: needs one '# BEGIN GENERATED: shared inputs' block under inputs:")
    if blocks.count("shared env") != len(runs):
        raise ValueError(f"{path}: every run step needs a '# BEGIN GENERATED: shared env' block in env:")
    for step in runs:
        if step.get("working-directory") != "${{ inputs.working-directory }}":
            raise ValueError(
                f"{path}: step {step.get('name')!r} must run in ${{{{ inputs.working-directory }}}}"
            )
    return out


def _rename_steps(value: Any, ids: Mapping[str, str]) -> Any:
    """Rewrite ``steps.<old>.`` references inside strings (recursively) using ``ids``."""
    if isinstance(value, str):
        return _STEPS_REF.sub(lambda m: f"steps.{ids.get(m.group(1), m.group(1))}.", value)
    if isinstance(value, dict):
        return {k: _rename_steps(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename_steps(v, ids) for v in value]
    return value


def _unwrap(expr: str) -> str:
    """``"${{ x }}"`` -> ``"x"``; a plain string becomes a quoted expression literal."""
    match = _EXPR.match(expr.strip())
    if match:
        return match.group(1)
    return "'" + expr.replace("'", "''") + "'"


def _guard(step: dict[str, Any], condition: str) -> dict[str, Any]:
    """Return ``step`` with ``condition`` and-ed into its ``if:``, keeping ``if`` after ``name``/``id``."""
    out: dict[str, Any] = {}
    existing = step.get("if")
    cond = f"{condition} && ({existing})" if existing else condition
    for key, value in step.items():
        if key == "if":
            continue
        out[key] = value
        if key == "id" or (key == "name" and "id" not in step):
            out["if"] = cond
    if "if" not in out:
        out = {"if": cond, **out}
    return out


def build_umbrella(root: Path = ROOT) -> dict[str, Any]:
    """The umbrella action as a dict (see the module docstring).

    Raises:
        ValueError: two step actions declare the same input with different defaults.
    """
    setup = load_yaml(root / "actions" / "setup" / "action.yml")
    steps_by_cmd = {cmd: load_yaml(root / "actions" / cmd / "action.yml") for cmd in COMMANDS}

    inputs: dict[str, Any] = {
        "command": {
            "description": "What to run: "
            + " | ".join(COMMANDS)
            + " (each is also its own action under actions/).",
            "required": True,
        }
    }
    for name, spec in setup.get("inputs", {}).items():
        inputs[name] = dict(spec)
    users: dict[str, list[str]] = {}
    descriptions: dict[str, dict[str, str]] = {}
    for cmd, action in steps_by_cmd.items():
        for name, spec in action.get("inputs", {}).items():
            if name in inputs and name not in users:
                raise ValueError(
                    f"actions/{cmd}/action.yml: input {name!r} clashes with a setup/umbrella input"
                )
            if name in users and str(inputs[name].get("default", "")) != str(spec.get("default", "")):
                raise ValueError(
                    f"actions/{cmd}/action.yml: input {name!r} default {spec.get('default')!r} differs from "
                    f"actions/{users[name][0]}/action.yml ({inputs[name].get('default')!r})"
                )
            users.setdefault(name, []).append(cmd)
            descriptions.setdefault(name, {})[cmd] = " ".join(str(spec.get("description", "")).split())
            inputs.setdefault(name, {k: v for k, v in spec.items() if k != "description"})
    for name, per_cmd in descriptions.items():
        distinct = list(dict.fromkeys(per_cmd.values()))
        cmds = users[name]
        if len(distinct) == 1:
            text = distinct[0] if len(cmds) == len(COMMANDS) else f"({', '.join(cmds)}) {distinct[0]}"
        else:
            text = " ".join(f"{cmd}: {desc}" for cmd, desc in per_cmd.items())
        inputs[name] = {"description": text, **{k: v for k, v in inputs[name].items() if k != "description"}}

    setup_ids = {step["id"]: f"setup-{step['id']}" for step in setup["runs"]["steps"] if "id" in step}
    steps: list[dict[str, Any]] = []
    for step in setup["runs"]["steps"]:
        step = _rename_steps(step, setup_ids)
        if "id" in step:
            step["id"] = setup_ids[step["id"]]
        if "run" in step:
            step["run"] = step["run"].replace("$GITHUB_ACTION_PATH/../..", "$GITHUB_ACTION_PATH")
        steps.append(step)

    outputs: dict[str, Any] = {}
    for name, spec in setup.get("outputs", {}).items():
        outputs[name] = {"description": spec["description"], "value": _rename_steps(spec["value"], setup_ids)}
    merged: dict[str, list[tuple[str, str, str]]] = {}
    for cmd, action in steps_by_cmd.items():
        ids = {step["id"]: f"{cmd}-{step['id']}" for step in action["runs"]["steps"] if "id" in step}
        for step in action["runs"]["steps"]:
            step = _rename_steps(step, ids)
            if "id" in step:
                step["id"] = ids[step["id"]]
            steps.append(_guard(step, f"inputs.command == '{cmd}'"))
        for name, spec in action.get("outputs", {}).items():
            value = _rename_steps(spec["value"], ids)
            merged.setdefault(name, []).append((cmd, " ".join(str(spec["description"]).split()), value))
    for name, variants in merged.items():
        if name in outputs:
            raise ValueError(f"output {name!r} of actions/{variants[0][0]} clashes with a setup output")
        chain = " || ".join(
            f"(inputs.command == '{cmd}' && ({_unwrap(value)}))" for cmd, _, value in variants
        )
        descs = list(dict.fromkeys(d for _, d, _ in variants))
        if len(descs) == 1:
            desc = f"({', '.join(c for c, _, _ in variants)}) {descs[0]}"
        else:
            desc = " ".join(f"{cmd}: {d}" for cmd, d, _ in variants)
        outputs[name] = {"description": desc, "value": "${{ " + chain + " || '' }}"}

    return {
        "name": "catalog-ops",
        "description": (
            "CI/CD for a Terraform service catalog: PR checks (affected, lint, test, policy, report), "
            "releases, rollouts of a release to every dependent, dependency sweeps and the dependency "
            "dashboard. Installs Python, catalog-ops and its pinned tools, then runs `command`."
        ),
        "author": "catalog-ops maintainers",
        "branding": {"icon": "package", "color": "purple"},
        "inputs": inputs,
        "outputs": outputs,
        "runs": {"using": "composite", "steps": steps},
    }


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as ``|`` literals, no key sorting, wide lines."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def render_umbrella(root: Path = ROOT) -> str:
    """The text of the umbrella ``action.yml`` (``uses:`` lines keep their ``# vX.Y.Z`` comments)."""
    data = build_umbrella(root)
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True)
    sources = [
        (root / "actions" / name / "action.yml").read_text(encoding="utf-8") for name in ("setup", *COMMANDS)
    ]
    comments = _uses_comments(sources)

    def add_comment(match: re.Match[str]) -> str:
        comment = comments.get(match.group(2))
        return match.group(0) + (f" {comment}" if comment else "")

    body = re.sub(r"^(\s*(?:-\s+)?uses:\s*)(\S+)$", add_comment, body, flags=re.M)
    run_comments = _run_comments(sources)

    def add_run_comment(match: re.Match[str]) -> str:
        comment = run_comments.get(match.group(3).strip())
        return f"{match.group(1)}{' ' + comment if comment else ''}\n{match.group(2)}{match.group(3)}"

    body = re.sub(r"^(\s*run: \|)\n(\s*)(\S.*)$", add_run_comment, body, flags=re.M)
    header = (
        "# GENERATED by scripts/gen_action_docs.py from actions/*/action.yml - do not edit by hand.\n"
        "# Umbrella action: `uses: OWNER/catalog-ops@v1` with `command:`; see docs/actions.md.\n"
    )
    return header + body


# ------------------------------------------------------------------------------------------ docs


def _cell(value: Any) -> str:
    text = " ".join(str(value).split()) if value is not None else ""
    return text.replace("|", "\\|")


def _default(spec: Mapping[str, Any]) -> str:
    if "default" not in spec:
        return ""
    value = spec["default"]
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"`{_cell(value)}`" if str(value) != "" else '`""`'


def _inputs_table(inputs: Mapping[str, Any], *, with_type: bool = False) -> list[str]:
    if not inputs:
        return ["_No inputs._", ""]
    head = (
        "| input | required | default | description |"
        if not with_type
        else ("| input | type | required | default | description |")
    )
    rows = [head, "|---|---|---|---|---|" if with_type else "|---|---|---|---|"]
    for name, spec in inputs.items():
        spec = spec or {}
        cells = [f"`{name}`"]
        if with_type:
            cells.append(_cell(spec.get("type", "")))
        cells += ["yes" if spec.get("required") else "no", _default(spec), _cell(spec.get("description", ""))]
        rows.append("| " + " | ".join(cells) + " |")
    return [*rows, ""]


def _outputs_table(outputs: Mapping[str, Any]) -> list[str]:
    if not outputs:
        return ["_No outputs._", ""]
    rows = ["| output | description |", "|---|---|"]
    for name, spec in outputs.items():
        rows.append(f"| `{name}` | {_cell((spec or {}).get('description', ''))} |")
    return [*rows, ""]


def _secrets_table(secrets: Mapping[str, Any]) -> list[str]:
    if not secrets:
        return ["_No secrets._", ""]
    rows = ["| secret | required | description |", "|---|---|---|"]
    for name, spec in secrets.items():
        spec = spec or {}
        rows.append(
            f"| `{name}` | {'yes' if spec.get('required') else 'no'} | {_cell(spec.get('description', ''))} |"
        )
    return [*rows, ""]


def render_docs(root: Path = ROOT) -> str:
    """The text of ``docs/actions.md``."""
    umbrella = build_umbrella(root)
    lines = [
        "# Actions and reusable workflows: inputs and outputs",
        "",
        "<!-- GENERATED by scripts/gen_action_docs.py from action.yml, actions/*/action.yml and",
        "     .github/workflows/*.yml; tests/workflows/test_docs.py fails when it drifts. -->",
        "",
        "Replace `OWNER` with the organization that hosts catalog-ops. Token scopes, concurrency and",
        "the ready-to-copy callers are described in [workflows.md](workflows.md).",
        "",
        "## Reusable workflows",
        "",
    ]
    for name in WORKFLOWS:
        wf = load_yaml(root / ".github" / "workflows" / name)
        on = wf.get("on") or {}
        call = on.get("workflow_call") or {}
        lines += [f"### `{name}`", "", f"`uses: OWNER/catalog-ops/.github/workflows/{name}@v1`", ""]
        header = str(wf.get("name", ""))
        if header:
            lines += [f"{header}.", ""]
        lines += ["Inputs (`workflow_call`):", "", *_inputs_table(call.get("inputs") or {}, with_type=True)]
        lines += ["Secrets:", "", *_secrets_table(call.get("secrets") or {})]
        lines += ["Outputs:", "", *_outputs_table(call.get("outputs") or {})]
        dispatch = on.get("workflow_dispatch")
        if isinstance(dispatch, dict):
            lines += [
                "Inputs (`workflow_dispatch`):",
                "",
                *_inputs_table(dispatch.get("inputs") or {}, with_type=True),
            ]
    lines += [
        "## Umbrella action",
        "",
        "`uses: OWNER/catalog-ops@v1` with `command:` set; it installs everything (like `actions/setup`)",
        "and runs that command. Inputs a command does not use are ignored.",
        "",
        "Inputs:",
        "",
        *_inputs_table(umbrella["inputs"]),
        "Outputs:",
        "",
        *_outputs_table(umbrella["outputs"]),
        "## Step actions",
        "",
        "Each runs one command; run `actions/setup` once earlier in the job.",
        "",
    ]
    for name in ("setup", *COMMANDS):
        action = load_yaml(root / "actions" / name / "action.yml")
        lines += [
            f"### `actions/{name}`",
            "",
            f"`uses: OWNER/catalog-ops/actions/{name}@v1`",
            "",
            _cell(action.get("description", "")),
            "",
            "Inputs:",
            "",
            *_inputs_table(action.get("inputs") or {}),
            "Outputs:",
            "",
            *_outputs_table(action.get("outputs") or {}),
        ]
    return "\n".join(lines).rstrip("\n") + "\n"


README_BEGIN = "<!-- BEGIN GENERATED: actions (scripts/gen_action_docs.py) -->"
README_END = "<!-- END GENERATED: actions -->"


def _names(mapping: Mapping[str, Any] | None) -> str:
    return ", ".join(f"`{name}`" for name in (mapping or {})) or "-"


def render_readme_section(root: Path = ROOT) -> str:
    """The README's generated summary: every action's and reusable workflow's inputs and outputs
    (names; descriptions and defaults are in docs/actions.md), between ``README_BEGIN``/``README_END``."""
    lines = [
        README_BEGIN,
        "",
        "| `uses:` | inputs | outputs |",
        "|---|---|---|",
    ]
    umbrella = build_umbrella(root)
    lines.append(f"| `OWNER/catalog-ops@v1` | {_names(umbrella['inputs'])} | {_names(umbrella['outputs'])} |")
    for name in ("setup", *COMMANDS):
        action = load_yaml(root / "actions" / name / "action.yml")
        lines.append(
            f"| `OWNER/catalog-ops/actions/{name}@v1` | {_names(action.get('inputs'))} "
            f"| {_names(action.get('outputs'))} |"
        )
    for name in WORKFLOWS:
        call = ((load_yaml(root / ".github" / "workflows" / name).get("on") or {}).get("workflow_call")) or {}
        secrets = call.get("secrets") or {}
        inputs = _names(call.get("inputs")) + (f"; secrets: {_names(secrets)}" if secrets else "")
        lines.append(
            f"| `OWNER/catalog-ops/.github/workflows/{name}@v1` | {inputs} | {_names(call.get('outputs'))} |"
        )
    return "\n".join([*lines, "", README_END])


def render_readme(root: Path = ROOT) -> str:
    """README.md with its generated section replaced. Raises ValueError when the markers are missing."""
    text = (root / "README.md").read_text(encoding="utf-8")
    start, end = text.find(README_BEGIN), text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"README.md must contain {README_BEGIN!r} ... {README_END!r}")
    return text[:start] + render_readme_section(root) + text[end + len(README_END) :]


def generated(root: Path = ROOT) -> dict[Path, str]:
    """``{path: expected text}`` for every generated file."""
    return {
        **{root / "actions" / name / "action.yml": render_step_action(root, name) for name in COMMANDS},
        root / "action.yml": render_umbrella(root),
        root / "docs" / "actions.md": render_docs(root),
        root / "README.md": render_readme(root),
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Write the generated files, or with ``--check`` report the stale ones (exit 1)."""
    parser = argparse.ArgumentParser(
        prog="gen_action_docs", description=__doc__.splitlines()[0] if __doc__ else ""
    )
    parser.add_argument(
        "--check", action="store_true", help="do not write; exit 1 when a file is out of date"
    )
    args = parser.parse_args(argv)
    stale = []
    if not args.check:  # the umbrella and the docs are built from the step actions: fill those first
        for name in COMMANDS:
            path = ROOT / "actions" / name / "action.yml"
            text = render_step_action(ROOT, name)
            if path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8")
                print(f"wrote {path.relative_to(ROOT)}")
    for path, text in generated().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    if args.check and stale:
        for path in stale:
            print(
                f"{path.relative_to(ROOT)} is out of date; run python scripts/gen_action_docs.py",
                file=sys.stderr,
            )
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
