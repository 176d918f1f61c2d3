"""Dependency dashboard: which dependents use which version of each catalog module.

One issue in the catalog repository, found by its marker and updated in place
(``Issues.upsert_issue``), shows per catalog module every place a dependent uses it: the version,
how far behind it is, whether a security release is pending, and the open rollout PR. The same
table goes to the step summary and ``--json``.

Data comes from the rollout planner (``rollout.gather.build_plan`` with the latest release), so the
dashboard sees exactly what a rollout would: the same dependents, the same catalog address
matching, the same per-dependent config, and the same answer to "is it behind, by how much,
does it need a PR" (``core.drift.assess``). Per reference at version ``V`` of module ``M`` (``V``
is the pin, or for a registry constraint the newest release it admits), with ``T`` the release
the rollout moves it to:

- *newer releases* are the versions above ``V`` up to ``T`` that changed ``M`` (git: the diff of
  ``M`` and its local-path dependencies between the tags, ``release.changes``);
- **releases behind** is how many there are, "(to ``T``)"; **behind** is ``versions.update_type``
  from ``V`` to ``T`` (the update the PR makes: ``patch``/``minor``/``major``), or ``up to date``
  when the rollout leaves it alone (no newer release changed ``M``, or a constraint that already
  admits ``T``; the note says so);
- **security** lists those with ``urgency: security`` in their metadata;
- **update PR** is the dependent's open PR on the rollout branch ``model.branch_name(catalog)``.

Rows are ordered so drift stands out: pending security releases first, then unknown, major,
minor, patch, up to date.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from catalog_ops.core import drift
from catalog_ops.core.versions import TagScheme, Version, parse_version
from catalog_ops.errors import ForgeError
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import Issue, Issues, PlanForge, PullRequest
from catalog_ops.render.templates import DASHBOARD, render
from catalog_ops.rollout.gather import build_plan
from catalog_ops.rollout.model import CatalogRelease, Plan, RefAction, RefPlan, branch_for

SCHEMA = 1
BEHIND_ORDER = ("unknown", "major", "minor", "patch", "up to date")
#: ``list_repos`` filter reasons: repos left out on purpose, not worth listing on the dashboard.
FILTERED = frozenset({"archived", "disabled", "fork", "not included", "excluded", "no matching topic"})


def marker(catalog: str) -> str:
    """The HTML comment that identifies the dashboard issue of ``catalog``."""
    return f"<!-- catalog-ops:dashboard catalog={catalog.lower()} -->"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Usage:
    """One place a dependent uses a catalog module.

    Attributes:
        repo: dependent ``owner/name``. path / line: where (``written_in`` file, 1-based line).
        module: catalog module dir (``""`` for the repository root).
        written: the ref or constraint as written (None when it could not be read).
        version: the version it resolves to (``Version.core``), None when unknown.
        behind: ``up to date`` | ``patch`` | ``minor`` | ``major`` | ``unknown``.
        releases_behind: newer releases that changed the module (None when unknown).
        newest: tag of the release the rollout moves it to (when behind).
        security: tags of those releases marked ``urgency: security``.
        pull_number / pull_url: the open rollout PR in the dependent, if any.
        note: why unknown, or other remarks (e.g. ignored by the dependent's config).
    """

    repo: str
    path: str
    line: int
    module: str
    written: str | None
    version: str | None
    behind: str
    releases_behind: int | None
    newest: str | None = None
    security: tuple[str, ...] = ()
    pull_number: int | None = None
    pull_url: str | None = None
    note: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = dataclasses.asdict(self)
        data["security"] = list(self.security)
        return data


@dataclasses.dataclass(kw_only=True)
class ModuleView:
    """All usages of one catalog module; ``last_changed`` is the newest release changing it."""

    module: str
    last_changed: str | None
    usages: list[Usage]


@dataclasses.dataclass(kw_only=True)
class Dashboard:
    """The dashboard of one catalog.

    Attributes:
        catalog: ``owner/name``. latest / latest_url: newest stable release and its page.
        modules: one view per module used by any dependent, sorted by module dir.
        dependents: dependents that use the catalog. scanned: repos looked at.
        skipped: ``(repo, reason)`` for repos that could not be scanned.
        errors: file parse errors in dependents (``repo: path:line:col: message``).
    """

    catalog: str
    latest: str
    latest_url: str
    modules: list[ModuleView]
    dependents: list[str]
    scanned: int
    skipped: list[tuple[str, str]]
    errors: list[str]

    def counts(self) -> dict[str, int]:
        """Usages per ``behind`` value (in ``BEHIND_ORDER``) plus ``security`` (pending)."""
        out = {k: 0 for k in BEHIND_ORDER}
        for m in self.modules:
            for u in m.usages:
                out[u.behind] += 1
        out["security"] = sum(1 for m in self.modules for u in m.usages if u.security)
        return out

    def summary_line(self) -> str:
        """``"3 dependents, 5 usages: 1 major, 2 minor, 2 up to date; 1 pending a security release"``."""
        counts = self.counts()
        total = sum(counts[k] for k in BEHIND_ORDER)
        parts = [f"{counts[k]} {k}" for k in BEHIND_ORDER if counts[k]]
        line = f"{len(self.dependents)} dependents, {total} usages"
        if parts:
            line += ": " + ", ".join(parts)
        if counts["security"]:
            line += f"; **{counts['security']} pending a security release**"
        return line

    def to_json(self) -> dict[str, Any]:
        """``{"schema": 1, "catalog", "latest", "counts", "modules": [{module, last_changed,
        usages: [...]}], "dependents", "scanned", "skipped": [{repo, reason}], "errors"}``."""
        return {
            "schema": SCHEMA,
            "catalog": self.catalog,
            "latest": self.latest,
            "latest_url": self.latest_url,
            "counts": self.counts(),
            "modules": [
                {
                    "module": m.module,
                    "last_changed": m.last_changed,
                    "usages": [u.to_json() for u in m.usages],
                }
                for m in self.modules
            ],
            "dependents": list(self.dependents),
            "scanned": self.scanned,
            "skipped": [{"repo": r, "reason": why} for r, why in self.skipped],
            "errors": list(self.errors),
        }

    def to_markdown(self, *, template: str = DASHBOARD, with_marker: bool = True) -> str:
        """The issue body / step summary (``templates/dashboard.md.j2``)."""
        return render(
            template,
            {
                "marker": marker(self.catalog) if with_marker else "",
                "d": self,
                "summary": self.summary_line(),
                "counts": self.counts(),
            },
        )


def _scheme_versions(releases: Sequence[CatalogRelease], written: str | None) -> list[Version]:
    """Stable versions of the tag scheme ``written`` belongs to (a constraint: repository-wide)."""
    v = parse_version(written or "")
    scheme = TagScheme.of_version(v) if v is not None else TagScheme()
    return [r.version for r in releases if not r.prerelease and scheme.owns(r.version)]


def usage_of(repo: str, ref: RefPlan, releases: Sequence[CatalogRelease], pull: PullRequest | None) -> Usage:
    """One ``Usage`` from a rollout ``RefPlan`` and the catalog's ``CatalogRelease`` list (pure).

    How far behind is ``core.drift.assess``'s answer with the plan's own target, so the
    dashboard says exactly what the rollout does: a reference the plan bumps is behind by the
    update the PR makes; one the plan leaves alone (its module did not change, or its constraint
    already admits the target) is up to date. A skipped reference (ignored module, ``majors:
    false``) is compared with the newest release of its scheme and carries the reason as a note.

    Args:
        repo: dependent name. ref: a planned reference. releases: the catalog's releases.
        pull: the dependent's open rollout ``PullRequest`` or None.
    """
    versions = _scheme_versions(releases, ref.current)
    by_version = {r.version: r for r in releases}
    unknown = Usage(
        repo=repo,
        path=ref.written_in or ref.path,
        line=ref.line,
        module=ref.module,
        written=ref.current,
        version=None,
        behind="unknown",
        releases_behind=None,
        pull_number=pull.number if pull else None,
        pull_url=pull.url if pull else None,
    )
    current = drift.resolve_current(ref.current, versions)
    if current is None or (
        ref.action is RefAction.SKIP
        and "ignored" not in (ref.reason or "")
        and "majors: false" not in (ref.reason or "")
    ):
        return dataclasses.replace(unknown, note=ref.reason or f"cannot read a version from {ref.current!r}")
    target = max(versions, default=None) if ref.action is RefAction.SKIP else ref.target_version

    def changed(v: Version) -> bool:
        rel = by_version.get(v)
        return rel is not None and rel.changes_module(ref.module)

    answer = drift.assess(
        ref.current,
        versions=versions,
        target=target,
        changed=changed,
        raise_floor=ref.action is RefAction.BUMP,
    )
    if ref.action is RefAction.CURRENT:
        answer = dataclasses.replace(answer, status="up to date", behind=(), needs_change=False)
    newer = [by_version[v] for v in answer.behind if v in by_version]
    note = (
        ref.reason if ref.reason and ("ignored" in ref.reason or ref.action is not RefAction.BUMP) else None
    )
    return dataclasses.replace(
        unknown,
        version=current.core,
        behind=answer.status,
        releases_behind=len(newer),
        newest=_tag_of(releases, answer.target) if newer and answer.target is not None else None,
        security=tuple(r.tag for r in newer if r.urgency == "security"),
        note=note if answer.status != "up to date" or ref.action is not RefAction.CURRENT else _quiet(note),
    )


def _tag_of(releases: Sequence[CatalogRelease], version: Version) -> str:
    scheme = TagScheme.of_version(version)
    return next((r.tag for r in releases if r.version == version and scheme.owns(r.version)), str(version))


def _quiet(note: str | None) -> str | None:
    """Notes worth showing for an up-to-date reference (a constraint left alone), not the
    routine "did not change" / "already at the newest release"."""
    if note and "admits" in note:
        return note
    return None


def from_plan(plan: Plan, pulls: Mapping[str, PullRequest]) -> Dashboard:
    """Build the dashboard from a rollout ``model.Plan`` (pure).

    Args:
        plan: from ``gather.build_plan`` (latest release).
        pulls: dependent name -> its open rollout ``PullRequest`` (absent: none).
    """
    releases = list(plan.releases)
    by_module: dict[str, list[Usage]] = {}
    dependents: list[str] = []
    skipped: list[tuple[str, str]] = []
    errors: list[str] = []
    for dep in plan.dependents:
        if dep.action.value == "skip" and not dep.refs:
            if dep.reason not in FILTERED:
                skipped.append((dep.repo, dep.reason or "skipped"))
            continue
        errors.extend(f"{dep.repo}: {e}" for e in dep.errors)
        if not dep.refs:
            continue
        dependents.append(dep.repo)
        for ref in dep.refs:
            by_module.setdefault(ref.module, []).append(
                usage_of(dep.repo, ref, releases, pulls.get(dep.repo))
            )
    modules = []
    for module, usages in sorted(by_module.items()):
        changed = [r for r in releases if not r.prerelease and r.changes_module(module)]
        last = max(changed, key=lambda r: r.version).tag if changed else None
        usages.sort(key=lambda u: (not u.security, BEHIND_ORDER.index(u.behind), u.repo, u.path, u.line))
        modules.append(ModuleView(module=module, last_changed=last, usages=usages))
    return Dashboard(
        catalog=plan.catalog,
        latest=plan.release.tag,
        latest_url=plan.release.url,
        modules=modules,
        dependents=sorted(dependents),
        scanned=sum(1 for d in plan.dependents if d.action.value != "skip" or d.refs),
        skipped=skipped,
        errors=errors,
    )


def build_dashboard(forge: PlanForge, *, catalog: str, selection: DependentSelection) -> Dashboard:
    """Gather everything through ``forge`` (read-only) and build the dashboard: the rollout
    plan of the latest release for the dependents ``selection`` names, plus their open PRs.

    Raises:
        ReleaseError: the catalog has no stable release. UsageError: neither org nor dependents.
        ForgeError: the catalog's releases or the org listing cannot be read.
    """
    plan = build_plan(forge, catalog=catalog, selection=selection, bump_all=False)
    pulls: dict[str, PullRequest] = {}
    for dep in plan.dependents:
        if not dep.refs:
            continue
        try:
            # a chain dependent: the PR of the environment its plan works on (rollout.chain)
            pr = forge.find_open_pull(dep.repo, branch_for(plan.branch, dep))
        except ForgeError:  # one repo's forge error must not sink the dashboard
            continue
        if pr is not None:
            pulls[dep.repo] = pr
    return from_plan(plan, pulls)


def publish(
    forge: Issues, dashboard: Dashboard, *, title: str = "Dependency dashboard", labels: Sequence[str] = ()
) -> Issue:
    """Create or update the dashboard issue in the catalog (found by ``marker``); returns the
    ``Issue``. Raises ForgeError."""
    return forge.upsert_issue(
        dashboard.catalog,
        marker=marker(dashboard.catalog),
        title=title,
        body=dashboard.to_markdown(),
        labels=labels,
    )
