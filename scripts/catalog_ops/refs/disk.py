"""Scanning directories on disk: the bounded file reader, the walker and the process pool.

``scan_tree`` walks the given paths (``walk``), reads and pre-filters every candidate file here,
and parses the files that pass in this process, or in a process pool for large trees
(``PARALLEL_THRESHOLD``). Include paths resolve on disk relative to each file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Sequence

from catalog_ops.errors import SourceParseError
from catalog_ops.hcl import text as hcl_text
from catalog_ops.refs.model import Reference, ScanResult
from catalog_ops.refs.overrides import apply_overrides
from catalog_ops.refs.scan import (
    SKIP_DIRS,
    Needle,
    is_candidate_path,
    loaded_paths,
    loader,
    parse_one,
    wanted,
)
from catalog_ops.refs.terragrunt import Loader

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy treats it the same)
if TYPE_CHECKING:  # annotations only; concurrent.futures is imported where the pool is used
    from pathlib import Path

# Parse in a process pool when at least this many files pass the raw-text filter.
PARALLEL_THRESHOLD = 300
# Read and filter in threads (reads release the GIL) when there are at least this many files.
READ_THREADS_THRESHOLD = 1000
READ_CHUNK = 256


def _read_filter(paths: Sequence[str], needle: Needle) -> tuple[int, list[tuple[str, bytes]]]:
    """Read ``paths`` and keep those passing the raw-text filter: (files read, kept items)."""
    read = 0
    kept: list[tuple[str, bytes]] = []
    for path in paths:
        data = read_file(path)
        if data is not None:
            read += 1
            if wanted(data, path, needle):
                kept.append((path, data))
    return read, kept


def read_file(path: str) -> bytes | None:
    """A file's bytes, or ``None`` when it is missing, unreadable or not a regular file.

    Reads at most ``hcl.text.MAX_FILE_BYTES + 1`` bytes, so ``hcl.decode`` can flag a huge
    file without it being read whole.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        want = min(st.st_size, hcl_text.MAX_FILE_BYTES) + 1
        data = os.read(fd, want)
        while len(data) < want:  # short read, or the file grew
            more = os.read(fd, want - len(data))
            if not more:
                break
            data += more
        return data
    except OSError:
        return None
    finally:
        os.close(fd)


def walk(paths: Sequence[Path | str], errors: list[SourceParseError] | None = None) -> list[str]:
    """Candidate files under ``paths`` (files or directories), sorted, as path strings.

    Skips ``.terraform/``, ``.terragrunt-cache/``, ``.git/`` (and ``.terragrunt-stack/``).
    Directory symlinks are followed once, after the real directories (loops are cut by
    device/inode), and a file reached by several paths of which one goes through a symlink is
    listed once, preferably by its path without symlinks — so it is scanned and bumped once.
    Missing paths are reported in ``errors`` as ``path:1:1`` errors.
    """
    out: list[str] = []
    via_link: set[str] = set()  # files whose path goes through a symlink
    seen: set[tuple[int, int]] = set()
    deferred: list[str] = []  # symlinked directories: walked after every real one

    def visit(top: str, linked: bool) -> None:
        stack = [top]
        while stack:
            d = stack.pop()
            try:
                st = os.stat(d)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            try:
                entries = list(os.scandir(d))
            except OSError as exc:
                if errors is not None:
                    errors.append(SourceParseError(d, 1, 1, f"cannot read directory: {exc.strerror}"))
                continue
            subdirs = []
            for e in entries:
                try:
                    if e.is_dir():
                        if e.name in SKIP_DIRS:
                            continue
                        if e.is_symlink() and not linked:
                            deferred.append(e.path)
                        else:
                            subdirs.append(e.path)
                    elif is_candidate_path(e.name) and e.is_file():
                        path = os.path.normpath(e.path)
                        out.append(path)
                        if linked or e.is_symlink():
                            via_link.add(path)
                except OSError:
                    continue
            stack.extend(sorted(subdirs, reverse=True))

    for root in paths:
        root_s = os.fspath(root)
        if os.path.isfile(root_s):
            out.append(os.path.normpath(root_s))
            if os.path.islink(root_s):
                via_link.add(os.path.normpath(root_s))
            continue
        if not os.path.isdir(root_s):
            if errors is not None:
                errors.append(SourceParseError(root_s, 1, 1, "no such file or directory"))
            continue
        visit(root_s, False)
    deferred.sort()
    for d in deferred:
        visit(d, True)
    files = sorted(dict.fromkeys(out))
    return _dedupe_links(files, via_link) if via_link else files


