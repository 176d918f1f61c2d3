"""Repositories, contents and branches on GitHub (``Repos``, ``Contents``, ``Branches``).

Commits go through GraphQL ``createCommitOnBranch`` or, as the fallback, the Git Data API
(blobs -> tree -> commit -> ref); see the ``catalog_ops.forge.github.transport`` docstring.
"""

from __future__ import annotations

import base64
import contextlib
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from catalog_ops import gitutil
from catalog_ops.errors import (
    Conflict,
    ForgeError,
    NotFound,
    PermissionDenied,
    RefMoved,
)
from catalog_ops.forge.base import (
    ANY_HEAD,
    Commit,
    FileChange,
    Repo,
    RepoListing,
    filter_repos,
    read_codeowners,
)
from catalog_ops.forge.github.batch import GitHubBatchReads
from catalog_ops.forge.github.graphql import (
    COMMIT_MUTATION,
    REF_AND_COMMIT_MUTATION,
    UPDATE_REFS_MUTATION,
    GraphQLFailure,
)
from catalog_ops.forge.github.transport import quote_path


class GitHubRepos(GitHubBatchReads):
    """Repository, content and branch operations."""

    def _repo_from(self, d: Mapping[str, Any]) -> Repo:
        return Repo(
            full_name=d["full_name"],
            default_branch=d.get("default_branch") or "main",
            clone_url=d.get("clone_url") or "",
            html_url=d.get("html_url") or "",
            archived=bool(d.get("archived")),
            fork=bool(d.get("fork")),
            disabled=bool(d.get("disabled")),
            topics=tuple(d.get("topics") or ()),
        )

    def get_repo(self, repo: str) -> Repo:
        """``GET /repos/{owner}/{repo}``."""
        _h, data = self._request("GET", f"/repos/{repo}")
        return self._repo_from(data)

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
        """``GET /orgs/{owner}/repos`` (every repository of the org the token can see), or for a
        user account (the org call answers 404) ``user_repos``, all pages."""
        try:
            items = list(self._paginate(f"/orgs/{owner}/repos", {"type": "all"}))
        except NotFound:
            items = self.user_repos(owner)
        return filter_repos(
            (self._repo_from(d) for d in sorted(items, key=lambda d: d["full_name"])),
            include=include,
            exclude=exclude,
            topics=topics,
            skip_archived=skip_archived,
            skip_forks=skip_forks,
        )

    def user_repos(self, owner: str) -> list[dict[str, Any]]:
        """Repositories (REST objects) of the user account ``owner``, private ones included.

        ``GET /users/{u}/repos`` "Lists public repositories for the specified user"
        (https://docs.github.com/en/rest/repos/repos#list-repositories-for-a-user): private
        dependents would be missed. So the authenticated listings come first: an installation
        token (GitHub App, Actions) lists ``GET /installation/repositories`` ("List repositories
        that an app installation can access",
        https://docs.github.com/en/rest/apps/installations#list-repositories-accessible-to-the-app-installation);
        a personal token, for which that endpoint is a 403, lists ``GET /user/repos`` ("repositories
        that the authenticated user has explicit permission (:read, :write, or :admin) to access",
        https://docs.github.com/en/rest/repos/repos#list-repositories-for-the-authenticated-user).
        Both are filtered to ``owner`` and merged with the public listing (public repos the token
        has no explicit access to). Returned sorted by ``full_name``, each repository once.
        """
        found: dict[str, dict[str, Any]] = {}

        def keep(items: Any) -> None:
            for d in items:
                if str(d.get("full_name", "")).split("/")[0].lower() == owner.lower():
                    found.setdefault(str(d["full_name"]), dict(d))

        token = getattr(self._auth, "token", "") if not hasattr(self._auth, "installation_id") else ""
        personal = isinstance(token, str) and token.startswith(("ghp_", "github_pat_", "gho_", "ghu_"))
        listed = False
        if not personal:
            try:
                keep(self._paginate("/installation/repositories", key="repositories"))
                listed = True
            except (PermissionDenied, NotFound):
                listed = False
        if not listed:
            with contextlib.suppress(PermissionDenied, NotFound):
                keep(self._paginate("/user/repos", {"affiliation": "owner,collaborator,organization_member"}))
        keep(self._paginate(f"/users/{owner}/repos", {"type": "owner"}))
        return [found[k] for k in sorted(found)]

    def branch_sha(self, repo: str, branch: str) -> str | None:
        """``GET /repos/{r}/git/ref/heads/{branch}``; None on 404."""
        try:
            _h, data = self._request("GET", f"/repos/{repo}/git/ref/heads/{quote_path(branch)}")
        except NotFound:
            return None
        if isinstance(data, list):  # old GHES returns prefix matches
            data = next((d for d in data if d.get("ref") == f"refs/heads/{branch}"), None)
            if data is None:
                return None
        return str(data["object"]["sha"])

    def list_tree(self, repo: str, ref: str) -> list[str]:
        """``GET /repos/{r}/git/trees/{ref}?recursive=1`` (walks subtrees if GitHub truncates)."""
        _h, data = self._request("GET", f"/repos/{repo}/git/trees/{quote_path(ref)}", params={"recursive": 1})
        if not data.get("truncated"):
            return [e["path"] for e in data["tree"] if e["type"] in ("blob", "commit")]
        out: list[str] = []
        stack: list[tuple[str, str]] = [("", data["sha"])]
        while stack:
            prefix, sha = stack.pop()
            _h, sub = self._request("GET", f"/repos/{repo}/git/trees/{sha}")
            for e in sub["tree"]:
                path = f"{prefix}{e['path']}"
                if e["type"] == "tree":
                    stack.append((path + "/", e["sha"]))
                else:
                    out.append(path)
        return sorted(out)

    def read_file(self, repo: str, path: str, ref: str) -> bytes | None:
        """``GET /repos/{r}/contents/{path}?ref=`` (blob API for files over 1 MB); None if absent."""
        try:
            _h, data = self._request(
                "GET", f"/repos/{repo}/contents/{quote_path(path.strip('/'))}", params={"ref": ref}
            )
        except NotFound as exc:
            if "No commit found" in str(exc):
                raise
            return None
        if not isinstance(data, dict) or data.get("type") != "file":
            return None
        if data.get("encoding") == "base64" and (data.get("content") or data.get("size", 0) == 0):
            return base64.b64decode(data.get("content") or "")
        _h, blob = self._request("GET", f"/repos/{repo}/git/blobs/{data['sha']}")
        return base64.b64decode(blob["content"])

    def clone_url(self, repo: str) -> str:
        """The repository's ``clone_url`` as GitHub returns it (no credentials in it, ever: the
        token reaches git through ``git_auth_env``)."""
        return self.get_repo(repo).clone_url

    def git_auth_env(self, url: str) -> dict[str, str]:
        """``GIT_CONFIG_*`` variables that let git fetch ``url`` with this forge's token
        (``gitutil.http_auth_env``: an ``Authorization`` header scoped to the URL's host).

        Only for a URL on the forge's own host: ``github.com`` for ``api.github.com``, the API's
        host for GitHub Enterprise Server (``https://HOST/api/v3``) and for a test server. Plain
        ``http://`` only when the API itself is plain http (a loopback test server). Otherwise, and
        without a token, ``{}``: git then uses whatever credential helper the machine has.
        Pass the result only to git (``gitutil.run_git(env=...)``), never to a tool.
        """
        parts = urllib.parse.urlsplit(url)
        api = urllib.parse.urlsplit(self.api_url)
        api_host = (api.hostname or "").lower()
        forge_host = "github.com" if api_host == "api.github.com" else api_host
        if (parts.hostname or "").lower() != forge_host or parts.port != api.port:
            return {}
        if parts.scheme != "https" and not (parts.scheme == "http" and api.scheme == "http"):
            return {}
        token = getattr(self._auth, "token", None)
        if not token:
            return {}
        return gitutil.http_auth_env(url, "x-access-token", str(token))

    def module_address(self, repo: str) -> str:
        """``github.com/<repo>``, Terraform's GitHub shorthand (no request). GHES repositories get
        the same address today (Terraform has no shorthand for other hosts)."""
        return f"github.com/{repo}"

    def compare_url(self, repo: str, base: str, head: str) -> str:
        """``https://<host>/<repo>/compare/<base>...<head>``: GitHub's compare view ("To compare
        different versions of your repository, append /compare to your repository's path";
        base and compare are branches, tags or commits, https://docs.github.com/en/pull-requests/
        committing-changes-to-your-project/viewing-and-comparing-commits/comparing-commits).
        Built from the API base URL without a request (``api.github.com`` -> ``github.com``;
        GHES ``https://host/api/v3`` -> ``https://host``)."""
        parts = urllib.parse.urlsplit(self.api_url)
        host, path = parts.netloc, parts.path.rstrip("/")
        if host.lower() == "api.github.com":
            host = "github.com"
        if path.endswith("/api/v3"):
            path = path[: -len("/api/v3")]
        web = urllib.parse.urlunsplit((parts.scheme, host, path, "", ""))
        return f"{web}/{repo}/compare/{urllib.parse.quote(base, safe='/')}...{urllib.parse.quote(head, safe='/')}"

    def codeowners(self, repo: str, ref: str) -> str | None:
        """See ``Forge.codeowners`` (one ``read_file`` per candidate path)."""
        return read_codeowners(lambda path: self.read_file(repo, path, ref))

    def _commit_info(self, repo: str, sha: str) -> dict[str, Any]:
        _h, data = self._request("GET", f"/repos/{repo}/git/commits/{sha}")
        return dict(data)

    def get_commit(self, repo: str, sha: str) -> Commit:
        """``GET /repos/{r}/git/commits/{sha}``: message and parents (see ``Branches.get_commit``)."""
        info = self._commit_info(repo, sha)
        return Commit(
            sha=sha,
            message=str(info.get("message") or ""),
            parents=tuple(str(p["sha"]) for p in info.get("parents") or ()),
        )

    def _repo_node_id(self, repo: str) -> str:
        """The repository's GraphQL node id (``node_id`` of ``GET /repos/{r}``), cached."""
        cache: dict[str, str] = self.__dict__.setdefault("_node_ids", {})
        if repo not in cache:
            _h, data = self._request("GET", f"/repos/{repo}")
            cache[repo] = str(data["node_id"])
        return cache[repo]

    def _moved(self, repo: str, branch: str, expected: str | None) -> RefMoved:
        return RefMoved(
            f"branch {branch} of {repo} is no longer at {(expected or 'nothing')[:12]}: another run moved it"
        )

    def _set_branch(self, repo: str, branch: str, sha: str, current: str | None) -> None:
        """Move ``branch`` from ``current`` (None: absent) to ``sha`` as a compare-and-swap.

        * Absent branch: ``POST /repos/{r}/git/refs``, which answers 422 "Reference already
          exists" when another writer created it first (GitHub REST docs, "Create a reference").
        * Existing branch: GraphQL ``updateRefs`` with ``beforeOid: current`` (GitHub GraphQL
          reference, "updateRefs": "RefUpdate.beforeOid specifies that the given reference needs
          to point to the given value before performing any updates"; ``force`` allows the
          non-fast-forward move a rebuilt branch needs). REST ``PATCH git/refs`` cannot compare:
          ``force: false`` only refuses non-fast-forward updates ("Update a reference": "Leaving
          this out or setting it to false will make sure you're not overwriting work"), so it is
          used for fast-forwards and, only where ``updateRefs`` does not exist, after re-reading
          the tip.

        Raises:
            RefMoved: the branch is not at ``current``.
        """
        if current == sha:
            return
        if current is None:

            def create() -> bool:
                try:
                    self._request(
                        "POST", f"/repos/{repo}/git/refs", body={"ref": f"refs/heads/{branch}", "sha": sha}
                    )
                except Conflict:
                    if self.branch_sha(repo, branch) == sha:
                        return True  # our own create, answered late
                    raise self._moved(repo, branch, None) from None
                return True

            self._create(
                f"create branch {branch}",
                create,
                lambda: True if self.branch_sha(repo, branch) == sha else None,
            )
            return
        inp = {
            "repositoryId": self._repo_node_id(repo),
            "refUpdates": [
                {"name": f"refs/heads/{branch}", "beforeOid": current, "afterOid": sha, "force": True}
            ],
        }
        try:
            # Idempotent: a repeat after a lost answer is refused (the ref moved) and then seen
            # to hold ``sha`` below.
            self._graphql(UPDATE_REFS_MUTATION, {"input": inp}, mutation=True, idempotent=True)
        except GraphQLFailure as exc:
            tip = self.branch_sha(repo, branch)
            if tip == sha:
                return
            undefined = any((e.get("extensions") or {}).get("code") == "undefinedField" for e in exc.errors)
            if not undefined:
                raise self._moved(repo, branch, current) from None
            # An older GHES without updateRefs: re-read, then the forced REST update.
            self._count("fallback_rest_ref")
            if tip != current:
                raise self._moved(repo, branch, current) from None
            self._request(
                "PATCH",
                f"/repos/{repo}/git/refs/heads/{quote_path(branch)}",
                body={"sha": sha, "force": True},
                idempotent=True,
            )

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
        """One commit on ``parent_sha``; ``branch`` is created or moved to it, compare-and-swap
        on ``expected_head`` (see ``Branches.commit_files``).

        New branch: one GraphQL request carrying ``createRef`` at the parent and
        ``createCommitOnBranch`` with ``expectedHeadOid`` = the parent (``REF_AND_COMMIT_MUTATION``:
        1 content-creating request); branch already at the parent: ``createCommitOnBranch`` (1).
        With an explicit ``expected_head`` the tip is not read first: every write below is a
        compare-and-swap on it (``createRef`` fails when the branch exists, ``expectedHeadOid``,
        ``updateRefs`` ``beforeOid``), so a wrong ``expected_head`` is ``RefMoved`` all the same. ``expectedHeadOid`` is GitHub's compare-and-swap
        (GitHub GraphQL reference, CreateCommitOnBranchInput: "The git commit oid expected at
        the head of the branch prior to the commit"; a mismatch is error ``STALE_DATA``). A
        branch that must be re-parented (an update after the base moved) is built with the Git
        Data API — tree, commit, then ``updateRefs`` with ``beforeOid`` (3 writes; one blob more
        per binary file) — because moving the branch to the parent first would leave its open
        PR with no commits, and GitHub closes such a PR for good. A retry after a lost response
        recognises the commit already made (same parent and message) instead of committing twice.

        Raises:
            RefMoved: the branch is not at ``expected_head``, or moved while committing.
            ForgeError: ``createCommitOnBranch`` failed for another reason (GraphQL errors other
                than NOT_FOUND/FORBIDDEN, which fall back to the Git Data API).
        """
        # An explicit expected_head is not read: the writes are compare-and-swaps on it.
        current = expected_head if expected_head != ANY_HEAD else self.branch_sha(repo, branch)
        if not parent_sha or self.commit_api == "git-data" or (current is not None and current != parent_sha):
            return self._commit_git_data(repo, branch, parent_sha, message, changes, current=current)
        new_branch = current_was_none = current is None
        headline, _, rest = message.partition("\n")
        additions = [
            {"path": c.path.strip("/"), "contents": base64.b64encode(c.content).decode()}
            for c in changes
            if c.content is not None
        ]
        deletions = [{"path": c.path.strip("/")} for c in changes if c.content is None]
        inp: dict[str, Any] = {
            "branch": {"repositoryNameWithOwner": repo, "branchName": branch},
            "expectedHeadOid": parent_sha,
            "message": {"headline": headline, **({"body": rest.strip("\n")} if rest.strip() else {})},
            "fileChanges": {"additions": additions, "deletions": deletions},
        }

        def already_done() -> str | None:
            tip = self.branch_sha(repo, branch)
            if tip and tip != parent_sha:
                info = self._commit_info(repo, tip)
                if [p["sha"] for p in info.get("parents", [])] == [parent_sha] and _same_message(
                    info.get("message", ""), message
                ):
                    return tip
            return None

        def do() -> str:
            nonlocal new_branch
            try:
                if new_branch:
                    ref = {
                        "repositoryId": self._repo_node_id(repo),
                        "name": f"refs/heads/{branch}",
                        "oid": parent_sha,
                    }
                    data = self._graphql(
                        REF_AND_COMMIT_MUTATION, {"ref": ref, "input": inp}, mutation=True, idempotent=False
                    )
                else:
                    data = self._graphql(COMMIT_MUTATION, {"input": inp}, mutation=True, idempotent=False)
            except GraphQLFailure as exc:
                made = (
                    ((exc.data or {}).get("createCommitOnBranch") or {}).get("commit") if new_branch else None
                )
                if made and made.get("oid"):
                    # createRef refused (the branch already existed, at the parent: the commit's
                    # expectedHeadOid held), the commit made: ours.
                    return str(made["oid"])
                if new_branch and "createRef" in {str((e.get("path") or [""])[0]) for e in exc.errors}:
                    new_branch = False  # a retry commits on the branch that exists now
                if "STALE_DATA" in exc.types:
                    done = already_done()
                    if done:
                        return done
                    raise RefMoved(f"branch {branch} of {repo} moved while committing: {exc}") from None
                raise
            return str(data["createCommitOnBranch"]["commit"]["oid"])

        try:
            return self._create(f"commit on {repo}@{branch}", do, already_done)
        except GraphQLFailure as exc:
            if exc.types & {"NOT_FOUND", "FORBIDDEN"} or not exc.types:
                # e.g. an older GHES without createCommitOnBranch: fall back to the Git Data API.
                self._count("fallback_git_data")
                current = parent_sha
                if current_was_none:
                    # Whether the combined request's createRef ran: read (a request GitHub
                    # rejected as invalid ran nothing).
                    current = self.branch_sha(repo, branch)
                    if current not in (None, parent_sha):
                        raise self._moved(repo, branch, parent_sha) from None
                return self._commit_git_data(repo, branch, parent_sha, message, changes, current=current)
            raise ForgeError(f"createCommitOnBranch on {repo}@{branch} failed: {exc}") from None

    def _commit_git_data(
        self,
        repo: str,
        branch: str,
        parent_sha: str,
        message: str,
        changes: Sequence[FileChange],
        *,
        current: str | None,
    ) -> str:
        modes: dict[str, str] = {}
        base_tree: str | None = None
        if parent_sha:
            _h, tree = self._request("GET", f"/repos/{repo}/git/trees/{parent_sha}", params={"recursive": 1})
            base_tree = tree["sha"]
            modes = {e["path"]: e["mode"] for e in tree["tree"] if e["type"] == "blob"}
        entries: list[dict[str, Any]] = []
        for c in changes:
            path = c.path.strip("/")
            mode = modes.get(path, "100644")
            if c.content is None:
                if path in modes:
                    entries.append({"path": path, "mode": mode, "type": "blob", "sha": None})
                continue
            try:
                text = c.content.decode("utf-8")
                if "\0" in text:
                    raise UnicodeDecodeError("utf-8", b"", 0, 1, "NUL")
                entries.append({"path": path, "mode": mode, "type": "blob", "content": text})
            except UnicodeDecodeError:
                _h, blob = self._request(
                    "POST",
                    f"/repos/{repo}/git/blobs",
                    body={"content": base64.b64encode(c.content).decode(), "encoding": "base64"},
                    idempotent=True,  # same content, same blob id
                )
                entries.append({"path": path, "mode": mode, "type": "blob", "sha": blob["sha"]})
        tree_body: dict[str, Any] = {"tree": entries}
        if base_tree:
            tree_body["base_tree"] = base_tree
        _h, new_tree = self._request("POST", f"/repos/{repo}/git/trees", body=tree_body, idempotent=True)
        parents = [parent_sha] if parent_sha else []
        _h, commit = self._request(
            "POST",
            f"/repos/{repo}/git/commits",
            body={"message": message, "tree": new_tree["sha"], "parents": parents},
            idempotent=True,  # an unreferenced duplicate commit object is harmless
        )
        sha = str(commit["sha"])
        self._set_branch(repo, branch, sha, current)
        return sha

    def dispatch_workflow(self, repo: str, workflow: str, *, ref: str, inputs: Mapping[str, str]) -> None:
        """Start a run of ``workflow`` (its file name, e.g. ``catalog-rollout.yml``) on ``ref``
        (a branch or tag name) with ``inputs``: ``POST /repos/{r}/actions/workflows/{workflow_id}/
        dispatches`` ("Create a workflow dispatch event"; the workflow must have a
        ``workflow_dispatch`` trigger declaring the inputs; 204 without a body;
        https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event).
        A run dispatched with a workflow's own ``GITHUB_TOKEN`` does start ("events triggered by
        the GITHUB_TOKEN, with the exception of workflow_dispatch and repository_dispatch, will
        not create a new workflow run",
        https://docs.github.com/en/actions/writing-workflows/choosing-when-your-workflow-runs/triggering-a-workflow#triggering-a-workflow-from-a-workflow);
        the token needs ``actions: write``. Retried like an idempotent request: a duplicate
        dispatch queues a second run in the rollout's concurrency group, where GitHub cancels the
        older pending one ("any previously pending job or workflow in the concurrency group will
        be canceled", https://docs.github.com/en/actions/writing-workflows/choosing-what-your-workflow-does/control-the-concurrency-of-workflows-and-jobs).

        ``inputs``: at most 25 ("The maximum number of properties is 25"; the caller checks,
        ``commands.rollout.MAX_DISPATCH_INPUTS``), each declared by the workflow at ``ref``.

        Raises:
            NotFound: no such workflow; Conflict (422): the ref does not exist, the workflow at
                ``ref`` has no ``workflow_dispatch`` trigger, an input is not declared or a
                required one is missing; PermissionDenied: the token lacks ``actions: write``.
        """
        self._request(
            "POST",
            f"/repos/{repo}/actions/workflows/{quote_path(workflow)}/dispatches",
            # the body the docs define: ref (a branch or tag name) and inputs, every value a string
            # (what the workflow's inputs context receives); nothing else
            body={"ref": ref, "inputs": {str(k): str(v) for k, v in inputs.items()}},
            idempotent=True,
        )

    def delete_branch(self, repo: str, branch: str) -> None:
        """``DELETE /repos/{r}/git/refs/heads/{branch}``; absent branches are fine."""
        with contextlib.suppress(NotFound, Conflict):
            self._request("DELETE", f"/repos/{repo}/git/refs/heads/{quote_path(branch)}")


def _same_message(a: str, b: str) -> bool:
    """Commit messages equal up to whitespace (createCommitOnBranch joins headline and body)."""
    return " ".join(a.split()) == " ".join(b.split())
