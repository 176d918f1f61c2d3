"""Scanning directories on disk: the bounded file reader, the walker and the process pool.

``scan_tree`` walks the given paths (``walk``), then reads, pre-filters and parses every candidate
file, in this process or, for large trees (``PARALLEL_THRESHOLD``), in a process pool that gets
chunks of paths. Include paths resolve on disk relative to each file.
"""

from __future__ import annotations

import contextlib
import gc
import os
import posixpath
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence

from catalog_ops.errors import SourceParseError
from catalog_ops.hcl import text as hcl_text
from catalog_ops.refs.model import Reference, ScanResult
from catalog_ops.refs.overrides import apply_overrides, is_override_file
from catalog_ops.refs.scan import (
    SKIP_DIRS,
    Needle,
    is_candidate_name,
    loaded_paths,
    loader,
    parse_one,
    wanted_files,
)
from catalog_ops.refs.terragrunt import Loader

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy treats it the same)
if TYPE_CHECKING:  # annotations only; concurrent.futures is imported where the pool is used
    from pathlib import Path
    from typing import TypeVar  # typing costs ≈ 6 ms to import: only the type checker needs it

    _S = TypeVar("_S")
    _R = TypeVar("_R")

# Read, filter and parse in a process pool (one task per chunk of paths) when there are at least
# this many candidate files and more than one core.
PARALLEL_THRESHOLD = 1000
# Paths per pool task: small enough to balance the workers, large enough to amortise a task.
MIN_CHUNK = 64
MAX_CHUNK = 512


def _read_filter(paths: Sequence[str], needle: Needle) -> tuple[int, list[tuple[str, bytes]]]:
    """Read ``paths`` and keep those passing the raw-text filter (``wanted_files``):
    (files read, kept items)."""
    items = []
    for path in paths:
        data = read_file(path)
        if data is not None:
            items.append((path, data))
    return len(items), [item for item, keep in zip(items, wanted_files(items, needle), strict=True) if keep]


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


class _Walk:
    """One walk's state (see ``walk``): candidate files found, those reached through a symlink,
    directories seen (device, inode), symlinked directories put off, and errors."""

    def __init__(self, errors: list[SourceParseError] | None) -> None:
        self.out: list[str] = []
        self.via_link: set[str] = set()  # files whose path goes through a symlink
        self.seen: set[tuple[int, int]] = set()
        self.deferred: list[str] = []  # symlinked directories: walked after every real one
        self.errors = errors

    def visit(self, top: str, linked: bool) -> None:
        """Walk the directory ``top`` depth first (sorted); ``linked``: reached through a symlink."""
        # Under a normalised top other than ".", every entry's path (top/name/...) is normalised.
        normalised = top != "." and os.path.normpath(top) == top
        out, seen = self.out, self.seen
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
            subdirs = []
            listed, put_off = len(out), len(self.deferred)  # to undo a listing that fails part way
            try:
                with os.scandir(d) as entries:
                    for e in entries:
                        try:
                            if e.is_dir():
                                if e.name in SKIP_DIRS:
                                    continue
                                if e.is_symlink() and not linked:
                                    self.deferred.append(e.path)
                                else:
                                    subdirs.append(e.path)
                            elif is_candidate_name(e.name) and e.is_file():
                                path = e.path if normalised else os.path.normpath(e.path)
                                out.append(path)
                                if linked or e.is_symlink():
                                    self.via_link.add(path)
                        except OSError:
                            continue
            except OSError as exc:
                # Nothing of a directory whose listing failed (as when it is read whole first).
                self.via_link.difference_update(out[listed:])
                del out[listed:], self.deferred[put_off:]
                subdirs = []
                if self.errors is not None:
                    self.errors.append(SourceParseError(d, 1, 1, f"cannot read directory: {exc.strerror}"))
            stack.extend(sorted(subdirs, reverse=True))

    def files(self) -> list[str]:
        """The files found, after the deferred symlinked directories: sorted, each listed once."""
        self.deferred.sort()
        for d in self.deferred:
            self.visit(d, True)
        self.deferred = []
        files = sorted(dict.fromkeys(self.out))
        return _dedupe_links(files, self.via_link) if self.via_link else files


