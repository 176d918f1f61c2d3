"""Exit 141 (128 + SIGPIPE) whenever stdout's reader goes away, whatever prints the output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


# ----------------------------------------------------------------- options from CATALOG_OPS_* variables
def _parse(argv: list[str], env: dict[str, str]):
    from catalog_ops.cli import build_parser, parse_args

    return parse_args(build_parser(), argv, env)


def test_options_come_from_the_environment_and_flags_win() -> None:
    env = {
        "CATALOG_OPS_PLAN": "env.json",
        "CATALOG_OPS_DRY_RUN": "true",
        "CATALOG_OPS_WAIT_TIMEOUT": "30",
        "CATALOG_OPS_SHARD": "",  # empty = unset (an action input left empty)
    }
    args = _parse(["rollout", "apply"], env)
    assert (str(args.plan), args.dry_run, args.wait_timeout, args.shard) == ("env.json", True, 30.0, None)
    args = _parse(["rollout", "apply", "--plan", "flag.json", "--wait-timeout", "5"], env)
    assert (str(args.plan), args.wait_timeout) == ("flag.json", 5.0)
    args = _parse(["rollout", "apply", "--plan", "p.json"], {"CATALOG_OPS_DRY_RUN": "false"})
    assert args.dry_run is False and args.merge_method == "squash"  # defaults as without the variable


def test_lists_switches_and_positionals_from_the_environment() -> None:
    args = _parse(
        ["rollout", "plan", "--catalog", "acme/cat"],
        {"CATALOG_OPS_ORG": "acme", "CATALOG_OPS_TOPIC": "a  b\nc", "CATALOG_OPS_BUMP_ALL": "yes"},
    )
    assert (args.org, args.topic, args.bump_all, args.include) == ("acme", ["a", "b", "c"], True, [])
    args = _parse(
        ["rollout", "plan", "--catalog", "c", "--org", "o", "--topic", "x"], {"CATALOG_OPS_TOPIC": "a b"}
    )
    assert args.topic == ["x"]  # a repeated flag replaces the whole list
    args = _parse(["check", "lint"], {"CATALOG_OPS_MODULES": "modules/a modules/b"})
    assert args.modules == ["modules/a", "modules/b"]
    assert _parse(["check", "lint"], {}).modules == []
    args = _parse(["bump", "x.tf", "--source", "s", "--to", "v1"], {"CATALOG_OPS_STACK_VALUES": "false"})
    assert args.stack_values is False  # the variable holds the dest's value (--no-stack-values)
    args = _parse(["release", "--repo", "a/b"], {"CATALOG_OPS_CHECKS_GATE": "false"})
    assert args.checks_gate is False
    assert _parse(["check", "report"], {"CATALOG_OPS_RESULTS": "r1 r2"}).results == ["r1", "r2"]


def test_bad_or_missing_values_are_usage_errors_naming_the_variable(capsys) -> None:
    for argv, env, message in (
        (
            ["release", "--repo", "a/b"],
            {"CATALOG_OPS_BUMP": "huge"},
            "CATALOG_OPS_BUMP: invalid choice: 'huge'",
        ),
        (
            ["rollout", "apply"],
            {"CATALOG_OPS_PLAN": "p", "CATALOG_OPS_CONCURRENCY": "x"},
            "CATALOG_OPS_CONCURRENCY:",
        ),
        (
            ["rollout", "apply", "--plan", "p"],
            {"CATALOG_OPS_DRY_RUN": "maybe"},
            "CATALOG_OPS_DRY_RUN: expected true/yes/on/1 or false/no/off/0",
        ),
        (["rollout", "apply"], {}, "the following arguments are required: --plan"),
        (["check", "report"], {}, "the following arguments are required: results"),
        (["rollout", "plan", "--catalog", "c"], {}, "one of the arguments --org --dependents is required"),
        (
            ["rollout", "plan", "--catalog", "c"],
            {"CATALOG_OPS_ORG": "o", "CATALOG_OPS_DEPENDENTS": "d.txt"},
            "CATALOG_OPS_DEPENDENTS: not allowed with CATALOG_OPS_ORG",
        ),
    ):
        with pytest.raises(SystemExit) as exc:
            _parse(argv, env)
        assert exc.value.code == 2
        assert message in capsys.readouterr().err
    args = _parse(["rollout", "plan", "--catalog", "c", "--dependents", "d.txt"], {"CATALOG_OPS_ORG": "o"})
    assert (str(args.dependents), args.org) == (
        "d.txt",
        None,
    )  # the flag wins over the group's other variable


def test_settings_accept_option_variables_and_still_reject_typos(monkeypatch, capsys) -> None:
    from catalog_ops import cli

    monkeypatch.setenv("CATALOG_OPS_JSON", "true")
    monkeypatch.setenv("CATALOG_OPS_PLAN", "unused-by-tools.json")  # another command's option: accepted
    assert cli.main(["tools", "list", "terraform"]) in (0, 4)
    out = capsys.readouterr().out
    assert out.lstrip().startswith("[")  # --json came from CATALOG_OPS_JSON
    monkeypatch.setenv("CATALOG_OPS_PLNA", "x")
    assert cli.main(["tools", "list"]) == 2
    err = capsys.readouterr().err
    assert "unknown setting(s): CATALOG_OPS_PLNA" in err
    assert (
        "this command's options: " in err and "CATALOG_OPS_JSON" in err.split("this command's options: ")[1]
    )
    for word in ("1", "yes", "on"):  # documented switch values (README, docs/workflows.md)
        monkeypatch.delenv("CATALOG_OPS_PLNA")
        monkeypatch.setenv("CATALOG_OPS_JSON", word)
        assert cli.main(["tools", "list", "terraform"]) in (0, 4)
        assert capsys.readouterr().out.lstrip().startswith("[")
        monkeypatch.setenv("CATALOG_OPS_PLNA", "x")


@pytest.mark.parametrize("setting", [None, "CATALOG_OPS_TOOLS_DIR"])
def test_a_command_imports_only_its_own_module(tmp_path: Path, setting: str | None) -> None:
    """Fast start: ``refs`` does not import the other commands, rich, Jinja2 or PyYAML — also
    with a run-wide setting such as ``CATALOG_OPS_TOOLS_DIR`` set (a cold ``make test`` with its
    own tool cache once imported every command because of it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_OPS_")}
    if setting:
        env[setting] = str(tmp_path / "tools")
    code = (
        "import sys\n"
        "from catalog_ops.cli import main\n"
        f"rc = main(['refs', {str(tmp_path)!r}])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('rich', 'jinja2', 'yaml')"
        " or m.startswith('catalog_ops.commands.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip().splitlines()[-1] == "['catalog_ops.commands.refs']"


def test_every_command_help_says_where_the_run_wide_options_go(capsys):
    """A command's ``--help`` lists only its own options; the run-wide ones (``--forge``,
    ``--local-root``, ...) exist only before the command, so each help says so."""
    import pytest

    from catalog_ops.cli import _walk, build_parser, main

    commands = [p.prog.split()[1:] for p, up in _walk(build_parser()) if up is not None and p.add_help]
    assert ["rollout", "plan"] in commands and ["refs"] in commands
    for argv in commands:
        with pytest.raises(SystemExit) as exc:
            main([*argv, "--help"])
        assert exc.value.code == 0
        out = " ".join(capsys.readouterr().out.split())
        assert "Run-wide options go before the command: catalog-ops [--forge {local,github}]" in out, argv
        assert (
            f"[--local-root DIR] [--github-api-url URL] [--tf-binary {{terraform,tofu}}] {' '.join(argv)}"
            in out
        )
        assert "CATALOG_OPS_LOCAL_ROOT" in out


def test_a_run_wide_option_after_the_command_gets_a_hint(capsys):
    """``--local-root`` (and the other run-wide options) exist only before the command; given
    after it, argparse's "unrecognized arguments" error says where it goes."""
    import pytest

    from catalog_ops.cli import main

    for argv, named in (
        (["forge", "show", "acme/app", "--local-root", "/x"], "--local-root"),
        (["forge", "show", "--local-root", "/x"], "--local-root"),  # /x taken as the repo
        (["refs", ".", "--forge=github", "--tf-binary", "tofu"], "--forge, --tf-binary"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert (
            f"({named}: run-wide options go before the command, e.g. catalog-ops {named.split(',')[0]} VALUE COMMAND ...)"
            in err
        )
    with pytest.raises(SystemExit):
        main(["refs", ".", "--bogus"])
    assert "run-wide" not in capsys.readouterr().err
