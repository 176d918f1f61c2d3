"""What a reference scan returns: ``Reference`` (one per module source / version pin found),
its entry kind and status, and ``ScanResult``. Pure data; no parsing here."""

from __future__ import annotations

from enum import StrEnum

from catalog_ops.core.sources import ModuleSource
from catalog_ops.core.values import Record
from catalog_ops.errors import SourceParseError


class RefKindOfEntry(StrEnum):
    """Where a reference was found (the block kind or file that holds it)."""

    MODULE = "module"
    TERRAGRUNT = "terragrunt"
    STACK_UNIT = "stack_unit"
    STACK = "stack"
    REQUIRED_VERSION = "required_version"
    PROVIDER = "provider"
    PROVIDER_BLOCK = "provider_block"  # legacy provider "x" { version = "..." } (pre-0.13)
    TERRAFORM_VERSION_FILE = "terraform_version_file"
    TOOL_VERSIONS = "tool_versions"


# Entries whose ``Reference.source`` is a module source address (the others pin versions).
MODULE_ENTRIES = frozenset(
    {RefKindOfEntry.MODULE, RefKindOfEntry.TERRAGRUNT, RefKindOfEntry.STACK_UNIT, RefKindOfEntry.STACK}
)


class RefStatus(StrEnum):
    """Whether a reference can be bumped (compares equal to its string value, e.g. ``"ok"``)."""

    OK = "ok"
    DYNAMIC = "dynamic"  # built by an expression that is not resolved statically
    LOCAL = "local"  # a local path (``./``, ``../``)
    UNSUPPORTED = "unsupported"  # s3/gcs/hg/http or another form without an updatable ref
    BRANCH = "branch"  # the ref is a branch name
    SHA = "sha"  # the ref is a commit SHA
    UNPINNED = "unpinned"  # no ref: follows the default branch


class Reference(Record):
    """One reference found in a file.

    A value: nothing changes one after it is made (``replace`` makes another); compared (``==``)
    field by field, shown (``repr``) with every field. It does not refuse assignment only
    because that needs ``__init__`` to set each field through ``object.__setattr__``, ≈ 3 µs per
    reference, a scan's largest cost per reference. Not a dataclass: ``dataclasses`` is not
    imported on the ``refs`` path (start-up cost; tests/commands/test_startup.py guards it).
    ``refs.disk``'s forked workers pickle it as a plain object (its ``__dict__``).

    Attributes:
        path: file the reference was found in; ``line``/``col`` (1-based) locate its source/version
            expression there.
        entry: what kind of entry it is.
        name: module/unit/stack block label, provider local name, or tool name.
        source: parsed module source (``MODULE_ENTRIES`` only), resolved through locals/includes;
            ``None`` for every other entry.
        version: registry/provider version constraint, or CLI version for version files.
        status: see ``RefStatus``.
        reason: human explanation for any status other than ``ok``.
        written_in: file holding the ref bytes (differs from ``path`` for refs resolved via includes).
        ref_span: ``[start, end)`` of the ref (git ``ref``/tfr ``version``) in ``written_in``'s text.
        version_span: ``[start, end)`` of the ``version`` constraint's contents in the text of
            ``version_path`` (``path`` unless ``version_in`` says otherwise).
        provider_source: ``required_providers`` source address (providers only); when the entry
            has none (including the legacy ``aws = "~> 5.0"`` form) the implied
            ``hashicorp/NAME`` (Terraform "Provider Requirements"); ``None`` only when a
            written source is not a literal.
        values_span: ``[start, end)`` in ``path``'s text of the contents of a Terragrunt stack
            ``unit``/``stack`` block's ``values = { version = "..." }`` literal when it equals the
            block's ref (Gruntwork's pattern; ``bump`` moves it with the ref), else ``None``.
        version_in: the file ``version_span`` is in when it is not ``path``: a module whose
            ``version`` is set by an override file (``refs.overrides``), else ``None``.
    """

    FIELDS = (
        "path",
        "line",
        "col",
        "entry",
        "name",
        "source",
        "version",
        "status",
        "reason",
        "written_in",
        "ref_span",
        "version_span",
        "provider_source",
        "values_span",
        "version_in",
    )
    """The attributes in order: the arguments of ``__init__``, what ``==`` and ``repr``
    (``core.values.Record``; tests compare references by their ``repr``) read."""

    def __init__(
        self,
        path: str,
        line: int,
        col: int,
        entry: RefKindOfEntry,
        name: str | None,
        source: ModuleSource | None,
        version: str | None,
        status: RefStatus,
        reason: str | None,
        written_in: str,
        ref_span: tuple[int, int] | None = None,
        version_span: tuple[int, int] | None = None,
        provider_source: str | None = None,
        values_span: tuple[int, int] | None = None,
        version_in: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.col = col
        self.entry = entry
        self.name = name
        self.source = source
        self.version = version
        self.status = status
        self.reason = reason
        self.written_in = written_in
        self.ref_span = ref_span
        self.version_span = version_span
        self.provider_source = provider_source
        self.values_span = values_span
        self.version_in = version_in

    @property
    def version_path(self) -> str:
        """The file holding ``version_span``: ``version_in`` (an override file that sets a
        module's ``version``, ``refs.overrides``) or else ``path``."""
        return self.version_in or self.path

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict (stable keys; see docs/references.md)."""
        src = self.source
        return {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "entry": str(self.entry),
            "name": self.name,
            "source": src.raw if src else None,
            "kind": str(src.kind) if src else None,
            "identity": src.identity if src else None,
            "subdir": src.subdir if src else None,
            "ref": src.ref if src else None,
            "ref_kind": str(src.ref_kind) if src else None,
            "version": self.version,
            "provider_source": self.provider_source,
            "status": str(self.status),
            "reason": self.reason,
            "written_in": self.written_in,
            "version_in": self.version_path,
            "values_version": src.ref if (src and self.values_span) else None,
        }


class ScanResult:
    """References and per-file errors of a scan; ``files_scanned`` counts candidate files read.
    ``rendered``: the references as texts instead, when the scan was asked to render them
    (``refs.disk.scan_tree``'s ``render``; ``references`` is then empty).

    Not a dataclass: ``dataclasses`` is not imported on the ``refs`` path (start-up cost;
    tests/commands/test_startup.py guards it).
    """

    __slots__ = ("errors", "files_scanned", "references", "rendered")

    def __init__(
        self,
        references: list[Reference] | None = None,
        errors: list[SourceParseError] | None = None,
        files_scanned: int = 0,
        rendered: list[str] | None = None,
    ) -> None:
        self.references: list[Reference] = [] if references is None else references
        self.errors: list[SourceParseError] = [] if errors is None else errors
        self.files_scanned = files_scanned
        self.rendered: list[str] = [] if rendered is None else rendered
