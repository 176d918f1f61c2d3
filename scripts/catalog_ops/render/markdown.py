"""Markdown escaping of untrusted text (GitHub Flavored Markdown), one home for every variant.

Untrusted text is anything the product did not write itself: commit subjects and PR titles
(catalog contributors), file and module names, config values and tool messages from dependents
and catalog PRs, release notes copied into PR bodies (docs/security.md). Every variant below
first applies ``neutralise``, so whatever the context, untrusted text can neither

- open or close an HTML comment (``<!--`` / ``-->``: it could hide text or forge a block),
- look like a catalog-ops marker (``catalog-ops:``; markers are parsed from raw bodies),
- @-mention a user or team (GitHub notifies on ``@login`` / ``@org/team``: "Mentioning people
  and teams", https://docs.github.com/en/get-started/writing-on-github/getting-started-with-writing-and-formatting-on-github/basic-writing-and-formatting-syntax#mentioning-people-and-teams),

and then the context-specific escape keeps it inside its place:

- ``untrusted`` (filter ``untrusted``): ``neutralise`` plus an unclosed code fence closed at the
  end, keeping line breaks: multi-line text (migration notes, breaking-change notes).
- ``md_text`` (filter ``md``): one line of prose: line breaks become spaces, a ``<`` that would
  open an HTML tag becomes ``&lt;`` (check report, notes, reasons).
- ``md_cell`` (filter ``md_cell``): ``md_text`` for a table cell, ``|`` escaped.
- ``md_plain`` (filter ``md_plain``): ``|`` escaped and ``\\n`` as a space, nothing else: text in
  code spans written by a template, where ``&lt;`` would print literally.
- ``code`` / ``code_cell`` (filters ``code`` / ``code_cell``): a whole code span whose fence is
  longer than any backtick run inside, so the text cannot end it early (CommonMark 0.31.2,
  "Code spans": a span ends at the next backtick string of the *same* length, and one leading
  and trailing space are stripped when both are present:
  https://spec.commonmark.org/0.31.2/#code-spans). ``code_cell`` also escapes ``|`` (GFM tables).
- ``md_cell_br``: a table cell keeping its line breaks as ``<br>`` (``render.report.Report``).
- ``md_quote`` (filter ``md_quote``): untrusted multi-line Markdown (a release body, a CHANGELOG
  section) shown as a blockquote: HTML comments dropped, tag-opening ``<`` as ``&lt;``,
  ``@mentions`` defused (word joiner), at most ``max_lines`` lines, then ``neutralise``.

Mentions are broken the way Renovate does it (``sanitizeMarkdown`` in renovatebot/renovate
``lib/util/markdown.ts``): a zero-width space (U+200B) after the ``@``, which GitHub renders
invisibly and does not link or notify; the same character breaks comment delimiters and markers,
so the text reads the same and works in prose and in code spans alike (where ``&lt;`` would
print literally). Benign text (no ``@``-mention, no ``<!--``/``-->``, no ``catalog-ops:``, no
backticks) comes out byte for byte as before.
"""

from __future__ import annotations

import re

ZWSP = "\u200b"
"""ZERO WIDTH SPACE: invisible on GitHub, enough to break a mention, a marker or a delimiter."""

_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_MENTION = re.compile(r"(?<![A-Za-z0-9_.+\-/])@(?=[A-Za-z0-9])")
_MARKER = re.compile(r"(catalog-ops)(:)", re.I)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.M)
_BACKTICKS = re.compile(r"`+")
# Unicode bidirectional controls (embeddings, overrides, isolates: U+202A-U+202E, U+2066-U+2069)
# reorder how the text around them is displayed ("Trojan Source", CVE-2021-42574): shown as
# their code point instead, so what a reviewer reads is what the bytes say.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


