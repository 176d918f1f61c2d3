"""A stateful GitHub REST + GraphQL emulator on a real loopback HTTP server (tests only).

Start with ``GitHubEmulator(tmp_path).start()`` (the ``github_emulator`` fixture does this). It
serves the endpoints ``GitHubForge`` calls, with GitHub's status codes, bodies and headers:
``Authorization`` required (401 ``Bad credentials``), ``Link`` pagination, ``X-RateLimit-*``,
secondary-limit 403 with ``Retry-After``, 422 validation bodies, GraphQL ``createCommitOnBranch``
(``expectedHeadOid`` enforced: ``STALE_DATA``), ``updateRefs`` (``beforeOid`` compare-and-swap,
``force`` for non-fast-forwards, atomic), ``enablePullRequestAutoMerge`` and a tags query; REST
``PATCH git/refs`` refuses a non-fast-forward without ``force`` and ``POST git/refs`` an existing
ref. ``observers`` are called with each logged request before it is answered (tests wait for
events such as "the k-th write", e.g. to SIGKILL a client there). Repositories are bare git repos whose
``clone_url`` is a ``file://`` URL, so ``git clone``/``fetch`` is real.

``prefix="/api/v3"`` emulates GitHub Enterprise Server (GraphQL at ``/api/graphql``).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import functools
import json
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt

from catalog_ops import gitutil
from emulator import permissions
from emulator.faults import Clock, Faults, Limits
from emulator.state import (
    REACTION_CONTENTS,
    CiJob,
    EmulatorState,
    EmuRepo,
    GraphQLError,
    HttpError,
    Protection,
    Ruleset,
    Semantics,
    TokenInfo,
    _node,
    node_id,
    now_iso,
)

DOC = "https://docs.github.com/rest"
SECONDARY_MSG = (
    "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. "
    "Please retry your request again later."
)


@dataclasses.dataclass
class LogEntry:
    """One request as the server saw it."""

    seq: int
    method: str
    path: str  # without the API prefix, with query string
    status: int  # 0 when the connection was dropped
    kind: str  # "rest" | "graphql"
    operation: str  # e.g. "POST /repos/{o}/{r}/pulls" or "graphql:createCommitOnBranch"
    content_creating: bool
    started: float  # time.monotonic()
    ended: float
    retry_after: float | None = None
    rate_reset: int | None = None
    fault: str | None = None
    login: str | None = None
    wall_started: float = 0.0  # time.time() at start (compare with X-RateLimit-Reset)


def _secondary_limit_body() -> dict[str, str]:
    """GitHub's 403 body for a secondary rate limit (GitHub REST docs, "Rate limits for the REST API")."""
    return {
        "message": SECONDARY_MSG,
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
        "status": "403",
    }


def _archived() -> HttpError:
    """403 for a write to an archived repository: "Archived repositories are read-only"
    (https://docs.github.com/en/repositories/archiving-a-github-repository/archiving-repositories);
    the API's message is "Repository was archived so is read-only."."""
    return HttpError(403, "Repository was archived so is read-only.", doc="https://docs.github.com/rest")


def _create_pull_refused(message: str) -> HttpError:
    """GitHub's 422 for a refused ``POST /repos/{o}/{r}/pulls`` (GitHub REST docs, "Create a pull
    request"): ``errors: [{"resource": "PullRequest", "code": "custom", "message": message}]``."""
    return HttpError(
        422,
        "Validation Failed",
        errors=[{"resource": "PullRequest", "code": "custom", "message": message}],
        doc="https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
    )


Route = tuple[str, re.Pattern[str], Callable[..., Any]]

#: ``/<owner>/<name>.git/<smart-HTTP service path>`` (git's "http-protocol" documentation).
_GIT_PATH = re.compile(
    r"^/(?P<owner>[^/]+)/(?P<name>[^/]+?)\.git(?P<rest>/(?:info/refs|git-upload-pack|git-receive-pack))$"
)


