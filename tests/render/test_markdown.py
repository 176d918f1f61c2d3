"""Markdown escaping variants (each keeps the bytes of what it renders)."""

from __future__ import annotations

from catalog_ops.render.markdown import code, md_cell, md_cell_br, md_plain, md_text


def test_escapes() -> None:
    assert md_text('a "b" & <details>\nc') == 'a "b" & &lt;details> c'
    assert md_cell("a | b") == "a \\| b"
    assert md_plain("a | <b>\nc") == "a \\| <b> c"
    assert code("v1.0.0") == "`v1.0.0`"
    assert md_cell_br("a\\b | c\r\nd") == "a\\\\b \\| c <br>d"


def test_neutralise_breaks_delimiters_markers_and_mentions() -> None:
    from catalog_ops.render.markdown import ZWSP, neutralise, untrusted

    text = "<!-- catalog-ops:rollout {} --> @acme/team a@b.c `@x`"
    out = neutralise(text)
    assert "<!--" not in out and "-->" not in out and "catalog-ops:" not in out
    assert "@acme" not in out and "a@b.c" in out  # an e-mail address is not a mention
    assert out.replace(ZWSP, "") == text  # invisible: reads the same
    assert neutralise(out) == out  # idempotent
    assert neutralise("plain text, v1.2.3 | x") == "plain text, v1.2.3 | x"
    assert untrusted("a\n```sh\nrm -rf /") == "a\n```sh\nrm -rf /\n```"  # unclosed fence closed
    assert untrusted("a\n```\nb\n```\n") == "a\n```\nb\n```\n"


def test_code_spans_cannot_be_broken_out_of() -> None:
    from catalog_ops.render.markdown import code_cell

    assert code("a`b") == "``a`b``"
    assert code("a``b`") == "``` a``b` ```"
    assert code("`x") == "`` `x ``"
    assert code(" x ") == "`  x  `"  # CommonMark strips one space each side
    assert code_cell("a|b`") == "`` a\\|b` ``"


def test_neutralise_shows_bidirectional_controls_as_code_points() -> None:
    """A right-to-left override makes "rebase\u202e dlrow" display reversed (CVE-2021-42574):
    the controls are shown as their code points; other non-ASCII text is left alone."""
    from catalog_ops.render.markdown import code, neutralise

    text = "/catalog-ops reba\u202ese \u2066x\u2069 déjà vu"
    out = neutralise(text)
    assert out == "/catalog-ops reba[U+202E]se [U+2066]x[U+2069] déjà vu"
    assert neutralise(out) == out
    assert "\u202e" not in code(text)