def walk(paths: Sequence[Path | str], errors: list[SourceParseError] | None = None) -> list[str]:
    """Candidate files under ``paths`` (files or directories), sorted, as path strings.

    Skips ``.terraform/``, ``.terragrunt-cache/``, ``.git/`` (and ``.terragrunt-stack/``).
    Directory symlinks are followed once, after the real directories (loops are cut by
    device/inode), and a file reached by several paths of which one goes through a symlink is
    listed once, preferably by its path without symlinks — so it is scanned and bumped once.
    Missing paths are reported in ``errors`` as ``path:1:1`` errors.
    """
    w = _Walk(errors)
    for root in paths:
        root_s = os.fspath(root)
        if os.path.isfile(root_s):
            w.out.append(os.path.normpath(root_s))
            if os.path.islink(root_s):
                w.via_link.add(os.path.normpath(root_s))
            continue
        if not os.path.isdir(root_s):
            if errors is not None:
                errors.append(SourceParseError(root_s, 1, 1, "no such file or directory"))
            continue
        w.visit(root_s, False)
    return w.files()


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


_Error = tuple[str, int, int, str]  # a SourceParseError as a tuple (tuples pickle)
# One file's references, as objects or (``render``) as texts — one or the other — and errors.
_Group = tuple[str, list[Reference], list[str], list[_Error]]
_Part = tuple[int, list[_Group]]  # files read, and the groups of the files with any
Render = Callable[[list[Reference]], list[str]]
"""A renderer of references: one text per reference, in order (``scan_tree``'s ``render``)."""
_NO_TEXTS: list[str] = []  # shared by the groups of objects (never mutated)


def _scan_chunk(paths: Sequence[str], needle: Needle, tree: Loader | None = None) -> _Part:
    """Read, filter and parse ``paths`` (a worker's task, or a part of a scan in this process,
    which passes its one ``tree`` so included files are parsed once): ``(files read, groups)``,
    a group ``(path, references, texts, errors as tuples)`` (``_Group``; no texts yet) for each
    file with references or an error, in the order of ``paths`` — tuples pickle; the caller
    rebuilds the errors. References come before
    ``apply_overrides``, which needs every file of a directory; none is rendered yet."""
    tree = tree or _disk_loader()
    groups: list[_Group] = []
    with _gc_paused():
        read, kept = _read_filter(paths, needle)
        for path, data in kept:
            found, err = parse_one(tree, path, data)
            if found or err is not None:
                groups.append(
                    (
                        path,
                        found,
                        _NO_TEXTS,
                        [] if err is None else [(err.path, err.line, err.col, err.message)],
                    )
                )
    return read, groups


