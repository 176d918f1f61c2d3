"""Reading the catalog's git history for a release: tags, commits, changed paths (through ``gitutil``).

``GitHistory`` wraps a ``git clone --no-checkout`` of the catalog (``forge.clone_url``); every git
command goes through ``catalog_ops.gitutil`` (an argument list, never a shell) with C-locale output
and no credential prompts. Failures become ``ReleaseError`` whose message never contains the
credentials a clone URL may carry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from catalog_ops import gitutil
from catalog_ops.errors import ReleaseError

__all__ = ["CommitInfo", "GitHistory", "filter_commits"]

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


class GitHistory:
    """Read-only view of a clone of the catalog.

    Create with ``GitHistory.clone(url, dest)``. Methods raise ``ReleaseError`` when git fails.
    """

    def __init__(self, path: Path, *, env: Mapping[str, str] | None = None) -> None:
        self.path = path
        self._env = {**_ENV, **(env or {})}
        self._commits: dict[tuple[str | None, str], list[CommitInfo]] = {}

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
        rng = [target] if base is None else [f"{base}..{target}"]
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
