"""CLI: `catalog-ops refs` and `catalog-ops bump` exit codes, --json shape, error lines, --dry-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from catalog_ops.cli import main
from fixtures.refs import GH, SAMPLE_TREE, read_tree


def test_refs_human_and_json(tree_on_disk, capsys, monkeypatch):
    root = tree_on_disk(SAMPLE_TREE)
    monkeypatch.chdir(root)
    assert main(["refs"]) == 0
    out = capsys.readouterr().out
    assert f"\nlive/prod/vpc/terragrunt.hcl:7:12  terragrunt  {GH}//modules/vpc  v1.2.0  ok\n" in out
    assert "live/prod/dns/terragrunt.hcl:5:12  terragrunt" in out and "(ref in live/root.hcl)" in out
    assert main(["refs", "--json", "live", "stacks"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"files_scanned", "references", "errors"}
    assert doc["errors"] == []
    first = doc["references"][0]
    assert set(first) == {
        "path", "line", "col", "entry", "name", "source", "kind", "identity", "subdir", "ref", "ref_kind",
        "version", "provider_source", "status", "reason", "written_in", "values_version",
    }  # fmt: skip
    entries = {r["entry"] for r in doc["references"]}
    assert entries == {"terragrunt", "stack_unit", "stack", "module", "required_version", "provider",
                       "terraform_version_file", "tool_versions"}  # fmt: skip


def test_refs_bad_files_exit_nonzero_after_processing_the_rest(tree_on_disk, capsys):
    root = tree_on_disk({**SAMPLE_TREE, "bad/main.tf": b'module "x" {\n  source = "oops\n}\n'})
    code = main(["refs", "--json", str(root)])
    captured = capsys.readouterr()
    assert code == 1
    doc = json.loads(captured.out)
    assert len(doc["references"]) == 16
    assert doc["errors"] == [
        {
            "path": str(root / "bad/main.tf"),
            "line": 2,
            "col": 12,
            "message": "unterminated string (newline in quoted string)",
        }
    ]
    assert f"{root}/bad/main.tf:2:12: unterminated string" in captured.err


def test_bump_cli_dry_run_json_and_write(tree_on_disk, capsys):
    root = tree_on_disk(SAMPLE_TREE)
    before = read_tree(root)
    assert main(["bump", "--source", f"{GH}//modules/vpc", "--to", "1.3.0", "--dry-run", str(root)]) == 0
    diff = capsys.readouterr().out
    path = root / "live/prod/vpc/terragrunt.hcl"
    assert diff == (
        f"--- a/{path}\n+++ b/{path}\n@@ -4,5 +4,5 @@\n }}\n \n terraform {{\n"
        '-  source = "${include.root.locals.base_source_url}?ref=v1.2.0"\n'
        '+  source = "${include.root.locals.base_source_url}?ref=v1.3.0"\n }\n'
    )
    assert read_tree(root) == before
    assert main(["bump", "--source", GH, "--to", "v1.3.0", "--json", str(root)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) == {"dry_run", "changed", "outcomes", "errors"}
    assert len(doc["changed"]) == 6
    assert {"path", "line", "old", "new", "status", "reason", "referenced_from"} == set(doc["outcomes"][0])
    assert read_tree(root) != before
    assert main(["bump", "--source", GH, "--to", "v1.3.0", str(root)]) == 0
    out = capsys.readouterr().out
    assert "already" in out and "bumped" not in out


def test_bump_cli_usage_errors(tree_on_disk, capsys):
    root = tree_on_disk(SAMPLE_TREE)
    assert main(["bump", "--source", GH, "--to", "2.0.0-rc.1", str(root)]) == 2
    assert "--allow-prerelease" in capsys.readouterr().err
    assert main(["bump", "--source", "./local", "--to", "2.0.0", str(root)]) == 2
    assert main(["bump", "--source", GH, "--to", "two", str(root)]) == 2
    assert main(["bump", "--source", GH, "--to", "2.0.0-rc.1", "--allow-prerelease", str(root)]) == 0


def test_bump_cli_reports_bad_files(tree_on_disk, capsys):
    root = tree_on_disk({**SAMPLE_TREE, "bad/terragrunt.hcl": b'terraform {\n  source = "${local.x"\n}\n'})
    assert main(["bump", "--source", GH, "--to", "1.3.0", str(root)]) == 1
    err = capsys.readouterr().err
    assert f"{root}/bad/terragrunt.hcl:2:13: unterminated template ${{...}}" in err
    assert b"v1.3.0" in (root / "live/prod/vpc/terragrunt.hcl").read_bytes()


def test_no_progress_output_when_not_a_tty(tree_on_disk):
    root = tree_on_disk(SAMPLE_TREE)
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "catalog_ops", "refs", str(root)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_progress_goes_to_stderr_only_on_a_tty(tree_on_disk):
    import pty

    root = tree_on_disk(SAMPLE_TREE)
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "catalog_ops", "refs", "--json", str(root)],
            stdout=subprocess.PIPE,
            stderr=slave,
            check=False,
            timeout=60,
        )
        os.close(slave)
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["errors"] == []  # stdout stays clean JSON
    assert b"\x1b[" in b"".join(chunks)  # rich drew (and cleared) a progress display on the TTY
