"""Scanning a tree for references: which files, the raw-text pre-filter, one file's references.

Reads ``*.tf``/``*.tofu`` ``module``, ``terraform`` and ``provider`` blocks, ``*.tf.json``/``*.tofu.json``
objects (override files merged and ``.tofu`` precedence applied: ``refs.overrides``), Terragrunt
``*.hcl`` files (``terraform { source }``, ``terragrunt.stack.hcl`` ``unit``/``stack`` blocks,
``locals``, ``include``), ``.terraform-version`` and ``.tool-versions`` (see ``refs.extract``).
``scan_files`` scans an in-memory tree; ``refs.disk.scan_tree`` scans directories on disk.

Offsets and columns count characters of the UTF-8-decoded text (``hcl.decode``).
"""

from __future__ import annotations

import bisect
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping, Sequence

from catalog_ops.core.edits import line_col
from catalog_ops.errors import SourceParseError
from catalog_ops.hcl.json import JsonSyntaxError
from catalog_ops.hcl.text import decode
from catalog_ops.refs.extract import BLOCK_TYPES, FILE_NAMES, file_references, hcl_references, json_references
from catalog_ops.refs.model import Reference, ScanResult
from catalog_ops.refs.overrides import apply_overrides, is_override_file, shadowed
from catalog_ops.refs.terragrunt import Loader

SKIP_DIRS = frozenset({".terraform", ".terragrunt-cache", ".git", ".terragrunt-stack"})
_SUFFIXES = (".tf", ".tf.json", ".tofu", ".tofu.json", ".hcl")
_JSON_SUFFIXES = (".tf.json", ".tofu.json")
_NOT_CONFIG = (".tftest.hcl", ".tfmock.hcl", ".tftest.json")
LOCK_FILE = ".terraform.lock.hcl"
"""The dependency lock file's name (Terraform "Dependency Lock File"; OpenTofu uses the same)."""
# Raw-text test: can a file hold a reference at all? (attribute or JSON key, or required_providers;
# a legacy ``aws = "~> 5.0"`` provider entry has neither ``source`` nor ``version``.) This regex is
# the definition; ``has_keyword`` computes the same answer many times faster (a regex starting with
# ``\b`` and an alternation is tried at every offset).
_KEYWORD_RE = re.compile(
    rb'\b(?:source|version|required_version)\s*=(?!=)|"(?:source|version|required_version)"\s*:|required_providers'
)
_KEYWORD_CANDIDATE_RES = (
    re.compile(rb'source(?:\s*=(?!=)|"\s*:)'),
    re.compile(rb'version(?:\s*=(?!=)|"\s*:)'),
)
# Bytes that continue a word for ``\b`` in a bytes pattern (ASCII letters, digits, underscore).
_WORD_BYTES = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")

Needle = bytes | tuple[bytes, ...] | None


def is_candidate_path(path: str) -> bool:
    """True for files that may hold references: ``*.tf``, ``*.tf.json``, ``*.tofu``,
    ``*.tofu.json``, ``*.hcl``, ``.terraform-version`` and ``.tool-versions`` (by base name;
    see ``is_candidate_name``)."""
    base = path.replace("\\", "/")
    return is_candidate_name(base[base.rfind("/") + 1 :])  # posixpath.basename, without its call


def is_candidate_name(base: str) -> bool:
    """``is_candidate_path`` of a base name (no directory part; the walker has it from the
    directory entry).

    Never ``.terraform.lock.hcl`` (a dependency lock file, not configuration: Terraform
    "Dependency Lock File") nor Terraform test files (``*.tftest.hcl``, ``*.tfmock.hcl``), which
    neither Terraform's configuration loader nor Terragrunt reads.
    """
    if base.endswith(_SUFFIXES):
        return base != LOCK_FILE and not base.endswith(_NOT_CONFIG)
    return base in FILE_NAMES


def loaded_paths(paths: Iterable[str]) -> list[str]:
    """``paths`` without the ``.tf``/``.tf.json`` files OpenTofu's extension precedence hides
    (``refs.overrides.shadowed``), in the given order."""
    paths = list(paths)
    hidden = shadowed(paths)
    return [p for p in paths if p not in hidden] if hidden else paths


def skipped(path: str) -> bool:
    """Whether a posix path lies under a directory that is never scanned (``SKIP_DIRS``)."""
    return any(part in SKIP_DIRS for part in path.split("/")[:-1])


def loader(
    read: Callable[[str], bytes | None], exists: Callable[[str], bool], *, on_disk: bool = False
) -> Loader:
    """A ``Loader`` that reads only the blocks the extractors (and the evaluator) need."""
    return Loader(read, exists, on_disk=on_disk, skim=BLOCK_TYPES)


def _scan_one(files: Loader, path: str) -> tuple[list[Reference], SourceParseError | None]:
    base = posixpath.basename(path)
    if base in FILE_NAMES:
        data = files.read(path)
        if data is None:
            return [], None
        try:
            return file_references(path, base, decode(path, data)), None
        except SourceParseError as exc:
            return [], exc
    if base.endswith(_JSON_SUFFIXES):
        data = files.read(path)
        if data is None:
            return [], None
        try:
            text = decode(path, data)
            return json_references(path, text), None
        except SourceParseError as exc:
            return [], exc
        except JsonSyntaxError as exc:
            line, col = line_col(text, exc.offset)
            return [], SourceParseError(path, line, col, exc.message)
    parsed = files.get(path)
    if parsed is None:
        return [], None
    if parsed.error is not None:
        return [], parsed.error
    return hcl_references(files, parsed), None


