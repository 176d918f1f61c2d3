"""Byte-exact bumps of module refs and registry version constraints.

``bump_files``/``bump_tree`` find every reference to a module address (see ``refs``), compute
``Edit`` spans over the version token only (the git ``ref`` value, the tfr ``version`` value or
the registry ``version`` constraint) and apply them to the text where those characters are
written — which, for Terragrunt sources built from included locals, may be another file. Files
are written only when their bytes change. Rules (issue 3):

* a semver ref keeps its prefix style (``v``, none, ``modules/vpc/v``) whatever ``to`` uses;
* a branch, commit SHA, missing or dynamic ref is left unchanged and reported (``skipped``);
* a registry constraint follows ``versions.update_constraint(..., move_pessimistic=True)``: an
  exact pin is replaced, ``~>`` follows the target keeping its precision (``~> 1.1`` → ``~> 1.3``),
  other ranges that already admit the target are ``already``, the rest are widened;
* a pre-release target is refused unless ``allow_prerelease``; a suffix-family tag
  (``v1.1.0-topic``, ``versions.family_suffix``) is not a pre-release, and a ref moves only
  within its own family (``v1.0.0-queue`` is never moved to ``v1.1.0-topic``: ``skipped``);
* a registry ``version`` set in an override file (``override.tf``, ``*_override.tf``) is the one
  Terraform uses, so that is the one edited (``Reference.version_in``);
* with ``stack_values`` (the default), a Terragrunt stack ``unit``/``stack`` block's
  ``values = { version = "..." }`` literal equal to the block's ref moves with the ref
  (``Reference.values_span``);
* on disk, a file reached through a symlink whose target is outside the given paths is never
  written (its outcomes become ``skipped``).

Spans are offsets in the decoded text; the replaced characters are whatever is written there
(e.g. a ``.tf.json`` ref spelled with JSON escapes), and the new value is written plainly.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from catalog_ops.core.edits import Edit, apply_edits, line_col
from catalog_ops.core.sources import RefKind, SourceKind, normalize_identity, parse_source, source_matches
from catalog_ops.core.versions import Version, family_suffix, is_unstable, parse_version, update_constraint
from catalog_ops.errors import CatalogOpsError, SourceParseError, UsageError
from catalog_ops.hcl.text import decode
from catalog_ops.refs import MODULE_ENTRIES, Reference, read_file, scan_files, scan_tree

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy treats it the same)
if TYPE_CHECKING:
    from pathlib import Path

STACK_VALUES_REASON = "values.version follows the ref"

# Which references a bump may touch: ``select(ref) -> bool`` (``None``: every reference).
Select = Callable[[Reference], bool]


@dataclass(frozen=True)
class BumpOutcome:
    """What happened to one reference.

    Attributes:
        path: file holding the version token (``Reference.written_in``); ``line`` is 1-based there.
        old: the ref or constraint as found.
        new: the replacement, or ``None`` when unchanged.
        status: ``"bumped"``, ``"already"`` (already the target / constraint admits it) or ``"skipped"``.
        reason: why it was skipped or left alone.
        referenced_from: the file the reference was found in (differs from ``path`` via includes).
    """

    path: str
    line: int
    old: str
    new: str | None
    status: str
    reason: str | None
    referenced_from: str | None = None

    def to_json(self) -> dict[str, object]:
        """JSON-ready dict."""
        return {
            "path": self.path,
            "line": self.line,
            "old": self.old,
            "new": self.new,
            "status": self.status,
            "reason": self.reason,
            "referenced_from": self.referenced_from,
        }


@dataclass
class BumpResult:
    """``changed``: new bytes per changed file; ``outcomes``; per-file ``errors``.

    ``original`` holds the original bytes of each changed file (for diffs).
    """

    changed: dict[str, bytes] = field(default_factory=dict)
    outcomes: list[BumpOutcome] = field(default_factory=list)
    errors: list[SourceParseError] = field(default_factory=list)
    original: dict[str, bytes] = field(default_factory=dict)
    files_scanned: int = 0


def parse_target(to: str, allow_prerelease: bool) -> Version:
    """Parse the ``--to`` version (``1.3.0`` or ``v1.3.0``).

    Raises:
        UsageError: not a semantic version, or a pre-release without ``allow_prerelease``.
    """
    target = parse_version(to)
    if target is None or target.prefix not in ("", "v", "V"):
        raise UsageError(f"--to {to!r} is not a semantic version like 1.3.0 or v1.3.0")
    if is_unstable(target) and not allow_prerelease:
        raise UsageError(f"--to {to!r} is a pre-release; pass --allow-prerelease to write it")
    return target


def needle_for(address: str) -> bytes:
    """Lower-case bytes every file referring to ``address`` contains (repo or registry module name).

    Raises:
        UsageError: ``address`` is not a repository or registry module address.
    """
    identity, _ = normalize_identity(address)
    parts = identity.split("/")
    if parse_source(address.strip()).kind is SourceKind.REGISTRY:
        return parts[2].lower().encode()
    return parts[-1].lower().encode()


def needles_for(address: str) -> tuple[bytes, ...]:
    """``needle_for`` plus the ``//subdir`` (lower-case) when the address names one."""
    _, subdir = normalize_identity(address)
    base = needle_for(address)
    return (base, subdir.lower().encode()) if subdir else (base,)


