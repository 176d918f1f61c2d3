"""``check lint``: ``fmt -check``, ``init -backend=false`` + ``validate -json``, and tflint.

For each selected module and each of its examples (``layout.examples_by_module``):

1. ``<tf> fmt -check -recursive -diff -no-color DIR`` (run from the catalog root); every file in
   the diff becomes a finding at the first changed line of its first hunk.
2. ``<tf> init -backend=false -input=false`` and ``<tf> validate -json`` with ``TF_DATA_DIR`` in a
   scratch directory (the checkout is never written to). Diagnostics carry ``range.filename``
   relative to the directory (Terraform "validate -json" output format) and become findings.
   ``validate`` runs even when ``init`` failed, because it reports syntax errors with positions;
   its diagnostics that only follow from the failed ``init`` ("Missing required provider",
   "Module not installed", "run terraform init") are dropped and ``init``'s first error is
   reported instead, with the provider or module source address (``checks.initcause``).
3. ``tflint --chdir=DIR --config=<root>/.tflint.hcl --format=json`` from the catalog root (issue
   file names are then catalog-relative). Only the bundled terraform ruleset is assumed: when the
   config names a plugin that is not installed, the plugin block is dropped from a scratch copy
   of the config and a warning finding says so.

One directory's failure never stops the others. A module fails when any finding of level
``error`` or ``warning`` belongs to it or to one of its examples; ``note`` (tflint ``info``) does
not fail it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import posixpath
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from catalog_ops import hcl
from catalog_ops.checks.initcause import first_cause, is_follow_up
from catalog_ops.checks.layout import examples_by_module
from catalog_ops.checks.results import SCHEMA, Completed, Finding, module_of, run_tool, slug, tf_env

_HUNK = re.compile(r"^@@ -(\d+)(?:,\d+)? \+\d+(?:,\d+)? @@")
_TFLINT_LEVEL = {"error": "error", "warning": "warning", "info": "note", "notice": "note"}


@dataclasses.dataclass(kw_only=True)
class LintTools:
    """Resolved tool paths: ``tf`` (terraform or tofu) and ``tflint``."""

    tf: Path
    tflint: Path


def parse_fmt_diff(stdout: str) -> list[tuple[str, int]]:
    """``(path, line)`` per file in ``fmt -check -diff`` output (first changed line, old file).

    The output is, per file, its name on one line followed by a unified diff whose headers are
    ``--- old/PATH`` / ``+++ new/PATH``.
    """
    out: list[tuple[str, int]] = []
    current: str | None = None
    old_line: int | None = None
    done: set[str] = set()
    for line in stdout.splitlines():
        if line.startswith("--- old/"):
            current = line[len("--- old/") :].strip()
            old_line = None
            continue
        if line.startswith("+++ new/"):
            continue
        m = _HUNK.match(line)
        if m:
            old_line = int(m.group(1))
            continue
        if current is None or old_line is None or current in done:
            continue
        if line.startswith(("-", "+")):
            out.append((current, max(old_line, 1)))
            done.add(current)
        elif line.startswith(" "):
            old_line += 1
    return out


def _norm_path(directory: str, filename: str) -> str:
    if directory in ("", "."):
        return posixpath.normpath(filename)
    return posixpath.normpath(posixpath.join(directory, filename))


def parse_validate(directory: str, stdout: str) -> list[Finding]:
    """Findings from ``validate -json`` output of ``directory`` (catalog-relative).

    Returns an empty list for output that is not the JSON document (caller reports stderr).
    """
    try:
        data = json.loads(stdout)
    except ValueError:
        return []
    findings = []
    for diag in data.get("diagnostics", []) or []:
        rng = diag.get("range") or {}
        start = rng.get("start") or {}
        summary = diag.get("summary", "").strip()
        detail = (diag.get("detail") or "").strip()
        message = f"{summary}: {detail}" if detail else summary
        findings.append(
            Finding(
                tool="terraform-validate",
                rule="validate",
                level="error" if diag.get("severity") == "error" else "warning",
                message=message,
                path=_norm_path(directory, rng["filename"]) if rng.get("filename") else directory,
                line=start.get("line"),
                col=start.get("column"),
                end_line=(rng.get("end") or {}).get("line"),
            )
        )
    return findings


def parse_tflint(stdout: str) -> tuple[list[Finding], list[Finding]]:
    """``(issues, errors)`` from ``tflint --format=json`` (paths as tflint printed them)."""
    try:
        data = json.loads(stdout)
    except ValueError:
        return [], []
    issues = []
    for item in data.get("issues", []) or []:
        rule = item.get("rule") or {}
        rng = item.get("range") or {}
        issues.append(
            Finding(
                tool="tflint",
                rule=rule.get("name", "tflint"),
                level=_TFLINT_LEVEL.get(rule.get("severity", "warning"), "warning"),
                message=item.get("message", ""),
                path=rng.get("filename") or None,
                line=(rng.get("start") or {}).get("line"),
                col=(rng.get("start") or {}).get("column"),
                end_line=(rng.get("end") or {}).get("line"),
                help_uri=rule.get("link"),
            )
        )
    errors = []
    for item in data.get("errors", []) or []:
        rng = item.get("range") or {}
        errors.append(
            Finding(
                tool="tflint",
                rule="tflint-error",
                level="error",
                message=f"{item.get('summary', '')}: {item.get('message', '')}".strip(": "),
                path=rng.get("filename") or None,
                line=(rng.get("start") or {}).get("line"),
                col=(rng.get("start") or {}).get("column"),
            )
        )
    return issues, errors


def strip_plugins(config_text: str, keep: Sequence[str] = ("terraform",)) -> tuple[str, list[str]]:
    """Remove top-level ``plugin "NAME" { ... }`` blocks (except ``keep``) from a ``.tflint.hcl`` text.

    Each removed block goes from the start of its line to its closing ``}`` (what follows on that
    line stays); everything else is kept byte for byte. Returns ``(new_text, removed_names)`` in
    file order. A config that is not valid HCL is returned unchanged (tflint reports it).
    """
    try:
        root = hcl.parse(config_text, skim=())
    except hcl.HclSyntaxError:
        return config_text, []
    drop = [b for b in root.blocks if b.type == "plugin" and b.labels and b.labels[0] not in keep]
    out = config_text
    for block in reversed(drop):
        start = config_text.rfind("\n", 0, block.tok.start) + 1
        if config_text[start : block.tok.start].strip(" \t"):
            start = block.tok.start  # something else precedes the block on its line
        out = out[:start] + out[block.close + 1 :]
    return out, [b.labels[0] for b in drop]


class _Linter:
    def __init__(
        self, root: Path, tools: LintTools, env: Mapping[str, str], scratch: Path, timeout: float
    ) -> None:
        self.root = root
        self.tools = tools
        self.env = env
        self.scratch = scratch
        self.timeout = timeout
        self.messages: list[str] = []
        self.tflint_config: Path | None = None
        self.config_findings: list[Finding] = []
        cfg = root / ".tflint.hcl"
        if cfg.is_file():
            self.tflint_config = cfg.resolve()

    def fmt(self, directory: str) -> list[Finding]:
        res = run_tool(
            [self.tools.tf, "fmt", "-check", "-recursive", "-diff", "-no-color", directory],
            cwd=self.root,
            env=tf_env(self.env, self.scratch / "fmt"),
            timeout=self.timeout,
        )
        findings = [
            Finding(
                tool="terraform-fmt",
                rule="fmt",
                level="error",
                message=f"{path} is not formatted; run `terraform fmt {path}`",
                path=path,
                line=line,
                col=1,
            )
            for path, line in parse_fmt_diff(res.stdout)
        ]
        return findings

    def validate(self, directory: str) -> list[Finding]:
        data = self.scratch / "tf-data" / slug(directory)
        env = tf_env(self.env, data)
        cwd = self.root / directory
        init = run_tool(
            [self.tools.tf, "init", "-backend=false", "-input=false", "-no-color"],
            cwd=cwd,
            env=env,
            timeout=self.timeout,
        )
        val = run_tool(
            [self.tools.tf, "validate", "-json", "-no-color"], cwd=cwd, env=env, timeout=self.timeout
        )
        findings = parse_validate(directory, val.stdout)
        if init.returncode != 0:
            # validate after a failed init mostly repeats "run terraform init": report the cause
            findings = [f for f in findings if not is_follow_up(f.message)]
            cause = first_cause(f"{init.stderr}\n{init.stdout}")
            if not any(f.level == "error" for f in findings):
                if cause is not None and not init.timed_out:
                    findings.insert(
                        0,
                        Finding(
                            tool="terraform-init",
                            rule="terraform-init-failed",
                            level="error",
                            message=cause.message(directory),
                            path=directory,
                        ),
                    )
                else:
                    findings.append(_tool_failure("terraform-init", directory, init))
        if val.returncode not in (0, 1) or (val.returncode == 1 and not findings):
            findings.append(_tool_failure("terraform-validate", directory, val))
        return findings

    def prepare_tflint(self) -> None:
        """Drop uninstalled plugin blocks from the config (only the bundled ruleset is assumed)."""
        if self.tflint_config is None:
            return
        text = self.tflint_config.read_text(encoding="utf-8")
        plugin_dir = Path(
            self.env.get("TFLINT_PLUGIN_DIR") or Path(self.env.get("HOME", "~")) / ".tflint.d" / "plugins"
        )
        installed = {
            p.name.removeprefix("tflint-ruleset-")
            for p in plugin_dir.expanduser().glob("**/tflint-ruleset-*")
        }
        new, removed = strip_plugins(text, keep=("terraform", *sorted(installed)))
        if removed:
            copy = self.scratch / "tflint.hcl"
            copy.write_text(new, encoding="utf-8")
            self.tflint_config = copy
            for name in removed:
                self.config_findings.append(
                    Finding(
                        tool="tflint",
                        rule="plugin-not-installed",
                        level="note",
                        message=f'tflint plugin "{name}" is not installed locally; its rules were not run',
                        path=".tflint.hcl",
                        line=text[: text.find(f'plugin "{name}"')].count("\n") + 1,
                        col=1,
                    )
                )

    def tflint(self, directory: str) -> tuple[list[Finding], list[Finding]]:
        cmd: list[str | os.PathLike[str]] = [
            self.tools.tflint,
            f"--chdir={directory}",
            "--format=json",
            "--force",
        ]
        if self.tflint_config is not None:
            cmd.append(f"--config={self.tflint_config}")
        res = run_tool(cmd, cwd=self.root, env=self.env, timeout=self.timeout)
        issues, errors = parse_tflint(res.stdout)
        if res.returncode not in (0, 2) and not issues and not errors:
            errors.append(_tool_failure("tflint", directory, res))
        return issues, errors

    def check_dir(self, directory: str, *, do_fmt: bool) -> list[Finding]:
        findings = self.fmt(directory) if do_fmt else []
        validate = self.validate(directory)
        findings += validate
        issues, errors = self.tflint(directory)
        seen = {(f.path, f.line) for f in validate if f.level == "error"}
        findings += issues
        findings += [e for e in errors if (e.path, e.line) not in seen and not (e.path is None and seen)]
        return findings


def _tool_failure(tool: str, directory: str, res: Completed) -> Finding:
    text = (res.stderr or res.stdout).strip()
    where = _first_location(text)
    if res.timed_out:
        message = f"{tool} timed out in {directory}"
    else:
        message = f"{tool} failed in {directory} (exit {res.returncode}): {_squash(text)}"
    return Finding(
        tool=tool,
        rule=f"{tool}-failed",
        level="error",
        message=message,
        path=_norm_path(directory, where[0]) if where else directory,
        line=where[1] if where else None,
    )


_ON_LINE = re.compile(r"on (\S+) line (\d+)")


def _first_location(text: str) -> tuple[str, int] | None:
    m = _ON_LINE.search(text)
    return (m.group(1), int(m.group(2))) if m else None


def _squash(text: str, limit: int = 600) -> str:
    lines = [ln.strip(" │╷╵") for ln in text.splitlines()]
    joined = " ".join(ln for ln in lines if ln.strip())
    return joined if len(joined) <= limit else joined[: limit - 1] + "…"


def lint_catalog(
    root: Path,
    modules: Sequence[str],
    *,
    tools: LintTools,
    env: Mapping[str, str],
    jobs: int | None = None,
    timeout: float = 600,
    scratch: Path | None = None,
) -> dict[str, Any]:
    """Lint ``modules`` (and their examples) of the catalog at ``root``; returns a results dict.

    Args:
        root: catalog checkout.
        modules: module directories (catalog-relative), e.g. from ``layout.select_modules``.
        tools: resolved CLI paths.
        env: environment for the tools (``toolchain.tool_env`` output).
        jobs: directories linted in parallel (default: CPU count).
        timeout: seconds per tool invocation.
        scratch: directory for TF_DATA_DIR etc. (default: a temporary directory, removed after).

    Returns:
        The results document described in ``catalog_ops.checks.results`` (check ``"lint"``),
        with every finding attributed to its module (an example's findings to each module it
        exercises).
    """
    examples = examples_by_module(root, modules)
    owners: dict[str, set[str]] = {}
    for m in modules:
        owners.setdefault(m, set()).add(m)
        for ex in examples.get(m, []):
            owners.setdefault(ex, set()).add(m)
    # fmt -recursive on a module covers its nested examples; skip those to avoid duplicates.
    directories = sorted(owners)
    with tempfile.TemporaryDirectory(prefix="catalog-ops-lint-") as tmp:
        linter = _Linter(root, tools, env, scratch or Path(tmp), timeout)
        linter.prepare_tflint()
        results: dict[str, list[Finding]] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 2) as pool:
            futures = {
                pool.submit(
                    linter.check_dir,
                    d,
                    do_fmt=not any(d != o and d.startswith(o + "/") for o in directories),
                ): d
                for d in directories
            }
            for fut in concurrent.futures.as_completed(futures):
                results[futures[fut]] = fut.result()
    per_module: dict[str, dict[str, Any]] = {
        m: {"status": "passed", "findings": [], "examples": examples.get(m, [])} for m in modules
    }
    unowned: list[Finding] = list(linter.config_findings)
    seen: set[tuple[Any, ...]] = set()
    for d in directories:
        for f in results[d]:
            key = (f.tool, f.rule, f.path, f.line, f.col, f.message)
            if key in seen:
                continue
            seen.add(key)
            owner = module_of(f.path, modules)
            targets = [owner] if owner else sorted(owners[d])
            for m in targets:
                per_module[m]["findings"].append(dataclasses.replace(f, module=m).to_json())
                if f.level in ("error", "warning"):
                    per_module[m]["status"] = "failed"
    _fail_dependents(root, per_module)
    for entry in per_module.values():
        n = len(entry["findings"])
        entry["summary"] = "no findings" if not n else f"{n} finding{'s' if n != 1 else ''}"
        if entry.get("failed_dependencies"):
            entry["summary"] += f" (uses failed {', '.join(entry['failed_dependencies'])})"
        entry["findings"].sort(key=lambda f: (f.get("path", ""), f.get("line", 0), f.get("col", 0)))
    status = "failed" if any(e["status"] == "failed" for e in per_module.values()) else "passed"
    return {
        "schema": SCHEMA,
        "check": "lint",
        "status": status,
        "modules": per_module,
        "findings": [f.to_json() for f in unowned],
        "artifacts": {},
        "messages": linter.messages,
    }


_LOAD_TOOLS = ("terraform-validate", "terraform-init")


def _fail_dependents(root: Path, per_module: dict[str, dict[str, Any]]) -> None:
    """Fail modules that use, through a local path, a module whose configuration is broken.

    A module is broken when ``init``/``validate`` reported an error in its own files; Terraform
    cannot load a configuration calling it either, so ``check policy`` fails the callers (their
    plans fail) and lint must agree. Each caller gets an ``error`` finding (rule
    ``failed-dependency``) at its ``source = "../dep"`` line and the entry key
    ``failed_dependencies``; callers of callers fail too (transitively). Mutates ``per_module``.
    """
    mods = sorted(per_module)
    broken: dict[str, str] = {}  # module -> module whose error it inherits (itself when direct)
    for m, entry in per_module.items():
        for raw in entry["findings"]:
            path = raw.get("path") or ""
            if raw.get("tool") in _LOAD_TOOLS and raw.get("level") == "error" and module_of(path, [m]) == m:
                broken[m] = m
                break
    if not broken:
        return
    uses = _local_uses(root, mods)
    changed = True
    while changed:
        changed = False
        for m in mods:
            if m in broken:
                continue
            deps = sorted({dep for dep, *_ in uses.get(m, ()) if dep in broken})
            if not deps:
                continue
            broken[m] = broken[deps[0]]
            changed = True
            entry = per_module[m]
            entry["status"] = "failed"
            entry["failed_dependencies"] = deps
            for dep, source, path, line, col in uses[m]:
                if dep not in deps:
                    continue
                cause = "" if broken[dep] == dep else f" (because it uses {broken[dep]})"
                entry["findings"].append(
                    Finding(
                        tool="catalog-ops",
                        rule="failed-dependency",
                        level="error",
                        message=(
                            f"failed by dependency: uses {dep} through the local path {source!r}, and "
                            f"{dep} does not validate{cause}; fix {dep} first"
                        ),
                        path=path,
                        line=line or None,
                        col=col or None,
                        module=m,
                    ).to_json()
                )


def _local_uses(root: Path, modules: Sequence[str]) -> dict[str, list[tuple[str, str, str, int, int]]]:
    """``{module: [(used module, source, file, line, col), ...]}`` for local-path ``module`` blocks."""
    from catalog_ops.catalog.layout import local_module_sources, module_for_path

    out: dict[str, list[tuple[str, str, str, int, int]]] = {}
    for m in modules:
        base = root / m
        try:
            files = sorted(p for p in base.iterdir() if p.is_file() and p.name.endswith((".tf", ".tf.json")))
        except OSError:
            continue
        for f in files:
            rel = f.relative_to(root).as_posix()
            try:
                sources = local_module_sources(rel, f.read_text(encoding="utf-8", errors="replace"))
            except Exception:  # an unparsable file is reported by validate already
                continue
            for _label, source, line, col in sources:
                if not source.startswith(("./", "../")):
                    continue
                target = posixpath.normpath(posixpath.join(m, source.split("//")[0]))
                dep = module_for_path(target, modules)
                if dep is not None and dep != m:
                    out.setdefault(m, []).append((dep, source, rel, line, col))
    return out


def all_findings(results: Mapping[str, Any]) -> list[Finding]:
    """Every finding of a results document (module findings deduplicated across modules)."""
    out: list[Finding] = []
    seen: set[tuple[Any, ...]] = set()
    for entry in results.get("modules", {}).values():
        for raw in entry.get("findings", []):
            f = Finding.from_json(raw)
            key = (f.tool, f.rule, f.path, f.line, f.col, f.message)
            if key not in seen:
                seen.add(key)
                out.append(f)
    out += [Finding.from_json(raw) for raw in results.get("findings", [])]
    return out
