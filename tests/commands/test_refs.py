"""CLI: `catalog-ops refs` and `catalog-ops bump` exit codes, --json shape, error lines, --dry-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_ops.cli import main
from fixtures.refs import GH, SAMPLE_TREE, STACK, read_tree


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
        "version", "provider_source", "status", "reason", "written_in", "version_in", "values_version",
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


TWO_FILES = {
    "a/main.tf": f'module "vpc" {{\n  source = "{GH}//modules/vpc?ref=v1.2.0"\n}}\n'.encode(),
    "b/terragrunt.hcl": f'terraform {{\n  source = "{GH}//modules/dns?ref=v1.2.0"\n}}\n'.encode(),
}


def test_bump_with_a_source_matching_nothing_fails_with_a_message(tree_on_disk, capsys, monkeypatch):
    root = tree_on_disk(TWO_FILES)
    monkeypatch.chdir(root)
    typo = "github.com/acme/mdos//modules/vpc"
    assert main(["bump", "--source", typo, "--to", "1.3.0", "."]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"catalog-ops: error: no references to {typo} found in 2 files\n"
    assert main(["bump", "--source", typo, "--to", "1.3.0", "--json", "."]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"dry_run": False, "changed": [], "outcomes": [], "errors": []}
    assert f"no references to {typo} found in 2 files" in captured.err
    assert read_tree(root) == TWO_FILES
    # A match that is already at the target is not "nothing found".
    assert main(["bump", "--source", f"{GH}//modules/vpc", "--to", "1.2.0", "."]) == 0
    assert capsys.readouterr().out == "a/main.tf:2  already  v1.2.0  # already at the target\n"


HEREDOC_TF = b'module "h" {\n  source = <<EOT\ngithub.com/acme/x?ref=v1\nEOT\n}\nmodule "t" {\n  source = "github.com/acme/y?ref=v1\tx"\n}\n'


def test_refs_table_escapes_control_characters_json_keeps_them(tree_on_disk, capsys, monkeypatch):
    root = tree_on_disk({"main.tf": HEREDOC_TF})
    monkeypatch.chdir(root)
    assert main(["refs"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("main.tf:2:12  module  <<EOT\\ngithub.com/acme/x?ref=v1\\nEOT  -  dynamic  # ")
    assert lines[1] == "main.tf:7:12  module  github.com/acme/y  v1\\tx  branch  # ref 'v1\\tx' is a branch"
    assert main(["refs", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["source"] for r in doc["references"]] == [
        "<<EOT\ngithub.com/acme/x?ref=v1\nEOT",
        "github.com/acme/y?ref=v1\tx",
    ]


SHARED = {
    "live/root.hcl": b'locals {\n  ref = "v1.2.0"\n}\n',
    "live/vpc/terragrunt.hcl": (
        b'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'
        + f'terraform {{\n  source = "{GH}//modules/vpc?ref=${{include.root.locals.ref}}"\n}}\n'.encode()
    ),
    "live/app/terragrunt.hcl": (
        b'include "root" {\n  path = find_in_parent_folders("root.hcl")\n}\n'
        b'terraform {\n  source = "github.com/acme/apps//app?ref=${include.root.locals.ref}"\n}\n'
    ),
    "stacks/main.tf": f'module "vpc" {{\n  source = "{GH}//modules/vpc?ref=v1.2.0"\n}}\n'.encode(),
}


def test_bump_dry_run_prints_the_same_outcome_lines_on_stderr(tree_on_disk, capsys, monkeypatch):
    root = tree_on_disk(SHARED)
    monkeypatch.chdir(root)
    args = ["bump", "--source", f"{GH}//modules/vpc", "--to", "1.3.0"]
    assert main([*args, "--dry-run"]) == 0
    dry = capsys.readouterr()
    assert dry.out == (
        "--- a/stacks/main.tf\n+++ b/stacks/main.tf\n@@ -1,3 +1,3 @@\n"
        ' module "vpc" {\n'
        f'-  source = "{GH}//modules/vpc?ref=v1.2.0"\n'
        f'+  source = "{GH}//modules/vpc?ref=v1.3.0"\n'
        " }\n"
    )
    expected = (
        "live/root.hcl:2  skipped  v1.2.0  # the ref literal is shared with references to other modules\n"
        "stacks/main.tf:2  bumped  v1.2.0 -> v1.3.0\n"
    )
    assert dry.err == expected
    assert read_tree(root) == SHARED
    assert main(args) == 0
    assert capsys.readouterr().out == expected


def test_stack_values_in_the_refs_table(tree_on_disk, capsys):
    root = tree_on_disk({"terragrunt.stack.hcl": STACK.encode()})
    assert main(["refs", str(root)]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert (
        first
        == f"{root}/terragrunt.stack.hcl:2:12  stack_unit  {GH}//units/db  v1.0.0  ok  (+ values.version)"
    )
    assert main(["bump", "--source", GH, "--to", "1.1.0", "--no-stack-values", str(root)]) == 0
    assert (root / "terragrunt.stack.hcl").read_bytes() == STACK.replace(
        "?ref=v1.0.0", "?ref=v1.1.0"
    ).encode()


def _modules_after(imports: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys, {imports}\nprint([m for m in {names!r} if m in sys.modules])\n"
    env = {
        **os.environ,
        "PYTHONPATH": os.environ.get("PYTHONPATH") or str(Path(__file__).parents[2] / "scripts"),
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.replace("'", '"'))


def test_importing_refs_and_bump_loads_no_heavy_modules():
    # Loaded only where used: the process pool (large trees), difflib (--dry-run), rich (TTY bar).
    lib = ("concurrent.futures", "pathlib", "difflib", "rich", "hcl2", "lark")
    assert _modules_after("catalog_ops.hcl, catalog_ops.refs, catalog_ops.bump", lib) == []
    cmds = ("concurrent.futures", "difflib", "rich", "hcl2", "lark")
    assert _modules_after("catalog_ops.commands.refs, catalog_ops.commands.bump", cmds) == []


_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(alphabet=st.sampled_from(["a", '"', "\\", "\n", "\x1b", "é", "\u2028", "😀", "/"])),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3) | st.integers() | st.booleans() | st.none(), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(_json_values)
def test_json_text_is_json_dumps_indent_2(value):
    """``refs --json`` writes exactly what ``json.dumps(..., indent=2)`` wrote before."""
    from catalog_ops.commands.refs import json_text

    assert json_text(value) == json.dumps(value, indent=2)


@pytest.mark.parametrize(
    "items",
    [
        [{"a": 1}],
        [{"a": "},\x00{", "b": None, 3: True}, {"c": "\x00", "d": ',\x00"', False: 1.5}],
        [{"path": "x", "line": 1}, {"path": '"}, {"', "col": -2, None: "é\u2028😀"}],
        [{"a": 1}, {}, {"b": 2}],
        [{"a": [1]}, {"b": 2}],
        [{"a": "},\n      {", "b": "}"}, {"c": "{", "d": "},"}, {"e": 1}],
    ],
)
def test_json_text_of_a_list_of_flat_dicts_is_json_dumps_indent_2(items):
    """The one-call path for the references list (a list of flat dicts) lays them out exactly as
    ``json.dumps(..., indent=2)``, at any depth, whatever the strings hold."""
    from catalog_ops.commands.refs import json_text

    for value in (items, {"references": items}, [[items]]):
        assert json_text(value) == json.dumps(value, indent=2)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.text(max_size=6),
            st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12)),
            min_size=1,
            max_size=5,
        ),
        max_size=6,
    ),
    st.integers(min_value=0, max_value=3),
)
def test_json_items_are_json_text_of_each_dict(items, level):
    from catalog_ops.commands.refs import json_items, json_text

    assert json_items(items, level) == [json_text(d, level) for d in items]


def test_refs_json_document_is_json_text_of_the_scan(tree_on_disk, monkeypatch):
    """The document ``refs --json`` writes from rendered references (rendered in the scan's
    workers on a large tree) is ``json.dumps(indent=2)`` of the references as objects."""
    import catalog_ops.refs.disk as refs_mod
    from catalog_ops.commands.refs import _json_references, error_json, json_document
    from catalog_ops.refs import scan_tree

    files = {f"r{i:02d}/{rel}": data for i in range(40) for rel, data in SAMPLE_TREE.items()}
    files["r01/bad.tf"] = b'module "x" {\n  source = "unterminated\n}\n'
    root = tree_on_disk(files)
    monkeypatch.setattr(refs_mod.os, "cpu_count", lambda: 2)
    plain = scan_tree([root])
    want = {
        "files_scanned": plain.files_scanned,
        "references": [r.to_json() for r in plain.references],
        "errors": [error_json(e) for e in plain.errors],
    }
    assert plain.references and plain.errors
    assert json_document(scan_tree([root], render=_json_references)) == json.dumps(want, indent=2)
    empty = scan_tree([root / "none"], render=_json_references)
    assert json.loads(json_document(empty))["references"] == []
