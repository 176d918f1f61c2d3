"""Repositories, their contents and branches in the local forge (``Repos``, ``Contents``, ``Branches``).

Also the local-only administration the ``forge`` CLI and tests use: ``create_repo``,
``set_repo_settings``. Commits are built with git plumbing on a private index (no work tree,
no push).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from catalog_ops import gitutil
from catalog_ops.errors import Conflict, NotFound, RefMoved, UsageError
from catalog_ops.forge.base import (
    ANY_HEAD,
    Commit,
    FileChange,
    Repo,
    RepoListing,
    filter_repos,
    read_codeowners,
)
from catalog_ops.forge.local.store import NAME_RE, LocalStore, empty_record, now


def check_protection(protection: object) -> dict[str, dict[str, list[str]]]:
    """Validate a ``protection`` repository setting: ``{branch: {"contexts": [check name, ...]}}``.

    Returns it normalised (contexts de-duplicated, in order). Raises UsageError naming the
    offending key otherwise.
    """
    if not isinstance(protection, Mapping):
        raise UsageError("protection must be a mapping of branch -> {'contexts': [check, ...]}")
    out: dict[str, dict[str, list[str]]] = {}
    for branch, rule in protection.items():
        if not isinstance(branch, str) or not branch:
            raise UsageError(f"protection: branch name must be a non-empty string, not {branch!r}")
        if not isinstance(rule, Mapping) or set(rule) - {"contexts"}:
            raise UsageError(f"protection.{branch}: only 'contexts' (required checks) is supported")
        contexts = rule.get("contexts", [])
        if not isinstance(contexts, list) or not all(isinstance(c, str) and c for c in contexts):
            raise UsageError(f"protection.{branch}.contexts: must be a list of check names")
        out[branch] = {"contexts": list(dict.fromkeys(contexts))}
    return out


class LocalRepos(LocalStore):
    """Repository, content and branch operations over a ``LocalStore``."""

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
        record = empty_record(full_name, default_branch)
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
        ``allow_auto_merge``, ``default_branch``, ``description``, ``ci``: False makes the
        repository one whose CI never reports a check; ``collaborators``: login -> permission,
        ``admin``/``maintain``/``write``/``triage``/``read``, what ``permission`` answers;
        ``protection``: ``{branch: {"contexts": [check, ...]}}``, the checks branch protection
        requires before a PR into that branch merges, see ``check_protection``).
        Raises UsageError on others."""
        allowed = {
            "ci",
            "protection",
            "collaborators",
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
            if "protection" in settings:
                settings["protection"] = check_protection(settings["protection"])
            data["repo"].update(settings)
        if "default_branch" in settings:
            gitutil.run_git(
                ["symbolic-ref", "HEAD", f"refs/heads/{settings['default_branch']}"],
                git_dir=self._git_dir(repo),
            )

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
        if not NAME_RE.match(owner) or not owner_dir.is_dir():
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

    def git_auth_env(self, url: str) -> dict[str, str]:
        """``{}``: local repositories need no credentials (see ``Repos.git_auth_env``)."""
        return {}

    def module_address(self, repo: str) -> str:
        """``github.com/<repo>``: local repositories stand in for GitHub ones, so dependents
        address them with the GitHub shorthand (no request, no count)."""
        return f"github.com/{repo}"

    def compare_url(self, repo: str, base: str, head: str) -> str:
        """The local forge has no web view: a ``git diff`` command over the bare repository
        (``git --git-dir <path> diff <base> <head>``), with arguments shell-quoted."""
        import shlex

        path = str(self.repo_path(repo))
        return f"git --git-dir {shlex.quote(path)} diff {shlex.quote(base)} {shlex.quote(head)}"

    def codeowners(self, repo: str, ref: str) -> str | None:
        """See ``Forge.codeowners``. Raises NotFound for an unknown ``ref``."""
        self._count("codeowners")
        gd = self._git_dir(repo)
        sha = self._resolve(repo, ref)
        return read_codeowners(lambda path: gitutil.read_blob(gd, sha, path))

    # --- branches and commits -----------------------------------------------------------------
    def commit_files(
        self,
        repo: str,
        branch: str,
        *,
        parent_sha: str,
        message: str,
        changes: Sequence[FileChange],
        expected_head: str | None = ANY_HEAD,
    ) -> str:
        """One commit on ``parent_sha`` with ``changes``; ``branch`` is created or moved.

        ``parent_sha=""`` makes a root commit (empty repositories). The ref update is
        ``git update-ref <ref> <new> <old>`` (git checks ``<old>`` under the ref's lock file, so
        two processes cannot both move it from the same tip; ``<old>`` all zeros: the ref must
        not exist). ``expected_head``: see ``Branches.commit_files``.

        Raises:
            NotFound: the parent commit does not exist.
            RefMoved: the branch is not at ``expected_head`` (another writer moved it).
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
        ref = f"refs/heads/{branch}"
        old = gitutil.rev_parse(gd, ref) if expected_head == ANY_HEAD else expected_head
        try:
            gitutil.update_ref(gd, ref, sha, old or gitutil.ZERO_SHA)
        except gitutil.GitError as exc:
            raise RefMoved(
                f"branch {branch} of {repo} is no longer at {(old or 'nothing')[:12]}: another run moved it"
            ) from exc
        return sha

    def get_commit(self, repo: str, sha: str) -> Commit:
        """See ``Branches.get_commit`` (``git cat-file commit``)."""
        self._count("get_commit")
        found = gitutil.commit_parents_message(self._git_dir(repo), sha)
        if found is None:
            raise NotFound(f"commit {sha} not found in {repo}")
        return Commit(sha=sha, message=found[1], parents=found[0])

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
                        state="closed", head_sha=sha, auto_merge=False, closed_at=now(), updated_at=now()
                    )
