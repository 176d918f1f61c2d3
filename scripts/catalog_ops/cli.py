"""Command-line entry point: parses arguments and dispatches to ``catalog_ops.commands.<name>``.

Each command module exposes ``add_parser(subparsers)`` (which sets ``func``) and
``run(args, settings) -> int``. Errors raised below are ``CatalogOpsError`` subclasses; this
module is the only place that turns them into messages and exit codes.

Every option can also be given as a ``CATALOG_OPS_<DEST>`` environment variable (``parse_args``:
the one rule, for every command), so the GitHub step actions run one plain command with their
inputs in ``env:``. Run-wide settings (``--forge``, ``CATALOG_OPS_LOCAL_ROOT``, tokens, ...) are
``Settings.from_env``'s.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import select
import stat
import sys
from collections.abc import Iterator, Mapping, Sequence

from catalog_ops import __version__
from catalog_ops.errors import CatalogOpsError
from catalog_ops.forge import FORGE_KINDS
from catalog_ops.settings import SETTINGS_VARIABLES, Settings

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy treats it the same)
if TYPE_CHECKING:  # annotations only: typing costs ≈ 3.5 ms of every start
    from pathlib import Path
    from typing import Any, NoReturn

COMMANDS = ("refs", "bump", "release", "rollout", "check", "sweep", "dashboard", "forge", "tools")


COMMAND_HELP = {
    "refs": "list module references",
    "bump": "bump module references",
    "release": "cut a catalog release",
    "rollout": "roll a catalog release out to dependents",
    "check": "catalog PR checks",
    "sweep": "dependency sweep",
    "dashboard": "rollout dashboard",
    "forge": "forge operations",
    "tools": "pinned tools",
}


def command_of(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is one), or None."""
    return next((a for a in argv if a in COMMANDS), None)


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, by its rules (a positive ``$COLUMNS``, else the
    width of the terminal on ``sys.__stdout__``, else 80), without importing ``shutil``."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    stdout = sys.__stdout__
    try:
        return (os.get_terminal_size(stdout.fileno()).columns if stdout is not None else 0) or 80
    except (AttributeError, ValueError, OSError):  # closed, detached or not a terminal
        return 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help formatter at argparse's default width (``terminal_columns() - 2``).

    argparse builds a formatter for every ``add_argument`` (and sizes it with
    ``shutil.get_terminal_size``); ``shutil`` with the compression modules it loads costs
    ≈ 2.5 ms of every start, so the width comes from ``terminal_columns`` instead."""

    def __init__(
        self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None
    ) -> None:
        width = terminal_columns() - 2 if width is None else width
        super().__init__(prog, indent_increment, max_help_position, width)


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose help formatter is ``HelpFormatter`` by default; the
    parsers of subcommands (``add_subparsers``) are of this class too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        """argparse's usage error; a run-wide option given after the command (only the
        top-level parser knows them) gets a hint saying where it goes."""
        if message.startswith("unrecognized arguments:"):
            given = message.split(":", 1)[1].split()
            misplaced = [a.split("=", 1)[0] for a in given if a.split("=", 1)[0] in RUN_WIDE_OPTIONS]
            if misplaced:
                names = list(dict.fromkeys(misplaced))
                message += (
                    f" ({', '.join(names)}: run-wide options go before the command, "
                    f"e.g. catalog-ops {names[0]} VALUE COMMAND ...)"
                )
        super().error(message)


RUN_WIDE_OPTIONS = ("--forge", "--local-root", "--github-api-url", "--tf-binary")
"""The options of the top-level parser, which precede the command (``build_parser``)."""


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Return the ``catalog-ops`` argument parser (also used to generate docs).

    ``only``: import and register just that command's module (fast start: a command imports
    only what it runs); the others get a placeholder parser. None: every command, in full."""
    parser = ArgumentParser(
        prog="catalog-ops",
        description="CI/CD for a Terraform service catalog and its dependents.",
    )
    parser.add_argument("--version", action="version", version=f"catalog-ops {__version__}")
    parser.add_argument(
        "--forge", choices=tuple(FORGE_KINDS), help="forge to use (default: local, or $CATALOG_OPS_FORGE)"
    )
    parser.add_argument("--local-root", help="root of <owner>/<repo> git repos for the local forge")
    parser.add_argument(
        "--github-api-url", help="GitHub REST base URL (GitHub Enterprise: https://HOST/api/v3)"
    )
    parser.add_argument("--tf-binary", choices=("terraform", "tofu"), help="Terraform CLI flavour to run")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        if only is not None and name != only:
            sub.add_parser(name, help=COMMAND_HELP.get(name), add_help=False)
            continue
        module = importlib.import_module(f"catalog_ops.commands.{name}")
        module.add_parser(sub)
    for p, up in _walk(parser):
        if up is not None and p.add_help and p.epilog is None:
            p.epilog = _run_wide_epilog(p.prog)
    return parser


