"""Version algorithm and tag schemes (pure parts of catalog_ops.release.run)."""

from __future__ import annotations

import pytest
import semver
from hypothesis import given
from hypothesis import strategies as st

from catalog_ops.core.commits import BumpLevel
from catalog_ops.errors import ReleaseError
from catalog_ops.release.run import TagScheme, effective_level, extract_migration, next_version

V = semver.Version.parse


@pytest.mark.parametrize(
    ("base", "current", "level", "pre", "expected"),
    [
        ("1.2.0", "1.2.0", BumpLevel.PATCH, None, "1.2.1"),
        ("1.2.0", "1.2.0", BumpLevel.MINOR, None, "1.3.0"),
        ("1.2.3", "1.2.3", BumpLevel.MAJOR, None, "2.0.0"),
        (None, None, BumpLevel.MINOR, None, "0.1.0"),
        (None, None, BumpLevel.PATCH, None, "0.0.1"),
        ("1.2.0", "1.2.0", BumpLevel.MINOR, "rc", "1.3.0-rc.0"),
        ("1.2.0", "1.3.0-rc.0", BumpLevel.MINOR, "rc", "1.3.0-rc.1"),
        ("1.2.0", "1.3.0-rc.1", BumpLevel.MINOR, None, "1.3.0"),
        ("1.2.0", "1.3.0-rc.1", BumpLevel.PATCH, None, "1.3.0"),  # the series continues
        ("1.2.0", "1.3.0-rc.1", BumpLevel.NONE, None, "1.3.0"),  # promotion
        ("1.2.0", "1.3.0-rc.1", BumpLevel.MAJOR, "rc", "2.0.0-rc.0"),
        ("1.2.0", "1.3.0-beta.3", BumpLevel.MINOR, "rc", "1.3.0-rc.0"),
        ("1.2.0", "1.3.0-rc", BumpLevel.MINOR, "rc", "1.3.0-rc.0"),
    ],
)
def test_next_version(
    base: str | None, current: str | None, level: BumpLevel, pre: str | None, expected: str
) -> None:
    got = next_version(
        base=V(base) if base else None, current=V(current) if current else None, level=level, prerelease=pre
    )
    assert str(got) == expected


def test_next_version_never_goes_backwards() -> None:
    with pytest.raises(ReleaseError, match="would not be higher"):
        next_version(base=V("1.2.0"), current=V("1.3.0-rc.0"), level=BumpLevel.MINOR, prerelease="beta")


def test_pre_one_zero_breaking_bumps_minor() -> None:
    assert effective_level(BumpLevel.MAJOR, V("0.4.1")) == BumpLevel.MINOR
    assert effective_level(BumpLevel.MAJOR, None) == BumpLevel.MINOR
    assert effective_level(BumpLevel.MAJOR, V("1.0.0")) == BumpLevel.MAJOR
    assert effective_level(BumpLevel.PATCH, V("0.4.1")) == BumpLevel.PATCH


def test_repo_scheme() -> None:
    s = TagScheme()
    assert s.parse("v1.2.3") == (V("1.2.3"), "v")
    assert s.parse("1.2.3") == (V("1.2.3"), "")
    assert s.parse("v1.2.3-rc.1") == (V("1.2.3-rc.1"), "v")
    for other in ("release-1", "v1.2", "modules/vpc/v1.0.0", "vv1.0.0", "latest"):
        assert s.parse(other) is None
    assert s.format(V("1.3.0")) == "v1.3.0"
    assert s.format(V("1.3.0"), "") == "1.3.0"


def test_module_scheme_never_mixes_prefixes() -> None:
    vpc = TagScheme("modules/vpc")
    assert vpc.parse("modules/vpc/v1.0.0") == (V("1.0.0"), "modules/vpc/v")
    assert vpc.parse("modules/vpc/1.0.0") == (V("1.0.0"), "modules/vpc/")
    assert vpc.parse("modules/vpc-peering/v2.0.0") is None
    assert vpc.parse("modules/vpc/sub/v1.0.0") is None
    assert vpc.parse("v1.0.0") is None
    assert TagScheme("modules/vpc-peering").parse("modules/vpc/v1.0.0") is None
    assert vpc.format(V("1.1.0")) == "modules/vpc/v1.1.0"


def test_extract_migration() -> None:
    body = (
        "Summary\n\n## Migration\n\n<!-- describe the steps -->\nRename `id` to `vpc_id`.\n\n"
        "### Details\nmore\n\n## Testing\nran it\n\n## Migration guide\nSecond.\n"
    )
    assert extract_migration(body) == ("Rename `id` to `vpc_id`.\n\n### Details\nmore", "Second.")
    assert extract_migration("## Migration\n<!-- nothing -->\n") == ()
    assert extract_migration(None) == ()


@given(
    st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
    st.one_of(
        st.none(), st.tuples(st.integers(0, 2), st.sampled_from(["alpha", "beta", "rc"]), st.integers(0, 3))
    ),
    st.sampled_from(list(BumpLevel)),
    st.sampled_from([None, "beta", "rc"]),
)
def test_next_version_is_always_higher(
    base: tuple[int, int, int],
    pre: tuple[int, str, int] | None,
    level: BumpLevel,
    prerelease: str | None,
) -> None:
    b = semver.Version(*base)
    current = (
        b
        if pre is None
        else semver.Version(base[0], base[1] + 1 + pre[0], 0, prerelease=f"{pre[1]}.{pre[2]}")
    )
    no_change = level == BumpLevel.NONE and pre is None and prerelease is None
    try:
        got = next_version(base=b, current=current, level=level, prerelease=prerelease)
    except ReleaseError:
        # refused only when nothing would change or the pre-release identifier would sort lower
        assert no_change or prerelease is not None
        return
    assert not no_change
    assert got.compare(current) > 0
    assert (got.prerelease is not None) == (prerelease is not None)
