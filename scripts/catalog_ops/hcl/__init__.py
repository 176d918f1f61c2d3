"""The one Terraform text reader: HCL native syntax and Terraform JSON, with character offsets.

* ``text``: bytes -> text (``decode``, ``MAX_FILE_BYTES``);
* ``lexer``: tokens with offsets (``lex``, ``Tok``, ``HclSyntaxError``);
* ``body``: attributes and blocks with their spans (``parse``, ``Block``, ``Attr``, ``object_items``);
* ``json``: Terraform JSON syntax as spans (``parse_json``, ``JNode``, ``json_unescape``).
* ``grammar``: semantic-only checks through python-hcl2, imported lazily (``one_expression_problem``).

Everything returns offsets into the decoded text, so callers (``refs``, ``bump``, ``catalog.layout``,
``checks``) edit only the characters they mean to. Standard library only: importing it loads no
third-party module. Why python-hcl2 is not used here: docs/internals.md, "hcl/".
"""

from catalog_ops.hcl.body import Attr, Block, leading_string, object_items, parse, parse_body, string_value
from catalog_ops.hcl.json import JNode, JsonSyntaxError, json_unescape, parse_json
from catalog_ops.hcl.lexer import HclSyntaxError, Tok, lex, skip_block
from catalog_ops.hcl.text import decode

__all__ = [
    "Attr",
    "Block",
    "HclSyntaxError",
    "JNode",
    "JsonSyntaxError",
    "Tok",
    "decode",
    "json_unescape",
    "leading_string",
    "lex",
    "object_items",
    "parse",
    "parse_body",
    "parse_json",
    "skip_block",
    "string_value",
]