def _run_wide_epilog(prog: str) -> str:
    """What a command's ``--help`` says of the run-wide options, which only the top-level
    parser lists: where they go, and that every option is also an environment variable."""
    command = prog.removeprefix("catalog-ops ")
    return (
        "Run-wide options go before the command: catalog-ops [--forge {"
        + ",".join(FORGE_KINDS)
        + f"}}] [--local-root DIR] [--github-api-url URL] [--tf-binary {{terraform,tofu}}] {command} [OPTIONS]. "
        f"Every option is also read from {ENV_PREFIX}<OPTION> (e.g. {ENV_PREFIX}FORGE, "
        f"{ENV_PREFIX}LOCAL_ROOT); see catalog-ops --help."
    )


# --------------------------------------------------------------------------- options from the environment
ENV_PREFIX = "CATALOG_OPS_"
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def option_env_name(dest: str) -> str:
    """The environment variable of an option: ``CATALOG_OPS_`` + its argparse ``dest`` in upper
    case (``--plan`` -> ``CATALOG_OPS_PLAN``, ``--dry-run`` -> ``CATALOG_OPS_DRY_RUN``)."""
    return ENV_PREFIX + dest.upper()


def _walk(
    parser: argparse.ArgumentParser, parent: argparse.ArgumentParser | None = None
) -> Iterator[tuple[argparse.ArgumentParser, argparse.ArgumentParser | None]]:
    yield parser, parent
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):  # aliases map to the same parser
                yield from _walk(sub, parser)


