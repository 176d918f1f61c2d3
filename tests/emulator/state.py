"""Emulator state: repositories (bare git repos), pull requests, issues, comments, releases, statuses.

Everything is guarded by ``EmulatorState.lock`` (the HTTP handler takes it around each request).
JSON renderers produce GitHub's REST shapes (key sets checked against PyGithub's recorded
responses in ``reference_shapes.json``).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as _dt
import itertools
import tempfile
import threading
from pathlib import Path
from typing import Any

from catalog_ops import gitutil

REACTION_CONTENTS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
"""Reaction contents GitHub accepts (REST "Reactions", ``content``)."""


def now_iso() -> str:
    """Current UTC time as GitHub writes it (``2024-01-31T12:00:00Z``)."""
    return _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class HttpError(Exception):
    """Raised by route handlers; rendered as GitHub's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        doc: str = "https://docs.github.com/rest",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.doc = doc

    def body(self) -> dict[str, Any]:
        """The JSON error body GitHub sends (``message``, ``documentation_url``, ``status``, ``errors``)."""
        out: dict[str, Any] = {"message": self.message}
        if self.errors is not None:
            out["errors"] = self.errors
        out["documentation_url"] = self.doc
        out["status"] = str(self.status)
        return out


class GraphQLError(Exception):
    """A GraphQL ``errors[]`` entry (``type`` such as ``NOT_FOUND``/``STALE_DATA``, message, path)."""

    def __init__(self, type_: str, message: str, path: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message
        self.path = path


@dataclasses.dataclass
class TokenInfo:
    """A credential the emulator accepts. ``read_only`` tokens get 403 on writes.

    ``permissions`` (None: unrestricted, like a classic ``repo`` PAT) maps GitHub's fine-grained
    permission names (``contents``, ``pull_requests``, ``issues``, ``checks``, ``statuses``,
    ``metadata``, ``actions``, ``administration``, ``workflows``) to ``read``/``write``;
    ``repositories`` (None: all) lists the ``owner/name`` the token may reach. See
    ``emulator.permissions`` for how requests are checked.
    """

    token: str
    login: str
    kind: str = "pat"  # pat | fine_grained | app | actions
    read_only: bool = False
    scopes: tuple[str, ...] = ("repo",)
    permissions: dict[str, str] | None = None
    repositories: frozenset[str] | None = None


@dataclasses.dataclass
class Protection:
    """Classic branch protection of one branch (the parts catalog-ops meets).

    https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-protected-branches/about-protected-branches
    ``contexts``: required status checks (a status ``context`` or a check run ``name``);
    ``strict``: "Require branches to be up to date before merging" (BEHIND when the base moved);
    ``required_approving_review_count`` / ``require_code_owner_reviews``: required reviews.
    """

    contexts: list[str] = dataclasses.field(default_factory=list)
    strict: bool = False
    required_approving_review_count: int = 0
    require_code_owner_reviews: bool = False


@dataclasses.dataclass
class Ruleset:
    """A repository ruleset (target ``branch``) with a ``required_status_checks`` rule.

    https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-rulesets/available-rules-for-rulesets#require-status-checks-to-pass-before-merging
    ``include``: ref name patterns (``~DEFAULT_BRANCH``, ``~ALL``, ``refs/heads/main``, fnmatch
    globs); only ``enforcement == "active"`` rulesets apply ("evaluate"/"disabled" are not
    returned by ``GET /rules/branches/{branch}``, per the REST docs).
    """

    id: int
    name: str
    required_checks: list[str] = dataclasses.field(default_factory=list)
    strict: bool = False
    include: list[str] = dataclasses.field(default_factory=lambda: ["~DEFAULT_BRANCH"])
    enforcement: str = "active"
    required_approving_review_count: int = 0


@dataclasses.dataclass
class CiJob:
    """What a dependent's CI posts on each new PR head: check run (or commit status) ``name``
    appears ``after`` units after the PR event as pending/in progress, and completes with
    ``conclusion`` ``run`` units later. ``unit`` is ``"seconds"`` or ``"reads"`` (requests the
    emulator serves), so tests can be deterministic. ``kind``: ``check_run`` | ``status``."""

    name: str
    after: float = 0.0
    run: float = 0.0
    conclusion: str = "success"
    kind: str = "check_run"
    unit: str = "seconds"


@dataclasses.dataclass
class Semantics:
    """Switches between the emulator's old simplified behaviour (``legacy_*`` True) and GitHub's
    documented behaviour (the default). Merge states (UNKNOWN → BLOCKED/BEHIND/DIRTY/UNSTABLE/CLEAN,
    ``EmulatorState.merge_state``) and reviewer requests (422 for who cannot review, CODEOWNERS
    requested on open) always follow GitHub since issue 14 made the product right.
    ``Semantics.github()`` turns every switch to GitHub's behaviour.

    * ``legacy_archived_writes``: archived repositories accept writes.
    * ``legacy_user_repos_private``: ``GET /users/{u}/repos`` also lists private repositories.
    """

    legacy_archived_writes: bool = False
    legacy_user_repos_private: bool = False

    @classmethod
    def github(cls, only: str = "all") -> Semantics:
        """GitHub's documented behaviour for every switch (``only="all"``), or for the
        comma-separated switch names in ``only`` (``"merge_state,reviewers"``: the names
        without ``legacy_``); the others keep their defaults."""
        if only.strip().lower() in ("1", "all", "true", "yes"):
            return cls(False, False)
        out = cls()
        for name in filter(None, (n.strip() for n in only.split(","))):
            field = f"legacy_{name.removeprefix('legacy_')}"
            if name.removeprefix("legacy_") in ("merge_state", "reviewers"):
                continue  # always GitHub's behaviour now (kept as accepted names)
            if not hasattr(out, field):
                raise ValueError(f"unknown Semantics switch {name!r}")
            setattr(out, field, False)
        return out


@dataclasses.dataclass
class EmuRepo:
    """One emulated repository: its bare git directory plus PRs, issues, statuses and settings."""

    full_name: str
    id: int
    path: Path
    default_branch: str = "main"
    topics: list[str] = dataclasses.field(default_factory=list)
    archived: bool = False
    fork: bool = False
    disabled: bool = False
    private: bool = False
    allow_auto_merge: bool = True
    allow_squash_merge: bool = True
    allow_merge_commit: bool = True
    allow_rebase_merge: bool = True
    required_contexts: list[str] = dataclasses.field(default_factory=list)  # legacy: any base branch
    protection: dict[str, Protection] = dataclasses.field(default_factory=dict)
    rulesets: list[Ruleset] = dataclasses.field(default_factory=list)
    collaborators: set[str] = dataclasses.field(default_factory=set)  # with write access
    # login -> repository role (admin, maintain, write, triage, read): what
    # ``GET …/collaborators/{username}/permission`` answers; ``collaborators`` count as write
    roles: dict[str, str] = dataclasses.field(default_factory=dict)
    ci: list[CiJob] = dataclasses.field(default_factory=list)
    scheduled: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    created_at: str = dataclasses.field(default_factory=now_iso)
    pulls: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = dataclasses.field(default_factory=dict)
    releases: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    statuses: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    check_runs: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    next_number: int = 1

    @property
    def owner(self) -> str:
        """Login before the ``/``."""
        return self.full_name.split("/")[0]

    @property
    def name(self) -> str:
        """Repository name after the ``/``."""
        return self.full_name.split("/")[1]


class EmulatorState:
    """All server-side state. ``api_url`` is the REST base (``http://127.0.0.1:PORT[/api/v3]``)."""

    def __init__(self, root: Path, api_url: str = "") -> None:
        self.root = root
        self.api_url = api_url
        self.html_url = "https://github.example"
        #: ``http://127.0.0.1:PORT`` once ``GitHubEmulator.serve_git_http()`` ran: clone URLs then
        #: point at the emulator's smart-HTTP git endpoint instead of ``file://``.
        self.git_http_url: str | None = None
        self.lock = threading.RLock()
        self.repos: dict[str, EmuRepo] = {}
        self.comments: dict[int, dict[str, Any]] = {}
        self.reactions: dict[int, list[dict[str, Any]]] = {}  # issue comment id -> reactions
        self.tokens: dict[str, TokenInfo] = {}
        self.apps: dict[str, Any] = {}  # app_id -> public key
        self.users: dict[str, int] = {}
        # Logins that are user accounts, not organizations: ``GET /orgs/{login}/repos`` is a 404
        # for them (https://docs.github.com/en/rest/repos/repos#list-organization-repositories
        # lists an organization's repositories; a user is not one), so clients fall back to the
        # user listings. Owners not named here act as organizations.
        self.user_accounts: set[str] = set()
        self.nodes: dict[str, tuple[str, str, int]] = {}  # node_id -> (kind, repo, number)
        self.teams: dict[str, set[str]] = {}  # org -> team slugs with access to its repos
        self.org_members: dict[str, set[str]] = {}  # org -> member logins
        self.semantics = Semantics()
        self.reads = 0  # requests served (the clock of CiJob(unit="reads"))
        self._ids = itertools.count(1000)

    def next_id(self) -> int:
        """A fresh numeric database id (GitHub ``id`` fields)."""
        return next(self._ids)

    # --- git helpers -------------------------------------------------------------------
    def git(self, repo: EmuRepo, *args: str, input: bytes | None = None, check: bool = True) -> str:
        """stdout of ``git`` run on the repo's bare directory. GitError when ``check`` and it fails."""
        proc = gitutil.run_git(list(args), git_dir=repo.path, input=input, check=check)
        return proc.stdout.decode("utf-8", errors="replace").strip()

    def rev(self, repo: EmuRepo, rev: str) -> str | None:
        """Full commit id of ``rev`` or None."""
        return gitutil.rev_parse(repo.path, rev)

    def branch_sha(self, repo: EmuRepo, branch: str) -> str | None:
        """Tip of ``refs/heads/<branch>`` or None."""
        return gitutil.rev_parse(repo.path, f"refs/heads/{branch}")

    def ref_sha(self, repo: EmuRepo, ref: str) -> tuple[str, str] | None:
        """(object id, object type) of ``refs/...`` without peeling, or None."""
        out = self.git(repo, "for-each-ref", "--format=%(refname) %(objectname) %(objecttype)", ref)
        for line in out.splitlines():
            name, oid, otype = line.split()
            if name == ref:
                return oid, otype
        return None

    def resolve(self, repo: EmuRepo, ref: str) -> str | None:
        """Commit id of a branch, tag or sha (GitHub ``ref`` query parameter), or None."""
        for cand in (f"refs/heads/{ref}", f"refs/tags/{ref}", ref):
            sha = gitutil.rev_parse(repo.path, cand)
            if sha:
                return sha
        return None

    def temp_index(self) -> Path:
        """A fresh path for a private ``GIT_INDEX_FILE`` (the caller deletes it)."""
        fd, name = tempfile.mkstemp(prefix="emu-index-", dir=self.root)
        import os

        os.close(fd)
        p = Path(name)
        p.unlink()
        return p

    def commit_changes(
        self,
        repo: EmuRepo,
        parent: str | None,
        message: str,
        changes: list[tuple[str, bytes | None]],
        *,
        author: str,
    ) -> str:
        """New commit on ``parent`` (None: a root commit) with ``changes`` ((path, bytes or None to
        delete)); committer "GitHub" as on github.com. Returns its id; no ref is moved."""
        env = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": f"{author}@users.noreply.github.example",
            "GIT_COMMITTER_NAME": "GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.com",
        }
        return gitutil.commit_tree_changes(
            repo.path, parent=parent, message=message, changes=changes, index_file=self.temp_index(), env=env
        )

    # --- identities -----------------------------------------------------------------------
    def user_json(self, login: str) -> dict[str, Any]:
        """GitHub REST simple-user object for ``login`` (bots end in ``[bot]``)."""
        uid = self.users.setdefault(login, self.next_id())
        api = self.api_url
        return {
            "login": login,
            "id": uid,
            "node_id": _node("U", uid),
            "avatar_url": f"{self.html_url}/avatars/{login}",
            "gravatar_id": "",
            "url": f"{api}/users/{login}",
            "html_url": f"{self.html_url}/{login}",
            "followers_url": f"{api}/users/{login}/followers",
            "following_url": f"{api}/users/{login}/following{{/other_user}}",
            "gists_url": f"{api}/users/{login}/gists{{/gist_id}}",
            "starred_url": f"{api}/users/{login}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{api}/users/{login}/subscriptions",
            "organizations_url": f"{api}/users/{login}/orgs",
            "repos_url": f"{api}/users/{login}/repos",
            "events_url": f"{api}/users/{login}/events{{/privacy}}",
            "received_events_url": f"{api}/users/{login}/received_events",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "user_view_type": "public",
            "site_admin": False,
        }

    def team_json(self, org: str, slug: str) -> dict[str, Any]:
        """GitHub REST team object for ``org/slug``."""
        tid = self.users.setdefault(f"team:{org}/{slug}", self.next_id())
        return {
            "id": tid,
            "node_id": _node("T", tid),
            "name": slug,
            "slug": slug,
            "description": None,
            "privacy": "closed",
            "permission": "pull",
            "url": f"{self.api_url}/organizations/1/team/{tid}",
            "html_url": f"{self.html_url}/orgs/{org}/teams/{slug}",
            "members_url": f"{self.api_url}/organizations/1/team/{tid}/members{{/member}}",
            "repositories_url": f"{self.api_url}/organizations/1/team/{tid}/repos",
            "parent": None,
        }

    # --- JSON renderers -------------------------------------------------------------------
    def clone_url(self, repo: EmuRepo) -> str:
        """``file://`` URL of the bare repository (stands in for GitHub's https clone URL), or
        ``<git_http_url>/<owner>/<name>.git`` when the emulator serves git over HTTP."""
        if self.git_http_url:
            return f"{self.git_http_url}/{repo.full_name}.git"
        return repo.path.as_uri()

    def repo_json(self, repo: EmuRepo) -> dict[str, Any]:
        """GitHub REST repository object."""
        a = f"{self.api_url}/repos/{repo.full_name}"
        h = f"{self.html_url}/{repo.full_name}"
        open_count = sum(1 for p in repo.pulls.values() if p["state"] == "open") + sum(
            1 for i in repo.issues.values() if i["state"] == "open"
        )
        data: dict[str, Any] = {
            "id": repo.id,
            "node_id": _node("R", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self.user_json(repo.owner),
            "html_url": h,
            "description": None,
            "fork": repo.fork,
            "url": a,
            "created_at": repo.created_at,
            "updated_at": repo.created_at,
            "pushed_at": repo.created_at,
            "git_url": self.clone_url(repo),
            "ssh_url": self.clone_url(repo),
            "clone_url": self.clone_url(repo),
            "svn_url": h,
            "mirror_url": None,
            "homepage": None,
            "size": 1,
            "stargazers_count": 0,
            "watchers_count": 0,
            "watchers": 0,
            "language": "HCL",
            "has_issues": True,
            "has_projects": False,
            "has_downloads": True,
            "has_wiki": False,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "forks": 0,
            "archived": repo.archived,
            "disabled": repo.disabled,
            "open_issues_count": open_count,
            "open_issues": open_count,
            "is_template": False,
            "topics": list(repo.topics),
            "visibility": "private" if repo.private else "public",
            "default_branch": repo.default_branch,
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
            # https://docs.github.com/en/rest/repos/repos#get-a-repository (allow_* merge settings)
            "allow_squash_merge": repo.allow_squash_merge,
            "allow_merge_commit": repo.allow_merge_commit,
            "allow_rebase_merge": repo.allow_rebase_merge,
            "allow_auto_merge": repo.allow_auto_merge,
            "delete_branch_on_merge": False,
            "allow_update_branch": False,
            "allow_forking": True,
            "use_squash_pr_title_as_default": False,
            "squash_merge_commit_message": "COMMIT_MESSAGES",
            "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
            "merge_commit_message": "PR_TITLE",
            "merge_commit_title": "MERGE_MESSAGE",
            "web_commit_signoff_required": False,
            "network_count": 0,
            "subscribers_count": 0,
        }
        for key, suffix in _REPO_URLS.items():
            data[key] = a + suffix
        return data

    def pull_sha(self, repo: EmuRepo, pr: dict[str, Any]) -> str:
        """Current head commit of ``pr`` (the branch tip while open, the recorded sha after)."""
        if pr["state"] == "open":
            return self.branch_sha(repo, pr["head"]) or pr["head_sha"]
        return str(pr["head_sha"])

    def label_json(self, repo: EmuRepo, name: str) -> dict[str, Any]:
        """GitHub REST label object."""
        lid = self.users.setdefault(f"label:{repo.full_name}:{name}", self.next_id())
        return {
            "id": lid,
            "node_id": _node("LA", lid),
            "url": f"{self.api_url}/repos/{repo.full_name}/labels/{name}",
            "name": name,
            "color": "ededed",
            "default": False,
            "description": "",  # pull-request-simple.labels[].description is a non-null string
        }

    def pull_json(self, repo: EmuRepo, pr: dict[str, Any], *, full: bool = True) -> dict[str, Any]:
        """GitHub REST pull-request object (``full=False``: the list form without merge fields)."""
        a = f"{self.api_url}/repos/{repo.full_name}"
        h = f"{self.html_url}/{repo.full_name}"
        n = pr["number"]
        head_sha = self.pull_sha(repo, pr)
        base_sha = self.branch_sha(repo, pr["base"]) or ""
        rj = self.repo_json(repo)
        assignees = [self.user_json(u) for u in pr["assignees"]]
        data: dict[str, Any] = {
            "url": f"{a}/pulls/{n}",
            "id": pr["id"],
            "node_id": pr["node_id"],
            "html_url": f"{h}/pull/{n}",
            "diff_url": f"{h}/pull/{n}.diff",
            "patch_url": f"{h}/pull/{n}.patch",
            "issue_url": f"{a}/issues/{n}",
            "number": n,
            "state": pr["state"],
            "locked": False,
            "title": pr["title"],
            "user": self.user_json(pr["user"]),
            "body": pr["body"],
            "created_at": pr["created_at"],
            "updated_at": pr["updated_at"],
            "closed_at": pr["closed_at"],
            "merged_at": pr["merged_at"],
            "merge_commit_sha": pr["merge_commit_sha"],
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "requested_reviewers": [self.user_json(u) for u in pr["requested_reviewers"]],
            "requested_teams": [self.team_json(repo.owner, t) for t in pr["requested_teams"]],
            "labels": [self.label_json(repo, name) for name in pr["labels"]],
            "milestone": None,
            "draft": False,
            "commits_url": f"{a}/pulls/{n}/commits",
            "review_comments_url": f"{a}/pulls/{n}/comments",
            "review_comment_url": f"{a}/pulls/comments{{/number}}",
            "comments_url": f"{a}/issues/{n}/comments",
            "statuses_url": f"{a}/statuses/{head_sha}",
            "head": {
                "label": f"{repo.owner}:{pr['head']}",
                "ref": pr["head"],
                "sha": head_sha,
                "user": self.user_json(repo.owner),
                "repo": rj,
            },
            "base": {
                "label": f"{repo.owner}:{pr['base']}",
                "ref": pr["base"],
                "sha": base_sha,
                "user": self.user_json(repo.owner),
                "repo": rj,
            },
            "_links": {
                "self": {"href": f"{a}/pulls/{n}"},
                "html": {"href": f"{h}/pull/{n}"},
                "issue": {"href": f"{a}/issues/{n}"},
                "comments": {"href": f"{a}/issues/{n}/comments"},
                "review_comments": {"href": f"{a}/pulls/{n}/comments"},
                "review_comment": {"href": f"{a}/pulls/comments{{/number}}"},
                "commits": {"href": f"{a}/pulls/{n}/commits"},
                "statuses": {"href": f"{a}/statuses/{head_sha}"},
            },
            "author_association": "MEMBER",
            "auto_merge": pr["auto_merge"],
            "active_lock_reason": None,
        }
        if full:
            mergeable, mstate = self.rest_mergeability(repo, pr, head_sha)
            data.update(
                merged=pr["merged"],
                mergeable=mergeable,
                rebaseable=mergeable,
                mergeable_state=mstate,
                merged_by=self.user_json(pr["merged_by"]) if pr.get("merged_by") else None,
                comments=sum(
                    1
                    for c in self.comments.values()
                    if c["repo"] == repo.full_name and c["issue_number"] == n
                ),
                review_comments=0,
                maintainer_can_modify=False,
                commits=1,
                additions=0,
                deletions=0,
                changed_files=0,
            )
        return data

    def issue_json(self, repo: EmuRepo, issue: dict[str, Any]) -> dict[str, Any]:
        """GitHub REST issue object."""
        a = f"{self.api_url}/repos/{repo.full_name}"
        h = f"{self.html_url}/{repo.full_name}"
        n = issue["number"]
        assignees = [self.user_json(u) for u in issue["assignees"]]
        return {
            "url": f"{a}/issues/{n}",
            "repository_url": a,
            "labels_url": f"{a}/issues/{n}/labels{{/name}}",
            "comments_url": f"{a}/issues/{n}/comments",
            "events_url": f"{a}/issues/{n}/events",
            "html_url": f"{h}/issues/{n}",
            "timeline_url": f"{a}/issues/{n}/timeline",
            "id": issue["id"],
            "node_id": issue["node_id"],
            "number": n,
            "title": issue["title"],
            "user": self.user_json(issue["user"]),
            "labels": [self.label_json(repo, x) for x in issue["labels"]],
            "state": issue["state"],
            "state_reason": None,
            "locked": False,
            "assignee": assignees[0] if assignees else None,
            "assignees": assignees,
            "milestone": None,
            "comments": sum(
                1 for c in self.comments.values() if c["repo"] == repo.full_name and c["issue_number"] == n
            ),
            "created_at": issue["created_at"],
            "updated_at": issue["updated_at"],
            "closed_at": issue.get("closed_at"),
            "closed_by": None,
            "author_association": "MEMBER",
            "active_lock_reason": None,
            "body": issue["body"],
            "reactions": {"url": f"{a}/issues/{n}/reactions", "total_count": 0},
            "performed_via_github_app": None,
        }

    def pull_as_issue_json(self, repo: EmuRepo, pr: dict[str, Any]) -> dict[str, Any]:
        """A PR as the issues API lists it (with ``pull_request``)."""
        data = self.issue_json(repo, pr)
        a = f"{self.api_url}/repos/{repo.full_name}"
        data["pull_request"] = {
            "url": f"{a}/pulls/{pr['number']}",
            "html_url": f"{self.html_url}/{repo.full_name}/pull/{pr['number']}",
            "diff_url": f"{self.html_url}/{repo.full_name}/pull/{pr['number']}.diff",
            "patch_url": f"{self.html_url}/{repo.full_name}/pull/{pr['number']}.patch",
            "merged_at": pr["merged_at"],
        }
        data["state"] = pr["state"]
        return data

    def comment_json(self, repo: EmuRepo, c: dict[str, Any]) -> dict[str, Any]:
        """GitHub REST issue-comment object."""
        a = f"{self.api_url}/repos/{repo.full_name}"
        return {
            "url": f"{a}/issues/comments/{c['id']}",
            "html_url": f"{self.html_url}/{repo.full_name}/issues/{c['issue_number']}#issuecomment-{c['id']}",
            "issue_url": f"{a}/issues/{c['issue_number']}",
            "id": c["id"],
            "node_id": _node("IC", c["id"]),
            "user": self.user_json(c["user"]),
            "created_at": c["created_at"],
            "updated_at": c["updated_at"],
            "author_association": "MEMBER",
            "body": c["body"],
            "reactions": self.reaction_rollup(f"{a}/issues/comments/{c['id']}/reactions", c["id"]),
            "performed_via_github_app": None,
        }

    def reaction_rollup(self, url: str, comment_id: int) -> dict[str, Any]:
        """GitHub's ``reaction-rollup`` of an issue comment: the total and one count per content."""
        items = self.reactions.get(comment_id, [])
        out: dict[str, Any] = {"url": url, "total_count": len(items)}
        for content in REACTION_CONTENTS:
            out[content] = sum(1 for r in items if r["content"] == content)
        return out

    def reaction_json(self, r: dict[str, Any]) -> dict[str, Any]:
        """GitHub REST ``reaction`` object."""
        return {
            "id": r["id"],
            "node_id": _node("REA", r["id"]),
            "user": self.user_json(r["user"]),
            "content": r["content"],
            "created_at": r["created_at"],
        }

    def role_of(self, repo: EmuRepo, login: str) -> str:
        """``login``'s role on ``repo``: the owner is ``admin``; ``roles``; ``collaborators``
        are ``write``; org members ``read``; anyone else ``read`` on a public repository and
        ``none`` on a private one."""
        if login == repo.owner:
            return "admin"
        if login in repo.roles:
            return repo.roles[login]
        if login in repo.collaborators:
            return "write"
        if login in self.org_members.get(repo.owner, set()):
            return "read"
        return "none" if repo.private else "read"

    def release_json(self, repo: EmuRepo, rel: dict[str, Any]) -> dict[str, Any]:
        """GitHub REST release object."""
        a = f"{self.api_url}/repos/{repo.full_name}"
        h = f"{self.html_url}/{repo.full_name}"
        return {
            "url": f"{a}/releases/{rel['id']}",
            "assets_url": f"{a}/releases/{rel['id']}/assets",
            "upload_url": f"{a}/releases/{rel['id']}/assets{{?name,label}}",
            "html_url": f"{h}/releases/tag/{rel['tag_name']}",
            "id": rel["id"],
            "author": self.user_json(rel["author"]),
            "node_id": _node("RE", rel["id"]),
            "tag_name": rel["tag_name"],
            "target_commitish": rel["target_commitish"],
            "name": rel["name"],
            "draft": rel["draft"],
            "prerelease": rel["prerelease"],
            "created_at": rel["created_at"],
            "published_at": rel["created_at"],
            "assets": [],
            "tarball_url": f"{a}/tarball/{rel['tag_name']}",
            "zipball_url": f"{a}/zipball/{rel['tag_name']}",
            "body": rel["body"],
        }

    def git_commit_json(self, repo: EmuRepo, sha: str) -> dict[str, Any]:
        """GitHub REST Git Data commit object (``GET /git/commits/{sha}``)."""
        raw = self.git(repo, "cat-file", "commit", sha)
        header, _, message = raw.partition("\n\n")
        tree = ""
        parents: list[str] = []
        people: dict[str, dict[str, str]] = {}
        for line in header.splitlines():
            key, _, value = line.partition(" ")
            if key == "tree":
                tree = value
            elif key == "parent":
                parents.append(value)
            elif key in ("author", "committer"):
                name, _, rest = value.partition(" <")
                email, _, stamp = rest.partition("> ")
                ts = int(stamp.split()[0])
                people[key] = {
                    "name": name,
                    "email": email,
                    "date": _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
        a = f"{self.api_url}/repos/{repo.full_name}"
        signed = people.get("committer", {}).get("email") == "noreply@github.com"
        return {
            "sha": sha,
            "node_id": _node("C", int(sha[:8], 16)),
            "url": f"{a}/git/commits/{sha}",
            "html_url": f"{self.html_url}/{repo.full_name}/commit/{sha}",
            "author": people.get("author", {}),
            "committer": people.get("committer", {}),
            "message": message,
            "tree": {"sha": tree, "url": f"{a}/git/trees/{tree}"},
            "parents": [
                {
                    "sha": p,
                    "url": f"{a}/git/commits/{p}",
                    "html_url": f"{self.html_url}/{repo.full_name}/commit/{p}",
                }
                for p in parents
            ],
            "verification": {
                "verified": signed,
                "reason": "valid" if signed else "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        }

    def ref_json(self, repo: EmuRepo, ref: str, oid: str, otype: str) -> dict[str, Any]:
        """GitHub REST Git Data reference object."""
        a = f"{self.api_url}/repos/{repo.full_name}"
        kind = "tags" if otype == "tag" else "commits"
        return {
            "ref": ref,
            "node_id": _node("REF", abs(hash(ref)) % 10**9),
            "url": f"{a}/git/{ref}",
            "object": {"sha": oid, "type": otype, "url": f"{a}/git/{kind}/{oid}"},
        }

    # --- merge and checks ----------------------------------------------------------------------
    def combined(self, repo: EmuRepo, sha: str) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
        """(combined state, statuses (latest per context), check runs) for a commit."""
        latest: dict[str, dict[str, Any]] = {}
        for st in repo.statuses.get(sha, []):
            latest[st["context"]] = st
        statuses = list(latest.values())
        runs = repo.check_runs.get(sha, [])
        states = [s["state"] for s in statuses]
        for run in runs:
            if run["status"] != "completed":
                states.append("pending")
            elif run["conclusion"] in ("success", "neutral", "skipped"):
                states.append("success")
            else:
                states.append("failure")
        for ctx in repo.required_contexts:
            if ctx not in latest and not any(r["name"] == ctx for r in runs):
                states.append("pending")
        if any(s in ("failure", "error") for s in states):
            return "failure", statuses, runs
        if any(s == "pending" for s in states) or not states:
            return "pending", statuses, runs
        return "success", statuses, runs

    def mergeable_state(self, repo: EmuRepo, pr: dict[str, Any], head_sha: str | None = None) -> str:
        """GitHub ``mergeable_state`` of ``pr`` (lower-case ``merge_state``)."""
        return self.merge_state(repo, pr).lower()

    def rest_mergeability(self, repo: EmuRepo, pr: dict[str, Any], head_sha: str) -> tuple[bool | None, str]:
        """(``mergeable``, ``mergeable_state``) for one REST read of the PR.

        https://docs.github.com/en/rest/pulls/pulls#get-a-pull-request : "The value of the
        ``mergeable`` attribute can be true, false, or null. If the value is null, then GitHub
        has started a background job to compute the mergeability. After giving the job time to
        complete, resubmit the request." So with GitHub semantics the first read after the PR is
        opened (or its head or base moves) answers ``null``/``unknown`` and later reads are
        computed (``read_merge_state``)."""
        if pr["merged"] or pr["state"] != "open":
            return None, "unknown"
        status = self.read_merge_state(repo, pr)
        if status == "UNKNOWN":
            return None, "unknown"
        return status != "DIRTY", status.lower()

    def read_merge_state(self, repo: EmuRepo, pr: dict[str, Any]) -> str:
        """One client read of ``mergeStateStatus``: UNKNOWN while the background job has not run
        (and starts it), the computed status afterwards."""
        if pr.get("mergeability_pending", False):
            pr["mergeability_pending"] = False
            return "UNKNOWN"
        return self.merge_state(repo, pr)

    # --- required checks, reviews, GitHub's merge state ---------------------------------------
    def protection_for(self, repo: EmuRepo, branch: str) -> Protection | None:
        """Classic branch protection of ``branch`` (exact name; GitHub also takes patterns)."""
        return repo.protection.get(branch)

    def rulesets_for(self, repo: EmuRepo, branch: str) -> list[Ruleset]:
        """Active rulesets whose ``include`` matches ``branch``."""
        import fnmatch

        out = []
        for rs in repo.rulesets:
            if rs.enforcement != "active":
                continue
            for pat in rs.include:
                if (
                    pat == "~ALL"
                    or (pat == "~DEFAULT_BRANCH" and branch == repo.default_branch)
                    or fnmatch.fnmatchcase(f"refs/heads/{branch}", pat)
                    or fnmatch.fnmatchcase(branch, pat)
                ):
                    out.append(rs)
                    break
        return out

    def required_checks(self, repo: EmuRepo, branch: str) -> tuple[list[str], bool]:
        """(required check names, strict) for merging into ``branch``: the union of classic
        protection, active rulesets and the legacy ``required_contexts``."""
        names = list(repo.required_contexts)
        strict = False
        prot = self.protection_for(repo, branch)
        if prot:
            names += prot.contexts
            strict = strict or prot.strict
        for rs in self.rulesets_for(repo, branch):
            names += rs.required_checks
            strict = strict or rs.strict
        return list(dict.fromkeys(names)), strict

    def check_states(self, repo: EmuRepo, sha: str) -> dict[str, str]:
        """Latest state per check name on ``sha``: ``success`` | ``pending`` | ``failure``, from
        commit statuses (``context``) and check runs (``name``) alike.

        https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/collaborating-on-repositories-with-code-quality-features/about-status-checks
        (checks and commit statuses both count as status checks; a required check is matched by
        its name/context)."""
        out: dict[str, str] = {}
        for st in repo.statuses.get(sha, []):
            out[st["context"]] = {"success": "success", "pending": "pending"}.get(st["state"], "failure")
        for run in repo.check_runs.get(sha, []):
            if run["status"] != "completed":
                out[run["name"]] = "pending"
            elif run["conclusion"] in ("success", "neutral", "skipped"):
                out[run["name"]] = "success"
            else:
                out[run["name"]] = "failure"
        return out

    def merge_state(self, repo: EmuRepo, pr: dict[str, Any]) -> str:
        """GitHub's ``MergeStateStatus`` of an open PR, computed now.

        Enum (GraphQL reference, https://docs.github.com/en/graphql/reference/enums#mergestatestatus):
        BEHIND "The head ref is out of date", BLOCKED "The merge is blocked", CLEAN "Mergeable and
        passing commit status", DIRTY "The merge commit cannot be cleanly created", UNSTABLE
        "Mergeable with non-passing commit status", UNKNOWN "The state cannot currently be
        determined". Order applied here: DIRTY, then BLOCKED (a required check missing, pending
        or failing, or required reviews missing — https://docs.github.com/en/repositories/configuring-branches-and-merges-in-your-repository/managing-protected-branches/about-protected-branches#require-status-checks-before-merging),
        then BEHIND (strict checks and the base moved — "Require branches to be up to date
        before merging"), then UNSTABLE (any other check pending or failing), else CLEAN — also
        when no check was ever reported, which is why GitHub refuses auto-merge on such a PR."""
        head = self.pull_sha(repo, pr)
        base = self.branch_sha(repo, pr["base"])
        if base is None:
            return "UNKNOWN"
        if not gitutil.is_ancestor(repo.path, base, head):
            proc = gitutil.run_git(["merge-tree", "--write-tree", base, head], git_dir=repo.path, check=False)
            if proc.returncode != 0:
                return "DIRTY"
        required, strict = self.required_checks(repo, pr["base"])
        checks = self.check_states(repo, head)
        if any(checks.get(name) != "success" for name in required) or self.reviews_missing(repo, pr):
            return "BLOCKED"
        if strict and not gitutil.is_ancestor(repo.path, base, head):
            return "BEHIND"
        if any(state != "success" for name, state in checks.items() if name not in required):
            return "UNSTABLE"
        return "CLEAN"

    def reviews_missing(self, repo: EmuRepo, pr: dict[str, Any]) -> str | None:
        """Why required reviews block ``pr`` (GitHub's merge error text), or None."""
        prot = self.protection_for(repo, pr["base"])
        need = prot.required_approving_review_count if prot else 0
        for rs in self.rulesets_for(repo, pr["base"]):
            need = max(need, rs.required_approving_review_count)
        approvals = set(pr.get("approvals", []))
        if len(approvals) < need:
            return f"At least {need} approving review{'s are' if need > 1 else ' is'} required by reviewers with write access."
        if prot and prot.require_code_owner_reviews:
            owners = set(self.codeowners_for(repo, pr))
            if owners and not (owners & (approvals | {f"team:{t}" for t in pr.get("approved_teams", [])})):
                return "Waiting on code owner review."
        return None

    def codeowners_for(self, repo: EmuRepo, pr: dict[str, Any]) -> list[str]:
        """Owners (``login`` or ``org/team``) of the files ``pr`` changes, from the CODEOWNERS
        file on the PR's *base* branch (last matching pattern wins).

        https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners :
        "Code owners are automatically requested for review when someone opens a pull request
        that modifies code that they own", "For code owners to receive review requests, the
        CODEOWNERS file must be on the base branch of the pull request", file in the root,
        ``docs/`` or ``.github/`` (``.github/`` first)."""
        import fnmatch

        base = self.branch_sha(repo, pr["base"])
        if base is None:
            return []
        text = None
        for cand in (".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"):
            proc = gitutil.run_git(["cat-file", "blob", f"{base}:{cand}"], git_dir=repo.path, check=False)
            if proc.returncode == 0:
                text = proc.stdout.decode("utf-8", "replace")
                break
        if text is None:
            return []
        rules = []
        for line in text.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                pat, *named = line.split()
                rules.append((pat, [o.lstrip("@") for o in named]))
        head = self.pull_sha(repo, pr)
        mb = self.git(repo, "merge-base", base, head, check=False) or base
        changed = self.git(repo, "diff", "--name-only", mb, head).splitlines()
        out: list[str] = []
        for path in changed:
            owners: list[str] = []
            for pat, who in rules:
                p = pat.lstrip("/")
                if p.endswith("/"):
                    hit = path.startswith(p) or fnmatch.fnmatchcase(path, p + "*")
                elif "/" in pat.strip("/"):
                    hit = fnmatch.fnmatchcase(path, p) or path.startswith(p + "/")
                else:
                    hit = (
                        fnmatch.fnmatchcase(path.rsplit("/", 1)[-1], p)
                        or fnmatch.fnmatchcase(path, p)
                        or path.startswith(p + "/")
                        or pat == "*"
                    )
                if hit:
                    owners = who
            out += [o for o in owners if o not in out]
        return out

    def can_review(self, repo: EmuRepo, login: str) -> bool:
        """Whether ``login`` has write access to ``repo`` (owner, collaborator, org member with
        access), i.e. can be requested as a reviewer."""
        return login == repo.owner or login in repo.collaborators

    def team_can_review(self, repo: EmuRepo, team: str) -> bool:
        """Whether ``team`` (``slug`` or ``org/slug``) of the repo's org has access."""
        org, _, slug = team.rpartition("/")
        org = org or repo.owner
        return org == repo.owner and slug in self.teams.get(org, set())

    # --- CI simulation ---------------------------------------------------------------------
    def pr_event(self, repo: EmuRepo, pr: dict[str, Any]) -> None:
        """A PR was opened or its head moved ("synchronize"): mergeability must be recomputed
        and the repo's CI (``repo.ci``) schedules its checks on the new head."""
        import time as _time

        pr["mergeability_pending"] = True
        sha = self.pull_sha(repo, pr)
        for job in repo.ci:
            repo.scheduled.append(
                {
                    "job": job,
                    "sha": sha,
                    "t0": _time.monotonic(),
                    "reads0": self.reads,
                    "stage": 0,
                    "id": None,
                }
            )

    def branch_moved(self, repo: EmuRepo, branch: str) -> None:
        """``refs/heads/<branch>`` changed: open PRs with that head get a PR event; PRs with
        that base must recompute mergeability."""
        for pr in repo.pulls.values():
            if pr["state"] != "open":
                continue
            if pr["head"] == branch and self.branch_sha(repo, branch) not in (None, pr.get("event_sha")):
                pr["event_sha"] = self.branch_sha(repo, branch)
                self.pr_event(repo, pr)
            elif pr["base"] == branch:
                pr["mergeability_pending"] = True

    def advance(self) -> bool:
        """Let scheduled CI jobs post their check runs/statuses whose time (or read count) has
        come; then fire armed auto-merges. True when anything was posted."""
        import time as _time

        changed_repos = []
        now = _time.monotonic()
        for repo in self.repos.values():
            changed = False
            for item in repo.scheduled:
                job: CiJob = item["job"]
                elapsed = (now - item["t0"]) if job.unit == "seconds" else (self.reads - item["reads0"])
                if item["stage"] == 0 and elapsed >= job.after:
                    self._post_check(repo, item, pending=True)
                    item["stage"] = 1
                    changed = True
                if item["stage"] == 1 and elapsed >= job.after + job.run:
                    self._post_check(repo, item, pending=False)
                    item["stage"] = 2
                    changed = True
            repo.scheduled = [i for i in repo.scheduled if i["stage"] < 2]
            if changed:
                changed_repos.append(repo)
        for repo in changed_repos:
            self.try_auto_merge(repo)
        return bool(changed_repos)

    def _post_check(self, repo: EmuRepo, item: dict[str, Any], *, pending: bool) -> None:
        job: CiJob = item["job"]
        sha = item["sha"]
        if job.kind == "status":
            state = (
                "pending"
                if pending
                else {"success": "success", "failure": "failure"}.get(job.conclusion, "error")
            )
            repo.statuses.setdefault(sha, []).append(
                {
                    "id": self.next_id(),
                    "state": state,
                    "context": job.name,
                    "description": None,
                    "target_url": None,
                    "created_at": now_iso(),
                }
            )
            return
        runs = repo.check_runs.setdefault(sha, [])
        if pending:
            run = {"id": self.next_id(), "name": job.name, "status": "in_progress", "conclusion": None}
            runs.append(run)
            item["id"] = run["id"]
        else:
            for run in runs:
                if run["id"] == item["id"]:
                    run.update(status="completed", conclusion=job.conclusion)

    def merge(self, repo: EmuRepo, pr: dict[str, Any], method: str, actor: str) -> str:
        """Merge ``pr`` into its base with ``method``; returns the new base tip. Raises HttpError."""
        head_sha = self.branch_sha(repo, pr["head"])
        base_sha = self.branch_sha(repo, pr["base"])
        if head_sha is None or base_sha is None:
            raise HttpError(422, "Head or base branch is missing")
        merge_base = self.git(repo, "merge-base", base_sha, head_sha)
        title = f"{pr['title']} (#{pr['number']})"
        env = {
            "GIT_AUTHOR_NAME": actor,
            "GIT_AUTHOR_EMAIL": f"{actor}@users.noreply.github.example",
            "GIT_COMMITTER_NAME": "GitHub",
            "GIT_COMMITTER_EMAIL": "noreply@github.com",
        }
        if merge_base == base_sha:
            tree = self.git(repo, "rev-parse", f"{head_sha}^{{tree}}")
        else:
            proc = gitutil.run_git(
                ["merge-tree", "--write-tree", base_sha, head_sha], git_dir=repo.path, check=False
            )
            if proc.returncode != 0:
                raise HttpError(405, "Pull Request is not mergeable")
            tree = proc.stdout.decode().split()[0]
        if method == "rebase" and merge_base == base_sha:
            new = head_sha
        elif method == "merge":
            msg = f"Merge pull request #{pr['number']} from {repo.owner}/{pr['head']}\n\n{pr['title']}\n"
            new = (
                gitutil.run_git(
                    ["commit-tree", tree, "-p", base_sha, "-p", head_sha, "-F", "-"],
                    git_dir=repo.path,
                    input=msg.encode(),
                    env=env,
                )
                .stdout.decode()
                .strip()
            )
        else:  # squash, or rebase onto a moved base (approximated by one commit)
            msg = f"{title}\n\n{pr['body'] or ''}".rstrip() + "\n"
            new = (
                gitutil.run_git(
                    ["commit-tree", tree, "-p", base_sha, "-F", "-"],
                    git_dir=repo.path,
                    input=msg.encode(),
                    env=env,
                )
                .stdout.decode()
                .strip()
            )
        proc = gitutil.run_git(
            ["update-ref", f"refs/heads/{pr['base']}", new, base_sha], git_dir=repo.path, check=False
        )
        if proc.returncode != 0:
            raise HttpError(409, "Base branch was modified. Review and try the merge again.")
        self.branch_moved(repo, pr["base"])
        stamp = now_iso()
        pr.update(
            state="closed",
            merged=True,
            merged_at=stamp,
            closed_at=stamp,
            updated_at=stamp,
            merge_commit_sha=new,
            head_sha=head_sha,
            merge_base=merge_base,
            merged_by=actor,
        )
        return new

    def head_moved(self, repo: EmuRepo, branch: str) -> None:
        """GitHub closes an open PR whose head branch was deleted, or force-moved so that it has
        no commits the base lacks (and such a PR cannot be reopened)."""
        head = self.branch_sha(repo, branch)
        for pr in repo.pulls.values():
            if pr["state"] != "open" or pr["head"] != branch:
                continue
            base = self.branch_sha(repo, pr["base"])
            if head is None or (base and gitutil.is_ancestor(repo.path, head, base)):
                pr["head_sha"] = head or pr["head_sha"]
                pr["state"] = "closed"
                pr["closed_at"] = pr["updated_at"] = now_iso()
                pr["auto_merge"] = None
                pr["closed_by_force_push"] = True

    def try_auto_merge(self, repo: EmuRepo) -> None:
        """Merge every open PR with auto-merge armed once it may merge (what GitHub does
        asynchronously).

        GitHub
        (https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/incorporating-changes-from-a-pull-request/automatically-merging-a-pull-request):
        "the pull request will merge automatically when all required reviews are met and all
        required status checks have passed" — merge state CLEAN or UNSTABLE (non-required
        checks do not hold it), never BLOCKED, BEHIND, DIRTY or UNKNOWN."""
        for pr in list(repo.pulls.values()):
            if pr["state"] != "open" or not pr["auto_merge"]:
                continue
            if self.merge_state(repo, pr) in ("CLEAN", "UNSTABLE", "HAS_HOOKS"):
                with contextlib.suppress(HttpError):
                    self.merge(
                        repo,
                        pr,
                        pr["auto_merge"]["merge_method"],
                        pr["auto_merge"]["enabled_by"]["login"],
                    )


def _node(prefix: str, n: int) -> str:
    return base64.b64encode(f"{prefix}_{n}".encode()).decode().rstrip("=")


node_id = _node

_REPO_URLS = {
    "forks_url": "/forks",
    "keys_url": "/keys{/key_id}",
    "collaborators_url": "/collaborators{/collaborator}",
    "teams_url": "/teams",
    "hooks_url": "/hooks",
    "issue_events_url": "/issues/events{/number}",
    "events_url": "/events",
    "assignees_url": "/assignees{/user}",
    "branches_url": "/branches{/branch}",
    "tags_url": "/tags",
    "blobs_url": "/git/blobs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "trees_url": "/git/trees{/sha}",
    "statuses_url": "/statuses/{sha}",
    "languages_url": "/languages",
    "stargazers_url": "/stargazers",
    "contributors_url": "/contributors",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "commits_url": "/commits{/sha}",
    "git_commits_url": "/git/commits{/sha}",
    "comments_url": "/comments{/number}",
    "issue_comment_url": "/issues/comments{/number}",
    "contents_url": "/contents/{+path}",
    "compare_url": "/compare/{base}...{head}",
    "merges_url": "/merges",
    "archive_url": "/{archive_format}{/ref}",
    "downloads_url": "/downloads",
    "issues_url": "/issues{/number}",
    "pulls_url": "/pulls{/number}",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "labels_url": "/labels{/name}",
    "releases_url": "/releases{/id}",
    "deployments_url": "/deployments",
}
