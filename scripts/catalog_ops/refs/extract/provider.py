"""``terraform { required_providers { NAME = { source, version } } }`` (Terraform "Provider
Requirements"), HCL and JSON, including the legacy ``NAME = "~> 5.0"`` form."""

from __future__ import annotations

from catalog_ops.core.edits import line_col
from catalog_ops.hcl import json as hjson
from catalog_ops.hcl.body import Attr, Block, object_items
from catalog_ops.refs.extract.base import Extractor, literal
from catalog_ops.refs.model import Reference, RefKindOfEntry, RefStatus
from catalog_ops.refs.terragrunt import Evaluator, ParsedFile


def implied_provider_source(name: str) -> str:
    """The source Terraform implies for a ``required_providers`` entry without one:
    ``hashicorp/NAME`` (Terraform docs, "Provider Requirements")."""
    return f"hashicorp/{name}"


def _provider_ref(ev: Evaluator, f: ParsedFile, pname: str, pattr: Attr) -> Reference:
    line, col = line_col(f.text, pattr.expr[0].start)
    items = object_items(f.text, pattr.expr)
    psource = None
    version = None
    span = None
    if items is None:
        version, span = literal(ev, f, pattr)  # legacy: aws = "~> 5.0"
    else:
        if items.get("source"):
            psource, _ = literal(ev, f, Attr("source", items["source"][0], items["source"]))
        if items.get("version"):
            vt = items["version"]
            version, span = literal(ev, f, Attr("version", vt[0], vt))
            line, col = line_col(f.text, vt[0].start)
    if items is None or "source" not in items:
        psource = implied_provider_source(pname)
    return Reference(
        f.path, line, col, RefKindOfEntry.PROVIDER, pname, None, version, RefStatus.OK, None, f.path, None,
        span, psource,
    )  # fmt: skip


def _hcl(ev: Evaluator, f: ParsedFile, b: Block) -> list[Reference]:
    return [
        _provider_ref(ev, f, pname, pattr)
        for rp in b.blocks
        if rp.type == "required_providers"
        for pname, pattr in rp.attrs.items()
    ]


def _json(path: str, text: str, tf: hjson.JNode) -> list[Reference]:
    refs: list[Reference] = []
    for rp in hjson.objects(hjson.get(tf, "required_providers")):
        for pname, koff, pnode in rp.items or []:
            psource = None
            snode = None
            if pnode.kind == "str":
                version, vspan = hjson.string(text, pnode)
                pos = pnode.start - 1
            else:
                version, vspan = hjson.string(text, hjson.get(pnode, "version"))
                snode = hjson.get(pnode, "source")
                psource, _ = hjson.string(text, snode)
                pos = vspan[0] - 1 if vspan else koff
            if pnode.kind == "str" or snode is None:
                psource = implied_provider_source(pname)
            line, col = line_col(text, pos)
            refs.append(
                Reference(
                    path, line, col, RefKindOfEntry.PROVIDER, pname, None, version, RefStatus.OK, None, path,
                    None, vspan, psource,
                )
            )  # fmt: skip
    return refs


PROVIDER = Extractor("provider", blocks=("terraform",), hcl=_hcl, json=_json)
