"""The lexer's speed-ups give exactly what the plain forms give (hcl/lexer.py, issue 18)."""

from __future__ import annotations

import os
import re
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_ops.hcl import lexer
from fixtures.hcl import NEVER, general_lexed, lexed

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
    lexer._FAST_BODY_PATTERN.replace(f"{lexer._RUN_L1}++|{lexer._WIDE}++", r'[^{}"\#/<]++')
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
        fast = lexer._compiled("_FAST_BODY_RE").match(text, start)
        slow = _REFERENCE_BODY_RE.match(text, start)
        assert (fast and fast.span()) == (slow and slow.span()), start


def test_fast_body_reads_wide_characters():
    """Text outside Latin-1 (identifiers, strings, a BOM) is plain body text, not a fallback."""
    text = '{\n  名前 = "日本"\n  b {\n    c = ü\U0001f600\ufeff\n  }\n}\nrest'
    m = lexer._compiled("_FAST_BODY_RE").match(text)
    assert m is not None and m.end() == text.index("\nrest")


_NEVER = NEVER
_lexed = lexed
_general_lexed = general_lexed


# Top-level blocks for ``lex(skim=..., drop=True)``: read types, types that only start like one
# (``module-x``, ``modules``), other types, labels, and bodies with what the skip patterns must
# read past or leave to the general loop.
_TYPES = ["module", "locals", "resource", "data", "module-x", "modules", "_m", "é", "locals2"]
_LABELS = ["", ' "a"', ' "a" "b"', " b", ' "${x}"', ' "a\\"b"', "\t", ' "é"']
_BODY_LINES = [
    "",
    "  a = 1",
    '  s = "x}"',
    '  t = "${var.x}-{"',
    '  t = "%{ if a }}%{ endif }"',
    '  t = "${a[0]}"',
    '  t = "${f(x)}"',
    '  t = "${ "}" }"',
    '  t = "$${x} %%{y} $x %y $%{z}"',
    '  t = "\\${x}"',
    '  t = "${x"',
    '  t = "${\n}"',
    '  t = "${a\\b}"',
    "  # } comment",
    "  // { comment",
    "  /* } */ b = 2",
    "  n {\n    c = 3\n  }",
    "  o = {\n    k = v\n  }",
    "  h = <<EOT\n}\nEOT",
    '  u = "unterminated',
    "  }",
    "  {",
    "  x = 1 / 2 < 3",
    '  日本 = "ü"',
]
_GAPS = ["\n", "\n\n", "\r\n", "\n# c\n", "\n// c\n", "\n\ufeff", " \n\t\n", "\n/* c */\n", "\nx = 1\n"]


@st.composite
def _blocks(draw):
    out = []
    for _ in range(draw(st.integers(0, 6))):
        lines = draw(st.lists(st.sampled_from(_BODY_LINES), max_size=4))
        body = "".join(f"{line}\n" for line in lines)
        out.append(f"{draw(st.sampled_from(_TYPES))}{draw(st.sampled_from(_LABELS))} {{\n{body}}}")
        out.append(draw(st.sampled_from(_GAPS)))
    return "".join(out)


@settings(max_examples=1500, deadline=None)
@given(_blocks(), st.sampled_from([frozenset({"module", "locals"}), frozenset(), frozenset({"é", "data"})]))
def test_dropped_block_runs_lex_like_the_general_loop(text, read):
    """``lex(skim=S, drop=True)`` with its run of dropped blocks (``_skipped_run_re``) and the
    other fast paths == the general loop alone: same tokens or the same error at the same offset."""
    assert _lexed(text, skim=read, drop=True) == _general_lexed(text, skim=read, drop=True)


def test_skipped_run_stops_at_a_read_type_only():
    """A block whose type only starts like a read type is dropped with the run; the read one and
    the blocks after it are left to the loop (the run match ends before it)."""
    text = 'modules "a" {\n}\nmodule-x {\n}\nmodule "m" {\n}\nresource "r" {\n}\n'
    m = lexer._skipped_run_re(frozenset({"module"})).match(text)
    assert m is not None and m.end() == text.index('module "m"')
    toks = lexer.lex(text, skim=frozenset({"module"}), drop=True)
    assert [t.text for t in toks] == ["module", '"m"', "{", "\n", "}", ""]


def test_patterns_for_a_scan_are_compiled_before_a_fork():
    """``refs`` compiles the lexer's patterns for its block types before ``os.fork`` (its disk
    scan's workers inherit them): after a fork, both are there without any lexing."""
    from catalog_ops.refs.extract import BLOCK_TYPES
    from catalog_ops.refs.terragrunt import _read_types

    with mock.patch.object(lexer, "_LINE_RE", None), mock.patch.dict(lexer._SKIPPED_RUN_RES, clear=True):
        pid = os.fork()
        if pid == 0:  # the child: nothing to do
            os._exit(0)
        os.waitpid(pid, 0)
        assert lexer._LINE_RE is not None
        assert frozenset(_read_types(BLOCK_TYPES)) in lexer._SKIPPED_RUN_RES
