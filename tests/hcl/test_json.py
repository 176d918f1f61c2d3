"""Terraform JSON spans: node offsets, escapes mapped back to raw offsets, syntax errors."""

from __future__ import annotations

import pytest

from catalog_ops.hcl import JsonSyntaxError, json_unescape, parse_json
from catalog_ops.hcl.json import get, objects, raw_span, string


def test_nodes_carry_spans():
    text = '{"module": [{"a": {"source": "x/y", "n": 1}}]}'
    root = parse_json(text)
    (group,) = objects(get(root, "module"))
    body = get(group, "a")
    assert body is not None
    assert string(text, get(body, "source")) == ("x/y", (text.index("x/y"), text.index("x/y") + 3))
    assert string(text, get(body, "n")) == (None, None)


def test_unescape_maps_decoded_spans_to_raw_offsets():
    text = '"a\\u0062c\\ud83d\\ude00d"'
    value, offsets = json_unescape(text, 1, len(text) - 1)
    assert value == "abc\U0001f600d"
    assert text[slice(*raw_span(1, offsets, 1, 2))] == "\\u0062"
    assert text[slice(*raw_span(1, offsets, 3, 4))] == "\\ud83d\\ude00"
    assert json_unescape("plain", 0, 5) == ("plain", None)


@pytest.mark.parametrize(
    ("text", "offset", "message"),
    [
        ('{"a": 1,}', 8, "expected a JSON object key"),
        ('{"a" 1}', 5, "expected ':'"),
        ("[1 2]", 3, "expected ',' or ']'"),
        ("{} x", 3, "extra data"),
        ('"\\x"', 1, "invalid JSON escape"),
    ],
)
def test_syntax_errors(text, offset, message):
    with pytest.raises(JsonSyntaxError) as info:
        root = parse_json(text)
        string(text, root)
    assert (info.value.offset, message in info.value.message) == (offset, True)
