"""The pinned toolchain: each tool runs and reports its pinned version; the installer reuses."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from catalog_ops import toolchain
from catalog_ops.errors import ToolInstallError, ToolMissing

SPECS = toolchain.load_specs()

VERSION_ARGS = {
    "tofu": ["version"],
    "tflint": ["--version"],
    "opa": ["version"],
    "actionlint": ["-version"],
    "act": ["--version"],
}


@pytest.mark.parametrize("tool", sorted(VERSION_ARGS))
def test_tool_reports_pinned_version(tool: str) -> None:
    binary = toolchain.which(tool)
    out = subprocess.run([str(binary), *VERSION_ARGS[tool]], capture_output=True, text=True, check=True)
    want = SPECS[tool].version.lstrip("v")
    assert want in out.stdout + out.stderr


def test_terraform_meets_minimum() -> None:
    binary = toolchain.which("terraform")
    out = subprocess.run([str(binary), "version", "-json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    version = data.get("terraform_version") or data.get("version") or ""
    major, minor, _ = (int(x) for x in re.findall(r"\d+", version)[:3])
    assert (major, minor) >= (1, 5)


def test_second_install_reuses_everything() -> None:
    reports = toolchain.install()
    actions = {r.tool: r.action for r in reports}
    assert all(a in ("reused", "path") for a in actions.values()), actions
    assert sum(r.seconds for r in reports) < 60  # a reuse never rebuilds (bounded by the build cost)


def test_unknown_tool_is_a_clear_error() -> None:
    with pytest.raises(ToolInstallError, match="unknown tool"):
        toolchain.install(["nope"])
    with pytest.raises(ToolMissing, match="unknown tool"):
        toolchain.which("nope")


def test_failed_install_names_tool_and_command(tmp_path: Path) -> None:
    spec = toolchain.ToolSpec(
        name="broken", kind="go-install", version="v0.0.0", package="example.invalid/none/cmd", binary="none"
    )
    env = toolchain.tool_env()
    env["CATALOG_OPS_TOOLS_DIR"] = str(tmp_path)
    env["GOPROXY"] = "off"
    with pytest.raises(ToolInstallError) as info:
        toolchain.install_one(spec, env=env)
    assert "could not install broken" in str(info.value)
    assert "go install example.invalid/none/cmd@v0.0.0" in str(info.value)


def test_missing_tool_dir_is_tool_missing(tmp_path: Path) -> None:
    with pytest.raises(ToolMissing, match="run `make tools`"):
        toolchain.which("tflint", {"CATALOG_OPS_TOOLS_DIR": str(tmp_path), "PATH": ""})
