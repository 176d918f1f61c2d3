"""Scanning directories on disk: the bounded file reader, the walker and the process pool.

``scan_tree`` walks the given paths (``walk``), then reads, pre-filters and parses every candidate
file, in this process or, for large trees (``PARALLEL_THRESHOLD``), in a process pool that gets
chunks of paths. Include paths resolve on disk relative to each file.
"""

from __future__ import annotations

import contextlib
import gc
import os
import stat
import sys
from collections.abc import Callable, Iterator, Sequence

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

# Read, filter and parse in a process pool (one task per chunk of paths) when there are at least
# this many candidate files and more than one core.
PARALLEL_THRESHOLD = 1000
# Paths per pool task: small enough to balance the workers, large enough to amortise a task.
MIN_CHUNK = 64
MAX_CHUNK = 512


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


# Bytes asked for by the first read of a file: most configuration files fit, and then that one
# read (no fstat, no second read) is all it costs.
FIRST_READ = 64 * 1024


def read_file(path: str) -> bytes | None:
    """A file's bytes, or ``None`` when it is missing, unreadable or not a regular file.

    Reads at most ``hcl.text.MAX_FILE_BYTES + 1`` bytes, so ``hcl.decode`` can flag a huge
    file without it being read whole. A file shorter than ``FIRST_READ`` costs one ``read``
    (a short read of a regular file is its end); only longer ones are checked with ``fstat``
    (regular file, size). Callers pass paths of regular files (``walk`` and the include
    resolution check with ``stat``); a directory fails its read and gives ``None``.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        first = min(FIRST_READ, hcl_text.MAX_FILE_BYTES + 1)
        data = os.read(fd, first)
        if len(data) < first:
            return data
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None
        want = min(st.st_size, hcl_text.MAX_FILE_BYTES) + 1
        while len(data) < want:  # the rest, or the file grew
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
        # Under a normalised top other than ".", every entry's path (top/name/...) is normalised.
        norm = str if top != "." and os.path.normpath(top) == top else os.path.normpath
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
                        path = norm(e.path)
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


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a scan (restored after): a scan allocates about
    50 objects per parsed file and frees them in reference-counting order, never in cycles, so
    the collector's passes over them (≈ 7% of a scan) find nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _scan_chunk(
    paths: Sequence[str], needle: Needle, tree: Loader | None = None
) -> tuple[int, list[Reference], list[tuple[str, int, int, str]]]:
    """Read, filter and parse ``paths`` (a pool task, or a part of a scan in this process, which
    passes its one ``tree`` so included files are parsed once): ``(files read, references,
    errors as tuples)`` — tuples pickle; the caller rebuilds the errors. References come before
    ``apply_overrides``, which needs every file of a directory."""
    tree = tree or _disk_loader()
    refs: list[Reference] = []
    errors: list[tuple[str, int, int, str]] = []
    with _gc_paused():
        read, kept = _read_filter(paths, needle)
        for path, data in kept:
            found, err = parse_one(tree, path, data)
            refs.extend(found)
            if err is not None:
                errors.append((err.path, err.line, err.col, err.message))
    return read, refs, errors


def _chunks(files: list[str], nworkers: int) -> list[list[str]]:
    """Contiguous chunks (files of one directory mostly stay together: includes are parsed once
    per chunk), about eight per worker, ``MIN_CHUNK``..``MAX_CHUNK`` paths each."""
    size = max(MIN_CHUNK, min(MAX_CHUNK, len(files) // (nworkers * 8) or 1))
    return [files[i : i + size] for i in range(0, len(files), size)]


_Part = tuple[int, list[Reference], list[tuple[str, int, int, str]]]


def _single_threaded() -> bool:
    """No other Python thread runs (a forked child gets only the calling thread; locks other
    threads hold would stay held in it). ``threading`` not imported: none was started."""
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


def _forked_scan(
    chunks: list[list[str]],
    needle: Needle,
    nworkers: int,
    progress: Callable[[int], None],
) -> list[_Part]:
    """Scan ``chunks`` in this process and ``nworkers - 1`` forked children (POSIX ``fork``):
    worker ``k`` takes chunks ``k, k + nworkers, ...`` (contiguous chunks spread evenly), this
    process is worker 0 (and takes the shares of children it could not fork). Each child sends
    its results back pickled through a pipe and exits; a child that fails (non-zero exit, cut
    output) has its chunks scanned here instead, so a crash costs time, never results. No ``concurrent.futures``/``multiprocessing``: their
    import alone costs ≈ 40 ms of CPU, and a child has the parent's modules already.
    ``progress(files)`` is called as chunks complete (a child's when its results arrive)."""
    import pickle

    parts: list[_Part | None] = [None] * len(chunks)
    children: list[tuple[int, int, list[int]]] = []  # (pid, read end of its pipe, chunk indices)
    try:
        for k in range(1, nworkers):
            share = list(range(k, len(chunks), nworkers))
            if not share:
                break
            try:
                r, w = os.pipe()
            except OSError:  # out of file descriptors: the rest is scanned here
                break
            try:
                pid = os.fork()
            except OSError:  # cannot fork (process limit, memory): the rest is scanned here
                os.close(r)
                os.close(w)
                break
            if pid == 0:  # pragma: no cover  (the child; coverage does not follow forks)
                code = 1
                try:
                    os.close(r)
                    tree = _disk_loader()
                    out = [_scan_chunk(chunks[i], needle, tree) for i in share]
                    with open(w, "wb") as pipe:
                        pipe.write(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
                    code = 0
                finally:
                    os._exit(code)
            os.close(w)
            children.append((pid, r, share))
        tree = _disk_loader()
        taken = {i for _, _, share in children for i in share}
        for i in range(len(chunks)):
            if i not in taken:
                parts[i] = _scan_chunk(chunks[i], needle, tree)
                progress(len(chunks[i]))
        while children:
            pid, r, share = children.pop(0)
            with open(r, "rb") as pipe:
                data = pipe.read()
            _, status = os.waitpid(pid, 0)
            try:
                got = pickle.loads(data) if status == 0 else None
            except Exception:  # cut or garbled output: scan that share here
                got = None
            if not isinstance(got, list) or len(got) != len(share):
                got = [_scan_chunk(chunks[i], needle, tree) for i in share]
            for i, part in zip(share, got, strict=True):
                parts[i] = part
                progress(len(chunks[i]))
    finally:
        for pid, r, _ in children:  # interrupted: reap the children still running
            os.close(r)
            os.waitpid(pid, 0)
    return [p for p in parts if p is not None]


def scan_paths(
    files: list[str],
    *,
    needle: Needle = None,
    progress: Callable[[int, int], None] | None = None,
) -> ScanResult:
    """Scan the given candidate files on disk.

    Each file is read, filtered by raw text (``needle`` as for ``scan_files``) and, when it
    passes, parsed. With ``PARALLEL_THRESHOLD`` files or more (and more than one core) the work
    is split into contiguous chunks of paths run in a process pool, so reading, filtering and
    parsing all use every core; the results are joined in the order of ``files``. Otherwise it
    runs in this process. ``progress(done, total)`` is called as chunks of files complete.
    On Linux the workers are this process and forked children (``_forked_scan``) — unless
    other threads run (a TTY progress bar), where forking is unsafe: then all in this process;
    elsewhere a ``concurrent.futures`` process pool.
    """
    result = ScanResult()
    total = len(files)
    nworkers = min(os.cpu_count() or 1, 8)
    forking = sys.platform == "linux"
    if len(files) < PARALLEL_THRESHOLD or nworkers <= 1 or (forking and not _single_threaded()):
        parts = []
        done = 0
        tree = _disk_loader()
        for chunk in _chunks(files, 1):
            parts.append(_scan_chunk(chunk, needle, tree))
            done += len(chunk)
            if progress:
                progress(done, total)
    elif forking:
        chunks = _chunks(files, nworkers)
        done = 0

        def advance(files_done: int) -> None:
            nonlocal done
            done += files_done
            if progress:
                progress(done, total)

        parts = _forked_scan(chunks, needle, nworkers, advance)
    else:
        import concurrent.futures  # only large trees need the pool (its import costs ~40 ms)

        chunks = _chunks(files, nworkers)
        by_index: dict[int, _Part] = {}
        done = 0
        with concurrent.futures.ProcessPoolExecutor(max_workers=nworkers) as pool:
            futs = {pool.submit(_scan_chunk, c, needle): i for i, c in enumerate(chunks)}
            for fut in concurrent.futures.as_completed(futs):
                idx = futs[fut]
                by_index[idx] = fut.result()
                done += len(chunks[idx])
                if progress:
                    progress(done, total)
        parts = [by_index[i] for i in range(len(chunks))]
    for read, refs, errors in parts:
        result.files_scanned += read
        result.references.extend(refs)
        result.errors.extend(SourceParseError(*e) for e in errors)
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
