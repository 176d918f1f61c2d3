"""Typed per-item outcomes of a fan-out run, recorded in one place and rendered once.

Modelled on git-xargs / multi-gitter: every repository (or other item) a run touches ends in
exactly one ``Outcome`` whose ``kind`` is one of ``OutcomeKind``. A ``Report`` collects them
(thread-safe, so concurrent workers can record) and renders them three ways:

- ``render_table(console)``: a ``rich`` table for the terminal (write it to stderr);
- ``to_markdown()``: GitHub-flavoured Markdown for ``$GITHUB_STEP_SUMMARY``;
- ``to_json()``: a JSON-ready dict (``{"schema": 1, "title": ..., "counts": ..., "outcomes": [...]}``).

``Report.failed`` tells the command to exit non-zero. Shared by rollout and sweep.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from catalog_ops.render.markdown import md_cell_br

REPORT_SCHEMA = 1


class OutcomeKind(enum.StrEnum):
    """How one item ended. ``WOULD_*`` kinds are the ``--dry-run`` forms (nothing written)."""

    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"  # a superseded PR was closed with a comment
    UP_TO_DATE = "up_to_date"
    SKIPPED = "skipped"
    FAILED = "failed"
    WOULD_OPEN = "would_open"
    WOULD_UPDATE = "would_update"
    WOULD_CLOSE = "would_close"

    @property
    def label(self) -> str:
        """Human label, e.g. ``"up to date"``, ``"would open"``."""
        return self.value.replace("_", " ")


# Order in which kinds are listed in summaries (failures first: they need attention).
_ORDER = (
    OutcomeKind.FAILED,
    OutcomeKind.OPENED,
    OutcomeKind.UPDATED,
    OutcomeKind.CLOSED,
    OutcomeKind.WOULD_OPEN,
    OutcomeKind.WOULD_UPDATE,
    OutcomeKind.WOULD_CLOSE,
    OutcomeKind.UP_TO_DATE,
    OutcomeKind.SKIPPED,
)
_STYLE = {
    OutcomeKind.FAILED: "bold red",
    OutcomeKind.OPENED: "green",
    OutcomeKind.UPDATED: "cyan",
    OutcomeKind.CLOSED: "magenta",
    OutcomeKind.UP_TO_DATE: "dim",
    OutcomeKind.SKIPPED: "yellow",
}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Outcome:
    """The one result of one item.

    Attributes:
        subject: what the outcome is about, e.g. ``"acme/web-app"``.
        kind: how it ended.
        reason: why it was skipped / what was done, one line (``skipped`` requires it).
        error: the error message for ``failed`` (required then).
        url: PR or issue URL when there is one.
        details: extra columns, e.g. ``{"update": "minor", "urgency": "security",
            "merge": "auto-merge enabled"}``; string values only.
    """

    subject: str
    kind: OutcomeKind
    reason: str | None = None
    error: str | None = None
    url: str | None = None
    details: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind is OutcomeKind.SKIPPED and not self.reason:
            raise ValueError(f"{self.subject}: a skipped outcome needs a reason")
        if self.kind is OutcomeKind.FAILED and not self.error:
            raise ValueError(f"{self.subject}: a failed outcome needs an error")

    @property
    def message(self) -> str:
        """The error for failures, otherwise the reason (may be empty)."""
        return (self.error if self.kind is OutcomeKind.FAILED else self.reason) or ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict; absent optional fields are ``null``."""
        return {
            "subject": self.subject,
            "kind": self.kind.value,
            "reason": self.reason,
            "error": self.error,
            "url": self.url,
            "details": dict(self.details),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outcome:
        """Inverse of ``to_json`` (used to merge shard reports). Raises KeyError/ValueError."""
        return cls(
            subject=str(data["subject"]),
            kind=OutcomeKind(data["kind"]),
            reason=data.get("reason"),
            error=data.get("error"),
            url=data.get("url"),
            details={str(k): str(v) for k, v in (data.get("details") or {}).items()},
        )


class Report:
    """Thread-safe collection of outcomes, rendered once at the end.

    Args:
        title: heading for Markdown and the table, e.g. ``"Rollout of acme/modules v1.3.0"``.
        columns: names of ``details`` keys shown as extra columns, in order.
    """

    def __init__(self, title: str, *, columns: Iterable[str] = (), quiet_reasons: Iterable[str] = ()) -> None:
        self.title = title
        self.columns = tuple(columns)
        # Outcomes whose reason is one of these (e.g. "no reference to the catalog") are folded
        # into one row per reason in the table and Markdown when there are more than 30 rows;
        # JSON always lists every outcome.
        self.quiet_reasons = frozenset(quiet_reasons)
        self._outcomes: list[Outcome] = []
        self._lock = threading.Lock()

    def add(self, outcome: Outcome) -> Outcome:
        """Record one outcome (safe to call from worker threads); returns it."""
        with self._lock:
            self._outcomes.append(outcome)
        return outcome

    def extend(self, outcomes: Iterable[Outcome]) -> None:
        """Record several outcomes."""
        for outcome in outcomes:
            self.add(outcome)

    @property
    def outcomes(self) -> list[Outcome]:
        """Outcomes sorted by kind (failures first) then subject."""
        with self._lock:
            items = list(self._outcomes)
        return sorted(items, key=lambda o: (_ORDER.index(o.kind), o.subject))

    def counts(self) -> dict[str, int]:
        """Number of outcomes per kind value (only kinds that occurred), in summary order."""
        found: dict[str, int] = {}
        for outcome in self.outcomes:
            found[outcome.kind.value] = found.get(outcome.kind.value, 0) + 1
        return found

    @property
    def failed(self) -> bool:
        """True when any outcome failed (the command must exit non-zero)."""
        return any(o.kind is OutcomeKind.FAILED for o in self.outcomes)

    def summary_line(self) -> str:
        """One line such as ``"3 opened, 1 failed, 496 up to date"``."""
        counts = self.counts()
        if not counts:
            return "nothing to report"
        return ", ".join(f"{n} {OutcomeKind(k).label}" for k, n in counts.items())

    # --- rendering ---------------------------------------------------------------------
    def _shown(self) -> tuple[list[Outcome], dict[tuple[OutcomeKind, str], int]]:
        """Outcomes to list one by one, and folded ``(kind, reason) -> count``."""
        items = self.outcomes
        if len(items) <= 30 or not self.quiet_reasons:
            return items, {}
        shown: list[Outcome] = []
        folded: dict[tuple[OutcomeKind, str], int] = {}
        for o in items:
            if o.reason in self.quiet_reasons and o.kind in (OutcomeKind.UP_TO_DATE, OutcomeKind.SKIPPED):
                key = (o.kind, o.reason or "")
                folded[key] = folded.get(key, 0) + 1
            else:
                shown.append(o)
        return shown, folded

    def to_json(self) -> dict[str, Any]:
        """``{"schema": 1, "title", "failed", "counts", "outcomes": [Outcome.to_json()...]}``."""
        return {
            "schema": REPORT_SCHEMA,
            "title": self.title,
            "failed": self.failed,
            "counts": self.counts(),
            "outcomes": [o.to_json() for o in self.outcomes],
        }

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown: heading, counts line, one table row per outcome.

        Pipes and newlines inside cells are escaped so a message cannot break the table.
        """
        lines = [f"### {md_cell_br(self.title)}", "", self.summary_line(), ""]
        if not self._outcomes:
            return "\n".join(lines)
        header = [
            "Repository",
            "Outcome",
            *[c.replace("_", " ").capitalize() for c in self.columns],
            "Details",
        ]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "---|" * len(header))
        shown, folded = self._shown()
        for (folded_kind, reason), count in folded.items():
            cells = [
                f"({count} repositories)",
                folded_kind.label,
                *["" for _ in self.columns],
                md_cell_br(reason),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        for o in shown:
            kind = o.kind.label
            if o.url:
                kind = f"[{kind}]({o.url})"
            if o.kind is OutcomeKind.FAILED:
                kind = f"**{kind}**"
            cells = [md_cell_br(o.subject), kind, *[md_cell_br(o.details.get(c, "")) for c in self.columns]]
            cells.append(md_cell_br(o.message))
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def table(self) -> Any:
        """A ``rich.table.Table`` of the outcomes (import of rich deferred to here)."""
        from rich.table import Table

        table = Table(
            title=_rich_escape(self.title), caption=_rich_escape(self.summary_line()), show_lines=False
        )
        table.add_column("Repository", overflow="fold")
        table.add_column("Outcome")
        for column in self.columns:
            table.add_column(_rich_escape(column.replace("_", " ").capitalize()))
        table.add_column("Details / URL", overflow="fold")
        shown, folded = self._shown()
        for (kind, reason), count in folded.items():
            table.add_row(
                f"({count} repositories)", kind.label, *["" for _ in self.columns], _rich_escape(reason)
            )
        for o in shown:
            detail = o.message
            if o.url:
                detail = f"{detail} {o.url}".strip()
            table.add_row(
                _rich_escape(o.subject),
                f"[{_STYLE.get(o.kind, '')}]{o.kind.label}[/]" if o.kind in _STYLE else o.kind.label,
                *[_rich_escape(str(o.details.get(c, ""))) for c in self.columns],
                _rich_escape(detail),
            )
        return table

    def render_table(self, console: Any) -> None:
        """Print the table on a ``rich.console.Console`` (use ``Console(stderr=True)``); see
        ``print_wide``."""
        print_wide(console, self.table())


def print_wide(console: Any, renderable: Any, *, limit: int = 1000) -> None:
    """Print ``renderable`` (e.g. a table) on ``console``. When the console is not a terminal
    (CI logs, pipes, files) it is first widened to the renderable's natural width (at most
    ``limit`` columns) so rows — reasons, paths, URLs — stay on one line instead of wrapping at
    the default 80 columns."""
    if not console.is_terminal:
        need = console.measure(renderable, options=console.options.update_width(limit)).maximum
        if need > console.width:
            console.width = min(need, limit)
    console.print(renderable)


def _rich_escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def validate_report(doc: Any) -> str | None:
    """What is wrong with a ``Report.to_json()`` document, or None when it has the expected
    shape: ``schema`` 1, a ``title`` string and an ``outcomes`` list whose items have a
    ``subject`` string and a known ``kind``."""
    if not isinstance(doc, Mapping):
        return f"expected a JSON object, got {type(doc).__name__}"
    if doc.get("schema") != REPORT_SCHEMA:
        return f"unsupported report schema {doc.get('schema')!r} (expected {REPORT_SCHEMA})"
    if not isinstance(doc.get("title"), str):
        return "missing 'title'"
    outcomes = doc.get("outcomes")
    if not isinstance(outcomes, list):
        return "missing 'outcomes' list"
    kinds = {k.value for k in OutcomeKind}
    for i, o in enumerate(outcomes):
        if not isinstance(o, Mapping) or not isinstance(o.get("subject"), str) or not o.get("subject"):
            return f"outcomes[{i}]: missing 'subject'"
        if o.get("kind") not in kinds:
            return f"outcomes[{i}]: unknown kind {o.get('kind')!r}"
    return None


def merge_reports(
    title: str, documents: Iterable[Mapping[str, Any]], *, columns: Iterable[str] = ()
) -> Report:
    """One report from several ``Report.to_json()`` documents (e.g. one per apply shard).

    Every subject counts once: when the same subject is in several documents (the same report
    given twice, or a shard that was re-run), the outcome of the last document wins.

    Raises ValueError when a document does not have the expected shape (``validate_report``).
    """
    report = Report(title, columns=columns)
    by_subject: dict[str, Outcome] = {}
    for doc in documents:
        problem = validate_report(doc)
        if problem:
            raise ValueError(problem)
        for o in doc["outcomes"]:
            outcome = Outcome.from_json(o)
            by_subject[outcome.subject] = outcome
    report.extend(by_subject.values())
    return report
