"""Reading the catalog's git history for a release: tags, commits, changed paths (through ``gitutil``).

``GitHistory`` wraps a ``git clone --no-checkout`` of the catalog (``forge.clone_url``); every git
command goes through ``catalog_ops.gitutil`` (an argument list, never a shell) with C-locale output
and no credential prompts. Failures become ``ReleaseError`` whose message never contains the
credentials a clone URL may carry.
"""

from __future__ import annotations

import dataclasses
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from catalog_ops import gitutil
from catalog_ops.catalog.layout import local_module_sources
from catalog_ops.errors import ReleaseError, SourceParseError

__all__ = ["CommitInfo", "GitHistory", "TreeSnapshot", "filter_commits", "tree_diff"]

#: git tree entry modes (git's index-format documentation): regular files, symlinks, directories.
_FILE_MODES = ("100644", "100755")
_LINK_MODE = "120000"
_TREE_MODE = "40000"
#: Terraform files the catalog layout reads (``catalog.layout``).
_TF_SUFFIXES = (".tf", ".tf.json")
#: symlinks followed when resolving one (Linux's MAXSYMLINKS).
_MAX_LINKS = 40
#: object names per ``git cat-file --batch`` process.
_BATCH = 5000

#: extra environment of read-only history commands: C locale output, never a credential prompt.
_ENV = {"LC_ALL": "C", "GIT_ASKPASS": "", "GCM_INTERACTIVE": "never"}


@dataclasses.dataclass(frozen=True)
class CommitInfo:
    """One commit: id, parent ids, full message, files changed against its first parent."""

    sha: str
    parents: tuple[str, ...]
    message: str
    files: tuple[str, ...] = ()

    @property
    def subject(self) -> str:
        """First line of the message."""
        return self.message.split("\n", 1)[0].strip()

    @property
    def is_merge(self) -> bool:
        """More than one parent."""
        return len(self.parents) > 1


def filter_commits(commits: Sequence[CommitInfo], scope: Sequence[str] | None) -> list[CommitInfo]:
    """The commits that touch a path under one of the directories ``scope`` (all when None)."""
    if scope is None:
        return list(commits)
    prefixes = tuple(s.rstrip("/") + "/" for s in scope)
    return [c for c in commits if any(f.startswith(prefixes) for f in c.files)]


def _text(data: bytes) -> str:
    """git output as text the way ``subprocess`` text mode reads it (universal newlines)."""
    return data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n")


