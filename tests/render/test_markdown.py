"""Markdown escaping variants (each keeps the bytes of what it renders)."""

from __future__ import annotations

from catalog_ops.render.markdown import code, md_cell, md_cell_br, md_plain, md_text


def test_escapes() -> None:
    assert md_text('a "b" & <details>\nc') == 'a "b" & &lt;details> c'
    assert md_cell("a | b") == "a \\| b"
    assert md_plain("a | <b>\nc") == "a \\| <b> c"
    assert code("v1.0.0") == "`v1.0.0`"
    assert md_cell_br("a\\b | c\r\nd") == "a\\\\b \\| c <br>d"
