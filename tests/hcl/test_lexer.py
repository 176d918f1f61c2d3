"""The HCL lexer: token kinds and offsets, template parts, skimmed blocks, syntax errors."""

from __future__ import annotations

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catalog_ops.hcl import HclSyntaxError, body, lex, lexer, parse
from fixtures.hcl import NEVER, general_lexed, lexed


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ('a = "x${b}y"\n', ["ident", "punct", "string", "nl", "eof"]),
        ("a = 1.5e3 # c\n", ["ident", "punct", "number", "nl", "eof"]),
        ("x = <<-EOT\n  a }\n  EOT\n", ["ident", "punct", "heredoc", "nl", "eof"]),
        ("/* { */ b {}\n", ["ident", "punct", "punct", "nl", "eof"]),
        (
            "c = a.b[0] == d ? 1 : 2",
            [
                "ident",
                "punct",
                "ident",
                "punct",
                "ident",
                "punct",
                "number",
                "punct",
                "punct",
                "ident",
                "punct",
                "number",
                "punct",
                "number",
                "eof",
            ],
        ),
    ],
)
def test_token_kinds(text, kinds):
    assert [t.kind for t in lex(text)] == kinds


def test_offsets_and_template_parts():
    text = 'source = "git::x?ref=${local.v}"\n'
    tok = lex(text)[2]
    assert (tok.kind, text[tok.start : tok.end]) == ("string", '"git::x?ref=${local.v}"')
    assert [(k, text[s:e]) for k, s, e in tok.parts or []] == [("lit", "git::x?ref="), ("interp", "local.v")]
    escaped = lex('a = "$${x} %%{y}"')[2]
    assert [k for k, _, _ in escaped.parts or []] == ["lit"]


def test_skim_keeps_only_the_braces_of_other_blocks():
    text = 'resource "a" "b" {\n  x = "}"\n}\nmodule "m" {\n  source = "s"\n}\n'
    toks = lex(text, skim={"module"})
    assert [t.text for t in toks if t.kind == "ident"] == ["resource", "module", "source"]
    close = next(t for t in toks if t.text == "}")
    assert close.start == text.index("}\nmodule")


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ('a = "abc\n', 4, "unterminated string"),
        ("x = <<EOT\nabc\n", 4, "unterminated heredoc"),
        ("/* x", 0, "unterminated /* comment"),
        ("a = `", 4, "unexpected character"),
    ],
)
def test_syntax_errors_carry_the_offset(text, offset, message):
    with pytest.raises(HclSyntaxError) as info:
        lex(text)
    assert info.value.offset == offset
    assert message in info.value.message


# Pieces of HCL native syntax, including the ones a skipped block body must read past correctly:
# strings with escapes and templates, heredocs, comments holding braces, `/` and `<` alone.
_PIECES = [
    "resource",
    "module",
    "locals",
    " ",
    "\t",
    "\n",
    "\r\n",
    '"a"',
    '"x}"',
    '"${a}"',
    '"${ {b = "}"} }"',
    '"$${c}"',
    '"%{ if x }y%{ endif }"',
    '"\\"}"',
    '"a\\\\"',
    '"$"',
    '"%"',
    "{",
    "}",
    "[",
    "]",
    "=",
    "a",
    "b_2",
    "1.5",
    "/",
    "<",
    "<<",
    "# } c\n",
    "// { c\n",
    "/* } */",
    "<<EOT\n}{\nEOT\n",
    "<<-X\n  }\n  X\n",
    ",",
    ".",
]


def _without_skimmed_bodies(toks, skim):
    """The full token list minus the tokens inside the body of each top-level block whose type
    is not in ``skim`` (what ``lex(..., skim=skim)`` promises to return)."""
    out = []
    depth = 0
    stmt = 0
    skipping_to = None
    for t in toks:
        if skipping_to is not None:
            if t.kind == "punct" and t.text in "{}":
                depth += 1 if t.text == "{" else -1
            if depth == 0:
                skipping_to = None
                out.append(t)
                stmt = len(out)
            continue
        if t.kind == "punct" and t.text == "{":
            header = out[stmt:]
            if (
                depth == 0
                and header
                and header[0].kind == "ident"
                and header[0].text not in skim
                and all(x.kind in ("ident", "string") for x in header[1:])
            ):
                out.append(t)
                depth = 1
                skipping_to = t
                continue
            depth += 1
        elif t.kind == "punct" and t.text == "}":
            depth -= 1
            if depth == 0:
                out.append(t)
                stmt = len(out)
                continue
        out.append(t)
        if t.kind == "nl" and depth == 0:
            stmt = len(out)
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=40).map("".join))
def test_skim_returns_the_full_tokens_minus_skipped_bodies(text):
    """Skipping a block body (``skip_block``'s scanner) ends exactly where the full lexer's
    matching ``}`` is, and the tokens kept are the full lexer's."""
    try:
        full = lex(text)
    except HclSyntaxError:
        return
    depth = 0
    for t in full:
        if t.kind == "punct" and t.text in "{}":
            depth += 1 if t.text == "{" else -1
            if depth < 0:
                return  # parse_body rejects it; skimming need not agree
    if depth:
        return  # an unclosed block: skimming one raises HclSyntaxError
    skimmed = lex(text, skim={"module", "locals"})
    want = _without_skimmed_bodies(full, {"module", "locals"})
    assert [(t.kind, t.start, t.end, t.text, t.parts) for t in skimmed] == [
        (t.kind, t.start, t.end, t.text, t.parts) for t in want
    ]


