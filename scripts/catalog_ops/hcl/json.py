"""Terraform JSON syntax (``*.tf.json``) with offsets: a small JSON parser that keeps spans.

``json.loads`` loses where values are written; bumps need the exact characters of a string's
raw contents (which may hold escapes), so values here are ``JNode`` spans over the text
(RFC 8259 grammar; Terraform "JSON Configuration Syntax" for the object shapes).
"""

from __future__ import annotations

import re
from collections.abc import Iterator


class JsonSyntaxError(Exception):
    """A JSON syntax error at character ``offset`` of the text."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


_JSTR = re.compile(r'"(?:[^"\\\x00-\x1f]|\\.)*"', re.S)
_JWS = re.compile(r"[ \t\r\n\ufeff]*")
_JLIT = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null")


class JNode:
    """A JSON value: ``kind`` obj/arr/str/lit over ``[start, end)`` (for ``str``: the raw
    contents, without quotes); ``items`` of an object are ``(key, key_offset, value)``.

    Not a dataclass: ``dataclasses`` is not imported on the ``refs`` path (start-up cost;
    tests/commands/test_startup.py guards it).
    """

    def __init__(
        self,
        kind: str,
        start: int,
        end: int,
        items: list[tuple[str, int, JNode]] | None = None,
        elems: list[JNode] | None = None,
    ) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.items = items
        self.elems = elems


_JSON_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


def json_unescape(text: str, start: int, end: int) -> tuple[str, list[int] | None]:
    """Decode the JSON string contents ``text[start:end]`` (RFC 8259 section 7 escapes).

    Returns ``(value, offsets)``: ``offsets[i]`` is the offset in ``text`` where decoded
    character ``i`` is written and ``offsets[len(value)] == end``, so a span of the value maps
    back to the raw bytes (``None`` when there is no escape: offsets are then ``start + i``).
    A surrogate pair ``\\uD83D\\uDE00`` decodes to one character.

    Raises:
        JsonSyntaxError: an invalid escape (with its offset).
    """
    if "\\" not in text[start:end]:
        return text[start:end], None
    out: list[str] = []
    offsets: list[int] = []
    i = start
    while i < end:
        c = text[i]
        if c != "\\":
            out.append(c)
            offsets.append(i)
            i += 1
            continue
        e = text[i + 1] if i + 1 < end else ""
        if e == "u" and _HEX4.fullmatch(text, i + 2, i + 6) and i + 6 <= end:
            cp = int(text[i + 2 : i + 6], 16)
            j = i + 6
            if 0xD800 <= cp < 0xDC00 and text.startswith("\\u", j) and _HEX4.fullmatch(text, j + 2, j + 6):
                low = int(text[j + 2 : j + 6], 16)
                if 0xDC00 <= low < 0xE000 and j + 6 <= end:
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00)
                    j += 6
            out.append(chr(cp))
        elif e in _JSON_SIMPLE_ESCAPES:
            out.append(_JSON_SIMPLE_ESCAPES[e])
            j = i + 2
        else:
            raise JsonSyntaxError(i, f"invalid JSON escape {text[i : i + 2]!r}")
        offsets.append(i)
        i = j
    offsets.append(end)
    return "".join(out), offsets


def raw_span(start: int, offsets: list[int] | None, a: int, b: int) -> tuple[int, int]:
    """Map ``[a, b)`` of a decoded JSON string back to offsets in the text (see ``json_unescape``)."""
    if offsets is None:
        return start + a, start + b
    return offsets[a], offsets[b]


def parse_json(text: str) -> JNode:
    """Parse one JSON document into ``JNode`` spans (nesting limited to 200 levels).

    Raises:
        JsonSyntaxError: malformed JSON (with the offset of the problem).
    """

    def ws(i: int) -> int:
        m = _JWS.match(text, i)
        return m.end() if m else i

    def value(i: int, depth: int) -> tuple[JNode, int]:
        if depth > 200:
            raise JsonSyntaxError(i, "JSON nests too deeply")
        i = ws(i)
        if i >= len(text):
            raise JsonSyntaxError(i, "unexpected end of JSON")
        c = text[i]
        if c == "{":
            items: list[tuple[str, int, JNode]] = []
            j = ws(i + 1)
            if text.startswith("}", j):
                return JNode("obj", i, j + 1, items=items), j + 1
            while True:
                j = ws(j)
                m = _JSTR.match(text, j)
                if not m:
                    raise JsonSyntaxError(j, "expected a JSON object key")
                key, _ = json_unescape(text, j + 1, m.end() - 1)
                j = ws(m.end())
                if not text.startswith(":", j):
                    raise JsonSyntaxError(j, "expected ':'")
                node, j = value(j + 1, depth + 1)
                items.append((key, m.start(), node))
                j = ws(j)
                if text.startswith(",", j):
                    j += 1
                    continue
                if text.startswith("}", j):
                    return JNode("obj", i, j + 1, items=items), j + 1
                raise JsonSyntaxError(j, "expected ',' or '}'")
        if c == "[":
            elems: list[JNode] = []
            j = ws(i + 1)
            if text.startswith("]", j):
                return JNode("arr", i, j + 1, elems=elems), j + 1
            while True:
                node, j = value(j, depth + 1)
                elems.append(node)
                j = ws(j)
                if text.startswith(",", j):
                    j += 1
                    continue
                if text.startswith("]", j):
                    return JNode("arr", i, j + 1, elems=elems), j + 1
                raise JsonSyntaxError(j, "expected ',' or ']'")
        if c == '"':
            m = _JSTR.match(text, i)
            if not m:
                raise JsonSyntaxError(i, "unterminated JSON string")
            return JNode("str", i + 1, m.end() - 1), m.end()
        m = _JLIT.match(text, i)
        if not m:
            raise JsonSyntaxError(i, f"unexpected character {c!r} in JSON")
        return JNode("lit", i, m.end()), m.end()

    node, end = value(0, 0)
    end = ws(end)
    if end != len(text):
        raise JsonSyntaxError(end, "extra data after the JSON value")
    return node


def objects(node: JNode | None) -> Iterator[JNode]:
    """An object, or each object of an array of objects (Terraform JSON allows both for blocks)."""
    if node is None:
        return
    if node.kind == "obj":
        yield node
    elif node.kind == "arr":
        for e in node.elems or []:
            if e.kind == "obj":
                yield e


def get(node: JNode, key: str) -> JNode | None:
    """The value of the first ``key`` of an object node, or ``None``."""
    for k, _, v in node.items or []:
        if k == key:
            return v
    return None


def string(text: str, node: JNode | None) -> tuple[str | None, tuple[int, int] | None]:
    """Decoded value of a string node and the span of its raw contents; ``(None, None)`` otherwise.

    Raises:
        JsonSyntaxError: an invalid escape.
    """
    if node is None or node.kind != "str":
        return None, None
    return json_unescape(text, node.start, node.end)[0], (node.start, node.end)
