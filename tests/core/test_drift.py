"""core.drift: one answer to "who is behind, by how much, does it need a change" (tables)."""

from __future__ import annotations

import pytest

from catalog_ops.core import drift
from catalog_ops.core.versions import Level, Version, parse_version


def v(text: str) -> Version:
    out = parse_version(text)
    assert out is not None
    return out


VERSIONS = [v(x) for x in ("5.0.0", "5.1.0", "6.0.0", "6.5.0", "6.6.0", "6.6.1")]


@pytest.mark.parametrize(
    ("written", "raise_floor", "needs", "status", "current"),
    [
        # a pin is behind by the versions after it
        ("6.0.0", False, True, "minor", "6.0.0"),
        ("v6.6.1", False, False, "up to date", "6.6.1"),
        # a constraint that admits the target is left alone (and reads as up to date)...
        ("~> 6.0", False, False, "up to date", "6.6.1"),
        (">= 5.0", False, False, "up to date", "6.6.1"),
        # ... unless the dependent opts in to raising the floor
        ("~> 6.0", True, True, "minor", "6.6.1"),
        # a constraint that does not admit the target is behind from the newest it admits
        ("~> 5.0", False, True, "major", "5.1.0"),
        ("= 6.6.0", False, True, "patch", "6.6.0"),
    ],
)
def test_assess_table(written: str, raise_floor: bool, needs: bool, status: str, current: str) -> None:
    d = drift.assess(written, versions=VERSIONS, target=v("6.6.1"), raise_floor=raise_floor)
    assert (d.needs_change, d.status, d.current) == (needs, status, v(current))
    assert d.written == written  # shown as the user wrote it


def test_constraint_without_a_known_admitted_version_resolves_to_its_floor() -> None:
    # `~> 5.0` when no 5.x is known (tags of another scheme, or only newer releases): its floor,
    # never "unknown (cannot read a version)"
    d = drift.assess("~> 5.0", versions=[v("6.0.0"), v("6.6.1")], target=v("6.6.1"))
    assert d.current == v("5.0.0")
    assert (d.status, d.needs_change, d.update) == ("major", True, Level.MAJOR)


def test_only_versions_that_changed_what_it_uses_count() -> None:
    changed = {v("6.5.0")}
    d = drift.assess("6.0.0", versions=VERSIONS, target=v("6.6.1"), changed=lambda x: x in changed)
    assert d.behind == (v("6.5.0"),)
    assert (d.needs_change, d.status, d.update) == (True, "minor", Level.MINOR)
    none = drift.assess("6.5.0", versions=VERSIONS, target=v("6.6.1"), changed=lambda x: x in changed)
    assert (none.needs_change, none.status) == (False, "up to date")
    assert "nothing it uses changed between" in none.reason
    forced = drift.assess("6.5.0", versions=VERSIONS, target=v("6.6.1"), changed=lambda x: False, force=True)
    assert forced.needs_change


def test_unreadable_is_unknown() -> None:
    d = drift.assess("main", versions=VERSIONS, target=v("6.6.1"))
    assert (d.status, d.needs_change, d.current) == ("unknown", False, None)
    assert (
        drift.is_constraint("~> 1.2")
        and not drift.is_constraint("1.2.0")
        and not drift.is_constraint("= 1.2.0")
    )
