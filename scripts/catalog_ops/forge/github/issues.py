"""Marked comments and issues on GitHub (``Comments``, ``Issues``), comments people write,
reactions and collaborators' permission (``Conversations``), and labels/assignees of an issue or PR."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from catalog_ops.errors import NotFound, UsageError
from catalog_ops.forge.base import (
    REACTIONS,
    Comment,
    Issue,
    authored_by,
    check_marker,
)
from catalog_ops.forge.github.graphql import login_of
from catalog_ops.forge.github.repos import GitHubRepos
from catalog_ops.forge.github.transport import link_rel


class GitHubIssues(GitHubRepos):
    """Comment and issue operations (REST ``/repos/{o}/{r}/issues``)."""

    def _add_to_issue(self, repo: str, number: int, key: str, values: Sequence[str]) -> None:
        """``POST /repos/{r}/issues/{n}/{key}`` with ``{key: values}`` (``key``: ``labels`` or
        ``assignees``; GitHub REST "Add labels/assignees to an issue", which adds to the set and
        so is safe to repeat). No request when ``values`` is empty."""
        if values:
            self._request(
                "POST", f"/repos/{repo}/issues/{number}/{key}", body={key: list(values)}, idempotent=True
            )

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

    def _ours(self, marker: str) -> Callable[[dict[str, Any]], bool]:
        """Matches a REST comment/issue that holds ``marker`` and was written by ``identity()``
        (``user.login``, GitHub REST "List issue comments": every comment carries its author).
        A stranger's object quoting the marker never matches: it is neither edited nor adopted."""
        me = self.identity()
        return lambda o: marker in (o.get("body") or "") and authored_by(login_of(o.get("user")), me)

    def upsert_comment(self, repo: str, number: int, *, marker: str, body: str) -> Comment:
        """List comments, then ``PATCH`` our one with ``marker`` or ``POST`` a new one."""
        check_marker("comment", marker, body)
        ours = self._ours(marker)
        existing = next(
            (c for c in self._paginate(f"/repos/{repo}/issues/{number}/comments") if ours(c)),
            None,
        )
        if existing is None:  # a recovered create may have found an older body: patch it too
            existing = self._create_comment(repo, number, body, ours)
        data = existing
        if existing.get("body") != body:
            _h, data = self._request(
                "PATCH",
                f"/repos/{repo}/issues/comments/{existing['id']}",
                body={"body": body},
                idempotent=True,
            )
        return Comment(
            id=int(data["id"]),
            body=data["body"],
            url=data.get("html_url", ""),
            author=login_of(data.get("user")),
        )

    def list_comments(self, repo: str, number: int, *, limit: int = 100) -> list[Comment]:
        """See ``Conversations.list_comments``: ``GET /repos/{o}/{r}/issues/{n}/comments
        ?per_page=LIMIT&page=1`` (GitHub REST "List issue comments": "Issue comments are ordered
        by ascending ID", at most 100 a page;
        https://docs.github.com/rest/issues/comments#list-issue-comments), and when its ``Link``
        header has a ``rel="last"`` page N, pages N and N-1 as well (the newest ``limit``; "Using
        pagination in the REST API": https://docs.github.com/rest/using-the-rest-api/using-pagination-in-the-rest-api).
        At most three requests."""
        per_page = max(1, min(int(limit), 100))
        url = f"/repos/{repo}/issues/{number}/comments"
        headers, data = self._request("GET", url, params={"per_page": per_page, "page": 1})
        pages = [data if isinstance(data, list) else []]
        last = _last_page(headers.get("link", "") if headers else "")
        for page in sorted({p for p in (last - 1, last) if p > 1}):
            _h, more = self._request("GET", url, params={"per_page": per_page, "page": page})
            pages.append(more if isinstance(more, list) else [])
        by_id: dict[int, Comment] = {}
        for c in (c for page in pages for c in page[:per_page]):
            by_id[int(c["id"])] = Comment(
                id=int(c["id"]),
                body=c.get("body") or "",
                url=c.get("html_url", ""),
                author=login_of(c.get("user")),
            )
        every = [by_id[k] for k in sorted(by_id)]
        return every if len(every) <= 2 * per_page else every[:per_page] + every[len(every) - per_page :]

    def add_reaction(self, repo: str, comment_id: int, content: str) -> None:
        """See ``Conversations.add_reaction``: ``POST /repos/{o}/{r}/issues/comments/{id}/reactions``
        (GitHub REST "Create reaction for an issue comment": "A response with an HTTP 200 status
        means that you already added the reaction type to this issue comment", so repeating it
        is safe; https://docs.github.com/rest/reactions/reactions#create-reaction-for-an-issue-comment)."""
        if content not in REACTIONS:
            raise UsageError(f"reaction must be one of {', '.join(REACTIONS)}, not {content!r}")
        self._request(
            "POST",
            f"/repos/{repo}/issues/comments/{comment_id}/reactions",
            body={"content": content},
            idempotent=True,
        )

    def permission(self, repo: str, login: str) -> str:
        """See ``Conversations.permission``: ``GET /repos/{o}/{r}/collaborators/{login}/permission``
        (GitHub REST "Get repository permissions for a user": ``permission`` holds "the legacy base
        roles of admin, write, read, and none, where the maintain role is mapped to write and the
        triage role is mapped to read", after "all sources of grants, including: repo, teams,
        organization, and enterprise";
        https://docs.github.com/rest/collaborators/collaborators#get-repository-permissions-for-a-user).
        A 404 (no such user) is ``none``."""
        try:
            _h, data = self._request(
                "GET", f"/repos/{repo}/collaborators/{urllib.parse.quote(login, safe='')}/permission"
            )
        except NotFound:
            return "none"
        value = str((data or {}).get("permission") or "none") if isinstance(data, dict) else "none"
        return value if value in ("admin", "write", "read", "none") else "none"

    def upsert_issue(
        self, repo: str, *, marker: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> Issue:
        """Find our open issue containing ``marker`` (``GET /issues?state=open&creator=ME``,
        GitHub REST "List repository issues": ``creator`` filters by the user who created it),
        then ``PATCH`` it or ``POST /issues``."""
        check_marker("issue", marker, body)
        ours = self._ours(marker)
        me = self.identity()

        def find() -> dict[str, Any] | None:
            return next(
                (
                    i
                    for i in self._paginate(f"/repos/{repo}/issues", {"state": "open", "creator": me})
                    if "pull_request" not in i and ours(i)
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
            author=login_of(data.get("user")),
        )


def _last_page(link: str) -> int:
    """The ``page`` of a ``Link`` header's ``rel="last"`` URL (``transport.link_rel``), or 0 when
    there is none (one page only)."""
    last = link_rel(link, "last")
    if last is None:
        return 0
    try:
        return int(urllib.parse.parse_qs(urllib.parse.urlparse(last).query).get("page", ["0"])[0])
    except ValueError:
        return 0
