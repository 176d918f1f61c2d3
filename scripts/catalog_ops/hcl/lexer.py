"""HCL native syntax lexer that keeps character offsets.

Covers what Terraform and Terragrunt files use (HCL native syntax specification,
hashicorp/hcl ``hclsyntax/spec.md``): identifiers, numbers, operators, quoted templates with
``${ }``/``%{ }`` parts and ``$${``/``%%{`` escapes, heredocs (``<<EOT``/``<<-EOT``), and
``#``/``//``/``/* */`` comments (dropped). Newlines are kept as tokens (they end attributes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection


class HclSyntaxError(Exception):
    """A syntax error at character ``offset`` of the text (callers turn it into ``path:line:col``)."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


class Tok:
    """A token: ``kind`` in ident/string/heredoc/number/punct/nl/eof; ``[start, end)`` offsets.

    For strings, ``parts`` lists ``("lit"|"interp"|"directive", start, end)`` spans of the
    contents (interp/directive spans are the expression inside ``${ }``/``%{ }``).
    Compared (``==``) field by field. Not a dataclass: ``dataclasses`` is not imported on the
    ``refs`` path (start-up cost; tests/commands/test_startup.py guards it).
    """

    __slots__ = ("end", "kind", "parts", "start", "text")

    def __init__(
        self, kind: str, start: int, end: int, text: str, parts: list[tuple[str, int, int]] | None = None
    ) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.text = text
        self.parts = parts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tok):
            return NotImplemented
        return (self.kind, self.start, self.end, self.text, self.parts) == (
            other.kind,
            other.start,
            other.end,
            other.text,
            other.parts,
        )


def _latin1_but(chars: str) -> str:
    """The character class of U+0000..U+00FF except ``chars``, written as positive ranges."""
    bounds: list[str] = []
    lo = 0
    for c in [*sorted({ord(ch) for ch in chars}), 0x100]:
        if c > lo:
            bounds.append(f"\\x{lo:02x}-\\x{c - 1:02x}")
        lo = c + 1
    return f"[{''.join(bounds)}]"


# The text of a skipped block body between strings, comments and braces (``[^{}"#/<]++``) is
# matched as a run of a positive class of Latin-1 characters or a run of ``_WIDE`` (every
# character from U+0100). Why: ``re`` tests a negated class through three opcodes for every
# character, a positive class through one bitmap lookup: 3x faster over the long runs of a body
# (1.8 vs 5.4 ns a character on CPython 3.11). (One positive class reaching U+FFFF would cost
# ``re.compile`` a 64K-step loop for each occurrence.) Both forms match the same text:
# tests/hcl/test_lexer_fast.py compares them.
_WIDE = r"[^\x00-\xff]"
_RUN_L1 = _latin1_but('{}"#/<')


# One match per token: the blanks before a token are part of its match (the token starts at
# ``m.start(kind)``); ``ws`` alone matches only blanks before the end of the text or before a
# character no token starts with (so the error names that character's offset).
_TOKEN_RE = re.compile(
    r"""
     [ \t\r\f\ufeff]*
     (?:
       (?P<nl>\n)
      |(?P<comment>\#[^\n]*|//[^\n]*)
      |(?P<bcomment>/\*)
      |(?P<heredoc><<-?(?P<marker>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n)
      |(?P<ident>(?:[^\W\d]|_)[\w-]*)
      |(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      |(?P<quote>")
      |(?P<punct>==|!=|<=|>=|=>|&&|\|\||\.\.\.|[{}\[\]()=,.:?!<>+\-*/%~])
     )
    |(?P<ws>[ \t\r\f\ufeff]+)
    """,
    re.X,
)
# A quoted string without templates (``${``/``%{``), escapes or newlines: its one literal part is
# all of its contents (what ``lex_string`` returns for it, without the loop).
_SIMPLE_STRING_RE = re.compile(r'"[^"\\\n$%]*"')
_STRING_SPECIAL = re.compile(r'["\\\n$%]')


