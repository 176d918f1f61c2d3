"""Marker-based PR upsert: the marker comment and one commit + open-or-update."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog_ops.fanout.pulls import Marker, push_and_upsert
from catalog_ops.forge.base import FileChange, PullRequest, PullState

MARKER = Marker("catalog-ops:test")


def test_marker_round_trip_escapes_comment_end_and_sorts_keys() -> None:
    text = MARKER.render({"b": "x--y", "a": 1})
    assert text == '<!-- catalog-ops:test {"a": 1, "b": "x-\\u002dy"} -->'
    body = f"Intro\n\n{text}\n"
    assert MARKER.parse(body) == {"a": 1, "b": "x--y"}
    assert MARKER.parse("no marker") is None
    assert MARKER.parse("<!-- catalog-ops:test {not json} -->") is None
    assert Marker("catalog-ops:other").parse(body) is None
    updated = MARKER.with_fields(body, closed_by="catalog-ops")
    assert MARKER.parse(updated) == {"a": 1, "b": "x--y", "closed_by": "catalog-ops"}
    assert updated.startswith("Intro\n\n") and MARKER.with_fields("plain", x="1") == "plain"


class _Forge:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def commit_files(
        self, repo: str, branch: str, *, parent_sha: str, message: str, changes: Sequence[FileChange]
    ) -> str:
        self.calls.append(("commit", (branch, parent_sha, [c.path for c in changes])))
        return "c0ffee"

    def _pr(self, number: int, title: str, body: str, base: str) -> PullRequest:
        return PullRequest(
            repo="acme/app",
            number=number,
            title=title,
            body=body,
            head="b",
            base=base,
            head_sha="c0ffee",
            state=PullState.OPEN,
            url=f"u/{number}",
        )

    def open_pull(self, repo: str, *, head: str, base: str, title: str, body: str, **kw: Any) -> PullRequest:
        self.calls.append(("open", (head, base, title, kw)))
        return self._pr(7, title, body, base)

    def update_pull(self, repo: str, number: int, **kw: Any) -> PullRequest:
        self.calls.append(("update", (number, sorted(kw))))
        return self._pr(number, kw.get("title") or "", kw.get("body") or "", kw.get("base") or "main")


def test_push_and_upsert_opens_then_updates() -> None:
    forge = _Forge()
    text = lambda head: ("T", f"body {head}")  # noqa: E731
    pr, head, opened = push_and_upsert(
        forge,
        "acme/app",
        branch="b",
        base="main",
        base_sha="base1",
        message="m",
        changes={"z.tf": b"z", "a.tf": b"a"},
        text=text,
        existing=None,
        labels=["dependencies"],
    )
    assert (opened, head, pr.number, pr.body) == (True, "c0ffee", 7, "body c0ffee")
    assert forge.calls[0] == ("commit", ("b", "base1", ["a.tf", "z.tf"]))
    assert forge.calls[1][0] == "open" and forge.calls[1][1][3]["labels"] == ["dependencies"]
    forge.calls.clear()
    pr, _head, opened = push_and_upsert(
        forge,
        "acme/app",
        branch="b",
        base="main",
        base_sha="base2",
        message="m",
        changes={"a.tf": b"a2"},
        text=text,
        existing=pr,
        retarget=False,
    )
    assert not opened and forge.calls[1] == ("update", (7, ["body", "title"]))


def test_only_the_trailing_marker_is_read() -> None:
    forged = MARKER.render({"release": "v99.0.0"})
    ours = MARKER.render({"release": "v1.0.0"})
    assert MARKER.parse(f"notes {forged}\n\nmore\n{ours}\n") == {"release": "v1.0.0"}
    assert MARKER.parse(f"{forged}\nnotes after it\n") is None  # not trailing: not ours
    body = f"x {forged}\n{ours}\n"
    updated = MARKER.with_fields(body, closed_by="catalog-ops")
    assert updated.startswith(f"x {forged}\n")  # the forged one is left as it was
    assert MARKER.parse(updated) == {"release": "v1.0.0", "closed_by": "catalog-ops"}
