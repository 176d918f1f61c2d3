"""LocalForge: the embedded default forge — bare git repositories plus one JSON record per repo.

Layout (see ``docs/forge.md``)::

    ROOT/<owner>/<repo>/             a git repository (bare; a work tree with .git also works)
    ROOT/<owner>/<repo>.forge.json   the forge record: repo settings, pull requests, issues,
                                     comments, releases (schema below, ``RECORD_SCHEMA``)

Branches and tags are real git refs, so ``git -C ROOT/acme/app log my-branch`` shows what a PR
contains, and the record is plain, indented JSON. Commits are built with git plumbing on a
private index (no work tree, no push).

Checks of a PR are a local command run on an export of the PR head (``git archive``):
``checks_command`` (a shell command; environment below) or, when None, the built-in default
``<tf> fmt -check`` then ``<tf> init -backend=false`` and ``<tf> validate`` in every changed
directory containing ``*.tf`` files. Results are cached per head commit in the record.

Auto-merge: ``enable_auto_merge`` records the request and immediately evaluates the checks;
if they pass the PR is merged with the requested method. ``checks_state`` and
``process_auto_merges()`` do the same for PRs whose head moved later.

Concurrency: every read-modify-write of a record holds ``flock`` on the repository directory,
so several threads or processes can drive one root.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import fcntl
import io
import json
import os
import re
import subprocess
import tarfile
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from catalog_ops import gitutil
from catalog_ops.errors import AutoMergeUnavailable, Conflict, ForgeError, NotFound, UsageError
from catalog_ops.forge.base import (
    ChecksState,
    Comment,
    FileChange,
    Issue,
    PullRequest,
    PullState,
    Release,
    Repo,
    RepoListing,
    Tag,
    check_marker,
    check_merge_method,
    filter_repos,
    read_codeowners,
)
from catalog_ops.settings import Settings

RECORD_SCHEMA = 1
RECORD_SUFFIX = ".forge.json"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_OUTPUT_TAIL = 8000


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _split(repo: str) -> tuple[str, str]:
    owner, sep, name = repo.partition("/")
    if (
        not sep
        or not _NAME_RE.match(owner)
        or not _NAME_RE.match(name)
        or name in (".", "..")
        or owner in (".", "..")
    ):
        raise UsageError(f"repository must be 'owner/name', not {repo!r}")
    return owner, name


def _empty_record(full_name: str, default_branch: str) -> dict[str, Any]:
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


class LocalForge:
    """A forge made of local git repositories (``ROOT/<owner>/<repo>``) and JSON records.

    Args:
        root: directory holding ``<owner>/<repo>`` repositories (created when missing).
        checks_command: shell command run as a PR's checks in an export of the PR head; None
            selects the built-in Terraform default (fmt -check, init -backend=false, validate on
            changed directories). Environment given to it: ``CATALOG_OPS_REPO``,
            ``CATALOG_OPS_PR_NUMBER``, ``CATALOG_OPS_BASE_REF``, ``CATALOG_OPS_HEAD_SHA``,
            ``CATALOG_OPS_CHANGED_FILES`` and ``CATALOG_OPS_CHANGED_DIRS`` (newline-separated).
            Exit status 0 means success.
        tf_binary: ``terraform`` or ``tofu`` for the default checks.
        checks_timeout: seconds before a checks run counts as failed.
    """

    kind = "local"

    def __init__(
        self,
        root: Path,
        checks_command: str | None = None,
        *,
        tf_binary: str = "terraform",
        checks_timeout: float = 900.0,
    ) -> None:
        self.root = Path(root).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.checks_command = checks_command or None
        self.tf_binary = tf_binary
        self.checks_timeout = checks_timeout
        self._counts: collections.Counter[str] = collections.Counter()
        self._counts_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalForge:
        """Forge at ``settings.local_root`` with ``settings.local_checks`` (empty: default checks)."""
        return cls(settings.local_root, settings.local_checks or None, tf_binary=settings.tf_binary)

    # --- paths, records, locking ---------------------------------------------------------
    def repo_path(self, repo: str) -> Path:
        """Directory of the repository (it may not exist)."""
        owner, name = _split(repo)
        return self.root / owner / name

    def record_path(self, repo: str) -> Path:
        """Path of the repository's JSON record (``ROOT/<owner>/<repo>.forge.json``)."""
        owner, name = _split(repo)
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
            base = _empty_record(repo, "" if "default_branch" in stored else self._head_branch(repo))
            for key, value in base.items():
                data.setdefault(key, value)
            for key, value in base["repo"].items():
                data["repo"].setdefault(key, value)
            return data
        return _empty_record(repo, self._head_branch(repo))

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

    # --- administration (local only) -------------------------------------------------------
    def create_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        topics: Sequence[str] = (),
        archived: bool = False,
        fork: bool = False,
        disabled: bool = False,
        allow_auto_merge: bool = True,
        description: str = "",
        source_dir: Path | None = None,
        files: Mapping[str, bytes | str] | None = None,
    ) -> Repo:
        """Create a bare repository and its record.

        Args:
            full_name: ``owner/name``.
            source_dir: a git work tree (all its branches and tags are imported) or a plain
                directory (its files, minus ``.git``/``.terraform``/``.gitignore``d paths, become
                the first commit on ``default_branch``).
            files: ``{path: bytes}`` committed as the first commit (or on top of source_dir).
            Without either, the repository has no commits yet (``commit_files`` with
            ``parent_sha=""`` creates the root commit).

        Raises:
            Conflict: the repository exists already. UsageError: bad name.
        """
        path = self.repo_path(full_name)
        if path.exists() and any(path.iterdir()):
            raise Conflict(f"repository {full_name} already exists at {path}")
        gitutil.init_bare(path, default_branch=default_branch)
        gd = path
        if source_dir is not None:
            src = Path(source_dir)
            if not src.is_dir():
                raise NotFound(f"source directory {src} does not exist")
            if gitutil.is_git_dir(src) and (src / ".git").exists():
                gitutil.run_git(
                    [
                        "fetch",
                        "-q",
                        str(src.resolve()),
                        "+refs/heads/*:refs/heads/*",
                        "+refs/tags/*:refs/tags/*",
                    ],
                    git_dir=gd,
                )
                if gitutil.rev_parse(gd, f"refs/heads/{default_branch}") is None:
                    cur = gitutil.git_out(["symbolic-ref", "--short", "HEAD"], cwd=src)
                    sha = gitutil.rev_parse(gd, f"refs/heads/{cur}")
                    if sha:
                        gitutil.update_ref(gd, f"refs/heads/{default_branch}", sha)
            else:
                index = Path(tempfile.mkstemp(prefix="catalog-ops-index-")[1])
                index.unlink()
                env = {"GIT_INDEX_FILE": str(index)}
                try:
                    gitutil.run_git(
                        [
                            f"--work-tree={src.resolve()}",
                            "add",
                            "-A",
                            "--",
                            ".",
                            ":!.terraform",
                            ":!**/.terraform",
                        ],
                        git_dir=gd,
                        env=env,
                    )
                    tree = gitutil.git_out(["write-tree"], git_dir=gd, env=env)
                    sha = gitutil.git_out(["commit-tree", tree, "-m", "Initial import"], git_dir=gd)
                    gitutil.update_ref(gd, f"refs/heads/{default_branch}", sha)
                finally:
                    index.unlink(missing_ok=True)
        record = _empty_record(full_name, default_branch)
        record["repo"].update(
            topics=sorted(set(topics)),
            archived=archived,
            fork=fork,
            disabled=disabled,
            allow_auto_merge=allow_auto_merge,
            description=description,
        )
        with self._lock(full_name):
            self._save(full_name, record)
        if files:
            parent = self.branch_sha(full_name, default_branch) or ""
            self.commit_files(
                full_name,
                default_branch,
                parent_sha=parent,
                message="Initial commit" if not parent else "Add files",
                changes=[FileChange(p, c.encode() if isinstance(c, str) else c) for p, c in files.items()],
            )
        return self.get_repo(full_name)

    def set_repo_settings(self, repo: str, **settings: Any) -> None:
        """Change repository record settings (``topics``, ``archived``, ``fork``, ``disabled``,
        ``allow_auto_merge``, ``default_branch``, ``description``). Raises UsageError on others."""
        allowed = {
            "topics",
            "archived",
            "fork",
            "disabled",
            "allow_auto_merge",
            "default_branch",
            "description",
        }
        bad = set(settings) - allowed
        if bad:
            raise UsageError(f"unknown repository setting(s): {', '.join(sorted(bad))}")
        with self._edit(repo) as data:
            if "topics" in settings:
                settings["topics"] = sorted(set(settings["topics"]))
            data["repo"].update(settings)
        if "default_branch" in settings:
            gitutil.run_git(
                ["symbolic-ref", "HEAD", f"refs/heads/{settings['default_branch']}"],
                git_dir=self._git_dir(repo),
            )

    def all_repos(self) -> list[str]:
        """Every ``owner/name`` under the root, sorted."""
        out: list[str] = []
        for owner_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            for repo_dir in sorted(p for p in owner_dir.iterdir() if p.is_dir()):
                if gitutil.is_git_dir(repo_dir):
                    out.append(f"{owner_dir.name}/{repo_dir.name}")
        return out

    # --- repositories and content -----------------------------------------------------------
    def _repo_from(self, repo: str, data: Mapping[str, Any]) -> Repo:
        meta = data["repo"]
        path = self.repo_path(repo)
        return Repo(
            full_name=repo,
            default_branch=meta["default_branch"],
            clone_url=path.as_uri(),
            html_url=path.as_uri(),
            archived=bool(meta["archived"]),
            fork=bool(meta["fork"]),
            disabled=bool(meta["disabled"]),
            topics=tuple(meta["topics"]),
        )

    def get_repo(self, repo: str) -> Repo:
        """The repository (NotFound when there is no git repository at its path)."""
        self._count("get_repo")
        return self._repo_from(repo, self.load_record(repo))

    def list_repos(
        self,
        owner: str,
        *,
        include: Sequence[str] = (),
        exclude: Sequence[str] = (),
        topics: Sequence[str] = (),
        skip_archived: bool = True,
        skip_forks: bool = True,
    ) -> RepoListing:
        """Repositories under ``ROOT/<owner>``, filtered like ``Forge.list_repos``.

        Raises NotFound when ``ROOT/<owner>`` is not a directory (or not a valid owner name).
        """
        self._count("list_repos")
        owner_dir = self.root / owner
        if not _NAME_RE.match(owner) or not owner_dir.is_dir():
            raise NotFound(f"owner {owner} not found under {self.root}")
        names = [
            f"{owner}/{d.name}" for d in sorted(owner_dir.iterdir()) if d.is_dir() and gitutil.is_git_dir(d)
        ]
        return filter_repos(
            (self._repo_from(name, self.load_record(name)) for name in names),
            include=include,
            exclude=exclude,
            topics=topics,
            skip_archived=skip_archived,
            skip_forks=skip_forks,
        )

    def branch_sha(self, repo: str, branch: str) -> str | None:
        """Tip of ``branch`` or None."""
        self._count("branch_sha")
        return gitutil.rev_parse(self._git_dir(repo), f"refs/heads/{branch}")

    def _resolve(self, repo: str, ref: str) -> str:
        gd = self._git_dir(repo)
        for candidate in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
            sha = gitutil.rev_parse(gd, candidate)
            if sha:
                return sha
        raise NotFound(f"ref {ref!r} not found in {repo}")

    def list_tree(self, repo: str, ref: str) -> list[str]:
        """All file paths at ``ref``. Raises NotFound for an unknown ref."""
        self._count("list_tree")
        return gitutil.list_tree(self._git_dir(repo), self._resolve(repo, ref))

    def read_file(self, repo: str, path: str, ref: str) -> bytes | None:
        """Bytes of ``path`` at ``ref`` or None. Raises NotFound for an unknown ref."""
        self._count("read_file")
        return gitutil.read_blob(self._git_dir(repo), self._resolve(repo, ref), path.strip("/"))

    def clone_url(self, repo: str) -> str:
        """``file://`` URL of the repository."""
        self._git_dir(repo)
        return self.repo_path(repo).as_uri()

    # --- branches and commits -----------------------------------------------------------------
    def commit_files(
        self,
        repo: str,
        branch: str,
        *,
        parent_sha: str,
        message: str,
        changes: Sequence[FileChange],
    ) -> str:
        """One commit on ``parent_sha`` with ``changes``; ``branch`` is created or force-moved.

        ``parent_sha=""`` makes a root commit (empty repositories). Raises NotFound when the
        parent commit does not exist.
        """
        self._count("commit_files", write=True)
        gd = self._git_dir(repo)
        parent: str | None = None
        if parent_sha:
            parent = gitutil.rev_parse(gd, parent_sha)
            if parent is None:
                raise NotFound(f"parent commit {parent_sha} not found in {repo}")
        fd, name = tempfile.mkstemp(prefix="catalog-ops-index-")
        os.close(fd)
        index = Path(name)
        index.unlink()
        sha = gitutil.commit_tree_changes(
            gd,
            parent=parent,
            message=message,
            changes=[(c.path, c.content) for c in changes],
            index_file=index,
        )
        gitutil.update_ref(gd, f"refs/heads/{branch}", sha)
        return sha

    def delete_branch(self, repo: str, branch: str) -> None:
        """Delete ``branch`` if it exists; open PRs from it are closed (as GitHub does)."""
        self._count("delete_branch", write=True)
        gd = self._git_dir(repo)
        sha = gitutil.rev_parse(gd, f"refs/heads/{branch}")
        if sha is None:
            return
        with self._edit(repo) as data:
            gitutil.run_git(["update-ref", "-d", f"refs/heads/{branch}"], git_dir=gd)
            for rec in data["pulls"]:
                if rec["state"] == "open" and rec["head"] == branch:
                    rec.update(
                        state="closed", head_sha=sha, auto_merge=False, closed_at=_now(), updated_at=_now()
                    )

    # --- pull requests ----------------------------------------------------------------------
    def _url(self, repo: str, kind: str, number: int, anchor: str = "") -> str:
        return f"{self.record_path(repo).as_uri()}#{kind}/{number}{anchor}"

    def _pull_from(self, repo: str, rec: Mapping[str, Any]) -> PullRequest:
        head_sha = rec.get("head_sha") or ""
        if rec["state"] == "open":
            head_sha = gitutil.rev_parse(self._git_dir(repo), f"refs/heads/{rec['head']}") or head_sha
        return PullRequest(
            repo=repo,
            number=rec["number"],
            title=rec["title"],
            body=rec["body"],
            head=rec["head"],
            base=rec["base"],
            head_sha=head_sha,
            state=PullState(rec["state"]),
            url=self._url(repo, "pull", rec["number"]),
            labels=tuple(rec["labels"]),
            reviewers=tuple(rec["reviewers"]) + tuple(rec["team_reviewers"]),
            assignees=tuple(rec["assignees"]),
            auto_merge=bool(rec["auto_merge"]),
            merge_method=rec.get("merge_method"),
            merged_sha=rec.get("merged_sha"),
        )

    @staticmethod
    def _find_pull(data: Mapping[str, Any], number: int, repo: str) -> dict[str, Any]:
        for rec in data["pulls"]:
            if rec["number"] == number:
                return rec
        raise NotFound(f"pull request #{number} not found in {repo}")

    @staticmethod
    def _add_unique(target: list[str], values: Sequence[str]) -> None:
        for v in values:
            if v not in target:
                target.append(v)

    def _team(self, repo: str, team: str) -> str:
        return team if "/" in team else f"{repo.split('/')[0]}/{team}"

    def open_pull(
        self,
        repo: str,
        *,
        head: str,
        base: str,
        title: str,
        body: str,
        labels: Sequence[str] = (),
        reviewers: Sequence[str] = (),
        team_reviewers: Sequence[str] = (),
        assignees: Sequence[str] = (),
    ) -> PullRequest:
        """Open a PR (or update the open one for ``head``).

        Raises NotFound when ``head`` or ``base`` does not exist, Conflict when ``head`` has no
        commits that ``base`` lacks (GitHub: "No commits between base and head").
        """
        self._count("open_pull", write=True)
        gd = self._git_dir(repo)
        head_sha = gitutil.rev_parse(gd, f"refs/heads/{head}")
        base_sha = gitutil.rev_parse(gd, f"refs/heads/{base}")
        if head_sha is None:
            raise NotFound(f"head branch {head!r} not found in {repo}")
        if base_sha is None:
            raise NotFound(f"base branch {base!r} not found in {repo}")
        with self._edit(repo) as data:
            existing = next((p for p in data["pulls"] if p["state"] == "open" and p["head"] == head), None)
            if existing is None:
                if gitutil.is_ancestor(gd, head_sha, base_sha):
                    raise Conflict(f"No commits between {base} and {head} in {repo}")
                number = data["next_number"]
                data["next_number"] += 1
                existing = {
                    "number": number,
                    "title": title,
                    "body": body,
                    "head": head,
                    "base": base,
                    "head_sha": head_sha,
                    "state": "open",
                    "labels": [],
                    "reviewers": [],
                    "team_reviewers": [],
                    "assignees": [],
                    "auto_merge": False,
                    "merge_method": None,
                    "merged_sha": None,
                    "merge_base": None,
                    "created_at": _now(),
                    "updated_at": _now(),
                    "closed_at": None,
                    "checks": None,
                }
                data["pulls"].append(existing)
            else:
                existing.update(title=title, body=body, base=base, updated_at=_now())
            self._add_unique(existing["labels"], labels)
            self._add_unique(existing["reviewers"], reviewers)
            self._add_unique(existing["team_reviewers"], [self._team(repo, t) for t in team_reviewers])
            self._add_unique(existing["assignees"], assignees)
            return self._pull_from(repo, existing)

    def get_pull(self, repo: str, number: int) -> PullRequest:
        """See ``Forge.get_pull``."""
        self._count("get_pull")
        data = self.load_record(repo)
        return self._pull_from(repo, self._find_pull(data, number, repo))

    def find_open_pull(self, repo: str, head: str) -> PullRequest | None:
        """The open PR for ``head`` or None."""
        self._count("find_open_pull")
        data = self.load_record(repo)
        for rec in data["pulls"]:
            if rec["state"] == "open" and rec["head"] == head:
                return self._pull_from(repo, rec)
        return None

    def find_closed_pull(self, repo: str, head: str) -> PullRequest | None:
        """The newest closed or merged PR for ``head`` or None (see ``Forge.find_closed_pull``)."""
        self._count("find_closed_pull")
        closed = [
            rec for rec in self.load_record(repo)["pulls"] if rec["state"] != "open" and rec["head"] == head
        ]
        return self._pull_from(repo, max(closed, key=lambda rec: int(rec["number"]))) if closed else None

    def update_pull(
        self,
        repo: str,
        number: int,
        *,
        title: str | None = None,
        body: str | None = None,
        base: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> PullRequest:
        """See ``Forge.update_pull``; NotFound also for an unknown ``base`` branch."""
        self._count("update_pull", write=True)
        if base is not None and self.branch_sha(repo, base) is None:
            raise NotFound(f"base branch {base!r} not found in {repo}")
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            if title is not None:
                rec["title"] = title
            if body is not None:
                rec["body"] = body
            if base is not None:
                rec["base"] = base
            if labels is not None:
                rec["labels"] = list(dict.fromkeys(labels))
            rec["updated_at"] = _now()
            return self._pull_from(repo, rec)

    def close_pull(self, repo: str, number: int, *, comment: str | None = None) -> None:
        """Close PR ``number`` (after posting ``comment``)."""
        self._count("close_pull", write=True)
        gd = self._git_dir(repo)
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            if comment:
                self._new_comment(repo, data, number, comment)
            if rec["state"] == "open":
                rec["head_sha"] = gitutil.rev_parse(gd, f"refs/heads/{rec['head']}") or rec["head_sha"]
                rec["state"] = "closed"
                rec["auto_merge"] = False
                rec["closed_at"] = rec["updated_at"] = _now()

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        """Add labels to a PR or issue."""
        self._count("add_labels", write=True)
        with self._edit(repo) as data:
            rec = self._find_item(data, number, repo)
            self._add_unique(rec["labels"], labels)

    def request_reviewers(
        self, repo: str, number: int, *, users: Sequence[str] = (), teams: Sequence[str] = ()
    ) -> None:
        """Record review requests (teams stored as ``org/slug``)."""
        self._count("request_reviewers", write=True)
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            self._add_unique(rec["reviewers"], users)
            self._add_unique(rec["team_reviewers"], [self._team(repo, t) for t in teams])

    def add_assignees(self, repo: str, number: int, assignees: Sequence[str]) -> None:
        """Add assignees to a PR or issue."""
        self._count("add_assignees", write=True)
        with self._edit(repo) as data:
            rec = self._find_item(data, number, repo)
            rec.setdefault("assignees", [])
            self._add_unique(rec["assignees"], assignees)

    def enable_auto_merge(self, repo: str, number: int, *, method: str = "squash") -> None:
        """Request auto-merge and evaluate it now (merges at once when the checks pass).

        Raises AutoMergeUnavailable when the repo record has ``allow_auto_merge: false`` or the
        PR is not open; UsageError for an unknown method.
        """
        self._count("enable_auto_merge", write=True)
        check_merge_method(method)
        with self._edit(repo) as data:
            if not data["repo"]["allow_auto_merge"]:
                raise AutoMergeUnavailable(f"auto-merge is not allowed in {repo} (allow_auto_merge is false)")
            rec = self._find_pull(data, number, repo)
            if rec["state"] != "open":
                raise AutoMergeUnavailable(f"pull request #{number} in {repo} is {rec['state']}, not open")
            rec["auto_merge"] = True
            rec["merge_method"] = method
            rec["updated_at"] = _now()
        self._maybe_auto_merge(repo, number)

    def checks_state(self, repo: str, number: int) -> ChecksState:
        """Run (or reuse the cached result of) the checks on the PR head; auto-merges on success."""
        self._count("checks_state")
        state = self._checks(repo, number)
        if state is ChecksState.SUCCESS:
            self._maybe_auto_merge(repo, number)
        return state

    def process_auto_merges(self, repo: str | None = None) -> list[PullRequest]:
        """Evaluate every open auto-merge PR (of ``repo`` or of all repos); returns the merged ones."""
        merged: list[PullRequest] = []
        for name in [repo] if repo else self.all_repos():
            for rec in self.load_record(name)["pulls"]:
                if (
                    rec["state"] == "open"
                    and rec["auto_merge"]
                    and self._maybe_auto_merge(name, rec["number"])
                ):
                    merged.append(self.get_pull(name, rec["number"]))
        return merged

    def _maybe_auto_merge(self, repo: str, number: int) -> bool:
        data = self.load_record(repo)
        rec = self._find_pull(data, number, repo)
        if rec["state"] != "open" or not rec["auto_merge"]:
            return False
        if self._checks(repo, number) is not ChecksState.SUCCESS:
            return False
        try:
            self.merge_pull(repo, number, method=rec["merge_method"] or "squash")
        except Conflict:
            return False
        return True

    # --- checks ----------------------------------------------------------------------------
    def _checks(self, repo: str, number: int) -> ChecksState:
        gd = self._git_dir(repo)
        data = self.load_record(repo)
        rec = self._find_pull(data, number, repo)
        pr = self._pull_from(repo, rec)
        cached = rec.get("checks")
        if cached and cached.get("sha") == pr.head_sha and cached.get("command") == self._checks_label():
            return ChecksState(cached["state"])
        if pr.state is not PullState.OPEN:
            return ChecksState(cached["state"]) if cached else ChecksState.NONE
        base_sha = gitutil.rev_parse(gd, f"refs/heads/{pr.base}") or pr.head_sha
        changed = gitutil.changed_paths(gd, base_sha, pr.head_sha)
        state, code, output = self._run_checks(repo, pr, changed)
        with self._edit(repo) as data2:
            rec2 = self._find_pull(data2, number, repo)
            rec2["checks"] = {
                "sha": pr.head_sha,
                "state": state.value,
                "command": self._checks_label(),
                "exit_code": code,
                "changed_files": changed,
                "ran_at": _now(),
                "output": output[-_OUTPUT_TAIL:],
            }
        return state

    def _checks_label(self) -> str:
        return self.checks_command or f"builtin:{self.tf_binary}"

    def _run_checks(self, repo: str, pr: PullRequest, changed: list[str]) -> tuple[ChecksState, int, str]:
        gd = self._git_dir(repo)
        with tempfile.TemporaryDirectory(prefix="catalog-ops-checks-") as tmp:
            work = Path(tmp)
            archive = gitutil.run_git(["archive", "--format=tar", pr.head_sha], git_dir=gd).stdout
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(work, filter="data")
            dirs = sorted({str(Path(p).parent) for p in changed})
            env = dict(os.environ)
            env.update(
                CATALOG_OPS_REPO=repo,
                CATALOG_OPS_PR_NUMBER=str(pr.number),
                CATALOG_OPS_BASE_REF=pr.base,
                CATALOG_OPS_HEAD_SHA=pr.head_sha,
                CATALOG_OPS_CHANGED_FILES="\n".join(changed),
                CATALOG_OPS_CHANGED_DIRS="\n".join(dirs),
            )
            if self.checks_command:
                try:
                    proc = subprocess.run(
                        self.checks_command,
                        shell=True,
                        cwd=work,
                        env=env,
                        capture_output=True,
                        timeout=self.checks_timeout,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    return ChecksState.FAILURE, -1, f"checks timed out after {self.checks_timeout}s"
                out = (proc.stdout + proc.stderr).decode(errors="replace")
                return (
                    (ChecksState.SUCCESS if proc.returncode == 0 else ChecksState.FAILURE),
                    proc.returncode,
                    out,
                )
            return self._default_checks(work, dirs, env)

    def _default_checks(
        self, work: Path, dirs: list[str], env: dict[str, str]
    ) -> tuple[ChecksState, int, str]:
        tf_dirs = [d for d in dirs if (work / d).is_dir() and any((work / d).glob("*.tf"))]
        if not tf_dirs:
            return ChecksState.SUCCESS, 0, "no changed Terraform directories; nothing to check\n"
        from catalog_ops.toolchain import tf_cli, tool_env

        tf = str(tf_cli(self.tf_binary))  # raises ToolMissing
        env = tool_env(env)
        env.setdefault("TF_IN_AUTOMATION", "1")
        log: list[str] = []
        for d in tf_dirs:
            for args in (
                ["fmt", "-check", "-diff", "-no-color"],
                ["init", "-backend=false", "-input=false", "-no-color"],
                ["validate", "-no-color"],
            ):
                log.append(f"$ cd {d} && {self.tf_binary} {' '.join(args)}\n")
                try:
                    proc = subprocess.run(
                        [tf, *args],
                        cwd=work / d,
                        env=env,
                        capture_output=True,
                        timeout=self.checks_timeout,
                        check=False,
                    )
                except subprocess.TimeoutExpired:
                    log.append("timed out\n")
                    return ChecksState.FAILURE, -1, "".join(log)
                log.append((proc.stdout + proc.stderr).decode(errors="replace"))
                if proc.returncode != 0:
                    return ChecksState.FAILURE, proc.returncode, "".join(log)
        return ChecksState.SUCCESS, 0, "".join(log)

    # --- merging ----------------------------------------------------------------------------
    def merge_pull(self, repo: str, number: int, *, method: str = "squash") -> str:
        """Merge PR ``number`` into its base now; returns the new base tip.

        merge: a merge commit (two parents); squash: one commit ``"<title> (#n)"`` on the base;
        rebase: the PR commits replayed on the base (fast-forward when possible).
        Raises Conflict when the PR is not open or does not merge cleanly.
        """
        self._count("merge_pull", write=True)
        check_merge_method(method)
        gd = self._git_dir(repo)
        with self._edit(repo) as data:
            rec = self._find_pull(data, number, repo)
            if rec["state"] != "open":
                raise Conflict(f"pull request #{number} in {repo} is {rec['state']}; cannot merge")
            head_sha = gitutil.rev_parse(gd, f"refs/heads/{rec['head']}")
            base_sha = gitutil.rev_parse(gd, f"refs/heads/{rec['base']}")
            if head_sha is None or base_sha is None:
                raise Conflict(f"pull request #{number} in {repo}: head or base branch is missing")
            merge_base = gitutil.git_out(["merge-base", base_sha, head_sha], git_dir=gd)
            squash_msg = f"{rec['title']} (#{number})\n\n{rec['body']}".rstrip() + "\n"
            merge_msg = (
                f"Merge pull request #{number} from {repo.split('/')[0]}/{rec['head']}\n\n{rec['title']}\n"
            )
            if merge_base == base_sha:  # base has not moved: no real merge needed
                tree = f"{head_sha}^{{tree}}"
                if method == "squash":
                    new = gitutil.git_out(
                        ["commit-tree", tree, "-p", base_sha, "-F", "-"],
                        git_dir=gd,
                        input=squash_msg.encode(),
                    )
                elif method == "merge":
                    new = gitutil.git_out(
                        ["commit-tree", tree, "-p", base_sha, "-p", head_sha, "-F", "-"],
                        git_dir=gd,
                        input=merge_msg.encode(),
                    )
                else:
                    new = head_sha
            else:
                new = self._merge_in_clone(gd, rec["base"], head_sha, method, squash_msg, merge_msg)
            try:
                gitutil.update_ref(gd, f"refs/heads/{rec['base']}", new, base_sha)
            except gitutil.GitError as exc:
                raise Conflict(f"base branch {rec['base']} of {repo} moved during the merge; retry") from exc
            rec.update(
                state="merged",
                head_sha=head_sha,
                merged_sha=new,
                merge_base=merge_base,
                merge_method=rec.get("merge_method") or method,
                auto_merge=rec["auto_merge"],
                closed_at=_now(),
                updated_at=_now(),
                merged_with=method,
            )
            return new

    def _merge_in_clone(
        self, gd: Path, base: str, head_sha: str, method: str, squash_msg: str, merge_msg: str
    ) -> str:
        with tempfile.TemporaryDirectory(prefix="catalog-ops-merge-") as tmp:
            work = Path(tmp) / "w"
            gitutil.run_git(["clone", "-q", "--shared", "--no-checkout", str(gd), str(work)])
            gitutil.run_git(["checkout", "-q", "-B", base, f"origin/{base}"], cwd=work)
            try:
                if method == "merge":
                    gitutil.run_git(
                        ["merge", "-q", "--no-ff", "--no-edit", "-m", merge_msg, head_sha], cwd=work
                    )
                elif method == "squash":
                    gitutil.run_git(["merge", "-q", "--squash", head_sha], cwd=work)
                    gitutil.run_git(
                        ["commit", "-q", "--allow-empty", "-F", "-"], cwd=work, input=squash_msg.encode()
                    )
                else:
                    gitutil.run_git(["checkout", "-q", "-B", "catalog-ops-rebase", head_sha], cwd=work)
                    gitutil.run_git(["rebase", "-q", base], cwd=work)
            except gitutil.GitError as exc:
                raise Conflict(
                    f"pull request does not merge cleanly into {base}: {exc.stderr.strip()[:500]}"
                ) from None
            new = gitutil.git_out(["rev-parse", "HEAD"], cwd=work)
            # Objects live in the clone; copy them to the shared repository.
            gitutil.run_git(["push", "-q", str(gd), f"{new}:refs/catalog-ops/merge-tmp"], cwd=work)
            gitutil.run_git(["update-ref", "-d", "refs/catalog-ops/merge-tmp"], git_dir=gd)
            return new

    def pulls_for_commit(self, repo: str, sha: str) -> list[PullRequest]:
        """Merged PRs whose merge commit is ``sha`` or whose commits include ``sha``.

        Raises NotFound when ``sha`` is not a commit of ``repo``.
        """
        self._count("pulls_for_commit")
        gd = self._git_dir(repo)
        full = gitutil.rev_parse(gd, sha)
        if full is None:
            raise NotFound(f"commit {sha} not found in {repo}")
        out: list[PullRequest] = []
        for rec in self.load_record(repo)["pulls"]:
            if rec["state"] != "merged":
                continue
            hit = rec.get("merged_sha") == full
            if not hit and rec.get("merge_base") and rec.get("head_sha"):
                commits = gitutil.git_out(
                    ["rev-list", f"{rec['merge_base']}..{rec['head_sha']}"], git_dir=gd
                ).split()
                hit = full in commits
            if hit:
                out.append(self._pull_from(repo, rec))
        return out

    # --- comments and issues ------------------------------------------------------------------
    def _find_item(self, data: Mapping[str, Any], number: int, repo: str) -> dict[str, Any]:
        for rec in [*data["pulls"], *data["issues"]]:
            if rec["number"] == number:
                return rec
        raise NotFound(f"issue or pull request #{number} not found in {repo}")

    def _new_comment(self, repo: str, data: dict[str, Any], number: int, body: str) -> dict[str, Any]:
        cid = data["next_comment_id"]
        data["next_comment_id"] += 1
        rec = {"id": cid, "issue_number": number, "body": body, "created_at": _now(), "updated_at": _now()}
        data["comments"].append(rec)
        return rec

    def upsert_comment(self, repo: str, number: int, *, marker: str, body: str) -> Comment:
        """See ``Forge.upsert_comment``."""
        self._count("upsert_comment", write=True)
        check_marker("comment", marker, body)
        with self._edit(repo) as data:
            item = self._find_item(data, number, repo)
            kind = "pull" if "head" in item else "issue"
            found = next(
                (c for c in data["comments"] if c["issue_number"] == number and marker in c["body"]), None
            )
            if found is None:
                found = self._new_comment(repo, data, number, body)
            else:
                found["body"] = body
                found["updated_at"] = _now()
            return Comment(
                id=found["id"], body=body, url=self._url(repo, kind, number, f"-comment-{found['id']}")
            )

    def list_comments(self, repo: str, number: int) -> list[Comment]:
        """Comments on a PR or issue, oldest first (local helper for inspection and tests)."""
        data = self.load_record(repo)
        item = self._find_item(data, number, repo)
        kind = "pull" if "head" in item else "issue"
        return [
            Comment(id=c["id"], body=c["body"], url=self._url(repo, kind, number, f"-comment-{c['id']}"))
            for c in data["comments"]
            if c["issue_number"] == number
        ]

    def upsert_issue(
        self, repo: str, *, marker: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> Issue:
        """See ``Forge.upsert_issue``."""
        self._count("upsert_issue", write=True)
        check_marker("issue", marker, body)
        with self._edit(repo) as data:
            found = next((i for i in data["issues"] if i["state"] == "open" and marker in i["body"]), None)
            if found is None:
                number = data["next_number"]
                data["next_number"] += 1
                found = {
                    "number": number,
                    "title": title,
                    "body": body,
                    "state": "open",
                    "labels": list(dict.fromkeys(labels)),
                    "assignees": [],
                    "created_at": _now(),
                    "updated_at": _now(),
                }
                data["issues"].append(found)
            else:
                found.update(title=title, body=body, updated_at=_now())
                if labels:
                    found["labels"] = list(dict.fromkeys(labels))
            return Issue(
                number=found["number"],
                title=title,
                body=body,
                url=self._url(repo, "issue", found["number"]),
                state="open",
            )

    def list_issues(self, repo: str) -> list[Issue]:
        """All issues of the repo (local helper)."""
        data = self.load_record(repo)
        return [
            Issue(
                number=i["number"],
                title=i["title"],
                body=i["body"],
                url=self._url(repo, "issue", i["number"]),
                state=i["state"],
            )
            for i in data["issues"]
        ]

    # --- tags and releases ------------------------------------------------------------------
    def list_tags(self, repo: str) -> list[Tag]:
        """All tags (peeled to commits), sorted by name."""
        self._count("list_tags")
        gd = self._git_dir(repo)
        fmt = "%(refname:strip=2)%1f%(objecttype)%1f%(objectname)%1f%(*objectname)%1f%(contents)%1e"
        out = gitutil.run_git(["for-each-ref", f"--format={fmt}", "refs/tags"], git_dir=gd).stdout.decode(
            errors="replace"
        )
        tags: list[Tag] = []
        for record in out.split("\x1e"):
            record = record.lstrip("\n")
            if not record:
                continue
            name, otype, oid, peeled, contents = record.split("\x1f", 4)
            if otype == "tag":
                tags.append(Tag(name=name, sha=peeled or oid, message=contents.rstrip("\n")))
            else:
                tags.append(Tag(name=name, sha=oid, message=None))
        return tags

    def create_tag(self, repo: str, *, name: str, sha: str, message: str) -> Tag:
        """Annotated tag ``name`` at commit ``sha``. Raises Conflict when it exists."""
        self._count("create_tag", write=True)
        gd = self._git_dir(repo)
        if gitutil.rev_parse(gd, f"refs/tags/{name}") is not None or (
            gitutil.run_git(
                ["show-ref", "--verify", "--quiet", f"refs/tags/{name}"], git_dir=gd, check=False
            ).returncode
            == 0
        ):
            raise Conflict(f"tag {name} already exists in {repo}")
        commit = gitutil.rev_parse(gd, sha)
        if commit is None:
            raise NotFound(f"commit {sha} not found in {repo}")
        gitutil.run_git(["tag", "-a", name, "-F", "-", commit], git_dir=gd, input=message.encode())
        return Tag(name=name, sha=commit, message=message.rstrip("\n"))

    def _release_from(self, repo: str, rec: Mapping[str, Any]) -> Release:
        return Release(
            tag=rec["tag"],
            name=rec["name"],
            body=rec["body"],
            url=f"{self.record_path(repo).as_uri()}#release/{rec['tag']}",
            prerelease=bool(rec["prerelease"]),
            draft=bool(rec.get("draft", False)),
            created_at=rec["created_at"],
        )

    def create_release(
        self, repo: str, *, tag: str, name: str, body: str, prerelease: bool = False
    ) -> Release:
        """Release for ``tag`` (a lightweight tag at the default branch is made when missing, like
        GitHub). Raises Conflict when a release for ``tag`` exists."""
        self._count("create_release", write=True)
        gd = self._git_dir(repo)
        with self._edit(repo) as data:
            if any(r["tag"] == tag for r in data["releases"]):
                raise Conflict(f"a release for tag {tag} already exists in {repo}")
            if gitutil.run_git(
                ["show-ref", "--verify", "--quiet", f"refs/tags/{tag}"], git_dir=gd, check=False
            ).returncode:
                tip = gitutil.rev_parse(gd, f"refs/heads/{data['repo']['default_branch']}")
                if tip is None:
                    raise NotFound(f"tag {tag} does not exist and {repo} has no default branch to tag")
                gitutil.update_ref(gd, f"refs/tags/{tag}", tip)
            rec = {
                "tag": tag,
                "name": name,
                "body": body,
                "prerelease": prerelease,
                "draft": False,
                "created_at": _now(),
            }
            data["releases"].append(rec)
            return self._release_from(repo, rec)

    def get_release(self, repo: str, tag: str) -> Release | None:
        """See ``Forge.get_release``."""
        self._count("get_release")
        for rec in self.load_record(repo)["releases"]:
            if rec["tag"] == tag:
                return self._release_from(repo, rec)
        return None

    def list_releases(self, repo: str) -> list[Release]:
        """See ``Forge.list_releases``."""
        self._count("list_releases")
        return [self._release_from(repo, r) for r in reversed(self.load_record(repo)["releases"])]

    # --- ownership and accounting -----------------------------------------------------------
    def codeowners(self, repo: str, ref: str) -> str | None:
        """See ``Forge.codeowners``. Raises NotFound for an unknown ``ref``."""
        self._count("codeowners")
        gd = self._git_dir(repo)
        sha = self._resolve(repo, ref)
        return read_codeowners(lambda path: gitutil.read_blob(gd, sha, path))

    def request_counts(self) -> Mapping[str, int]:
        """Operations performed, by method name, plus ``operations`` and ``writes`` totals."""
        with self._counts_lock:
            return dict(self._counts)
