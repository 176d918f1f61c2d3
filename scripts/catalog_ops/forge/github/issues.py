"""Marked comments and issues on GitHub (``Comments``, ``Issues``), and labels/assignees of an issue or PR."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from catalog_ops.forge.base import (
    Comment,
    Issue,
    authored_by,
    check_marker,
)
from catalog_ops.forge.github.graphql import login_of
from catalog_ops.forge.github.repos import GitHubRepos


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
