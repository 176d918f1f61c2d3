"""Terragrunt stacks: ``unit``/``stack`` blocks of ``terragrunt.stack.hcl`` (Terragrunt docs,
"Stacks"), with the ``values = { version = "..." }`` literal that follows the block's ref."""

from __future__ import annotations

from catalog_ops.hcl.body import Attr, Block, object_items
from catalog_ops.refs.extract.base import Extractor, module_ref
from catalog_ops.refs.model import Reference, RefKindOfEntry
from catalog_ops.refs.terragrunt import Evaluator, ParsedFile


def values_version_span(text: str, attr: Attr) -> tuple[int, int] | None:
    """Span of the contents of ``values = { version = "LITERAL" }`` (no escapes, no templates)."""
    items = object_items(text, attr.expr)
    toks = [t for t in (items or {}).get("version", []) if t.kind != "nl"]
    if len(toks) != 1 or toks[0].kind != "string":
        return None
    parts = toks[0].parts or []
    if len(parts) != 1 or parts[0][0] != "lit" or "\\" in text[parts[0][1] : parts[0][2]]:
        return None
    return parts[0][1], parts[0][2]


def _hcl(ev: Evaluator, f: ParsedFile, b: Block) -> list[Reference]:
    if "source" not in b.attrs:
        return []
    entry = RefKindOfEntry.STACK_UNIT if b.type == "unit" else RefKindOfEntry.STACK
    ref = module_ref(ev, f, entry, b.labels[0] if b.labels else None, b.attrs["source"], None)
    if "values" in b.attrs and ref.ref_span is not None and ref.source and ref.source.ref:
        span = values_version_span(f.text, b.attrs["values"])
        if span is not None and f.text[span[0] : span[1]] == ref.source.ref:
            ref = ref.replace(values_span=span)
    return [ref]


STACK = Extractor("stack", blocks=("unit", "stack"), hcl=_hcl, dialects=("stack",))
