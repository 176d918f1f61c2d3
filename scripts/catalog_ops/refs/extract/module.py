"""``module "NAME" { source = ... version = ... }`` (Terraform "Module Blocks"), HCL and JSON."""

from __future__ import annotations

from catalog_ops.core.edits import line_col
from catalog_ops.core.sources import parse_source
from catalog_ops.hcl import json as hjson
from catalog_ops.hcl.body import Block
from catalog_ops.refs.extract.base import Extractor, module_ref, status_for
from catalog_ops.refs.model import Reference, RefKindOfEntry
from catalog_ops.refs.terragrunt import Evaluator, ParsedFile


def _hcl(ev: Evaluator, f: ParsedFile, b: Block) -> list[Reference]:
    if "source" not in b.attrs:
        return []
    name = b.labels[0] if b.labels else None
    return [module_ref(ev, f, RefKindOfEntry.MODULE, name, b.attrs["source"], b.attrs.get("version"))]


def _json(path: str, text: str, group: hjson.JNode) -> list[Reference]:
    refs: list[Reference] = []
    for name, _, body_node in group.items or []:
        for body in hjson.objects(body_node):
            snode = hjson.get(body, "source")
            if snode is None or snode.kind != "str":
                continue
            raw, offsets = hjson.json_unescape(text, snode.start, snode.end)
            version, vspan = hjson.string(text, hjson.get(body, "version"))
            src = parse_source(raw)
            status, reason = status_for(src)
            line, col = line_col(text, snode.start - 1)
            ref_span = None
            if src.ref_span:
                ref_span = hjson.raw_span(snode.start, offsets, *src.ref_span)
            refs.append(
                Reference(
                    path, line, col, RefKindOfEntry.MODULE, name, src, version, status, reason, path,
                    ref_span, vspan,
                )
            )  # fmt: skip
    return refs


MODULE = Extractor("module", blocks=("module",), hcl=_hcl, json=_json)
