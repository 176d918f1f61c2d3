"""``check policy``: plan each affected module's examples and evaluate Rego policies with OPA.

Per example directory (``layout.examples_by_module``), with ``TF_DATA_DIR`` in a scratch dir:
``<tf> init -backend=false``, ``<tf> plan -input=false -lock=false -json -out=PLAN`` (error
diagnostics become findings at their file/line), ``<tf> show -json PLAN`` (the "JSON Output
Format" plan representation), then one ``opa eval --format=json`` of ``data`` with the bundled
pack (``policies/`` of catalog-ops), the catalog's own policy directories and a data document
``{"catalog_ops_data": {...}}`` holding settings and exceptions.

Results read from the evaluation:

* ``data.catalog_ops.deny`` -- bundled pack violations (objects with rule/address/type/name/msg)
  after exceptions; ``data.catalog_ops.excepted`` -- covered violations, reported as notes;
* any other package's ``deny``/``violation`` (error) and ``warn`` (warning) rules, conftest
  style: each item a string or an object with ``msg`` (and optionally ``address``/``rule``).

A violation is annotated at the ``resource "TYPE" "NAME"`` block that produced it: searched in the
module under check, then its example, then every other module of the catalog; else at the
module directory.
"""

from __future__ import annotations

import dataclasses
import json
import posixpath
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from posixpath import normpath
from typing import Any

from catalog_ops import hcl
from catalog_ops.checks.initcause import first_cause, is_follow_up
from catalog_ops.checks.layout import examples_by_module
from catalog_ops.checks.results import SCHEMA, Finding, run_tool, slug, tf_env
from catalog_ops.errors import CatalogOpsError

# A symlink to the repository's policies/ in the source tree; a real directory in an installed wheel.
BUNDLED_POLICIES = Path(__file__).resolve().parent.parent / "policies"
_SKIP_KEYS = {"catalog_ops", "catalog_ops_data"}


@dataclasses.dataclass(kw_only=True)
class PolicyTools:
    """Resolved tool paths: ``tf`` (terraform or tofu) and ``opa``."""

    tf: Path
    opa: Path


def bundled_policy_dir() -> Path:
    """Directory of the bundled Rego pack (``catalog_ops/policies``, packaged from ``policies/``).

    Raises:
        FileNotFoundError: the pack is not there (broken installation).
    """
    if not (BUNDLED_POLICIES / "catalog_ops").is_dir():
        raise FileNotFoundError(f"bundled policies not found at {BUNDLED_POLICIES}")
    return BUNDLED_POLICIES


def policy_data(config: Mapping[str, Any], *, allowed_ports: Sequence[int] | None = None) -> dict[str, Any]:
    """The ``catalog_ops_data`` document from ``checks.policy`` of ``.catalog-ops.yml``.

    ``checks.policy.data`` (``allowed_public_ports``, ``bastion_security_group_ids``,
    ``bastion_security_group_refs``) and ``checks.policy.exceptions`` (list of
    ``{rule, address, reason}``) are copied; ``allowed_ports`` (CLI) overrides the ports.
    """
    policy = config.get("policy") or {}
    data = dict(policy.get("data") or {})
    if allowed_ports is not None:
        data["allowed_public_ports"] = list(allowed_ports)
    data["exceptions"] = list(policy.get("exceptions") or [])
    return {"catalog_ops_data": data}


def find_resource(root: Path, directories: Iterable[str], rtype: str, name: str) -> tuple[str, int] | None:
    """``(path, line)`` of the first top-level ``resource "rtype" "name"`` block in ``directories``
    (in order; ``*.tf`` files read with ``catalog_ops.hcl``; a file that is not valid HCL is skipped)."""
    for d in directories:
        base = root / d
        if not base.is_dir():
            continue
        for f in sorted(base.glob("*.tf")):
            text = f.read_text(encoding="utf-8", errors="replace")
            try:
                blocks = hcl.parse(text, skim=()).blocks
            except hcl.HclSyntaxError:
                continue
            for b in blocks:
                if b.type == "resource" and b.labels[:2] == [rtype, name]:
                    return f.relative_to(root).as_posix(), text.count("\n", 0, b.tok.start) + 1
    return None