def _shape(block, *, root: bool = False):
    """A parsed block as plain data: type, labels, brace offsets, attributes (name and expression
    tokens; newline tokens left out at the root, where ``drop`` skips blank lines) and blocks."""

    def expr(a):
        return [(t.kind, t.start, t.end, t.text, t.parts) for t in a.expr if not (root and t.kind == "nl")]

    return (
        block.type,
        block.labels,
        block.open,
        block.close,
        [(name, a.tok.start, expr(a)) for name, a in block.attrs.items()],
        [_shape(b) for b in block.blocks],
    )


def _parsed(text, **kwargs):
    try:
        return parse(text, **kwargs)
    except HclSyntaxError as exc:
        return (exc.offset, exc.message)


_DROP_PIECES = [*_PIECES, "# c\n", "// c\n", 'resource "r" {\n  a = 1\n}\n', "x = 1\n", "=", "("]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_DROP_PIECES), max_size=40).map("".join))
def test_drop_parses_like_skim_without_the_skipped_blocks(text):
    """``parse(skim=S, drop=True)`` (what ``refs`` reads) is ``parse(skim=S)`` without the
    top-level blocks of other types — or the same syntax error at the same offset."""
    skim = {"module", "locals"}
    kept = _parsed(text, skim=skim)
    dropped = _parsed(text, skim=skim, drop=True)
    if isinstance(kept, tuple):
        assert dropped == kept
        return
    assert not isinstance(dropped, tuple), dropped
    kept.blocks = [b for b in kept.blocks if b.type in skim]
    assert _shape(dropped, root=True) == _shape(kept, root=True)


def test_drop_leaves_no_tokens_for_skipped_blocks_and_gaps():
    text = 'resource "a" "b" {\n  x = "${y}"\n}\n\n# c\nmodule "m" {\n  source = "s"\n}\n'
    toks = lex(text, skim={"module"}, drop=True)
    assert [t.text for t in toks] == ["module", '"m"', "{", "\n", "source", "=", '"s"', "\n", "}", ""]
    assert [b.type for b in parse(text, skim={"module"}, drop=True).blocks] == ["module"]


# The lexer's fast paths (``_LINE_RE``: whole ``name = VALUE`` / header / ``}`` / blank lines in a
# body; ``_FAST_HEAD_RE`` + ``_FAST_BODY_RE``: a top-level block's header, a skipped block's body in
# one match; ``_skipped_run_re``: a run of dropped blocks) must give exactly what the general loop
# gives. With their patterns replaced by one that never matches (the run of dropped blocks by the
# gap alone: no block), ``lex`` takes the general loop only: both runs must return the same
# tokens, or the same error.
_NEVER = NEVER
_lexed = lexed
_general_lexed = general_lexed


_MODES = ({}, {"skim": {"module", "locals"}}, {"skim": {"module", "locals"}, "drop": True})

