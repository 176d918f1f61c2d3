"""Exit 141 (128 + SIGPIPE) whenever stdout's reader goes away, whatever prints the output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from catalog_ops import cli
from catalog_ops.forge.local import LocalForge


def _run_into_closed_pipe(argv: list[str]) -> subprocess.CompletedProcess[bytes]:
    """Run ``python -m catalog_ops ARGV`` with stdout a pipe whose reader is already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run(
            [sys.executable, "-m", "catalog_ops", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)


def _run_into_head_1(argv: list[str]) -> tuple[int, bytes, bytes]:
    """Like ``catalog-ops ARGV | head -1``: read one line, close the pipe, wait."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "catalog_ops", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read()
    return proc.wait(timeout=120), first, err


def test_forge_show_rich_table_into_closed_pipe_exits_141(local_forge: LocalForge) -> None:
    local_forge.create_repo("acme/payments", files={"README.md": "p\n"})
    argv = ["--forge", "local", "--local-root", str(local_forge.root), "forge", "show", "acme/payments"]
    proc = _run_into_closed_pipe(argv)
    assert proc.stderr == b""
    assert proc.returncode == cli.EXIT_BROKEN_PIPE == 141


def _big_tree(tmp_path: Path) -> Path:
    block = (
        'module "m{i}" {{\n  source = "git::https://github.com/acme/mods.git//modules/vpc?ref=v1.0.0"\n}}\n'
    )
    (tmp_path / "main.tf").write_text("".join(block.format(i=i) for i in range(2000)))
    return tmp_path


def test_bump_dry_run_into_closed_pipe_exits_141(tmp_path: Path) -> None:
    root = _big_tree(tmp_path)
    argv = ["bump", str(root), "--source", "github.com/acme/mods//modules/vpc", "--to", "1.1.0", "--dry-run"]
    proc = _run_into_closed_pipe(argv)
    assert proc.returncode == 141
    assert b"Traceback" not in proc.stderr
    assert "v1.0.0" in (root / "main.tf").read_text()  # dry run: nothing written


def test_bump_dry_run_into_head_exits_141(tmp_path: Path) -> None:
    """A large diff cut short by the reader: Python may only see a short write, not EPIPE."""
    root = _big_tree(tmp_path)
    argv = ["bump", str(root), "--source", "github.com/acme/mods//modules/vpc", "--to", "1.1.0", "--dry-run"]
    code, first, err = _run_into_head_1(argv)
    assert first.startswith(b"--- a/")
    assert b"Traceback" not in err
    assert code == 141
