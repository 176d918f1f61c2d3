"""Markdown escaping of user text (GitHub Flavored Markdown), one home for every variant.

The variants differ on purpose and each keeps the bytes of what it renders today:

- ``md_text`` (filter ``md``): one line of prose: line breaks become spaces, a ``<`` that would
  open an HTML tag becomes ``&lt;`` (check report).
- ``md_cell`` (filter ``md_cell``): ``md_text`` for a table cell, ``|`` escaped (check report,
  check step summaries).
- ``md_plain`` (filter ``md_plain``): ``|`` escaped and ``\\n`` as a space, nothing else: text in
  code spans, where ``&lt;`` would print literally (dashboard, rollout plan summary).
- ``md_cell_br``: a table cell keeping its line breaks as ``<br>``, backslashes and ``|``
  escaped (``render.report.Report``).
- ``code``: a code span.
- ``md_quote`` (filter ``md_quote``): untrusted multi-line Markdown (a release body, a CHANGELOG
  section) shown as a blockquote: HTML comments dropped, tag-opening ``<`` as ``&lt;``,
  ``@mentions`` defused, at most ``max_lines`` lines.

GFM spec: tables ("the pipes inside other inline spans ... escape them"), raw HTML, code spans.
"""

from __future__ import annotations

import re

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")


def md_text(text: object) -> str:
    """User text made safe for one line of GitHub Markdown, otherwise unchanged (filter ``md``).

    No HTML entity escaping (quotes and ``&`` stay as they are; GitHub renders Markdown, not
    HTML-escaped text): only ``<`` that would open an HTML tag becomes ``&lt;`` (GitHub would
    swallow ``<details>``-like text) and line breaks become spaces (they would end a list item).
    """
    flat = " ".join(str(text).splitlines())
    return _TAG_START.sub("&lt;", flat)


def md_cell(text: object) -> str:
    """``md_text`` plus ``|`` escaped as ``\\|`` (filter ``md_cell``; GFM tables: a bare pipe
    splits the cell)."""
    return md_text(text).replace("|", "\\|")


def md_plain(text: object) -> str:
    """``|`` escaped as ``\\|`` and ``\\n`` replaced by a space, nothing else (filter
    ``md_plain``): for text inside code spans, where ``&lt;`` would print literally."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def code(text: object) -> str:
    """``text`` wrapped in backticks (filter ``code``; a GFM code span)."""
    return f"`{text}`"


def md_cell_br(text: str) -> str:
    """A GFM table cell keeping line breaks: ``\\`` and ``|`` escaped, ``\\r`` as a space,
    ``\\n`` as ``<br>`` (the outcome report's cells)."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")


def md_quote(text: object, max_lines: int = 60) -> str:
    """Untrusted multi-line Markdown as a GFM blockquote (filter ``md_quote``).

    HTML comments (e.g. another tool's markers) are dropped, a ``<`` that would open an HTML tag
    becomes ``&lt;``, ``@name`` gets a word joiner after the ``@`` so quoting a release body in
    many PRs pings nobody, and text beyond ``max_lines`` lines is cut with a ``…`` line.
    """
    body = _COMMENT.sub("", str(text)).strip("\n")
    lines = body.splitlines()
    if len(lines) > max_lines:
        lines = [*lines[:max_lines], "…"]
    out = []
    for line in lines:
        line = _MENTION.sub("@\u2060", _TAG_START.sub("&lt;", line.rstrip()))
        out.append(f"> {line}" if line else ">")
    return "\n".join(out)
