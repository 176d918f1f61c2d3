"""Marked comments and issues on GitHub (``Comments``, ``Issues``), and labels/assignees of an issue or PR."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from catalog_ops.forge.base import (
    Comment,
    Issue,
    check_marker,
)
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
        if existing is None:  # a recovered create may have found an older body: patch it too
            existing = self._create_comment(repo, number, body, lambda c: marker in (c.get("body") or ""))
        data = existing
        if existing.get("body") != body:
            _h, data = self._request(
                "PATCH",
                f"/repos/{repo}/issues/comments/{existing['id']}",
                body={"body": body},
                idempotent=True,
            )
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
