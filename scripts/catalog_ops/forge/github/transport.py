"""Transport for GitHubForge: one ``_request`` for every REST and GraphQL call.

Every call goes through ``GitHubTransport._request`` so that requests are counted by kind, writes
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
  ``max_retries`` waits per request, then ``RateLimited``. GraphQL limits arrive as HTTP 200
  with ``errors[].type == "RATE_LIMITED"`` or the secondary-limit message
  (``graphql_rate_limited``) and take the same waits; the commit path never falls back to Git
  Data writes while limited (``RateLimited`` is not a ``GraphQLFailure``).
* **Pacing** (``pacing.Budget``): content-creating requests (REST POST/PATCH/PUT/DELETE and
  GraphQL mutations) take slots of GitHub's 80-a-minute / 500-an-hour windows, spaced by
  ``write_interval`` seconds (default 1, GitHub's guidance for secondary limits); every response's
  ``x-ratelimit-*`` headers feed the primary limit, which is waited for when it runs out. A
  rate-limit wait is taken whenever it ends before the budget's ``deadline`` (the job's end);
  without a deadline, up to ``max_wait``. Otherwise ``pacing.BudgetExhausted`` says when to resume.
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

import collections
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import github
import requests
from github import Auth, GithubException

from catalog_ops.errors import (
    AuthError,
    Conflict,
    ForgeError,
    NotFound,
    PermissionDenied,
    RateLimited,
    TransientError,
    UsageError,
)
from catalog_ops.forge.github.pacing import Budget, BudgetExhausted
from catalog_ops.gitutil import redact
from catalog_ops.settings import check_api_url, check_app_credentials

T = TypeVar("T")


def _connect_reason(exc: BaseException) -> str:
    """Short cause of a connection failure: ``connection refused``, ``name not resolved``, ..."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    tls = False
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cur, requests.ConnectTimeout):
            return "connect timeout"
        if isinstance(cur, ssl.SSLError):
            detail = cur.reason or cur.strerror
            return f"TLS error: {detail}" if detail else "TLS error"
        if isinstance(cur, requests.exceptions.SSLError):
            tls = True
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
        reason = getattr(cur, "reason", None)  # urllib3 errors wrap the cause here (or a string)
        cur = (
            cur.__cause__ or cur.__context__ or (reason if isinstance(reason, BaseException) else None) or nxt
        )
    return "TLS error" if tls else type(exc).__name__


def graphql_rate_limited(data: Any) -> str | None:
    """The limit message when a GraphQL answer (HTTP 200) reports a rate limit, else None.

    GitHub: over the primary limit "you will receive a response with a 200 status code and an
    error message" with ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset``; the error's
    ``type`` is ``RATE_LIMITED`` (github/docs#22607). Secondary limits carry the "secondary rate
    limit" message and may carry ``retry-after``
    (https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#exceeding-the-rate-limit,
    #secondary-rate-limits).
    """
    if not isinstance(data, dict) or not isinstance(data.get("errors"), list):
        return None
    for err in data["errors"]:
        if not isinstance(err, dict):
            continue
        message = str(err.get("message", ""))
        if err.get("type") == "RATE_LIMITED" or "rate limit" in message.lower():
            return message or "RATE_LIMITED"
    return None


def quote_path(part: str) -> str:
    """``part`` percent-encoded for a URL path, ``/`` kept (branch and tag names in REST paths)."""
    return urllib.parse.quote(part, safe="/")


def link_rel(link: str, rel: str = "next") -> str | None:
    """The URL a ``Link`` header (RFC 8288) gives for ``rel`` (``next``, ``last``, ...), or None.
    GitHub paginates REST lists with ``rel="next"``/``"last"`` links ("Using pagination in the
    REST API": https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api)."""
    for part in link.split(","):
        section = part.split(";")
        if len(section) < 2:
            continue
        url = section[0].strip().strip("<>")
        if any(s.strip() == f'rel="{rel}"' for s in section[1:]):
            return url
    return None


