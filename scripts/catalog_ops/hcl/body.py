"""HCL bodies: attributes and blocks over the lexer's tokens, with their offsets.

A body is a sequence of attributes (``name = expr``, ended by a newline) and blocks
(``type "label"... { body }``) (HCL native syntax specification, "Structural Elements").
Expressions are not evaluated here: an attribute keeps its expression's tokens.
"""

from __future__ import annotations

from collections.abc import Collection

from catalog_ops.hcl.lexer import HclSyntaxError, Tok, lex

OPEN = {"{": "}", "[": "]", "(": ")"}
CLOSE = frozenset({"}", "]", ")"})
_ATOMS = frozenset({"string", "number", "ident", "heredoc"})  # one-token expressions


class Attr:
    """``name = expr``; ``tok`` is the name token, ``expr`` the expression's tokens (no trailing newline).

    Compared (``==``) field by field. Not a dataclass: ``dataclasses`` is not imported on the
    ``refs`` path (start-up cost; tests/commands/test_startup.py guards it).
    """

    def __init__(self, name: str, tok: Tok, expr: list[Tok]) -> None:
        self.name = name
        self.tok = tok
        self.expr = expr

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Attr):
            return NotImplemented
        return (self.name, self.tok, self.expr) == (other.name, other.tok, other.expr)


class Block:
    """``type "label"... { body }`` with attributes (first definition wins) and nested blocks.

    ``tok`` is the type token; ``open``/``close`` are the offsets of the body's ``{`` and ``}``
    (the root body, type ``""``, has ``open == -1`` and ``close`` at the end of the text).
    ``attrs``/``blocks`` default to new empty ones. Compared (``==``) field by field.
    Not a dataclass: ``dataclasses`` is not imported on the ``refs`` path (start-up cost;
    tests/commands/test_startup.py guards it).
    """

    def __init__(
        self,
        type: str,
        labels: list[str],
        tok: Tok,
        attrs: dict[str, Attr] | None = None,
        blocks: list[Block] | None = None,
        open: int = -1,
        close: int = -1,
    ) -> None:
        self.type = type
        self.labels = labels
        self.tok = tok
        self.attrs: dict[str, Attr] = {} if attrs is None else attrs
        self.blocks: list[Block] = [] if blocks is None else blocks
        self.open = open
        self.close = close

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Block):
            return NotImplemented
        return (self.type, self.labels, self.tok, self.attrs, self.blocks, self.open, self.close) == (
            other.type,
            other.labels,
            other.tok,
            other.attrs,
            other.blocks,
            other.open,
            other.close,
        )


def expr_end(toks: list[Tok], i: int) -> int:
    """Index one past the last token of the expression starting at ``i`` (stops at newline/``}``).

    Raises:
        HclSyntaxError: the file ends inside brackets.
    """
    depth = 0
    while True:
        t = toks[i]
        if t.kind == "eof":
            if depth:
                raise HclSyntaxError(t.start, "unexpected end of file in expression")
            return i
        if t.kind == "punct":
            if t.text in OPEN:
                depth += 1
            elif t.text in CLOSE:
                if depth == 0:
                    return i
                depth -= 1
        elif t.kind == "nl" and depth == 0:
            return i
        i += 1


def string_value(text: str, tok: Tok) -> str:
    """The raw contents of a quoted string token (escapes and templates as written)."""
    return text[tok.start + 1 : tok.end - 1]


