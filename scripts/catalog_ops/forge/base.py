"""The forge interface: exactly the operations catalog-ops needs from GitHub or the local forge.

Implementations: ``catalog_ops.forge.local.LocalForge`` (git repos on disk, the embedded default)
and ``catalog_ops.forge.github.GitHubForge`` (PyGithub; GitHub.com or GitHub Enterprise Server).
Both pass the shared behaviour suite in ``tests/forge/test_behaviour.py``.

Repositories are named ``"owner/name"`` everywhere. Git object ids are 40-hex strings.
All methods raise ``catalog_ops.errors.ForgeError`` subclasses (``NotFound``, ``AuthError``,
``PermissionDenied``, ``RateLimited``, ``Conflict``, ``AutoMergeUnavailable``) and never put
credentials in messages.
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, runtime_checkable

from catalog_ops.errors import UsageError

MERGE_METHODS = ("merge", "squash", "rebase")
"""Merge methods GitHub accepts (REST ``PUT /repos/{o}/{r}/pulls/{n}/merge`` ``merge_method``)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Repo:
    """A repository as listed by the forge."""

    full_name: str  # "owner/name"
    default_branch: str
    clone_url: str  # URL ``git clone`` accepts (file://, https://); never embeds credentials
    html_url: str = ""
    archived: bool = False
    fork: bool = False
    disabled: bool = False
    topics: tuple[str, ...] = ()

    @property
    def owner(self) -> str:
        """The part of ``full_name`` before the ``/`` (org or user login)."""
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        """The part of ``full_name`` after the ``/`` (what ``list_repos`` globs match)."""
        return self.full_name.split("/", 1)[1]


@dataclasses.dataclass(frozen=True, kw_only=True)
class RepoListing:
    """Result of ``Forge.list_repos``: the repos that passed the filters and the skipped ones."""

    repos: tuple[Repo, ...]
    skipped: tuple[tuple[Repo, str], ...] = ()  # (repo, reason) e.g. "archived", "fork"


@dataclasses.dataclass(frozen=True)
class FileChange:
    """One file in a commit: new bytes, or ``None`` to delete the file."""

    path: str
    content: bytes | None


class PullState(enum.StrEnum):
    """State of a pull request; GitHub reports merged PRs as ``closed`` with ``merged_at`` set."""

    OPEN = "open"
    CLOSED = "closed"
    MERGED = "merged"


@dataclasses.dataclass(frozen=True, kw_only=True)
class PullRequest:
    """A pull request (GitHub REST ``pulls`` object, reduced)."""

    repo: str
    number: int
    title: str
    body: str
    head: str  # branch name in the same repo
    base: str
    head_sha: str
    state: PullState
    url: str
    labels: tuple[str, ...] = ()
    reviewers: tuple[str, ...] = ()  # requested users; teams as "org/slug"
    assignees: tuple[str, ...] = ()
    auto_merge: bool = False
    merge_method: str | None = None
    merged_sha: str | None = None
    author: str | None = None  # login that opened it (GitHub ``user.login``); None: forge has no authors
    created_at: str = ""  # ISO 8601 UTC, when it was opened (GitHub ``created_at``); "" unknown
    merged_at: str | None = None  # ISO 8601 UTC time of the merge (GitHub ``merged_at``); None: not merged


class ChecksState(enum.StrEnum):
    """Combined state of a commit's required checks (statuses and check runs)."""

    SUCCESS = "success"
    PENDING = "pending"
    FAILURE = "failure"
    NONE = "none"  # no checks configured/reported


@dataclasses.dataclass(frozen=True, kw_only=True)
class CheckResult:
    """One check reported on a commit: a check run (by ``name``) or a commit status (by
    ``context``), reduced to ``state`` ``success`` | ``pending`` | ``failure``.

    GitHub: a check run that is not ``completed`` is pending; conclusions ``success``,
    ``neutral`` and ``skipped`` pass, every other conclusion fails; a status ``error`` fails.
    """

    name: str
    state: str  # "success" | "pending" | "failure"


