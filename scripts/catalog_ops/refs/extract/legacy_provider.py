"""Legacy ``provider "NAME" { version = "..." }`` constraints (Terraform 0.12 and earlier), HCL
and JSON.

Terraform 0.13 moved provider version constraints to ``terraform { required_providers }``; the
``version`` argument of a provider configuration block still works but is deprecated ("Provider
Configuration", https://developer.hashicorp.com/terraform/language/providers/configuration#version-deprecated).
The constraint is reported with entry ``provider_block`` and the hint ``LEGACY_HINT``; the
sweep updates it like a ``required_providers`` constraint and repeats the hint.
"""

from __future__ import annotations

from catalog_ops.core.edits import line_col
from catalog_ops.hcl import json as hjson
from catalog_ops.hcl.body import Block
from catalog_ops.refs.extract.base import Extractor, literal
from catalog_ops.refs.extract.provider import implied_provider_source
from catalog_ops.refs.model import Reference, RefKindOfEntry, RefStatus
from catalog_ops.refs.terragrunt import Evaluator, ParsedFile

LEGACY_HINT = (
    'provider "{name}" {{ version = ... }} is deprecated since Terraform 0.13: move the constraint to '
    "terraform {{ required_providers {{ {name} = {{ source, version }} }} }}"
)
"""The hint for a legacy constraint (``.format(name=...)``)."""


def legacy_hint(name: str) -> str:
    """``LEGACY_HINT`` for the provider local name ``name``."""
    return LEGACY_HINT.format(name=name)


def _hcl(ev: Evaluator, f: ParsedFile, b: Block) -> list[Reference]:
    attr = b.attrs.get("version")
    if attr is None or not b.labels:
        return []
    name = b.labels[0]
    value, span = literal(ev, f, attr)
    line, col = line_col(f.text, attr.expr[0].start)
    status = RefStatus.OK if value is not None else RefStatus.DYNAMIC
    reason = legacy_hint(name) if value is not None else "version is not a literal"
    return [
        Reference(
            f.path, line, col, RefKindOfEntry.PROVIDER_BLOCK, name, None, value, status, reason, f.path,
            None, span, implied_provider_source(name),
        )
    ]  # fmt: skip


def _json(path: str, text: str, group: hjson.JNode) -> list[Reference]:
    refs: list[Reference] = []
    for name, _, body_node in group.items or []:
        for body in hjson.objects(body_node):
            vnode = hjson.get(body, "version")
            if vnode is None:
                continue
            value, vspan = hjson.string(text, vnode)
            line, col = line_col(text, vnode.start - (1 if vnode.kind == "str" else 0))
            refs.append(
                Reference(
                    path, line, col, RefKindOfEntry.PROVIDER_BLOCK, name, None, value,
                    RefStatus.OK if value is not None else RefStatus.DYNAMIC,
                    legacy_hint(name) if value is not None else "version is not a string", path, None, vspan,
                    implied_provider_source(name),
                )
            )  # fmt: skip
    return refs


LEGACY_PROVIDER = Extractor("legacy_provider", blocks=("provider",), hcl=_hcl, json=_json)
