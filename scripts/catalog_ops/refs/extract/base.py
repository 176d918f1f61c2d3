"""The extractor contract and the helpers extractors share (module source -> ``Reference``)."""

from __future__ import annotations

from collections.abc import Callable

from catalog_ops.core.edits import line_col
from catalog_ops.core.sources import ModuleSource, RefKind, SourceKind, dynamic_source, parse_source
from catalog_ops.hcl.body import Attr, Block
from catalog_ops.hcl.json import JNode
from catalog_ops.refs.model import Reference, RefKindOfEntry, RefStatus
from catalog_ops.refs.terragrunt import Dynamic, Evaluator, ParsedFile, StrValue, snippet

HclExtract = Callable[[Evaluator, ParsedFile, Block], list[Reference]]
JsonExtract = Callable[[str, str, JNode], list[Reference]]
FileExtract = Callable[[str, str], list[Reference]]


class Extractor:
    """One kind of reference and where it is written (Renovate's terraform manager pattern).

    Attributes:
        name: short name (for docs and errors).
        blocks: top-level block types it reads (HCL native and Terraform JSON).
        hcl: ``(evaluator, parsed file, block) -> references`` for a top-level HCL block of one
            of ``blocks``; it checks the block's attributes itself.
        json: ``(path, text, object) -> references`` for each object under a top-level JSON key
            of one of ``blocks`` (``{"module": {...}}`` passes the ``{...}``).
        files: base names of whole files it reads (``.terraform-version``).
        file: ``(path, text) -> references`` for those files.
        dialects: the kinds of HCL file whose blocks it reads (``file_dialect``): ``terraform``
            (``*.tf``/``*.tofu``: Terraform and OpenTofu configuration), ``terragrunt``
            (``*.hcl`` Terragrunt configuration), ``stack`` (``terragrunt.stack.hcl``). A
            Terragrunt file's ``terraform`` block is not Terraform's: only its ``source`` counts.

    Never changed once made (the ``EXTRACTORS`` table). Not a dataclass: ``dataclasses`` is not
    imported on the ``refs`` path (start-up cost; tests/commands/test_startup.py guards it).
    """

    def __init__(
        self,
        name: str,
        blocks: tuple[str, ...] = (),
        hcl: HclExtract | None = None,
        json: JsonExtract | None = None,
        files: tuple[str, ...] = (),
        file: FileExtract | None = None,
        dialects: tuple[str, ...] = ("terraform",),
    ) -> None:
        self.name = name
        self.blocks = blocks
        self.hcl = hcl
        self.json = json
        self.files = files
        self.file = file
        self.dialects = dialects


STACK_FILE = "terragrunt.stack.hcl"
"""The file Terragrunt reads ``unit``/``stack`` blocks from (Terragrunt docs, "Stacks")."""


def file_dialect(path: str) -> str:
    """Which configuration language an HCL file holds, by name: ``terraform`` for ``*.tf`` and
    ``*.tofu`` (https://opentofu.org/docs/language/files/), ``stack`` for
    ``terragrunt.stack.hcl``, ``terragrunt`` for every other ``*.hcl`` that ``refs`` scans
    (``terragrunt.hcl``, ``root.hcl``, included files; see ``refs.scan.is_candidate_path``)."""
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    if base.endswith((".tf", ".tofu")):
        return "terraform"
    return "stack" if base == STACK_FILE else "terragrunt"


# The enum members status_for compares with, bound once: on Python 3.11 reading a member off its
# class (``SourceKind.LOCAL``) costs ≈ 0.3 µs, a dozen times per reference.
_LOCAL, _DYNAMIC_SOURCE, _REGISTRY = SourceKind.LOCAL, SourceKind.DYNAMIC, SourceKind.REGISTRY
_NOT_GIT = frozenset({SourceKind.S3, SourceKind.GCS, SourceKind.HG, SourceKind.HTTP})
_DYNAMIC_REF, _BRANCH, _SHA, _NO_REF = RefKind.DYNAMIC, RefKind.BRANCH, RefKind.SHA, RefKind.NONE
_OK, _DYNAMIC, _UNSUPPORTED = RefStatus.OK, RefStatus.DYNAMIC, RefStatus.UNSUPPORTED


