"""Values of a release run: note entries, options, and the plan of one tag scheme (no I/O)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from catalog_ops.catalog.layout import ChangeSet
from catalog_ops.core.commits import ConventionalCommit, NotParsable
from catalog_ops.core.metadata import ReleaseMetadata, render_release_metadata
from catalog_ops.core.versions import Level, TagScheme, Urgency
from catalog_ops.errors import UsageError
from catalog_ops.release.history import CommitInfo
from catalog_ops.release.version import PRERELEASE_ID_RE

__all__ = ["BUMP_CHOICES", "SECTIONS", "NoteEntry", "ReleaseOptions", "ReleasePlan"]

#: ``--bump`` values: ``auto`` (from the changes) or a forced ``Level``.
BUMP_CHOICES: tuple[str, ...] = ("auto", *(level.value for level in Level if level is not Level.NONE))
#: (key, title) of the notes sections, in order.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("breaking", "Breaking changes"),
    ("security", "Security"),
    ("features", "Features"),
    ("fixes", "Fixes"),
    ("other", "Other"),
)


@dataclasses.dataclass
class NoteEntry:
    """One line of the release notes: a merged PR, or a commit that came without one.

    Attributes:
        key: ``"pr:12"`` or ``"commit:<sha>"``.
        title: PR title or commit subject (without GitHub's ``" (#12)"`` suffix).
        parsed: Conventional Commits parse of ``title`` (or of the commit's full message).
        commits: member commits, newest first.
        pr_number / pr_url: the PR when known (forge, or ``(#12)``/merge subject).
        labels: PR labels.
        level: raw bump level (before the 0.y.z rule); breaking -> MAJOR.
        breaking / security: flags; ``breaking_notes`` from ``BREAKING CHANGE:`` footers.
        migration: text of ``## Migration`` sections of the PR body.
        modules / test_modules: modules whose own files / examples-tests the entry changed.
    """

    key: str
    title: str
    parsed: ConventionalCommit | NotParsable
    commits: list[CommitInfo] = dataclasses.field(default_factory=list)
    pr_number: int | None = None
    pr_url: str | None = None
    merged_sha: str | None = None
    labels: tuple[str, ...] = ()
    level: Level = Level.NONE
    breaking: bool = False
    security: bool = False
    breaking_notes: tuple[str, ...] = ()
    migration: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    test_modules: tuple[str, ...] = ()

    @property
    def files(self) -> set[str]:
        """Paths changed by the member commits (first-parent diffs)."""
        return {f for c in self.commits for f in c.files}

    @property
    def section(self) -> str:
        """Key of the notes section (``SECTIONS``)."""
        if self.breaking:
            return "breaking"
        if self.security:
            return "security"
        if self.level == Level.MINOR or (self.parsed.parsed and self.parsed.type == "feat"):
            return "features"
        if self.level == Level.PATCH:
            return "fixes"
        return "other"

    @property
    def text(self) -> str:
        """Markdown text of the entry (no links)."""
        p = self.parsed
        if isinstance(p, ConventionalCommit):
            scope = f"**{p.scope}:** " if p.scope else ""
            return scope + p.description
        return self.title

    def links(self, commit_url: Callable[[str], str | None]) -> str:
        """Markdown links: the PR, then the merge/squash commit (or every member commit)."""
        parts = []
        if self.pr_number is not None:
            parts.append(f"[#{self.pr_number}]({self.pr_url})" if self.pr_url else f"#{self.pr_number}")
        shas = [self.merged_sha] if self.merged_sha else [c.sha for c in self.commits]
        for sha in shas:
            url = commit_url(sha)
            parts.append(f"[`{sha[:7]}`]({url})" if url else f"`{sha[:7]}`")
        return ", ".join(parts)


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReleaseOptions:
    """What ``catalog-ops release`` was asked to do (see ``docs/releases.md``)."""

    bump: str = "auto"  # "auto" or a ``Level`` word other than "none": patch|minor|major
    prerelease: str | None = None
    urgency: str | None = None  # an ``Urgency`` word; None: "security" when a security change is included
    ref: str | None = None
    tag_scheme: str = "repo"  # repo|module
    module: str | None = None
    template: Path | None = None
    checks_gate: bool | None = None  # None: the forge kind's default (``ForgeKind.release_checks_gate``)
    dry_run: bool = False
    module_patterns: tuple[str, ...] | None = None  # None: checks.module_patterns of .catalog-ops.yml

    def validate(self) -> None:
        """Raises UsageError on inconsistent options."""
        if self.bump not in BUMP_CHOICES:
            raise UsageError(f"--bump must be auto, patch, minor or major, not {self.bump!r}")
        if self.prerelease is not None and not PRERELEASE_ID_RE.match(self.prerelease):
            raise UsageError(
                f"--prerelease must be an identifier like 'rc' or 'beta', not {self.prerelease!r}"
            )
        if self.urgency is not None and self.urgency not in Urgency.values():
            raise UsageError(f"--urgency must be normal or security, not {self.urgency!r}")
        if self.tag_scheme not in TagScheme.KINDS:
            raise UsageError(f"--tag-scheme must be repo or module, not {self.tag_scheme!r}")
        if self.module is not None and self.tag_scheme != "module":
            raise UsageError("--module needs --tag-scheme module")


@dataclasses.dataclass(kw_only=True)
class ReleasePlan:
    """What a release run does (or did) for one tag scheme/module.

    ``status``: ``"release"`` (to be created), ``"released"`` (created), ``"exists"`` (the
    target is already released under this scheme: nothing created), ``"completed"`` (the tag
    existed without a release; the release was created), ``"nothing"`` (no releasable commits).
    ``family_module``: the module a tag family (``v1.0.0-queue``) releases (``module``).
    """

    repo: str
    scheme: TagScheme
    status: str
    message: str
    target: str
    default_branch: str
    html_url: str = ""
    tag: str | None = None
    version: str | None = None
    previous: str | None = None
    level: Level = Level.NONE
    bump_mode: str = "auto"
    prerelease: bool = False
    urgency: Urgency = Urgency.NORMAL
    breaking: bool = False
    changes: ChangeSet | None = None
    via: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    entries: list[NoteEntry] = dataclasses.field(default_factory=list)
    notes: str = ""
    metadata: ReleaseMetadata | None = None
    checks: str | None = None
    release_url: str | None = None
    created: list[str] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)
    family_module: str | None = None

    @property
    def module(self) -> str | None:
        """The module this plan releases: the scheme's (``modules/vpc/v…`` tags) or the tag
        family's (``v…-queue`` tags of ``modules/queue``); None for a repository-wide release."""
        return self.scheme.module or self.family_module

    def commit_url(self, sha: str) -> str | None:
        """Web URL of a commit, or None when the forge has no web URLs."""
        return f"{self.html_url}/commit/{sha}" if self.html_url else None

    @property
    def body(self) -> str:
        """Release body: notes plus the metadata comment."""
        if self.metadata is None:
            return self.notes
        return self.notes.rstrip("\n") + "\n\n" + render_release_metadata(self.metadata) + "\n"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready summary (``--json``)."""
        return {
            "repo": self.repo,
            "scheme": self.scheme.kind,
            "module": self.module,
            "status": self.status,
            "message": self.message,
            "tag": self.tag,
            "version": self.version,
            "previous": self.previous,
            "commit": self.target,
            "bump": self.level.value,
            "bump_mode": self.bump_mode,
            "prerelease": self.prerelease,
            "urgency": str(self.urgency),
            "breaking": self.breaking,
            "modules": (self.changes or ChangeSet()).to_json(),
            "notes": self.notes,
            "metadata": self.metadata.to_json() if self.metadata else None,
            "checks": self.checks,
            "release_url": self.release_url,
            "created": list(self.created),
            "warnings": list(self.warnings),
        }