def _plan(
    refs: Sequence[Reference],
    address: str,
    target: Version,
    texts: Callable[[str], str | None],
    stack_values: bool = True,
    select: Select | None = None,
) -> tuple[dict[str, list[Edit]], list[BumpOutcome]]:
    edits: dict[str, list[Edit]] = defaultdict(list)
    outcomes: list[BumpOutcome] = []
    seen: set[tuple[str, int, int]] = set()
    # A ref literal (e.g. a shared local) also used by references to other modules must not move.
    foreign: set[tuple[str, int, int]] = set()
    for ref in refs:
        if ref.ref_span is not None and ref.source is not None and not source_matches(ref.source, address):
            foreign.add((ref.written_in, *ref.ref_span))
    # References the caller left out (``select``) are neither edited nor reported, and neither
    # is a ref literal they share with a selected reference.
    held: set[tuple[str, int, int]] = set()
    if select is not None:
        chosen = [select(ref) for ref in refs]
        held = {
            (r.written_in, *r.ref_span) for r, c in zip(refs, chosen, strict=True) if r.ref_span and not c
        }
        refs = [r for r, c in zip(refs, chosen, strict=True) if c]
    for ref in refs:
        src = ref.source
        if ref.entry not in MODULE_ENTRIES or src is None or src.identity is None:
            continue
        if not source_matches(src, address):
            continue
        text = texts(ref.written_in)
        if ref.ref_span is not None and (ref.written_in, *ref.ref_span) in foreign:
            line = line_col(text, ref.ref_span[0])[0] if text is not None else ref.line
            outcomes.append(
                BumpOutcome(
                    ref.written_in, line, src.ref or "", None, "skipped",
                    "the ref literal is shared with references to other modules", ref.path,
                )
            )  # fmt: skip
            continue
        if ref.ref_span is not None and (ref.written_in, *ref.ref_span) in held:
            continue
        if src.kind is SourceKind.REGISTRY and src.ref is None:
            outcome, edit = _registry_constraint(ref, target, texts(ref.version_path))
            if edit is not None:
                key = (ref.version_path, edit.start, edit.end)
                if key in seen:
                    continue
                seen.add(key)
                edits[ref.version_path].append(edit)
            outcomes.append(outcome)
            continue
        if ref.ref_span is not None and text is not None:
            key = (ref.written_in, *ref.ref_span)
            if key in seen:
                continue
            seen.add(key)
        line = line_col(text, ref.ref_span[0])[0] if (ref.ref_span and text is not None) else ref.line
        where = ref.written_in if ref.ref_span else ref.path
        old = src.ref or ""

        def skip(
            reason: str | None, *, where: str = where, line: int = line, old: str = old, frm: str = ref.path
        ) -> None:
            outcomes.append(BumpOutcome(where, line, old, None, "skipped", reason, frm))

        if src.ref_kind is RefKind.SEMVER_TAG and ref.ref_span is not None and text is not None:
            current = parse_version(old)
            assert current is not None
            new = target.with_prefix(current.prefix)
            if family_suffix(current) != family_suffix(target):
                skip(
                    f"ref {old!r} is in tag family {family_suffix(current) or '(none)'!r}, "
                    f"the target in {family_suffix(target) or '(none)'!r}; not changed"
                )
            elif new == old:
                outcomes.append(
                    BumpOutcome(where, line, old, None, "already", "already at the target", ref.path)
                )
            else:
                a, b = ref.ref_span
                edits[where].append(Edit(a, b, text[a:b], new))
                outcomes.append(BumpOutcome(where, line, old, new, "bumped", None, ref.path))
                vtext = texts(ref.path)
                if stack_values and ref.values_span is not None and vtext is not None:
                    a, b = ref.values_span
                    if (ref.path, a, b) not in seen and vtext[a:b] == old:
                        seen.add((ref.path, a, b))
                        edits[ref.path].append(Edit(a, b, old, new))
                        vline = line_col(vtext, a)[0]
                        outcomes.append(
                            BumpOutcome(ref.path, vline, old, new, "bumped", STACK_VALUES_REASON, ref.path)
                        )
        elif src.ref_kind is RefKind.BRANCH:
            skip(f"ref {old!r} is a branch; not changed")
        elif src.ref_kind is RefKind.SHA:
            skip(f"ref {old!r} is a commit SHA; not changed")
        elif src.ref_kind is RefKind.NONE:
            skip("no ref (follows the default branch); not changed")
        else:
            skip(ref.reason or src.reason or "ref is not a literal")
    return edits, outcomes