def collect_violations(result: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(violations, excepted)`` from the value of ``data`` as evaluated by OPA.

    Each violation is normalised to ``{"rule", "msg", "level", "address"?, "type"?, "name"?}``.
    """
    violations: list[dict[str, Any]] = []
    excepted: list[dict[str, Any]] = []
    if not isinstance(result, dict):
        return violations, excepted
    bundled = result.get("catalog_ops") or {}
    for v in bundled.get("deny", []) or []:
        violations.append({**v, "level": "error"})
    for e in bundled.get("excepted", []) or []:
        excepted.append(e)

    def walk(node: Any, path: list[str]) -> None:
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in ("deny", "violation", "warn") and isinstance(value, list):
                level = "warning" if key == "warn" else "error"
                pkg = ".".join(path)
                for item in value:
                    if isinstance(item, str):
                        violations.append({"rule": f"{pkg}.{key}", "msg": item, "level": level})
                    elif isinstance(item, dict):
                        msg = item.get("msg") or item.get("message") or json.dumps(item, sort_keys=True)
                        violations.append(
                            {**item, "rule": item.get("rule") or f"{pkg}.{key}", "msg": msg, "level": level}
                        )
            elif isinstance(value, dict):
                walk(value, [*path, key])

    walk({k: v for k, v in result.items() if k not in _SKIP_KEYS}, [])
    return violations, excepted


def _diag_findings(example: str, stdout: str, tool: str) -> list[Finding]:
    out = []
    for line in stdout.splitlines():
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if not isinstance(ev, dict) or ev.get("type") != "diagnostic":
            continue
        diag = ev.get("diagnostic") or {}
        if diag.get("severity") != "error":
            continue
        rng = diag.get("range") or {}
        path = f"{example}/{rng['filename']}" if rng.get("filename") else example
        out.append(
            Finding(
                tool=tool,
                rule="plan",
                level="error",
                message=f"{diag.get('summary', '')}: {diag.get('detail', '')}".strip(": "),
                path=normpath(path),
                line=(rng.get("start") or {}).get("line"),
                col=(rng.get("start") or {}).get("column"),
            )
        )
    return out


class _Evaluator:
    def __init__(
        self,
        root: Path,
        modules: Sequence[str],
        tools: PolicyTools,
        env: Mapping[str, str],
        scratch: Path,
        policy_dirs: Sequence[Path],
        data_file: Path,
        timeout: float,
        rego_v0: bool,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        self.config = dict(config or {})
        self.root = root
        self.modules = list(modules)
        self.tools = tools
        self.env = env
        self.scratch = scratch
        self.policy_dirs = list(policy_dirs)
        self.data_file = data_file
        self.timeout = timeout
        self.rego_v0 = rego_v0
        self.plans: dict[str, Path] = {}

    def plan(self, example: str) -> tuple[Path | None, list[Finding]]:
        work = self.scratch / slug(example)
        work.mkdir(parents=True, exist_ok=True)
        env = tf_env(self.env, work / "data")
        cwd = self.root / example
        tf = self.tools.tf
        init = run_tool(
            [tf, "init", "-backend=false", "-input=false", "-no-color"],
            cwd=cwd,
            env=env,
            timeout=self.timeout,
        )
        planfile = work / "plan.tfplan"
        var_args = [f"-var-file={f}" for f in self.var_files(example, work)]
        plan = run_tool(
            [tf, "plan", "-input=false", "-lock=false", "-no-color", "-json", f"-out={planfile}", *var_args],
            cwd=cwd,
            env=env,
            timeout=self.timeout,
        )
        if plan.returncode != 0:
            findings = [
                _explain_missing(example, f) for f in _diag_findings(example, plan.stdout, "terraform-plan")
            ]
            if init.returncode != 0:
                # after a failed init the plan only repeats "run terraform init": say why init failed
                findings = [f for f in findings if not is_follow_up(f.message)]
                cause = first_cause(f"{init.stderr}\n{init.stdout}")
                if cause is not None and not findings:
                    findings = [
                        Finding(
                            tool="terraform-init",
                            rule="init",
                            level="error",
                            message=cause.message(example),
                            path=example,
                        )
                    ]
            if not findings:
                text = (plan.stderr or init.stderr or plan.stdout).strip()
                findings = [
                    Finding(
                        tool="terraform-plan",
                        rule="plan",
                        level="error",
                        message=f"plan failed in {example}: {' '.join(text.split())[:600]}",
                        path=example,
                    )
                ]
            return None, findings
        show = run_tool(
            [tf, "show", "-json", "-no-color", str(planfile)], cwd=cwd, env=env, timeout=self.timeout
        )
        if show.returncode != 0:
            return None, [
                Finding(
                    tool="terraform-show",
                    rule="show",
                    level="error",
                    message=f"show -json failed in {example}: {show.stderr.strip()[:600]}",
                    path=example,
                )
            ]
        out = work / "plan.json"
        out.write_text(show.stdout, encoding="utf-8")
        return out, []

    def var_files(self, example: str, work: Path) -> list[Path]:
        """The variable files a plan of ``example`` gets, in Terraform's ``-var-file`` order
        (later files win), from ``policy_var_files``."""
        return policy_var_files(self.root, example, self.modules, self.config, work)

    def evaluate(self, plan_json: Path) -> tuple[Any, Finding | None]:
        return opa_eval(
            plan_json,
            opa=self.tools.opa,
            env=self.env,
            policy_dirs=self.policy_dirs,
            data_file=self.data_file,
            rego_v0=self.rego_v0,
            timeout=self.timeout,
            cwd=self.root,
        )

    def locate(self, module: str, example: str, v: Mapping[str, Any]) -> tuple[str, int | None]:
        rtype, name = v.get("type"), v.get("name")
        if rtype and name:
            others = [m for m in self.modules if m != module]
            hit = find_resource(self.root, [module, example, *others], str(rtype), str(name))
            if hit:
                return hit
        return module, None


#: a variable file per module or example, picked up by ``check policy`` (besides Terraform's own
#: ``terraform.tfvars`` / ``*.auto.tfvars`` in the example, which Terraform loads itself).
VAR_FILE = "catalog-ops.tfvars"
_VARIABLES_BLOCK = re.compile(r"^variables\s*\{", re.M)


def _tftest_variables(text: str) -> str:
    """The top-level ``variables { ... }`` block bodies of a ``.tftest.hcl`` file, as ``.tfvars``
    text (the same ``name = value`` syntax); lines referring to ``run.`` outputs are left out
    (they have no value before a test run). "" when there is none or the file does not parse."""
    try:
        body = hcl.parse(text, skim=("variables",))
    except hcl.HclSyntaxError:
        return ""
    out: list[str] = []
    for block in body.blocks:
        if block.type != "variables":
            continue
        for name, attr in block.attrs.items():
            value = text[attr.expr[0].start : attr.expr[-1].end] if attr.expr else None
            if value is None or "run." in value:
                continue
            out.append(f"{name} = {value}")
    return "\n".join(out)


def policy_var_files(
    root: Path, example: str, modules: Sequence[str], config: Mapping[str, Any], work: Path
) -> list[Path]:
    """Variable files for planning ``example``, lowest precedence first:

    1. fixtures: ``variables`` blocks of ``*.tftest.hcl`` files in the example and in its
       module's ``tests/`` directory (written to ``work`` as ``.tfvars``); ``*.tfvars`` files of
       the example other than the ones Terraform loads itself;
    2. a file per module or example: ``<module>/catalog-ops.tfvars``,
       ``<example>/catalog-ops.tfvars``;
    3. ``.catalog-ops.yml``: ``checks.policy.variables: {<module or example dir>: {name: value}}``
       (written to ``work`` as ``.tfvars.json``; the example's entry wins over its module's).
    """
    ex_dir = root / example
    module = next(
        (
            m
            for m in sorted(modules, key=len, reverse=True)
            if example == m or example.startswith(m.rstrip("/") + "/")
        ),
        None,
    )
    if module is None:
        module = next(
            (
                m
                for m in modules
                if posixpath.basename(m) and posixpath.basename(example).startswith(posixpath.basename(m))
            ),
            None,
        )
    files: list[Path] = []
    fixtures: list[str] = []
    for d in [
        p for p in (ex_dir, (root / module / "tests") if module else None) if p is not None and p.is_dir()
    ]:
        for f in sorted(d.glob("*.tftest.hcl")):
            try:
                fixtures.append(_tftest_variables(f.read_text(encoding="utf-8", errors="replace")))
            except OSError:
                continue
    joined = "\n".join(x for x in fixtures if x)
    if joined:
        fx = work / "fixtures.tfvars"
        fx.write_text(joined + "\n", encoding="utf-8")
        files.append(fx)
    if ex_dir.is_dir():
        for f in sorted(ex_dir.glob("*.tfvars")):
            if f.name != "terraform.tfvars" and not f.name.endswith(".auto.tfvars") and f.name != VAR_FILE:
                files.append(f.resolve())
    for where in ([module] if module else []) + [example]:
        f = root / where / VAR_FILE
        if f.is_file() and f.resolve() not in files:
            files.append(f.resolve())
    variables = (config.get("policy") or {}).get("variables") or {}
    merged: dict[str, Any] = {}
    if isinstance(variables, Mapping):
        for key in ([module] if module else []) + [example]:
            entry = variables.get(key)
            if isinstance(entry, Mapping):
                merged.update(entry)
    if merged:
        cf = work / "catalog-ops-config.tfvars.json"
        cf.write_text(json.dumps(merged), encoding="utf-8")
        files.append(cf)
    return files


_NO_VALUE = re.compile(r'input variable "(?P<name>[^"]+)" is not set')


def _explain_missing(example: str, f: Finding) -> Finding:
    """A "No value for required variable" diagnostic rewritten to say where a value can come
    from (``policy_var_files``)."""
    m = _NO_VALUE.search(f.message)
    if m is None:
        return f
    name = m.group("name")
    return dataclasses.replace(
        f,
        rule="missing-variable",
        message=(
            f'variable "{name}" has no value for planning {example}: give it in .catalog-ops.yml '
            f'(checks.policy.variables["{example}"].{name}), in {example}/{VAR_FILE}, '
            "or in a variables block of a .tftest.hcl fixture"
        ),
    )


def opa_eval(
    plan_json: Path,
    *,
    opa: Path,
    env: Mapping[str, str],
    policy_dirs: Sequence[Path],
    data_file: Path,
    rego_v0: bool = False,
    timeout: float = 600,
    cwd: Path | None = None,
) -> tuple[Any, Finding | None]:
    """Evaluate ``data`` with ``opa eval`` for one plan; returns ``(value, None)`` or ``(None, error)``.

    ``*_test.rego`` files are not loaded. ``error`` is a finding at the Rego file/line OPA names
    (compile errors) so a broken policy is reported, not raised.
    """
    cmd: list[Any] = [opa, "eval", "--format=json", "--ignore=*_test.rego", "--input", plan_json]
    if rego_v0:
        cmd.append("--v0-compatible")
    for d in policy_dirs:
        cmd += ["--data", d]
    cmd += ["--data", data_file, "data"]
    res = run_tool(cmd, cwd=cwd or Path.cwd(), env=env, timeout=timeout)
    if res.returncode != 0:
        return None, _opa_error(res.stderr or res.stdout)
    try:
        doc = json.loads(res.stdout)
        value = doc["result"][0]["expressions"][0]["value"]
    except (ValueError, KeyError, IndexError, TypeError):
        return {}, None
    return value, None


def evaluate_plan(
    plan_json: Path,
    *,
    opa: Path,
    env: Mapping[str, str],
    policy_dirs: Sequence[Path],
    settings: Mapping[str, Any],
    scratch: Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Violations and excepted violations of one plan JSON file (see ``collect_violations``).

    Args:
        settings: the ``catalog_ops_data`` document (``policy_data(...)``).
        scratch: directory for the data file.

    Raises:
        CatalogOpsError: OPA failed (message ``path:line:col: message`` for Rego errors).
    """
    data_file = scratch / "catalog_ops_data.json"
    data_file.write_text(json.dumps(settings), encoding="utf-8")
    value, err = opa_eval(plan_json, opa=opa, env=env, policy_dirs=policy_dirs, data_file=data_file)
    if err is not None:
        raise CatalogOpsError(f"{err.location()}: {err.message}")
    return collect_violations(value)


def _plan_addresses(plan_json: Path) -> list[tuple[str, str, str]]:
    """``(address, type, name)`` of every resource change, longest address first."""
    try:
        plan = json.loads(plan_json.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    out = [
        (rc["address"], rc["type"], rc["name"])
        for rc in plan.get("resource_changes", []) or []
        if isinstance(rc, dict) and {"address", "type", "name"} <= rc.keys()
    ]
    return sorted(out, key=lambda t: -len(t[0]))


def _address_in_message(text: str, addresses: Sequence[tuple[str, str, str]]) -> dict[str, str]:
    """Type/name of the longest plan address that ``text`` mentions (conftest-style messages)."""
    for address, rtype, name in addresses:
        i = text.find(address)
        if i != -1 and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "._")):
            return {"type": rtype, "name": name, "address": address}
    return {}


