"""Dependent selection: the --dependents file, --registry-module items, the listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from catalog_ops.errors import UsageError
from catalog_ops.fanout.dependents import load_dependents_file


def test_dependents_file_forms() -> None:
    assert load_dependents_file("# c\nacme/a\n\nacme/b  # x\nacme/a\n") == ["acme/a", "acme/b"]
    assert load_dependents_file('["acme/a", "acme/c"]') == ["acme/a", "acme/c"]
    with pytest.raises(UsageError, match=r"deps:2:1: expected owner/name"):
        load_dependents_file("acme/a\nnope\n", "deps")


def test_registry_module_items() -> None:
    from catalog_ops.fanout.dependents import parse_registry_modules

    assert parse_registry_modules(["app.terraform.io/acme/naming/generic = /modules/naming/"]) == {
        "app.terraform.io/acme/naming/generic": "modules/naming"
    }
    with pytest.raises(UsageError, match="ADDRESS=MODULE"):
        parse_registry_modules(["no-equals-sign"])


def test_listing_drops_the_catalog_and_reports_skips() -> None:
    from catalog_ops.errors import NotFound
    from catalog_ops.fanout.dependents import DependentSelection, list_dependents
    from catalog_ops.forge.base import Repo

    repos = {
        "acme/app": Repo(full_name="acme/app", default_branch="main", clone_url="file:///app"),
        "acme/old": Repo(
            full_name="acme/old", default_branch="trunk", clone_url="file:///old", archived=True
        ),
        "acme/tools": Repo(full_name="acme/tools", default_branch="main", clone_url="file:///tools"),
    }

    class Forge:
        def get_repo(self, full_name: str) -> Repo:
            if full_name not in repos:
                raise NotFound(full_name)
            return repos[full_name]

    names = ("acme/modules", "acme/app", "acme/old", "acme/gone", "acme/tools")
    listing = list_dependents(
        Forge(),  # type: ignore[arg-type]
        "acme/modules",
        DependentSelection(dependents=names, exclude=("tool*",)),
    )
    assert [r.full_name for r in listing.repos] == ["acme/app"]
    assert listing.skipped[0] == ("acme/old", "trunk", "archived")
    assert listing.skipped[1][0] == "acme/gone" and listing.skipped[1][2].startswith("forge error")
    with pytest.raises(UsageError, match="--org ORG or --dependents FILE"):
        list_dependents(Forge(), "acme/modules", DependentSelection())  # type: ignore[arg-type]


def test_dependents_file_not_utf8_is_a_usage_error_at_the_bad_byte(tmp_path: Path) -> None:
    import argparse

    from catalog_ops.fanout.dependents import add_selection_arguments, selection_from_args

    deps = tmp_path / "d.txt"
    deps.write_bytes(b"acme/badkey\nacme/caf\xe9\n")
    parser = argparse.ArgumentParser()
    add_selection_arguments(parser)
    args = parser.parse_args(["--dependents", str(deps)])
    with pytest.raises(UsageError) as caught:
        selection_from_args(args)
    assert str(caught.value).startswith(f"{deps}:2:9: not UTF-8")
    assert caught.value.exit_code == 2