class _Objects:
    """Objects read from a clone in batches (``gitutil.read_objects``), cached by object id."""

    def __init__(self, git_dir: Path, env: Mapping[str, str]) -> None:
        self.git_dir = git_dir
        self.env = env
        self.trees: dict[str, list[tuple[str, str, str]]] = {}  # tree id -> (mode, name, id)
        self.maps: dict[str, dict[str, tuple[str, str]]] = {}  # tree id -> name -> (mode, id)
        self.tf: dict[str, list[tuple[str, str, str]]] = {}  # tree id -> Terraform entries below
        self.blobs: dict[str, bytes] = {}
        self.sources: dict[tuple[str, bool], list[tuple[str, str, int, int]] | SourceParseError] = {}

    def read(self, names: Sequence[str]) -> list[tuple[str, str, bytes] | None]:
        out: list[tuple[str, str, bytes] | None] = []
        for i in range(0, len(names), _BATCH):
            try:
                out.extend(gitutil.read_objects(self.git_dir, names[i : i + _BATCH], env=self.env))
            except gitutil.GitError as exc:
                raise ReleaseError(f"git cat-file failed: {gitutil.redact(exc.stderr.strip())}") from None
        return out

    def load_trees(self, names: Sequence[str]) -> list[str | None]:
        """Read the trees ``names`` resolve to (``<commit>^{tree}``) and every tree below them,
        one batch per depth level; returns the root tree id of each name (None: unresolved)."""
        roots: list[str | None] = []
        todo: list[str] = []
        for got in self.read(names):
            if got is None or got[1] != "tree":
                roots.append(None)
                continue
            roots.append(got[0])
            if got[0] not in self.trees:
                self.trees[got[0]] = _parse_tree(got[2], len(got[0]) // 2)
                todo.append(got[0])
        while todo:
            wanted = sorted(
                {oid for t in todo for mode, _name, oid in self.trees[t] if mode == _TREE_MODE}
                - set(self.trees)
            )
            todo = []
            for oid, got in zip(wanted, self.read(wanted), strict=True):
                if got is None or got[1] != "tree":
                    raise ReleaseError(f"git tree {oid} is missing from the clone")
                self.trees[oid] = _parse_tree(got[2], len(oid) // 2)
                todo.append(oid)
        return roots

    def tree_map(self, tree: str) -> dict[str, tuple[str, str]]:
        """``name -> (mode, id)`` of a loaded tree."""
        found = self.maps.get(tree)
        if found is None:
            found = self.maps[tree] = {name: (mode, oid) for mode, name, oid in self.trees[tree]}
        return found

    def tf_entries(self, tree: str) -> list[tuple[str, str, str]]:
        """``(path, mode, id)`` of every entry named ``*.tf``/``*.tf.json`` below a loaded tree
        (blobs and symlinks; paths relative to it), memoised per tree: a subtree shared by many
        commits is walked once, and no commit's whole file list is kept."""
        found = self.tf.get(tree)
        if found is None:
            found = []
            for mode, name, oid in self.trees[tree]:
                if mode == _TREE_MODE:
                    found.extend((f"{name}/{path}", m, o) for path, m, o in self.tf_entries(oid))
                elif name.endswith(_TF_SUFFIXES):
                    found.append((name, mode, oid))
            self.tf[tree] = found
        return found

    def load_blobs(self, oids: Iterable[str]) -> None:
        wanted = sorted(set(oids) - set(self.blobs))
        for oid, got in zip(wanted, self.read(wanted), strict=True):
            self.blobs[oid] = got[2] if got is not None else b""


def _parse_tree(data: bytes, width: int) -> list[tuple[str, str, str]]:
    """git's binary tree entries (``<mode> <name>`` NUL ``<raw id>``) as ``(mode, name, hex id)``;
    ``width``: bytes of a raw id (20 for SHA-1, 32 for SHA-256 repositories)."""
    out: list[tuple[str, str, str]] = []
    pos = 0
    size = len(data)
    while pos < size:
        space = data.index(b" ", pos)
        nul = data.index(b"\0", space)
        mode = data[pos:space].decode("ascii")
        name = data[space + 1 : nul].decode("utf-8", errors="surrogateescape")
        oid = data[nul + 1 : nul + 1 + width].hex()
        out.append((mode, name, oid))
        pos = nul + 1 + width
    return out


class TreeSnapshot:
    """A commit's tree read from git objects, without a work tree (``GitHistory.snapshots``).

    ``root``: the tree id. Implements ``catalog.layout.LayoutTree`` with the answers a checkout
    of the commit would give: Terraform files are read from the clone's objects (each blob parsed
    once per run, shared by every snapshot of the same ``GitHistory``); a symlinked ``.tf`` file
    inside the tree is followed, a symlinked directory is not (its files are not in the tree).
    Only the Terraform entries are kept per snapshot (``entries`` walks the tree on demand).
    """

    def __init__(self, root: str, objects: _Objects) -> None:
        self.root = root
        self._objects = objects
        self._by_dir: dict[str, list[str]] = {}
        self._ids: dict[str, str] = {}  # Terraform file -> the blob a checkout reads there
        for path, mode, oid in sorted(objects.tf_entries(root)):
            found = oid if mode in _FILE_MODES else self._file_id(path) if mode == _LINK_MODE else None
            if found is not None:
                self._ids[path] = found
                self._by_dir.setdefault(posixpath.dirname(path) or ".", []).append(path)

    @property
    def entries(self) -> dict[str, tuple[str, str]]:
        """``path -> (mode, id)`` of every non-tree entry (blobs, symlinks, submodule links)."""
        out: dict[str, tuple[str, str]] = {}
        todo = [("", self.root)]
        while todo:
            prefix, tree = todo.pop()
            for name, (mode, oid) in self._objects.tree_map(tree).items():
                if mode == _TREE_MODE:
                    todo.append((f"{prefix}{name}/", oid))
                else:
                    out[prefix + name] = (mode, oid)
        return out

    def _entry(self, path: str) -> tuple[str, str] | None:
        """``(mode, id)`` at ``path`` (a walk from the root through tree entries), or None."""
        tree = self.root
        parts = path.split("/")
        for i, part in enumerate(parts):
            entry = self._objects.tree_map(tree).get(part)
            if entry is None or i == len(parts) - 1:
                return entry
            if entry[0] != _TREE_MODE:
                return None
            tree = entry[1]
        return None

    def _file_id(self, path: str) -> str | None:
        """The blob id a checkout would read at ``path`` (symlinks inside the tree followed), or
        None when that is not a regular file of the tree."""
        for _ in range(_MAX_LINKS):
            entry = self._entry(path)
            if entry is None:
                return None
            mode, oid = entry
            if mode in _FILE_MODES:
                return oid
            if mode != _LINK_MODE:
                return None
            self._objects.load_blobs([oid])
            target = self._objects.blobs[oid].decode("utf-8", errors="surrogateescape")
            if target.startswith("/"):
                return None
            path = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
            if path.startswith("../") or path == "..":
                return None
        return None

    def tf_blobs(self) -> list[str]:
        """Blob ids of every Terraform file of the tree (to read them in one batch)."""
        return list(self._ids.values())

    def tf_dirs(self) -> Iterable[str]:
        """Directories directly holding a Terraform file (``"."``: the root)."""
        return list(self._by_dir)

    def tf_files(self, directory: str) -> list[str]:
        """Terraform files directly in ``directory``, sorted (root-relative paths)."""
        return list(self._by_dir.get(directory.strip("/") or ".", ()))

    def module_sources(self, path: str) -> list[tuple[str, str, int, int]]:
        """``catalog.layout.local_module_sources`` of ``path`` (cached by blob id), for what
        ``catalog.layout`` reads: the local-path sources. A file without a string that starts
        with ``./`` or ``../`` (``_may_use_local_paths``) holds none and is ``[]`` without being
        parsed (its other sources and any syntax error are then not reported). Raises
        SourceParseError (naming ``path``)."""
        oid = self._ids.get(path)
        if oid is None:
            return []
        key = (oid, path.endswith(".tf.json"))
        cached = self._objects.sources.get(key)
        if cached is None:
            self._objects.load_blobs([oid])
            text = self._objects.blobs[oid].decode("utf-8", errors="replace")
            text = text.replace("\r\n", "\n").replace("\r", "\n")  # as read_text() reads it
            try:
                cached = local_module_sources(path, text) if _may_use_local_paths(text) else []
            except SourceParseError as exc:
                cached = exc
            self._objects.sources[key] = cached
        if isinstance(cached, SourceParseError):
            raise SourceParseError(path, cached.line, cached.col, cached.message)
        return cached


#: the start of a string literal holding a local path (Terraform: "A local path must begin with
#: either ./ or ../"; ``catalog.layout`` also takes ``.\\`` and ``..\\``), in HCL or JSON syntax.
_LOCAL_PATH_STRING = re.compile(r'"\.\.?(?:/|\\\\)')


def _may_use_local_paths(text: str) -> bool:
    """Whether ``text`` may hold a ``module`` block with a local-path ``source`` (a cheap test
    before parsing: most files of a catalog hold none)."""
    return "module" in text and _LOCAL_PATH_STRING.search(text) is not None


def tree_diff(old: TreeSnapshot | None, new: TreeSnapshot) -> list[str]:
    """Paths that differ between two snapshots of the same ``GitHistory``, sorted: what ``git
    diff --name-only --no-renames old new`` lists (added, deleted, changed content or mode);
    every path of ``new`` when ``old`` is None (``git ls-tree -r``). Subtrees with the same id
    on both sides are skipped without being walked."""
    out: set[str] = set()
    objects = new._objects

    def walk(a: str | None, b: str | None, prefix: str) -> None:
        ea = objects.tree_map(a) if a else {}
        eb = objects.tree_map(b) if b else {}
        for name in ea.keys() | eb.keys():
            x, y = ea.get(name), eb.get(name)
            if x == y:
                continue
            x_tree = x is not None and x[0] == _TREE_MODE
            y_tree = y is not None and y[0] == _TREE_MODE
            if x_tree or y_tree:
                walk(x[1] if x and x_tree else None, y[1] if y and y_tree else None, f"{prefix}{name}/")
            if (x is not None and not x_tree) or (y is not None and not y_tree):
                out.add(prefix + name)

    walk(old.root if old is not None else None, new.root, "")
    return sorted(out)


class GitHistory:
    """Read-only view of a clone of the catalog.

    Create with ``GitHistory.clone(url, dest)``. Methods raise ``ReleaseError`` when git fails.
    """

    def __init__(self, path: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.path = path
        self._env = {**_ENV, **(env or {})}
        self._commits: dict[tuple[str | None, str], list[CommitInfo]] = {}
        self._objects: _Objects | None = None

    @property
    def git_dir(self) -> Path:
        """The clone's ``.git`` directory."""
        return gitutil.resolve_git_dir(self.path)

    @classmethod
    def clone(cls, url: str, dest: Path, *, env: Mapping[str, str] | None = None) -> GitHistory:
        """``git clone --no-checkout url dest`` (all branches and tags).

        Args:
            url: the remote, without credentials (``forge.clone_url``).
            env: extra environment for every git command on this clone, e.g. the forge's
                ``git_auth_env(url)``; it is kept in memory only, so the clone's ``.git/config``
                never holds a credential.

        Raises ReleaseError when git fails (git's stderr with URL credentials redacted).
        """
        history = cls(dest, env=env)
        try:
            gitutil.clone(url, dest, env=history._env)
        except gitutil.GitError as exc:
            raise ReleaseError(f"git clone failed: {gitutil.redact(exc.stderr.strip())}") from None
        return history

    def run(self, *args: str, check: bool = True) -> str:
        """stdout of ``git <args>`` in the clone; raises ReleaseError on failure when ``check``
        ("" when the command fails and ``check`` is False)."""
        proc = gitutil.run_git(
            ["-c", "core.quotePath=false", *args], cwd=self.path, env=self._env, check=False
        )
        if check and proc.returncode != 0:
            raise ReleaseError(f"git {args[0]} failed: {gitutil.redact(_text(proc.stderr).strip())}")
        return _text(proc.stdout) if proc.returncode == 0 else ""

    def fetch(self, sha: str) -> None:
        """Fetch one commit from ``origin`` (a head newer than the clone); failures are ignored."""
        self.run("fetch", "--quiet", "origin", sha, check=False)

    def resolve(self, ref: str) -> str | None:
        """Commit id for ``ref`` (sha, short sha, tag, branch, or a branch of ``origin``), or None."""
        if ref.startswith("-"):
            return None
        for candidate in (ref, f"origin/{ref}"):
            sha = gitutil.rev_parse(self.git_dir, candidate)
            if sha:
                return sha
        return None

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """``git merge-base --is-ancestor``: ``ancestor`` is reachable from ``descendant``."""
        return gitutil.is_ancestor(self.git_dir, ancestor, descendant)

    def tags_merged_into(self, sha: str) -> list[tuple[str, str]]:
        """``(tag name, peeled commit id)`` of tags reachable from ``sha``."""
        out = self.run(
            "for-each-ref",
            f"--merged={sha}",
            "--format=%(refname:strip=2)%00%(objectname)%00%(*objectname)",
            "refs/tags",
        )
        tags = []
        for line in out.splitlines():
            name, obj, peeled = [*line.split("\0"), "", ""][:3]
            tags.append((name, peeled or obj))
        return tags

    def commits(self, base: str | None, target: str) -> list[CommitInfo]:
        """Commits reachable from ``target`` but not ``base``, children before parents (cached)."""
        if (base, target) not in self._commits:
            self._commits[base, target] = self._read_commits(base, target)
        return self._commits[base, target]

    def _read_commits(self, base: str | None, target: str) -> list[CommitInfo]:
        return self._read_commits_of([target] if base is None else [f"{base}..{target}"])

    def _read_commits_of(self, rng: Sequence[str]) -> list[CommitInfo]:
        raw = self.run("log", "--topo-order", "--format=%H%x1f%P%x1f%B%x1e", *rng, "--")
        files_raw = self.run(
            "log",
            "--topo-order",
            "--format=%x1e%H",
            "--name-only",
            "--no-renames",
            "--diff-merges=first-parent",
            *rng,
            "--",
        )
        files: dict[str, tuple[str, ...]] = {}
        for chunk in files_raw.split("\x1e"):
            lines = [x for x in chunk.split("\n") if x.strip()]
            if lines:
                files[lines[0].strip()] = tuple(lines[1:])
        result = []
        for record in raw.split("\x1e"):
            record = record.lstrip("\n")
            if not record.strip():
                continue
            sha, parents, message = [*record.split("\x1f"), "", ""][:3]
            result.append(
                CommitInfo(
                    sha=sha,
                    parents=tuple(parents.split()),
                    message=message.strip("\n"),
                    files=files.get(sha, ()),
                )
            )
        return result

    def snapshots(self, shas: Sequence[str]) -> dict[str, TreeSnapshot]:
        """``TreeSnapshot`` of each commit in ``shas`` (commit id -> snapshot), read from the
        clone's objects in a few ``git cat-file --batch`` runs (one per tree depth), whatever
        the number of commits; subtrees shared by commits are read and walked once.

        Raises ReleaseError when git fails or a commit does not resolve.
        """
        if self._objects is None:
            self._objects = _Objects(self.git_dir, self._env)
        objects = self._objects
        wanted = list(dict.fromkeys(shas))
        roots = objects.load_trees([f"{sha}^{{tree}}" for sha in wanted])
        out: dict[str, TreeSnapshot] = {}
        for sha, root in zip(wanted, roots, strict=True):
            if root is None:
                raise ReleaseError(f"git commit {sha} is missing from the clone")
            out[sha] = TreeSnapshot(root, objects)
        return out

    def preload_blobs(self, snapshots: Iterable[TreeSnapshot]) -> None:
        """Read the Terraform files of ``snapshots`` in one batch (instead of one by one)."""
        if self._objects is not None:
            self._objects.load_blobs(oid for snap in snapshots for oid in snap.tf_blobs())

    def commit_index(self, targets: Sequence[str]) -> dict[str, CommitInfo]:
        """Every commit reachable from ``targets``, by id: the same ``CommitInfo`` as
        ``commits()`` reads (two ``git log`` runs in all)."""
        tips = list(dict.fromkeys(targets))
        if not tips:
            return {}
        return {c.sha: c for c in self._read_commits_of(tips)}

    def range_order(self, base: str | None, target: str, index: Mapping[str, CommitInfo]) -> list[CommitInfo]:
        """``commits(base, target)`` answered from ``index`` (``commit_index``): when the
        first-parent walk from ``target`` meets ``base`` (or a root commit when ``base`` is
        None) through commits with one parent each, the range is exactly that walk, in the order
        ``git log --topo-order`` gives; otherwise (merges, ``base`` not an ancestor) one
        ``git rev-list --topo-order`` orders the range.
        """
        walk: list[CommitInfo] = []
        cur: str | None = target
        while cur is not None and cur != base:
            info = index.get(cur)
            if info is None or len(info.parents) > 1 or (not info.parents and base is not None):
                break
            walk.append(info)
            cur = info.parents[0] if info.parents else None
        else:
            return walk
        rng = [target] if base is None else [f"{base}..{target}"]
        order = self.run("rev-list", "--topo-order", *rng, "--").split()
        missing = [sha for sha in order if sha not in index]
        if missing:
            return self.commits(base, target)
        return [index[sha] for sha in order]

    def tag_message(self, name: str) -> str:
        """Message of annotated tag ``name`` ("" for lightweight or unknown tags)."""
        out = self.run(
            "for-each-ref", "--format=%(objecttype)%00%(contents)", f"refs/tags/{name}", check=False
        )
        kind, _, contents = out.partition("\0")
        return contents if kind == "tag" else ""

    def first_parent_chain(self, target: str) -> set[str]:
        """Ids of the commits on the first-parent chain of ``target`` (``rev-list --first-parent``)."""
        return set(self.run("rev-list", "--first-parent", target).split())

    def rev_list(self, exclude: str, include: str) -> list[str]:
        """Commit ids reachable from ``include`` but not from ``exclude`` (newest first)."""
        return self.run("rev-list", f"{exclude}..{include}").split()

    def changed_files(self, base: str | None, target: str) -> list[str]:
        """Paths that differ between ``base`` and ``target`` (every path at ``target`` when
        ``base`` is None). Deleted and renamed-away paths are included."""
        try:
            if base is None:
                return gitutil.list_tree(self.git_dir, target, env=self._env)
            return gitutil.changed_paths(self.git_dir, base, target, since_merge_base=False, env=self._env)
        except gitutil.GitError as exc:
            raise ReleaseError(f"git diff failed: {gitutil.redact(exc.stderr.strip())}") from None

    def checkout(self, sha: str) -> None:
        """Check out ``sha`` (detached) in the clone's work tree."""
        self.run("-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", "--detach", sha)