# Lines the fast paths read, and near misses they must leave to the general loop.
_LINE_PIECES = [
    *_PIECES,
    'module "m" {\n',
    "locals {\n",
    'locals "x" y {\n',
    '  source = "git::x?ref=v1"\n',
    "  a = 1\n",
    "a=1.5e3\n",
    "a = 1.5e\n",
    "a = 1.\n",
    "a = 01x\n",
    "  b = c.d.e # c\n",
    "b = c..d\n",
    "b = c...\n",
    "b = c.d\t// c\r\n",
    "b = c .d\n",
    "x = {\n",
    "x = [\n",
    "x = true\n",
    "  }\n",
    "}}\n",
    "} # c\n",
    "a == 1\n",
    "a => 1\n",
    "a = = 1\n",
    'a = "x" "y"\n',
    'a = "${b}"\n',
    'a = "$${b}"\n',
    'a = "\\n"\n',
    'a = ""\n',
    'a = "x\n',
    'a = "\n',
    "a = f(1)\n",
    "a = <<EOT\nx\nEOT\n",
    "é = ü\n",
    "b-c = d-1\n",
    "a b = 1\n",
    'a "b" {\n',
    "a b {}\n",
    "\ufeffa = 1\n",
    "a = 1",
    "  \n",
    "\t# only a comment\n",
    "a = /* c */ 1\n",
    "a = 1 /* c */\n",
    "`",
    "a = f()\n",
    'a = f("x")\n',
    'a = f( "x" )\n',
    'a = f ("x")\n',
    'a = f("x", "y")\n',
    'a = f("${x}")\n',
    "a = f(\n",
    'a = "${a.b}?ref=v1"\n',
    'a = "${ local.x }/${y}"\n',
    'a = "${f(x)}"\n',
    'a = "${ {} }"\n',
    'a = "${x} $${y}"\n',
    'a = "${x"\n',
    'a = "a${[}"\n',
    'a = "%{if x}y%{endif}"\n',
    'a = "${x}\\n"\n',
]


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=30).map("".join))
def test_fast_paths_lex_like_the_general_loop(text):
    """``lex`` with its fast paths == ``lex`` through the general loop alone, in every mode
    (full, ``skim``, ``skim`` + ``drop``): same tokens, or the same error at the same offset."""
    for mode in _MODES:
        assert _lexed(text, **mode) == _general_lexed(text, **mode), mode


@pytest.mark.parametrize(
    "text",
    [
        'module "m" {\n  source = "git::x?ref=v1"\n  version = 1.5\n  n = a.b.c\n}\n',
        'locals {\r\n  a = "x"\r\n\r\n  b = {\r\n    c = d\r\n  }\r\n}\r\n',
        'module "m" {\n  x = "${a}"\n  y = "$${a}"\n  z = "a\\"b"\n  w = "\n}\n',
        'module "m" {\n\tinner "l" k {\n\t\ta = 1 # }\n\t}\n}\n',
        'locals {\n  é = "ü"\n  a = 1e5 // c\n  b = 1.x\n}\n',
        'module "m" {\n  a = 1\n}} \n',
        'module "m" {\n  a = 1\n} # c\nb = 2\n',
        'module "m" {\n  a = 1\n',
    ],
)
def test_fast_paths_on_tricky_texts(text):
    for mode in _MODES:
        assert _lexed(text, **mode) == _general_lexed(text, **mode), mode


def test_general_lexed_really_takes_the_general_loop():
    """The reference above is not the fast path itself: with the patterns disabled, a line the
    fast path reads is lexed token by token (``_TOKEN_RE`` matches once per token)."""
    text = 'module "m" {\n  a = 1\n}\n'
    calls = []
    real = lexer._TOKEN_RE

    class Counting:
        def match(self, *args):
            calls.append(args[1])
            return real.match(*args)

    with mock.patch.object(lexer, "_TOKEN_RE", Counting()):
        lex(text, skim={"module"})
        fast = len(calls)
        calls.clear()
        _general_lexed(text, skim={"module"})
    assert fast < 3 < len(calls)


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(_LINE_PIECES), max_size=30).map("".join))
def test_parse_body_one_token_values_like_expr_end(text):
    """``parse_body`` reads a one-token ``name = VALUE`` line without ``expr_end`` (``_ATOMS``):
    with that shortcut off, the same blocks, attributes and expressions, or the same error."""
    for mode in _MODES:
        fast = _parsed(text, **mode)
        with mock.patch.object(body, "_ATOMS", frozenset()):
            general = _parsed(text, **mode)
        if isinstance(fast, tuple) or isinstance(general, tuple):
            assert fast == general, mode
        else:
            assert _shape(fast) == _shape(general), mode


@pytest.mark.parametrize("mode", _MODES)
def test_the_newline_after_an_attribute_object_ends_it(mode):
    """``x = { ... }`` ends at its newline, not at its ``}`` (only a block's ``}`` ends a
    statement): with ``drop``, the next statement is not read as part of the value."""
    text = 'inputs = {\n  a = 1\n}\nmodule "m" {\n  source = "s"\n}\n'
    root = parse(text, **mode)
    assert [t.text for t in root.attrs["inputs"].expr] == ["{", "\n", "a", "=", "1", "\n", "}"]
    assert [b.type for b in root.blocks] == ["module"]


@pytest.mark.parametrize("name", ["_LINE_RE", "_SKIP_RE", "_HEAD_TOKEN_RE", "_FAST_BODY_RE"])
def test_patterns_compiled_on_first_use(name):
    """The fallback and fast-path patterns are compiled when first needed (not at import), from
    their ``*_PATTERN`` text, once."""
    with mock.patch.object(lexer, name, None):
        first = lexer._compiled(name)
        assert first.pattern == getattr(lexer, name.removesuffix("_RE") + "_PATTERN")
        assert getattr(lexer, name) is first and lexer._compiled(name) is first
