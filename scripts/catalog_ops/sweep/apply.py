"""The sweep run: read the catalog through the forge, then open, update or close its PRs (I/O).

``run_sweep`` reads the catalog's files at the base commit, runs the pure core
(``collect`` -> ``resolve`` -> ``plan`` -> ``group``) and writes each ``PullPlan`` with
``fanout.pulls.push_and_upsert`` (one commit on the base, then the open PR on the branch is
updated or a PR is opened). A PR whose files, title and body (base sha aside) already match is
left alone; PRs on sweep branches that no update needs any more are closed. Sweep PR bodies
carry the marker ``<!-- catalog-ops:sweep branch=BRANCH -->``. An upstream that fails marks its
dependency ``unknown``; everything else proceeds and the run reports ``failed``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from catalog_ops.errors import CatalogOpsError, EditConflict, NotFound, SourceParseError
from catalog_ops.fanout.pulls import push_and_upsert
from catalog_ops.forge.base import Contents, Releases, SweepForge, authored_by
from catalog_ops.lockfile import MirrorSource
from catalog_ops.render.report import OutcomeKind
from catalog_ops.render.templates import SWEEP_PR, render
from catalog_ops.sweep.collect import collect, is_sweep_path
from catalog_ops.sweep.config import SweepConfig, load_sweep_config
from catalog_ops.sweep.model import PullPlan
from catalog_ops.sweep.plan import group, plan, stale_branches
from catalog_ops.sweep.report import SweepRun
from catalog_ops.sweep.resolve import GitTags, VersionRegistry, resolve

MARKER_PREFIX = "<!-- catalog-ops:sweep"
"""How every sweep PR body starts (``marker``); only PRs carrying it are ever closed."""
_BASE_LINE = re.compile(r"from `[^`]*` at `[0-9a-f]*`")


def read_repo_files(forge: Contents, repo: str, ref: str) -> dict[str, bytes]:
    """The files a sweep looks at (``collect.is_sweep_path``) in ``repo`` at ``ref`` (path -> bytes).

    Raises:
        ForgeError: the tree or a file cannot be read.
    """
    out = {}
    for path in forge.list_tree(repo, ref):
        if is_sweep_path(path):
            data = forge.read_file(repo, path, ref)
            if data is not None:
                out[path] = data
    return out


def marker(branch: str) -> str:
    """The HTML comment that identifies a sweep PR body (``<!-- catalog-ops:sweep branch=B -->``)."""
    return f"{MARKER_PREFIX} branch={branch} -->"


def render_pull_body(pr: PullPlan, *, base: str, base_sha: str) -> str:
    """PR body (Markdown) from the bundled ``sweep_pr.md.j2`` template.

    Args:
        pr: the PR's plan.
        base: the base branch; base_sha: its commit (40 hex) the edits were computed on.
    """
    rows = []
    for r in pr.results:
        rows.append(
            {
                "id": r.dependency.id,
                "kind": r.dependency.kind.value,
                "old": r.current,
                "new": r.new,
                "change": r.update.value,
                "files": r.files,
                "latest": r.target.core if r.target else "",
                "notes_url": r.notes_url,
            }
        )
    return render(
        SWEEP_PR,
        {
            "marker": marker(pr.branch),
            "title": pr.title,
            "major": pr.major,
            "updates": rows,
            "hints": [h for r in pr.results for h in r.dependency.hints],
            "base": base,
            "base_sha": base_sha,
        },
    )


def run_sweep(
    forge: SweepForge,
    repo: str,
    *,
    registry: VersionRegistry,
    git_tags: GitTags,
    default_cli: str = "terraform",
    base: str | None = None,
    dry_run: bool = False,
    config: SweepConfig | None = None,
    base_sha: str | None = None,
    files: Mapping[str, bytes] | None = None,
    releases: Releases | None = None,
) -> SweepRun:
    """Sweep ``repo`` on ``forge`` and open/update its PRs.

    Args:
        forge: the forge the catalog lives on.
        repo: ``OWNER/NAME`` of the catalog.
        registry: the registry protocol client (``registry.RegistryClient``; its base URLs may
            come from the config's ``registries``: pass a client built with them).
        git_tags: ``url -> tags`` for git modules.
        default_cli: CLI flavour when the config has no ``cli``.
        base: base branch (default: the repo's default branch).
        dry_run: compute everything, write nothing (PR outcomes become ``would_*``).
        config: overrides the config read from the repo.
        base_sha / files: the base commit and its files (``read_repo_files``) when the caller
            has read them already (saves a second round of reads).
        releases: where the CLI upstreams' releases are read (default: ``forge``).

    Raises:
        ConfigError: the repo's ``.catalog-ops.yml`` ``sweep:`` section is invalid.
        ForgeError: the repo or base branch cannot be read (NotFound: no such branch).
    """
    if base is None:
        base = forge.get_repo(repo).default_branch
    if base_sha is None:
        base_sha = forge.branch_sha(repo, base)
    if base_sha is None:
        raise NotFound(f"{repo}: branch {base!r} does not exist")
    if files is None:
        files = read_repo_files(forge, repo, base_sha)
    cfg = config or load_sweep_config(files)
    deps, errors = collect(files, cfg, default_cli=default_cli)
    available = resolve(
        deps,
        registry=registry,
        forge=releases if releases is not None else forge,
        git_tags=git_tags,
        config=cfg,
    )
    locks = MirrorSource(cfg.provider_mirror) if cfg.provider_mirror else None
    results = plan(deps, available, files, cfg, locks)
    pulls = []
    plans = group(results, cfg)
    for pr in plans:
        pulls.append(
            _apply_pull(
                forge, repo, pr, files, base=base, base_sha=base_sha, labels=cfg.labels, dry_run=dry_run
            )
        )
    for branch in stale_branches(results, cfg, {p.branch for p in plans}):
        record = _close_stale(forge, repo, branch, dry_run=dry_run)
        if record is not None:
            pulls.append(record)
    return SweepRun(repo=repo, base=base, base_sha=base_sha, results=results, pulls=pulls, errors=errors)


def _record(branch: str, title: str, major: bool, **fields: Any) -> dict[str, Any]:
    """One entry of ``SweepRun.pulls`` (the JSON report's ``pulls``); ``outcome`` is an
    ``OutcomeKind`` (a str)."""
    record: dict[str, Any] = {
        "branch": branch,
        "title": title,
        "major": major,
        "dependencies": [],
        "files": [],
        "outcome": "",
        "url": None,
        "number": None,
        "error": None,
    }
    record.update(fields)
    return record


def _apply_pull(
    forge: SweepForge,
    repo: str,
    pr: PullPlan,
    files: Mapping[str, bytes],
    *,
    base: str,
    base_sha: str,
    labels: Sequence[str],
    dry_run: bool,
) -> dict[str, Any]:
    """Write one PR plan; the record's ``outcome`` is opened, updated, up_to_date, would_open,
    would_update or failed (``OutcomeKind``)."""
    record = _record(
        pr.branch,
        pr.title,
        pr.major,
        dependencies=[r.dependency.id for r in pr.results],
        files=sorted({p for r in pr.results for p in r.edits}),
    )
    try:
        changes = pr.changes(files)
    except (EditConflict, SourceParseError, UnicodeDecodeError) as exc:
        record.update(outcome=OutcomeKind.FAILED, error=f"edits conflict: {exc}")
        return record
    record["files"] = sorted(changes)
    body = render_pull_body(pr, base=base, base_sha=base_sha)
    try:
        existing = forge.find_open_pull(repo, pr.branch)
        if existing is not None and not authored_by(existing.author, forge.identity()):
            # Someone else's PR on the sweep branch: never force-pushed over or rewritten.
            record.update(
                url=existing.url,
                number=existing.number,
                outcome=OutcomeKind.FAILED,
                error=f"PR #{existing.number} on {pr.branch} was opened by {existing.author}, "
                "not by catalog-ops; not touching it",
            )
            return record
        if existing is not None:
            record.update(url=existing.url, number=existing.number)
            same_files = all(forge.read_file(repo, p, existing.head_sha) == b for p, b in changes.items())
            if same_files and existing.title == pr.title and _strip_base(existing.body) == _strip_base(body):
                record["outcome"] = OutcomeKind.UP_TO_DATE
                return record
        if dry_run:
            record["outcome"] = OutcomeKind.WOULD_UPDATE if existing else OutcomeKind.WOULD_OPEN
            return record
        written, _, opened = push_and_upsert(
            forge,
            repo,
            branch=pr.branch,
            base=base,
            base_sha=base_sha,
            message=f"{pr.title}\n\nUpdated by catalog-ops sweep.",
            changes=changes,
            text=lambda _head: (pr.title, body),
            existing=existing,
            labels=labels,
            retarget=False,
        )
        record.update(
            outcome=OutcomeKind.OPENED if opened else OutcomeKind.UPDATED,
            url=written.url,
            number=written.number,
        )
    except CatalogOpsError as exc:
        record.update(outcome=OutcomeKind.FAILED, error=str(exc))
    return record


def _close_stale(forge: SweepForge, repo: str, branch: str, *, dry_run: bool) -> dict[str, Any] | None:
    """Close the open sweep PR on ``branch`` (only one carrying our marker) with a comment and
    delete the branch; None when there is no such PR."""
    try:
        pr = forge.find_open_pull(repo, branch)
        if pr is None or MARKER_PREFIX not in (pr.body or "") or not authored_by(pr.author, forge.identity()):
            return None
        record = _record(
            branch,
            pr.title,
            "-major-" in branch,
            outcome=OutcomeKind.WOULD_CLOSE if dry_run else OutcomeKind.CLOSED,
            url=pr.url,
            number=pr.number,
        )
        if not dry_run:
            forge.close_pull(
                repo,
                pr.number,
                comment="Closed by `catalog-ops sweep`: these updates are no longer needed "
                "(already applied, ignored, or superseded by another sweep PR).",
            )
            forge.delete_branch(repo, branch)
        return record
    except CatalogOpsError as exc:
        return _record(
            branch, "", False, outcome=OutcomeKind.FAILED, error=f"closing the obsolete PR failed: {exc}"
        )


def _strip_base(body: str) -> str:
    """Body without the base sha, so a moved base alone does not force an update."""
    return _BASE_LINE.sub("", body or "")
