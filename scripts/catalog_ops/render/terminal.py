"""Untrusted text on a terminal line: what the CLI prints from files, check output and forges."""

from __future__ import annotations


def printable(text: str) -> str:
    """``text`` with every non-printable character (newline, tab, other control, format and
    separator characters: ``str.isprintable``) written as its Python escape (``\\n``, ``\\t``,
    ``\\x1b``, ``\\u2028``), so one row stays on one line and no escape sequence reaches the
    terminal. Printable text is unchanged."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