def _env_actions(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The actions of ``parser`` (one level) that the environment can set: every option and every
    list positional (``nargs`` ``*``/``+``); not --help/--version, not the run-wide settings
    (``--forge`` etc., read by ``Settings.from_env``)."""
    from catalog_ops.settings import SETTINGS_VARIABLES

    out = []
    for action in parser._actions:
        if isinstance(action, (argparse._SubParsersAction, argparse._HelpAction, argparse._VersionAction)):
            continue
        if action.dest == argparse.SUPPRESS or option_env_name(action.dest) in SETTINGS_VARIABLES:
            continue
        if action.option_strings or action.nargs in ("*", "+"):
            out.append(action)
    return out


def option_env_names(parser: argparse.ArgumentParser) -> frozenset[str]:
    """Every ``CATALOG_OPS_*`` name an option of any command reads (``Settings.from_env`` accepts
    them: a variable meant for one command does not break another one)."""
    return frozenset(option_env_name(a.dest) for p, _ in _walk(parser) for a in _env_actions(p))


def parse_args(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None, env: Mapping[str, str]
) -> argparse.Namespace:
    """``parser.parse_args(argv)`` with options the command line leaves out taken from ``env``.

    Rules (one for every command): an option's variable is ``option_env_name(dest)``; a flag on
    the command line wins over the variable; an empty or blank variable counts as unset (so an
    action can map an empty input); a repeatable option (``append``) or a list positional takes a
    whitespace-separated list; a switch (``store_true``/``store_false``/``--x/--no-x``) takes the
    value of its ``dest``: ``true``/``yes``/``on``/``1`` or ``false``/``no``/``off``/``0``.
    Values are converted and checked like the flag's (``type``, ``choices``); in a mutually
    exclusive group a flag on the command line wins over the other members' variables, and two
    members' variables set at once are an error (like the two flags).

    Raises:
        SystemExit: (via ``parser.error``, exit 2) a bad value, naming the variable, or a required
            option given neither on the command line nor in ``env``.
    """
    tree = list(_walk(parser))
    saved: list[tuple[argparse.Action, Any, bool, Any]] = []
    groups = [g for sub, _ in tree for g in sub._mutually_exclusive_groups if g.required]
    for sub, _ in tree:
        sub.set_defaults(**{_PARSER_KEY: sub})
        if sub.usage is None and _relaxing_changes_usage(sub):
            # keep the usage text identical while required-ness is relaxed
            sub.usage = sub.format_usage().removeprefix("usage: ").rstrip("\n").replace("%", "%%")
        for action in _env_actions(sub):
            saved.append((action, action.default, action.required, action.nargs))
            action.default = argparse.SUPPRESS
            action.required = False
            if action.nargs == "+":
                action.nargs = "*"
    for group in groups:
        group.required = False
    try:
        args, extras = parser.parse_known_args(argv)
    finally:
        for action, default, required, nargs in saved:
            action.default, action.required, action.nargs = default, required, nargs
        for group in groups:
            group.required = True
    chosen: argparse.ArgumentParser = getattr(args, _PARSER_KEY)
    delattr(args, _PARSER_KEY)
    parents = dict((id(sub), parent) for sub, parent in tree)
    chain: list[argparse.ArgumentParser] = []
    cur: argparse.ArgumentParser | None = chosen
    while cur is not None:
        chain.append(cur)
        cur = parents[id(cur)]
    missing: list[str] = []
    for sub in chain:
        given = {a.dest for a in _env_actions(sub) if hasattr(args, a.dest)}
        blocked: set[str] = set()  # members of an exclusive group a command-line flag fills
        from_env: dict[str, str] = {}  # dest -> variable, for exclusive-group conflicts
        for group in sub._mutually_exclusive_groups:
            dests = [a.dest for a in group._group_actions]
            if any(d in given for d in dests):
                blocked.update(d for d in dests if d not in given)
        for action in _env_actions(sub):
            if hasattr(args, action.dest):
                continue
            name = option_env_name(action.dest)
            raw = env.get(name, "")
            if raw.strip() and action.dest not in blocked:
                for group in sub._mutually_exclusive_groups:
                    clash = [
                        from_env[a.dest]
                        for a in group._group_actions
                        if a is not action and a.dest in from_env
                    ]
                    if action in group._group_actions and clash:
                        sub.error(f"{name}: not allowed with {clash[0]}")
                setattr(args, action.dest, _env_value(sub, action, name, raw))
                from_env[action.dest] = name
            elif (action.required and action.option_strings) or action.nargs == "+":
                missing.append("/".join(action.option_strings) or str(action.metavar or action.dest))
            elif action.default is None and action.nargs == "*" and not action.option_strings:
                setattr(args, action.dest, [])  # what argparse gives an empty list positional
            else:
                setattr(args, action.dest, action.default)
        if missing:
            sub.error(f"the following arguments are required: {', '.join(missing)}")
        for group in sub._mutually_exclusive_groups:
            if group.required and all(getattr(args, a.dest, None) is None for a in group._group_actions):
                names = " ".join("/".join(a.option_strings) for a in group._group_actions)
                sub.error(f"one of the arguments {names} is required")
    if extras:  # after the required checks, in argparse's order
        parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return args


_PARSER_KEY = "_catalog_ops_parser"


def _relaxing_changes_usage(parser: argparse.ArgumentParser) -> bool:
    """Whether ``parse_args``' relaxing (every env action optional, ``nargs`` ``+`` -> ``*``,
    required exclusive groups optional) changes ``parser``'s usage text: usage shows only
    required-ness and ``nargs``, so it changes exactly when one of those was required or ``+``.
    Formatting a usage costs a help formatter each, so the others are left alone (start-up)."""
    return any(a.required or a.nargs == "+" for a in _env_actions(parser)) or any(
        g.required for g in parser._mutually_exclusive_groups
    )


def _env_value(parser: argparse.ArgumentParser, action: argparse.Action, name: str, raw: str) -> object:
    """``raw`` (the value of variable ``name``) converted as ``action`` converts its arguments."""
    if action.nargs == 0:  # a switch: the variable holds the dest's value
        word = raw.strip().lower()
        if word not in _TRUE + _FALSE:
            parser.error(f"{name}: expected true/yes/on/1 or false/no/off/0, not {raw!r}")
        on = word in _TRUE
        if isinstance(action, argparse._StoreConstAction) and not isinstance(
            action, (argparse._StoreTrueAction, argparse._StoreFalseAction)
        ):
            return action.const if on else action.default
        return on  # store_true, store_false (``--no-x``, dest ``x``), ``--x/--no-x``
    try:
        if isinstance(action, argparse._AppendAction) or action.nargs in ("*", "+"):
            items = raw.split()
            if isinstance(action, argparse._AppendAction):
                return [parser._get_values(action, [item]) for item in items]
            return parser._get_values(action, items)
        return parser._get_values(action, [raw.strip()])
    except argparse.ArgumentError as exc:
        parser.error(f"{name}: {exc.message}")
    raise AssertionError("unreachable")  # parser.error exits


# Exit status after stdout was closed early (``catalog-ops ... | head``): 128 + SIGPIPE, what a
# shell reports for a process killed by SIGPIPE.
EXIT_BROKEN_PIPE = 141


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code.

    A reader that closes stdout early (``| head``) ends the run quietly with ``EXIT_BROKEN_PIPE``
    instead of a ``BrokenPipeError`` traceback (the recipe of the Python docs, "Note on SIGPIPE":
    flush inside the handler's scope, then point stdout at devnull so the interpreter's final
    flush cannot fail again). The same holds when the closed pipe shows up as an ``OSError`` with
    ``EPIPE`` (possibly wrapped by a library) or only as a short write that Python did not report
    (then stdout, a pipe, has no reader left at the end of the run).
    """
    try:
        try:
            code = _main(argv)
        except SystemExit:  # argparse --help/--version/usage errors: their output must be flushed too
            sys.stdout.flush()
            raise
        sys.stdout.flush()
        if code == 0 and _stdout_reader_gone():  # a failure's own exit code is more telling
            raise BrokenPipeError(errno.EPIPE, "stdout reader gone")
        return code
    except (BrokenPipeError, OSError, ValueError) as exc:
        if not _is_broken_pipe(exc):
            raise
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        return EXIT_BROKEN_PIPE


