"""Command-line entry point: parses arguments and dispatches to ``catalog_ops.commands.<name>``.

Each command module exposes ``add_parser(subparsers)`` (which sets ``func``) and
``run(args, settings) -> int``. Errors raised below are ``CatalogOpsError`` subclasses; this
module is the only place that turns them into messages and exit codes.
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
from collections.abc import Sequence
from pathlib import Path

from catalog_ops import __version__
from catalog_ops.errors import CatalogOpsError
from catalog_ops.settings import Settings

COMMANDS = ("refs", "bump", "release", "rollout", "check", "sweep", "dashboard", "forge", "tools")


def build_parser() -> argparse.ArgumentParser:
    """Return the full ``catalog-ops`` argument parser (also used to generate docs)."""
    parser = argparse.ArgumentParser(
        prog="catalog-ops",
        description="CI/CD for a Terraform service catalog and its dependents.",
    )
    parser.add_argument("--version", action="version", version=f"catalog-ops {__version__}")
    parser.add_argument(
        "--forge", choices=("local", "github"), help="forge to use (default: local, or $CATALOG_OPS_FORGE)"
    )
    parser.add_argument("--local-root", help="root of <owner>/<repo> git repos for the local forge")
    parser.add_argument(
        "--github-api-url", help="GitHub REST base URL (GitHub Enterprise: https://HOST/api/v3)"
    )
    parser.add_argument("--tf-binary", choices=("terraform", "tofu"), help="Terraform CLI flavour to run")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = importlib.import_module(f"catalog_ops.commands.{name}")
        module.add_parser(sub)
    return parser


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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(
            None,
            forge=args.forge,
            local_root=args.local_root and Path(args.local_root).expanduser(),
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