def check_run_state(status: str | None, conclusion: str | None) -> str:
    """A check run's ``CheckResult.state`` from its ``status`` and ``conclusion`` (REST's lower
    case or GraphQL's upper case): not ``completed`` is pending; ``success``, ``neutral`` and
    ``skipped`` pass; every other conclusion (failure, cancelled, timed_out, action_required,
    stale, startup_failure) fails (https://docs.github.com/en/rest/checks/runs,
    https://docs.github.com/en/graphql/reference/enums#checkconclusionstate)."""
    if str(status or "").lower() != "completed":
        return "pending"
    return "success" if str(conclusion or "").lower() in ("success", "neutral", "skipped") else "failure"


def status_state(state: str | None) -> str:
    """A commit status's ``CheckResult.state`` (REST's lower case or GraphQL's upper case):
    ``error`` and ``failure`` fail, ``success`` passes, ``pending`` (GraphQL also ``expected``) is
    pending (https://docs.github.com/en/rest/commits/statuses,
    https://docs.github.com/en/graphql/reference/enums#statusstate)."""
    raw = str(state or "").lower()
    return "failure" if raw in ("failure", "error") else "success" if raw == "success" else "pending"


def add_check(out: dict[str, CheckResult], name: str, state: str) -> None:
    """Record ``state`` for check ``name`` in ``out``, the worst one winning when a name is
    reported twice (a status and a check run of one name): failure over pending over success."""
    prev = out.get(name)
    if prev is None or state == "failure" or (state == "pending" and prev.state == "success"):
        out[name] = CheckResult(name=name, state=state)


MERGE_METHOD_FIELDS_REST = ("allow_merge_commit", "allow_squash_merge", "allow_rebase_merge")
"""A repository's merge-method switches in REST (``GET /repos/{owner}/{repo}``,
https://docs.github.com/en/rest/repos/repos#get-a-repository), for merge, squash, rebase."""
MERGE_METHOD_FIELDS_GRAPHQL = ("mergeCommitAllowed", "squashMergeAllowed", "rebaseMergeAllowed")
"""The same switches on GraphQL's ``Repository`` object
(https://docs.github.com/en/graphql/reference/objects#repository)."""


def merge_methods(repo: Mapping[str, object], fields: tuple[str, str, str]) -> tuple[str, ...]:
    """The merge methods (``merge``, ``squash``, ``rebase``, in that order) a repository allows,
    from its switches named ``fields`` (``MERGE_METHOD_FIELDS_REST`` or ``_GRAPHQL``); a switch
    that is missing counts as allowed."""
    return tuple(
        m
        for m, key in zip(("merge", "squash", "rebase"), fields, strict=True)
        if repo.get(key, True) is not False
    )


def head_age(committed: str | None, now: float) -> float:
    """Seconds from a commit's ISO 8601 date (``2026-12-07T10:00:00Z``, as GitHub writes it) to
    ``now`` (Unix seconds), never negative; 0 when the date is missing or unreadable."""
    from catalog_ops.core.schedule import parse_time

    when = parse_time(committed)
    return 0.0 if when is None else max(0.0, now - when.timestamp())


@dataclasses.dataclass(frozen=True, kw_only=True)
class MergeFacts:
    """What the merge gate reads about an open PR at one moment (``Merges.merge_facts``).

    Attributes:
        head_sha: the PR's head commit now (40-hex).
        state: the PR's state.
        auto_merge: native auto-merge is armed on the forge.
        checks: every check run and commit status reported on ``head_sha`` (latest per name).
        required: names of the checks branch protection or rulesets require on the base branch
            (empty when none are required or the forge has no such rules).
        merge_methods: merge methods the repository allows (``MERGE_METHODS`` order).
        head_age: seconds since the head commit was made (its committer date), for the grace
            period in which "nothing reported yet" still counts as pending.
        native_auto_merge: the forge can arm auto-merge that waits for ``required`` itself.
    """

    head_sha: str
    state: PullState
    auto_merge: bool
    checks: tuple[CheckResult, ...]
    required: tuple[str, ...]
    merge_methods: tuple[str, ...]
    head_age: float
    native_auto_merge: bool = False