def parse_body(text: str, toks: list[Tok]) -> Block:
    """Parse tokens into a root ``Block`` (type ``""``) of attributes and nested blocks.

    Raises:
        HclSyntaxError: structural syntax error (with offset).
    """
    root = Block("", [], toks[0], close=toks[-1].end)
    stack: list[Block] = [root]
    cur = root  # stack[-1]
    i = 0
    n = len(toks)
    while i < n:
        t = toks[i]
        k = t.kind
        if k == "nl":
            i += 1
            continue
        if k == "eof":
            if len(stack) > 1:
                raise HclSyntaxError(cur.tok.start, f"block {cur.type!r} is not closed")
            return root
        if k == "punct" and t.text == "}":
            if len(stack) == 1:
                raise HclSyntaxError(t.start, "unexpected '}'")
            stack.pop().close = t.start
            cur = stack[-1]
            i += 1
            continue
        if k != "ident":
            raise HclSyntaxError(t.start, f"expected an attribute or block, found {t.text or t.kind!r}")
        nxt = toks[i + 1]
        if nxt.text == "=":  # only a punct token's text is a bare "=" (strings keep their quotes)
            # ``name = VALUE`` then a newline, VALUE one token (no brackets): what ``expr_end``
            # returns for it, without the call.
            one_token = toks[i + 2].kind in _ATOMS and toks[i + 3].kind == "nl"
            j = i + 3 if one_token else expr_end(toks, i + 2)
            if j == i + 2:
                raise HclSyntaxError(nxt.end, f"missing value for attribute {t.text!r}")
            name = t.text
            if name not in cur.attrs:  # the first definition wins
                cur.attrs[name] = Attr(name, t, toks[i + 2 : j])
            i = j
            continue
        labels: list[str] = []
        j = i + 1
        while toks[j].kind in ("string", "ident"):
            lt = toks[j]
            labels.append(string_value(text, lt) if lt.kind == "string" else lt.text)
            j += 1
        if not (toks[j].kind == "punct" and toks[j].text == "{"):
            bad = toks[j]
            raise HclSyntaxError(
                bad.start, f"expected '=' or '{{' after {t.text!r}, found {bad.text or bad.kind!r}"
            )
        block = Block(t.text, labels, t, open=toks[j].start)
        cur.blocks.append(block)
        stack.append(block)
        cur = block
        i = j + 1
    return root  # pragma: no cover


def parse(text: str, *, skim: Collection[str] | None = None, drop: bool = False) -> Block:
    """Lex and parse HCL native syntax ``text`` into its root body (see ``lex`` for ``skim``;
    with ``drop``, the root's ``blocks`` hold only the ``skim`` types).

    Raises:
        HclSyntaxError: lexical or structural syntax error (with offset).
    """
    return parse_body(text, lex(text, skim=skim, drop=drop))


def object_items(text: str, toks: list[Tok]) -> dict[str, list[Tok]] | None:
    """Split an object constructor ``{ k = v, k2 = v2 }`` into key -> value tokens.

    Keys are identifiers or quoted strings (raw contents); ``=`` and ``:`` both separate (HCL
    "Collection Values"). The first definition of a key wins; parsing stops at the first item
    that is not ``key = value``. ``None`` when ``toks`` is not an object constructor.
    """
    if not toks or toks[0].text != "{" or toks[-1].text != "}":
        return None
    out: dict[str, list[Tok]] = {}
    i = 1
    end = len(toks) - 1
    while i < end:
        t = toks[i]
        if t.kind == "nl" or t.text == ",":
            i += 1
            continue
        if t.kind not in ("ident", "string") or i + 1 >= end or toks[i + 1].text not in ("=", ":"):
            return out
        key = t.text if t.kind == "ident" else string_value(text, t)
        j = i + 2
        depth = 0
        while j < end:
            u = toks[j]
            if u.kind == "punct" and u.text in OPEN:
                depth += 1
            elif u.kind == "punct" and u.text in CLOSE:
                depth -= 1
            elif depth == 0 and (u.kind == "nl" or u.text == ","):
                break
            j += 1
        out.setdefault(key, toks[i + 2 : j])
        i = j
    return out


def split_args(toks: list[Tok]) -> list[list[Tok]]:
    """Split a function call's argument tokens at top-level commas (newlines dropped)."""
    args: list[list[Tok]] = []
    cur: list[Tok] = []
    depth = 0
    for t in toks:
        if t.kind == "punct" and t.text in OPEN:
            depth += 1
        elif t.kind == "punct" and t.text in CLOSE:
            depth -= 1
        if depth == 0 and t.kind == "punct" and t.text == ",":
            args.append(cur)
            cur = []
        elif t.kind != "nl":
            cur.append(t)
    if cur:
        args.append(cur)
    return args


def leading_string(text: str, expr: list[Tok]) -> tuple[str, int] | None:
    """``(raw contents, offset of the contents)`` when the expression ``expr`` starts with a
    quoted string (``source = "../x"``), else ``None``. Escapes and templates are left as written."""
    if not expr or expr[0].kind != "string":
        return None
    return string_value(text, expr[0]), expr[0].start + 1
