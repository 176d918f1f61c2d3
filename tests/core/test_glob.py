"""core.glob: the linear-time matcher, table-driven against the glob dialects it serves."""

from __future__ import annotations

import pytest

from catalog_ops.core.glob import GlobError, Matcher, check_pattern, compile_glob, glob_matches


@pytest.mark.parametrize(
    ("pattern", "path", "flavour", "below", "want"),
    [
        ("live/*.tf", "live/a.tf", {}, False, True),
        ("live/*.tf", "live/x/a.tf", {}, False, False),
        ("live/**", "live/x/a.tf", {}, False, True),
        ("**/a.tf", "a.tf", {}, False, True),
        ("**/a.tf", "x/y/a.tf", {}, False, True),
        ("**/a.tf", "xa.tf", {}, False, False),
        ("a?c", "abc", {}, False, True),
        ("a?c", "a/c", {}, False, False),
        ("live", "live/a.tf", {}, True, True),  # a directory owns what is below it
        ("live/*", "live/x/a.tf", {}, True, True),
        ("live/*", "live/x/a.tf", {}, False, False),
        ("[ab].tf", "b.tf", {"classes": True}, False, True),
        ("[!ab].tf", "c.tf", {"classes": True}, False, True),
        ("[!ab].tf", "/.tf", {"classes": True}, False, False),  # classes never match '/'
        ("[a-c]x", "bx", {"classes": True}, False, True),
        ("[ab].tf", "[ab].tf", {}, False, True),  # no classes: '[' is literal
        ("a\\*", "a*", {"escapes": True}, False, True),
        ("a\\*", "ab", {"escapes": True}, False, False),
        ("**/x", "/x", {"nonempty_dirs": True}, False, False),  # (?:[^/]+/)*: no empty component
        ("**/x", "/x", {}, False, True),  # (?:.*/)?
    ],
)
def test_matches(pattern: str, path: str, flavour: dict[str, bool], below: bool, want: bool) -> None:
    assert glob_matches(pattern, path, below=below, **flavour) is want


def test_limits() -> None:
    check_pattern("**/" * 8)
    with pytest.raises(GlobError, match="9 '\\*\\*'; at most 8"):
        check_pattern("**/" * 9)
    with pytest.raises(GlobError, match="257 characters long; at most 256"):
        check_pattern("a" * 257, what="glob")


def test_work_grows_linearly_with_the_path() -> None:
    tokens = compile_glob("**/a" * 8 + "**/b")
    counts = []
    for depth in (50, 100, 200):
        m = Matcher()
        assert not m.match(tokens, "/".join(["a"] * depth))
        counts.append(m.steps)
    assert counts[1] <= 2.1 * counts[0] and counts[2] <= 2.1 * counts[1]
