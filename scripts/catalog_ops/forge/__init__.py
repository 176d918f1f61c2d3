"""Forges: where repositories, pull requests, tags and releases live.

``make_forge(settings)`` returns the forge chosen by settings (``local`` by default).
``FORGE_KINDS`` is the one list of forge kinds (CLI choices, settings validation, capabilities);
a new forge (say GitLab) is a package under ``forge/`` plus one entry here.
The role protocols callers type against live in ``catalog_ops.forge.base``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from catalog_ops.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy treats it the same)
if TYPE_CHECKING:
    from catalog_ops.forge.base import (
        GITHUB_MERGE_SUBJECTS,
        Accounting,
        ApplyForge,
        Branches,
        ChecksState,
        CommandsForge,
        Comment,
        Comments,
        Commit,
        CommitChecks,
        Contents,
        Conversations,
        DashboardForge,
        FileChange,
        Forge,
        Issue,
        Issues,
        Merges,
        MergeSubjects,
        PlanForge,
        PullRequest,
        Pulls,
        PullState,
        Release,
        ReleaseForge,
        Releases,
        Repo,
        RepoListing,
        Repos,
        SweepForge,
        Tag,
        Tags,
    )
    from catalog_ops.settings import Settings

__all__ = [
    "FORGE_KINDS",
    "GITHUB_MERGE_SUBJECTS",
    "Accounting",
    "ApplyForge",
    "Branches",
    "ChecksState",
    "CommandsForge",
    "Comment",
    "Comments",
    "Commit",
    "CommitChecks",
    "Contents",
    "Conversations",
    "DashboardForge",
    "FileChange",
    "Forge",
    "ForgeKind",
    "Issue",
    "Issues",
    "MergeSubjects",
    "Merges",
    "PlanForge",
    "PullRequest",
    "PullState",
    "Pulls",
    "Release",
    "ReleaseForge",
    "Releases",
    "Repo",
    "RepoListing",
    "Repos",
    "SweepForge",
    "Tag",
    "Tags",
    "forge_kind",
    "make_forge",
]


# The role protocols and value types are defined in ``forge.base`` and re-exported here; they are
# loaded on first use (PEP 562 module ``__getattr__``) so that commands which never talk to a
# forge (``refs``, ``bump``) do not pay for importing them at start-up.
_BASE_NAMES = frozenset(
    {
        "GITHUB_MERGE_SUBJECTS",
        "Accounting",
        "ApplyForge",
        "Branches",
        "ChecksState",
        "CommandsForge",
        "Comment",
        "Comments",
        "Commit",
        "CommitChecks",
        "Contents",
        "Conversations",
        "DashboardForge",
        "FileChange",
        "Forge",
        "Issue",
        "Issues",
        "Merges",
        "MergeSubjects",
        "PlanForge",
        "PullRequest",
        "Pulls",
        "PullState",
        "Release",
        "ReleaseForge",
        "Releases",
        "Repo",
        "RepoListing",
        "Repos",
        "SweepForge",
        "Tag",
        "Tags",
    }
)


def __getattr__(name: str) -> object:
    """``forge.base``'s re-exported names, imported on first access."""
    if name in _BASE_NAMES:
        from catalog_ops.forge import base

        value = getattr(base, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ForgeKind:
    """One kind of forge catalog-ops can talk to (never changed once made; keyword arguments).

    Attributes:
        name: the ``--forge`` / ``CATALOG_OPS_FORGE`` value.
        summary: one line for help texts.
        build: makes the forge from settings (imports its package only when called).
        release_checks_gate: whether ``release`` waits for green commit checks by default (true
            where the forge runs CI on the catalog's commits itself, as GitHub Actions does).

    Not a dataclass: ``dataclasses`` is not imported on the ``refs`` path (start-up cost;
    tests/commands/test_startup.py guards it).
    """

    def __init__(
        self,
        *,
        name: str,
        summary: str,
        build: Callable[[Settings], Forge],
        release_checks_gate: bool = False,
    ) -> None:
        self.name = name
        self.summary = summary
        self.build = build
        self.release_checks_gate = release_checks_gate


def _local_forge(settings: Settings) -> Forge:
    from catalog_ops.forge.local import LocalForge

    return LocalForge.from_settings(settings)


def _github_forge(settings: Settings) -> Forge:
    from catalog_ops.forge.github import GitHubForge

    return GitHubForge.from_settings(settings)


FORGE_KINDS: Mapping[str, ForgeKind] = {
    kind.name: kind
    for kind in (
        ForgeKind(
            name="local",
            summary="plain git repositories under a directory (the default)",
            build=_local_forge,
        ),
        ForgeKind(
            name="github",
            summary="GitHub.com or GitHub Enterprise Server (REST and GraphQL APIs)",
            build=_github_forge,
            release_checks_gate=True,
        ),
    )
}
"""Every forge kind by name, the default (``local``) first."""


def forge_kind(name: str) -> ForgeKind:
    """The ``ForgeKind`` called ``name``.

    Raises:
        UsageError: no such kind (the message lists the known ones, quoted, joined by "or").
    """
    try:
        return FORGE_KINDS[name]
    except KeyError:
        known = " or ".join(repr(k) for k in FORGE_KINDS)
        raise UsageError(f"forge must be {known}, not {name!r}") from None


def make_forge(settings: Settings) -> Forge:
    """Build the forge ``settings.forge`` names. Raises UsageError/AuthError on bad settings."""
    return forge_kind(settings.forge).build(settings)
