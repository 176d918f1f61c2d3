"""GitHubForge: GitHub.com or GitHub Enterprise Server through PyGithub's ``Requester``.

Every call goes through ``GitHubForge._request`` so that requests are counted by kind, writes
are paced and failures are handled in one place:

* **Auth**: a token (``GITHUB_TOKEN``/``GH_TOKEN``, a PAT or an installation token) or a GitHub
  App (app id + private key + installation id → installation token, refreshed by PyGithub).
* **Commits** are made through the API, never by pushing: GraphQL ``createCommitOnBranch``
  (any number of file changes in one write; GitHub signs it, so App tokens give *Verified*
  commits). The Git Data API (blobs → tree → commit → ref) is the fallback (``commit_api=
  "git-data"`` or when GraphQL is unavailable).
* **Writes per PR**: branch ref (1) + commit (1) + PR (1) + labels/assignees (1, one
  ``PATCH /issues/{n}``) + reviewers (1) = at most 5 content-creating requests. Re-parenting an
  existing branch uses the Git Data API (tree, commit, forced ref update) so that an open PR never
  sees its head equal to the base (GitHub would close it for good).
* **Rate limits** (GitHub REST docs, "Rate limits for the REST API"): a 403/429 with
  ``Retry-After`` waits that many seconds; with ``X-RateLimit-Remaining: 0`` it waits until
  ``X-RateLimit-Reset``; a secondary-limit message without headers waits
  ``backoff`` (exponential, starting at 60 s as GitHub advises, capped by ``max_wait``). At most
  ``max_retries`` waits per request, then ``RateLimited``.
* **Pacing**: content-creating requests (REST POST/PATCH/PUT/DELETE and GraphQL mutations) are
  spaced by ``write_interval`` seconds (default 1, GitHub's guidance for secondary limits).
* **Retries**: idempotent requests (GET, PUT, DELETE, and writes whose effect is a set/replace)
  are retried on 5xx and connection errors with exponential backoff. Non-idempotent writes
  (create PR/comment/issue/release/ref, commits) are not blindly repeated: after a failure the
  forge looks for the object it tried to create (by head branch, marker, tag, parent commit) and
  only re-sends when it is absent, so there is never a duplicate and never a lost PR.
* **Errors**: 401 → ``AuthError``, 403 → ``PermissionDenied`` naming the missing scope or
  permission (from ``X-Accepted-OAuth-Scopes``/``X-Accepted-GitHub-Permissions``), 404 →
  ``NotFound`` naming the resource, 409/422 → ``Conflict``. Messages never contain the token.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import github
import requests
from github import Auth, GithubException

from catalog_ops.errors import (
    AuthError,
    AutoMergeUnavailable,
    Conflict,
    ForgeError,
    NotFound,
    PermissionDenied,
    RateLimited,
    UsageError,
)
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
from catalog_ops.gitutil import redact
from catalog_ops.settings import Settings, check_api_url, check_app_credentials

T = TypeVar("T")


_COMMIT_MUTATION = """mutation CreateCommit($input: CreateCommitOnBranchInput!) {
  createCommitOnBranch(input: $input) { commit { oid url } }
}"""

_AUTO_MERGE_MUTATION = """mutation EnableAutoMerge($input: EnablePullRequestAutoMergeInput!) {
  enablePullRequestAutoMerge(input: $input) { pullRequest { id number autoMergeRequest { mergeMethod } } }
}"""

_TAGS_QUERY = """query Tags($owner: String!, $name: String!, $first: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    refs(refPrefix: "refs/tags/", first: $first, after: $after) {
      pageInfo { hasNextPage endCursor }
      nodes { name target { __typename oid ... on Tag { message target { oid } } } }
    }
  }
}"""


class TransientError(ForgeError):
    """A request failed with 5xx or a connection error and was not (or no longer) retried."""


class _GraphQLFailure(ForgeError):
    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        self.types = {str(e["type"]) for e in errors if e.get("type")}
        super().__init__("; ".join(str(e.get("message", "")) for e in errors) or "GraphQL error")


def _connect_reason(exc: BaseException) -> str:
    """Short cause of a connection failure: ``connection refused``, ``name not resolved``, ..."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cur, requests.ConnectTimeout):
            return "connect timeout"
        text = str(cur).lower()
        if (
            "name or service not known" in text
            or "nodename nor servname" in text
            or "name resolution" in text
        ):
            return "host name not resolved"
        if "connection refused" in text:
            return "connection refused"
        nxt = cur.args[0] if cur.args and isinstance(cur.args[0], BaseException) else None
        cur = cur.__cause__ or cur.__context__ or getattr(cur, "reason", None) or nxt
    return type(exc).__name__


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="/")