def _registry_constraint(
    ref: Reference, target: Version, text: str | None
) -> tuple[BumpOutcome, Edit | None]:
    vpath = ref.version_path  # an override file's version is the one Terraform uses
    if ref.version is None:
        return BumpOutcome(ref.path, ref.line, "", None, "skipped", "no version constraint", ref.path), None
    if ref.version_span is None or text is None:
        return (
            BumpOutcome(vpath, ref.line, ref.version, None, "skipped", "version is not a literal", ref.path),
            None,
        )
    line = line_col(text, ref.version_span[0])[0]
    try:
        new = update_constraint(ref.version, target, move_pessimistic=True)
    except CatalogOpsError as exc:
        return BumpOutcome(vpath, line, ref.version, None, "skipped", str(exc), ref.path), None
    if new is None:
        return (
            BumpOutcome(
                vpath, line, ref.version, None, "already", "constraint already admits the target", ref.path
            ),
            None,
        )
    a, b = ref.version_span
    edit = Edit(a, b, text[a:b], new)  # the raw characters (a .tf.json value may hold escapes)
    return BumpOutcome(vpath, line, ref.version, new, "bumped", None, ref.path), edit


class _Texts:
    """Each file read (with ``read``: ``path -> bytes | None``) and decoded once, shared by
    ``_plan`` (the text edits are computed on) and ``_apply`` (the same bytes and text)."""

    def __init__(self, read: Callable[[str], bytes | None]) -> None:
        self._read = read
        self._cache: dict[str, tuple[bytes, str] | None] = {}

    def get(self, path: str) -> tuple[bytes, str] | None:
        """``(bytes, text)`` of ``path``, or ``None`` when it is unreadable or not decodable."""
        if path not in self._cache:
            data = self._read(path)
            try:
                self._cache[path] = None if data is None else (data, decode(path, data))
            except SourceParseError:
                self._cache[path] = None
        return self._cache[path]

    def text(self, path: str) -> str | None:
        got = self.get(path)
        return None if got is None else got[1]


def _apply(edits: Mapping[str, list[Edit]], texts: _Texts, result: BumpResult) -> None:
    for path, file_edits in sorted(edits.items()):
        got = texts.get(path)
        if got is None:
            continue
        data, text = got
        try:
            new = apply_edits(text, file_edits).encode("utf-8")
        except CatalogOpsError as exc:
            result.errors.append(SourceParseError(path, 1, 1, f"cannot apply edits: {exc}"))
            continue
        if new != data:
            result.changed[path] = new
            result.original[path] = data


