"""Scanning on disk: bounded reads, skipped directories, symlinks, the process pool."""

from __future__ import annotations

import os

from catalog_ops.bump import bump_tree
from catalog_ops.cli import main
from catalog_ops.refs import scan_files, scan_tree
from fixtures.refs import GH, SAMPLE_TREE


def test_scan_tree_on_disk_bad_input(tree_on_disk, monkeypatch):
    import catalog_ops.hcl.text as hcl_text

    root = tree_on_disk(SAMPLE_TREE)
    (root / "live" / "huge.tf").write_bytes(b"# source = 1\n" + b"x" * 2000)
    monkeypatch.setattr(hcl_text, "MAX_FILE_BYTES", 1000)
    (root / "live" / "bin.tf").write_bytes(b"\x00\x01source = 1\x02")
    (root / "live" / "latin1.hcl").write_bytes(b"# caf\xe9 source = 1\n")
    (root / "live" / ".git").mkdir()
    (root / "live" / ".git" / "x.tf").write_bytes(b'module "g" { source = "acme/g/aws" }\n')
    (root / "live" / ".terragrunt-cache" / "abc").mkdir(parents=True)
    (root / "live" / ".terragrunt-cache" / "abc" / "main.tf").write_bytes(
        b'module "g" { source = "acme/g/aws" }\n'
    )
    os.symlink("..", root / "live" / "loop")  # a directory symlink loop
    os.symlink("missing.tf", root / "live" / "dangling.tf")
    result = scan_tree([root, root / "does-not-exist"])
    messages = sorted(str(e).replace(str(root) + "/", "") for e in result.errors)
    assert len(messages) == 4, messages
    assert any("live/huge.tf:1:1: file is larger than 1000 bytes" in m for m in messages)
    assert any("live/bin.tf:1:1: binary file" in m for m in messages)
    assert any("live/latin1.hcl:1:6: not valid UTF-8" in m for m in messages)
    assert any("does-not-exist:1:1: no such file or directory" in m for m in messages)
    paths = {os.path.relpath(r.path, root) for r in result.references}
    assert not any(
        ".git" in p or ".terragrunt-cache" in p or ".terraform/" in p or "loop" in p for p in paths
    )
    mem = {r.path: r for r in scan_files(SAMPLE_TREE).references}
    disk = {os.path.relpath(r.path, root): r for r in result.references}
    assert set(mem) == set(disk)
    dns = disk["live/prod/dns/terragrunt.hcl"]
    assert os.path.relpath(dns.written_in, root) == "live/root.hcl"
    assert dns.ref_span == mem["live/prod/dns/terragrunt.hcl"].ref_span


def test_scan_tree_parallel_matches_serial(tree_on_disk, monkeypatch):
    import catalog_ops.refs.disk as refs_mod

    files = {}
    for i in range(60):
        for rel, data in SAMPLE_TREE.items():
            files[f"r{i}/{rel}"] = data
    root = tree_on_disk(files)
    monkeypatch.setattr(refs_mod, "SPLIT_DIRS", 10**9)  # walk first, then the chunks
    serial = scan_tree([root])
    monkeypatch.setattr(refs_mod, "PARALLEL_THRESHOLD", 10)
    calls = []
    parallel = scan_tree([root], progress=lambda d, t: calls.append((d, t)))
    assert parallel.references == serial.references
    assert parallel.files_scanned == serial.files_scanned == 60 * 11
    assert calls[-1][0] == calls[-1][1]


MOD = f'module "vpc" {{\n  source = "{GH}//modules/vpc?ref=v1.2.0"\n}}\n'.encode()


