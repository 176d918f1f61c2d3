"""GitHubForge: GitHub.com or GitHub Enterprise Server through PyGithub's ``Requester``.

Auth (token or GitHub App), commits through the API (GraphQL ``createCommitOnBranch``, Git Data
fallback), at most 5 content-creating requests per PR, rate-limit waits, write pacing, retries
and error mapping are described in ``transport`` (every request goes through
``GitHubTransport._request``). The forge is assembled from one module per concern:
``transport`` (auth, pacing, counting, rate limits, retries, error mapping), ``graphql``
(queries and mutations), ``repos`` (repos, contents, branches, commits), ``issues`` (marked
comments and issues), ``pulls`` (PRs, checks, merges) and ``releases`` (tags and releases).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from catalog_ops.forge.base import GITHUB_MERGE_SUBJECTS, MergeSubjects
from catalog_ops.forge.github.pulls import GitHubPulls
from catalog_ops.forge.github.releases import GitHubReleases
from catalog_ops.forge.github.transport import GitHubTransport, TransientError, WritePacer

if TYPE_CHECKING:
    from catalog_ops.settings import Settings

__all__ = ["GitHubForge", "GitHubTransport", "TransientError", "WritePacer"]


class GitHubForge(GitHubPulls, GitHubReleases):
    """Every forge role over GitHub's REST and GraphQL APIs (PyGithub's ``Requester`` only),
    ``CommitChecks`` included. Arguments: see ``GitHubTransport``."""

    kind = "github"
    # GitHub requests reviews from the code owners of the changed files when a PR is opened
    # ("About code owners": https://docs.github.com/en/repositories/managing-your-repositorys-settings-and-features/customizing-your-repository/about-code-owners).
    requests_codeowners = True
    merge_subjects: MergeSubjects = GITHUB_MERGE_SUBJECTS

    @classmethod
    def from_settings(cls, settings: Settings) -> GitHubForge:
        """Forge from settings (api url, token or App credentials, write interval)."""
        return cls(
            api_url=settings.github_api_url,
            token=settings.github_token,
            app_id=settings.app_id,
            app_private_key=settings.app_private_key,
            app_installation_id=settings.app_installation_id,
            write_interval=settings.write_interval,
        )
