"""`catalog-ops release`: not implemented yet."""

from __future__ import annotations

import argparse

from catalog_ops.errors import CatalogOpsError
from catalog_ops.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("release", help="(not implemented yet)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    raise CatalogOpsError("'release' is not implemented yet")
