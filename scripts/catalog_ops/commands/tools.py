"""`catalog-ops tools`: not implemented yet."""

from __future__ import annotations

import argparse

from catalog_ops.errors import CatalogOpsError
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("tools", help="(not implemented yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise CatalogOpsError("'tools' is not implemented yet")