def test_symlinks_are_walked_once_and_never_written_outside_the_roots(tmp_path, capsys):
    root = tmp_path / "tree"
    (root / "x").mkdir(parents=True)
    (root / "x/main.tf").write_bytes(MOD)
    (root / "link.tf").symlink_to("x/main.tf")
    (root / "dirlink").symlink_to("x", target_is_directory=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "ext.tf").write_bytes(MOD)
    (root / "ext.tf").symlink_to(outside / "ext.tf")
    (root / "extdir").symlink_to(outside, target_is_directory=True)

    refs = scan_tree([root]).references
    assert sorted(os.path.relpath(r.path, root) for r in refs) == ["ext.tf", "x/main.tf"]

    res = bump_tree([root], address=GH, to="1.3.0", dry_run=True)
    assert sorted(res.changed) == [str(root / "x/main.tf")]
    assert main(["bump", "--source", GH, "--to", "1.3.0", str(root)]) == 0
    out = capsys.readouterr().out
    assert out == (
        f"{root}/ext.tf:2  skipped  v1.2.0  # {root}/ext.tf is a symlink to {outside}/ext.tf, "
        "outside the given paths; not written\n"
        f"{root}/x/main.tf:2  bumped  v1.2.0 -> v1.3.0\n"
    )
    assert (root / "x/main.tf").read_bytes() == MOD.replace(b"v1.2.0", b"v1.3.0")
    assert (root / "link.tf").is_symlink() and (root / "dirlink").is_symlink()
    assert (outside / "ext.tf").read_bytes() == MOD


def test_walk_gives_normalised_paths_for_every_spelling_of_a_root(tmp_path, monkeypatch):
    from catalog_ops.refs.disk import walk

    (tmp_path / "t" / "a").mkdir(parents=True)
    (tmp_path / "t" / "a" / "main.tf").write_bytes(MOD)
    (tmp_path / "t" / "b.tf").write_bytes(MOD)
    monkeypatch.chdir(tmp_path)
    want = ["t/a/main.tf", "t/b.tf"]
    assert walk(["t"]) == walk(["./t"]) == walk(["t/"]) == walk(["t//"]) == walk(["t/a/../"]) == want
    monkeypatch.chdir(tmp_path / "t")
    assert walk(["."]) == walk(["./"]) == ["a/main.tf", "b.tf"]
    assert walk([str(tmp_path / "t")]) == [str(tmp_path / p) for p in want]


def test_scan_pauses_the_cyclic_garbage_collector_and_restores_it(tree_on_disk, monkeypatch):
    import gc

    import catalog_ops.refs.disk as refs_mod

    root = tree_on_disk(SAMPLE_TREE)
    seen = []
    parse_one = refs_mod.parse_one
    monkeypatch.setattr(refs_mod, "parse_one", lambda *a: (seen.append(gc.isenabled()), parse_one(*a))[1])
    assert gc.isenabled()
    assert scan_tree([root]).references == scan_tree([root]).references
    assert seen and not any(seen)
    assert gc.isenabled()
    gc.disable()
    try:
        scan_tree([root])
        assert not gc.isenabled()  # a caller's setting is left as it was
    finally:
        gc.enable()