_OPA_LOC = re.compile(r"(?P<path>[^\s:]+\.rego):(?P<line>\d+)(?::(?P<col>\d+))?:\s*(?P<msg>.*)")


def _opa_error(text: str) -> Finding:
    try:
        errors = json.loads(text).get("errors") or []
    except (ValueError, AttributeError):
        errors = []
    for e in errors:
        loc = e.get("location") or {}
        if loc.get("file"):
            return Finding(
                tool="opa",
                rule=str(e.get("code") or "opa-error"),
                level="error",
                message=str(e.get("message", "")),
                path=_display_path(loc["file"]),
                line=loc.get("row"),
                col=loc.get("col"),
            )
    m = _OPA_LOC.search(text)
    if m:
        return Finding(
            tool="opa",
            rule="opa-error",
            level="error",
            message=m.group("msg").strip() or text.strip(),
            path=m.group("path"),
            line=int(m.group("line")),
            col=int(m.group("col")) if m.group("col") else None,
        )
    return Finding(
        tool="opa", rule="opa-error", level="error", message=" ".join(text.split())[:600] or "opa eval failed"
    )


def _display_path(path: str) -> str:
    """``path`` relative to the cwd when below it (for annotations), else as given."""
    try:
        return Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path


def policy_catalog(
    root: Path,
    modules: Sequence[str],
    *,
    config: Mapping[str, Any],
    tools: PolicyTools,
    env: Mapping[str, str],
    extra_policy_dirs: Sequence[Path] = (),
    allowed_ports: Sequence[int] | None = None,
    timeout: float = 600,
    out_dir: Path | None = None,
    bundled: bool = True,
) -> dict[str, Any]:
    """Plan every example of ``modules`` and evaluate policies; returns a results document.

    Args:
        root: catalog checkout.
        modules: modules to check (catalog-relative).
        config: ``checks`` mapping of ``.catalog-ops.yml`` (``policy.dirs``, ``policy.data``,
            ``policy.exceptions``, ``policy.rego_version``).
        tools: resolved terraform/tofu and opa paths.
        env: tool environment.
        extra_policy_dirs: ``--policy DIR`` values (absolute or relative to the cwd).
        allowed_ports: overrides ``allowed_public_ports``.
        timeout: seconds per tool call.
        out_dir: where plan JSON files are kept (``<out_dir>/plans/<example>.json``); default: none.
        bundled: include the bundled pack (``--no-bundled`` turns it off).

    Returns:
        Results document (check ``policy``); an example whose plan fails fails its module, with
        the plan's error diagnostics as findings; the other examples are still evaluated.
    """
    policy_cfg = config.get("policy") or {}
    dirs: list[Path] = [bundled_policy_dir()] if bundled else []
    repo_dirs = policy_cfg.get("dirs")
    if repo_dirs is None:
        repo_dirs = ["policies"] if (root / "policies").is_dir() else []
    messages: list[str] = []
    for d in repo_dirs:
        p = root / d
        if p.is_dir():
            dirs.append(p.resolve())
        else:
            messages.append(f".catalog-ops.yml: checks.policy.dirs: {d}/ does not exist")
    dirs += [Path(d).resolve() for d in extra_policy_dirs]
    examples = examples_by_module(root, modules)
    per_module: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="catalog-ops-policy-") as tmp:
        scratch = Path(tmp)
        data_file = scratch / "catalog_ops_data.json"
        data_file.write_text(json.dumps(policy_data(config, allowed_ports=allowed_ports)), encoding="utf-8")
        ev = _Evaluator(
            root,
            modules,
            tools,
            env,
            scratch,
            dirs,
            data_file,
            timeout,
            rego_v0=str(policy_cfg.get("rego_version", "v1")) == "v0",
            config=config,
        )
        for m in modules:
            entry: dict[str, Any] = {"status": "passed", "findings": [], "examples": examples.get(m, [])}
            per_module[m] = entry
            if not entry["examples"]:
                entry.update(status="skipped", summary="no examples to plan")
                continue
            findings: list[Finding] = []
            for ex in entry["examples"]:
                plan_json = ev.plans.get(ex)
                if plan_json is None:
                    plan_json, errs = ev.plan(ex)
                    findings += errs
                    if plan_json is None:
                        continue
                    ev.plans[ex] = plan_json
                    if out_dir is not None:
                        keep = out_dir / "plans" / f"{slug(ex)}.json"
                        keep.parent.mkdir(parents=True, exist_ok=True)
                        keep.write_bytes(plan_json.read_bytes())
                value, err = ev.evaluate(plan_json)
                if err is not None:
                    findings.append(dataclasses.replace(err, module=m))
                    continue
                violations, excepted = collect_violations(value)
                addresses = _plan_addresses(plan_json)
                for v in violations:
                    if not (v.get("type") and v.get("name")):
                        v.update(_address_in_message(str(v.get("address") or v["msg"]), addresses))
                    path, line = ev.locate(m, ex, v)
                    findings.append(
                        Finding(
                            tool="opa",
                            rule=str(v.get("rule", "policy")),
                            level=v["level"],
                            message=f"{v['msg']} (example {ex})",
                            path=path,
                            line=line,
                            col=1 if line else None,
                            module=m,
                        )
                    )
                for e in excepted:
                    vio = e.get("violation") or {}
                    path, line = ev.locate(m, ex, vio)
                    findings.append(
                        Finding(
                            tool="opa",
                            rule=str(vio.get("rule", "policy")),
                            level="note",
                            message=f"excepted: {vio.get('msg', '')} -- reason: {e.get('reason', '')}",
                            path=path,
                            line=line,
                            module=m,
                        )
                    )
            seen: set[tuple[Any, ...]] = set()
            unique = []
            for f in findings:
                key = (f.rule, f.path, f.line, f.message)
                if key not in seen:
                    seen.add(key)
                    unique.append(dataclasses.replace(f, module=m))
            entry["findings"] = [f.to_json() for f in unique]
            bad = [f for f in unique if f.level in ("error", "warning")]
            entry["status"] = "failed" if any(f.level == "error" for f in unique) else "passed"
            entry["summary"] = (
                f"{len(bad)} violation{'s' if len(bad) != 1 else ''}"
                if bad
                else f"{len(entry['examples'])} example(s) compliant"
            )
    status = "failed" if any(e["status"] == "failed" for e in per_module.values()) else "passed"
    return {
        "schema": SCHEMA,
        "check": "policy",
        "status": status,
        "modules": per_module,
        "findings": [],
        "artifacts": {},
        "messages": messages,
        "policy_dirs": [str(d) for d in dirs],
    }