def lex_string(text: str, i: int, end: int) -> tuple[int, list[tuple[str, int, int]]]:
    """Lex a quoted template starting at ``text[i] == '"'``.

    Returns:
        ``(index after the closing quote, parts)`` (see ``Tok.parts``).

    Raises:
        HclSyntaxError: unterminated string or template.
    """
    j = i + 1
    lit = j
    parts: list[tuple[str, int, int]] = []
    while True:
        m = _STRING_SPECIAL.search(text, j, end)
        if m is None:
            raise HclSyntaxError(i, "unterminated string")
        j = m.start()
        c = text[j]
        if c == '"':
            if j > lit:
                parts.append(("lit", lit, j))
            return j + 1, parts
        if c == "\n":
            raise HclSyntaxError(i, "unterminated string (newline in quoted string)")
        if c == "\\":
            j += 2
            continue
        # '$' or '%'
        if text.startswith(c * 2 + "{", j):  # escaped $${ / %%{
            j += 3
            continue
        if text.startswith("{", j + 1):
            if j > lit:
                parts.append(("lit", lit, j))
            try:
                close = _skip_expr(text, j + 2, end)
            except HclSyntaxError:
                raise HclSyntaxError(j, f"unterminated template {c}{{...}}") from None
            parts.append(("interp" if c == "$" else "directive", j + 2, close))
            j = close + 1
            lit = j
            continue
        j += 1


_EXPR_SPECIAL = re.compile(r'["{}\[\]()]')


def _skip_expr(text: str, i: int, end: int) -> int:
    """Return the index of the ``}`` closing a template interpolation whose expression starts at ``i``."""
    depth = 0
    j = i
    search = _EXPR_SPECIAL.search  # only quotes and brackets matter: jump from one to the next
    while (m := search(text, j, end)) is not None:
        j = m.start()
        c = text[j]
        if c == '"':
            j, _ = lex_string(text, j, end)
            continue
        if c in "{[(":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0:  # "}"
            return j
        else:
            depth -= 1
        j += 1
    raise HclSyntaxError(i - 2, "unterminated template interpolation")


# ``run``: text between braces, including whole strings without templates (one match for a
# stretch of a block body); a string with a template ends the run at its quote (``quote``:
# ``lex_string`` finds its end).
# (Possessive: a run of plain characters is followed by a quote, escape or ``$``/``%``, none of
# which it holds, so giving characters back could never let the rest match.)
_PLAIN_STRING = r'"[^"\\\n$%]*+(?:(?:\\.|\$\$\{|%%\{|\$(?!\{)|%(?!\{))[^"\\\n$%]*+)*+"'
_SKIP_PATTERN = rf"""(?x)
     (?P<run>(?:[^{{}}"\#/<]+|{_PLAIN_STRING}|/(?![/*])|<(?!<))+)
    |(?P<open>\{{)
    |(?P<close>\}})
    |(?P<quote>")
    |(?P<comment>\#[^\n]*|//[^\n]*)
    |(?P<bcomment>/\*)
    |(?P<heredoc><<-?(?P<marker>[A-Za-z_][A-Za-z0-9_-]*)[ \t]*\r?\n)
    |(?P<lt><<)
    """
_SKIP_RE: re.Pattern[str] | None = None  # compiled on first use: ``skip_block`` is the fallback


# Fast paths for skimming (``lex(skim=...)``): ``_FAST_HEAD_RE`` matches a top-level block header
# (type and labels: identifiers or strings without templates) up to its ``{``; for a block whose
# body is skipped, ``_FAST_BODY_RE`` then matches the whole body from that ``{`` when it nests at
# most ``_FAST_DEPTH`` blocks and holds no heredoc, ``<<`` or template beyond ``_TEMPLATE_STRING``
# (those fall back to ``skip_block``). The alternatives inside a body start with different
# characters and every repetition is possessive, so the match is the one ``skip_block``'s scan
# finds, or none. (A read block needs only its header: its body is lexed token by token anyway.)
_FAST_DEPTH = 4
_BLANKS = r"[ \t\r\f\ufeff]"
_IDENT = r"(?:[^\W\d]|_)[\w-]*+"
_SIMPLE_STRING = r'"[^"\\\n$%]*+"'
# A string whose templates are all simple (``${...}``/``%{...}`` holding no brace, bracket,
# parenthesis, quote, backslash or newline): ``lex_string`` ends it at the same quote (its
# ``_skip_expr`` then stops at the first ``}``). Other templates fall back to ``skip_block``.
_TEMPLATE_STRING = (
    r'"[^"\\\n$%]*+(?:(?:\\.|\$\$\{|%%\{|[$%]\{[^{}"\\\n\[\]()]*+\}|\$(?!\{)|%(?!\{))[^"\\\n$%]*+)*+"'
)
_FAST_ATOM = rf"""{_RUN_L1}++|{_WIDE}++|{_SIMPLE_STRING}|{_TEMPLATE_STRING}|/(?![/*])|<(?!<)|\#[^\n]*+|//[^\n]*+|/\*(?s:.*?)\*/"""
_fast_body = f"(?:{_FAST_ATOM})*+"
for _ in range(_FAST_DEPTH):
    _fast_body = rf"(?:{_FAST_ATOM}|\{{{_fast_body}\}})*+"