def _chunks(files: list[str], nworkers: int) -> list[list[str]]:
    """Contiguous chunks (files of one directory mostly stay together: includes are parsed once
    per chunk), about eight per worker, ``MIN_CHUNK``..``MAX_CHUNK`` paths each."""
    size = max(MIN_CHUNK, min(MAX_CHUNK, len(files) // (nworkers * 8) or 1))
    return [files[i : i + size] for i in range(0, len(files), size)]


def _single_threaded() -> bool:
    """No other Python thread runs (a forked child gets only the calling thread; locks other
    threads hold would stay held in it). ``threading`` not imported: none was started."""
    threading = sys.modules.get("threading")
    return threading is None or threading.active_count() == 1


# Bytes a result pipe should hold (Linux ``F_SETPIPE_SZ``, at most ``/proc/sys/fs/pipe-max-size``,
# 1 MiB by default): a child's result (≈ 0.8 MB of rendered references for 1,000 files) then
# goes into the pipe at once and the child exits, instead of waiting for this process to finish
# its own share and read (a pipe holds 64 KiB by default: pipe(7)).
RESULT_PIPE_BYTES = 1 << 20


def _widen(fd: int) -> None:
    """Ask for a ``RESULT_PIPE_BYTES`` pipe buffer behind ``fd`` where the system allows it
    (Linux; refused above the user's limits: the pipe then keeps its size, which only costs
    waiting)."""
    import fcntl  # POSIX only; a C module, cheap to import

    setsize = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setsize is not None:
        with contextlib.suppress(OSError):
            fcntl.fcntl(fd, setsize, RESULT_PIPE_BYTES)


def _fork_map(
    shares: Sequence[_S], work: Callable[[_S], _R], done: Callable[[_S, _R], None] | None = None
) -> list[_R]:
    """``[work(s) for s in shares]``, share 0 in this process and each other share in a forked
    child (POSIX ``fork``), which sends its result back pickled through a pipe and exits.

    A child that fails (non-zero exit, cut or garbled output) or cannot be forked has its share
    worked here instead, so a crash costs time, never results. Where children are reaped by the
    system (``SIGCHLD`` ignored, inherited from the parent process), their exit status is not
    known and their output alone decides. ``done(share, result)``, when given, is called as
    results arrive (this process's first). No ``concurrent.futures``/``multiprocessing``:
    their import alone costs ≈ 40 ms of CPU, and a child has the parent's modules already.
    Callers make sure no other thread runs (``_single_threaded``).
    """
    import pickle

    results: dict[int, _R] = {}
    children: list[tuple[int, int, int]] = []  # (pid, read end of its pipe, share index)
    try:
        for k in range(1, len(shares)):
            try:
                r, w = os.pipe()
            except OSError:  # out of file descriptors: the rest is worked here
                break
            _widen(w)
            try:
                pid = os.fork()
            except OSError:  # cannot fork (process limit, memory): the rest is worked here
                os.close(r)
                os.close(w)
                break
            if pid == 0:  # pragma: no cover  (the child; coverage does not follow forks)
                code = 1
                try:
                    os.close(r)
                    out = work(shares[k])
                    with open(w, "wb") as pipe:
                        pipe.write(pickle.dumps(out, protocol=pickle.HIGHEST_PROTOCOL))
                    code = 0
                finally:
                    os._exit(code)
            os.close(w)
            children.append((pid, r, k))
        forked = {k for _, _, k in children}
        for k in range(len(shares)):
            if k not in forked:
                results[k] = work(shares[k])
                if done is not None:
                    done(shares[k], results[k])
        while children:
            pid, r, k = children.pop(0)
            with open(r, "rb") as pipe:
                data = pipe.read()
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:  # reaped already (SIGCHLD ignored): its output decides
                status = 0
            ok = status == 0
            if ok:
                try:
                    results[k] = pickle.loads(data)
                except Exception:  # cut or garbled output: work that share here
                    ok = False
            if not ok:
                results[k] = work(shares[k])
            if done is not None:
                done(shares[k], results[k])
    finally:
        for pid, r, _ in children:  # interrupted: reap the children still running
            os.close(r)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    return [results[k] for k in range(len(shares))]


def _forked_scan(
    chunks: list[list[str]],
    needle: Needle,
    nworkers: int,
    progress: Callable[[int], None],
) -> list[_Part]:
    """Scan ``chunks`` in this process and ``nworkers - 1`` forked children (``_fork_map``):
    worker ``k`` takes chunks ``k, k + nworkers, ...`` (contiguous chunks spread evenly), this
    process is worker 0. ``progress(files)`` is called as a worker's chunks complete."""
    shares = [list(range(k, len(chunks), nworkers)) for k in range(nworkers)]
    shares = [share for share in shares if share]
    trees: list[Loader] = []  # one per process: included files are parsed once per worker

    def work(share: list[int]) -> list[_Part]:
        if not trees:
            trees.append(_disk_loader())
        return [_scan_chunk(chunks[i], needle, trees[0]) for i in share]

    def done(share: list[int], _parts: list[_Part]) -> None:
        progress(sum(len(chunks[i]) for i in share))

    per_share = _fork_map(shares, work, done)
    parts: list[_Part | None] = [None] * len(chunks)
    for share, got in zip(shares, per_share, strict=True):
        for i, part in zip(share, got, strict=True):
            parts[i] = part
    return [p for p in parts if p is not None]


# Fork before the walk (``_split_scan``) when one directory is scanned and, breadth first, at
# least this many of its directories are found at one depth (at most ``SPLIT_DEPTH`` levels
# down): the workers then walk their directories too. Smaller trees walk first (``scan_paths``).
SPLIT_DIRS = 32
SPLIT_DEPTH = 3


def _frontier(root: str) -> tuple[list[str], list[str], set[tuple[int, int]]] | None:
    """The first levels of the directory ``root``, breadth first, until ``SPLIT_DIRS``
    directories are pending: ``(candidate files above them, pending directories, (device,
    inode) of the directories read)``, paths normalised as ``walk`` gives them. ``None`` when
    the tree runs out first or goes deeper than ``SPLIT_DEPTH``, or when anything there needs
    ``walk``'s whole-tree rules (a symlink, an unreadable directory, a directory reached
    twice: a bind mount)."""
    norm = str if root != "." and os.path.normpath(root) == root else os.path.normpath
    files: list[str] = []
    seen: set[tuple[int, int]] = set()
    level = [root]
    for _ in range(SPLIT_DEPTH):
        below: list[str] = []
        for d in level:
            try:
                st = os.stat(d)
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    return None
                seen.add(key)
                with os.scandir(d) as entries:
                    for e in entries:
                        if e.is_dir():
                            if e.name in SKIP_DIRS:
                                continue
                            if e.is_symlink():
                                return None
                            below.append(e.path)
                        elif is_candidate_name(e.name) and e.is_file():
                            if e.is_symlink():
                                return None
                            files.append(norm(e.path))
            except OSError:
                return None
        if len(below) >= SPLIT_DIRS:
            return files, below, seen
        if not below:
            return None
        level = below
    return None


# At most this many tasks in a split scan's queue: 4-byte indices, all written before the
# workers start, must fit in a pipe's smallest buffer (one 4 KiB page, pipe(7)).
MAX_TASKS = 1024


def _take_and_scan(
    queue: int,
    tasks: Sequence[tuple[Sequence[str], Sequence[str]]],
    needle: Needle,
    render: Render | None = None,
) -> tuple[int, _Part, set[tuple[int, int]]] | None:
    """A split scan's worker: take task indices from the pipe ``queue`` until it is drained;
    a task is ``(directories, files)``: walk the directories, then scan their files and the
    task's own files (paths as ``walk`` gives them). Returns ``(tasks done, part, (device,
    inode) of the directories walked)``, the part's groups sorted by path (with ``render``,
    rendered where they can be: ``_render_groups``), or ``None`` when a walk finds what needs
    ``walk``'s whole-tree rules (a symlink, an unreadable directory, a directory walked twice:
    a bind mount)."""
    tree = _disk_loader()
    done = read = 0
    groups: list[_Group] = []
    walked: set[tuple[int, int]] = set()
    with _gc_paused():  # the walks too: the loader's cache grows, and every collection would traverse it
        while True:
            index = os.read(queue, 4)
            if not index:
                break
            if len(index) != 4:  # a pipe read of 4 of the written bytes is whole (pipe(7)); never cut
                return None
            dirs, files = tasks[int.from_bytes(index, "little")]
            errors: list[SourceParseError] = []
            w = _Walk(errors)
            w.out.extend(files)
            for d in dirs:
                w.visit(d, False)
            if errors or w.deferred or w.via_link or not walked.isdisjoint(w.seen):
                return None
            walked |= w.seen
            n, found = _scan_chunk(loaded_paths(w.files()), needle, tree)
            read += n
            groups.extend(found)
            done += 1
    groups.sort(key=lambda g: g[0])
    if render is not None:
        groups = _render_groups(groups, render)
    return done, (read, groups), walked


def _render_groups(groups: list[_Group], render: Render) -> list[_Group]:
    """``groups`` with the references rendered (``render`` once, over all of them) in every
    group whose directory holds no override file's reference: ``apply_overrides`` leaves those
    references as they are, since it merges an override only into references of its own
    directory. The other groups keep their objects, for ``_result`` to merge.

    Only for groups that hold every file of their directories (a split scan's worker: each
    directory is walked whole by one task), or an override file elsewhere could not be merged.
    """
    merged_dirs = {posixpath.dirname(path) for path, refs, _, _ in groups if refs and is_override_file(path)}
    final = [
        r for path, refs, _, _ in groups if refs and posixpath.dirname(path) not in merged_dirs for r in refs
    ]
    if not final:
        return groups
    texts = render(final)
    out: list[_Group] = []
    k = 0
    for group in groups:
        path, refs, _, errors = group
        if refs and posixpath.dirname(path) not in merged_dirs:
            out.append((path, [], texts[k : k + len(refs)], errors))
            k += len(refs)
        else:
            out.append(group)
    return out


def _split_scan(root: str, needle: Needle, nworkers: int, render: Render | None = None) -> ScanResult | None:
    """``scan_tree([root])`` with the walk shared by the workers: this process walks the first
    levels (``_frontier``), then every worker (``_fork_map``) takes pending directories from one
    queue (a pipe holding their indices: a worker that draws costly directories takes fewer),
    walks and scans them (the files above the pending directories are one more task). The
    groups are merged in path order, which is ``walk``'s order: each worker's are sorted, and
    so is their union. ``None`` (the caller scans the usual way) when the tree is small, any
    part of it needs ``walk``'s whole-tree rules (symlinks, unreadable directories, a
    directory reached twice), or a worker failed (its tasks are not known). With ``render``,
    the workers render the references (``_render_groups``): the parent then has strings to
    join, not objects to unpickle and render."""
    front = _frontier(root)
    if front is None:
        return None
    files, dirs, above = front
    dirs.sort()
    per_task = -(-len(dirs) // (MAX_TASKS - 1))
    none: list[str] = []
    tasks = [(none, files)] + [(dirs[i : i + per_task], none) for i in range(0, len(dirs), per_task)]
    try:
        queue, fill = os.pipe()
    except OSError:
        return None
    try:
        os.write(fill, b"".join(i.to_bytes(4, "little") for i in range(len(tasks))))
        os.close(fill)
        fill = -1
        parts = _fork_map([queue] * nworkers, lambda q: _take_and_scan(q, tasks, needle, render))
    finally:
        os.close(queue)
        if fill >= 0:
            os.close(fill)
    if any(p is None for p in parts) or sum(p[0] for p in parts if p is not None) != len(tasks):
        return None
    # A directory walked by two workers, or also read above the frontier (a bind mount), is
    # walked once by ``walk``, under its first path: that walk decides which.
    walked = [p[2] for p in parts if p is not None]
    if len(above.union(*walked)) != len(above) + sum(map(len, walked)):
        return None
    return _result([p[1] for p in parts if p is not None], merge=True, render=render)


def _group_path(group: _Group) -> str:
    return group[0]


def _result(parts: Sequence[_Part], *, merge: bool = False, render: Render | None = None) -> ScanResult:
    """One ``ScanResult`` of ``parts`` (in order; ``merge``: parts whose groups are each sorted
    by path, merged into path order), with ``apply_overrides`` applied; with ``render``, the
    references rendered (``ScanResult.rendered``) instead.

    Groups already rendered by a worker keep their place. The others go through
    ``apply_overrides`` together, which keeps the references of ordinary files in order
    (merged in place) and adds the complete references of override files that merged into
    nothing at the end: each is rendered in that place, as if every reference had been
    merged and rendered here."""
    result = ScanResult()
    result.files_scanned = sum(read for read, _ in parts)
    groups: Iterable[_Group] = (x for _, g in parts for x in g)
    if merge:  # sorted runs, one per part: the sort merges them (timsort finds the runs)
        groups = sorted(groups, key=_group_path)
    if render is None:
        for _path, refs, _texts, errors in groups:
            result.references.extend(refs)
            result.errors.extend(SourceParseError(*e) for e in errors)
        result.references = apply_overrides(result.references)
        return result
    pieces: list[list[str] | tuple[int, int]] = []  # rendered texts, or a span of the merged objects
    objects: list[Reference] = []
    kept = 0  # references of ordinary files among ``objects``: apply_overrides' first ``kept``
    for path, refs, texts, errors in groups:
        result.errors.extend(SourceParseError(*e) for e in errors)
        if texts:
            pieces.append(texts)
        elif refs:
            objects.extend(refs)
            if not is_override_file(path):
                pieces.append((kept, kept + len(refs)))
                kept += len(refs)
    merged = apply_overrides(objects)
    rendered = render(merged) if merged else []
    for piece in pieces:
        result.rendered.extend(rendered[piece[0] : piece[1]] if isinstance(piece, tuple) else piece)
    result.rendered.extend(rendered[kept:])
    return result


def scan_paths(
    files: list[str],
    *,
    needle: Needle = None,
    progress: Callable[[int, int], None] | None = None,
    render: Render | None = None,
) -> ScanResult:
    """Scan the given candidate files on disk.

    Each file is read, filtered by raw text (``needle`` as for ``scan_files``) and, when it
    passes, parsed. With ``PARALLEL_THRESHOLD`` files or more (and more than one core) the work
    is split into contiguous chunks of paths run in a process pool, so reading, filtering and
    parsing all use every core; the results are joined in the order of ``files``. Otherwise it
    runs in this process. ``progress(done, total)`` is called as chunks of files complete.
    On Linux the workers are this process and forked children (``_forked_scan``) — unless
    other threads run (a TTY progress bar), where forking is unsafe: then all in this process;
    elsewhere a ``concurrent.futures`` process pool. ``render`` is as for ``scan_tree`` (here
    it runs in this process, once the parts are joined).
    """
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
    return _result(parts, render=render)


def scan_tree(
    paths: Sequence[Path | str],
    *,
    progress: Callable[[int, int], None] | None = None,
    needle: Needle = None,
    render: Render | None = None,
) -> ScanResult:
    """Walk ``paths`` and scan every candidate file (see ``walk`` and ``scan_paths``).

    Include paths are resolved on disk relative to each file. ``progress(done, total)``, when
    given, is called as chunks of files complete (the CLI shows a rich progress bar on a TTY).
    ``needle`` is as for ``scan_files``. Missing paths and unreadable directories come first in
    ``errors`` (see ``walk``). One large directory is walked by the workers too (``_split_scan``,
    Linux, more than one core, no progress hook: the total is not known before the walk).

    ``render``, when given, turns references into texts (one per reference, in order; it must
    be a pure function of each reference): the result then has them in ``rendered``, in the
    order ``references`` would have had, and ``references`` is empty. A split scan renders in
    its workers, in parallel, and sends texts instead of objects (``refs --json``).
    """
    nworkers = min(os.cpu_count() or 1, 8)
    if (
        len(paths) == 1
        and progress is None
        and nworkers > 1
        and sys.platform == "linux"
        and _single_threaded()
        and os.path.isdir(paths[0])
        and not os.path.islink(paths[0])
    ):
        split = _split_scan(os.fspath(paths[0]), needle, nworkers, render)
        if split is not None:
            return split
    walk_errors: list[SourceParseError] = []
    files = loaded_paths(walk(paths, walk_errors))
    result = scan_paths(files, needle=needle, progress=progress, render=render)
    result.errors[:0] = walk_errors
    return result
