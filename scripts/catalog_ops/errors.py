"""Exception classes, one per failure kind, each with its own process exit code.

Everything below ``cli.main`` only raises these; ``main`` catches them, prints the message
(never a token) and exits with ``exit_code``.
"""

from __future__ import annotations


class CatalogOpsError(Exception):
    """Base class. ``exit_code`` is the process exit status ``cli.main`` uses."""

    exit_code = 1


class UsageError(CatalogOpsError):
    """Bad command-line arguments or option values."""

    exit_code = 2


class ConfigError(CatalogOpsError):
    """A configuration file (``.catalog-ops.yml``, settings) is invalid.

    The message names the file, line and key.
    """

    exit_code = 2


class SourceParseError(CatalogOpsError):
    """A file could not be parsed. ``str()`` is ``path:line:col: message``."""

    exit_code = 1

    def __init__(self, path: str, line: int, col: int, message: str) -> None:
        super().__init__(f"{path}:{line}:{col}: {message}")
        self.path = path
        self.line = line
        self.col = col
        self.message = message


class EditConflict(CatalogOpsError):
    """Two edits overlap, or an edit's expected old text is not what the file holds."""


class ToolMissing(CatalogOpsError):
    """A required external tool (terraform, tflint, opa, go, ...) is not installed."""

    exit_code = 4


class ToolInstallError(CatalogOpsError):
    """A pinned tool could not be installed; the message names the tool and the failed command."""

    exit_code = 4


class ForgeError(CatalogOpsError):
    """A forge (GitHub, local) operation failed. Messages never contain credentials."""

    exit_code = 3


class NotFound(ForgeError):
    """The repository, ref, file, pull request or release does not exist (HTTP 404)."""


class PermissionDenied(ForgeError):
    """The credentials lack a scope or permission (HTTP 403 that is not a rate limit)."""


class AuthError(ForgeError):
    """The credentials are missing or invalid (HTTP 401)."""


class RateLimited(ForgeError):
    """Primary or secondary rate limit still hit after the bounded retries."""


class TransientError(ForgeError):
    """A request failed with 5xx or a connection error and was not (or no longer) retried.

    The request may or may not have been carried out; whatever wrote it must converge when run
    again (a rollout re-reads the dependent's state before it writes anything).
    """


class Conflict(ForgeError):
    """The forge refused a write because of its current state (HTTP 409/422)."""


class HeadMoved(Conflict):
    """A merge pinned to a head commit was refused because the PR's head is another commit now
    (GitHub: 409 "Head branch was modified. Review and try the merge again.")."""


class ReviewersRefused(Conflict):
    """The forge refused to request a review from some reviewers (GitHub 422); the others were
    requested. ``refused``: the refused users and team slugs; ``message``: the forge's text."""

    def __init__(self, message: str, refused: tuple[str, ...]) -> None:
        super().__init__(f"review request refused for {', '.join(refused)}: {message}")
        self.message = message
        self.refused = refused


class RefMoved(Conflict):
    """A compare-and-swap ref update was refused: the branch no longer points at the commit the
    caller read (another run moved it). Re-read the branch and the PR and decide again."""


class AutoMergeUnavailable(ForgeError):
    """The repository does not allow auto-merge (or the PR is not in a state that permits it)."""


class ReleaseError(CatalogOpsError):
    """A release cannot be made (no releasable commits is *not* an error; this is)."""


class PartialFailure(CatalogOpsError):
    """The run finished, but some items (files, repos, modules) failed; details were reported."""
