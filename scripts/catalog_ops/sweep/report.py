"""What one sweep did, and how it is shown: JSON report, step-summary Markdown, terminal table."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from catalog_ops.render.report import OutcomeKind
from catalog_ops.sweep.model import DependencyResult, Status

SCHEMA = 1
"""``schema`` of the JSON report (``catalog-ops sweep --json``)."""


@dataclasses.dataclass(kw_only=True)
class SweepRun:
    """Everything one sweep did: results, PR outcomes and collection errors."""

    repo: str
    base: str
    base_sha: str
    results: list[DependencyResult]
    pulls: list[dict[str, Any]]
    errors: list[str]

    @property
    def failed(self) -> bool:
        """True when a dependency is unknown, a PR failed, or a file could not be parsed."""
        return bool(self.problems())

    def problems(self) -> list[str]:
        """One line per reason the run failed: unknown dependencies, failed PRs, collection errors."""
        out = [f"{r.dependency.id}: {r.reason}" for r in self.results if r.status is Status.UNKNOWN]
        out += [f"{p['branch']}: {p['error']}" for p in self.pulls if p["outcome"] == OutcomeKind.FAILED]
        return out + list(self.errors)

    def to_json(self) -> dict[str, Any]:
        """``{"schema": 1, "repo", "base", "base_sha", "failed", "summary", "dependencies",
        "pulls", "errors"}``."""
        return {
            "schema": SCHEMA,
            "repo": self.repo,
            "base": self.base,
            "base_sha": self.base_sha,
            "failed": self.failed,
            "summary": summary_line(self.results),
            "dependencies": [r.to_json() for r in self.results],
            "pulls": self.pulls,
            "errors": list(self.errors),
        }

    def to_markdown(self) -> str:
        """Step-summary Markdown."""
        md = render_markdown(self.results, self.pulls, repo=self.repo)
        if self.errors:
            md += "\n**Errors**\n\n" + "\n".join(f"- `{e}`" for e in self.errors) + "\n"
        return md


def render_markdown(
    results: Sequence[DependencyResult], pulls: Sequence[Mapping[str, Any]], *, repo: str
) -> str:
    """Step-summary Markdown: one row per dependency, then the PRs."""
    lines = [f"### Dependency sweep of {repo}", "", summary_line(results), ""]
    lines.append("| Dependency | Kind | Status | Current | Latest | Proposed | Update | Details |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for r in results:
        status = f"**{r.status.value}**" if r.status is Status.UNKNOWN else r.status.value
        lines.append(
            "| "
            + " | ".join(
                _cell(x)
                for x in (
                    f"`{r.dependency.id}`",
                    r.dependency.kind.value,
                    status,
                    ", ".join(f"`{c}`" for c in r.current),
                    r.latest or "",
                    ", ".join(f"`{c}`" for c in r.new),
                    r.update.value if r.status is Status.UPDATE else "",
                    r.reason or "",
                )
            )
            + " |"
        )
    if pulls:
        lines += ["", "| Pull request | Outcome | Dependencies |", "|---|---|---|"]
        for p in pulls:
            link = f"[{p['title']}]({p['url']})" if p.get("url") else p["title"]
            lines.append(f"| {_cell(link)} | {p['outcome']} | {_cell(', '.join(p['dependencies']))} |")
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def summary_line(results: Iterable[DependencyResult]) -> str:
    """``"5 dependencies: 2 update, 2 current, 1 unknown"``."""
    results = list(results)
    counts: dict[str, int] = {}
    for r in results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    order = [s.value for s in (Status.UNKNOWN, Status.UPDATE, Status.IGNORED, Status.CURRENT, Status.SKIPPED)]
    parts = [f"{counts[k]} {k}" for k in order if k in counts]
    return f"{len(results)} dependencies: " + (", ".join(parts) if parts else "none found")


def print_table(result: SweepRun) -> None:
    """The results as a table on stderr (``rich``), then one line per PR outcome."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    table = Table(
        title=escape(f"Dependency sweep of {result.repo} ({result.base})"),
        caption=escape(summary_line(result.results)),
    )
    for column in ("Dependency", "Kind", "Status", "Current", "Latest", "Proposed", "Details"):
        table.add_column(column, overflow="fold")
    styles = {
        Status.UNKNOWN: "bold red",
        Status.UPDATE: "green",
        Status.IGNORED: "yellow",
        Status.SKIPPED: "dim",
    }
    for r in result.results:
        style = styles.get(r.status)
        status = f"[{style}]{r.status.value}[/]" if style else r.status.value
        table.add_row(
            escape(r.dependency.id),
            escape(r.dependency.kind.value),
            status,
            escape(", ".join(r.current)),
            escape(r.latest or ""),
            escape(", ".join(r.new)),
            escape(r.reason or ""),
        )
    console = Console(stderr=True, width=160)
    console.print(table)
    for p in result.pulls:
        console.print(
            escape(f"{p['outcome']}: {p['title']} [{p['branch']}] {p.get('url') or p.get('error') or ''}")
        )