def combine_checks(checks: Iterable[CheckResult]) -> ChecksState:
    """ChecksState of a set of checks: any failure -> FAILURE, else any pending -> PENDING,
    else any success -> SUCCESS, nothing -> NONE."""
    states = {c.state for c in checks}
    if not states:
        return ChecksState.NONE
    if "failure" in states:
        return ChecksState.FAILURE
    if "pending" in states:
        return ChecksState.PENDING
    return ChecksState.SUCCESS


@dataclasses.dataclass(frozen=True, kw_only=True)
class Tag:
    """A git tag (GitHub GraphQL ``Ref`` under ``refs/tags/``, peeled to its commit)."""

    name: str
    sha: str  # the commit the tag points at (peeled)
    message: str | None = None  # annotated tag message; None for lightweight tags


@dataclasses.dataclass(frozen=True, kw_only=True)
class Release:
    """A release (GitHub REST ``releases`` object, reduced). Metadata lives in ``body``."""

    tag: str
    name: str
    body: str
    url: str
    prerelease: bool = False
    draft: bool = False
    created_at: str = ""  # ISO 8601 UTC
    author: str | None = None  # login that published it (GitHub ``author.login``); None: no authors
    # ISO 8601 UTC, when it was published (GitHub ``published_at``; its ``created_at`` is the date
    # of the tagged commit, "not the date when the release was drafted or published"); "" unknown
    published_at: str = ""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Comment:
    """An issue or PR comment (GitHub REST ``issues/comments`` object, reduced)."""

    id: int
    body: str
    url: str
    author: str | None = None  # login that wrote it (GitHub ``user.login``); None: no authors


@dataclasses.dataclass(frozen=True, kw_only=True)
class Issue:
    """An issue (GitHub REST ``issues`` object, reduced); ``state`` is ``open`` or ``closed``."""

    number: int
    title: str
    body: str
    url: str
    state: str = "open"
    author: str | None = None  # login that opened it (GitHub ``user.login``); None: no authors


@dataclasses.dataclass(frozen=True, kw_only=True)
class Commit:
    """A commit id (40-hex), its full message and its parents' ids (in order)."""

    sha: str
    message: str
    parents: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class RolloutState:
    """One dependent's rollout state as one batched read saw it (``forge.github.batch.
    read_rollout_states``): what ``rollout apply`` would otherwise read per repository.

    Attributes:
        repo: ``owner/name``.
        base_head: commit id of the PR base branch (None: the branch does not exist).
        tip: the rollout branch's tip commit with its message and parents (None: no branch).
        open_pr: the open PR whose head is the rollout branch (None: none).
        last_closed: the newest closed or merged PR of that branch (None: none).
        files: ``{path: bytes or None (absent)}`` of the asked files at the asked commit (the
            plan's ``head``); only meaningful when ``base_head`` is that commit.
        merge_policy: the merge gate's facts about the base branch read in the same request —
            ``(required check names, allowed merge methods, native auto-merge allowed)`` — or
            None when the forge did not read them (the gate then reads ``merge_facts``).
        merge: the merge gate's facts (``MergeFacts``) of ``open_pr`` read in the same request
            (its head is the branch tip read, the checks on that head, the head commit's age),
            or None (no open PR, or head and tip differ: the gate reads ``merge_facts``).
    """

    repo: str
    base_head: str | None
    tip: Commit | None
    open_pr: PullRequest | None
    last_closed: PullRequest | None
    files: Mapping[str, bytes | None] = dataclasses.field(default_factory=dict)
    merge_policy: tuple[tuple[str, ...], tuple[str, ...], bool] | None = None
    merge: MergeFacts | None = None


