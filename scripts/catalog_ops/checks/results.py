"""Shared value types of the checks: findings, per-module outcomes, results files, config.

Results file (written by ``check lint|test|policy --results FILE``, read by ``check report``)::

    {"schema": 1, "check": "lint", "status": "passed"|"failed",
     "modules": {"modules/vpc": {"status": "passed"|"failed"|"skipped", "summary": "...",
                                 "findings": [Finding...], "tests": [TestOutcome...]}},
     "findings": [Finding...],   # not tied to a module (shared config, root files)
     "artifacts": {"sarif": "lint.sarif", "junit": "...", "logs": "..."},
     "messages": ["..."]}
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml

from catalog_ops import gha
from catalog_ops.core.edits import utf8_error_position
from catalog_ops.errors import ConfigError

SCHEMA = 1
CONFIG_FILE = ".catalog-ops.yml"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Finding:
    """One problem found by a check.

    Attributes:
        tool: ``terraform-fmt`` | ``terraform-validate`` | ``tflint`` | ``opa`` | ``go-test`` | ...
        rule: rule id (``terraform_unused_declarations``, ``fmt``, ``aws.sg.public_ingress``).
        level: ``error`` | ``warning`` | ``note`` (SARIF levels).
        message: human text, one line preferred.
        path: posix path relative to the catalog root, or None when unknown.
        line / col / end_line: 1-based position in ``path`` (None when unknown).
        module: module directory the finding belongs to (``modules/vpc``), or None.
        help_uri: documentation link for the rule, if any.
    """

    tool: str
    rule: str
    level: str
    message: str
    path: str | None = None
    line: int | None = None
    col: int | None = None
    end_line: int | None = None
    module: str | None = None
    help_uri: str | None = None

    def location(self) -> str:
        """``path:line:col`` (parts omitted when unknown)."""
        if not self.path:
            return self.module or "."
        return ":".join(str(p) for p in (self.path, self.line, self.col) if p is not None)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (``None`` values dropped)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Finding:
        """Inverse of ``to_json``; unknown keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def annotate_findings(
    findings: Sequence[Finding], env: Mapping[str, str] | None = None, stream: TextIO | None = None
) -> None:
    """Print one GitHub annotation per finding (only when ``GITHUB_ACTIONS=true``).

    SARIF ``note`` maps to ``notice``; a finding without a path is annotated without ``file``.
    ``stream`` defaults to stdout.
    """
    for f in findings:
        level = {"error": "error", "warning": "warning"}.get(f.level, "notice")
        gha.annotate(
            level,
            f.message,
            file=f.path,
            line=f.line,
            col=f.col,
            title=f"{f.tool}: {f.rule}",
            env=env,
            stream=stream,
        )


def module_of(path: str | None, modules: Sequence[str]) -> str | None:
    """The module (longest directory prefix) that owns ``path``, or None."""
    if not path:
        return None
    best = None
    for m in modules:
        if (path == m or path.startswith(m.rstrip("/") + "/")) and (best is None or len(m) > len(best)):
            best = m
    return best


def write_results(path: Path, data: Mapping[str, Any]) -> None:
    """Write a results file (pretty JSON, trailing newline), creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")


def _key_position(text: str, key: str) -> str:
    """``line:col`` (1-based) of the value of top-level ``key`` in YAML ``text``; ``1:1`` if unknown."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if isinstance(root, yaml.MappingNode):
        for k, v in root.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return f"{v.start_mark.line + 1}:{v.start_mark.column + 1}"
    return "1:1"


def load_config(root: Path, *, name: str | None = None) -> dict[str, Any]:
    """The ``checks:`` mapping of ``<root>/.catalog-ops.yml`` (``{}`` when absent).

    Args:
        root: the catalog's checkout.
        name: how errors name the file (``acme/modules:.catalog-ops.yml`` for a temporary clone);
            default its path.

    Raises:
        ConfigError: the file is not UTF-8, not valid YAML, or ``checks`` is not a mapping
            (message ``name:line:col: ...``).
    """
    path = root / CONFIG_FILE
    if not path.is_file():
        return {}
    label = name or str(path)
    data_bytes = path.read_bytes()
    try:
        text = data_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = utf8_error_position(data_bytes, exc)
        raise ConfigError(f"{label}:{line}:{col}: not UTF-8 ({exc.reason})") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{label}:{mark.line + 1}:{mark.column + 1}" if mark else label
        raise ConfigError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{label}:1:1: top level must be a mapping")
    checks = data.get("checks") or {}
    if not isinstance(checks, dict):
        raise ConfigError(f"{label}:{_key_position(text, 'checks')}: 'checks' must be a mapping")
    return checks


@dataclasses.dataclass(frozen=True)
class Completed:
    """Outcome of ``run_tool``: exit code (``None`` when killed at the timeout), stdout, stderr."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool = False


def run_tool(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timeout: float | None = 600,
) -> Completed:
    """Run a command without a shell; never raises for a non-zero exit or a timeout.

    Args:
        cmd: argv; element 0 is a full tool path (from ``toolchain.which``).
        cwd: working directory.
        env: full environment for the child.
        timeout: seconds; on expiry the child is killed and ``timed_out`` is set.
    """
    try:
        proc = subprocess.run(
            [os.fspath(c) for c in cmd],
            cwd=cwd,
            env=dict(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return Completed(None, out, err, timed_out=True)
    return Completed(proc.returncode, proc.stdout, proc.stderr)


def tf_env(env: Mapping[str, str], data_dir: Path) -> dict[str, str]:
    """Environment for a Terraform/OpenTofu CLI call.

    ``TF_DATA_DIR`` points at ``data_dir`` so ``init`` never writes ``.terraform/`` into the
    catalog checkout (Terraform docs, "Environment Variables": TF_DATA_DIR); ``TF_IN_AUTOMATION``
    and ``CHECKPOINT_DISABLE`` keep output quiet and offline. ``TF_CLI_CONFIG_FILE`` is dropped
    when it names a missing file (the CLI would warn on every call).
    """
    out = dict(env)
    out["TF_DATA_DIR"] = str(data_dir)
    out["TF_IN_AUTOMATION"] = "1"
    out["CHECKPOINT_DISABLE"] = "1"
    out.setdefault("TF_INPUT", "0")
    cfg = out.get("TF_CLI_CONFIG_FILE")
    if cfg and not Path(cfg).is_file():
        del out["TF_CLI_CONFIG_FILE"]
    return out


def slug(path: str) -> str:
    """File-name-safe form of a module path (``modules/vpc`` -> ``modules__vpc``)."""
    return path.strip("/").replace("/", "__") or "root"