_FAST_HEAD_RE = re.compile(
    rf"(?P<head>{_BLANKS}*+(?P<type>{_IDENT})(?:{_BLANKS}*+(?P<label>{_SIMPLE_STRING}|{_IDENT}))?+"
    rf"(?:{_BLANKS}*+(?:{_SIMPLE_STRING}|{_IDENT}))*+){_BLANKS}*+\{{"
)
_FAST_BODY_PATTERN = rf"\{{{_fast_body}\}}"
_FAST_BODY_RE: re.Pattern[str] | None = None  # compiled on first use (``skim`` without ``drop``)
# Blank lines and line comments between top-level statements (``lex(drop=True)`` skips them).
_GAP = r"(?:[ \t\r\f\ufeff\n]++|\#[^\n]*+|//[^\n]*+)*+"
_GAP_RE = re.compile(_GAP)
# ``lex(skim=S, drop=True)``: a run of top-level blocks whose type is not in ``S``, each with the gap
# before it, and the gap after them, in one match. Each repetition is exactly one turn of ``lex``'s
# loop for a dropped block (``_GAP_RE``, ``_FAST_HEAD_RE`` with a type not in ``S``, then
# ``_FAST_BODY_RE``), all possessive, so the match ends where those turns would leave off; the
# first block that is read or whose body the pattern cannot read is left to the loop. (Python's
# loop costs ≈ 1.2 µs a block, 40% of skipping one.) One pattern per ``S``: ``_skipped_run_re``.
_SKIPPED_RUN_RES: dict[frozenset[str], re.Pattern[str]] = {}
_HEAD_TOKEN_PATTERN = rf"{_BLANKS}*+(?:(?P<string>{_SIMPLE_STRING})|(?P<ident>{_IDENT}))"
_HEAD_TOKEN_RE: re.Pattern[str] | None = None  # compiled on first use (headers of two labels or more)
# Fast path for whole lines inside a block body (``lex``): ``name = VALUE``, ``name = {``,
# ``name "label"... {``, ``}`` or nothing, then blanks, an optional line comment and the newline;
# VALUE is a string without escapes (templates only as ``${...}`` holding no quote, bracket,
# brace or newline: ``lex_string`` then finds the same end and parts, ``lex`` finds them with
# ``str.find``), a number, a call ``f()`` or
# ``f("string")``, or an identifier or ``a.b.c`` traversal. One match yields exactly the tokens
# the general loop would: each piece is that loop's own pattern, made possessive (the loop never
# backtracks into a token), and ``=`` is not followed by ``=``/``>`` (``==``, ``=>``). Any other
# line does not match and takes the general loop. The last group that matched names the line's
# kind (``Match.lastgroup``; ``None``: a blank line).
_NUMBER = r"\d++(?:\.\d++)?+(?:[eE][+-]?\d++)?+"
_LINE_PATTERN = (
    rf"{_BLANKS}*+(?:"
    rf"(?P<name>{_IDENT}){_BLANKS}*+(?:"
    rf"(?P<eq>=)(?![=>]){_BLANKS}*+(?:(?P<string>{_SIMPLE_STRING})"
    r'|(?P<template>"(?:[^"\\\n$%]++|\$\{[^{}"\\\n\[\]()]*+\})*+")'
    rf"|(?P<number>{_NUMBER})"
    rf"|(?P<call>(?P<fn>{_IDENT})\({_BLANKS}*+(?:(?P<arg>{_SIMPLE_STRING}){_BLANKS}*+)?+\))"
    rf"|(?P<ref>{_IDENT}(?:\.{_IDENT})*+)|(?P<open>\{{))"
    rf"|(?:(?:{_SIMPLE_STRING}|{_IDENT}){_BLANKS}*+)*+(?P<bopen>\{{))"
    rf"|(?P<close>\}}))?+"
    rf"{_BLANKS}*+(?:\#[^\n]*+|//[^\n]*+)?+\n"
)
_LINE_RE: re.Pattern[str] | None = None  # compiled on the first ``lex`` call (≈ 1.3 ms)