@dataclasses.dataclass(frozen=True)
class MergeSubjects:
    """How a forge writes the subject lines of the commits it makes when it merges a PR.

    ``merge`` matches a merge-commit subject, ``squash_suffix`` the ``" (#12)"`` a squash merge
    appends to the PR title; group 1 of each is the PR number. Forges expose theirs as
    ``Pulls.merge_subjects``; ``GITHUB_MERGE_SUBJECTS`` is GitHub's (the local forge writes the same).
    """

    merge: re.Pattern[str]
    squash_suffix: re.Pattern[str]
    merge_template: str  # str.format fields: number, owner, head
    squash_template: str  # str.format fields: title, number

    def pull_number(self, subject: str) -> int | None:
        """PR number of a squash (``"feat: x (#12)"``) or merge-commit subject; None otherwise."""
        match = self.squash_suffix.search(subject) or self.merge.match(subject)
        return int(match.group(1)) if match else None

    def is_merge(self, subject: str) -> bool:
        """True for a merge-commit subject (``"Merge pull request #N from owner/branch"`` on GitHub)."""
        return self.merge.match(subject) is not None

    def strip_suffix(self, title: str) -> str:
        """``"feat: x (#12)"`` -> ``"feat: x"`` (trailing space removed)."""
        return self.squash_suffix.sub("", title).rstrip()

    def merge_subject(self, number: int, owner: str, head: str) -> str:
        """Subject of the merge commit of PR ``number`` from branch ``owner/head``."""
        return self.merge_template.format(number=number, owner=owner, head=head)

    def squash_subject(self, title: str, number: int) -> str:
        """Subject of the squash commit of PR ``number`` titled ``title``."""
        return self.squash_template.format(title=title, number=number)


GITHUB_MERGE_SUBJECTS = MergeSubjects(
    merge=re.compile(r"\AMerge pull request #(\d+) from \S+"),
    squash_suffix=re.compile(r"\s\(#(\d+)\)\s*\Z"),
    merge_template="Merge pull request #{number} from {owner}/{head}",
    squash_template="{title} (#{number})",
)
"""GitHub's subjects: ``Merge pull request #12 from owner/branch`` and ``<PR title> (#12)``
(what the web UI and ``PUT /repos/{o}/{r}/pulls/{n}/merge`` write by default)."""


# --- role protocols ---------------------------------------------------------------------
# Callers name the roles they use (``def f(forge: Contents & Pulls)`` is spelled as a small
# Protocol combining them, see "use-site role sets" below), so mypy checks the forge boundary.


@runtime_checkable
class Repos(Protocol):
    """Repositories: look one up, list an owner's, say how git and Terraform reach one."""

    kind: str  # a name of ``catalog_ops.forge.FORGE_KINDS`` ("local" | "github")

    def get_repo(self, repo: str) -> Repo:
        """Return one repository. Raises NotFound."""
        ...

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
        """Repos of an org or user. ``include``/``exclude`` are fnmatch globs on the repo name
        (not the owner); ``topics`` keeps repos having any of them. Disabled repos are always
        skipped. Skipped repos come back with the reason (``repo_filter_reason``)."""
        ...

    def clone_url(self, repo: str) -> str:
        """URL for real ``git clone/fetch`` of the repo (used for history and shallow fetches).
        Never carries credentials; ``git_auth_env`` gives git the means to authenticate."""
        ...

    def git_auth_env(self, url: str) -> dict[str, str]:
        """Environment variables (``GIT_CONFIG_COUNT``/``KEY_n``/``VALUE_n``) that let git
        authenticate to ``url`` (a ``clone_url``), or ``{}``. The token stays out of argv and of
        every file (``gitutil.http_auth_env``). Give it to git only, never to another tool."""
        ...

    def module_address(self, repo: str) -> str:
        """How Terraform configurations address ``repo`` as a module source, without ``git::``,
        ``//subdir`` or ``?ref=`` (e.g. ``"github.com/acme/catalog"``, the GitHub shorthand of
        https://developer.hashicorp.com/terraform/language/modules/sources#github)."""
        ...

    def compare_url(self, repo: str, base: str, head: str) -> str:
        """Where a reviewer sees what changed between two tags (or commits) of ``repo``: the
        forge's compare view, or, when it has none, a command that shows the diff. No request."""
        ...


