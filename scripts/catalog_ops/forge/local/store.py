"""The local forge's store: bare git repositories plus one JSON record per repository.

Layout (see ``docs/forge.md``)::

    ROOT/<owner>/<repo>/             a git repository (bare; a work tree with .git also works)
    ROOT/<owner>/<repo>.forge.json   the forge record: repo settings, pull requests, issues,
                                     comments, releases (schema below, ``RECORD_SCHEMA``)

Branches and tags are real git refs, so ``git -C ROOT/acme/app log my-branch`` shows what a PR
contains, and the record is plain, indented JSON. Every git command goes through
``catalog_ops.gitutil``.

Concurrency: every read-modify-write of a record holds ``flock`` on the repository directory,
so several threads or processes can drive one root.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import fcntl
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from catalog_ops import gitutil
from catalog_ops.errors import ConfigError, ForgeError, NotFound, UsageError

RECORD_SCHEMA = 1
RECORD_SUFFIX = ".forge.json"
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
"""Owner and repository names the local forge accepts (one path segment, no ``..``)."""


def now() -> str:
    """The current UTC time as ISO 8601 with a ``Z`` suffix, second precision (record timestamps)."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def split_repo(repo: str) -> tuple[str, str]:
    """``"owner/name"`` -> ``("owner", "name")``. Raises UsageError for anything else."""
    owner, sep, name = repo.partition("/")
    if (
        not sep
        or not NAME_RE.match(owner)
        or not NAME_RE.match(name)
        or name in (".", "..")
        or owner in (".", "..")
    ):
        raise UsageError(f"repository must be 'owner/name', not {repo!r}")
    return owner, name


def take_number(data: dict[str, Any], counter: str = "next_number") -> int:
    """Next number from the record's ``counter`` (``next_number``: PRs and issues share one
    sequence, as on GitHub; ``next_comment_id``: comments), advancing it."""
    number = int(data[counter])
    data[counter] = number + 1
    return number


def empty_record(full_name: str, default_branch: str) -> dict[str, Any]:
    """A new repository record (``RECORD_SCHEMA``): settings, no PRs, issues, comments or releases."""
    return {
        "schema": RECORD_SCHEMA,
        "repo": {
            "full_name": full_name,
            "default_branch": default_branch,
            "topics": [],
            "archived": False,
            "fork": False,
            "disabled": False,
            "allow_auto_merge": True,
            "description": "",
        },
        "next_number": 1,
        "next_comment_id": 1,
        "pulls": [],
        "issues": [],
        "comments": [],
        "releases": [],
    }