class WritePacer:
    """Spaces content-creating requests by ``interval`` seconds (thread-safe): the one home of
    write pacing (GitHub REST docs, "Best practices": wait at least one second between writes).

    Args:
        interval: seconds between the starts of two writes (0 disables pacing).
        sleep: the sleep function (tests inject a fake).
    """

    def __init__(self, interval: float, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = interval
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last = 0.0

    def wait(self) -> None:
        """Block until ``interval`` seconds have passed since the previous ``wait`` returned."""
        with self._lock:
            delay = self._last + self.interval - time.monotonic()
            if delay > 0:
                self._sleep(delay)
            self._last = time.monotonic()


class GitHubTransport:
    """Authenticated, paced, counted and retried access to GitHub's REST and GraphQL APIs.

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
        budget: the pacer (``pacing.Budget``; default: GitHub's limits, ``write_interval``
            spacing, no deadline).

    Raises:
        AuthError: no credentials were given.
    """

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
        budget: Budget | None = None,
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
        self.pacer = budget or Budget(interval=write_interval, sleep=sleep)
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
        self.waits: list[tuple[str, float]] = []  # (reason, seconds) of every back-off taken

    @property
    def write_interval(self) -> float:
        """Seconds between content-creating requests (``WritePacer.interval``)."""
        return self.pacer.interval

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
            self.pacer.wait_primary("graphql" if graphql else "core")
            if content:
                self.pacer.wait()
            kinds = ["requests", "graphql" if graphql else verb]
            if content:
                kinds.append("content_creating")
            if attempt:
                kinds.append("retries")
            self._count(*kinds)
            try:
                headers, data = self._req.requestJsonAndCheck(
                    verb, url, parameters=dict(params or {}), input=body
                )
                self.pacer.observe(headers or {})
                got = self._check_json(headers, data, verb, url)
                limited = graphql_rate_limited(got[1]) if graphql else None
                if limited is None:
                    return got
                # GraphQL limits answer HTTP 200 with ``errors`` (see ``graphql_rate_limited``):
                # the same back-off as REST's 403/429, nothing was carried out, so re-sending is safe.
                headers = {k.lower(): v for k, v in (got[0] or {}).items()}
                wait = self._rate_limit_wait(403, headers, {"message": limited})
                self._limited(verb, url, attempt, wait if wait is not None else self.secondary_backoff)
                attempt += 1
                continue
            except ValueError:  # a body that starts like JSON but is not (PyGithub re-raises it)
                raise ForgeError(
                    f"{self._origin()} answered {verb} {self._show(url)} with invalid JSON: is the API URL "
                    "(GITHUB_API_URL) GitHub's REST API (https://api.github.com or https://HOST/api/v3)?"
                ) from None
            except GithubException as exc:
                headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
                self.pacer.observe(headers)
                wait = self._rate_limit_wait(exc.status, headers, exc.data)
                if wait is not None:
                    self._limited(verb, url, attempt, wait)
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

    def _limited(self, verb: str, url: str, attempt: int, wait: float) -> None:
        """Wait out a rate limit (REST 403/429 or GraphQL 200-with-errors) before re-sending, or
        raise ``RateLimited`` when ``max_retries`` waits were taken or ``wait`` exceeds ``max_wait``
        (no deadline set), or ``BudgetExhausted`` (with the time to resume) when the wait would end
        after the budget's deadline (the job's end)."""
        if self.pacer.deadline is not None and not self.pacer.fits(wait):
            raise BudgetExhausted(
                f"GitHub rate limit on {verb} {self._show(url)}: the wait ({wait:.0f}s) ends after "
                "this job's deadline",
                resume_at=time.time() + wait,
            ) from None
        too_long = wait > self.max_wait and self.pacer.deadline is None
        if attempt >= self.max_retries or too_long:
            raise RateLimited(
                f"GitHub rate limit on {verb} {self._show(url)}: still limited after {attempt} "
                f"retries (next wait {wait:.0f}s)"
            ) from None
        self._count("rate_limited")
        self._wait("rate-limit", wait)

    def _check_json(
        self, headers: dict[str, Any], data: Any, verb: str, url: str
    ) -> tuple[dict[str, Any], Any]:
        """``(headers, data)`` when the answer is JSON (or empty). GitHub's REST and GraphQL APIs
        answer ``application/json`` (GitHub REST docs, "Media types"); an HTML page (a sign-in
        page, a proxy, the web UI at a wrong ``GITHUB_API_URL``) is a ForgeError naming the cause
        instead of data PyGithub would wrap as ``{"data": "<html>..."}``."""
        ctype = str({k.lower(): v for k, v in headers.items()}.get("content-type", ""))
        if data is not None and ctype and "json" not in ctype.lower():
            raise ForgeError(
                f"{self._origin()} answered {verb} {self._show(url)} with {ctype.split(';')[0]}, not JSON: "
                "GITHUB_API_URL does not point at GitHub's API (https://api.github.com or https://HOST/api/v3)"
            )
        return headers, data

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
            nxt = link_rel(headers.get("link", ""))
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
        raise TransientError(f"{what} failed after {self.max_retries + 1} attempts: {last}")
