"""The lexer's speed-ups give exactly what the plain forms give (hcl/lexer.py, issue 18)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_ops.hcl import lexer

_EVERY_CHARACTER = "".join(map(chr, range(0x110000)))


@pytest.mark.parametrize("chars", ['{}"#/<', "", "\x00", "\xff", "\x00\xff", "ab", "az"])
def test_latin1_but_is_latin1_minus_the_characters(chars):
    """``_latin1_but(chars)`` matches exactly U+0000..U+00FF minus ``chars`` (no empty or
    reversed range at the edges), and ``_WIDE`` exactly the characters from U+0100."""
    cls = lexer._latin1_but(chars)
    want = "".join(chr(c) for c in range(0x100) if chr(c) not in chars)
    assert "".join(re.findall(cls, _EVERY_CHARACTER)) == want
    assert "".join(re.findall(lexer._WIDE, _EVERY_CHARACTER)) == _EVERY_CHARACTER[0x100:]


def test_run_of_body_text_is_the_negated_class():
    """A body's plain text, ``_RUN_L1`` or ``_WIDE`` runs, is every character but ``{}"#/<``."""
    run = f"(?:{lexer._RUN_L1}++|{lexer._WIDE}++)++"
    negated = r'[^{}"#/<]++'
    assert re.findall(run, _EVERY_CHARACTER) == re.findall(negated, _EVERY_CHARACTER)


# The skipped-body pattern as it was written before (``[^{}"#/<]++`` for the plain text): the
# reference the faster spelling must agree with.
_REFERENCE_BODY_RE = re.compile(
    lexer._FAST_BODY_RE.pattern.replace(f"{lexer._RUN_L1}++|{lexer._WIDE}++", r'[^{}"\#/<]++')
)

_BODY_PIECES = [
    "{",
    "}",
    " ",
    "\n",
    "\r\n",
    "\t",
    "\ufeff",
    "a = 1",
    "é",
    "ü",
    "日本",
    "\U0001f600",
    "\x00",
    "\xff",
    "\u0100",
    '"x"',
    '"é}"',
    '"日{"',
    '"${a}"',
    '"$${a}"',
    '"\\"}"',
    '"a',
    "#}\n",
    "// {\n",
    "/* } */",
    "/*",
    "/",
    "<",
    "<<EOT\n}\nEOT\n",
    "~",
    "|",
    "z",
]


def test_reference_body_pattern_is_the_old_one():
    """The replacement above really rewrote every plain-text run (one per nesting level)."""
    assert _REFERENCE_BODY_RE.pattern.count(r'[^{}"\#/<]++') == lexer._FAST_DEPTH + 1
    assert lexer._RUN_L1 not in _REFERENCE_BODY_RE.pattern


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_BODY_PIECES), max_size=40).map("".join))
def test_fast_body_matches_like_the_negated_class(text):
    """``_FAST_BODY_RE`` ends where the ``[^...]`` spelling ends, or both do not match, from
    every position (wide and Latin-1 characters, strings, comments, heredocs, CRLF, BOM)."""
    for start in range(len(text)):
        fast = lexer._FAST_BODY_RE.match(text, start)
        slow = _REFERENCE_BODY_RE.match(text, start)
        assert (fast and fast.span()) == (slow and slow.span()), start


def test_fast_body_reads_wide_characters():
    """Text outside Latin-1 (identifiers, strings, a BOM) is plain body text, not a fallback."""
    text = '{\n  名前 = "日本"\n  b {\n    c = ü\U0001f600\ufeff\n  }\n}\nrest'
    m = lexer._FAST_BODY_RE.match(text)
    assert m is not None and m.end() == text.index("\nrest")
