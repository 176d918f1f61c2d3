"""Pull requests, checks and merges on GitHub (``Pulls``, ``Merges``, ``CommitChecks``)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from catalog_ops.errors import (
    AutoMergeUnavailable,
    Conflict,
    HeadMoved,
    NotFound,
    PermissionDenied,
    ReviewersRefused,
)
from catalog_ops.forge.base import (
    MERGE_METHOD_FIELDS_REST,
    CheckResult,
    ChecksState,
    MergeFacts,
    PullRequest,
    PullState,
    add_check,
    check_merge_method,
    check_run_state,
    combine_checks,
    head_age,
    merge_methods,
    status_state,
)
from catalog_ops.forge.github.graphql import (
    AUTO_MERGE_MUTATION,
    DISABLE_AUTO_MERGE_MUTATION,
    GraphQLFailure,
    login_of,
)
from catalog_ops.forge.github.issues import GitHubIssues
from catalog_ops.forge.github.transport import quote_path


class GitHubPulls(GitHubIssues):
    """Pull request, checks and merge operations (REST ``/repos/{o}/{r}/pulls``)."""

    def _pull_from(self, repo: str, d: Mapping[str, Any]) -> PullRequest:
        owner = repo.split("/")[0]
        if d.get("node_id"):  # the id GraphQL mutations take (enable_auto_merge), kept: no GET for it
            self.__dict__.setdefault("_pull_node_ids", {})[(repo, int(d["number"]))] = str(d["node_id"])
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
            created_at=d.get("created_at") or "",
            merged_at=d.get("merged_at") if merged else None,
        )

    def list_open_pulls(self, repo: str, *, limit: int = 100) -> list[PullRequest]:
        """Open PRs of ``repo``, at most ``limit`` (newest first): ``GET /repos/{r}/pulls?state=open``
        (https://docs.github.com/en/rest/pulls/pulls#list-pull-requests; one request per 100)."""
        out: list[PullRequest] = []
        for d in self._paginate(f"/repos/{repo}/pulls", {"state": "open", "per_page": min(100, limit)}):
            out.append(self._pull_from(repo, d))
            if len(out) >= limit:
                break
        return out

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
            # A reviewer GitHub refuses (422) never keeps the PR from opening: the others are
            # requested (``request_reviewers``); callers wanting the refusal call that directly.
            with contextlib.suppress(ReviewersRefused):
                self.request_reviewers(repo, number, users=list(reviewers), teams=teams)
            _h, fresh = self._request("GET", f"/repos/{repo}/pulls/{number}")
            data["requested_reviewers"] = fresh.get("requested_reviewers", [])
            data["requested_teams"] = fresh.get("requested_teams", [])
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
        """``POST /repos/{r}/pulls/{n}/requested_reviewers`` (team slugs; ``org/slug`` accepted).

        GitHub refuses the whole request with 422 when one reviewer cannot review ("Reviews may
        only be requested from collaborators", the PR author, a team without access:
        https://docs.github.com/en/rest/pulls/review-requests#request-reviewers-for-a-pull-request)
        without naming which. Then each reviewer is requested alone, so every reviewer GitHub
        accepts is requested, and ``ReviewersRefused`` names the refused ones.
        """
        slugs = [t.split("/", 1)[-1] for t in teams]
        if not users and not slugs:
            return
        url = f"/repos/{repo}/pulls/{number}/requested_reviewers"

        def post(u: Sequence[str], t: Sequence[str]) -> None:
            self._request(
                "POST", url, body={"reviewers": list(u), "team_reviewers": list(t)}, idempotent=True
            )

        try:
            post(users, slugs)
            return
        except Conflict as exc:
            if getattr(exc, "status", None) != 422:
                raise
            first = str(exc)
        refused: list[str] = []
        message = first
        if len(users) + len(slugs) == 1:
            refused = [*users, *slugs]
        else:
            for who, kind in [*((u, "user") for u in users), *((t, "team") for t in slugs)]:
                try:
                    post([who] if kind == "user" else [], [who] if kind == "team" else [])
                except Conflict as exc:
                    if getattr(exc, "status", None) != 422:
                        raise
                    refused.append(who)
                    message = str(exc)
        if refused:
            raise ReviewersRefused(message, tuple(refused))

    def add_assignees(self, repo: str, number: int, assignees: Sequence[str]) -> None:
        """``POST /repos/{r}/issues/{n}/assignees``."""
        self._add_to_issue(repo, number, "assignees", assignees)

    def enable_auto_merge(self, repo: str, number: int, *, method: str = "squash") -> None:
        """GraphQL ``enablePullRequestAutoMerge``: GitHub merges the PR once its required checks
        and reviews are satisfied.

        GitHub offers auto-merge only while something must still be waited for: when the PR
        could be merged at once it answers "Pull request Pull request is in clean status" (also
        when no check has been reported yet) or "... unstable status" (only non-required checks
        pending or failing). Such a PR is never merged here: the merge gate
        (``catalog_ops.rollout.gate``) decides (issue 14).
        https://docs.github.com/en/pull-requests/collaborating-with-pull-requests/incorporating-changes-from-a-pull-request/automatically-merging-a-pull-request

        Raises:
            AutoMergeUnavailable: the repository does not allow auto-merge (Settings → General →
                "Allow auto-merge"), the PR is in clean/unstable status, or cannot take it.
        """
        check_merge_method(method)
        # The node id of a PR this forge has read or opened is known (``_pull_from``): no GET for
        # it. A PR closed since then is refused by GitHub ("not open"): AutoMergeUnavailable.
        node_id = self.__dict__.get("_pull_node_ids", {}).get((repo, number))
        if node_id is None:
            _h, pr = self._request("GET", f"/repos/{repo}/pulls/{number}")
            if pr.get("state") != "open":
                raise AutoMergeUnavailable(f"pull request #{number} in {repo} is not open")
            node_id = str(pr["node_id"])
        try:
            self._graphql(
                AUTO_MERGE_MUTATION,
                {"input": {"pullRequestId": node_id, "mergeMethod": method.upper()}},
                mutation=True,
                idempotent=True,
            )
        except GraphQLFailure as exc:
            text = str(exc)
            if "not allowed" in text:
                raise AutoMergeUnavailable(
                    f"auto-merge is not allowed in {repo} (enable Settings → General → Allow auto-merge): {text}"
                ) from None
            raise AutoMergeUnavailable(f"cannot enable auto-merge on {repo}#{number}: {text}") from None

    def disable_auto_merge(self, repo: str, number: int) -> None:
        """GraphQL ``disablePullRequestAutoMerge`` when auto-merge is armed (one read when not).
        https://docs.github.com/en/graphql/reference/mutations#disablepullrequestautomerge"""
        _h, pr = self._request("GET", f"/repos/{repo}/pulls/{number}")
        if pr.get("auto_merge") is None:
            return
        self._graphql(
            DISABLE_AUTO_MERGE_MUTATION,
            {"input": {"pullRequestId": pr["node_id"]}},
            mutation=True,
            idempotent=True,
        )

    def checks_state(self, repo: str, number: int) -> ChecksState:
        """Combined checks of the PR's head commit (see ``commit_checks_state``)."""
        _h, pr = self._request("GET", f"/repos/{repo}/pulls/{number}")
        return self.commit_checks_state(repo, pr["head"]["sha"])

    def commit_checks(self, repo: str, sha: str) -> tuple[CheckResult, ...]:
        """Every check reported on ``sha``: commit statuses (latest per context, ``GET
        /commits/{sha}/status``) and check runs (``GET /commits/{sha}/check-runs``, latest per
        name). A run not ``completed`` is pending; ``success``/``neutral``/``skipped`` pass, any
        other conclusion fails; a status ``error``/``failure`` fails
        (https://docs.github.com/en/rest/commits/statuses#get-the-combined-status-for-a-specific-reference,
        https://docs.github.com/en/rest/checks/runs#list-check-runs-for-a-git-reference)."""
        _h, status = self._request("GET", f"/repos/{repo}/commits/{sha}/status")
        runs = list(self._paginate(f"/repos/{repo}/commits/{sha}/check-runs", key="check_runs"))
        out: dict[str, CheckResult] = {}
        for st in status.get("statuses") or ():
            name = str(st.get("context") or "default")
            if name not in out:  # GitHub lists the latest status per context first
                out[name] = CheckResult(name=name, state=status_state(st.get("state")))
        seen_runs: set[str] = set()
        for run in runs:  # newest first
            name = str(run.get("name"))
            if name in seen_runs:
                continue
            seen_runs.add(name)
            add_check(out, name, check_run_state(run.get("status"), run.get("conclusion")))
        return tuple(out[k] for k in sorted(out))

    def commit_checks_state(self, repo: str, sha: str) -> ChecksState:
        """Combined commit status merged with the check runs (``commit_checks``): any failure →
        FAILURE; else anything pending → PENDING; else any success → SUCCESS; nothing reported →
        NONE (``forge.base.CommitChecks``)."""
        return combine_checks(self.commit_checks(repo, sha))

    def required_checks(self, repo: str, branch: str) -> tuple[str, ...]:
        """Names of the status checks required to merge into ``branch``: rulesets (``GET
        /repos/{r}/rules/branches/{branch}``, "all active rules that apply to the specified
        branch", metadata read: https://docs.github.com/en/rest/repos/rules#get-rules-for-a-branch)
        and classic branch protection (``GET .../branches/{branch}/protection/required_status_checks``,
        https://docs.github.com/en/rest/branches/branch-protection#get-status-checks-protection;
        404 when the branch is not protected, 403 without administration read — then only the
        rulesets are known and the gate looks at every check on the head, which includes them)."""
        names: list[str] = []
        with contextlib.suppress(NotFound, PermissionDenied):
            _h, rules = self._request("GET", f"/repos/{repo}/rules/branches/{quote_path(branch)}")
            for rule in rules or ():
                if rule.get("type") == "required_status_checks":
                    for item in (rule.get("parameters") or {}).get("required_status_checks") or ():
                        names.append(str(item.get("context")))
        with contextlib.suppress(NotFound, PermissionDenied):
            _h, prot = self._request(
                "GET", f"/repos/{repo}/branches/{quote_path(branch)}/protection/required_status_checks"
            )
            names.extend(str(c) for c in prot.get("contexts") or ())
            names.extend(str(c.get("context")) for c in prot.get("checks") or ())
        return tuple(dict.fromkeys(n for n in names if n))

    def merge_facts(self, repo: str, number: int) -> MergeFacts:
        """See ``Merges.merge_facts``: the PR (``GET /pulls/{n}``), the repository's allowed
        merge methods (``allow_squash_merge``/``allow_merge_commit``/``allow_rebase_merge`` of
        ``GET /repos/{r}``; absent fields count as allowed,
        https://docs.github.com/en/rest/repos/repos#get-a-repository), the required checks of the
        base (``required_checks``), the checks on the head (``commit_checks``) and the head
        commit's committer date (``GET /git/commits/{sha}``)."""
        _h, pr = self._request("GET", f"/repos/{repo}/pulls/{number}")
        pull = self._pull_from(repo, pr)
        _h, info = self._request("GET", f"/repos/{repo}")
        methods = merge_methods(info, MERGE_METHOD_FIELDS_REST)
        age = 0.0
        with contextlib.suppress(NotFound):
            _h, commit = self._request("GET", f"/repos/{repo}/git/commits/{pull.head_sha}")
            age = head_age((commit.get("committer") or {}).get("date"), time.time())
        return MergeFacts(
            head_sha=pull.head_sha,
            state=pull.state,
            auto_merge=pull.auto_merge,
            checks=self.commit_checks(repo, pull.head_sha) if pull.state is PullState.OPEN else (),
            required=self.required_checks(repo, pull.base),
            merge_methods=methods,
            head_age=age,
            native_auto_merge=True,
        )

    def merge_pull(self, repo: str, number: int, *, method: str = "squash", sha: str | None = None) -> str:
        """``PUT /repos/{r}/pulls/{n}/merge``; returns the merge commit id.

        ``sha``: "SHA that pull request head must match to allow merge"; GitHub answers 409
        when it does not (https://docs.github.com/en/rest/pulls/pulls#merge-a-pull-request),
        raised as HeadMoved. Raises Conflict when the PR cannot be merged (405/422)."""
        check_merge_method(method)
        attempted = False
        body: dict[str, Any] = {"merge_method": method}
        if sha:
            body["sha"] = sha

        def do() -> str:
            nonlocal attempted
            try:
                _h, data = self._request(
                    "PUT",
                    f"/repos/{repo}/pulls/{number}/merge",
                    body=body,
                    idempotent=False,
                )
            except Conflict as exc:
                if attempted:
                    pr = self.get_pull(repo, number)
                    if pr.state is PullState.MERGED and pr.merged_sha:
                        return pr.merged_sha
                if sha and getattr(exc, "status", None) == 409:
                    raise HeadMoved(
                        f"{repo}#{number}: head is no longer {sha[:12]}; not merged ({exc})"
                    ) from None
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