def _compiled(name: str) -> re.Pattern[str]:
    """The pattern ``name`` (``_LINE_RE``, ``_SKIP_RE``, ``_HEAD_TOKEN_RE``, ``_FAST_BODY_RE``),
    compiled from its ``*_PATTERN`` on first use and kept in the module global: a run that never
    needs it (start-up, a command that lexes nothing, texts without such lines) does not pay for
    compiling it."""
    pattern: re.Pattern[str] | None = globals()[name]
    if pattern is None:
        pattern = re.compile(globals()[name.removesuffix("_RE") + "_PATTERN"])
        globals()[name] = pattern
    return pattern


def _skipped_run_re(read_types: Collection[str]) -> re.Pattern[str]:
    """The pattern of a run of dropped blocks for the block types ``read_types`` (see
    ``_SKIPPED_RUN_RES``), compiled on first use for each set of types (≈ 3 ms)."""
    key = frozenset(read_types)
    pattern = _SKIPPED_RUN_RES.get(key)
    if pattern is None:
        # A type in ``read_types`` is the whole identifier: not followed by an identifier character.
        read = "|".join(re.escape(t) for t in sorted(key))
        not_read = rf"(?!(?:{read})(?![\w-]))" if key else ""
        head = rf"{_BLANKS}*+{not_read}{_IDENT}(?:{_BLANKS}*+(?:{_SIMPLE_STRING}|{_IDENT}))*+{_BLANKS}*+"
        pattern = _SKIPPED_RUN_RES[key] = re.compile(rf"(?:{_GAP}{head}{_FAST_BODY_PATTERN})*+{_GAP}")
    return pattern


def prepare(skim: Collection[str]) -> None:
    """Compile now the patterns ``lex(text, skim=skim, drop=True)`` compiles on first use
    (``_LINE_RE``, the run of dropped blocks for ``skim``: ≈ 5 ms). For a program that forks
    workers after its imports (``refs``' disk scan), so that they share them instead of each
    compiling them on its first file."""
    _compiled("_LINE_RE")
    _skipped_run_re(skim)


def _header_tokens(text: str, start: int, end: int, append: Callable[[Tok], None]) -> None:
    """Append the tokens of a block header's type and labels in ``text[start:end]``: identifiers
    and strings without templates or escapes (what ``_FAST_HEAD_RE`` and ``_LINE_RE`` let through),
    as the general loop lexes them."""
    for h in (_HEAD_TOKEN_RE or _compiled("_HEAD_TOKEN_RE")).finditer(text, start, end):
        if h.lastgroup == "ident":
            append(Tok("ident", h.start("ident"), h.end(), h["ident"]))
        else:
            a, z = h.span("string")
            append(Tok("string", a, z, text[a:z], [("lit", a + 1, z - 1)] if z > a + 2 else []))


def _heredoc_end(text: str, i: int, body_start: int, marker: str, end: int) -> int:
    term = re.compile(rf"^[ \t]*{re.escape(marker)}[ \t]*\r?$", re.M)
    t = term.search(text, body_start, end)
    if t is None:
        raise HclSyntaxError(i, f"unterminated heredoc (missing {marker})")
    return t.end()


def skip_block(text: str, i: int, end: int) -> int:
    """Given ``text[i] == '{'``, return the index of its matching ``}``.

    Braces inside strings, templates, heredocs and comments do not count.

    Raises:
        HclSyntaxError: the block is not closed before ``end`` (or a string/comment inside is not).
    """
    depth = 0
    j = i
    match = (_SKIP_RE or _compiled("_SKIP_RE")).match
    while j < end:
        m = match(text, j, end)
        assert m is not None  # every character is matched by some alternative
        kind = m.lastgroup
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth == 0:
                return j
        elif kind == "quote":
            j, _ = lex_string(text, j, end)
            continue
        elif kind == "bcomment":
            close = text.find("*/", j + 2, end)
            if close < 0:
                raise HclSyntaxError(j, "unterminated /* comment")
            j = close + 2
            continue
        elif kind == "heredoc":
            j = _heredoc_end(text, j, m.end(), m["marker"], end)
            continue
        j = m.end()
    raise HclSyntaxError(i, "block is not closed")


