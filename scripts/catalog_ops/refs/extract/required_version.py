"""``terraform { required_version = "..." }`` (Terraform "Terraform Settings"), HCL and JSON."""

from __future__ import annotations

from catalog_ops.core.edits import line_col
from catalog_ops.hcl import json as hjson
from catalog_ops.hcl.body import Block
from catalog_ops.refs.extract.base import Extractor, literal
from catalog_ops.refs.model import Reference, RefKindOfEntry, RefStatus
from catalog_ops.refs.terragrunt import Evaluator, ParsedFile


def _hcl(ev: Evaluator, f: ParsedFile, b: Block) -> list[Reference]:
    attr = b.attrs.get("required_version")
    if attr is None:
        return []
    value, span = literal(ev, f, attr)
    line, col = line_col(f.text, attr.expr[0].start)
    return [
        Reference(
            f.path, line, col, RefKindOfEntry.REQUIRED_VERSION, None, None, value,
            RefStatus.OK if value is not None else RefStatus.DYNAMIC,
            None if value is not None else "required_version is not a literal",
            f.path, None, span,
        )
    ]  # fmt: skip


def _json(path: str, text: str, tf: hjson.JNode) -> list[Reference]:
    rv = hjson.get(tf, "required_version")
    if rv is None:
        return []
    value, vspan = hjson.string(text, rv)
    line, col = line_col(text, rv.start - (1 if rv.kind == "str" else 0))
    return [
        Reference(
            path, line, col, RefKindOfEntry.REQUIRED_VERSION, None, None, value,
            RefStatus.OK if value is not None else RefStatus.DYNAMIC, None, path, None, vspan,
        )
    ]  # fmt: skip


REQUIRED_VERSION = Extractor("required_version", blocks=("terraform",), hcl=_hcl, json=_json)