def has_keyword(data: bytes) -> bool:
    """Whether ``_KEYWORD_RE.search(data)`` finds a match (same answer, without the regex's cost).

    ``_KEYWORD_CANDIDATE_RES`` find ``source``/``version`` followed by ``=`` (not ``==``) or by
    ``":`` — each starts with a literal, which the regex engine skips to quickly; the byte before
    the word (or before ``required_version`` ending in it) is then checked here: a word boundary
    for ``=``, a ``"`` for ``:``.
    """
    if b"required_providers" in data:
        return True
    for pattern in _KEYWORD_CANDIDATE_RES:
        for m in pattern.finditer(data):
            if _keyword_match(data, m.start(), m.end()):
                return True
    return False


def with_keyword(datas: Sequence[bytes]) -> set[int]:
    r"""The indices ``i`` for which ``has_keyword(datas[i])`` holds, found in one pass over all
    the texts: they are joined with NUL bytes and ``_KEYWORD_CANDIDATE_RES`` run once over the
    whole (a search per file costs more in calls than in scanning). A NUL between two texts
    stands for "start of text" (not a word byte, not ``"``), and no match spans it (``\s``,
    ``=``, ``"``, ``:`` and ``required_`` are not NUL), so each text's answer is its own.
    """
    blob = b"\0".join(datas)
    starts = []  # offset of each text in blob
    at = 0
    for d in datas:
        starts.append(at)
        at += len(d) + 1
    found: set[int] = set()
    for pattern in _KEYWORD_CANDIDATE_RES:
        search = pattern.search
        m = search(blob)
        while m is not None:
            i = bisect.bisect_right(starts, m.start()) - 1
            if i not in found and _keyword_match(blob, m.start(), m.end()):
                found.add(i)
                nxt = starts[i + 1] if i + 1 < len(starts) else len(blob)  # on to the next text
            else:
                nxt = m.start() + 1
            m = search(blob, nxt)
    if len(found) < len(datas):
        k = blob.find(b"required_providers")
        while k >= 0:
            i = bisect.bisect_right(starts, k) - 1
            found.add(i)
            k = blob.find(b"required_providers", starts[i + 1] if i + 1 < len(starts) else len(blob))
    return found


def _keyword_match(data: bytes, start: int, end: int) -> bool:
    """Whether a ``_KEYWORD_CANDIDATE_RES`` match at ``data[start:end]`` is one of
    ``_KEYWORD_RE``'s (see ``has_keyword``)."""
    json_key = data[end - 1] == 0x3A  # ':'
    starts: tuple[int, ...] = (start,)
    if data[start] == 0x76 and start >= 9 and data[start - 9 : start] == b"required_":  # 'v'
        starts = (start, start - 9)
    for k in starts:
        before = data[k - 1] if k > 0 else -1
        if before == 0x22 if json_key else before not in _WORD_BYTES:  # '"'
            return True
    return False


def wanted(data: bytes, path: str, needle: Needle) -> bool:
    """Raw-text filter: can this file hold a reference (to ``needle``, when given)?

    ``needle`` is lower-case bytes (or a tuple of them, all required) that every file writing a
    matching reference contains literally — unless the source is built by interpolation, so
    files with ``${``, ``local.`` or ``include.`` are kept too. ``wanted_files`` answers for
    many files at once.
    """
    if path[path.rfind("/") + 1 :] in FILE_NAMES:  # posixpath.basename, without its call
        return needle is None
    if needle is None or is_override_file(path):
        # An override file may set a module's version without naming its source.
        return has_keyword(data)
    if b"source" not in data:
        return False
    if b"${" in data or b"local." in data or b"include." in data:
        return has_keyword(data)
    lower = data.lower()
    needles = (needle,) if isinstance(needle, bytes) else needle
    return all(n in lower for n in needles) and has_keyword(data)


def wanted_files(items: Sequence[tuple[str, bytes]], needle: Needle) -> list[bool]:
    """``[wanted(data, path, needle) for path, data in items]``; without ``needle``, the
    keyword test of every file is one ``with_keyword`` pass."""
    if needle is not None:
        return [wanted(data, path, needle) for path, data in items]
    keyed = with_keyword([data for _, data in items])
    return [
        path[path.rfind("/") + 1 :] in FILE_NAMES or i in keyed  # see wanted
        for i, (path, _) in enumerate(items)
    ]


def parse_one(files: Loader, path: str, data: bytes) -> tuple[list[Reference], SourceParseError | None]:
    """References of one file whose bytes were already read (includes are read through ``files``).

    Never raises for bad input: any failure becomes one ``SourceParseError`` for the file.
    """
    files.pending[path] = data
    try:
        return _scan_one(files, path)
    except (RecursionError, ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        # One unexpected input must never abort the rest of the tree.
        return [], SourceParseError(path, 1, 1, f"cannot analyse this file: {exc!r}")


def scan_files(files: Mapping[str, bytes], *, needle: Needle = None) -> ScanResult:
    """Scan an in-memory tree ``{posix path: bytes}`` (e.g. a remote repo's files).

    Includes and ``read_terragrunt_config`` are resolved within ``files``. Non-candidate paths are
    ignored; a file that fails to parse yields one ``SourceParseError`` and the rest go on.
    ``needle`` (lower-case bytes, or a tuple of them all required; see ``wanted``) restricts
    parsing to files that may reference it (used by bump and rollout planning).
    """
    tree = loader(files.get, files.__contains__)
    result = ScanResult()
    for path in loaded_paths(sorted(p for p in files if is_candidate_path(p) and not skipped(p))):
        data = tree.read(path)
        if data is None:
            continue
        result.files_scanned += 1
        if not wanted(data, path, needle):
            continue
        found, err = parse_one(tree, path, data)
        result.references.extend(found)
        if err is not None:
            result.errors.append(err)
    result.references = apply_overrides(result.references)
    return result