@runtime_checkable
class Contents(Protocol):
    """Reading files of a repository at a ref (branch, tag or commit id)."""

    def list_tree(self, repo: str, ref: str) -> list[str]:
        """Paths of all blobs at ``ref`` (recursive), in one request where the forge allows."""
        ...

    def read_file(self, repo: str, path: str, ref: str) -> bytes | None:
        """Bytes of ``path`` at ``ref`` (branch, tag or sha); None when the file does not exist."""
        ...

    def codeowners(self, repo: str, ref: str) -> str | None:
        """Text of CODEOWNERS (``.github/``, root or ``docs/``, GitHub's lookup order)."""
        ...


ANY_HEAD = "*"
"""``commit_files(expected_head=ANY_HEAD)``: compare against the tip read just before writing."""


@runtime_checkable
class Branches(Protocol):
    """Branch tips and commits made without a work tree."""

    def branch_sha(self, repo: str, branch: str) -> str | None:
        """Commit id at the tip of ``branch``, or None when the branch does not exist."""
        ...

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
        """Create one commit whose parent is ``parent_sha`` with ``changes`` applied to the
        parent's tree, and point ``branch`` at it (creating the branch, or moving it).

        The ref update is a compare-and-swap: ``expected_head`` is the tip the caller read
        (None: the branch must not exist yet); when the branch holds anything else at the moment
        it is moved, nothing is changed and ``RefMoved`` is raised. ``ANY_HEAD`` (the default)
        means the tip read just before writing (a blind overwrite is never sent). Returns the
        new commit id."""
        ...

    def get_commit(self, repo: str, sha: str) -> Commit:
        """The commit ``sha``: message and parents. Raises NotFound for an unknown commit."""
        ...

    def delete_branch(self, repo: str, branch: str) -> None:
        """Delete a branch; no error when it does not exist."""
        ...


@runtime_checkable
class Pulls(Protocol):
    """Pull requests: open, find, update, close, and the PRs behind a commit."""

    merge_subjects: MergeSubjects  # how this forge writes the subjects of merge commits

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
        """Open a PR (at most 5 content-creating requests on GitHub including labels,
        reviewers and assignees). If one is already open for ``head`` (GitHub 422 "A pull
        request already exists"), that PR is updated and returned instead."""
        ...

    def get_pull(self, repo: str, number: int) -> PullRequest:
        """One PR by number. Raises NotFound."""
        ...

    def find_open_pull(self, repo: str, head: str) -> PullRequest | None:
        """The open PR whose head branch is ``head`` (same repo), if any."""
        ...

    def find_closed_pull(self, repo: str, head: str) -> PullRequest | None:
        """The newest closed or merged PR whose head branch is ``head`` (same repo), if any.
        GitHub: ``GET /repos/{o}/{r}/pulls?head=owner:head&state=closed`` (newest first)."""
        ...

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
        """Change only the given fields (``labels`` replaces the label set)."""
        ...

    def close_pull(self, repo: str, number: int, *, comment: str | None = None) -> None:
        """Close without merging, optionally commenting first."""
        ...

    def add_labels(self, repo: str, number: int, labels: Sequence[str]) -> None:
        """Add ``labels`` to PR/issue ``number`` (kept ones stay). Raises NotFound."""
        ...

    def request_reviewers(
        self, repo: str, number: int, *, users: Sequence[str] = (), teams: Sequence[str] = ()
    ) -> None:
        """Request reviews. ``teams`` are team slugs (``org/slug`` accepted)."""
        ...

    def add_assignees(self, repo: str, number: int, assignees: Sequence[str]) -> None:
        """Add user logins as assignees of PR/issue ``number``. Raises NotFound."""
        ...

    def pulls_for_commit(self, repo: str, sha: str) -> list[PullRequest]:
        """Merged PRs that contain ``sha`` (GitHub: GET /repos/{o}/{r}/commits/{sha}/pulls).
        Empty where the forge has no PR for it."""
        ...