def _dedupe_links(files: list[str], via_link: set[str]) -> list[str]:
    """Drop paths naming the same file (device/inode) as another when one of them goes through
    a symlink; keep the path without symlinks (or the first in sorted order)."""
    groups: dict[tuple[int, int], list[str]] = {}
    for path in files:
        try:
            st = os.stat(path)
        except OSError:
            continue
        groups.setdefault((st.st_dev, st.st_ino), []).append(path)
    drop: set[str] = set()
    for group in groups.values():
        if len(group) > 1 and any(p in via_link for p in group):
            keep = min(group, key=lambda p: (p in via_link, p))
            drop.update(p for p in group if p != keep)
    return [p for p in files if p not in drop]


def _disk_loader() -> Loader:
    return loader(read_file, os.path.isfile, on_disk=True)


def _parse_chunk(items: list[tuple[str, bytes]]) -> tuple[list[Reference], list[tuple[str, int, int, str]]]:
    """Worker: parse pre-filtered ``(path, bytes)`` items (errors as tuples: they pickle)."""
    tree = _disk_loader()
    refs: list[Reference] = []
    errors: list[tuple[str, int, int, str]] = []
    for path, data in items:
        found, err = parse_one(tree, path, data)
        refs.extend(found)
        if err is not None:
            errors.append((err.path, err.line, err.col, err.message))
    return refs, errors


def scan_paths(
    files: list[str],
    *,
    needle: Needle = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Scan the given candidate files on disk.

    Every file is read and filtered by raw text here (in threads for ``READ_THREADS_THRESHOLD``
    files or more; order is kept); the files that pass are parsed in this
    process, or in a process pool when there are at least ``PARALLEL_THRESHOLD`` of them.
    ``progress(done, total)`` is called as files are filtered and parsed (``total`` grows by
    the number of files to parse once filtering is done).
    """
    result = ScanResult()
    tree = _disk_loader()
    todo: list[tuple[str, bytes]] = []
    total = len(files)
    chunks_in = [files[i : i + READ_CHUNK] for i in range(0, len(files), READ_CHUNK)]
    if len(files) >= READ_THREADS_THRESHOLD:
        import concurrent.futures

        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, 2 * (os.cpu_count() or 1))) as threads:
            read_parts = threads.map(lambda c: _read_filter(c, needle), chunks_in)
            done_read = 0
            for chunk, (read, kept) in zip(chunks_in, read_parts, strict=True):
                result.files_scanned += read
                todo.extend(kept)
                done_read += len(chunk)
                if progress:
                    progress(done_read, total)
    else:
        done_read = 0
        for chunk in chunks_in:
            read, kept = _read_filter(chunk, needle)
            result.files_scanned += read
            todo.extend(kept)
            done_read += len(chunk)
            if progress:
                progress(done_read, total)
    total += len(todo)
    done = len(files)
    nworkers = min(os.cpu_count() or 1, 8)
    if len(todo) < PARALLEL_THRESHOLD or nworkers <= 1:
        for n, (path, data) in enumerate(todo, 1):
            found, err = parse_one(tree, path, data)
            result.references.extend(found)
            if err is not None:
                result.errors.append(err)
            if progress and (n % 200 == 0 or n == len(todo)):
                progress(done + n, total)
        result.references = apply_overrides(result.references)
        return result
    size = max(25, min(500, len(todo) // (nworkers * 4) or 1))
    chunks = [todo[i : i + size] for i in range(0, len(todo), size)]
    import concurrent.futures  # only large trees need the pool (its import costs ~15 ms)

    parts: dict[int, tuple[list[Reference], list[tuple[str, int, int, str]]]] = {}
    with concurrent.futures.ProcessPoolExecutor(max_workers=nworkers) as pool:
        futs = {pool.submit(_parse_chunk, c): i for i, c in enumerate(chunks)}
        for fut in concurrent.futures.as_completed(futs):
            idx = futs[fut]
            parts[idx] = fut.result()
            done += len(chunks[idx])
            if progress:
                progress(done, total)
    for idx in range(len(chunks)):
        chunk_refs, chunk_errors = parts[idx]
        result.references.extend(chunk_refs)
        result.errors.extend(SourceParseError(*e) for e in chunk_errors)
    result.references = apply_overrides(result.references)
    return result


def scan_tree(
    paths: Sequence[Path | str],
    *,
    progress: Callable[[int, int], None] | None = None,
    needle: Needle = None,
) -> ScanResult:
    """Walk ``paths`` and scan every candidate file (see ``walk`` and ``scan_paths``).

    Include paths are resolved on disk relative to each file. ``progress(done, total)``, when
    given, is called as chunks of files complete (the CLI shows a rich progress bar on a TTY).
    ``needle`` is as for ``scan_files``. Missing paths and unreadable directories come first in
    ``errors`` (see ``walk``).
    """
    walk_errors: list[SourceParseError] = []
    files = loaded_paths(walk(paths, walk_errors))
    result = scan_paths(files, needle=needle, progress=progress)
    result.errors[:0] = walk_errors
    return result
