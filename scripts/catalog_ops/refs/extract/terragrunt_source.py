"""Terragrunt ``terraform { source = ... }`` (Terragrunt docs, "terraform" block)."""

from __future__ import annotations

from catalog_ops.hcl.body import Block
from catalog_ops.refs.extract.base import Extractor, module_ref
from catalog_ops.refs.model import Reference, RefKindOfEntry
from catalog_ops.refs.terragrunt import Evaluator, ParsedFile


def _hcl(ev: Evaluator, f: ParsedFile, b: Block) -> list[Reference]:
    if "source" not in b.attrs:
        return []
    return [module_ref(ev, f, RefKindOfEntry.TERRAGRUNT, None, b.attrs["source"], None)]


TERRAGRUNT_SOURCE = Extractor("terragrunt_source", blocks=("terraform",), hcl=_hcl, dialects=("terragrunt",))
