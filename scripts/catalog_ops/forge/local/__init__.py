"""LocalForge: the embedded default forge — bare git repositories plus one JSON record per repo.

The forge is assembled from one module per concern:

- ``store``: paths, the ``<repo>.forge.json`` record (``RECORD_SCHEMA``), locks, operation counts;
- ``repos``: repositories, contents and branches (``Repos``, ``Contents``, ``Branches``), and the
  local-only ``create_repo`` / ``set_repo_settings``;
- ``pulls``: pull requests, checks and merges (``Pulls``, ``Merges``);
- ``issues``: marked comments and issues (``Comments``, ``Issues``);
- ``releases``: tags and releases (``Tags``, ``Releases``);
- ``checks``: the CI simulator that runs a PR's checks locally (``LocalChecks``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from catalog_ops.forge.local.checks import LocalChecks
from catalog_ops.forge.local.issues import LocalIssues
from catalog_ops.forge.local.pulls import LocalPulls
from catalog_ops.forge.local.releases import LocalReleases
from catalog_ops.forge.local.store import RECORD_SCHEMA, RECORD_SUFFIX

if TYPE_CHECKING:
    from pathlib import Path

    from catalog_ops.settings import Settings

__all__ = ["RECORD_SCHEMA", "RECORD_SUFFIX", "LocalChecks", "LocalForge"]


class LocalForge(LocalPulls, LocalIssues, LocalReleases):
    """A forge made of local git repositories (``ROOT/<owner>/<repo>``) and JSON records.

    Implements every role of ``catalog_ops.forge.base.Forge`` (not ``CommitChecks``: its checks
    run on pull requests only).

    Args:
        root: directory holding ``<owner>/<repo>`` repositories.
        checks_command: shell command run as a PR's checks in an export of the PR head; None
            selects the built-in Terraform default (see ``LocalChecks``).
        tf_binary: ``terraform`` or ``tofu`` for the default checks.
        checks_timeout: seconds before a checks run counts as failed.
        create: make ``root`` when it is missing (default); False raises ``ConfigError`` naming
            it instead (``LocalStore``).
    """

    kind = "local"

    def __init__(
        self,
        root: Path,
        checks_command: str | None = None,
        *,
        tf_binary: str = "terraform",
        checks_timeout: float = 900.0,
        create: bool = True,
    ) -> None:
        super().__init__(root, create=create)
        self.checks = LocalChecks(checks_command, tf_binary=tf_binary, timeout=checks_timeout)

    @classmethod
    def from_settings(cls, settings: Settings, *, create: bool = False) -> LocalForge:
        """Forge at ``settings.local_root`` with ``settings.local_checks`` (empty: default checks).

        The root must exist unless ``create`` (``forge init-repo``): a mistyped root fails with
        ``ConfigError`` naming the path instead of silently opening an empty forge.
        """
        return cls(
            settings.local_root, settings.local_checks or None, tf_binary=settings.tf_binary, create=create
        )