def _is_broken_pipe(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it wraps) means stdout's reader went away."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, BrokenPipeError) or (isinstance(cur, OSError) and cur.errno == errno.EPIPE):
            return True
        if isinstance(cur, ValueError) and "closed file" in str(cur) and _stdout_closed():
            return True
        cur = cur.__cause__ or cur.__context__
    return False


def _stdout_closed() -> bool:
    return bool(getattr(sys.stdout, "closed", False))


def _stdout_reader_gone() -> bool:
    """True when stdout is a pipe whose read end is closed (``poll`` reports ``POLLERR``).

    Catches output lost to a short write that Python did not turn into ``BrokenPipeError``
    (a large write interrupted by the reader exiting).
    """
    if not hasattr(select, "poll"):
        return False
    try:
        fd = sys.stdout.fileno()
        if not stat.S_ISFIFO(os.fstat(fd).st_mode):
            return False
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(ev & select.POLLERR for _fd, ev in poller.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def _main(argv: Sequence[str] | None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    command = command_of(words)
    parser = build_parser(command)
    args = parse_args(parser, argv, os.environ)
    names = own = option_env_names(parser)
    if command is not None and any(
        k.startswith(ENV_PREFIX) and k not in names and k not in SETTINGS_VARIABLES for k in os.environ
    ):
        # A variable of another command's option is known, not a typo: ask the full parser
        # (only then are the other commands imported).
        names = option_env_names(build_parser())
    local_root: str | Path | None = args.local_root
    if local_root:  # pathlib only then: ≈ 4 ms of start-up (with urllib.parse, ipaddress)
        from pathlib import Path

        local_root = Path(local_root).expanduser()
    try:
        settings = Settings.from_env(
            None,
            option_names=names,
            command_options=own,
            forge=args.forge,
            local_root=local_root,
            github_api_url=args.github_api_url,
            tf_binary=args.tf_binary,
        )
        return int(args.func(args, settings))
    except CatalogOpsError as exc:
        print(f"catalog-ops: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("catalog-ops: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