class GitHubEmulator:
    """The emulator: state + HTTP server + faults + request log.

    Args:
        root: directory for the bare repositories.
        prefix: REST path prefix ("" for github.com style, "/api/v3" for GHES style).
        token: the default valid token (a PAT-like ``ghp_...``).
    """

    def __init__(
        self, root: Path, *, prefix: str = "", token: str = "ghp_emulatortoken0000000000000000000000"
    ) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.prefix = prefix.rstrip("/")
        self.token = token
        self.state = EmulatorState(self.root)
        self.clock = Clock()
        self.faults = Faults()
        self.limits = Limits()
        self.limits.clock = self.clock
        self.request_log: list[LogEntry] = []
        # called with each LogEntry once logged, before its answer is sent (tests wait for events
        # such as "the k-th write", never for wall-clock time)
        self.observers: list[Callable[[LogEntry], None]] = []
        self.internal_errors: list[str] = []
        self.dispatches: list[tuple[str, str, str, dict[str, Any]]] = []  # workflow dispatch events
        self.missing_graphql_fields: set[str] = set()  # e.g. {"createCommitOnBranch"}: an old GHES
        self.conformance: Any = None  # emulator.conformance.Conformance when validation is on
        self._seq = 0
        self._log_lock = threading.Lock()
        self.git_log: list[tuple[str, str, bool]] = []  # smart-HTTP git requests: (path, user, token ok)
        self.state.tokens[token] = TokenInfo(token=token, login="catalog-bot")
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._routes: list[Route] = []
        self._register_routes()
        self.rate_limit = 5000
        self._rate_used: dict[tuple[str, str], int] = {}
        self._rate_reset = int(self.clock.time()) + 3600

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> GitHubEmulator:
        """Serve on an ephemeral 127.0.0.1 port in a daemon thread; returns ``self``."""
        handler = _make_handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        default_error = self._server.handle_error

        def handle_error(request: Any, client_address: Any) -> None:
            # a client killed mid-request (the rollout fault test SIGKILLs them): not an error
            if not isinstance(sys.exc_info()[1], ConnectionError):
                default_error(request, client_address)

        self._server.handle_error = handle_error  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="github-emulator",
            daemon=True,
        )
        self._thread.start()
        self.state.api_url = self.api_url
        return self

    def stop(self) -> None:
        """Shut the server down (idempotent)."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def port(self) -> int:
        """TCP port the server listens on. AssertionError before ``start``."""
        assert self._server is not None, "emulator not started"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no API prefix)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """REST base URL to give GitHubForge (``settings.github_api_url``)."""
        return f"{self.base_url}{self.prefix}"

    # --- git over HTTP ------------------------------------------------------------------------
    def serve_git_http(self) -> None:
        """Serve the repositories over git's smart HTTP protocol at ``<base_url>/<owner>/<name>.git``
        (fetch/clone only) and make ``clone_url`` point there.

        As on GitHub, git authenticates with HTTP Basic where the password is a token and, for an
        installation token, the user is ``x-access-token`` ("Authenticating as a GitHub App
        installation": https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/authenticating-as-a-github-app-installation);
        a request without valid credentials gets 401 with ``WWW-Authenticate: Basic``. The
        requests land in ``git_log`` as ``(path, user, token_ok)``. ``git http-backend`` does the
        protocol work.
        """
        self.state.git_http_url = self.base_url

    def handle_git(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes] | None:
        """One smart-HTTP git request, or None when ``raw_path`` is not a git path."""
        parsed = urllib.parse.urlsplit(raw_path)
        m = _GIT_PATH.match(parsed.path)
        if not self.state.git_http_url or not m:
            return None
        owner, name, service_path = m.group("owner"), m.group("name"), m.group("rest")
        query = urllib.parse.parse_qs(parsed.query)
        if "git-receive-pack" in service_path or query.get("service") == ["git-receive-pack"]:
            return (
                403,
                {"Content-Type": "text/plain"},
                b"catalog-ops emulator: push over HTTP is not emulated\n",
            )
        auth = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, cred = auth.partition(" ")
        user, token = "", ""
        if scheme.lower() == "basic":
            with contextlib.suppress(ValueError):
                user, _, token = base64.b64decode(cred.strip()).decode("utf-8").partition(":")
        ok = token in self.state.tokens
        with self._log_lock:
            self.git_log.append((parsed.path, user, ok))
        if not ok:
            return 401, {"WWW-Authenticate": 'Basic realm="GitHub"', "Content-Type": "text/plain"}, b""
        repo = self.state.repos.get(f"{owner}/{name}")
        if repo is None:
            return 404, {"Content-Type": "text/plain"}, b"Repository not found.\n"
        cgi = {
            "PATH": os.environ.get("PATH", ""),
            "GIT_PROJECT_ROOT": str(repo.path),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": service_path,
            "REQUEST_METHOD": method,
            "QUERY_STRING": parsed.query,
            "CONTENT_TYPE": headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": "127.0.0.1",
        }
        lower = {k.lower(): v for k, v in headers.items()}
        if lower.get("content-encoding"):
            cgi["HTTP_CONTENT_ENCODING"] = lower["content-encoding"]
        if lower.get("git-protocol"):
            cgi["GIT_PROTOCOL"] = lower["git-protocol"]
        proc = subprocess.run(
            [gitutil.git_binary(), "http-backend"], input=body, env=cgi, capture_output=True, check=False
        )
        head, sep, out = proc.stdout.partition(b"\r\n\r\n")
        if not sep:
            head, _, out = proc.stdout.partition(b"\n\n")
        status, hdrs = 200, {}
        for line in head.decode("latin-1").splitlines():
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.split()[0])
            elif key:
                hdrs[key] = value.strip()
        return status, hdrs, out

    # --- test helpers -------------------------------------------------------------------------
    def add_token(
        self, token: str, *, login: str = "someone", kind: str = "pat", read_only: bool = False
    ) -> None:
        """Accept another token (``read_only`` tokens get 403 on writes)."""
        self.state.tokens[token] = TokenInfo(token=token, login=login, kind=kind, read_only=read_only)

    def register_app(self, app_id: str, public_key_pem: str, *, slug: str = "catalog-ops") -> None:
        """Accept GitHub App JWTs signed by the key whose public half is given."""
        self.state.apps[str(app_id)] = (public_key_pem, slug)

    def create_repo(
        self,
        full_name: str,
        *,
        files: Mapping[str, bytes | str] | None = None,
        source_dir: Path | None = None,
        default_branch: str = "main",
        topics: tuple[str, ...] | list[str] = (),
        archived: bool = False,
        fork: bool = False,
        disabled: bool = False,
        private: bool = False,
        allow_auto_merge: bool = True,
        required_contexts: tuple[str, ...] | list[str] = (),
        allow_squash_merge: bool = True,
        allow_merge_commit: bool = True,
        allow_rebase_merge: bool = True,
        protection: Mapping[str, Protection] | None = None,
        rulesets: list[Ruleset] | None = None,
        collaborators: tuple[str, ...] | list[str] = (),
        ci: list[CiJob] | None = None,
        roles: Mapping[str, str] | None = None,
    ) -> EmuRepo:
        """Create a repository (bare git repo) with an initial commit of ``files``/``source_dir``.

        ``protection`` maps branch names to classic branch protection, ``rulesets`` are active
        repository rulesets, ``collaborators`` the logins with write access besides the owner
        (who can be requested as reviewers), ``roles`` further logins' repository roles
        (``admin``, ``maintain``, ``write``, ``triage``, ``read``: what the collaborator permission
        endpoint answers), ``ci`` what the repo's CI posts on each PR head."""
        owner, name = full_name.split("/")
        path = self.root / "git" / owner / f"{name}.git"
        gitutil.init_bare(path, default_branch=default_branch)
        with self.state.lock:
            repo = EmuRepo(
                full_name=full_name,
                id=self.state.next_id(),
                path=path,
                default_branch=default_branch,
                topics=list(topics),
                archived=archived,
                fork=fork,
                disabled=disabled,
                private=private,
                allow_auto_merge=allow_auto_merge,
                required_contexts=list(required_contexts),
                allow_squash_merge=allow_squash_merge,
                allow_merge_commit=allow_merge_commit,
                allow_rebase_merge=allow_rebase_merge,
                protection=dict(protection or {}),
                rulesets=list(rulesets or []),
                collaborators=set(collaborators),
                roles=dict(roles or {}),
                ci=list(ci or []),
            )
            self.state.repos[full_name] = repo
        changes: list[tuple[str, bytes | None]] = []
        if source_dir is not None:
            for p in sorted(Path(source_dir).rglob("*")):
                rel = p.relative_to(source_dir)
                if p.is_file() and ".git" not in rel.parts and ".terraform" not in rel.parts:
                    changes.append((rel.as_posix(), p.read_bytes()))
        for k, v in (files or {}).items():
            changes.append((k, v.encode() if isinstance(v, str) else v))
        if changes:
            sha = self.state.commit_changes(repo, None, "Initial commit", changes, author=owner)
            gitutil.update_ref(path, f"refs/heads/{default_branch}", sha)
        return repo

    def repo(self, full_name: str) -> EmuRepo:
        """The emulated repository ``owner/name``. KeyError when unknown."""
        return self.state.repos[full_name]

    def pulls(self, full_name: str) -> list[dict[str, Any]]:
        """All PRs of a repo as GitHub REST JSON (oldest first)."""
        with self.state.lock:
            repo = self.state.repos[full_name]
            return [
                self.state.pull_json(repo, p) for p in sorted(repo.pulls.values(), key=lambda p: p["number"])
            ]

    def issues(self, full_name: str) -> list[dict[str, Any]]:
        """All issues of a repo as GitHub REST JSON (by number)."""
        with self.state.lock:
            repo = self.state.repos[full_name]
            return [
                self.state.issue_json(repo, i)
                for i in sorted(repo.issues.values(), key=lambda i: i["number"])
            ]

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """Comments on issue/PR ``number`` as GitHub REST JSON (oldest first)."""
        with self.state.lock:
            repo = self.state.repos[full_name]
            return [
                self.state.comment_json(repo, c)
                for c in sorted(self.state.comments.values(), key=lambda c: c["id"])
                if c["repo"] == full_name and c["issue_number"] == number
            ]

    def comment(self, full_name: str, number: int, body: str, *, login: str) -> dict[str, Any]:
        """Post ``body`` on issue/PR ``number`` as ``login`` (what a person does in the web UI);
        returns the comment as GitHub REST JSON."""
        with self.state.lock:
            repo = self.state.repos[full_name]
            if number not in repo.pulls and number not in repo.issues:
                raise KeyError(f"{full_name}#{number}")
            cid = self.state.next_id()
            stamp = now_iso()
            c = {
                "id": cid,
                "repo": full_name,
                "issue_number": number,
                "body": body,
                "user": login,
                "created_at": stamp,
                "updated_at": stamp,
            }
            self.state.comments[cid] = c
            return self.state.comment_json(repo, c)

    def reactions(self, full_name: str, comment_id: int) -> list[dict[str, Any]]:
        """Reactions on issue comment ``comment_id`` as GitHub REST JSON (oldest first)."""
        with self.state.lock:
            return [self.state.reaction_json(r) for r in self.state.reactions.get(comment_id, [])]

    def set_status(self, full_name: str, sha: str, state: str, *, context: str = "ci/test") -> None:
        """Report a commit status (like a CI system would); triggers pending auto-merges."""
        with self.state.lock:
            repo = self.state.repos[full_name]
            repo.statuses.setdefault(sha, []).append(
                {
                    "id": self.state.next_id(),
                    "state": state,
                    "context": context,
                    "description": None,
                    "target_url": None,
                    "created_at": now_iso(),
                }
            )
            self.state.try_auto_merge(repo)

    def add_check_run(
        self,
        full_name: str,
        sha: str,
        name: str,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
    ) -> None:
        """Report a check run (like a GitHub App would); triggers pending auto-merges."""
        with self.state.lock:
            repo = self.state.repos[full_name]
            repo.check_runs.setdefault(sha, []).append(
                {"id": self.state.next_id(), "name": name, "status": status, "conclusion": conclusion}
            )
            self.state.try_auto_merge(repo)

    def use_github_semantics(self, on: bool = True, *, only: str = "all") -> None:
        """Switch every ``Semantics`` flag (or those named in ``only``) to GitHub's documented
        behaviour; ``on=False``: back to the defaults."""
        self.state.semantics = Semantics.github(only) if on else Semantics()

    def mint_token(
        self,
        *,
        permissions: Mapping[str, str] | None = None,
        repositories: list[str] | tuple[str, ...] | None = None,
        kind: str = "app",
        login: str = "catalog-ops[bot]",
    ) -> str:
        """A new token restricted to ``permissions`` (``{"contents": "write", ...}``; None:
        unrestricted) and ``repositories`` (``owner/name``; None: every repository).

        ``kind``: ``app`` (installation token; ``GITHUB_TOKEN`` is one), ``actions``, or
        ``fine_grained`` (PAT). Requests beyond them get GitHub's 403 (``emulator.permissions``)."""
        prefix = {"app": "ghs_", "actions": "ghs_", "fine_grained": "github_pat_"}.get(kind, "ghp_")
        token = f"{prefix}emu{self.state.next_id():030d}"
        self.state.tokens[token] = TokenInfo(
            token=token,
            login=login,
            kind=kind,
            permissions=dict(permissions) if permissions is not None else None,
            repositories=frozenset(repositories) if repositories is not None else None,
        )
        return token

    def set_ci(self, full_name: str, *jobs: CiJob) -> None:
        """What ``full_name``'s CI posts after each PR event (see ``CiJob``)."""
        with self.state.lock:
            self.state.repos[full_name].ci = list(jobs)

    def advance(self) -> bool:
        """Let scheduled CI post what is due now (also done before every request)."""
        with self.state.lock:
            return self.state.advance()

    def approve(self, full_name: str, number: int, login: str) -> None:
        """``login`` approves PR ``number`` (an approving review); may fire auto-merge."""
        with self.state.lock:
            repo = self.state.repos[full_name]
            repo.pulls[number].setdefault("approvals", []).append(login)
            self.state.try_auto_merge(repo)

    def push(
        self, full_name: str, branch: str, files: Mapping[str, str | bytes], message: str = "push"
    ) -> str:
        """Commit ``files`` on top of ``branch`` as a person pushing would; PR events follow."""
        with self.state.lock:
            repo = self.state.repos[full_name]
            parent = self.state.branch_sha(repo, branch)
            changes: list[tuple[str, bytes | None]] = [
                (k, v.encode() if isinstance(v, str) else v) for k, v in files.items()
            ]
            sha = self.state.commit_changes(repo, parent, message + "\n", changes, author="someone")
            gitutil.update_ref(repo.path, f"refs/heads/{branch}", sha)
            self.state.branch_moved(repo, branch)
            self.state.try_auto_merge(repo)
            return sha

    def content_creating_counts(self) -> dict[str, int]:
        """Content-creating requests seen (admitted or not), by operation."""
        out: dict[str, int] = {}
        for e in self.request_log:
            if e.content_creating:
                out[e.operation] = out.get(e.operation, 0) + 1
        return out

    # --- request plumbing ---------------------------------------------------------------------
    def _log(self, entry: LogEntry) -> None:
        entry.wall_started = self.clock.time() - (self.clock.now() - entry.started)
        with self._log_lock:
            self.request_log.append(entry)
        for observe in list(self.observers):
            observe(entry)

    def _next_seq(self) -> int:
        with self._log_lock:
            self._seq += 1
            return self._seq

    def _rate_headers(self, login: str, resource: str, count: bool = True, cost: int = 1) -> dict[str, str]:
        now = int(self.clock.time())
        if now >= self._rate_reset:
            self._rate_reset = now + 3600
            self._rate_used.clear()
        key = (login, resource)
        if count:
            self._rate_used[key] = self._rate_used.get(key, 0) + cost
        used = self._rate_used.get(key, 0)
        return {
            "X-RateLimit-Limit": str(self.rate_limit),
            "X-RateLimit-Remaining": str(max(0, self.rate_limit - used)),
            "X-RateLimit-Reset": str(self._rate_reset),
            "X-RateLimit-Used": str(used),
            "X-RateLimit-Resource": resource,
        }

    def _authenticate(self, header: str | None, path: str) -> TokenInfo:
        if not header:
            raise HttpError(401, "Requires authentication")
        scheme, _, cred = header.partition(" ")
        cred = cred.strip()
        if path.startswith("/app/"):
            if scheme.lower() != "bearer":
                raise HttpError(401, "A JSON web token could not be decoded")
            try:
                unverified = jwt.decode(cred, options={"verify_signature": False})
                app = self.state.apps[str(unverified["iss"])]
                jwt.decode(cred, app[0], algorithms=["RS256"], options={"verify_iat": False})
            except Exception:
                raise HttpError(401, "A JSON web token could not be decoded") from None
            return TokenInfo(token="jwt", login=f"{app[1]}[bot]", kind="jwt")
        info = self.state.tokens.get(cred) if scheme.lower() in ("token", "bearer") else None
        if info is None:
            raise HttpError(401, "Bad credentials")
        return info

    def _register_routes(self) -> None:
        R = r"/repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)"
        add = self._routes.append
        table: list[tuple[str, str, Callable[..., Any]]] = [
            ("GET", r"/rate_limit", self.r_rate_limit),
            ("POST", r"/app/installations/(?P<iid>\d+)/access_tokens", self.r_installation_token),
            ("GET", r"/(?P<kind>orgs|users)/(?P<owner>[^/]+)/repos", self.r_list_repos),
            ("GET", r"/user/repos", self.r_user_repos),
            ("GET", r"/installation/repositories", self.r_installation_repos),
            ("GET", R, self.r_get_repo),
            ("GET", R + r"/branches/(?P<branch>[^/]+)/protection", self.r_branch_protection),
            (
                "GET",
                R + r"/branches/(?P<branch>[^/]+)/protection/required_status_checks",
                self.r_required_status_checks,
            ),
            ("GET", R + r"/rules/branches/(?P<branch>.+)", self.r_rules_for_branch),
            ("GET", R + r"/git/ref/(?P<ref>.+)", self.r_get_ref),
            ("GET", R + r"/git/matching-refs/(?P<ref>.*)", self.r_matching_refs),
            ("POST", R + r"/git/refs", self.r_create_ref),
            ("PATCH", R + r"/git/refs/(?P<ref>.+)", self.r_update_ref),
            ("DELETE", R + r"/git/refs/(?P<ref>.+)", self.r_delete_ref),
            ("GET", R + r"/git/trees/(?P<sha>.+)", self.r_get_tree),
            ("POST", R + r"/git/trees", self.r_create_tree),
            ("POST", R + r"/git/blobs", self.r_create_blob),
            ("GET", R + r"/git/blobs/(?P<sha>[0-9a-f]{40})", self.r_get_blob),
            ("GET", R + r"/git/commits/(?P<sha>[0-9a-f]{40})", self.r_get_commit),
            ("POST", R + r"/git/commits", self.r_create_commit),
            ("POST", R + r"/git/tags", self.r_create_tag),
            ("GET", R + r"/git/tags/(?P<sha>[0-9a-f]{40})", self.r_get_tag),
            ("GET", R + r"/contents/(?P<path>.*)", self.r_contents),
            ("GET", R + r"/tags", self.r_list_tags),
            ("GET", R + r"/pulls", self.r_list_pulls),
            ("POST", R + r"/actions/workflows/(?P<workflow_id>[^/]+)/dispatches", self.r_dispatch_workflow),
            ("POST", R + r"/pulls", self.r_create_pull),
            ("GET", R + r"/pulls/(?P<number>\d+)", self.r_get_pull),
            ("PATCH", R + r"/pulls/(?P<number>\d+)", self.r_update_pull),
            ("PUT", R + r"/pulls/(?P<number>\d+)/merge", self.r_merge_pull),
            ("POST", R + r"/pulls/(?P<number>\d+)/requested_reviewers", self.r_request_reviewers),
            ("GET", R + r"/commits/(?P<sha>[^/]+)/pulls", self.r_commit_pulls),
            ("GET", R + r"/commits/(?P<ref>.+)/status", self.r_combined_status),
            ("GET", R + r"/commits/(?P<ref>.+)/check-runs", self.r_check_runs),
            ("POST", R + r"/statuses/(?P<sha>[0-9a-f]{40})", self.r_create_status),
            ("GET", R + r"/issues", self.r_list_issues),
            ("POST", R + r"/issues", self.r_create_issue),
            ("GET", R + r"/issues/(?P<number>\d+)", self.r_get_issue),
            ("PATCH", R + r"/issues/(?P<number>\d+)", self.r_update_issue),
            ("POST", R + r"/issues/(?P<number>\d+)/labels", self.r_add_labels),
            ("PUT", R + r"/issues/(?P<number>\d+)/labels", self.r_set_labels),
            ("POST", R + r"/issues/(?P<number>\d+)/assignees", self.r_add_assignees),
            ("GET", R + r"/issues/(?P<number>\d+)/comments", self.r_list_comments),
            ("POST", R + r"/issues/(?P<number>\d+)/comments", self.r_create_comment),
            ("PATCH", R + r"/issues/comments/(?P<cid>\d+)", self.r_update_comment),
            ("GET", R + r"/issues/comments/(?P<cid>\d+)/reactions", self.r_list_reactions),
            ("POST", R + r"/issues/comments/(?P<cid>\d+)/reactions", self.r_create_reaction),
            ("GET", R + r"/collaborators/(?P<username>[^/]+)/permission", self.r_collaborator_permission),
            ("GET", R + r"/releases", self.r_list_releases),
            ("POST", R + r"/releases", self.r_create_release),
            ("GET", R + r"/releases/tags/(?P<tag>.+)", self.r_release_by_tag),
        ]
        for method, pattern, fn in table:
            add((method, re.compile("^" + pattern + "$"), fn))

    def handle(
        self, method: str, raw_path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes, str | None]:
        """Process one request; returns (status, headers, body, fault). Fault "drop*" means no response."""
        started = self.clock.now()
        seq = self._next_seq()
        parsed = urllib.parse.urlsplit(raw_path)
        path = parsed.path
        graphql_paths = ("/graphql", "/api/graphql")
        is_graphql = path in graphql_paths

        def reject(status: int, message: str) -> tuple[int, dict[str, str], bytes, str | None]:
            out = {"message": message, "documentation_url": DOC, "status": str(status)}
            return self._finish(
                seq, started, method, raw_path, "rest", f"{method} {path}", False, None, status, out, {}
            )

        if not is_graphql and self.prefix:
            if not path.startswith(self.prefix + "/") and path != self.prefix:
                return reject(404, "Not Found")
            path = path[len(self.prefix) :] or "/"
        query = urllib.parse.parse_qs(parsed.query)
        payload: Any = None
        if body:
            try:
                payload = json.loads(body)
            except ValueError:
                return reject(400, "Problems parsing JSON")
        if is_graphql:
            qtext = (payload or {}).get("query", "") if isinstance(payload, dict) else ""
            op_match = re.search(
                r"\b(createCommitOnBranch|updateRefs|enablePullRequestAutoMerge|disablePullRequestAutoMerge"
                r"|updatePullRequest|refs"
                r"|pullRequest|rateLimit)\b",
                qtext,
            )
            op = f"graphql:{op_match.group(1) if op_match else 'unknown'}"
            content_creating = qtext.lstrip().startswith("mutation")
            kind = "graphql"
        else:
            op = f"{method} {self._template(path)}"
            content_creating = method in ("POST", "PATCH", "PUT", "DELETE") and not path.startswith("/app/")
            kind = "rest"
        finish = functools.partial(self._finish, seq, started, method, raw_path, kind, op, content_creating)
        if self.conformance is not None:
            if is_graphql:
                self.conformance.check_graphql(payload)
            else:
                self.conformance.check_request(method, path, query, payload)
        fault, delay = self.faults.pick(method, path)
        if delay:
            self.clock.sleep(delay)
        login = None
        try:
            info = self._authenticate(headers.get("Authorization") or headers.get("authorization"), path)
            login = info.login
        except HttpError as exc:
            return finish(None, exc.status, exc.body(), {})
        resource = "graphql" if is_graphql else "core"
        if fault is not None and fault.kind == "drop":
            return finish(login, 0, None, {}, fault="drop")
        if fault is not None and fault.kind in ("graphql_primary", "graphql_secondary"):
            return self._graphql_limit(finish, login, fault)
        if fault is not None and fault.kind in ("status", "secondary", "primary"):
            hdrs = self._rate_headers(login, resource)
            retry_after: float | None = None
            reset: int | None = None
            if fault.kind == "status":
                status, out = (
                    fault.status,
                    {
                        "message": "Server Error"
                        if fault.status == 500
                        else "Bad Gateway"
                        if fault.status == 502
                        else "Service Unavailable"
                    },
                )
            elif fault.kind == "secondary":
                status, out = (
                    403,
                    _secondary_limit_body(),
                )
                retry_after = fault.retry_after
                hdrs["Retry-After"] = _fmt(retry_after)
            else:
                reset = int(self.clock.time()) + fault.reset_in
                status, out = (
                    403,
                    {
                        "message": f"API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID {seq}.",
                        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits",
                        "status": "403",
                    },
                )
                hdrs.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
            return finish(
                login, status, out, hdrs, retry_after=retry_after, rate_reset=reset, fault=fault.kind
            )
        gql_cost = 1
        if self.limits.model == "github":
            if is_graphql:
                from emulator import gql

                gql_cost = gql.query_cost(qtext)
            wait = self.limits.admit_points("graphql" if is_graphql else "rest", 5 if content_creating else 1)
            if wait is not None:
                hdrs = self._rate_headers(login, resource, count=False)
                retry_after = float(max(1, math.ceil(wait)))
                hdrs["Retry-After"] = _fmt(retry_after)
                return finish(
                    login, 403, _secondary_limit_body(), hdrs, retry_after=retry_after, fault="points"
                )
            used = self._rate_used.get((login, resource), 0)
            if used + gql_cost > self.rate_limit:
                hdrs = self._rate_headers(login, resource, count=False)
                hdrs["X-RateLimit-Remaining"] = "0"
                exceeded = {
                    "message": "API rate limit exceeded for user ID 1.",
                    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits",
                }
                if is_graphql:
                    return finish(
                        login,
                        200,
                        {"errors": [{"type": "RATE_LIMITED", "message": exceeded["message"]}]},
                        hdrs,
                        rate_reset=self._rate_reset,
                        fault="primary-budget",
                    )
                return finish(login, 403, exceeded, hdrs, rate_reset=self._rate_reset, fault="primary-budget")
        if content_creating:
            wait = self.limits.admit()
            if wait is not None:
                hdrs = self._rate_headers(login, resource)
                retry_after = float(max(1, math.ceil(wait)))
                hdrs["Retry-After"] = _fmt(retry_after)
                out = _secondary_limit_body()
                return finish(login, 403, out, hdrs, retry_after=retry_after, fault="burst")
        extra: dict[str, str] = {}
        try:
            if info.read_only and (content_creating or (method != "GET" and not is_graphql)):
                raise HttpError(
                    403,
                    "Resource not accessible by integration",
                    headers={"X-Accepted-GitHub-Permissions": "contents=write; pull_requests=write"},
                )
            with self.state.lock:
                self.state.reads += 1
                self.state.advance()
                self._guard(method, path, info, qtext if is_graphql else None)
                if is_graphql:
                    status, out = self._graphql(payload or {}, info)
                else:
                    status, out, extra = self._dispatch(method, path, query, payload, info, parsed.query)
        except HttpError as exc:
            status, out, extra = exc.status, exc.body(), exc.headers
        except Exception as exc:  # a bug in the emulator: answer 500 and remember it
            import traceback

            self.internal_errors.append(traceback.format_exc())
            status, out, extra = 500, {"message": f"emulator error: {exc!r}"}, {}
        hdrs = self._rate_headers(login, resource, cost=gql_cost if is_graphql else 1)
        hdrs.update(extra)
        if self.conformance is not None:
            if is_graphql:
                self.conformance.check_graphql_response(payload, out)
            else:
                self.conformance.check_response(method, path, status, out)
        if fault is not None and fault.kind == "drop_after":
            return finish(login, 0, None, {}, fault="drop_after")
        return finish(login, status, out, hdrs)

    def _guard(self, method: str, path: str, info: TokenInfo, graphql_query: str | None) -> None:
        """Token permissions and repository list (``emulator.permissions``) and archived
        repositories, checked before a request is carried out."""
        if graphql_query is not None:
            for name, alternatives in permissions.GRAPHQL.items():
                if re.search(rf"\b{name}\b", graphql_query):
                    permissions.check(info, alternatives)
            return
        for m, pattern, fn in self._routes:
            if m == method and pattern.match(path):
                permissions.check(info, permissions.REST.get(fn.__name__))
                break
        match = re.match(r"^/repos/([^/]+)/([^/]+)", path)
        repo = self.state.repos.get(f"{match.group(1)}/{match.group(2)}") if match else None
        if repo is None:
            return
        write = method != "GET"
        permissions.check_repository(info, repo.full_name, private=repo.private, write=write)
        if write and repo.archived and not self.state.semantics.legacy_archived_writes:
            raise _archived()

    def _graphql_limit(self, finish: Callable[..., Any], login: str, fault: Any) -> Any:
        """GraphQL rate limits answered with HTTP 200 and ``errors`` (fault kinds
        ``graphql_primary`` / ``graphql_secondary``).

        https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#exceeding-the-rate-limit :
        over the primary limit "you will receive a response with a 200 status code and an error
        message", ``x-ratelimit-remaining`` 0 and ``x-ratelimit-reset``; GitHub's body carries
        ``"type": "RATE_LIMITED"`` (github/docs#22607). Secondary limits answer 200 or 403 with
        the secondary-limit message and may carry ``retry-after``
        (https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#secondary-rate-limits)."""
        hdrs = self._rate_headers(login, "graphql")
        if fault.kind == "graphql_primary":
            reset = int(self.clock.time()) + fault.reset_in
            hdrs.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
            out = {
                "errors": [
                    {
                        "type": "RATE_LIMITED",
                        "message": f"API rate limit exceeded for user ID {abs(hash(login)) % 10**7}.",
                    }
                ]
            }
            return finish(login, 200, out, hdrs, rate_reset=reset, fault=fault.kind)
        hdrs["Retry-After"] = _fmt(fault.retry_after)
        out = {"errors": [{"message": SECONDARY_MSG}]}
        return finish(login, 200, out, hdrs, retry_after=fault.retry_after, fault=fault.kind)

    def _finish(
        self,
        seq: int,
        started: float,
        method: str,
        raw_path: str,
        kind: str,
        op: str,
        cc: bool,
        login: str | None,
        status: int,
        out: Any,
        hdrs: dict[str, str],
        *,
        retry_after: float | None = None,
        rate_reset: int | None = None,
        fault: str | None = None,
    ) -> tuple[int, dict[str, str], bytes, str | None]:
        self._log(
            LogEntry(
                seq,
                method,
                raw_path,
                status,
                kind,
                op,
                cc,
                started,
                self.clock.now(),
                retry_after,
                rate_reset,
                fault,
                login,
            )
        )
        if status == 0:  # fault "drop"/"drop_after": the connection closes without a response
            return 0, {}, b"", fault
        body = b"" if status == 204 else json.dumps(out).encode()
        hdrs = dict(hdrs)
        hdrs.setdefault("Content-Type", "application/json; charset=utf-8")
        hdrs["X-GitHub-Media-Type"] = "github.v3; format=json"
        hdrs["X-GitHub-Request-Id"] = f"EMU:{seq:08X}"
        hdrs["x-github-api-version-selected"] = "2022-11-28"
        return status, hdrs, body, fault

    def _template(self, path: str) -> str:
        for _method, pattern, _fn in self._routes:
            m = pattern.match(path)
            if m:
                t = pattern.pattern.strip("^$")
                return re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda g: "{" + g.group(1) + "}", t)
        return path

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        payload: Any,
        info: TokenInfo,
        raw_query: str,
    ) -> tuple[int, Any, dict[str, str]]:
        allowed = False
        for m, pattern, fn in self._routes:
            match = pattern.match(path)
            if match:
                allowed = True
                if m == method:
                    result = fn(
                        query=query,
                        body=payload if payload is not None else {},
                        who=info,
                        req_path=path,
                        **match.groupdict(),
                    )
                    if len(result) == 2:
                        return result[0], result[1], {}
                    return result
        if allowed:
            raise HttpError(404, "Not Found")
        raise HttpError(404, "Not Found")

    # --- helpers --------------------------------------------------------------------------------
    def _repo(self, owner: str, repo: str) -> EmuRepo:
        r = self.state.repos.get(f"{owner}/{repo}")
        if r is None:
            raise HttpError(404, "Not Found", doc="https://docs.github.com/rest/repos/repos#get-a-repository")
        return r

    def _paginate(
        self, items: list[Any], query: dict[str, list[str]], path: str
    ) -> tuple[int, Any, dict[str, str]]:
        per_page = min(100, int(query.get("per_page", ["30"])[0]))
        page = max(1, int(query.get("page", ["1"])[0]))
        last = max(1, math.ceil(len(items) / per_page))
        chunk = items[(page - 1) * per_page : page * per_page]
        links = []

        def url(p: int) -> str:
            q = {k: v[0] for k, v in query.items()}
            q["page"] = str(p)
            q["per_page"] = str(per_page)
            return f"{self.api_url}{path}?{urllib.parse.urlencode(q)}"

        if page < last:
            links.append(f'<{url(page + 1)}>; rel="next"')
            links.append(f'<{url(last)}>; rel="last"')
        if page > 1:
            links.append(f'<{url(1)}>; rel="first"')
            links.append(f'<{url(page - 1)}>; rel="prev"')
        return 200, chunk, ({"Link": ", ".join(links)} if links else {})

    def _pull(self, repo: EmuRepo, number: str) -> dict[str, Any]:
        pr = repo.pulls.get(int(number))
        if pr is None:
            raise HttpError(
                404, "Not Found", doc="https://docs.github.com/rest/pulls/pulls#get-a-pull-request"
            )
        return pr

    def _item(self, repo: EmuRepo, number: str) -> dict[str, Any]:
        n = int(number)
        item = repo.pulls.get(n) or repo.issues.get(n)
        if item is None:
            raise HttpError(404, "Not Found", doc="https://docs.github.com/rest/issues/issues#get-an-issue")
        return item

    @staticmethod
    def _require(body: Mapping[str, Any], *fields: str, resource: str) -> None:
        missing = [f for f in fields if f not in body or body[f] in (None, "")]
        if missing:
            raise HttpError(
                422,
                "Invalid request.\n\n" + ", ".join(f'"{m}" wasn\'t supplied.' for m in missing),
                errors=[{"resource": resource, "field": m, "code": "missing_field"} for m in missing],
            )

    # --- routes: meta and repos -------------------------------------------------------------------
    def r_rate_limit(self, who: TokenInfo, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /rate_limit`` (GitHub REST API)."""
        core = {
            "limit": self.rate_limit,
            "remaining": self.rate_limit - self._rate_used.get((who.login, "core"), 0),
            "reset": self._rate_reset,
            "used": self._rate_used.get((who.login, "core"), 0),
        }
        return 200, {"resources": {"core": core, "graphql": core}, "rate": core}

    def r_installation_token(self, iid: str, who: TokenInfo, **_: Any) -> tuple[int, Any]:
        """Emulates ``POST /app/installations/{iid}/access_tokens`` (GitHub REST API)."""
        token = f"ghs_emu{iid}{self.state.next_id():030d}"
        self.state.tokens[token] = TokenInfo(token=token, login=who.login, kind="app")
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        return 201, {
            "token": token,
            "expires_at": expires,
            "permissions": {"contents": "write", "pull_requests": "write", "issues": "write"},
            "repository_selection": "all",
        }

    def r_list_repos(
        self, kind: str, owner: str, query: dict[str, list[str]], req_path: str, who: TokenInfo, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``GET /{kind}/{owner}/repos`` (GitHub REST API).

        ``/users/{username}/repos``: "Lists public repositories for the specified user"
        (https://docs.github.com/en/rest/repos/repos#list-repositories-for-a-user) — private ones
        only with ``Semantics.legacy_user_repos_private``. ``/orgs/{org}/repos`` lists what the
        token can see (https://docs.github.com/en/rest/repos/repos#list-organization-repositories)."""
        if kind == "orgs" and owner in self.state.user_accounts:
            raise HttpError(
                404,
                "Not Found",
                doc="https://docs.github.com/rest/repos/repos#list-organization-repositories",
            )
        repos = sorted((r for r in self.state.repos.values() if r.owner == owner), key=lambda r: r.full_name)
        if kind == "users" and not self.state.semantics.legacy_user_repos_private:
            repos = [r for r in repos if not r.private]
        repos = [r for r in repos if not r.private or self._visible(who, r)]
        if not repos and kind == "orgs":
            raise HttpError(
                404,
                "Not Found",
                doc="https://docs.github.com/rest/repos/repos#list-organization-repositories",
            )
        return self._paginate([self.state.repo_json(r) for r in repos], query, req_path)

    def _visible(self, who: TokenInfo, r: EmuRepo) -> bool:
        """Whether the token can see ``r`` (its repository list; None: all)."""
        return who.repositories is None or r.full_name in who.repositories

    def _affiliation(self, who: TokenInfo, r: EmuRepo) -> str | None:
        login = who.login
        if r.owner == login:
            return "owner"
        if login in r.collaborators:
            return "collaborator"
        if login in self.state.org_members.get(r.owner, set()):
            return "organization_member"
        if who.kind == "pat" and who.permissions is None and who.login == "catalog-bot":
            return "organization_member"  # the default token: a member of every org it touches
        return None

    def r_user_repos(
        self, query: dict[str, list[str]], req_path: str, who: TokenInfo, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``GET /user/repos``: "repositories that the authenticated user has explicit
        permission (:read, :write, or :admin) to access" — owned, collaborator, and through an
        organization membership — public and private
        (https://docs.github.com/en/rest/repos/repos#list-repositories-for-the-authenticated-user).
        ``affiliation`` (default ``owner,collaborator,organization_member``), ``visibility``
        (``all``/``public``/``private``), ``type`` (``all``/``owner``/``public``/``private``/
        ``member``); ``type`` together with ``visibility`` or ``affiliation`` is a 422."""
        if "type" in query and ("visibility" in query or "affiliation" in query):
            raise HttpError(
                422,
                "If you specify visibility or affiliation, you cannot specify type.",
                doc="https://docs.github.com/rest/repos/repos#list-repositories-for-the-authenticated-user",
            )
        affiliation = set(query.get("affiliation", ["owner,collaborator,organization_member"])[0].split(","))
        visibility = query.get("visibility", ["all"])[0]
        rtype = query.get("type", [None])[0]
        if rtype == "owner":
            affiliation = {"owner"}
        elif rtype == "member":
            affiliation = {"collaborator", "organization_member"}
        elif rtype in ("public", "private"):
            visibility = rtype
        out = []
        for r in sorted(self.state.repos.values(), key=lambda r: r.full_name):
            if not self._visible(who, r) or self._affiliation(who, r) not in affiliation:
                continue
            if visibility != "all" and (visibility == "private") != r.private:
                continue
            out.append(self.state.repo_json(r))
        return self._paginate(out, query, req_path)

    def r_installation_repos(
        self, query: dict[str, list[str]], req_path: str, who: TokenInfo, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``GET /installation/repositories``: "List repositories that an app
        installation can access" (https://docs.github.com/en/rest/apps/installations#list-repositories-accessible-to-the-app-installation);
        installation tokens only (a PAT gets 403). Body ``{total_count, repositories,
        repository_selection}``."""
        if who.kind not in ("app", "actions"):
            raise HttpError(
                403,
                "You must authenticate with an installation access token in order to list repositories for an installation.",
                doc="https://docs.github.com/rest/apps/installations#list-repositories-accessible-to-the-app-installation",
            )
        repos = [
            self.state.repo_json(r)
            for r in sorted(self.state.repos.values(), key=lambda r: r.full_name)
            if self._visible(who, r)
        ]
        status, page, headers = self._paginate(repos, query, req_path)
        return (
            status,
            {
                "total_count": len(repos),
                "repository_selection": "all" if who.repositories is None else "selected",
                "repositories": page,
            },
            headers,
        )

    def _protection_or_404(self, r: EmuRepo, branch: str) -> Protection:
        prot = r.protection.get(branch)
        if prot is None:
            raise HttpError(
                404,
                "Branch not protected",
                doc="https://docs.github.com/rest/branches/branch-protection#get-branch-protection",
            )
        return prot

    def _status_checks_json(self, r: EmuRepo, branch: str, prot: Protection) -> dict[str, Any]:
        a = f"{self.api_url}/repos/{r.full_name}/branches/{branch}/protection/required_status_checks"
        return {
            "url": a,
            "strict": prot.strict,
            "contexts": list(prot.contexts),
            "checks": [{"context": c, "app_id": None} for c in prot.contexts],
            "contexts_url": f"{a}/contexts",
        }

    def r_branch_protection(self, owner: str, repo: str, branch: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/branches/{branch}/protection`` (404 "Branch not
        protected" without protection): https://docs.github.com/en/rest/branches/branch-protection#get-branch-protection"""
        r = self._repo(owner, repo)
        prot = self._protection_or_404(r, branch)
        a = f"{self.api_url}/repos/{r.full_name}/branches/{branch}/protection"
        out: dict[str, Any] = {"url": a, "required_status_checks": self._status_checks_json(r, branch, prot)}
        if prot.required_approving_review_count or prot.require_code_owner_reviews:
            out["required_pull_request_reviews"] = {
                "url": f"{a}/required_pull_request_reviews",
                "dismiss_stale_reviews": False,
                "require_code_owner_reviews": prot.require_code_owner_reviews,
                "required_approving_review_count": prot.required_approving_review_count,
            }
        return 200, out

    def r_required_status_checks(self, owner: str, repo: str, branch: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/branches/{branch}/protection/required_status_checks``
        (``strict``, ``contexts``, ``checks``): https://docs.github.com/en/rest/branches/branch-protection#get-status-checks-protection"""
        r = self._repo(owner, repo)
        return 200, self._status_checks_json(r, branch, self._protection_or_404(r, branch))

    def r_rules_for_branch(self, owner: str, repo: str, branch: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/rules/branches/{branch}``: "all active rules that
        apply to the specified branch" ("evaluate"/"disabled" rulesets are not returned):
        https://docs.github.com/en/rest/repos/rules#get-rules-for-a-branch . Each
        ``required_status_checks`` rule carries ``parameters.required_status_checks[].context``
        and ``strict_required_status_checks_policy``."""
        r = self._repo(owner, repo)
        rules: list[dict[str, Any]] = []
        for rs in self.state.rulesets_for(r, branch):
            src = {"ruleset_source_type": "Repository", "ruleset_source": r.full_name, "ruleset_id": rs.id}
            if rs.required_checks:
                rules.append(
                    {
                        "type": "required_status_checks",
                        **src,
                        "parameters": {
                            "strict_required_status_checks_policy": rs.strict,
                            "required_status_checks": [{"context": c} for c in rs.required_checks],
                        },
                    }
                )
            if rs.required_approving_review_count:
                rules.append(
                    {
                        "type": "pull_request",
                        **src,
                        "parameters": {
                            "required_approving_review_count": rs.required_approving_review_count,
                            "dismiss_stale_reviews_on_push": False,
                            "require_code_owner_review": False,
                            "require_last_push_approval": False,
                            "required_review_thread_resolution": False,
                        },
                    }
                )
        return 200, rules

    def r_get_repo(self, owner: str, repo: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}`` (GitHub REST API)."""
        return 200, self.state.repo_json(self._repo(owner, repo))

    # --- routes: git data ------------------------------------------------------------------------------
    def r_get_ref(self, owner: str, repo: str, ref: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/git/ref/{ref}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        found = self.state.ref_sha(r, f"refs/{ref}")
        if found is None:
            raise HttpError(404, "Not Found", doc="https://docs.github.com/rest/git/refs#get-a-reference")
        return 200, self.state.ref_json(r, f"refs/{ref}", *found)

    def r_matching_refs(self, owner: str, repo: str, ref: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/git/matching-refs/{ref}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        out = self.state.git(
            r, "for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", f"refs/{ref}"
        )
        items = []
        for line in out.splitlines():
            name, oid, otype = line.split()
            items.append(self.state.ref_json(r, name, oid, otype))
        return 200, items

    def r_create_ref(self, owner: str, repo: str, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/git/refs`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "ref", "sha", resource="Reference")
        ref, sha = body["ref"], body["sha"]
        if not ref.startswith("refs/") or ref.count("/") < 2:
            raise HttpError(422, "Reference name must start with 'refs/' and have at least two slashes.")
        if self.state.ref_sha(r, ref) is not None:
            raise HttpError(
                422,
                "Reference already exists",
                doc="https://docs.github.com/rest/git/refs#create-a-reference",
            )
        if gitutil.run_git(["cat-file", "-e", sha], git_dir=r.path, check=False).returncode != 0:
            raise HttpError(
                422, "Object does not exist", doc="https://docs.github.com/rest/git/refs#create-a-reference"
            )
        gitutil.update_ref(r.path, ref, sha, gitutil.ZERO_SHA)
        return 201, self.state.ref_json(r, ref, sha, self.state.git(r, "cat-file", "-t", sha))

    def r_update_ref(
        self, owner: str, repo: str, ref: str, body: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``PATCH /repos/{owner}/{repo}/git/refs/{ref}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "sha", resource="Reference")
        full = f"refs/{ref}"
        cur = self.state.ref_sha(r, full)
        if cur is None:
            raise HttpError(
                422,
                "Reference does not exist",
                doc="https://docs.github.com/rest/git/refs#update-a-reference",
            )
        sha = body["sha"]
        if gitutil.run_git(["cat-file", "-e", sha], git_dir=r.path, check=False).returncode != 0:
            raise HttpError(422, "Object does not exist")
        if not body.get("force") and not gitutil.is_ancestor(r.path, cur[0], sha):
            raise HttpError(
                422,
                "Update is not a fast forward",
                doc="https://docs.github.com/rest/git/refs#update-a-reference",
            )
        gitutil.update_ref(r.path, full, sha)
        if full.startswith("refs/heads/"):
            self.state.head_moved(r, full[len("refs/heads/") :])
            self.state.branch_moved(r, full[len("refs/heads/") :])
        self.state.try_auto_merge(r)
        return 200, self.state.ref_json(r, full, sha, "commit")

    def r_dispatch_workflow(
        self, owner: str, repo: str, workflow_id: str, body: dict[str, Any], who: TokenInfo, **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches``,
        "Create a workflow dispatch event"
        (https://docs.github.com/en/rest/actions/workflows#create-a-workflow-dispatch-event):
        "You can replace ``workflow_id`` with the workflow file name"; "You must configure your
        GitHub Actions workflow to run when the ``workflow_dispatch`` webhook event occurs. The
        ``inputs`` are configured in the workflow file"; ``ref`` ("a branch or tag name") is
        required; ``inputs`` has at most 25 properties; 204 without a body.

        Answers, as GitHub does:

        * 404 ``Not Found``: no ``.github/workflows/<workflow_id>`` on the default branch (where
          GitHub registers workflows; numeric workflow ids are not emulated);
        * 422 ``No ref found for: <ref>``: ``ref`` is no branch or tag (``refs/heads/``,
          ``refs/tags/`` accepted);
        * 422 ``Workflow does not have 'workflow_dispatch' trigger``: the workflow file at
          ``ref`` has no ``on: workflow_dispatch``;
        * 422 ``Unexpected inputs provided: ["name", ...]``: an input the workflow at ``ref``
          does not declare (``on.workflow_dispatch.inputs``);
        * 422 ``Required input 'name' not provided``: a ``required: true`` input without a
          ``default``;
        * 422 for more than 25 inputs (OpenAPI ``maxProperties: 25``; the message is the
          emulator's own).

        GitHub's messages as its API returns them (quoted in public issue threads, e.g.
        peter-evans/slash-command-dispatch#115, benc-uk/workflow-dispatch#46,
        convictional/trigger-workflow-and-wait#44). The event is recorded in ``dispatches`` as
        ``(repo, workflow_id, ref, inputs)`` (inputs as sent; the emulator runs no workflow)."""
        r = self._repo(owner, repo)
        permissions.check_repository(who, r.full_name, private=r.private, write=True)
        doc = "https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event"
        path = f".github/workflows/{workflow_id}"
        default = self.state.branch_sha(r, r.default_branch)
        if default is None or gitutil.read_blob(r.path, default, path) is None:
            raise HttpError(404, "Not Found", doc=doc)
        self._require(body, "ref", resource="Workflow")
        ref = str(body["ref"])
        if ref.startswith(("refs/heads/", "refs/tags/")):
            candidates = [ref]  # a full ref name: exactly that ref
        else:
            candidates = [f"refs/heads/{ref}", f"refs/tags/{ref}"]
        sha = next(filter(None, (gitutil.rev_parse(r.path, c) for c in candidates)), None)
        if sha is None:
            raise HttpError(422, f"No ref found for: {ref}", doc=doc)
        trigger = _workflow_dispatch_trigger(gitutil.read_blob(r.path, sha, path))
        if trigger is None:
            raise HttpError(422, "Workflow does not have 'workflow_dispatch' trigger", doc=doc)
        inputs = body.get("inputs") or {}
        if not isinstance(inputs, dict):
            raise HttpError(422, "Invalid request.\n\nFor 'properties/inputs', is not an object.", doc=doc)
        if len(inputs) > 25:
            raise HttpError(422, f"inputs has {len(inputs)} properties; at most 25 are allowed", doc=doc)
        declared = trigger.get("inputs")
        declared = declared if isinstance(declared, dict) else {}
        unexpected = sorted(k for k in inputs if k not in declared)
        if unexpected:
            raise HttpError(422, f"Unexpected inputs provided: {json.dumps(unexpected)}", doc=doc)
        for key, spec in declared.items():
            spec = spec if isinstance(spec, dict) else {}
            if spec.get("required") is True and "default" not in spec and key not in inputs:
                raise HttpError(422, f"Required input '{key}' not provided", doc=doc)
        self.dispatches.append((r.full_name, workflow_id, ref, dict(inputs)))
        return 204, None

    def r_delete_ref(self, owner: str, repo: str, ref: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``DELETE /repos/{owner}/{repo}/git/refs/{ref}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        if self.state.ref_sha(r, f"refs/{ref}") is None:
            raise HttpError(422, "Reference does not exist")
        gitutil.run_git(["update-ref", "-d", f"refs/{ref}"], git_dir=r.path)
        if ref.startswith("heads/"):
            self.state.head_moved(r, ref[len("heads/") :])
        return 204, None

    def r_get_tree(
        self, owner: str, repo: str, sha: str, query: dict[str, list[str]], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/git/trees/{sha}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        tree_sha = self.state.resolve(r, sha)
        if tree_sha is None:
            proc = gitutil.run_git(
                ["rev-parse", "--verify", "--quiet", f"{sha}^{{tree}}"], git_dir=r.path, check=False
            )
            if proc.returncode != 0:
                raise HttpError(404, "Not Found", doc="https://docs.github.com/rest/git/trees#get-a-tree")
            tree_sha = proc.stdout.decode().strip()
        tree_oid = self.state.git(r, "rev-parse", f"{tree_sha}^{{tree}}")
        args = ["ls-tree", "-l", "-z"] + (["-r", "-t"] if query.get("recursive") else []) + [tree_oid]
        out = gitutil.run_git(args, git_dir=r.path).stdout.decode()
        a = f"{self.api_url}/repos/{r.full_name}"
        entries = []
        for rec in out.split("\0"):
            if not rec:
                continue
            meta, _tab, p = rec.partition("\t")
            mode, otype, oid, size = meta.split()
            e: dict[str, Any] = {
                "path": p,
                "mode": mode,
                "type": otype,
                "sha": oid,
                "url": f"{a}/git/{otype}s/{oid}",
            }
            if otype == "blob":
                e["size"] = int(size)
            entries.append(e)
        return 200, {"sha": tree_oid, "url": f"{a}/git/trees/{tree_oid}", "tree": entries, "truncated": False}

    def r_create_blob(self, owner: str, repo: str, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/git/blobs`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "content", resource="Blob")
        data = (
            base64.b64decode(body["content"])
            if body.get("encoding") == "base64"
            else str(body["content"]).encode()
        )
        sha = (
            gitutil.run_git(["hash-object", "-w", "--stdin"], git_dir=r.path, input=data)
            .stdout.decode()
            .strip()
        )
        return 201, {"sha": sha, "url": f"{self.api_url}/repos/{r.full_name}/git/blobs/{sha}"}

    def r_get_blob(self, owner: str, repo: str, sha: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/git/blobs/{sha}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        proc = gitutil.run_git(["cat-file", "blob", sha], git_dir=r.path, check=False)
        if proc.returncode != 0:
            raise HttpError(404, "Not Found")
        return 200, {
            "sha": sha,
            "node_id": node_id("B", int(sha[:8], 16)),
            "size": len(proc.stdout),
            "url": f"{self.api_url}/repos/{r.full_name}/git/blobs/{sha}",
            "content": base64.encodebytes(proc.stdout).decode(),
            "encoding": "base64",
        }

    def r_create_tree(self, owner: str, repo: str, body: dict[str, Any], **_: Any) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/git/trees`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "tree", resource="Tree")
        index = self.state.temp_index()
        env = {"GIT_INDEX_FILE": str(index)}
        try:
            if body.get("base_tree"):
                gitutil.run_git(["read-tree", body["base_tree"]], git_dir=r.path, env=env)
            else:
                gitutil.run_git(["read-tree", "--empty"], git_dir=r.path, env=env)
            lines = []
            for entry in body["tree"]:
                p = entry["path"]
                if "content" in entry and entry["content"] is not None:
                    sha = (
                        gitutil.run_git(
                            ["hash-object", "-w", "--stdin"],
                            git_dir=r.path,
                            input=str(entry["content"]).encode(),
                        )
                        .stdout.decode()
                        .strip()
                    )
                else:
                    sha = entry.get("sha")
                if sha is None:
                    lines.append(f"0 {gitutil.ZERO_SHA}\t{p}")
                else:
                    lines.append(f"{entry.get('mode', '100644')} {sha}\t{p}")
            gitutil.run_git(
                ["update-index", "-z", "--index-info"],
                git_dir=r.path,
                env=env,
                input=("\0".join(lines) + "\0").encode(),
            )
            tree = gitutil.run_git(["write-tree"], git_dir=r.path, env=env).stdout.decode().strip()
        except gitutil.GitError:
            raise HttpError(
                422, "Invalid tree info", errors=[{"resource": "Tree", "code": "invalid", "field": "tree"}]
            ) from None
        finally:
            index.unlink(missing_ok=True)
        return 201, {
            "sha": tree,
            "url": f"{self.api_url}/repos/{r.full_name}/git/trees/{tree}",
            "tree": [],
            "truncated": False,
        }

    def r_get_commit(self, owner: str, repo: str, sha: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/git/commits/{sha}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        if gitutil.run_git(["cat-file", "-e", f"{sha}^{{commit}}"], git_dir=r.path, check=False).returncode:
            raise HttpError(404, "Not Found")
        return 200, self.state.git_commit_json(r, sha)

    def r_create_commit(
        self, owner: str, repo: str, body: dict[str, Any], who: TokenInfo, **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/git/commits`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "message", "tree", resource="Commit")
        args = ["commit-tree", body["tree"]]
        for p in body.get("parents", []):
            args += ["-p", p]
        env = {"GIT_AUTHOR_NAME": who.login, "GIT_AUTHOR_EMAIL": f"{who.login}@users.noreply.github.example"}
        if who.kind == "app":
            env.update(GIT_COMMITTER_NAME="GitHub", GIT_COMMITTER_EMAIL="noreply@github.com")
        else:
            env.update(
                GIT_COMMITTER_NAME=who.login, GIT_COMMITTER_EMAIL=f"{who.login}@users.noreply.github.example"
            )
        try:
            sha = (
                gitutil.run_git([*args, "-F", "-"], git_dir=r.path, input=body["message"].encode(), env=env)
                .stdout.decode()
                .strip()
            )
        except gitutil.GitError:
            raise HttpError(422, "Tree SHA does not exist") from None
        return 201, self.state.git_commit_json(r, sha)

    def r_create_tag(
        self, owner: str, repo: str, body: dict[str, Any], who: TokenInfo, **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/git/tags`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "tag", "message", "object", "type", resource="Tag")
        tag_text = (
            f"object {body['object']}\ntype {body['type']}\ntag {body['tag']}\n"
            f"tagger {who.login} <{who.login}@users.noreply.github.example> {int(time.time())} +0000\n\n{body['message']}"
        )
        try:
            sha = gitutil.run_git(["mktag"], git_dir=r.path, input=tag_text.encode()).stdout.decode().strip()
        except gitutil.GitError:
            raise HttpError(422, "Object does not exist") from None
        return 201, self._tag_json(r, sha)

    def _tag_json(self, r: EmuRepo, sha: str) -> dict[str, Any]:
        raw = self.state.git(r, "cat-file", "tag", sha)
        header, _, message = raw.partition("\n\n")
        fields = dict(line.split(" ", 1) for line in header.splitlines())
        a = f"{self.api_url}/repos/{r.full_name}"
        tagger_name = fields.get("tagger", "x <x> 0 +0000").split(" <")[0]
        return {
            "node_id": node_id("TAG", int(sha[:8], 16)),
            "sha": sha,
            "url": f"{a}/git/tags/{sha}",
            "tag": fields["tag"],
            "message": message + ("\n" if message and not message.endswith("\n") else ""),
            "tagger": {
                "name": tagger_name,
                "email": f"{tagger_name}@users.noreply.github.example",
                "date": now_iso(),
            },
            "object": {
                "sha": fields["object"],
                "type": fields["type"],
                "url": f"{a}/git/commits/{fields['object']}",
            },
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def r_get_tag(self, owner: str, repo: str, sha: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/git/tags/{sha}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        if (
            gitutil.run_git(["cat-file", "-t", sha], git_dir=r.path, check=False).stdout.decode().strip()
            != "tag"
        ):
            raise HttpError(404, "Not Found")
        return 200, self._tag_json(r, sha)

    def r_contents(
        self, owner: str, repo: str, path: str, query: dict[str, list[str]], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/contents/{path}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        ref = query.get("ref", [r.default_branch])[0]
        sha = self.state.resolve(r, ref)
        if sha is None:
            raise HttpError(
                404,
                f"No commit found for the ref {ref}",
                doc="https://docs.github.com/rest/repos/contents#get-repository-content",
            )
        path = urllib.parse.unquote(path).strip("/")
        proc = gitutil.run_git(["ls-tree", "-l", sha, "--", path], git_dir=r.path)
        line = proc.stdout.decode().strip()
        if not line or not path:
            raise HttpError(
                404, "Not Found", doc="https://docs.github.com/rest/repos/contents#get-repository-content"
            )
        meta, _tab, _name = line.partition("\t")
        _mode, otype, oid, size = meta.split()
        a = f"{self.api_url}/repos/{r.full_name}"
        h = f"{self.state.html_url}/{r.full_name}"
        if otype != "blob":
            raise HttpError(404, "Not Found")
        content = gitutil.run_git(["cat-file", "blob", oid], git_dir=r.path).stdout
        too_big = len(content) > 1_000_000
        return 200, {
            "type": "file",
            "encoding": "none" if too_big else "base64",
            "size": int(size),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": "" if too_big else base64.encodebytes(content).decode(),
            "sha": oid,
            "url": f"{a}/contents/{path}?ref={ref}",
            "git_url": f"{a}/git/blobs/{oid}",
            "html_url": f"{h}/blob/{ref}/{path}",
            "download_url": f"{self.state.html_url}/raw/{r.full_name}/{ref}/{path}",
            "_links": {
                "self": f"{a}/contents/{path}?ref={ref}",
                "git": f"{a}/git/blobs/{oid}",
                "html": f"{h}/blob/{ref}/{path}",
            },
        }

    def r_list_tags(
        self, owner: str, repo: str, query: dict[str, list[str]], req_path: str, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``GET /repos/{owner}/{repo}/tags`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        out = self.state.git(
            r,
            "for-each-ref",
            "--sort=-creatordate",
            "--format=%(refname:strip=2) %(objectname) %(*objectname)",
            "refs/tags",
        )
        a = f"{self.api_url}/repos/{r.full_name}"
        items = []
        for line in out.splitlines():
            parts = line.split()
            name, oid = parts[0], parts[-1]
            items.append(
                {
                    "name": name,
                    "commit": {"sha": oid, "url": f"{a}/commits/{oid}"},
                    "zipball_url": f"{a}/zipball/refs/tags/{name}",
                    "tarball_url": f"{a}/tarball/refs/tags/{name}",
                    "node_id": node_id("REF", abs(hash(name)) % 10**9),
                }
            )
        return self._paginate(items, query, req_path)

    # --- routes: pulls -------------------------------------------------------------------------------
    def r_list_pulls(
        self, owner: str, repo: str, query: dict[str, list[str]], req_path: str, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``GET /repos/{owner}/{repo}/pulls`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        base = query.get("base", [None])[0]
        items = []
        for pr in sorted(r.pulls.values(), key=lambda p: -p["number"]):
            if state != "all" and pr["state"] != state:
                continue
            if head and f"{r.owner}:{pr['head']}" != head:
                continue
            if base and pr["base"] != base:
                continue
            items.append(self.state.pull_json(r, pr, full=False))
        return self._paginate(items, query, req_path)

    def r_create_pull(
        self, owner: str, repo: str, body: dict[str, Any], who: TokenInfo, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``POST /repos/{owner}/{repo}/pulls`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "head", "base", resource="PullRequest")
        head = str(body["head"]).split(":", 1)[-1]
        base = body["base"]
        errors = []
        head_sha = self.state.branch_sha(r, head)
        base_sha = self.state.branch_sha(r, base)
        if head_sha is None:
            errors.append({"resource": "PullRequest", "field": "head", "code": "invalid"})
        if base_sha is None:
            errors.append({"resource": "PullRequest", "field": "base", "code": "invalid"})
        if errors:
            raise HttpError(
                422,
                "Validation Failed",
                errors=errors,
                doc="https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
            )
        assert head_sha and base_sha
        if any(p["state"] == "open" and p["head"] == head and p["base"] == base for p in r.pulls.values()):
            raise _create_pull_refused(f"A pull request already exists for {r.owner}:{head}.")
        if gitutil.is_ancestor(r.path, head_sha, base_sha):
            raise _create_pull_refused(f"No commits between {base} and {head}")
        self._require(body, "title", resource="PullRequest")
        n = r.next_number
        r.next_number += 1
        pid = self.state.next_id()
        stamp = now_iso()
        pr = {
            "number": n,
            "id": pid,
            "node_id": node_id("PR", pid),
            "title": body["title"],
            "body": body.get("body") or None,
            "head": head,
            "base": base,
            "head_sha": head_sha,
            "state": "open",
            "merged": False,
            "merged_at": None,
            "merge_commit_sha": None,
            "closed_at": None,
            "created_at": stamp,
            "updated_at": stamp,
            "user": who.login,
            "labels": [],
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "auto_merge": None,
        }
        r.pulls[n] = pr
        self.state.nodes[pr["node_id"]] = ("pull", r.full_name, n)
        pr["event_sha"] = head_sha
        self.state.pr_event(r, pr)
        created = self.state.pull_json(r, pr)
        pr["mergeability_pending"] = True  # the creation answer is not the client's first read
        if not body.get("draft"):
            # "Code owners are automatically requested for review when someone opens a pull
            # request that modifies code that they own. Code owners are not automatically
            # requested to review draft pull requests." (about-code-owners, cited in
            # EmulatorState.codeowners_for); owners without write access are not requested.
            for owner_ in self.state.codeowners_for(r, pr):
                if "/" in owner_:
                    slug = owner_.split("/", 1)[1]
                    if self.state.team_can_review(r, owner_) and slug not in pr["requested_teams"]:
                        pr["requested_teams"].append(slug)
                elif (
                    self.state.can_review(r, owner_)
                    and owner_ != who.login
                    and owner_ not in pr["requested_reviewers"]
                ):
                    pr["requested_reviewers"].append(owner_)
            created = self.state.pull_json(r, pr)
            pr["mergeability_pending"] = True
        return 201, created, {"Location": f"{self.api_url}/repos/{r.full_name}/pulls/{n}"}

    def r_get_pull(self, owner: str, repo: str, number: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/pulls/{number}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        return 200, self.state.pull_json(r, self._pull(r, number))

    def r_update_pull(
        self, owner: str, repo: str, number: str, body: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``PATCH /repos/{owner}/{repo}/pulls/{number}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        pr = self._pull(r, number)
        if "base" in body and self.state.branch_sha(r, body["base"]) is None:
            raise HttpError(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "field": "base", "code": "invalid"}],
            )
        for key in ("title", "body", "base"):
            if key in body:
                pr[key] = body[key]
        if "base" in body:
            pr["mergeability_pending"] = True  # "When you ... edit a pull request" it is recomputed
        if body.get("state") == "closed" and pr["state"] == "open":
            pr["head_sha"] = self.state.pull_sha(r, pr)
            pr["state"] = "closed"
            pr["closed_at"] = now_iso()
            pr["auto_merge"] = None
        elif body.get("state") == "open" and pr["state"] == "closed" and not pr["merged"]:
            pr["state"] = "open"
            pr["closed_at"] = None
        pr["updated_at"] = now_iso()
        return 200, self.state.pull_json(r, pr)

    def r_merge_pull(
        self, owner: str, repo: str, number: str, body: dict[str, Any], who: TokenInfo, **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``PUT /repos/{owner}/{repo}/pulls/{number}/merge`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        pr = self._pull(r, number)
        if pr["state"] != "open":
            raise HttpError(405, "Pull Request is not mergeable")
        # 409 "Conflict if sha was provided and pull request head did not match", example
        # message "Head branch was modified. Review and try the merge again."
        # (https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request)
        if body.get("sha") and body["sha"] != self.state.pull_sha(r, pr):
            raise HttpError(
                409,
                "Head branch was modified. Review and try the merge again.",
                doc="https://docs.github.com/rest/pulls/pulls#merge-a-pull-request",
            )
        method = body.get("merge_method", "merge")
        _check_merge_method(r, method)
        self._check_mergeable_now(r, pr)
        sha = self.state.merge(r, pr, method, who.login)
        return 200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}

    def _check_mergeable_now(self, r: EmuRepo, pr: dict[str, Any]) -> None:
        """405 "Method Not Allowed if merge cannot be performed"
        (https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request) with the reason
        GitHub gives: a missing/pending required check ('Required status check "X" is
        expected.'), a failing one, missing reviews, a conflict, an out-of-date head."""
        head = self.state.pull_sha(r, pr)
        required, _strict = self.state.required_checks(r, pr["base"])
        checks = self.state.check_states(r, head)
        for name in required:
            if checks.get(name) in (None, "pending"):
                raise HttpError(405, f'Required status check "{name}" is expected.')
            if checks.get(name) == "failure":
                raise HttpError(405, f'Required status check "{name}" is failing.')
        reason = self.state.reviews_missing(r, pr)
        if reason:
            raise HttpError(405, reason)
        status = self.state.merge_state(r, pr)
        if status == "DIRTY":
            raise HttpError(405, "Pull Request is not mergeable")
        if status == "BEHIND":
            raise HttpError(405, "Head branch is out of date. Review and try the merge again.")

    def r_request_reviewers(
        self, owner: str, repo: str, number: str, body: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/pulls/{number}/requested_reviewers``.

        GitHub answers "422 Unprocessable Entity if user is not a collaborator"
        (https://docs.github.com/en/rest/pulls/review-requests#request-reviewers-for-a-pull-request)
        with "Reviews may only be requested from collaborators. One or more of the users or teams
        you specified is not a collaborator of the OWNER/REPO repository." (the whole request is
        refused; same for a team without access), and refuses the PR author with "Review cannot
        be requested from pull request author."."""
        r = self._repo(owner, repo)
        pr = self._pull(r, number)
        doc = "https://docs.github.com/rest/pulls/review-requests#request-reviewers-for-a-pull-request"
        if pr["user"] in body.get("reviewers", []):
            raise HttpError(422, "Review cannot be requested from pull request author.", doc=doc)
        bad = [u for u in body.get("reviewers", []) if not self.state.can_review(r, u)]
        bad += [t for t in body.get("team_reviewers", []) if not self.state.team_can_review(r, t)]
        if bad:
            raise HttpError(
                422,
                "Reviews may only be requested from collaborators. One or more of the users or "
                f"teams you specified is not a collaborator of the {r.full_name} repository.",
                doc=doc,
            )
        for u in body.get("reviewers", []):
            if u == pr["user"]:
                raise HttpError(422, "Review cannot be requested from pull request author.")
            if u not in pr["requested_reviewers"]:
                pr["requested_reviewers"].append(u)
        for t in body.get("team_reviewers", []):
            if t not in pr["requested_teams"]:
                pr["requested_teams"].append(t)
        return 201, self.state.pull_json(r, pr, full=False)

    def r_commit_pulls(self, owner: str, repo: str, sha: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/commits/{sha}/pulls`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        full = self.state.rev(r, sha)
        if full is None:
            raise HttpError(422, f"No commit found for SHA: {sha}")
        out = []
        for pr in sorted(r.pulls.values(), key=lambda p: -p["number"]):
            if pr["merged"]:
                hit = pr["merge_commit_sha"] == full
                if not hit:
                    commits = self.state.git(r, "rev-list", f"{pr['merge_base']}..{pr['head_sha']}").split()
                    hit = full in commits
            else:
                head = self.state.pull_sha(r, pr)
                hit = (
                    pr["state"] == "open"
                    and gitutil.is_ancestor(r.path, full, head)
                    and not gitutil.is_ancestor(r.path, full, self.state.branch_sha(r, pr["base"]) or full)
                )
            if hit:
                out.append(self.state.pull_json(r, pr, full=False))
        return 200, out

    def r_combined_status(self, owner: str, repo: str, ref: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/commits/{ref}/status`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        sha = self.state.resolve(r, ref)
        if sha is None:
            raise HttpError(422, f"No commit found for SHA: {ref}")
        state, statuses, _runs = self.state.combined(r, sha)
        if not statuses:
            state = "pending"  # GitHub: no statuses -> pending, total_count 0
        elif any(s["state"] in ("failure", "error") for s in statuses):
            state = "failure"
        elif any(s["state"] == "pending" for s in statuses):
            state = "pending"
        else:
            state = "success"
        a = f"{self.api_url}/repos/{r.full_name}"
        return 200, {
            "state": state,
            "statuses": [
                {
                    "url": f"{a}/statuses/{sha}",
                    "id": s["id"],
                    "node_id": node_id("SC", s["id"]),
                    "state": s["state"],
                    "description": s["description"],
                    "target_url": s["target_url"],
                    "context": s["context"],
                    "created_at": s["created_at"],
                    "updated_at": s["created_at"],
                    "avatar_url": None,
                }
                for s in statuses
            ],
            "sha": sha,
            "total_count": len(statuses),
            "repository": {
                "id": r.id,
                "node_id": node_id("R", r.id),
                "name": r.name,
                "full_name": r.full_name,
                "owner": self.state.user_json(r.owner),
                "url": a,
            },
            "commit_url": f"{a}/commits/{sha}",
            "url": f"{a}/commits/{sha}/status",
        }

    def r_check_runs(
        self, owner: str, repo: str, ref: str, query: dict[str, list[str]], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/commits/{ref}/check-runs`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        sha = self.state.resolve(r, ref)
        if sha is None:
            raise HttpError(422, f"No commit found for SHA: {ref}")
        runs = r.check_runs.get(sha, [])
        return 200, {
            "total_count": len(runs),
            "check_runs": [
                {
                    "id": c["id"],
                    "name": c["name"],
                    "head_sha": sha,
                    "status": c["status"],
                    "conclusion": c["conclusion"],
                }
                for c in runs
            ],
        }

    def r_create_status(
        self, owner: str, repo: str, sha: str, body: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/statuses/{sha}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "state", resource="Status")
        st = {
            "id": self.state.next_id(),
            "state": body["state"],
            "context": body.get("context", "default"),
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "created_at": now_iso(),
        }
        r.statuses.setdefault(sha, []).append(st)
        self.state.try_auto_merge(r)
        return 201, st

    # --- routes: issues, labels, comments ------------------------------------------------------
    def r_list_issues(
        self, owner: str, repo: str, query: dict[str, list[str]], req_path: str, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``GET /repos/{owner}/{repo}/issues`` (GitHub REST API, "List repository
        issues": ``state``, ``labels``, and ``creator``, "The user that created the issue",
        https://docs.github.com/en/rest/issues/issues#list-repository-issues; logins compare
        case-insensitively)."""
        r = self._repo(owner, repo)
        state = query.get("state", ["open"])[0]
        labels = [x for x in query.get("labels", [""])[0].split(",") if x]
        creator = query.get("creator", [""])[0].lower()
        items = []
        merged = {
            **{n: ("issue", i) for n, i in r.issues.items()},
            **{n: ("pull", p) for n, p in r.pulls.items()},
        }
        for n in sorted(merged, reverse=True):
            kind, item = merged[n]
            if state != "all" and item["state"] != state:
                continue
            if labels and not set(labels) <= set(item["labels"]):
                continue
            if creator and str(item.get("user") or "").lower() != creator:
                continue
            items.append(
                self.state.issue_json(r, item) if kind == "issue" else self.state.pull_as_issue_json(r, item)
            )
        return self._paginate(items, query, req_path)

    def r_create_issue(
        self, owner: str, repo: str, body: dict[str, Any], who: TokenInfo, **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/issues`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "title", resource="Issue")
        n = r.next_number
        r.next_number += 1
        iid = self.state.next_id()
        stamp = now_iso()
        issue = {
            "number": n,
            "id": iid,
            "node_id": node_id("I", iid),
            "title": body["title"],
            "body": body.get("body"),
            "state": "open",
            "labels": list(dict.fromkeys(body.get("labels", []))),
            "assignees": list(body.get("assignees", [])),
            "user": who.login,
            "created_at": stamp,
            "updated_at": stamp,
            "closed_at": None,
        }
        r.issues[n] = issue
        return 201, self.state.issue_json(r, issue)

    def r_get_issue(self, owner: str, repo: str, number: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/issues/{number}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        n = int(number)
        if n in r.pulls:
            return 200, self.state.pull_as_issue_json(r, r.pulls[n])
        return 200, self.state.issue_json(r, self._item(r, number))

    def r_update_issue(
        self, owner: str, repo: str, number: str, body: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``PATCH /repos/{owner}/{repo}/issues/{number}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        item = self._item(r, number)
        for key in ("title", "body"):
            if key in body:
                item[key] = body[key]
        if "labels" in body:
            item["labels"] = list(
                dict.fromkeys(x if isinstance(x, str) else x["name"] for x in body["labels"])
            )
        if "assignees" in body:
            item["assignees"] = list(dict.fromkeys(body["assignees"]))
        if body.get("state") in ("open", "closed") and int(number) in r.issues:
            item["state"] = body["state"]
        item["updated_at"] = now_iso()
        if int(number) in r.pulls:
            return 200, self.state.pull_as_issue_json(r, item)
        return 200, self.state.issue_json(r, item)

    def r_add_labels(self, owner: str, repo: str, number: str, body: Any, **_: Any) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/issues/{number}/labels`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        item = self._item(r, number)
        labels = body.get("labels", []) if isinstance(body, dict) else body
        for x in labels:
            if x not in item["labels"]:
                item["labels"].append(x)
        return 200, [self.state.label_json(r, x) for x in item["labels"]]

    def r_set_labels(self, owner: str, repo: str, number: str, body: Any, **_: Any) -> tuple[int, Any]:
        """Emulates ``PUT /repos/{owner}/{repo}/issues/{number}/labels`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        item = self._item(r, number)
        labels = body.get("labels", []) if isinstance(body, dict) else body
        item["labels"] = list(dict.fromkeys(labels))
        return 200, [self.state.label_json(r, x) for x in item["labels"]]

    def r_add_assignees(
        self, owner: str, repo: str, number: str, body: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/issues/{number}/assignees`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        item = self._item(r, number)
        for u in body.get("assignees", []):
            if u not in item["assignees"]:
                item["assignees"].append(u)
        n = int(number)
        return 201, self.state.pull_as_issue_json(r, item) if n in r.pulls else self.state.issue_json(r, item)

    def r_list_comments(
        self, owner: str, repo: str, number: str, query: dict[str, list[str]], req_path: str, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``GET /repos/{owner}/{repo}/issues/{number}/comments`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._item(r, number)
        items = [
            self.state.comment_json(r, c)
            for c in sorted(self.state.comments.values(), key=lambda c: c["id"])
            if c["repo"] == r.full_name and c["issue_number"] == int(number)
        ]
        return self._paginate(items, query, req_path)

    def r_create_comment(
        self, owner: str, repo: str, number: str, body: dict[str, Any], who: TokenInfo, **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/issues/{number}/comments`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._item(r, number)
        self._require(body, "body", resource="IssueComment")
        cid = self.state.next_id()
        stamp = now_iso()
        c = {
            "id": cid,
            "repo": r.full_name,
            "issue_number": int(number),
            "body": body["body"],
            "user": who.login,
            "created_at": stamp,
            "updated_at": stamp,
        }
        self.state.comments[cid] = c
        return 201, self.state.comment_json(r, c)

    def r_update_comment(
        self, owner: str, repo: str, cid: str, body: dict[str, Any], **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``PATCH /repos/{owner}/{repo}/issues/comments/{cid}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        c = self.state.comments.get(int(cid))
        if c is None or c["repo"] != r.full_name:
            raise HttpError(404, "Not Found")
        self._require(body, "body", resource="IssueComment")
        c["body"] = body["body"]
        c["updated_at"] = now_iso()
        return 200, self.state.comment_json(r, c)

    def _comment(self, r: EmuRepo, cid: str) -> dict[str, Any]:
        c = self.state.comments.get(int(cid))
        if c is None or c["repo"] != r.full_name:
            raise HttpError(
                404, "Not Found", doc="https://docs.github.com/rest/issues/comments#get-an-issue-comment"
            )
        return c

    def r_list_reactions(
        self, owner: str, repo: str, cid: str, query: dict[str, list[str]], req_path: str, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``GET /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions`` ("List
        reactions for an issue comment"; ``content`` filters by one reaction type)."""
        r = self._repo(owner, repo)
        self._comment(r, cid)
        want = query.get("content", [None])[0]
        items = [
            self.state.reaction_json(x)
            for x in self.state.reactions.get(int(cid), [])
            if want is None or x["content"] == want
        ]
        return self._paginate(items, query, req_path)

    def r_create_reaction(
        self, owner: str, repo: str, cid: str, body: dict[str, Any], who: TokenInfo, **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/issues/comments/{comment_id}/reactions`` ("Create
        reaction for an issue comment"): 201 with the new reaction, or "A response with an HTTP
        200 status means that you already added the reaction type to this issue comment"
        (https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment);
        an unknown ``content`` is 422."""
        r = self._repo(owner, repo)
        c = self._comment(r, cid)
        self._require(body, "content", resource="Reaction")
        content = body["content"]
        if content not in REACTION_CONTENTS:
            raise HttpError(
                422,
                "Validation Failed",
                errors=[{"resource": "Reaction", "field": "content", "code": "invalid"}],
            )
        items = self.state.reactions.setdefault(c["id"], [])
        for x in items:
            if x["content"] == content and x["user"] == who.login:
                return 200, self.state.reaction_json(x)
        x = {"id": self.state.next_id(), "content": content, "user": who.login, "created_at": now_iso()}
        items.append(x)
        return 201, self.state.reaction_json(x)

    def r_collaborator_permission(self, owner: str, repo: str, username: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/collaborators/{username}/permission`` ("Get
        repository permissions for a user"): ``permission`` is the legacy base role, "where the
        ``maintain`` role is mapped to ``write`` and the ``triage`` role is mapped to ``read``",
        ``role_name`` the assigned role
        (https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user)."""
        r = self._repo(owner, repo)
        login = urllib.parse.unquote(username)
        role = self.state.role_of(r, login)
        permission = {"maintain": "write", "triage": "read"}.get(role, role)
        levels = {"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}
        level = levels.get(role, 0)
        user = dict(self.state.user_json(login))
        user["permissions"] = {
            "pull": level >= 1,
            "triage": level >= 2,
            "push": level >= 3,
            "maintain": level >= 4,
            "admin": level >= 5,
        }
        user["role_name"] = role
        return 200, {"permission": permission, "role_name": role, "user": user}

    # --- routes: releases --------------------------------------------------------------------------
    def r_list_releases(
        self, owner: str, repo: str, query: dict[str, list[str]], req_path: str, **_: Any
    ) -> tuple[int, Any, dict[str, str]]:
        """Emulates ``GET /repos/{owner}/{repo}/releases`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        return self._paginate([self.state.release_json(r, x) for x in reversed(r.releases)], query, req_path)

    def r_create_release(
        self, owner: str, repo: str, body: dict[str, Any], who: TokenInfo, **_: Any
    ) -> tuple[int, Any]:
        """Emulates ``POST /repos/{owner}/{repo}/releases`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        self._require(body, "tag_name", resource="Release")
        tag = body["tag_name"]
        if any(x["tag_name"] == tag for x in r.releases):
            raise HttpError(
                422,
                "Validation Failed",
                errors=[{"resource": "Release", "code": "already_exists", "field": "tag_name"}],
                doc="https://docs.github.com/rest/releases/releases#create-a-release",
            )
        target = body.get("target_commitish") or r.default_branch
        if self.state.ref_sha(r, f"refs/tags/{tag}") is None:
            sha = self.state.resolve(r, target)
            if sha is None:
                raise HttpError(
                    422,
                    "Validation Failed",
                    errors=[{"resource": "Release", "code": "invalid", "field": "target_commitish"}],
                )
            gitutil.update_ref(r.path, f"refs/tags/{tag}", sha)
        rel = {
            "id": self.state.next_id(),
            "tag_name": tag,
            "name": body.get("name") or tag,
            "body": body.get("body") or "",
            "prerelease": bool(body.get("prerelease")),
            "draft": bool(body.get("draft")),
            "target_commitish": target,
            "created_at": now_iso(),
            "author": who.login,
        }
        r.releases.append(rel)
        return 201, self.state.release_json(r, rel)

    def r_release_by_tag(self, owner: str, repo: str, tag: str, **_: Any) -> tuple[int, Any]:
        """Emulates ``GET /repos/{owner}/{repo}/releases/tags/{tag}`` (GitHub REST API)."""
        r = self._repo(owner, repo)
        for rel in r.releases:
            if rel["tag_name"] == tag:
                return 200, self.state.release_json(r, rel)
        raise HttpError(
            404, "Not Found", doc="https://docs.github.com/rest/releases/releases#get-a-release-by-tag-name"
        )

    # --- GraphQL ------------------------------------------------------------------------------------
    def _graphql(self, payload: dict[str, Any], who: TokenInfo) -> tuple[int, Any]:
        query = payload.get("query", "")
        variables = payload.get("variables") or {}
        for field in self.missing_graphql_fields:
            if field in query:
                kind = "Mutation" if query.lstrip().startswith("mutation") else "Query"
                return 200, {
                    "errors": [
                        {
                            "path": ["mutation" if kind == "Mutation" else "query", field],
                            "extensions": {"code": "undefinedField", "typeName": kind, "fieldName": field},
                            "locations": [{"line": 2, "column": 3}],
                            "message": f"Field '{field}' doesn't exist on type '{kind}'",
                        }
                    ]
                }
        try:
            if "createCommitOnBranch" in query and re.search(r"\bcreateRef\s*\(", query):
                return 200, self._gql_ref_and_commit(variables, who)
            if "createCommitOnBranch" in query:
                return 200, {"data": {"createCommitOnBranch": self._gql_commit(variables["input"], who)}}
            if re.search(r"\bupdateRefs\b", query):
                return 200, {"data": {"updateRefs": self._gql_update_refs(variables["input"], who)}}
            if "enablePullRequestAutoMerge" in query and "input" in variables:
                return 200, {
                    "data": {"enablePullRequestAutoMerge": self._gql_auto_merge(variables["input"], who)}
                }
            if re.search(r"\brefs\s*\(", query):
                return 200, {"data": {"repository": self._gql_tags(variables)}}
            from emulator import gql

            executed = gql.execute(self, query, variables, who)
            if executed is not None:
                return 200, executed
        except GraphQLError as exc:
            return 200, {
                "data": {exc.path: None},
                "errors": [
                    {
                        "type": exc.type,
                        "path": [exc.path],
                        "locations": [{"line": 1, "column": 1}],
                        "message": exc.message,
                    }
                ],
            }
        except KeyError as exc:
            return 200, {
                "errors": [
                    {
                        "message": f"Variable {exc} of type was not provided.",
                        "locations": [{"line": 1, "column": 1}],
                    }
                ]
            }
        return 200, {
            "errors": [
                {
                    "message": "the emulator does not implement this query",
                    "locations": [{"line": 1, "column": 1}],
                }
            ]
        }

    def _gql_ref_and_commit(self, variables: dict[str, Any], who: TokenInfo) -> dict[str, Any]:
        """``mutation { createRef(input: $ref) ... createCommitOnBranch(input: $input) ... }``: one
        request, two mutations run one after the other (GraphQL spec, "Mutation": top-level
        mutation fields execute serially); an error in one field nulls that field only
        (https://docs.github.com/en/graphql/reference/mutations#createref)."""
        data: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        ref = variables["ref"]
        try:
            full_name = next(
                (
                    r.full_name
                    for r in self.state.repos.values()
                    if ref.get("repositoryId") in (_node("R", r.id), f"R_{r.id}")
                ),
                None,
            )
            r = self.state.repos.get(full_name or "")
            if r is None:
                raise GraphQLError(
                    "NOT_FOUND", "Could not resolve to a node with the global id.", "createRef"
                )
            permissions.check_repository(who, r.full_name, private=r.private, write=True)
            name = str(ref["name"])
            if gitutil.rev_parse(r.path, name):
                raise GraphQLError(
                    "UNPROCESSABLE", f'A ref named "{name}" already exists in the repository.', "createRef"
                )
            gitutil.update_ref(r.path, name, str(ref["oid"]))
            if name.startswith("refs/heads/"):
                self.state.branch_moved(r, name[len("refs/heads/") :])
            data["createRef"] = {"ref": {"name": name.rsplit("/", 1)[-1]}}
        except GraphQLError as exc:
            data["createRef"] = None
            errors.append({"type": exc.type, "path": ["createRef"], "message": exc.message})
        try:
            data["createCommitOnBranch"] = self._gql_commit(variables["input"], who)
        except GraphQLError as exc:
            data["createCommitOnBranch"] = None
            errors.append({"type": exc.type, "path": ["createCommitOnBranch"], "message": exc.message})
        return {"data": data, **({"errors": errors} if errors else {})}

    def _gql_commit(self, inp: dict[str, Any], who: TokenInfo) -> dict[str, Any]:
        branch = inp["branch"]
        full_name = branch.get("repositoryNameWithOwner")
        r = self.state.repos.get(full_name or "")
        if r is None:
            raise GraphQLError(
                "NOT_FOUND",
                f"Could not resolve to a Repository with the name '{full_name}'.",
                "createCommitOnBranch",
            )
        name = branch["branchName"]
        cur = self.state.branch_sha(r, name)
        if cur is None:
            raise GraphQLError(
                "NOT_FOUND", f'A ref named "refs/heads/{name}" does not exist.', "createCommitOnBranch"
            )
        permissions.check_repository(who, r.full_name, private=r.private, write=True)
        if r.archived and not self.state.semantics.legacy_archived_writes:
            raise GraphQLError(
                "FORBIDDEN", "Repository was archived so is read-only.", "createCommitOnBranch"
            )
        if inp.get("expectedHeadOid") != cur:
            raise GraphQLError(
                "STALE_DATA",
                f'Expected branch to point to "{inp.get("expectedHeadOid")}" but it did not. Pull and try again.',
                "createCommitOnBranch",
            )
        msg = inp.get("message", {})
        message = msg.get("headline", "")
        if msg.get("body"):
            message += "\n\n" + msg["body"]
        fc = inp.get("fileChanges", {})
        changes: list[tuple[str, bytes | None]] = [(d["path"], None) for d in fc.get("deletions", [])]
        changes += [(a["path"], base64.b64decode(a["contents"])) for a in fc.get("additions", [])]
        sha = self.state.commit_changes(r, cur, message + "\n", changes, author=who.login)
        gitutil.update_ref(r.path, f"refs/heads/{name}", sha, cur)
        self.state.branch_moved(r, name)
        return {"commit": {"oid": sha, "url": f"{self.state.html_url}/{r.full_name}/commit/{sha}"}}

    def _gql_update_refs(self, inp: dict[str, Any], who: TokenInfo) -> dict[str, Any]:
        """``updateRefs`` (https://docs.github.com/en/graphql/reference/mutations#updaterefs):
        "All updates are performed atomically, meaning that if one of them is rejected, no other
        ref will be modified. RefUpdate.beforeOid specifies that the given reference needs to
        point to the given value before performing any updates. A value of
        0000000000000000000000000000000000000000 can be used to verify that the references should
        not exist. RefUpdate.afterOid specifies the value that the given reference will point to
        after performing all updates. A value of 0000000000000000000000000000000000000000 can be
        used to delete a reference. If RefUpdate.force is set to true, a non-fast-forward updates
        for the given reference will be allowed." The docs name no error type for a rejected
        update; the emulator answers ``UNPROCESSABLE`` naming the ref."""
        r = next(
            (x for x in self.state.repos.values() if node_id("R", x.id) == inp.get("repositoryId")), None
        )
        if r is None:
            raise GraphQLError(
                "NOT_FOUND",
                f"Could not resolve to a node with the global id of '{inp.get('repositoryId')}'",
                "updateRefs",
            )
        permissions.check_repository(who, r.full_name, private=r.private, write=True)
        if r.archived and not self.state.semantics.legacy_archived_writes:
            raise GraphQLError("FORBIDDEN", "Repository was archived so is read-only.", "updateRefs")
        zero = gitutil.ZERO_SHA
        plan: list[tuple[str, str, str | None]] = []
        for upd in inp.get("refUpdates") or []:
            name, after = str(upd["name"]), str(upd["afterOid"])
            before = upd.get("beforeOid")
            found = self.state.ref_sha(r, name)
            cur = found[0] if found else None
            if before is not None and (cur or zero) != before:
                raise GraphQLError(
                    "UNPROCESSABLE", f"Reference {name} is at {cur or zero}, not at {before}", "updateRefs"
                )
            if after != zero:
                if gitutil.run_git(["cat-file", "-e", after], git_dir=r.path, check=False).returncode != 0:
                    raise GraphQLError("UNPROCESSABLE", f"Object {after} does not exist", "updateRefs")
                if cur and not upd.get("force") and not gitutil.is_ancestor(r.path, cur, after):
                    raise GraphQLError(
                        "UNPROCESSABLE", f"Update of {name} is not a fast forward", "updateRefs"
                    )
            plan.append((name, after, cur))
        for name, after, cur in plan:
            if after == zero:
                gitutil.run_git(["update-ref", "-d", name], git_dir=r.path)
            else:
                gitutil.update_ref(r.path, name, after, cur or zero)
            if name.startswith("refs/heads/"):
                self.state.head_moved(r, name[len("refs/heads/") :])
                self.state.branch_moved(r, name[len("refs/heads/") :])
        self.state.try_auto_merge(r)
        return {"clientMutationId": inp.get("clientMutationId")}

    def _gql_auto_merge(self, inp: dict[str, Any], who: TokenInfo) -> dict[str, Any]:
        """``enablePullRequestAutoMerge``.

        GitHub offers auto-merge only while something must still be waited for
        (https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/incorporating-changes-from-a-pull-request/automatically-merging-a-pull-request:
        "If you allow auto-merge ... people with write permissions can configure individual pull
        requests in the repository to merge automatically when all merge requirements are met").
        Errors, type UNPROCESSABLE, with the texts clients report: "Pull request Pull request is
        in clean status" when it can be merged now (also when no check was ever reported), "Pull
        request Pull request is in unstable status" when only non-required checks are pending or
        failing (peter-evans/enable-pull-request-automerge#343, rjwalters/loom#3379,
        Linuxfabrik/kickstart#48), "Auto merge is not allowed for this repository" without the
        repository setting (indexable-inc/index#2948), "Merge method merge commits are not allowed
        on this repository" for a disallowed method (coder/coder#16297)."""
        r, pr, number = self._gql_pull(inp, "enablePullRequestAutoMerge")
        permissions.check_repository(who, r.full_name, private=r.private, write=True)
        if not r.allow_auto_merge:
            raise GraphQLError(
                "UNPROCESSABLE", "Auto merge is not allowed for this repository", "enablePullRequestAutoMerge"
            )
        if pr["state"] != "open":
            raise GraphQLError("UNPROCESSABLE", "Pull request is closed", "enablePullRequestAutoMerge")
        method = inp.get("mergeMethod", "MERGE").lower()
        allowed = {
            "merge": r.allow_merge_commit,
            "squash": r.allow_squash_merge,
            "rebase": r.allow_rebase_merge,
        }
        label = {"merge": "merge commits", "squash": "squash merges", "rebase": "rebase merges"}
        if not allowed.get(method, True):
            raise GraphQLError(
                "UNPROCESSABLE",
                f"Merge method {label[method]} are not allowed on this repository",
                "enablePullRequestAutoMerge",
            )
        status = self.state.merge_state(r, pr)  # the mutation waits for the computation
        if status in ("CLEAN", "UNSTABLE", "HAS_HOOKS"):
            raise GraphQLError(
                "UNPROCESSABLE",
                f"Pull request Pull request is in {status.lower()} status",
                "enablePullRequestAutoMerge",
            )
        stamp = now_iso()
        pr["auto_merge"] = {
            "enabled_by": self.state.user_json(who.login),
            "merge_method": method,
            "commit_title": "",  # the auto-merge schema types both as (non-null) strings
            "commit_message": "",
        }
        pr["auto_merge_enabled_at"] = stamp
        return {
            "pullRequest": {
                "id": pr["node_id"],
                "number": number,
                "autoMergeRequest": {"mergeMethod": method.upper(), "enabledAt": stamp},
            },
            "clientMutationId": None,
        }

    def _gql_pull(self, inp: dict[str, Any], path: str) -> tuple[EmuRepo, dict[str, Any], int]:
        target = self.state.nodes.get(inp["pullRequestId"])
        if target is None:
            raise GraphQLError(
                "NOT_FOUND",
                f"Could not resolve to a node with the global id of '{inp['pullRequestId']}'",
                path,
            )
        _kind, full_name, number = target
        r = self.state.repos[full_name]
        return r, r.pulls[number], number

    def _gql_tags(self, variables: dict[str, Any]) -> dict[str, Any]:
        full_name = f"{variables['owner']}/{variables['name']}"
        r = self.state.repos.get(full_name)
        if r is None:
            raise GraphQLError(
                "NOT_FOUND", f"Could not resolve to a Repository with the name '{full_name}'.", "repository"
            )
        out = self.state.git(
            r,
            "for-each-ref",
            "--format=%(refname:strip=2)%1f%(objecttype)%1f%(objectname)%1f%(*objectname)%1f%(contents)%1e",
            "refs/tags",
        )
        nodes = []
        for rec in out.split("\x1e"):
            rec = rec.lstrip("\n")
            if not rec:
                continue
            name, otype, oid, peeled, contents = rec.split("\x1f", 4)
            if otype == "tag":
                nodes.append(
                    {
                        "name": name,
                        "target": {
                            "__typename": "Tag",
                            "oid": oid,
                            "message": contents,
                            "target": {"oid": peeled},
                        },
                    }
                )
            else:
                nodes.append({"name": name, "target": {"__typename": "Commit", "oid": oid}})
        first = int(variables.get("first", 100))
        start = int(variables["after"]) if variables.get("after") else 0
        page = nodes[start : start + first]
        end = start + len(page)
        return {
            "refs": {
                "totalCount": len(nodes),
                "pageInfo": {"hasNextPage": end < len(nodes), "endCursor": str(end)},
                "nodes": page,
            }
        }


def _check_merge_method(r: EmuRepo, method: str) -> None:
    """405 when the repository disallows ``method`` (``allow_merge_commit``/``allow_squash_merge``/
    ``allow_rebase_merge``, https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/configuring-pull-request-merges/about-merge-methods-on-github),
    with GitHub's texts as clients quote them ("Merge commits are not allowed on this
    repository.", Mergifyio/mergify#1812; "Squash merges are not allowed on this repository.",
    ridedott/merge-me-action#329)."""
    allowed = {"merge": r.allow_merge_commit, "squash": r.allow_squash_merge, "rebase": r.allow_rebase_merge}
    text = {
        "merge": "Merge commits are not allowed on this repository.",
        "squash": "Squash merges are not allowed on this repository.",
        "rebase": "Rebase merges are not allowed on this repository.",
    }
    if method in allowed and not allowed[method]:
        raise HttpError(
            405, text[method], doc="https://docs.github.com/rest/pulls/pulls#merge-a-pull-request"
        )


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _workflow_dispatch_trigger(text: bytes | None) -> dict[str, Any] | None:
    """The ``on.workflow_dispatch`` mapping of a workflow file (``{}`` when it is declared without
    settings: ``on: workflow_dispatch``, ``on: [push, workflow_dispatch]``,
    ``on: {workflow_dispatch: }``), or None when the file is absent, not YAML, or has no such
    trigger ("Events that trigger workflows", workflow_dispatch:
    https://docs.github.com/en/actions/reference/workflows-and-actions/events-that-trigger-workflows#workflow_dispatch).
    YAML 1.1 reads a bare ``on`` key as True; both spellings count."""
    import yaml

    if text is None:
        return None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    if not isinstance(doc, dict):
        return None
    on = doc.get("on", doc.get(True))
    if on == "workflow_dispatch" or (isinstance(on, list) and "workflow_dispatch" in on):
        return {}
    if isinstance(on, dict) and "workflow_dispatch" in on:
        spec = on["workflow_dispatch"]
        return spec if isinstance(spec, dict) else {}
    return None


def _make_handler(emu: GitHubEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True
        server_version = "GitHub.com"
        sys_version = ""

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _body(self) -> bytes:
            if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                chunks: list[bytes] = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _any(self) -> None:
            body = self._body()
            git = emu.handle_git(self.command, self.path, dict(self.headers.items()), body)
            if git is not None:
                self._send(git[0], git[1], git[2])
                return
            status, headers, out, fault = emu.handle(
                self.command, self.path, dict(self.headers.items()), body
            )
            if fault in ("drop", "drop_after"):
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            self._send(status, headers, out)

        def _send(self, status: int, headers: Mapping[str, str], out: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            if out:
                self.wfile.write(out)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _any

    return Handler
