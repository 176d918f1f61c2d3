"""Reference extractors, one per block kind, registered in ``EXTRACTORS`` and asked in turn.

A file is parsed once (``refs.terragrunt.parse_hcl_file`` / ``hcl.parse_json``); every
top-level block is offered to each extractor that names its type, in table order, so references
come out in document order. A new form is a new extractor module and one line in the table.
"""

from __future__ import annotations

import os

from catalog_ops.hcl import json as hjson
from catalog_ops.hcl.lexer import prepare
from catalog_ops.refs.extract.base import Extractor, HclExtract, file_dialect
from catalog_ops.refs.extract.legacy_provider import LEGACY_PROVIDER
from catalog_ops.refs.extract.module import MODULE
from catalog_ops.refs.extract.provider import PROVIDER, implied_provider_source
from catalog_ops.refs.extract.required_version import REQUIRED_VERSION
from catalog_ops.refs.extract.stack import STACK
from catalog_ops.refs.extract.terragrunt_source import TERRAGRUNT_SOURCE
from catalog_ops.refs.extract.version_files import VERSION_FILES
from catalog_ops.refs.model import Reference
from catalog_ops.refs.terragrunt import Evaluator, Loader, ParsedFile, _read_types

__all__ = [
    "BLOCK_TYPES",
    "EXTRACTORS",
    "FILE_NAMES",
    "Extractor",
    "file_dialect",
    "file_references",
    "hcl_references",
    "implied_provider_source",
    "json_references",
]

# Order matters only within one block: a Terragrunt ``terraform`` block yields its source,
# then required_version, then providers.
EXTRACTORS: tuple[Extractor, ...] = (
    MODULE,
    STACK,
    TERRAGRUNT_SOURCE,
    REQUIRED_VERSION,
    PROVIDER,
    LEGACY_PROVIDER,
    VERSION_FILES,
)
BLOCK_TYPES: tuple[str, ...] = tuple(dict.fromkeys(b for e in EXTRACTORS for b in e.blocks))
FILE_NAMES: tuple[str, ...] = tuple(n for e in EXTRACTORS for n in e.files)


def _prepare_lexer() -> None:
    """Compile the lexer's patterns for what a scan reads (``parse_hcl_file(skim=BLOCK_TYPES)``)
    before a fork: the disk scan's workers then inherit them instead of each compiling them
    (≈ 5 ms of CPU) on its first file; a run that never forks compiles them on first use."""
    prepare(_read_types(BLOCK_TYPES))


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(before=_prepare_lexer)


def hcl_references(loader: Loader, f: ParsedFile) -> list[Reference]:
    """References of a parsed HCL file (``f.root`` must be set), in document order.

    Only the extractors of the file's dialect (``file_dialect``) are asked: a ``*.tf``/``*.tofu``
    file's ``module``, ``terraform`` and ``provider`` blocks, a Terragrunt file's
    ``terraform { source }``, a stack file's ``unit``/``stack`` blocks — never
    ``required_version``, ``required_providers`` or ``module`` blocks of a ``*.hcl`` file
    (Terragrunt reads none of them; docs/references.md).
    """
    assert f.root is not None
    ev = Evaluator(loader, f.path)
    by_type = _HCL_EXTRACTS[file_dialect(f.path)]
    refs: list[Reference] = []
    for b in f.root.blocks:
        for extract in by_type.get(b.type, ()):
            refs.extend(extract(ev, f, b))
    return refs


def _hcl_extracts(dialect: str) -> dict[str, tuple[HclExtract, ...]]:
    """Block type -> the ``hcl`` functions of the extractors that read it in ``dialect``, in
    ``EXTRACTORS`` order (what ``hcl_references`` asks, looked up once per block)."""
    out: dict[str, tuple[HclExtract, ...]] = {}
    for ext in EXTRACTORS:
        if ext.hcl is not None and dialect in ext.dialects:
            for btype in dict.fromkeys(ext.blocks):
                out[btype] = (*out.get(btype, ()), ext.hcl)
    return out


_HCL_EXTRACTS = {dialect: _hcl_extracts(dialect) for dialect in ("terraform", "terragrunt", "stack")}


def json_references(path: str, text: str) -> list[Reference]:
    """References of a Terraform JSON file (all ``module`` entries, then ``terraform`` settings).

    Raises:
        hcl.JsonSyntaxError: malformed JSON (with offset).
    """
    root = hjson.parse_json(text)
    refs: list[Reference] = []
    for top in hjson.objects(root):
        for btype in BLOCK_TYPES:
            for group in hjson.objects(hjson.get(top, btype)):
                for ext in EXTRACTORS:
                    if ext.json is not None and btype in ext.blocks:
                        refs.extend(ext.json(path, text, group))
    return refs


def file_references(path: str, name: str, text: str) -> list[Reference]:
    """References of a whole-file format (``name``: the file's base name, one of ``FILE_NAMES``)."""
    return [
        r for ext in EXTRACTORS if ext.file is not None and name in ext.files for r in ext.file(path, text)
    ]
