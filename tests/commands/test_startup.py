"""Start-up cost of the CLI: what ``catalog-ops refs`` loads, and the argparse work it skips.

No timing assertions: the guards are the modules a run leaves in ``sys.modules`` (an import
added later cannot silently bring the cost back) and that the skipped work changes no output.
"""

from __future__ import annotations

import argparse
import fcntl
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from catalog_ops import cli
from catalog_ops.refs import RefKindOfEntry

# Loaded on first use only, never by `refs` on a tree without provider blocks (figures: -X importtime).
NOT_AT_START = (
    "semver",  # core.versions' base class: classify_ref needs only core.version_text's regex
    "catalog_ops.core.versions",
    "typing",  # annotations only (TYPE_CHECKING), but core.addresses' named tuples
    "catalog_ops.core.addresses",
    "shutil",  # argparse sizes help with shutil.get_terminal_size; cli.terminal_columns does without
    "concurrent.futures",
    "catalog_ops.commands.bump",
    "dataclasses",  # with inspect, ast, dis, tokenize (≈ 10 ms); no class on the refs path is one
    "inspect",
    "pathlib",  # with urllib.parse and ipaddress (≈ 4 ms): settings.default_local_root on first use
    "urllib.parse",
)


def _python(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_OPS_")}
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH") or str(Path(__file__).parents[2] / "scripts")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_refs_on_an_empty_tree_loads_nothing_it_does_not_use(tmp_path: Path) -> None:
    code = (
        "import contextlib, io, sys\n"
        "import catalog_ops.cli, catalog_ops.commands.refs\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    rc = catalog_ops.cli.main(['refs', '--json', {str(tmp_path)!r}])\n"
        "assert rc == 0 and '\"references\": []' in out.getvalue(), (rc, out.getvalue())\n"
        f"print([m for m in {NOT_AT_START!r} if m in sys.modules])\n"
    )
    assert _python(code) == "[]"


def test_what_start_up_leaves_out_is_loaded_on_first_use() -> None:
    code = (
        "import sys\n"
        "from catalog_ops.core import sources\n"
        "before = [m in sys.modules for m in ('semver', 'typing')]\n"
        "src = sources.parse_source('git::https://example.com/acme/m.git?ref=modules/vpc/v1.2.3')\n"
        "after_source = [m in sys.modules for m in ('semver', 'catalog_ops.core.versions', 'typing')]\n"
        "aws = sources.parse_provider_address('hashicorp/aws')\n"
        "from catalog_ops.core import addresses\n"
        "assert type(aws) is sources.ProviderAddress is addresses.ProviderAddress\n"
        "assert sources.RegistryModuleAddress is addresses.RegistryModuleAddress\n"
        "print([before, str(src.ref_kind), after_source, tuple(aws)])\n"
    )
    want = (
        "[[False, False], 'semver_tag', [False, False, False], ('registry.terraform.io', 'hashicorp', 'aws')]"
    )
    assert _python(code) == want


@pytest.mark.parametrize("dirs", [3, 40])  # 40: the split scan forks workers (refs.disk.SPLIT_DIRS)
def test_refs_of_version_tagged_sources_never_load_semver(tmp_path: Path, dirs: int) -> None:
    """Telling a version tag from a branch (``classify_ref``) takes ``core.version_text``'s regex
    only; ``semver`` (≈ 12 ms with ``typing``) is not loaded, in this process or before a fork."""
    for i in range(dirs):
        d = tmp_path / f"d{i:02}"
        d.mkdir()
        (d / "main.tf").write_text(
            f'module "m" {{\n  source = "git::https://example.com/acme/m.git//x?ref=modules/x/v1.{i}.0"\n}}\n'
        )
    code = (
        "import contextlib, io, json, sys\n"
        "import catalog_ops.cli, catalog_ops.commands.refs\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    rc = catalog_ops.cli.main(['refs', '--json', {str(tmp_path)!r}])\n"
        "refs = json.loads(out.getvalue())['references']\n"
        "kinds = sorted({r['ref_kind'] for r in refs})\n"
        "print([rc, len(refs), kinds, [m for m in ('semver', 'catalog_ops.core.versions') if m in sys.modules]])\n"
    )
    assert _python(code) == f"[0, {dirs}, ['semver_tag'], []]"


# Every reference form `refs` reads (refs.extract.EXTRACTORS), with overrides and includes.
_EVERY_FORM = {
    "main.tf": """terraform {
  required_version = ">= 1.5"
  required_providers {
    aws = { source = "hashicorp/aws", version = "~> 5.0" }
  }
}
provider "google" {
  version = "~> 4.0"
}
module "vpc" {
  source = "git::https://example.com/acme/modules.git//vpc?ref=v1.2.{i}"
}
module "eks" {
  source  = "acme/eks/aws"
  version = "2.0.{i}"
}
""",
    "override.tf": 'module "eks" {\n  version = "2.1.{i}"\n}\n',
    "extra.tf.json": '{{"module": {{"db": {{"source": "github.com/acme/db?ref=v0.{i}.0"}}}}}}',
    "root.hcl": 'locals {{\n  base = "git::https://example.com/acme/live.git"\n}}\n',
    "app/terragrunt.hcl": """include "root" {{
  path = find_in_parent_folders("root.hcl")
}}
terraform {{
  source = "${{include.root.locals.base}}//app?ref=v3.{i}.0"
}}
""",
    "terragrunt.stack.hcl": """unit "app" {{
  source = "git::https://example.com/acme/units.git//app?ref=v4.{i}.0"
  path   = "app"
  values = {{ version = "v4.{i}.0" }}
}}
stack "more" {{
  source = "github.com/acme/stacks//more?ref=v5.{i}.0"
  path   = "more"
}}
""",
    ".terraform-version": "1.9.{i}\n",
    ".tool-versions": "terraform 1.9.{i}\n",
}


def test_a_forked_scan_imports_no_dataclasses_in_any_worker(tmp_path: Path) -> None:
    """``refs`` over more directories than ``refs.disk.SPLIT_DIRS``, every reference form in each,
    with two workers (this process and a forked child): no module on the scan path imports
    ``dataclasses`` or ``inspect``, in either, not even once they are loaded (a wrapped
    ``__import__`` records each import statement and its module; a child reports as it exits)."""
    for i in range(40):
        d = tmp_path / f"d{i:02}"
        (d / "app").mkdir(parents=True)
        for name, text in _EVERY_FORM.items():
            (d / name).write_text(text.replace("{i}", str(i)) if "{{" not in text else text.format(i=i))
    reports = tmp_path.parent / f"{tmp_path.name}-imports"
    reports.mkdir()
    code = (
        "import contextlib, io, json, os, sys\n"
        "os.cpu_count = lambda: 2\n"
        "import builtins\n"
        "imports, real_import = [], builtins.__import__\n"
        "def watch(name, globals=None, *args, **kwargs):\n"
        "    if name in ('dataclasses', 'inspect'):\n"
        "        imports.append([name, (globals or {}).get('__name__')])\n"
        "    return real_import(name, globals, *args, **kwargs)\n"
        "builtins.__import__ = watch\n"
        "parent, real_exit = os.getpid(), os._exit\n"
        "def report_and_exit(code):\n"
        "    if os.getpid() != parent:\n"
        f"        with open(os.path.join({str(reports)!r}, str(os.getpid())), 'w') as f:\n"
        "            json.dump(imports, f)\n"
        "    real_exit(code)\n"
        "os._exit = report_and_exit\n"
        "import catalog_ops.cli, catalog_ops.commands.refs\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        f"    rc = catalog_ops.cli.main(['refs', '--json', {str(tmp_path)!r}])\n"
        "refs = json.loads(out.getvalue())['references']\n"
        "print(json.dumps([rc, len(refs), sorted({r['entry'] for r in refs}), imports]))\n"
    )
    rc, count, entries, imports = json.loads(_python(code))
    children = [json.loads(p.read_text()) for p in reports.iterdir()]
    assert [rc, count, len(children)] == [0, 40 * 11, 1]
    assert entries == sorted(str(e) for e in RefKindOfEntry)
    for found in [imports, *children]:
        assert found == []


def _valued_option(parser: argparse.ArgumentParser) -> str | None:
    """The first option of ``parser`` that takes exactly one value, or None."""
    for a in parser._actions:
        if a.option_strings and isinstance(a, argparse._StoreAction) and a.nargs is None:
            return a.option_strings[0]
    return None


# Every command (leaf parser) with an option taking one value: almost all of them.
_LEAVES = [
    p.prog.split()[1:]
    for p, _ in cli._walk(cli.build_parser())
    if _valued_option(p) and not any(isinstance(a, argparse._SubParsersAction) for a in p._actions)
]


@pytest.mark.parametrize("words", _LEAVES, ids=[" ".join(w) for w in _LEAVES])
def test_usage_in_an_error_during_parsing_is_the_parsers_own(words: list[str], capsys) -> None:
    """``parse_args`` relaxes required options while argparse parses and formats a parser's usage
    beforehand only where relaxing changes it: an error raised mid-parse (an option without its
    value) still shows the usage ``format_usage`` gives on an untouched parser, for every command."""
    fresh = {p.prog: p for p, _ in cli._walk(cli.build_parser())}
    leaf = fresh["catalog-ops " + " ".join(words)]
    option = _valued_option(leaf)
    assert option is not None
    with pytest.raises(SystemExit) as exc:
        cli.parse_args(cli.build_parser(words[0]), [*words, option], {})
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "expected one argument" in err
    assert err.startswith(leaf.format_usage())


class _Fileless:
    """A stdout without ``fileno`` (a detached or replaced stream)."""


@pytest.mark.parametrize("columns", [None, "", "0", "-5", "abc", "1", "57", " 132 ", "100000"])
@pytest.mark.parametrize("stdout", ["pty", "pipe", "closed", "stringio", "fileless", "none"])
def test_terminal_columns_are_shutils(columns: str | None, stdout: str, monkeypatch) -> None:
    """``cli.terminal_columns`` (which sizes every help text) equals
    ``shutil.get_terminal_size().columns`` for every ``$COLUMNS`` and kind of ``sys.__stdout__``."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.delenv("LINES", raising=False)
    fds: list[int] = []
    stream: object = None
    if stdout == "pty":
        main, tty = os.openpty()
        fds += [main, tty]
        fcntl.ioctl(tty, termios.TIOCSWINSZ, struct.pack("HHHH", 31, 93, 0, 0))
        stream = open(tty, "w", closefd=False)  # noqa: SIM115  (closed below)
    elif stdout in ("pipe", "closed"):
        r, w = os.pipe()
        fds += [r, w]
        stream = open(w, "w", closefd=False)  # noqa: SIM115
        if stdout == "closed":
            stream.close()
    elif stdout == "stringio":
        stream = io.StringIO()
    elif stdout == "fileless":
        stream = _Fileless()
    monkeypatch.setattr(sys, "__stdout__", stream)
    try:
        want = shutil.get_terminal_size().columns
        assert cli.terminal_columns() == want
        if stdout == "pty" and not (columns or "").strip().isdigit():
            assert want == 93  # the terminal's width was used, not the fallback
    finally:
        if isinstance(stream, io.TextIOWrapper):
            stream.close()
        for fd in fds:
            os.close(fd)