class GitHubForge:
    """The ``Forge`` protocol over GitHub's REST and GraphQL APIs (PyGithub only).

    Args:
        api_url: REST base, ``https://api.github.com`` or ``https://HOST/api/v3`` (GHES).
        token: token to authenticate with (PAT, installation token, workflow ``GITHUB_TOKEN``).
        app_id / app_private_key / app_installation_id: GitHub App auth (used when ``token``
            is None); the installation token is created and refreshed by PyGithub.
        write_interval: seconds between content-creating requests (secondary-limit pacing).
        max_retries: bounded retries per request for rate limits and transient failures.
        max_wait: longest single wait (seconds) for a rate limit before giving up.
        backoff: first retry delay in seconds for 5xx/connection errors (doubles each time).
        connect_tries: attempts when the server cannot be reached at all (refused, DNS, connect
            timeout); back-offs there are capped at ``connect_backoff_cap`` seconds each, so an
            unreachable host fails in a few seconds instead of minutes.
        secondary_backoff: wait for a secondary limit that carries no ``Retry-After`` (GitHub
            advises at least one minute).
        commit_api: ``"graphql"`` (createCommitOnBranch, default) or ``"git-data"``.
        timeout: HTTP timeout in seconds.
        sleep: injectable sleep (tests).

    Raises:
        AuthError: no credentials were given.
    """

    kind = "github"

    def __init__(
        self,
        *,
        api_url: str = "https://api.github.com",
        token: str | None = None,
        app_id: str | None = None,
        app_private_key: str | None = None,
        app_installation_id: str | None = None,
        write_interval: float = 1.0,
        max_retries: int = 6,
        max_wait: float = 900.0,
        backoff: float = 1.0,
        secondary_backoff: float = 60.0,
        connect_tries: int = 3,
        connect_backoff_cap: float = 2.0,
        commit_api: str = "graphql",
        timeout: int = 30,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        auth: Auth.Auth
        if token:
            auth = Auth.Token(token)
        elif app_id and app_private_key:
            if not app_installation_id:
                raise AuthError(
                    "GitHub App auth needs CATALOG_OPS_APP_INSTALLATION_ID (the installation to act as)"
                )
            check_app_credentials(app_id, app_private_key, app_installation_id)
            auth = Auth.AppAuth(app_id, app_private_key).get_installation_auth(int(app_installation_id))
        else:
            raise AuthError(
                "no GitHub credentials: set GITHUB_TOKEN (or GH_TOKEN), or CATALOG_OPS_APP_ID, "
                "CATALOG_OPS_APP_PRIVATE_KEY and CATALOG_OPS_APP_INSTALLATION_ID"
            )
        if commit_api not in ("graphql", "git-data"):
            raise UsageError(f"commit_api must be 'graphql' or 'git-data', not {commit_api!r}")
        self.api_url = check_api_url(api_url, "GitHub API URL")
        self._auth = auth
        self._gh = github.Github(
            base_url=self.api_url,
            auth=auth,
            timeout=timeout,
            retry=None,
            per_page=100,
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        self._req = self._gh.requester
        self.write_interval = write_interval
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.backoff = backoff
        self.secondary_backoff = secondary_backoff
        self.connect_tries = max(1, connect_tries)
        self.connect_backoff_cap = connect_backoff_cap
        self.commit_api = commit_api
        self._sleep = sleep
        self._counts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._last_write = 0.0
        self.waits: list[tuple[str, float]] = []  # (reason, seconds) of every back-off taken

    @classmethod
    def from_settings(cls, settings: Settings) -> GitHubForge:
        """Forge from settings (api url, token or App credentials, write interval)."""
        return cls(
            api_url=settings.github_api_url,
            token=settings.github_token,
            app_id=settings.app_id,
            app_private_key=settings.app_private_key,
            app_installation_id=settings.app_installation_id,
            write_interval=settings.write_interval,
        )

    # --- request core ---------------------------------------------------------------------
    def _count(self, *kinds: str) -> None:
        with self._lock:
            for k in kinds:
                self._counts[k] += 1

    def request_counts(self) -> Mapping[str, int]:
        """Requests by kind: ``requests`` (total), ``GET``/``POST``/``PATCH``/``PUT``/``DELETE``
        (REST), ``graphql``, ``content_creating``, ``retries``, ``rate_limited``, ``recovered``."""
        with self._lock:
            return dict(self._counts)

    def _pace(self) -> None:
        with self._write_lock:
            wait = self._last_write + self.write_interval - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            self._last_write = time.monotonic()

    def _wait(self, reason: str, seconds: float) -> None:
        self.waits.append((reason, seconds))
        if seconds > 0:
            self._sleep(seconds)

    def _rate_limit_wait(self, status: int, headers: Mapping[str, str], data: Any) -> float | None:
        if status not in (403, 429):
            return None
        message = str(data.get("message", "")) if isinstance(data, dict) else str(data)
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                return max(0.0, float(retry_after))
            except ValueError:
                return self.secondary_backoff
        if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
            try:
                return max(0.0, float(headers["x-ratelimit-reset"]) - time.time()) + 0.5
            except ValueError:
                return self.secondary_backoff
        if "rate limit" in message.lower() or "abuse" in message.lower():
            return self.secondary_backoff
        return None

    def _request(
        self,
        verb: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
        graphql: bool = False,
        mutation: bool = False,
    ) -> tuple[dict[str, Any], Any]:
        """One API call with pacing, counting, rate-limit waits and transient retries.

        Raises: TransientError (5xx/connection failure of a non-idempotent request, or retries
        exhausted), RateLimited, and the mapped 4xx errors.
        """
        if idempotent is None:
            idempotent = verb in ("GET", "PUT", "DELETE")
        content = mutation if graphql else verb != "GET"
        attempt = 0
        connect_failures = 0
        while True:
            if content:
                self._pace()
            kinds = ["requests", "graphql" if graphql else verb]
            if content:
                kinds.append("content_creating")
            if attempt:
                kinds.append("retries")
            self._count(*kinds)
            try:
                return self._req.requestJsonAndCheck(verb, url, parameters=dict(params or {}), input=body)
            except GithubException as exc:
                headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
                wait = self._rate_limit_wait(exc.status, headers, exc.data)
                if wait is not None:
                    if attempt >= self.max_retries or wait > self.max_wait:
                        raise RateLimited(
                            f"GitHub rate limit on {verb} {self._show(url)}: still limited after {attempt} "
                            f"retries (next wait {wait:.0f}s)"
                        ) from None
                    self._count("rate_limited")
                    self._wait("rate-limit", wait)
                    attempt += 1
                    continue
                if exc.status >= 500:
                    if idempotent and attempt < self.max_retries:
                        self._wait("5xx", self.backoff * 2**attempt)
                        attempt += 1
                        continue
                    raise TransientError(f"{verb} {self._show(url)} failed: HTTP {exc.status}") from None
                raise self._map_error(exc, verb, url) from None
            except (requests.ConnectionError, ConnectionError) as exc:
                # Server unreachable (refused, DNS, connect timeout): a few quick tries only.
                connect_failures += 1
                if idempotent and connect_failures < self.connect_tries and attempt < self.max_retries:
                    self._wait("connection", min(self.backoff * 2**attempt, self.connect_backoff_cap))
                    attempt += 1
                    continue
                tries = connect_failures if idempotent else 1
                raise TransientError(
                    f"cannot connect to {self._origin()} ({_connect_reason(exc)}) after {tries} "
                    f"{'try' if tries == 1 else 'tries'} ({verb} {self._show(url)})"
                ) from None
            except requests.Timeout as exc:
                if idempotent and attempt < self.max_retries:
                    self._wait("timeout", self.backoff * 2**attempt)
                    attempt += 1
                    continue
                raise TransientError(f"{verb} {self._show(url)} failed: {type(exc).__name__}") from None

    def _origin(self) -> str:
        """``scheme://host[:port]`` of the API (no path, no userinfo: never a credential)."""
        parts = urllib.parse.urlsplit(self.api_url)
        host = parts.hostname or ""
        if ":" in host:
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{host}{port}"

    def _show(self, url: str) -> str:
        parsed = urllib.parse.urlsplit(url)
        return redact(parsed.path if parsed.scheme else url)

    def _map_error(self, exc: GithubException, verb: str, url: str) -> ForgeError:
        data = exc.data if isinstance(exc.data, dict) else {}
        message = str(data.get("message", "")) or f"HTTP {exc.status}"
        headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
        where = f"{verb} {self._show(url)}"
        if exc.status == 401:
            return AuthError(
                f"GitHub rejected the credentials ({message}) on {where}: check GITHUB_TOKEN, or the App id, "
                "private key and installation id"
            )
        if exc.status == 403:
            need = headers.get("x-accepted-github-permissions")
            scopes_needed = headers.get("x-accepted-oauth-scopes")
            scopes_have = headers.get("x-oauth-scopes")
            detail = ""
            if need:
                detail = f"; the token needs permission(s): {need}"
            elif scopes_needed:
                detail = f"; the token needs scope(s): {scopes_needed} (it has: {scopes_have or 'none'})"
            return PermissionDenied(f"GitHub refused {where}: {message}{detail}")
        if exc.status == 404:
            return NotFound(
                f"GitHub: {where} not found ({message}): the repository, branch, file or object does not exist, "
                "or the credentials cannot see it (private repos need the 'repo' scope or the App installed on them)"
            )
        if exc.status in (409, 422, 405):
            errors = data.get("errors") or []
            parts = [
                str(e.get("message") or f"{e.get('field', '')} {e.get('code', '')}".strip())
                for e in errors
                if isinstance(e, dict)
            ]
            detail = f": {'; '.join(parts)}" if parts else ""
            err = Conflict(f"GitHub refused {where}: {message}{detail}")
            err.status = exc.status  # type: ignore[attr-defined]
            err.errors = errors  # type: ignore[attr-defined]
            return err
        return ForgeError(f"GitHub {where} failed: HTTP {exc.status} {message}")

    def _graphql(
        self, query: str, variables: Mapping[str, Any], *, mutation: bool, idempotent: bool
    ) -> dict[str, Any]:
        _h, data = self._request(
            "POST",
            self._req.graphql_url,
            body={"query": query, "variables": dict(variables)},
            graphql=True,
            mutation=mutation,
            idempotent=idempotent,
        )
        if isinstance(data, dict) and data.get("errors"):
            raise _GraphQLFailure(list(data["errors"]))
        return dict(data.get("data") or {}) if isinstance(data, dict) else {}

    def _paginate(
        self, url: str, params: Mapping[str, Any] | None = None, *, key: str | None = None
    ) -> Iterator[Any]:
        """Items of every page of ``url`` (``Link: rel="next"``). Pages are JSON lists, or with
        ``key`` objects holding the list under ``key`` (e.g. ``check_runs``)."""
        params = {"per_page": 100, **(params or {})}
        headers, data = self._request("GET", url, params=params)
        while True:
            if key is not None:
                yield from data.get(key, [])
            elif isinstance(data, list):
                yield from data
            nxt = _next_link(headers.get("link", ""))
            if not nxt:
                return
            headers, data = self._request("GET", nxt)

    def _create(self, what: str, do: Callable[[], T], find: Callable[[], T | None]) -> T:
        """Run a non-idempotent write; after a transient failure, look for its result before retrying."""
        last: TransientError | None = None
        for attempt in range(self.max_retries + 1):
            try:
                return do()
            except TransientError as exc:
                last = exc
                self._wait("recover", self.backoff * 2**attempt)
                try:
                    found = find()
                except TransientError:
                    found = None
                if found is not None:
                    self._count("recovered")
                    return found
        raise ForgeError(f"{what} failed after {self.max_retries + 1} attempts: {last}")

    # --- repositories and content ----------------------------------------------------------
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
        """``GET /orgs/{owner}/repos`` (or ``/users/{owner}/repos`` for a user), all pages."""
        try:
            items = list(self._paginate(f"/orgs/{owner}/repos", {"type": "all"}))
        except NotFound:
            items = list(self._paginate(f"/users/{owner}/repos", {"type": "owner"}))
        return filter_repos(
            (self._repo_from(d) for d in sorted(items, key=lambda d: d["full_name"])),
            include=include,
            exclude=exclude,
            topics=topics,
            skip_archived=skip_archived,
            skip_forks=skip_forks,
        )

    def branch_sha(self, repo: str, branch: str) -> str | None:
        """``GET /repos/{r}/git/ref/heads/{branch}``; None on 404."""
        try:
            _h, data = self._request("GET", f"/repos/{repo}/git/ref/heads/{_q(branch)}")
        except NotFound:
            return None
        if isinstance(data, list):  # old GHES returns prefix matches
            data = next((d for d in data if d.get("ref") == f"refs/heads/{branch}"), None)
            if data is None:
                return None
        return str(data["object"]["sha"])

    def list_tree(self, repo: str, ref: str) -> list[str]:
        """``GET /repos/{r}/git/trees/{ref}?recursive=1`` (walks subtrees if GitHub truncates)."""
        _h, data = self._request("GET", f"/repos/{repo}/git/trees/{_q(ref)}", params={"recursive": 1})
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
                "GET", f"/repos/{repo}/contents/{_q(path.strip('/'))}", params={"ref": ref}
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
        """HTTPS clone URL carrying the token as ``x-access-token`` (never print it)."""
        url = self.get_repo(repo).clone_url
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme == "https":
            token = getattr(self._auth, "token", None)
            if token:
                return urllib.parse.urlunsplit(
                    parsed._replace(netloc=f"x-access-token:{token}@{parsed.netloc}")
                )
        return url

    # --- branches and commits --------------------------------------------------------------
    def _commit_info(self, repo: str, sha: str) -> dict[str, Any]:
        _h, data = self._request("GET", f"/repos/{repo}/git/commits/{sha}")
        return dict(data)

    def _set_branch(self, repo: str, branch: str, sha: str, current: str | None) -> None:
        if current == sha:
            return
        if current is None:

            def create() -> bool:
                try:
                    self._request(
                        "POST", f"/repos/{repo}/git/refs", body={"ref": f"refs/heads/{branch}", "sha": sha}
                    )
                except Conflict:
                    if self.branch_sha(repo, branch) is None:
                        raise
                    self._request(
                        "PATCH",
                        f"/repos/{repo}/git/refs/heads/{_q(branch)}",
                        body={"sha": sha, "force": True},
                        idempotent=True,
                    )
                return True

            self._create(
                f"create branch {branch}",
                create,
                lambda: True if self.branch_sha(repo, branch) == sha else None,
            )
        else:
            self._request(
                "PATCH",
                f"/repos/{repo}/git/refs/heads/{_q(branch)}",
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
    ) -> str:
        """One commit on ``parent_sha``; ``branch`` is created or force-moved to it.

        New branch: create the ref at the parent, then GraphQL ``createCommitOnBranch`` (2
        writes); branch already at the parent: ``createCommitOnBranch`` (1 write). A branch that
        must be re-parented (an update after the base moved) is built with the Git Data API —
        tree, commit, then one forced ref update (3 writes; one blob more per binary file) —
        because moving the branch to the parent first would leave its open PR with no commits,
        and GitHub closes such a PR for good. A retry after a lost response recognises the
        commit already made (same parent and message) instead of committing twice.

        Raises:
            Conflict: the branch moved while committing (GraphQL ``STALE_DATA``).
            ForgeError: ``createCommitOnBranch`` failed for another reason (GraphQL errors other
                than NOT_FOUND/FORBIDDEN, which fall back to the Git Data API).
        """
        if not parent_sha or self.commit_api == "git-data":
            return self._commit_git_data(repo, branch, parent_sha, message, changes)
        current = self.branch_sha(repo, branch)
        if current is not None and current != parent_sha:
            return self._commit_git_data(repo, branch, parent_sha, message, changes, current=current)
        self._set_branch(repo, branch, parent_sha, current)
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
            try:
                data = self._graphql(_COMMIT_MUTATION, {"input": inp}, mutation=True, idempotent=False)
            except _GraphQLFailure as exc:
                if "STALE_DATA" in exc.types:
                    done = already_done()
                    if done:
                        return done
                    raise Conflict(f"branch {branch} of {repo} moved while committing: {exc}") from None
                raise
            return str(data["createCommitOnBranch"]["commit"]["oid"])

        try:
            return self._create(f"commit on {repo}@{branch}", do, already_done)
        except _GraphQLFailure as exc:
            if exc.types & {"NOT_FOUND", "FORBIDDEN"} or not exc.types:
                # e.g. an older GHES without createCommitOnBranch: fall back to the Git Data API.
                self._count("fallback_git_data")
                return self._commit_git_data(repo, branch, parent_sha, message, changes)
            raise ForgeError(f"createCommitOnBranch on {repo}@{branch} failed: {exc}") from None

    def _commit_git_data(
        self,
        repo: str,
        branch: str,
        parent_sha: str,
        message: str,
        changes: Sequence[FileChange],
        *,
        current: str | None = None,
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
        self._set_branch(repo, branch, sha, current if current is not None else self.branch_sha(repo, branch))
        return sha

    def delete_branch(self, repo: str, branch: str) -> None:
        """``DELETE /repos/{r}/git/refs/heads/{branch}``; absent branches are fine."""
        with contextlib.suppress(NotFound, Conflict):
            self._request("DELETE", f"/repos/{repo}/git/refs/heads/{_q(branch)}")

    # --- pull requests -----------------------------------------------------------------------
    def _pull_from(self, repo: str, d: Mapping[str, Any]) -> PullRequest:
        owner = repo.split("/")[0]
        merged = bool(d.get("merged") or d.get("merged_at"))
        auto = d.get("auto_merge")
        return PullRequest(
            repo=repo,
            number=int(d["number"]),
            title=d.get("title") or "",
            body=d.get("body") or "",
            head=d["head"]["ref"],
            base=d["base"]["ref"],
            head_sha=d["head"]["sha"],
            state=PullState.MERGED if merged else PullState(d["state"]),
            url=d.get("html_url") or d.get("url") or "",
            labels=tuple(x["name"] for x in d.get("labels") or ()),
            reviewers=tuple(u["login"] for u in d.get("requested_reviewers") or ())
            + tuple(f"{owner}/{t['slug']}" for t in d.get("requested_teams") or ()),
            assignees=tuple(u["login"] for u in d.get("assignees") or ()),
            auto_merge=auto is not None,
            merge_method=(auto or {}).get("merge_method"),
            merged_sha=d.get("merge_commit_sha") if merged else None,
        )

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
        """See ``Forge.open_pull``: at most 3 writes here (PR, labels+assignees, reviewers).

        Raises NotFound when GitHub rejects ``head``/``base`` as invalid fields (missing branch),
        Conflict for other 422s (e.g. "No commits between").
        """
        owner = repo.split("/")[0]
        data: dict[str, Any] | None = None

        def find() -> dict[str, Any] | None:
            items = list(self._paginate(f"/repos/{repo}/pulls", {"head": f"{owner}:{head}", "state": "open"}))
            return dict(items[0]) if items else None

        def do() -> dict[str, Any]:
            _h, d = self._request(
                "POST",
                f"/repos/{repo}/pulls",
                body={"title": title, "body": body, "head": head, "base": base},
            )
            return dict(d)

        try:
            data = self._create(f"open pull request {head} → {base} in {repo}", do, find)
        except Conflict as exc:
            errors = getattr(exc, "errors", [])
            text = " ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
            fields = {e.get("field") for e in errors if isinstance(e, dict) and e.get("code") == "invalid"}
            if "already exists" in text:
                data = find()
                if data is None:
                    raise
                self._count("recovered_422")
            elif fields & {"head", "base"}:
                raise NotFound(
                    f"{'/'.join(sorted(str(f) for f in fields))} branch not found in {repo}: {exc}"
                ) from None
            else:
                raise
        assert data is not None
        number = int(data["number"])
        if (data.get("title"), data.get("body") or "", data["base"]["ref"]) != (title, body, base):
            # an existing PR (422 "already exists", or found while recovering from a lost
            # response): bring title, body and base up to date
            _h, d = self._request(
                "PATCH",
                f"/repos/{repo}/pulls/{number}",
                body={"title": title, "body": body, "base": base},
                idempotent=True,
            )
            data = dict(d)
        cur_labels = [x["name"] for x in data.get("labels") or ()]
        cur_assignees = [u["login"] for u in data.get("assignees") or ()]
        want_labels = list(dict.fromkeys([*cur_labels, *labels]))
        want_assignees = list(dict.fromkeys([*cur_assignees, *assignees]))
        if want_labels != cur_labels or want_assignees != cur_assignees:
            patch: dict[str, Any] = {}
            if want_labels != cur_labels:
                patch["labels"] = want_labels
            if want_assignees != cur_assignees:
                patch["assignees"] = want_assignees
            _h, issue = self._request("PATCH", f"/repos/{repo}/issues/{number}", body=patch, idempotent=True)
            data["labels"] = issue.get("labels", [])
            data["assignees"] = issue.get("assignees", [])
        teams = [t.split("/", 1)[-1] for t in team_reviewers]
        have_users = {u["login"] for u in data.get("requested_reviewers") or ()}
        have_teams = {t["slug"] for t in data.get("requested_teams") or ()}
        if set(reviewers) - have_users or set(teams) - have_teams:
            _h, rr = self._request(
                "POST",
                f"/repos/{repo}/pulls/{number}/requested_reviewers",
                body={"reviewers": list(reviewers), "team_reviewers": teams},
                idempotent=True,
            )
            data["requested_reviewers"] = rr.get("requested_reviewers", [])
            data["requested_teams"] = rr.get("requested_teams", [])
        return self._pull_from(repo, data)

    def get_pull(self, repo: str, number: int) -> PullRequest:
        """``GET /repos/{r}/pulls/{n}``."""
        _h, data = self._request("GET", f"/repos/{repo}/pulls/{number}")
        return self._pull_from(repo, data)

    def find_open_pull(self, repo: str, head: str) -> PullRequest | None:
        """``GET /repos/{r}/pulls?head=owner:head&state=open`` (one request)."""
        owner = repo.split("/")[0]
        _h, data = self._request(
            "GET", f"/repos/{repo}/pulls", params={"head": f"{owner}:{head}", "state": "open", "per_page": 10}
        )
        return self._pull_from(repo, data[0]) if data else None

    def find_closed_pull(self, repo: str, head: str) -> PullRequest | None:
        """``GET /repos/{r}/pulls?head=owner:head&state=closed&per_page=1`` (one request; GitHub
        sorts by creation date, newest first)."""
        owner = repo.split("/")[0]
        _h, data = self._request(
            "GET",
            f"/repos/{repo}/pulls",
            params={"head": f"{owner}:{head}", "state": "closed", "per_page": 1},
        )
        return self._pull_from(repo, data[0]) if data else None

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
        """``PATCH /pulls/{n}`` for title/body/base and ``PATCH /issues/{n}`` for labels.

        Raises NotFound for an unknown PR or ``base`` branch.
        """
        fields = {k: v for k, v in (("title", title), ("body", body), ("base", base)) if v is not None}
        if fields:
            try:
                _h, data = self._request(
                    "PATCH", f"/repos/{repo}/pulls/{number}", body=fields, idempotent=True
                )
            except Conflict as exc:
                if base is not None and any(e.get("field") == "base" for e in getattr(exc, "errors", [])):
                    raise NotFound(f"base branch {base!r} not found in {repo}") from None
                raise
        else:
            _h, data = self._request("GET", f"/repos/{repo}/pulls/{number}")
        data = dict(data)
        if labels is not None:
            _h, issue = self._request(
                "PATCH",
                f"/repos/{repo}/issues/{number}",
                body={"labels": list(dict.fromkeys(labels))},
                idempotent=True,
            )
            data["labels"] = issue.get("labels", [])
        return self._pull_from(repo, data)

    def close_pull(self, repo: str, number: int, *, comment: str | None = None) -> None:
        """Comment (optional), then ``PATCH /pulls/{n} {"state": "closed"}``."""
        if comment:
            self._create_comment(repo, number, comment, lambda c: c["body"] == comment)
        self._request("PATCH", f"/repos/{repo}/pulls/{number}", body={"state": "closed"}, idempotent=True)

    def _add_to_issue(self, repo: str, number: int, key: str, values: Sequence[str]) -> None:
        """``POST /repos/{r}/issues/{n}/{key}`` with ``{key: values}`` (``key``: ``labels`` or
        ``assignees``; GitHub REST "Add labels/assignees to an issue", which adds to the set and
        so is safe to repeat). No request when ``values`` is empty."""
        if values:
            self._request(
                "POST", f"/repos/{repo}/issues/{number}/{key}", body={key: list(values)}, idempotent=True
            )

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        """``POST /repos/{r}/issues/{n}/labels``."""
        self._add_to_issue(repo, number, "labels", labels)

    def request_reviewers(
        self, repo: str, number: int, *, users: Sequence[str] = (), teams: Sequence[str] = ()
    ) -> None:
        """``POST /repos/{r}/pulls/{n}/requested_reviewers`` (team slugs; ``org/slug`` accepted)."""
        if users or teams:
            self._request(
                "POST",
                f"/repos/{repo}/pulls/{number}/requested_reviewers",
                body={"reviewers": list(users), "team_reviewers": [t.split("/", 1)[-1] for t in teams]},
                idempotent=True,
            )

    def add_assignees(self, repo: str, number: int, assignees: Sequence[str]) -> None:
        """``POST /repos/{r}/issues/{n}/assignees``."""
        self._add_to_issue(repo, number, "assignees", assignees)

    def enable_auto_merge(self, repo: str, number: int, *, method: str = "squash") -> None:
        """GraphQL ``enablePullRequestAutoMerge``.

        When GitHub answers that the PR is already in "clean status" (checks passed, nothing to
        wait for) the PR is merged right away with ``method``, like the local forge does.

        Raises:
            AutoMergeUnavailable: the repository does not allow auto-merge (Settings → General →
                "Allow auto-merge"), or the PR cannot take it (closed, draft, ...).
        """
        check_merge_method(method)
        _h, pr = self._request("GET", f"/repos/{repo}/pulls/{number}")
        if pr.get("state") != "open":
            raise AutoMergeUnavailable(f"pull request #{number} in {repo} is not open")
        try:
            self._graphql(
                _AUTO_MERGE_MUTATION,
                {"input": {"pullRequestId": pr["node_id"], "mergeMethod": method.upper()}},
                mutation=True,
                idempotent=True,
            )
        except _GraphQLFailure as exc:
            text = str(exc)
            if "clean status" in text:
                self.merge_pull(repo, number, method=method)
                return
            if "not allowed" in text:
                raise AutoMergeUnavailable(
                    f"auto-merge is not allowed in {repo} (enable Settings → General → Allow auto-merge): {text}"
                ) from None
            raise AutoMergeUnavailable(f"cannot enable auto-merge on {repo}#{number}: {text}") from None

    def checks_state(self, repo: str, number: int) -> ChecksState:
        """Combined checks of the PR's head commit (see ``commit_checks_state``)."""
        _h, pr = self._request("GET", f"/repos/{repo}/pulls/{number}")
        return self.commit_checks_state(repo, pr["head"]["sha"])

    def commit_checks_state(self, repo: str, sha: str) -> ChecksState:
        """Combined commit status (``GET /commits/{sha}/status``) merged with the check runs
        (``GET /commits/{sha}/check-runs``): any failure/error/cancelled/timed_out/
        action_required → FAILURE; else anything queued/in progress or a pending status →
        PENDING; else any success → SUCCESS; nothing reported → NONE
        (``forge.base.CommitChecks``)."""
        _h, status = self._request("GET", f"/repos/{repo}/commits/{sha}/status")
        runs = list(self._paginate(f"/repos/{repo}/commits/{sha}/check-runs", key="check_runs"))
        states: list[str] = []
        if status.get("total_count", 0):
            states.extend(str(s.get("state")) for s in status.get("statuses") or ())
            if not status.get("statuses"):
                states.append(str(status.get("state")))
        for run in runs:
            if run.get("status") != "completed":
                states.append("pending")
            elif run.get("conclusion") in ("success", "neutral", "skipped"):
                states.append("success")
            else:  # failure, cancelled, timed_out, action_required, stale
                states.append("failure")
        if not states:
            return ChecksState.NONE
        if any(s in ("failure", "error") for s in states):
            return ChecksState.FAILURE
        if any(s == "pending" for s in states):
            return ChecksState.PENDING
        return ChecksState.SUCCESS

    def merge_pull(self, repo: str, number: int, *, method: str = "squash") -> str:
        """``PUT /repos/{r}/pulls/{n}/merge``; returns the merge commit id. Raises Conflict."""
        check_merge_method(method)
        attempted = False

        def do() -> str:
            nonlocal attempted
            try:
                _h, data = self._request(
                    "PUT",
                    f"/repos/{repo}/pulls/{number}/merge",
                    body={"merge_method": method},
                    idempotent=False,
                )
            except Conflict:
                if attempted:
                    pr = self.get_pull(repo, number)
                    if pr.state is PullState.MERGED and pr.merged_sha:
                        return pr.merged_sha
                raise
            finally:
                attempted = True
            return str(data["sha"])

        def find() -> str | None:
            pr = self.get_pull(repo, number)
            return pr.merged_sha if pr.state is PullState.MERGED else None

        return self._create(f"merge {repo}#{number}", do, find)

    def pulls_for_commit(self, repo: str, sha: str) -> list[PullRequest]:
        """``GET /repos/{r}/commits/{sha}/pulls``, merged ones only."""
        return [
            self._pull_from(repo, d)
            for d in self._paginate(f"/repos/{repo}/commits/{sha}/pulls")
            if d.get("merged_at")
        ]

    # --- comments and issues ----------------------------------------------------------------
    def _create_comment(
        self, repo: str, number: int, body: str, match: Callable[[dict[str, Any]], bool]
    ) -> dict[str, Any]:
        def do() -> dict[str, Any]:
            _h, d = self._request("POST", f"/repos/{repo}/issues/{number}/comments", body={"body": body})
            return dict(d)

        def find() -> dict[str, Any] | None:
            return next(
                (c for c in self._paginate(f"/repos/{repo}/issues/{number}/comments") if match(c)), None
            )

        return self._create(f"comment on {repo}#{number}", do, find)

    def upsert_comment(self, repo: str, number: int, *, marker: str, body: str) -> Comment:
        """List comments, then ``PATCH`` the one with ``marker`` or ``POST`` a new one."""
        check_marker("comment", marker, body)
        existing = next(
            (
                c
                for c in self._paginate(f"/repos/{repo}/issues/{number}/comments")
                if marker in (c.get("body") or "")
            ),
            None,
        )
        if existing is None:
            data = self._create_comment(repo, number, body, lambda c: marker in (c.get("body") or ""))
            if data.get("body") != body:
                _h, data = self._request(
                    "PATCH",
                    f"/repos/{repo}/issues/comments/{data['id']}",
                    body={"body": body},
                    idempotent=True,
                )
        elif existing.get("body") != body:
            _h, data = self._request(
                "PATCH",
                f"/repos/{repo}/issues/comments/{existing['id']}",
                body={"body": body},
                idempotent=True,
            )
        else:
            data = existing
        return Comment(id=int(data["id"]), body=data["body"], url=data.get("html_url", ""))

    def upsert_issue(
        self, repo: str, *, marker: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> Issue:
        """Find the open issue containing ``marker`` (``GET /issues?state=open``), then ``PATCH``
        it or ``POST /issues``."""
        check_marker("issue", marker, body)

        def find() -> dict[str, Any] | None:
            return next(
                (
                    i
                    for i in self._paginate(f"/repos/{repo}/issues", {"state": "open"})
                    if "pull_request" not in i and marker in (i.get("body") or "")
                ),
                None,
            )

        existing = find()
        if existing is None:

            def do() -> dict[str, Any]:
                _h, d = self._request(
                    "POST",
                    f"/repos/{repo}/issues",
                    body={"title": title, "body": body, "labels": list(labels)},
                )
                return dict(d)

            data = self._create(f"create issue in {repo}", do, find)
        else:
            patch: dict[str, Any] = {"title": title, "body": body}
            if labels:
                patch["labels"] = list(labels)
            _h, data = self._request(
                "PATCH", f"/repos/{repo}/issues/{existing['number']}", body=patch, idempotent=True
            )
        return Issue(
            number=int(data["number"]),
            title=data["title"],
            body=data.get("body") or "",
            url=data.get("html_url", ""),
            state=data.get("state", "open"),
        )

    # --- tags and releases ------------------------------------------------------------------
    def list_tags(self, repo: str) -> list[Tag]:
        """All tags via one GraphQL query per 100 tags (peeled commit and annotation message).

        Raises NotFound for an unknown repository, ForgeError for other GraphQL errors.
        """
        owner, name = repo.split("/", 1)
        tags: list[Tag] = []
        after: str | None = None
        while True:
            try:
                data = self._graphql(
                    _TAGS_QUERY,
                    {"owner": owner, "name": name, "first": 100, "after": after},
                    mutation=False,
                    idempotent=True,
                )
            except _GraphQLFailure as exc:
                if "NOT_FOUND" in exc.types:
                    raise NotFound(f"GitHub: repository {repo} not found: {exc}") from None
                raise ForgeError(f"listing tags of {repo} failed: {exc}") from None
            refs = (data.get("repository") or {}).get("refs") or {}
            for node in refs.get("nodes") or ():
                target = node["target"]
                if target.get("__typename") == "Tag":
                    tags.append(
                        Tag(
                            name=node["name"],
                            sha=(target.get("target") or {}).get("oid") or target["oid"],
                            message=(target.get("message") or "").rstrip("\n"),
                        )
                    )
                else:
                    tags.append(Tag(name=node["name"], sha=target["oid"], message=None))
            info = refs.get("pageInfo") or {}
            if not info.get("hasNextPage"):
                return tags
            after = info.get("endCursor")

    def create_tag(self, repo: str, *, name: str, sha: str, message: str) -> Tag:
        """``POST /git/tags`` (annotated tag object) + ``POST /git/refs``. Raises Conflict if it exists."""
        try:
            self._request("GET", f"/repos/{repo}/git/ref/tags/{_q(name)}")
            raise Conflict(f"tag {name} already exists in {repo}")
        except NotFound:
            pass
        _h, tag_obj = self._request(
            "POST",
            f"/repos/{repo}/git/tags",
            body={"tag": name, "message": message, "object": sha, "type": "commit"},
            idempotent=True,  # an unreferenced extra tag object is harmless
        )

        def do() -> bool:
            self._request(
                "POST", f"/repos/{repo}/git/refs", body={"ref": f"refs/tags/{name}", "sha": tag_obj["sha"]}
            )
            return True

        def find() -> bool | None:
            try:
                self._request("GET", f"/repos/{repo}/git/ref/tags/{_q(name)}")
                return True
            except NotFound:
                return None

        self._create(f"create tag {name} in {repo}", do, find)
        return Tag(name=name, sha=sha, message=message.rstrip("\n"))

    def _release_from(self, d: Mapping[str, Any]) -> Release:
        return Release(
            tag=d["tag_name"],
            name=d.get("name") or d["tag_name"],
            body=d.get("body") or "",
            url=d.get("html_url", ""),
            prerelease=bool(d.get("prerelease")),
            draft=bool(d.get("draft")),
            created_at=d.get("created_at") or "",
        )

    def create_release(
        self, repo: str, *, tag: str, name: str, body: str, prerelease: bool = False
    ) -> Release:
        """``POST /repos/{r}/releases``. Raises Conflict when a release for ``tag`` exists."""

        def do() -> Release:
            _h, d = self._request(
                "POST",
                f"/repos/{repo}/releases",
                body={"tag_name": tag, "name": name, "body": body, "prerelease": prerelease},
            )
            return self._release_from(d)

        return self._create(f"create release {tag} in {repo}", do, lambda: self.get_release(repo, tag))

    def get_release(self, repo: str, tag: str) -> Release | None:
        """``GET /repos/{r}/releases/tags/{tag}``; None on 404."""
        try:
            _h, d = self._request("GET", f"/repos/{repo}/releases/tags/{_q(tag)}")
        except NotFound:
            return None
        return self._release_from(d)

    def list_releases(self, repo: str) -> list[Release]:
        """``GET /repos/{r}/releases``, all pages, newest first."""
        return [self._release_from(d) for d in self._paginate(f"/repos/{repo}/releases")]

    # --- ownership ----------------------------------------------------------------------------
    def codeowners(self, repo: str, ref: str) -> str | None:
        """See ``Forge.codeowners`` (one ``read_file`` per candidate path)."""
        return read_codeowners(lambda path: self.read_file(repo, path, ref))


def _same_message(a: str, b: str) -> bool:
    """Commit messages equal up to whitespace (createCommitOnBranch joins headline and body)."""
    return " ".join(a.split()) == " ".join(b.split())


def _next_link(link: str) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header (RFC 8288), or None."""
    for part in link.split(","):
        section = part.split(";")
        if len(section) < 2:
            continue
        url = section[0].strip().strip("<>")
        if any(s.strip() == 'rel="next"' for s in section[1:]):
            return url
    return None