class LocalStore:
    """Paths, records, locks and operation counts of a local forge rooted at ``root``.

    Args:
        root: directory holding ``<owner>/<repo>`` repositories.
        create: make ``root`` when it is missing (True: library use, ``forge init-repo``); False
            (every other command, through ``LocalForge.from_settings``): a missing root is a
            mistyped ``--local-root``/``CATALOG_OPS_LOCAL_ROOT``, not an empty forge.

    Raises:
        ConfigError: ``create`` is False and ``root`` is not a directory (the message names it).
    """

    def __init__(self, root: Path, *, create: bool = True) -> None:
        self.root = Path(root).expanduser().resolve()
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise ConfigError(
                f"local forge root {self.root} does not exist (--local-root / CATALOG_OPS_LOCAL_ROOT); "
                "`catalog-ops forge init-repo OWNER/REPO` creates it"
            )
        self._counts: collections.Counter[str] = collections.Counter()
        self._counts_lock = threading.Lock()

    # --- paths, records, locking ---------------------------------------------------------
    def repo_path(self, repo: str) -> Path:
        """Directory of the repository (it may not exist)."""
        owner, name = split_repo(repo)
        return self.root / owner / name

    def record_path(self, repo: str) -> Path:
        """Path of the repository's JSON record (``ROOT/<owner>/<repo>.forge.json``)."""
        owner, name = split_repo(repo)
        return self.root / owner / f"{name}{RECORD_SUFFIX}"

    def _git_dir(self, repo: str) -> Path:
        path = self.repo_path(repo)
        if not gitutil.is_git_dir(path):
            raise NotFound(f"repository {repo} not found (no git repository at {path})")
        return gitutil.resolve_git_dir(path)

    def _count(self, kind: str, *, write: bool = False) -> None:
        with self._counts_lock:
            self._counts[kind] += 1
            self._counts["operations"] += 1
            if write:
                self._counts["writes"] += 1

    @contextlib.contextmanager
    def _lock(self, repo: str, *, shared: bool = False) -> Iterator[None]:
        path = self.repo_path(repo)
        fd = os.open(path, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _load(self, repo: str) -> dict[str, Any]:
        path = self.record_path(repo)
        if path.exists():
            try:
                data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                raise ForgeError(
                    f"{path}:{exc.lineno}:{exc.colno}: invalid forge record: {exc.msg}"
                ) from None
            # Fill keys missing from older records; HEAD (a git call) only when the branch is one.
            stored = data.get("repo", {})
            base = empty_record(repo, "" if "default_branch" in stored else self._head_branch(repo))
            for key, value in base.items():
                data.setdefault(key, value)
            for key, value in base["repo"].items():
                data["repo"].setdefault(key, value)
            return data
        return empty_record(repo, self._head_branch(repo))

    def _save(self, repo: str, data: dict[str, Any]) -> None:
        path = self.record_path(repo)
        tmp = path.with_name(path.name + f".tmp{os.getpid()}.{threading.get_ident()}")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @contextlib.contextmanager
    def _edit(self, repo: str) -> Iterator[dict[str, Any]]:
        self._git_dir(repo)
        with self._lock(repo):
            data = self._load(repo)
            yield data
            self._save(repo, data)

    def load_record(self, repo: str) -> dict[str, Any]:
        """The repository's record as a dict (the documented JSON), read under a shared lock."""
        self._git_dir(repo)
        with self._lock(repo, shared=True):
            return self._load(repo)

    def _head_branch(self, repo: str) -> str:
        gd = gitutil.resolve_git_dir(self.repo_path(repo))
        proc = gitutil.run_git(["symbolic-ref", "--short", "HEAD"], git_dir=gd, check=False)
        return proc.stdout.decode().strip() or "main"

    def all_repos(self) -> list[str]:
        """Every ``owner/name`` under the root, sorted."""
        out: list[str] = []
        for owner_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for repo_dir in sorted(p for p in owner_dir.iterdir() if p.is_dir()):
                if gitutil.is_git_dir(repo_dir):
                    out.append(f"{owner_dir.name}/{repo_dir.name}")
        return out

    def _url(self, repo: str, kind: str, number: int, anchor: str = "") -> str:
        return f"{self.record_path(repo).as_uri()}#{kind}/{number}{anchor}"

    @staticmethod
    def _find_item(data: Mapping[str, Any], number: int, repo: str) -> dict[str, Any]:
        for rec in [*data["pulls"], *data["issues"]]:
            if rec["number"] == number:
                return rec
        raise NotFound(f"issue or pull request #{number} not found in {repo}")

    @staticmethod
    def _add_unique(target: list[str], values: Sequence[str]) -> None:
        for v in values:
            if v not in target:
                target.append(v)

    def _new_comment(self, repo: str, data: dict[str, Any], number: int, body: str) -> dict[str, Any]:
        cid = take_number(data, "next_comment_id")
        rec = {"id": cid, "issue_number": number, "body": body, "created_at": now(), "updated_at": now()}
        data["comments"].append(rec)
        return rec

    def identity(self) -> str | None:
        """See ``forge.base.Identity``: None, the local forge records no authors (whoever can
        write its directory is trusted: docs/security.md)."""
        return None

    def request_counts(self) -> Mapping[str, int]:
        """Operations performed, by method name, plus ``operations`` and ``writes`` totals."""
        with self._counts_lock:
            return dict(self._counts)
