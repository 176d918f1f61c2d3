"""``terraform { required_providers { NAME = { source, version } } }`` (Terraform "Provider
Requirements"), HCL and JSON, including the legacy ``NAME = "~> 5.0"`` form."""

from __future__ import annotations

from catalog_ops.core.edits import line_col
from catalog_ops.core.sources import parse_provider_address
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
    status, reason = provider_status(psource)
    return Reference(
        f.path, line, col, RefKindOfEntry.PROVIDER, pname, None, version, status, reason, f.path, None,
        span, psource,
    )  # fmt: skip


def provider_status(psource: str | None) -> tuple[RefStatus, str | None]:
    """Status of a ``required_providers`` entry by its source address: ``dynamic`` when the
    written source is not a literal (``None``), ``unsupported`` when it is not a valid
    ``[HOST/]NAMESPACE/TYPE`` (``core.sources.parse_provider_address``, the function the sweep
    asks too, so ``refs`` and the sweep agree), else ``ok``."""
    if psource is None:
        return RefStatus.DYNAMIC, "provider source is not a literal"
    if parse_provider_address(psource) is None:
        return RefStatus.UNSUPPORTED, f"provider source {psource!r} is not [HOST/]NAMESPACE/TYPE"
    return RefStatus.OK, None


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
            status, reason = provider_status(psource)
            refs.append(
                Reference(
                    path, line, col, RefKindOfEntry.PROVIDER, pname, None, version, status, reason, path,
                    None, vspan, psource,
                )
            )  # fmt: skip
    return refs


PROVIDER = Extractor("provider", blocks=("terraform",), hcl=_hcl, json=_json)