def _under(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def symlink_escape(path: str, roots: Sequence[Path | str]) -> str | None:
    """Why ``path`` must not be written, or ``None``: it is reached through a symlink (the file
    itself, or a directory inside one of ``roots``) whose real target lies outside every root."""
    real = os.path.realpath(path)
    if _under(real, [os.path.realpath(r) for r in roots]):
        return None
    logical = os.path.normpath(os.path.abspath(path))
    inside = _under(logical, [os.path.normpath(os.path.abspath(r)) for r in roots])
    if (inside and real != logical) or os.path.islink(path):
        return f"{path} is a symlink to {real}, outside the given paths; not written"
    return None


def _guard_symlinks(
    roots: Sequence[Path | str], edits: dict[str, list[Edit]], outcomes: list[BumpOutcome]
) -> list[BumpOutcome]:
    """Drop the edits of files that ``symlink_escape`` forbids; their bumps become ``skipped``."""
    blocked: dict[str, str] = {}
    for path in list(edits):
        reason = symlink_escape(path, roots)
        if reason is not None:
            blocked[path] = reason
            del edits[path]
    if not blocked:
        return outcomes
    return [
        BumpOutcome(o.path, o.line, o.old, None, "skipped", blocked[o.path], o.referenced_from)
        if o.path in blocked and o.status == "bumped"
        else o
        for o in outcomes
    ]


def bump_files(
    files: Mapping[str, bytes],
    *,
    address: str,
    to: str,
    allow_prerelease: bool = False,
    stack_values: bool = True,
    select: Select | None = None,
) -> BumpResult:
    """Bump every reference to ``address`` in an in-memory tree ``{posix path: bytes}``.

    Args:
        files: the tree; include paths resolve within it.
        address: module address without ref, any equivalent form; without ``//subdir`` every
            module of the repository matches.
        to: target version, ``1.3.0`` or ``v1.3.0`` (each ref keeps its own prefix style).
        allow_prerelease: permit a pre-release ``to``.
        stack_values: also bump a Terragrunt stack ``unit``/``stack`` block's literal
            ``values = { version = "..." }`` when it equals the block's ref (Gruntwork's
            pattern; reported as an extra ``bumped`` outcome with reason
            ``STACK_VALUES_REASON``). ``False`` leaves ``values`` alone.
        select: ``Reference -> bool``; only references it accepts are bumped. The others are
            left exactly as written and get no outcome, and so does a ref literal (e.g. a shared
            Terragrunt local) that a selected reference shares with one left out. ``None``: all.

    Returns:
        ``BumpResult`` whose ``changed`` maps only files whose bytes changed to their new bytes.

    Raises:
        UsageError: bad ``address`` or ``to``.
    """
    target = parse_target(to, allow_prerelease)
    scan = scan_files(files, needle=needles_for(address))
    texts = _Texts(files.get)
    edits, outcomes = _plan(scan.references, address, target, texts.text, stack_values, select)
    result = BumpResult(outcomes=outcomes, errors=list(scan.errors), files_scanned=scan.files_scanned)
    _apply(edits, texts, result)
    return result


def bump_tree(
    paths: Sequence[Path | str],
    *,
    address: str,
    to: str,
    allow_prerelease: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    stack_values: bool = True,
    select: Select | None = None,
) -> BumpResult:
    """Like ``bump_files`` for files on disk under ``paths``; writes changed files unless ``dry_run``.

    A file whose path goes through a symlink (file or directory) to a target outside ``paths``
    is never written (nor shown in the diff): its would-be bumps are reported ``skipped``.
    ``select`` is as for ``bump_files``.

    Raises:
        UsageError: bad ``address`` or ``to``.
    """
    target = parse_target(to, allow_prerelease)
    scan = scan_tree(paths, needle=needles_for(address), progress=progress)
    texts = _Texts(read_file)  # the same bounded reader the scan uses
    edits, outcomes = _plan(scan.references, address, target, texts.text, stack_values, select)
    outcomes = _guard_symlinks(paths, edits, outcomes)
    result = BumpResult(outcomes=outcomes, errors=list(scan.errors), files_scanned=scan.files_scanned)
    _apply(edits, texts, result)
    if not dry_run:
        for path, data in result.changed.items():
            with open(path, "wb") as fh:
                fh.write(data)
    return result
