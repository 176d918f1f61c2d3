"""The HCL lexer: token kinds and offsets, template parts, skimmed blocks, syntax errors."""

from __future__ import annotations

import pytest

from catalog_ops.hcl import HclSyntaxError, lex


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
