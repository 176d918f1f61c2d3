"""Pull requests, checks and merges on GitHub (``Pulls``, ``Merges``, ``CommitChecks``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from catalog_ops.errors import (
    AutoMergeUnavailable,
    Conflict,
    NotFound,
)
from catalog_ops.forge.base import (
    ChecksState,
    PullRequest,
    PullState,
    check_merge_method,
)
from catalog_ops.forge.github.graphql import AUTO_MERGE_MUTATION, GraphQLFailure, login_of
from catalog_ops.forge.github.issues import GitHubIssues


class GitHubPulls(GitHubIssues):
    """Pull request, checks and merge operations (REST ``/repos/{o}/{r}/pulls``)."""

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
            author=login_of(d.get("user")),
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
                AUTO_MERGE_MUTATION,
                {"input": {"pullRequestId": pr["node_id"], "mergeMethod": method.upper()}},
                mutation=True,
                idempotent=True,
            )
        except GraphQLFailure as exc:
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
