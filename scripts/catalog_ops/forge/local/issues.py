"""Marked comments and issues in the local forge (``Comments``, ``Issues``), kept in the record."""

from __future__ import annotations

from collections.abc import Sequence

from catalog_ops.forge.base import Comment, Issue, check_marker
from catalog_ops.forge.local.store import LocalStore, now, take_number


class LocalIssues(LocalStore):
    """Comment and issue operations over a ``LocalStore``."""

    def upsert_comment(self, repo: str, number: int, *, marker: str, body: str) -> Comment:
        """See ``Forge.upsert_comment``."""
        self._count("upsert_comment", write=True)
        check_marker("comment", marker, body)
        with self._edit(repo) as data:
            item = self._find_item(data, number, repo)
            kind = "pull" if "head" in item else "issue"
            found = next(
                (c for c in data["comments"] if c["issue_number"] == number and marker in c["body"]), None
            )
            if found is None:
                found = self._new_comment(repo, data, number, body)
            else:
                found["body"] = body
                found["updated_at"] = now()
            return Comment(
                id=found["id"], body=body, url=self._url(repo, kind, number, f"-comment-{found['id']}")
            )

    def list_comments(self, repo: str, number: int) -> list[Comment]:
        """Comments on a PR or issue, oldest first (local helper for inspection and tests)."""
        data = self.load_record(repo)
        item = self._find_item(data, number, repo)
        kind = "pull" if "head" in item else "issue"
        return [
            Comment(id=c["id"], body=c["body"], url=self._url(repo, kind, number, f"-comment-{c['id']}"))
            for c in data["comments"]
            if c["issue_number"] == number
        ]

    def upsert_issue(
        self, repo: str, *, marker: str, title: str, body: str, labels: Sequence[str] = ()
    ) -> Issue:
        """See ``Forge.upsert_issue``."""
        self._count("upsert_issue", write=True)
        check_marker("issue", marker, body)
        with self._edit(repo) as data:
            found = next((i for i in data["issues"] if i["state"] == "open" and marker in i["body"]), None)
            if found is None:
                number = take_number(data)
                found = {
                    "number": number,
                    "title": title,
                    "body": body,
                    "state": "open",
                    "labels": list(dict.fromkeys(labels)),
                    "assignees": [],
                    "created_at": now(),
                    "updated_at": now(),
                }
                data["issues"].append(found)
            else:
                found.update(title=title, body=body, updated_at=now())
                if labels:
                    found["labels"] = list(dict.fromkeys(labels))
            return Issue(
                number=found["number"],
                title=title,
                body=body,
                url=self._url(repo, "issue", found["number"]),
                state="open",
            )

    def list_issues(self, repo: str) -> list[Issue]:
        """All issues of the repo (local helper)."""
        data = self.load_record(repo)
        return [
            Issue(
                number=i["number"],
                title=i["title"],
                body=i["body"],
                url=self._url(repo, "issue", i["number"]),
                state=i["state"],
            )
            for i in data["issues"]
        ]
