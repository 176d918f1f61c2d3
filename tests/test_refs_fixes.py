"""Regressions: legacy providers, bump that matches nothing, control characters in the table,
JSON escapes, dry-run outcomes, symlinks, Terragrunt stack ``values.version``, lazy imports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from catalog_ops.bump import bump_files, bump_tree
from catalog_ops.cli import main
from catalog_ops.core.sources import RefKind
from catalog_ops.refs.scan import RefKindOfEntry, scan_files, scan_tree
from fixtures.refs import GH, read_tree

# --------------------------------------------------------------------------- 1. legacy providers


def test_legacy_provider_entry_without_source_or_version_keywords(tree_on_disk, capsys):
    tf = b'terraform {\n  required_providers {\n    aws = "~> 5.0"\n  }\n}\n'
    tf_json = b'{"terraform": {"required_providers": {"google": "~> 6.1"}}}\n'
    result = scan_files({"versions.tf": tf, "versions.tf.json": tf_json})
    assert result.errors == []
    assert [
        (r.path, r.line, r.col, r.entry, r.name, r.version, r.provider_source) for r in result.references
    ] == [
        ("versions.tf", 3, 11, RefKindOfEntry.PROVIDER, "aws", "~> 5.0", "hashicorp/aws"),
        ("versions.tf.json", 1, 49, RefKindOfEntry.PROVIDER, "google", "~> 6.1", "hashicorp/google"),
    ]
    root = tree_on_disk({"versions.tf": tf})
    assert main(["refs", str(root)]) == 0
    assert capsys.readouterr().out == f"{root}/versions.tf:3:11  provider  hashicorp/aws  ~> 5.0  ok\n"


# --------------------------------------------------------------------------- 2. bump matching nothing

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


# --------------------------------------------------------------------------- 3. control characters

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


# --------------------------------------------------------------------------- 4. JSON escapes

ESCAPED_JSON = (
    '{\n  "module": {\n    "vpc": {\n'
    '      "source": "git::https:\\/\\/github.com\\/acme\\/mods.git\\/\\/vpc?ref=v1.2.\\u0033"\n    },\n'
    '    "reg": {"source": "acme/eks/aws", "ver\\u0073ion": "\\u007e> 1.1.0"}\n  }\n}\n'
)


def test_tf_json_escapes_are_decoded_and_bumps_stay_byte_exact():
    (vpc, reg) = scan_files({"main.tf.json": ESCAPED_JSON.encode()}).references
    assert vpc.source is not None
    assert (vpc.source.identity, vpc.source.subdir, vpc.source.ref) == (
        "github.com/acme/mods",
        "vpc",
        "v1.2.3",
    )
    assert (vpc.source.ref_kind, vpc.status) == (RefKind.SEMVER_TAG, "ok")
    assert ESCAPED_JSON[vpc.ref_span[0] : vpc.ref_span[1]] == "v1.2.\\u0033"
    assert reg.version == "~> 1.1.0"
    res = bump_files({"main.tf.json": ESCAPED_JSON.encode()}, address="github.com/acme/mods", to="1.3.0")
    assert res.errors == []
    assert res.changed == {"main.tf.json": ESCAPED_JSON.replace("v1.2.\\u0033", "v1.3.0").encode()}
    assert [(o.old, o.new, o.status) for o in res.outcomes] == [("v1.2.3", "v1.3.0", "bumped")]
    res = bump_files({"main.tf.json": ESCAPED_JSON.encode()}, address="acme/eks/aws", to="1.3.0")
    assert res.changed == {"main.tf.json": ESCAPED_JSON.replace("\\u007e> 1.1.0", "~> 1.3.0").encode()}


# --------------------------------------------------------------------------- 5. dry-run outcomes

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


# --------------------------------------------------------------------------- 6. symlinks

MOD = f'module "vpc" {{\n  source = "{GH}//modules/vpc?ref=v1.2.0"\n}}\n'.encode()


def test_symlinks_are_walked_once_and_never_written_outside_the_roots(tmp_path, capsys):
    root = tmp_path / "tree"
    (root / "x").mkdir(parents=True)
    (root / "x/main.tf").write_bytes(MOD)
    (root / "link.tf").symlink_to("x/main.tf")
    (root / "dirlink").symlink_to("x", target_is_directory=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ext.tf").write_bytes(MOD)
    (root / "ext.tf").symlink_to(outside / "ext.tf")
    (root / "extdir").symlink_to(outside, target_is_directory=True)

    refs = scan_tree([root]).references
    assert sorted(os.path.relpath(r.path, root) for r in refs) == ["ext.tf", "x/main.tf"]

    res = bump_tree([root], address=GH, to="1.3.0", dry_run=True)
    assert sorted(res.changed) == [str(root / "x/main.tf")]
    assert main(["bump", "--source", GH, "--to", "1.3.0", str(root)]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"{root}/ext.tf:2  skipped  v1.2.0  # {root}/ext.tf is a symlink to {outside}/ext.tf, "
        "outside the given paths; not written\n"
        f"{root}/x/main.tf:2  bumped  v1.2.0 -> v1.3.0\n"
    )
    assert (root / "x/main.tf").read_bytes() == MOD.replace(b"v1.2.0", b"v1.3.0")
    assert (root / "link.tf").is_symlink() and (root / "dirlink").is_symlink()
    assert (outside / "ext.tf").read_bytes() == MOD


# --------------------------------------------------------------------------- 7. stack values

STACK = f"""\
unit "db" {{
  source = "{GH}//units/db?ref=v1.0.0"
  path   = "db"
  values = {{
    version = "v1.0.0" # follows the ref
    name    = "v1.0.0"
  }}
}}