@runtime_checkable
class Merges(Protocol):
    """Getting a PR merged: its checks, auto-merge, merging now."""

    def checks_state(self, repo: str, number: int) -> ChecksState:
        """Combined state of the required checks on the PR's head commit."""
        ...

    def enable_auto_merge(self, repo: str, number: int, *, method: str = "squash") -> None:
        """Merge automatically once required checks pass. ``method``: merge|squash|rebase.
        Raises AutoMergeUnavailable when the repo does not allow it."""
        ...

    def merge_pull(self, repo: str, number: int, *, method: str = "squash", sha: str | None = None) -> str:
        """Merge now; returns the merge commit id. ``sha``: merge only if the PR head is still
        that commit. Raises HeadMoved when it is not, Conflict when not mergeable."""
        ...

    def merge_facts(self, repo: str, number: int) -> MergeFacts:
        """What the merge gate needs about PR ``number`` now (``MergeFacts``). Raises NotFound."""
        ...

    def disable_auto_merge(self, repo: str, number: int) -> None:
        """Disarm native auto-merge of PR ``number`` (no error when it is not armed)."""
        ...


@runtime_checkable
class Comments(Protocol):
    """The one marked comment catalog-ops keeps on a PR or issue (markers are HTML comments)."""

    def upsert_comment(self, repo: str, number: int, *, marker: str, body: str) -> Comment:
        """Create, or update in place, the one comment on PR/issue ``number`` whose body
        contains ``marker`` and whose author is the forge's ``identity()`` (a comment by anyone
        else is never edited, even when it quotes the marker). ``body`` must contain ``marker``."""
        ...


REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
"""Reaction contents GitHub accepts (REST "Reactions": the ``content`` parameter)."""


@runtime_checkable
class Conversations(Protocol):
    """What people write on a PR and who may steer it (commands in rollout PRs).

    GitHub: "List issue comments", "Create reaction for an issue comment" and "Get repository
    permissions for a user" (REST; docs/rollout.md "Commands" cites each page).
    """

    def list_comments(self, repo: str, number: int, *, limit: int = 100) -> list[Comment]:
        """The first ``limit`` (at most 100) comments on PR/issue ``number`` and the newest
        ``limit``, each once, oldest first (GitHub orders issue comments by ascending id), each
        with its author: a flood of comments can neither hide the first ones (the product's state
        comment) nor the latest (a new command). Raises NotFound."""
        ...

    def add_reaction(self, repo: str, comment_id: int, content: str) -> None:
        """React to comment ``comment_id`` with ``content`` (one of ``REACTIONS``) as the forge's
        identity. Idempotent: the same reaction of ours is never added twice (GitHub answers 200
        instead of 201 when "you already added the reaction type"). Raises NotFound for an
        unknown comment."""
        ...

    def permission(self, repo: str, login: str) -> str:
        """``login``'s permission on ``repo``: ``admin``, ``write``, ``read`` or ``none`` (GitHub's
        legacy base roles: ``maintain`` counts as ``write``, ``triage`` as ``read``). An unknown
        login is ``none``."""
        ...


