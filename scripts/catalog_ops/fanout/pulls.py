"""Marker-based "open or update the PR": the one pull-request upsert of every fan-out command.

A fan-out command (rollout, sweep) owns one branch per purpose in each repository it writes to
and recognises its PRs by a machine-readable marker: an HTML comment in the PR body, invisible
on GitHub (GitHub Flavored Markdown spec, "HTML blocks"). ``Marker`` renders and parses one
(``<!-- catalog-ops:rollout {"digest": ...} -->``: a JSON object; ``--`` is escaped so the
payload can never end the comment). ``push_and_upsert`` writes the change: one commit on the
base tip (the branch is created or force-moved), then the open PR on that branch is updated or a
new one is opened — GitHub's guidance: look for an existing PR before creating one.

The forge paces content-creating requests itself (``Settings.write_interval``; GitHub's
guidance for secondary rate limits).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from catalog_ops.forge.base import Branches, FileChange, PullRequest, Pulls


class PullWriter(Branches, Pulls, Protocol):
    """The forge roles ``push_and_upsert`` needs: one commit on a branch, open/update a PR."""


@dataclasses.dataclass(frozen=True)
class Marker:
    """The HTML comment ``<!-- {name} {json} -->`` that marks a PR body as ours.

    Attributes:
        name: ``catalog-ops:<command>`` (e.g. ``catalog-ops:rollout``).
    """

    name: str

    @property
    def pattern(self) -> re.Pattern[str]:
        """Regex matching the whole comment; group 1 is the JSON payload."""
        return re.compile(r"<!--\s*" + re.escape(self.name) + r"\s+(\{.*?\})\s*-->", re.S)

    def render(self, payload: Mapping[str, Any]) -> str:
        """The comment carrying ``payload`` (keys sorted; ``--`` escaped as ``-\\u002d``)."""
        text = json.dumps(dict(payload), sort_keys=True).replace("--", "-\\u002d")
        return f"<!-- {self.name} {text} -->"

    def _trailing(self, body: str) -> re.Match[str] | None:
        """The marker that ends ``body`` (only whitespace after it), or None. Only this one is
        the product's: a marker anywhere else came with text copied from others (release notes,
        commit subjects) and is never read (docs/security.md)."""
        start = body.rfind("<!-- " + self.name)
        if start < 0:
            return None
        match = re.compile(r"<!--\s*" + re.escape(self.name) + r"\s+(\{[^\n]*\})\s*-->(?=\s*\Z)").match(
            body, start
        )
        return match

    def parse(self, body: str | None) -> dict[str, Any] | None:
        """The payload of the single trailing marker of ``body`` (what ``render`` wrote last,
        nothing but whitespace after it), or None (no trailing marker, invalid JSON)."""
        match = self._trailing(body or "")
        if not match:
            return None
        try:
            data = json.loads(match.group(1))
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    def with_fields(self, body: str, **fields: str) -> str:
        """``body`` with extra payload fields in its trailing marker (unchanged when it has none)."""
        match = self._trailing(body)
        if match is None:
            return body
        return (
            body[: match.start()]
            + self.render({**(self.parse(match.group(0)) or {}), **fields})
            + body[match.end() :]
        )


def push_and_upsert(
    forge: PullWriter,
    repo: str,
    *,
    branch: str,
    base: str,
    base_sha: str,
    message: str,
    changes: Mapping[str, bytes | None],
    text: Callable[[str], tuple[str, str]],
    existing: PullRequest | None,
    labels: Sequence[str] = (),
    reviewers: Sequence[str] = (),
    team_reviewers: Sequence[str] = (),
    retarget: bool = True,
) -> tuple[PullRequest, str, bool]:
    """Commit ``changes`` on ``base_sha`` to ``branch`` (created or force-moved), then update
    ``existing`` or open a PR ``branch`` -> ``base``.

    Args:
        changes: path -> new bytes (None deletes the file); written in path order.
        text: head commit SHA -> ``(title, body)`` (a marker may record the head).
        existing: the open PR on ``branch`` (the caller looked it up), or None.
        labels / reviewers / team_reviewers: for a new PR only.
        retarget: also set the base of ``existing`` to ``base``.

    Returns:
        ``(pr, head, opened)``: the PR as the forge returned it, the new commit, True when opened.

    Raises:
        ForgeError (and subclasses) from the forge.
    """
    head = forge.commit_files(
        repo,
        branch,
        parent_sha=base_sha,
        message=message,
        changes=[FileChange(p, changes[p]) for p in sorted(changes)],
    )
    title, body = text(head)
    if existing is not None:
        extra = {"base": base} if retarget else {}
        pr = forge.update_pull(repo, existing.number, title=title, body=body, **extra)
        return pr, head, False
    pr = forge.open_pull(
        repo,
        head=branch,
        base=base,
        title=title,
        body=body,
        labels=list(labels),
        reviewers=list(reviewers),
        team_reviewers=list(team_reviewers),
    )
    return pr, head, True
