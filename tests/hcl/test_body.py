"""HCL bodies: blocks with labels and brace offsets, attributes, object items, leading strings."""

from __future__ import annotations

import pytest

from catalog_ops.hcl import HclSyntaxError, leading_string, object_items, parse

TEXT = """\
plugin "aws" {
  enabled = true
  nested { a = "}" }
}
module "vpc" {
  source  = "../vpc" # comment
  version = "1.0"
  source  = "ignored: first definition wins"
}
"""


def test_blocks_labels_attributes_and_brace_offsets():
    root = parse(TEXT)
    plugin, module = root.blocks
    assert (plugin.type, plugin.labels, module.type, module.labels) == ("plugin", ["aws"], "module", ["vpc"])
    assert TEXT[plugin.open] == "{" and TEXT[plugin.close] == "}"
    assert TEXT[plugin.tok.start : plugin.close + 1].endswith('nested { a = "}" }\n}')
    assert [b.type for b in plugin.blocks] == ["nested"]
    assert list(module.attrs) == ["source", "version"]
    assert leading_string(TEXT, module.attrs["source"].expr) == ("../vpc", TEXT.index("../vpc"))
    assert leading_string(TEXT, plugin.attrs["enabled"].expr) is None


def test_skimmed_parse_keeps_block_offsets():
    full, skim = parse(TEXT), parse(TEXT, skim=())
    assert [(b.open, b.close) for b in full.blocks] == [(b.open, b.close) for b in skim.blocks]
    assert skim.blocks[0].attrs == {}


def test_object_items():
    text = 'v = { version = "v1", "k" : [1, {a = 2}], n = 3 }\n'
    items = object_items(text, parse(text).attrs["v"].expr)
    assert items is not None
    assert {k: [t.text for t in v] for k, v in items.items()} == {
        "version": ['"v1"'],
        "k": ["[", "1", ",", "{", "a", "=", "2", "}", "]"],
        "n": ["3"],
    }
    assert object_items(text, parse('v = "x"\n').attrs["v"].expr) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("}\n", "unexpected '}'"),
        ('module "x" {\n', "is not closed"),
        ('module "x" "y" = 1\n', "expected '=' or '{'"),
        ("a =\n", "missing value"),
    ],
)
def test_structural_errors(text, message):
    with pytest.raises(HclSyntaxError, match=message):
        parse(text)