@runtime_checkable
class Issues(Protocol):
    """The one marked issue catalog-ops keeps in a repository (e.g. the dependency dashboard)."""

    def upsert_issue(
        self, repo: str, *, marker: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> Issue:
        """Create, or update in place, the one open issue whose body contains ``marker`` and
        whose author is the forge's ``identity()`` (an issue opened by anyone else is never
        adopted, even when it quotes the marker)."""
        ...


@runtime_checkable
class Tags(Protocol):
    """Git tags, read peeled and created annotated."""

    def list_tags(self, repo: str) -> list[Tag]:
        """All tags, each peeled to its commit (``message`` set for annotated tags)."""
        ...

    def create_tag(self, repo: str, *, name: str, sha: str, message: str) -> Tag:
        """Create an annotated tag object and its ref. Raises Conflict if the tag exists."""
        ...


@runtime_checkable
class Releases(Protocol):
    """Releases (a tag plus a body that carries the release metadata)."""

    def create_release(
        self, repo: str, *, tag: str, name: str, body: str, prerelease: bool = False
    ) -> Release:
        """Publish a release for ``tag`` (GitHub tags the default branch when ``tag`` is missing).
        Raises Conflict when a release for ``tag`` exists."""
        ...

    def get_release(self, repo: str, tag: str) -> Release | None:
        """The release for ``tag``, or None when there is none."""
        ...

    def list_releases(self, repo: str) -> list[Release]:
        """All releases, newest first (GitHub order)."""
        ...


@runtime_checkable
class Accounting(Protocol):
    """Request counts, for budgets and tests."""

    def request_counts(self) -> Mapping[str, int]:
        """Requests made so far, by kind (e.g. ``"GET"``, ``"POST"``, ``"graphql"``,
        ``"content_creating"``, ``"retries"``). LocalForge returns operation counts."""
        ...


@runtime_checkable
class CommitChecks(Protocol):
    """Optional capability: checks reported on any commit (the release checks gate, issue 4).

    GitHubForge has it, LocalForge does not (its CI simulator runs on PRs only); callers test
    for it with ``isinstance(forge, CommitChecks)``.
    """

    def commit_checks_state(self, repo: str, sha: str) -> ChecksState:
        """Combined state of the checks reported on commit ``sha`` (any branch).

        GitHub: the combined commit status (``GET /repos/{o}/{r}/commits/{ref}/status``) merged
        with the check runs (``GET /repos/{o}/{r}/commits/{ref}/check-runs``): any failure, error,
        cancelled, timed_out or action_required -> FAILURE; else anything queued/in progress or a
        pending status -> PENDING; else any success -> SUCCESS; nothing reported -> NONE.
        """
        ...


@runtime_checkable
class Identity(Protocol):
    """Who the product writes as, so it reads machine-readable blocks only from its own objects
    (docs/security.md, "Machine-readable blocks")."""

    def identity(self) -> str | None:
        """The login every object this forge creates is authored by (GitHub: the authenticated
        user's login, ``<app-slug>[bot]`` for an App installation token), or None on a forge
        whose objects have no author (the local forge). Raises ForgeError when it cannot be
        determined (never guessed)."""
        ...


def authored_by(author: str | None, identity: str | None) -> bool:
    """True when an object written by ``author`` counts as the product's own.

    ``identity`` None (a forge without authors): every object counts; otherwise the logins
    must be equal, ignoring case (GitHub logins are case-insensitive: "Username" rules,
    https://docs.github.com/en/get-started/learning-about-github/types-of-github-accounts).
    An object without an author on a forge with authors is never the product's.
    """
    if identity is None:
        return True
    return author is not None and author.lower() == identity.lower()


@runtime_checkable
class Forge(
    Repos,
    Contents,
    Branches,
    Pulls,
    Merges,
    Comments,
    Conversations,
    Issues,
    Tags,
    Releases,
    Accounting,
    Identity,
    Protocol,
):
    """Every role together: what ``make_forge`` returns and both forges implement.

    Name the roles you use instead (or one of the use-site sets below), so a fake forge in a
    test needs only those methods and mypy sees what crosses the boundary.
    """


# --- use-site role sets (one per caller; add a role here when the caller starts using it) ---


@runtime_checkable
class PlanForge(Repos, Contents, Pulls, Conversations, Releases, Tags, Identity, Protocol):
    """What ``rollout plan`` reads: releases and tags of the catalog (metadata is cross-checked
    against the tag), dependents' trees and files, open and closed rollout PRs with their
    comments and commenters' permission (commands), and who the product is."""


@runtime_checkable
class ApplyForge(Contents, Branches, Pulls, Merges, Comments, Conversations, Identity, Protocol):
    """What ``rollout apply`` and the sweep's apply write: branches, PRs, merges, marked comments,
    and the acknowledgements of commands in rollout PRs (reactions, the state comment)."""


@runtime_checkable
class CommandsForge(Pulls, Comments, Conversations, Identity, Protocol):
    """What commands in rollout PRs need: their comments, commenters' permission, reactions and
    the product's state comment (``rollout.commands``; read by plan, acknowledged by apply)."""


@runtime_checkable
class DashboardForge(Pulls, Issues, Identity, Protocol):
    """What the dependency dashboard needs: open rollout PRs and its one marked issue."""


@runtime_checkable
class SweepForge(Repos, Contents, Branches, Pulls, Releases, Identity, Protocol):
    """What ``sweep`` reads and writes: repos, files, branches, PRs, releases of upstreams."""


@runtime_checkable
class ReleaseForge(Repos, Branches, Pulls, Tags, Releases, Protocol):
    """What ``release`` needs: the catalog's clone URL, branch tip, PRs of commits, tags, releases."""


def repo_filter_reason(
    repo: Repo,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    topics: Sequence[str] = (),
    skip_archived: bool = True,
    skip_forks: bool = True,
) -> str | None:
    """Why ``Forge.list_repos`` filters ``repo`` out, or None to keep it (shared by the forges).

    Order: ``disabled``, ``archived``, ``fork``, ``not included`` (no ``include`` glob matches the
    repo name), ``excluded`` (an ``exclude`` glob matches), ``no matching topic``. Globs are
    ``fnmatch`` patterns on the name without the owner, case-sensitive.
    """
    if repo.disabled:
        return "disabled"
    if skip_archived and repo.archived:
        return "archived"
    if skip_forks and repo.fork:
        return "fork"
    if include and not any(fnmatch.fnmatchcase(repo.name, g) for g in include):
        return "not included"
    if any(fnmatch.fnmatchcase(repo.name, g) for g in exclude):
        return "excluded"
    if topics and not set(topics) & set(repo.topics):
        return "no matching topic"
    return None


def filter_repos(
    repos: Iterable[Repo],
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    topics: Sequence[str] = (),
    skip_archived: bool = True,
    skip_forks: bool = True,
) -> RepoListing:
    """Split ``repos`` into kept and skipped ones by ``repo_filter_reason`` (order preserved).

    Args and filter rules are those of ``Forge.list_repos``; the result is its ``RepoListing``.
    """
    kept: list[Repo] = []
    skipped: list[tuple[Repo, str]] = []
    for repo in repos:
        reason = repo_filter_reason(
            repo,
            include=include,
            exclude=exclude,
            topics=topics,
            skip_archived=skip_archived,
            skip_forks=skip_forks,
        )
        if reason:
            skipped.append((repo, reason))
        else:
            kept.append(repo)
    return RepoListing(repos=tuple(kept), skipped=tuple(skipped))


def check_merge_method(method: str) -> None:
    """Raise ``UsageError`` unless ``method`` is one of ``MERGE_METHODS`` (merge|squash|rebase)."""
    if method not in MERGE_METHODS:
        raise UsageError(f"merge method must be one of {', '.join(MERGE_METHODS)}, not {method!r}")


def check_marker(what: str, marker: str, body: str) -> None:
    """Raise ``UsageError`` unless ``body`` contains ``marker`` (``Forge.upsert_comment`` /
    ``Forge.upsert_issue`` find their object again by it). ``what``: "comment" or "issue"."""
    if marker not in body:
        raise UsageError(f"{what} body must contain its marker")


def read_codeowners(read: Callable[[str], bytes | None]) -> str | None:
    """CODEOWNERS text found by GitHub's lookup order (``codeowners.CODEOWNERS_PATHS``:
    ``.github/``, root, ``docs/``), or None. ``read(path)`` returns the file's bytes or None;
    undecodable bytes are replaced (U+FFFD)."""
    from catalog_ops.core.codeowners import CODEOWNERS_PATHS

    for path in CODEOWNERS_PATHS:
        data = read(path)
        if data is not None:
            return data.decode("utf-8", errors="replace")
    return None
