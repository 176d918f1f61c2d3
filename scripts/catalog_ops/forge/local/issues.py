"""Comments, reactions, collaborators' permission and marked issues in the local forge
(``Comments``, ``Conversations``, ``Issues``), kept in the record."""

from __future__ import annotations

from collections.abc import Sequence

from catalog_ops.errors import NotFound, UsageError
from catalog_ops.forge.base import REACTIONS, Comment, Issue, check_marker
from catalog_ops.forge.local.store import LocalStore, now, take_number

ROLES = ("admin", "write", "read", "none")
"""Base roles ``permission`` reports (GitHub's legacy ``permission`` values)."""


class LocalIssues(LocalStore):
    """Comment and issue operations over a ``LocalStore``."""

    def upsert_comment(self, repo: str, number: int, *, marker: str, body: str) -> Comment:
        """See ``Forge.upsert_comment``."""
        self._count("upsert_comment", write=True)
        check_marker("comment", marker, body)
        with self._edit(repo) as data:
            item = self._find_item(data, number, repo)
            kind = "pull" if "head" in item else "issue"
            # Only the product's own comment (no author recorded): a person's comment quoting
            # the marker is never edited (as on GitHub, ``GitHubIssues._ours``).
            found = next(
                (
                    c
                    for c in data["comments"]
                    if c["issue_number"] == number and marker in c["body"] and not c.get("author")
                ),
                None,
            )
            if found is None:
                found = self._new_comment(repo, data, number, body)
            else:
                found["body"] = body
                found["updated_at"] = now()
            return Comment(
                id=found["id"], body=body, url=self._url(repo, kind, number, f"-comment-{found['id']}")
            )

    def list_comments(self, repo: str, number: int, *, limit: int = 100) -> list[Comment]:
        """See ``Conversations.list_comments``: the first ``limit`` comments and the newest
        ``limit``, each once, oldest first; a comment a person posted (``add_comment``) carries
        its ``author``, the product's none."""
        self._count("list_comments")
        data = self.load_record(repo)
        item = self._find_item(data, number, repo)
        kind = "pull" if "head" in item else "issue"
        every = [
            Comment(
                id=c["id"],
                body=c["body"],
                url=self._url(repo, kind, number, f"-comment-{c['id']}"),
                author=c.get("author"),
            )
            for c in data["comments"]
            if c["issue_number"] == number
        ]
        n = max(0, min(limit, 100))
        return every if len(every) <= 2 * n else every[:n] + every[len(every) - n :]

    def add_comment(self, repo: str, number: int, body: str, *, author: str) -> Comment:
        """Post ``body`` on PR/issue ``number`` as the person ``author`` (local only: what a person
        does in the web UI; ``forge comment`` on the command line). Raises NotFound, UsageError
        for an empty author."""
        if not author:
            raise UsageError("a comment posted as a person needs an author")
        self._count("add_comment", write=True)
        with self._edit(repo) as data:
            item = self._find_item(data, number, repo)
            kind = "pull" if "head" in item else "issue"
            rec = self._new_comment(repo, data, number, body)
            rec["author"] = author
            return Comment(
                id=rec["id"],
                body=body,
                url=self._url(repo, kind, number, f"-comment-{rec['id']}"),
                author=author,
            )

    def add_reaction(self, repo: str, comment_id: int, content: str) -> None:
        """See ``Conversations.add_reaction``: recorded on the comment as the product's (no user),
        at most once per content."""
        if content not in REACTIONS:
            raise UsageError(f"reaction must be one of {', '.join(REACTIONS)}, not {content!r}")
        self._count("add_reaction", write=True)
        with self._edit(repo) as data:
            found = next((c for c in data["comments"] if c["id"] == comment_id), None)
            if found is None:
                raise NotFound(f"comment {comment_id} not found in {repo}")
            reactions = found.setdefault("reactions", [])
            if not any(r.get("content") == content and not r.get("user") for r in reactions):
                reactions.append({"content": content, "user": None, "created_at": now()})

    def reactions(self, repo: str, comment_id: int) -> list[tuple[str, str | None]]:
        """``(content, user)`` of every reaction on comment ``comment_id`` (local helper; the
        product's reactions have user None)."""
        data = self.load_record(repo)
        found = next((c for c in data["comments"] if c["id"] == comment_id), None)
        if found is None:
            raise NotFound(f"comment {comment_id} not found in {repo}")
        return [(str(r.get("content")), r.get("user")) for r in found.get("reactions", [])]

    def permission(self, repo: str, login: str) -> str:
        """See ``Conversations.permission``: the ``collaborators`` map of the repository record
        (``{"alice": "write"}``; ``maintain`` reads as ``write``, ``triage`` as ``read``, as on
        GitHub), ``none`` for anyone else."""
        self._count("permission")
        data = self.load_record(repo)
        raw = str((data["repo"].get("collaborators") or {}).get(login, "none"))
        return {"maintain": "write", "triage": "read"}.get(raw, raw if raw in ROLES else "none")

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