def lex(
    text: str,
    start: int = 0,
    end: int | None = None,
    *,
    skim: Collection[str] | None = None,
    drop: bool = False,
) -> list[Tok]:
    """Tokenise HCL native syntax ``text[start:end]`` (comments and blanks dropped, newlines kept).

    Args:
        skim: when given, the block types whose bodies matter: the bodies of other top-level
            blocks are skipped (their ``{`` and ``}`` tokens are kept) — much faster on
            resource-heavy files.
        drop: with ``skim``, the skipped blocks leave no tokens at all (not even their type,
            labels and braces), nor do the blank lines and line comments between top-level
            statements: for readers that use only the ``skim`` blocks (``refs``), which then
            get no ``Block`` for the others. Skipped bodies are checked as with ``skim`` alone,
            so the same texts raise the same errors.

    Returns:
        The tokens, ending with one ``eof`` token at ``end``.

    Raises:
        HclSyntaxError: unterminated string/heredoc/comment or an unexpected character (with offset).
    """
    if end is None:
        end = len(text)
    toks: list[Tok] = []
    append = toks.append
    i = start
    match = _TOKEN_RE.match
    simple_string = _SIMPLE_STRING_RE.match
    line = (_LINE_RE or _compiled("_LINE_RE")).match
    depth = 0
    stmt = 0  # index in toks of the current top-level statement's first token
    line_start = False  # i is after a newline or ``{`` inside a body: try ``_LINE_RE``
    block_stmt = False  # the top-level ``{`` last opened began a block (not an attribute's value)
    read_types: Collection[str] = () if skim is None else skim  # block types whose bodies are lexed
    fast_head = _FAST_HEAD_RE.match if skim is not None else None
    skipped_run = _skipped_run_re(read_types).match if skim is not None and drop else None
    while i < end:
        if depth == 0:
            if fast_head is not None and stmt == len(toks):
                if skipped_run is not None:
                    # The gap and the dropped blocks up to the next block that is read (or that
                    # the pattern cannot read: the general loop checks that one).
                    i = skipped_run(text, i, end).end()  # type: ignore[union-attr]  # matches ""
                    if i == end:
                        break
                h = fast_head(text, i, end)
                b = None
                skipped = False
                if h is not None:
                    opening = h.end() - 1
                    skipped = h["type"] not in read_types
                    if skipped and not drop:  # (with ``drop``, ``skipped_run`` tried it)
                        b = (_FAST_BODY_RE or _compiled("_FAST_BODY_RE")).match(text, opening, end)
                # A skipped block whose body the pattern cannot read takes the general loop.
                if h is not None and (b is not None or not skipped):
                    # The header's tokens (type, labels, ``{``) as the general loop lexes them
                    # (one label, the common case, from its group); a read block's body is then
                    # lexed from after its ``{``.
                    a, z = h.span("type")
                    append(Tok("ident", a, z, text[a:z]))
                    head_end = h.end("head")
                    if z < head_end:
                        a, z = h.span("label")
                        if z < head_end:
                            _header_tokens(text, a, head_end, append)
                        elif text[a] == '"':
                            append(
                                Tok("string", a, z, text[a:z], [("lit", a + 1, z - 1)] if z > a + 2 else [])
                            )
                        else:
                            append(Tok("ident", a, z, text[a:z]))
                    append(Tok("punct", opening, opening + 1, "{"))
                    if b is not None:
                        close = b.end() - 1
                        append(Tok("punct", close, close + 1, "}"))
                        i = close + 1
                    else:
                        depth = 1
                        block_stmt = True
                        line_start = True
                        i = opening + 1
                    continue
        elif line_start:
            # Whole lines of a body in one match each (``_LINE_RE``), until one does not match.
            line_start = False
            while (ln := line(text, i, end)) is not None:
                kind = ln.lastgroup  # the line's last group: its kind (None: a blank line)
                if kind == "close":
                    a = ln.start(kind)
                    append(Tok("punct", a, a + 1, "}"))
                    depth -= 1
                    if depth == 0:
                        # Back at the top level: the rest of the line is the general loop's
                        # (after a block, ``drop`` skips it with the gap between statements).
                        if block_stmt:
                            stmt = len(toks)
                        i = a + 1
                        break
                elif kind is not None:
                    a, z = ln.span("name")
                    append(Tok("ident", a, z, text[a:z]))
                    if kind == "bopen":
                        a = ln.start(kind)
                        _header_tokens(text, z, a, append)
                        append(Tok("punct", a, a + 1, "{"))
                        depth += 1
                    else:
                        a = ln.start("eq")
                        append(Tok("punct", a, a + 1, "="))
                        a, z = ln.span(kind)
                        if kind == "string":
                            append(
                                Tok("string", a, z, text[a:z], [("lit", a + 1, z - 1)] if z > a + 2 else [])
                            )
                        elif kind == "template":
                            # Its only ``$`` are ``${`` of interpolations holding no quote, brace,
                            # bracket or newline: ``lex_string``'s parts, with each interpolation
                            # ending at the next ``}`` (where its ``_skip_expr`` stops).
                            parts = []
                            j = a + 1
                            last = z - 1  # the closing quote
                            while (k := text.find("$", j, last)) >= 0:
                                if k > j:
                                    parts.append(("lit", j, k))
                                j = text.index("}", k + 2)
                                parts.append(("interp", k + 2, j))
                                j += 1
                            if j < last:
                                parts.append(("lit", j, last))
                            append(Tok("string", a, z, text[a:z], parts))
                        elif kind == "call":
                            a, z = ln.span("fn")
                            append(Tok("ident", a, z, text[a:z]))
                            append(Tok("punct", z, z + 1, "("))
                            a, z = ln.span("arg")
                            if a >= 0:
                                append(
                                    Tok(
                                        "string",
                                        a,
                                        z,
                                        text[a:z],
                                        [("lit", a + 1, z - 1)] if z > a + 2 else [],
                                    )
                                )
                            z = ln.end(kind)
                            append(Tok("punct", z - 1, z, ")"))
                        elif kind == "ref":
                            names = text[a:z].split(".")
                            z = a + len(names[0])
                            append(Tok("ident", a, z, names[0]))
                            for part in names[1:]:
                                append(Tok("punct", z, z + 1, "."))
                                a = z + 1
                                z = a + len(part)
                                append(Tok("ident", a, z, part))
                        elif kind == "number":
                            append(Tok("number", a, z, text[a:z]))
                        else:  # name = {
                            append(Tok("punct", a, z, "{"))
                            depth += 1
                i = ln.end()
                append(Tok("nl", i - 1, i, "\n"))
                if depth == 0:  # a ``{`` closed an unbalanced ``}``: a newline at the top level
                    stmt = len(toks)
                    break
            continue
        m = match(text, i, end)
        if m is None:
            raise HclSyntaxError(i, f"unexpected character {text[i]!r}")
        kind = m.lastgroup
        if kind == "ident":
            append(Tok("ident", m.start(kind), m.end(), m.group(kind)))
            i = m.end()
        elif kind == "nl":
            i = m.end()
            append(Tok("nl", i - 1, i, "\n"))
            if depth == 0:
                stmt = len(toks)
            else:
                line_start = True
        elif kind == "quote":
            i = m.start(kind)
            s = simple_string(text, i, end)
            if s is not None:
                j = s.end()
                parts = [("lit", i + 1, j - 1)] if j - i > 2 else []
            else:
                j, parts = lex_string(text, i, end)
            append(Tok("string", i, j, text[i:j], parts))
            i = j
        elif kind == "punct":
            t = m.group(kind)
            i = m.start(kind)
            if t == "{":
                if depth == 0:
                    # A block's header is an identifier and labels; its ``}`` ends the statement.
                    # An attribute's ``{`` (``inputs = {``) does not: the newline after it does.
                    block_stmt = (
                        stmt < len(toks)
                        and toks[stmt].kind == "ident"
                        and all(x.kind in ("ident", "string") for x in toks[stmt + 1 :])
                    )
                    if skim is not None and block_stmt and toks[stmt].text not in skim:
                        close = skip_block(text, i, end)
                        if drop:
                            del toks[stmt:]
                        else:
                            append(Tok("punct", i, i + 1, "{"))
                            append(Tok("punct", close, close + 1, "}"))
                        i = close + 1
                        continue
                depth += 1
                line_start = True
            elif t == "}":
                depth -= 1
                if depth == 0 and block_stmt:
                    stmt = len(toks) + 1
            append(Tok("punct", i, m.end(), t))
            i = m.end()
        elif kind == "ws" or kind == "comment":
            i = m.end()
        elif kind == "bcomment":
            i = m.start(kind)
            close = text.find("*/", i + 2, end)
            if close < 0:
                raise HclSyntaxError(i, "unterminated /* comment")
            i = close + 2
        elif kind == "heredoc":
            i = m.start(kind)
            j = _heredoc_end(text, i, m.end(), m["marker"], end)
            append(Tok("heredoc", i, j, text[i:j]))
            i = j
        else:
            assert kind is not None
            append(Tok(kind, m.start(kind), m.end(), m.group(kind)))
            i = m.end()
    append(Tok("eof", end, end, ""))
    return toks
