"""The release version algorithm (catalog_ops.release.version)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog_ops.core.versions import Level, Version
from catalog_ops.errors import ReleaseError
from catalog_ops.release.version import effective_level, next_version

V = Version.parse


@pytest.mark.parametrize(
    ("base", "current", "level", "pre", "expected"),
    [
        ("1.2.0", "1.2.0", Level.PATCH, None, "1.2.1"),
        ("1.2.0", "1.2.0", Level.MINOR, None, "1.3.0"),
        ("1.2.3", "1.2.3", Level.MAJOR, None, "2.0.0"),
        (None, None, Level.MINOR, None, "0.1.0"),
        (None, None, Level.PATCH, None, "0.0.1"),
        ("1.2.0", "1.2.0", Level.MINOR, "rc", "1.3.0-rc.0"),
        ("1.2.0", "1.3.0-rc.0", Level.MINOR, "rc", "1.3.0-rc.1"),
        ("1.2.0", "1.3.0-rc.1", Level.MINOR, None, "1.3.0"),
        ("1.2.0", "1.3.0-rc.1", Level.PATCH, None, "1.3.0"),  # the series continues
        ("1.2.0", "1.3.0-rc.1", Level.NONE, None, "1.3.0"),  # promotion
        ("1.2.0", "1.3.0-rc.1", Level.MAJOR, "rc", "2.0.0-rc.0"),
        ("1.2.0", "1.3.0-beta.3", Level.MINOR, "rc", "1.3.0-rc.0"),
        ("1.2.0", "1.3.0-rc", Level.MINOR, "rc", "1.3.0-rc.0"),
    ],
)
def test_next_version(
    base: str | None, current: str | None, level: Level, pre: str | None, expected: str
) -> None:
    got = next_version(
        base=V(base) if base else None, current=V(current) if current else None, level=level, prerelease=pre
    )
    assert str(got) == expected


def test_next_version_never_goes_backwards() -> None:
    with pytest.raises(ReleaseError, match="would not be higher"):
        next_version(base=V("1.2.0"), current=V("1.3.0-rc.0"), level=Level.MINOR, prerelease="beta")


def test_pre_one_zero_breaking_bumps_minor() -> None:
    assert effective_level(Level.MAJOR, V("0.4.1")) == Level.MINOR
    assert effective_level(Level.MAJOR, None) == Level.MINOR
    assert effective_level(Level.MAJOR, V("1.0.0")) == Level.MAJOR
    assert effective_level(Level.PATCH, V("0.4.1")) == Level.PATCH


@given(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
    st.one_of(
        st.none(), st.tuples(st.integers(0, 2), st.sampled_from(["alpha", "beta", "rc"]), st.integers(0, 3))
    ),
    st.sampled_from(list(Level)),
    st.sampled_from([None, "beta", "rc"]),
)
def test_next_version_is_always_higher(
    base: tuple[int, int, int],
    pre: tuple[int, str, int] | None,
    level: Level,
    prerelease: str | None,
) -> None:
    b = Version(*base)
    current = b if pre is None else Version(base[0], base[1] + 1 + pre[0], 0, prerelease=f"{pre[1]}.{pre[2]}")
    no_change = level == Level.NONE and pre is None and prerelease is None
    try:
        got = next_version(base=b, current=current, level=level, prerelease=prerelease)
    except ReleaseError:
        # refused only when nothing would change or the pre-release identifier would sort lower
        assert no_change or prerelease is not None
        return
    assert not no_change
    assert got.compare(current) > 0
    assert (got.prerelease is not None) == (prerelease is not None)