def neutralise(text: object) -> str:
    """``text`` with HTML comment delimiters, catalog-ops marker prefixes and @-mentions broken
    by a zero-width space (``<!--`` -> ``<\\u200b!--``, ``-->`` -> ``--\\u200b>``,
    ``catalog-ops:`` -> ``catalog-ops\\u200b:``, ``@team`` -> ``@\\u200bteam``); line breaks and
    everything else unchanged, but bidirectional controls, which reorder how text displays,
    are shown as ``[U+202E]``. Idempotent (a second pass changes nothing)."""
    s = _BIDI.sub(lambda m: f"[U+{ord(m.group()):04X}]", str(text))
    s = s.replace("<!--", f"<{ZWSP}!--").replace("-->", f"--{ZWSP}>")
    s = _MARKER.sub(rf"\1{ZWSP}\2", s)
    return _MENTION.sub(f"@{ZWSP}", s)


def untrusted(text: object) -> str:
    """Multi-line untrusted Markdown (filter ``untrusted``): ``neutralise``, then a code fence
    left open by the text is closed at its end (an unclosed fence would swallow the rest of the
    body, GFM "Fenced code blocks": the block runs to the end of the document)."""
    s = neutralise(text)
    open_fence: str | None = None
    for match in _FENCE.finditer(s):
        fence = match.group(1)
        if open_fence is None:
            open_fence = fence
        elif fence[0] == open_fence[0] and len(fence) >= len(open_fence):
            open_fence = None
    if open_fence is not None:
        s = s.rstrip("\n") + "\n" + open_fence
    return s


def md_text(text: object) -> str:
    """Untrusted text made safe for one line of GitHub Markdown (filter ``md``).

    ``neutralise``, line breaks become spaces (they would end a list item), ``<`` that would open
    an HTML tag becomes ``&lt;`` (GitHub would swallow ``<details>``-like text). No HTML entity
    escaping otherwise: GitHub renders Markdown, not HTML-escaped text.
    """
    flat = " ".join(neutralise(text).splitlines())
    return _TAG_START.sub("&lt;", flat)


def md_cell(text: object) -> str:
    """``md_text`` plus ``|`` escaped as ``\\|`` (filter ``md_cell``; GFM tables: a bare pipe
    splits the cell)."""
    return md_text(text).replace("|", "\\|")


def md_plain(text: object) -> str:
    """``neutralise``, ``|`` escaped as ``\\|`` and ``\\n`` replaced by a space, nothing else
    (filter ``md_plain``): for text inside template-written code spans in table cells."""
    return neutralise(text).replace("|", "\\|").replace("\n", " ")


def _span(text: str) -> str:
    longest = max((len(m.group(0)) for m in _BACKTICKS.finditer(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text[:1] == "`" or text[-1:] == "`" or (text[:1] == " " and text[-1:] == " ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def code(text: object) -> str:
    """``text`` as one GFM code span (filter ``code``): ``neutralise``, line breaks as spaces,
    a fence one backtick longer than the longest backtick run inside (padded with a space when
    the text starts or ends with a backtick, which CommonMark strips again). Benign text comes
    out as ```text```."""
    return _span(neutralise(text).replace("\r", " ").replace("\n", " "))


def code_cell(text: object) -> str:
    """``code`` for a GFM table cell (filter ``code_cell``): ``|`` escaped as ``\\|`` too (GFM
    tables: pipes inside code spans in a cell must be escaped)."""
    return _span(neutralise(text).replace("\r", " ").replace("\n", " ").replace("|", "\\|"))


def md_cell_br(text: str) -> str:
    """A GFM table cell keeping line breaks: ``neutralise``, ``\\`` and ``|`` escaped, ``\\r`` as
    a space, ``\\n`` as ``<br>`` (the outcome report's cells)."""
    return neutralise(text).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", "<br>")


_COMMENT = re.compile(r"<!--.*?-->", re.S)
_QUOTE_MENTION = re.compile(r"(?<![\w`])@(?=[A-Za-z0-9])")


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
        line = neutralise(_QUOTE_MENTION.sub("@\u2060", _TAG_START.sub("&lt;", line.rstrip())))
        out.append(f"> {line}" if line else ">")
    return "\n".join(out)
