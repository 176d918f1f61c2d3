"""Command-line entry point: parses arguments and dispatches to ``catalog_ops.commands.<name>``.

Each command module exposes ``add_parser(subparsers)`` (which sets ``func``) and
``run(args, settings) -> int``. Errors raised below are ``CatalogOpsError`` subclasses; this
module is the only place that turns them into messages and exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

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
    flush cannot fail again).
    """
    try:
        try:
            code = _main(argv)
        except SystemExit:  # argparse --help/--version/usage errors: their output must be flushed too
            sys.stdout.flush()
            raise
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env(
            None,
            forge=args.forge,
            local_root=args.local_root and __import__("pathlib").Path(args.local_root).expanduser(),
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
