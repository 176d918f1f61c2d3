"""``module "NAME" { source = ... version = ... }`` (Terraform "Module Blocks"), HCL and JSON."""

from __future__ import annotations

from catalog_ops.core.edits import line_col
from catalog_ops.core.sources import parse_source
from catalog_ops.hcl import json as hjson
from catalog_ops.hcl.body import Block
from catalog_ops.refs.extract.base import Extractor, literal, module_ref, status_for
from catalog_ops.refs.model import Reference, RefKindOfEntry, RefStatus
from catalog_ops.refs.overrides import is_override_file
from catalog_ops.refs.terragrunt import Evaluator, ParsedFile


def _version_only(
    path: str, line: int, col: int, name: str | None, version: str | None, span: tuple[int, int] | None
) -> Reference:
    """An override file's ``module "NAME" { version = ... }`` without ``source``: merged into the
    original block by ``refs.overrides.apply_overrides`` (never reported on its own)."""
    status = RefStatus.OK if version is not None else RefStatus.DYNAMIC
    return Reference(
        path, line, col, RefKindOfEntry.MODULE, name, None, version, status, None, path, None, span
    )


def _hcl(ev: Evaluator, f: ParsedFile, b: Block) -> list[Reference]:
    name = b.labels[0] if b.labels else None
    if "source" not in b.attrs:
        vattr = b.attrs.get("version")
        if vattr is None or not is_override_file(f.path):
            return []
        version, span = literal(ev, f, vattr)
        return [_version_only(f.path, *line_col(f.text, vattr.expr[0].start), name, version, span)]
    return [module_ref(ev, f, RefKindOfEntry.MODULE, name, b.attrs["source"], b.attrs.get("version"))]


def _json(path: str, text: str, group: hjson.JNode) -> list[Reference]:
    refs: list[Reference] = []
    for name, _, body_node in group.items or []:
        for body in hjson.objects(body_node):
            snode = hjson.get(body, "source")
            if snode is None and is_override_file(path) and hjson.get(body, "version") is not None:
                vnode = hjson.get(body, "version")
                assert vnode is not None
                version, vspan = hjson.string(text, vnode)
                refs.append(_version_only(path, *line_col(text, vnode.start - 1), name, version, vspan))
                continue
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