def test_a_worker_that_fails_costs_time_never_results(tree_on_disk, monkeypatch):
    """A forked worker that dies (here: raises in every chunk) has its chunks scanned by the
    parent: same references as a serial scan, and progress still reaches the total."""
    import catalog_ops.refs.disk as refs_mod

    files = {f"r{i}/{rel}": data for i in range(40) for rel, data in SAMPLE_TREE.items()}
    root = tree_on_disk(files)
    serial = scan_tree([root])
    parent = os.getpid()
    scan_chunk = refs_mod._scan_chunk

    def failing_in_children(*args):
        if os.getpid() != parent:
            raise RuntimeError("worker dies")
        return scan_chunk(*args)

    monkeypatch.setattr(refs_mod, "_scan_chunk", failing_in_children)
    monkeypatch.setattr(refs_mod, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(refs_mod, "MIN_CHUNK", 16)
    monkeypatch.setattr(refs_mod.os, "cpu_count", lambda: 3)
    forks = []
    fork = os.fork
    monkeypatch.setattr(refs_mod.os, "fork", lambda: (forks.append(1), fork())[1])
    calls = []
    parallel = scan_tree([root], progress=lambda d, t: calls.append((d, t)))
    assert forks == [1, 1]  # two children, both failed
    assert parallel.references == serial.references
    assert parallel.files_scanned == serial.files_scanned == 40 * 11
    assert calls[-1] == (40 * 11, 40 * 11) and len(calls) > 2


def test_read_file_reads_small_and_large_files_whole_and_caps_huge_ones(tmp_path, monkeypatch):
    from catalog_ops.hcl import text as hcl_text
    from catalog_ops.refs.disk import FIRST_READ, read_file

    for size in (0, 1, FIRST_READ - 1, FIRST_READ, FIRST_READ + 1, 3 * FIRST_READ + 5):
        path = tmp_path / f"f{size}.tf"
        data = bytes(i % 251 for i in range(size))
        path.write_bytes(data)
        assert read_file(str(path)) == data
    monkeypatch.setattr(hcl_text, "MAX_FILE_BYTES", 1000)
    assert read_file(str(tmp_path / f"f{3 * FIRST_READ + 5}.tf")) == bytes(i % 251 for i in range(1001))
    assert read_file(str(tmp_path / "missing.tf")) is None
    assert read_file(str(tmp_path)) is None  # a directory


def test_a_scan_that_cannot_fork_scans_everything_itself(tree_on_disk, monkeypatch):
    import catalog_ops.refs.disk as refs_mod

    files = {f"r{i}/{rel}": data for i in range(40) for rel, data in SAMPLE_TREE.items()}
    root = tree_on_disk(files)
    monkeypatch.setattr(refs_mod, "SPLIT_DIRS", 10**9)  # walk first, then the chunks
    serial = scan_tree([root])
    forks = []

    def no_fork():
        forks.append(1)
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(refs_mod, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(refs_mod, "MIN_CHUNK", 16)
    monkeypatch.setattr(refs_mod.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(refs_mod.os, "fork", no_fork)
    parallel = scan_tree([root])
    assert forks == [1]
    assert parallel.references == serial.references
    assert parallel.files_scanned == serial.files_scanned == 40 * 11


def test_a_scan_never_forks_while_other_threads_run(tree_on_disk, monkeypatch):
    """A forked child would get only the calling thread (and any lock another thread holds):
    with a second thread alive (a TTY progress bar), the scan runs in this process."""
    import threading

    import catalog_ops.refs.disk as refs_mod

    files = {f"r{i}/{rel}": data for i in range(40) for rel, data in SAMPLE_TREE.items()}
    root = tree_on_disk(files)
    serial = scan_tree([root])
    monkeypatch.setattr(refs_mod, "PARALLEL_THRESHOLD", 10)
    monkeypatch.setattr(refs_mod.os, "cpu_count", lambda: 2)
    forks = []
    fork = os.fork
    monkeypatch.setattr(refs_mod.os, "fork", lambda: (forks.append(1), fork())[1])
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert scan_tree([root]).references == serial.references
    finally:
        stop.set()
        other.join()
    assert forks == []
    assert scan_tree([root]).references == serial.references
    assert forks == [1]


def _split_world(tree_on_disk):
    """A tree whose first level has 40 directories (a split scan's frontier), with what the
    merge must keep in walk order: names that sort differently as paths than as names
    (``a-b/`` and ``a.b/`` come before ``a/``), files above the frontier,
    includes across directories, override files, ``.tofu`` shadowing and parse errors."""
    files = {f"r{i:02d}/{rel}": data for i in range(36) for rel, data in SAMPLE_TREE.items()}
    files.update(
        {
            "main.tf": MOD,
            "a/x.tf": MOD,
            "a-b/x.tf": MOD,
            "a.b/x.tf": MOD,
            "a/b/x.tf": MOD,
            "a/override.tf": b'module "vpc" {\n  version = "1.0.0"\n}\n',
            "r03/stacks/main.tofu": MOD,
            "r04/broken.tf": b'module "x" {\n  source = "unterminated\n}\n',
        }
    )
    return tree_on_disk(files)


def _serial(monkeypatch, root):
    """``scan_tree([root])`` walked first and scanned in this process (no split, no pool)."""
    import catalog_ops.refs.disk as refs_mod

    with monkeypatch.context() as m:
        m.setattr(refs_mod, "SPLIT_DIRS", 10**9)
        m.setattr(refs_mod, "PARALLEL_THRESHOLD", 10**9)
        return scan_tree([root])


def _same(a, b):
    assert a.references == b.references
    assert [str(e) for e in a.errors] == [str(e) for e in b.errors]
    assert a.files_scanned == b.files_scanned


def test_a_split_scan_walks_in_the_workers_and_gives_the_serial_result(tree_on_disk, monkeypatch):
    """One large directory is walked by the workers too (the parent reads only the first
    level, never ``walk``s); the merged result is the serial scan's, in walk order."""
    import catalog_ops.refs.disk as refs_mod

    root = _split_world(tree_on_disk)
    serial = _serial(monkeypatch, root)
    assert serial.errors and any((r.version_in or "").endswith("/a/override.tf") for r in serial.references)
    monkeypatch.chdir(root)
    serial_here = _serial(monkeypatch, ".")
    monkeypatch.setattr(refs_mod.os, "cpu_count", lambda: 3)
    forks = []
    fork = os.fork
    monkeypatch.setattr(refs_mod.os, "fork", lambda: (forks.append(1), fork())[1])

    def no_walk(*args, **kwargs):
        raise AssertionError("the split scan's parent walks the tree")

    monkeypatch.setattr(refs_mod, "walk", no_walk)
    _same(scan_tree([root]), serial)
    assert forks == [1, 1]
    _same(scan_tree(["."]), serial_here)


def test_a_split_scan_falls_back_to_the_whole_tree_walk_where_it_must(tree_on_disk, monkeypatch):
    """A symlink or an unreadable directory below the frontier, a worker that dies, a fork that
    fails: same result as the serial scan (symlinks and errors follow ``walk``'s rules)."""
    import catalog_ops.refs.disk as refs_mod

    root = _split_world(tree_on_disk)
    monkeypatch.setattr(refs_mod.os, "cpu_count", lambda: 2)
    os.symlink("../r01", root / "r02" / "linked")  # found by a worker: walked after the rest
    _same(scan_tree([root]), _serial(monkeypatch, root))
    os.remove(root / "r02" / "linked")
    scandir = os.scandir

    def unreadable(path="."):
        if os.fspath(path).endswith("r05/live"):
            raise PermissionError(13, "Permission denied")
        return scandir(path)

    with monkeypatch.context() as m:
        m.setattr(refs_mod.os, "scandir", unreadable)
        serial = _serial(monkeypatch, root)
        assert any("r05/live:1:1: cannot read directory" in str(e) for e in serial.errors)
        _same(scan_tree([root]), serial)
    serial = _serial(monkeypatch, root)
    parent = os.getpid()
    take = refs_mod._take_and_scan

    def dying(*args):
        if os.getpid() != parent:
            raise RuntimeError("worker dies")
        return take(*args)

    with monkeypatch.context() as m:
        m.setattr(refs_mod, "_take_and_scan", dying)
        _same(scan_tree([root]), serial)

    def no_fork():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(refs_mod.os, "fork", no_fork)
    _same(scan_tree([root]), serial)


def test_a_split_scan_walks_a_directory_reached_twice_once(tree_on_disk, monkeypatch):
    """A directory reached by two paths without a symlink (a bind mount: same device and
    inode) is walked once by ``walk``, under its first path in walk order; a split scan whose
    workers walk both paths (or a path back to a directory above the frontier) must not list
    its files twice: it gives the serial result."""
    import catalog_ops.refs.disk as refs_mod

    root = _split_world(tree_on_disk)
    for rel in ("r05/twin/x.tf", "shared/x.tf", "r06/up/x.tf"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(MOD)
    stat = os.stat
    # r05/twin is shared/ mounted again; r06/up is the root mounted below itself
    twins = {str(root / "r05" / "twin"): str(root / "shared"), str(root / "r06" / "up"): str(root)}

    def bound(path, *args, **kwargs):
        p = os.path.abspath(os.fspath(path))
        return stat(twins.get(p, p), *args, **kwargs)

    monkeypatch.setattr(refs_mod.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(refs_mod.os, "stat", bound)
    serial = _serial(monkeypatch, root)
    paths = [r.path for r in serial.references]
    assert any(p.endswith("/r05/twin/x.tf") for p in paths)
    assert not any(p.endswith(("/shared/x.tf", "/r06/up/x.tf")) for p in paths)
    _same(scan_tree([root]), serial)


def test_a_directory_whose_listing_fails_midway_lists_nothing(tree_on_disk, monkeypatch):
    """A directory whose listing fails part way (``readdir`` errors such as ``EIO`` after some
    entries) is reported as unreadable and contributes nothing — neither the files nor the
    subdirectories listed before the failure — as when its listing is read whole first."""
    import catalog_ops.refs.disk as refs_mod
    from catalog_ops.refs.disk import walk

    root = tree_on_disk({"flaky/a.tf": MOD, "flaky/b.tf": MOD, "flaky/sub/c.tf": MOD, "ok/d.tf": MOD})
    scandir = os.scandir

    class Flaky:
        def __init__(self, path):
            self.it = scandir(path)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.it.close()

        def __iter__(self):
            yield from sorted(self.it, key=lambda e: e.name)[:2]  # a.tf, b.tf
            raise OSError(5, "Input/output error")

    def flaky(path="."):
        return Flaky(path) if os.fspath(path).endswith("flaky") else scandir(path)

    monkeypatch.setattr(refs_mod.os, "scandir", flaky)
    errors: list = []
    assert walk([root], errors) == [str(root / "ok" / "d.tf")]
    assert [str(e) for e in errors] == [f"{root / 'flaky'}:1:1: cannot read directory: Input/output error"]


def test_a_forked_scan_works_where_sigchld_is_ignored(tree_on_disk, monkeypatch):
    """With ``SIGCHLD`` ignored (inherited from a parent process), the system reaps the forked
    workers itself and ``waitpid`` fails with ``ECHILD``: the scan still gives the serial
    result (split scan and chunked pool), instead of a ``ChildProcessError`` traceback."""
    import signal

    import catalog_ops.refs.disk as refs_mod

    root = _split_world(tree_on_disk)
    serial = _serial(monkeypatch, root)
    monkeypatch.setattr(refs_mod.os, "cpu_count", lambda: 2)
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        _same(scan_tree([root]), serial)  # split scan
        monkeypatch.setattr(refs_mod, "SPLIT_DIRS", 10**9)
        monkeypatch.setattr(refs_mod, "PARALLEL_THRESHOLD", 10)
        _same(scan_tree([root]), serial)  # walk, then chunks in forked workers
    finally:
        signal.signal(signal.SIGCHLD, previous)


def _render(refs):
    """A renderer that keeps every field (``repr`` of the reference), as a pure function."""
    return [repr(r) for r in refs]


def test_a_rendering_scan_renders_the_references_the_scan_would_return(tree_on_disk, monkeypatch):
    """``render``: the texts are those of the references a scan returns, in their order, on
    every path — the split scan renders in its workers, except in directories holding an
    override file's references (merged in the parent); an override that merges into nothing
    comes last, as ``apply_overrides`` places it."""
    import catalog_ops.refs.disk as refs_mod

    extra = b'module "extra" {\n  source = "git::https://github.com/acme/extra.git?ref=v1.0.0"\n}\n'
    root = _split_world(tree_on_disk)
    (root / "a" / "z_override.tf").write_bytes(extra)  # beside a merged override: nothing to merge into
    (root / "r05" / "override.tf").write_bytes(extra)  # below the frontier: a worker's directory
    (root / "r06" / "override.tf").write_bytes(b'module "vpc" {\n  version = "9.9.9"\n}\n')
    serial = _serial(monkeypatch, root)
    assert [os.path.relpath(r.path, root) for r in serial.references[-2:]] == [
        "a/z_override.tf",
        "r05/override.tf",
    ]
    want = _render(serial.references)
    monkeypatch.setattr(refs_mod.os, "cpu_count", lambda: 2)
    forks = []
    fork = os.fork
    monkeypatch.setattr(refs_mod.os, "fork", lambda: (forks.append(1), fork())[1])
    split = scan_tree([root], render=_render)
    assert forks == [1]  # the split scan: this process and one forked worker
    assert (split.rendered, split.references, split.files_scanned) == (want, [], serial.files_scanned)
    assert [str(e) for e in split.errors] == [str(e) for e in serial.errors]
    with monkeypatch.context() as m:  # walk first, then chunks in forked workers (rendered here)
        m.setattr(refs_mod, "SPLIT_DIRS", 10**9)
        m.setattr(refs_mod, "PARALLEL_THRESHOLD", 10)
        assert scan_tree([root], render=_render).rendered == want
    with monkeypatch.context() as m:
        m.setattr(refs_mod, "SPLIT_DIRS", 10**9)
        m.setattr(refs_mod, "PARALLEL_THRESHOLD", 10**9)
        assert scan_tree([root], render=_render).rendered == want
    assert scan_tree([root / "r05"], render=_render).rendered == _render(scan_tree([root / "r05"]).references)