stack "platform" {{
  source = "{GH}//stacks/platform?ref=v1.0.0"
  path   = "platform"
  values = {{ version = "v1.0.0", other = 1 }}
}}

unit "cache" {{
  source = "{GH}//units/cache?ref=v1.0.0"
  path   = "cache"
  values = {{
    version = "main"
  }}
}}
"""


def test_stack_values_version_follows_the_ref():
    files = {"live/terragrunt.stack.hcl": STACK.encode()}
    db, platform, cache = scan_files(files).references
    assert (db.to_json()["values_version"], platform.to_json()["values_version"]) == ("v1.0.0", "v1.0.0")
    assert cache.values_span is None and cache.to_json()["values_version"] is None
    assert STACK[db.values_span[0] : db.values_span[1]] == "v1.0.0"
    res = bump_files(files, address=GH, to="1.1.0")
    want = (
        STACK.replace("?ref=v1.0.0", "?ref=v1.1.0")
        .replace('version = "v1.0.0" #', 'version = "v1.1.0" #')
        .replace('{ version = "v1.0.0"', '{ version = "v1.1.0"')
    )
    assert res.changed == {"live/terragrunt.stack.hcl": want.encode()}
    assert [(o.line, o.status, o.reason) for o in res.outcomes if o.line in (5, 13)] == [
        (5, "bumped", "values.version follows the ref"),
        (13, "bumped", "values.version follows the ref"),
    ]
    only_refs = bump_files(files, address=GH, to="1.1.0", stack_values=False)
    assert only_refs.changed == {
        "live/terragrunt.stack.hcl": STACK.replace("?ref=v1.0.0", "?ref=v1.1.0").encode()
    }


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


# --------------------------------------------------------------------------- 8. lazy imports


def _modules_after(imports: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys, {imports}\nprint([m for m in {names!r} if m in sys.modules])\n"
    env = {
        **os.environ,
        "PYTHONPATH": os.environ.get("PYTHONPATH") or str(Path(__file__).parents[1] / "scripts"),
    }
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.replace("'", '"'))


def test_importing_refs_and_bump_loads_no_heavy_modules():
    # Loaded only where used: the process pool (large trees), difflib (--dry-run), rich (TTY bar).
    lib = ("concurrent.futures", "pathlib", "difflib", "rich", "hcl2", "lark")
    assert _modules_after("catalog_ops.refs.scan, catalog_ops.bump", lib) == []
    cmds = ("concurrent.futures", "difflib", "rich", "hcl2", "lark")
    assert _modules_after("catalog_ops.commands.refs, catalog_ops.commands.bump", cmds) == []
