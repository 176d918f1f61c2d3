"""The lexer's speed-ups give exactly what the plain forms give (hcl/lexer.py, issue 18)."""

from __future__ import annotations

import re

import pytest

from catalog_ops.hcl import lexer

_EVERY_CHARACTER = "".join(map(chr, range(0x110000)))


@pytest.mark.parametrize(
    ("name", "excluded"),
    [
        ("_RUN_CHAR", '{}"#/<'),
        ("_STRING_CHAR", '"\\\n$%'),
        ("_INTERP_CHAR", '{}"\\\n[]()'),
    ],
)
def test_range_classes_are_the_negated_classes(name, excluded):
    """Each ``_none_of`` class matches exactly the characters ``[^excluded]`` matches, over every
    code point (the ranges are only a faster spelling of the same set)."""
    cls = getattr(lexer, name)
    assert cls == lexer._none_of(excluded)
    negated = "[^" + "".join(re.escape(c) for c in excluded) + "]"
    assert re.sub(cls, "", _EVERY_CHARACTER) == excluded_in_order(excluded)
    assert re.sub(negated, "", _EVERY_CHARACTER) == excluded_in_order(excluded)


def excluded_in_order(chars: str) -> str:
    """The characters of ``chars`` in code-point order (what is left of every character once a
    class of all the others is removed)."""
    return "".join(sorted(set(chars)))


@pytest.mark.parametrize("chars", ["", "a", "\x00", "\U0010ffff", "\x00\U0010ffff", "ab", "az"])
def test_none_of_edges(chars):
    """The first and last code points and adjacent exclusions leave no empty or reversed range."""
    cls = lexer._none_of(chars)
    left = re.sub(cls, "", _EVERY_CHARACTER)
    assert left == excluded_in_order(chars)
