"""Forges: where repositories, pull requests, tags and releases live.

``make_forge(settings)`` returns the forge chosen by settings (``local`` by default).
"""

from __future__ import annotations

from catalog_ops.forge.base import (
    ChecksState,
    Comment,
    Commit,
    FileChange,
    Forge,
    Issue,
    PullRequest,
    PullState,
    Release,
    Repo,
    RepoListing,
    Tag,
)
from catalog_ops.settings import Settings

__all__ = [
    "ChecksState",
    "Comment",
    "Commit",
    "FileChange",
    "Forge",
    "Issue",
    "PullRequest",
    "PullState",
    "Release",
    "Repo",
    "RepoListing",
    "Tag",
    "make_forge",
]


def make_forge(settings: Settings) -> Forge:
    """Build the forge ``settings.forge`` names. Raises UsageError/AuthError on bad settings."""
    if settings.forge == "github":
        from catalog_ops.forge.github import GitHubForge

        return GitHubForge.from_settings(settings)
    from catalog_ops.forge.local import LocalForge

    return LocalForge.from_settings(settings)