def status_for(src: ModuleSource) -> tuple[RefStatus, str | None]:
    """Status and reason of a parsed module source (can ``bump`` move its ref?)."""
    kind = src.kind
    if kind is _LOCAL:
        return RefStatus.LOCAL, src.reason
    if kind is _DYNAMIC_SOURCE:
        return _DYNAMIC, src.reason
    ref_kind = src.ref_kind
    if kind in _NOT_GIT or not src.updatable:
        if ref_kind is _DYNAMIC_REF:
            return _DYNAMIC, src.reason
        return _UNSUPPORTED, src.reason
    if kind is _REGISTRY and src.ref is None:
        return _OK, None
    if ref_kind is _BRANCH:
        return RefStatus.BRANCH, f"ref {src.ref!r} is a branch"
    if ref_kind is _SHA:
        return RefStatus.SHA, f"ref {src.ref!r} is a commit SHA"
    if ref_kind is _NO_REF:
        return RefStatus.UNPINNED, "no ref: follows the default branch"
    return _OK, None


def literal(ev: Evaluator, f: ParsedFile, attr: Attr) -> tuple[str | None, tuple[int, int] | None]:
    """A string attribute's value (resolved through locals/includes) and, when it is one
    literal written in ``f``, the span of its contents; ``(None, None)`` when not static."""
    val = ev.eval(f, attr.expr)
    if isinstance(val, StrValue) and val.dynamic_reason is None:
        if len(val.pieces) == 1 and val.pieces[0][1] == f.path:
            off = val.pieces[0][2]
            return val.value, (off, off + len(val.value))
        return val.value, None
    return None, None


def module_ref(
    ev: Evaluator,
    f: ParsedFile,
    entry: RefKindOfEntry,
    name: str | None,
    attr: Attr,
    version_attr: Attr | None,
) -> Reference:
    """The reference of a module-like ``source`` attribute (and its registry ``version``).

    The source is evaluated; the ref's span is located in the piece of text it was written in
    (possibly another file, via includes). A ref that is not one literal becomes ``dynamic``.
    """
    first = attr.expr[0]
    line, col = line_col(f.text, first.start)
    val = ev.eval(f, attr.expr)
    version = None
    version_span = None
    if version_attr is not None:
        vval = ev.eval(f, version_attr.expr)
        if isinstance(vval, StrValue) and vval.dynamic_reason is None:
            version = vval.value
            origins = {p[1] for p in vval.pieces}
            if len(vval.pieces) == 1 and origins == {f.path}:
                version_span = (vval.pieces[0][2], vval.pieces[0][2] + len(version))
    if not isinstance(val, StrValue):
        dyn_reason = val.reason if isinstance(val, Dynamic) else "source is a config object"
        dyn = dynamic_source(snippet(f.text, attr.expr), dyn_reason)
        return Reference(
            f.path, line, col, entry, name, dyn, version, RefStatus.DYNAMIC, dyn_reason, f.path, None,
            version_span,
        )  # fmt: skip
    raw = val.value
    src = parse_source(raw)
    status, reason = status_for(src)
    if src.kind is _DYNAMIC_SOURCE and val.dynamic_reason:
        reason = val.dynamic_reason
    written_in = f.path
    ref_span = None
    if src.ref_span is not None:
        a, b = src.ref_span
        pos = 0
        for text, origin, off in val.pieces:
            if pos <= a and b <= pos + len(text) and origin is not None:
                written_in = origin
                ref_span = (off + a - pos, off + b - pos)
                break
            pos += len(text)
        if ref_span is None and status == _OK:
            status, reason = _DYNAMIC, val.dynamic_reason or "the ref is not written as a literal"
    elif src.ref_kind is _DYNAMIC_REF:
        status, reason = _DYNAMIC, val.dynamic_reason or src.reason
    return Reference(
        f.path, line, col, entry, name, src, version, status, reason, written_in, ref_span, version_span
    )
