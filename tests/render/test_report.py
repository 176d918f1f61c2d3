"""Outcome records and their three renderings."""

from __future__ import annotations

import io
import json

import pytest
from rich.console import Console

from catalog_ops.render.report import Outcome, OutcomeKind, Report, merge_reports


def _report() -> Report:
    r = Report("Rollout of acme/m v1.1.0", columns=("update",))
    r.add(
        Outcome(
            subject="acme/b", kind=OutcomeKind.OPENED, url="https://x/b/pull/1", details={"update": "minor"}
        )
    )
    r.add(Outcome(subject="acme/a", kind=OutcomeKind.FAILED, error="boom | pipe\nnewline"))
    r.add(Outcome(subject="acme/c", kind=OutcomeKind.SKIPPED, reason="archived"))
    r.add(Outcome(subject="acme/d", kind=OutcomeKind.UP_TO_DATE))
    return r


def test_order_counts_and_failed() -> None:
    r = _report()
    assert [o.subject for o in r.outcomes] == ["acme/a", "acme/b", "acme/d", "acme/c"]
    assert r.counts() == {"failed": 1, "opened": 1, "up_to_date": 1, "skipped": 1}
    assert r.failed
    assert r.summary_line() == "1 failed, 1 opened, 1 up to date, 1 skipped"


def test_markdown_escapes_cells() -> None:
    md = _report().to_markdown()
    assert "| acme/a | **failed** |  | boom \\| pipe<br>newline |" in md
    assert "| acme/b | [opened](https://x/b/pull/1) | minor |  |" in md
    assert md.startswith("### Rollout of acme/m v1.1.0\n")


def test_json_round_trip_and_merge() -> None:
    doc = json.loads(json.dumps(_report().to_json()))
    assert doc["schema"] == 1 and doc["failed"] is True
    merged = merge_reports("all", [doc, doc])
    assert merged.counts()["opened"] == 1  # the same report twice is not double-counted
    with pytest.raises(ValueError):
        merge_reports("x", [{"schema": 7}])
    with pytest.raises(ValueError, match="missing 'outcomes'"):
        merge_reports("x", [{"schema": 1, "title": "t"}])
    with pytest.raises(ValueError, match=r"outcomes\[0\]: missing 'subject'"):
        merge_reports("x", [{"schema": 1, "title": "t", "outcomes": [{"kind": "opened"}]}])


def test_table_renders() -> None:
    buf = io.StringIO()
    _report().render_table(Console(file=buf, width=200))
    text = buf.getvalue()
    assert "acme/a" in text and "failed" in text and "archived" in text


def test_skipped_and_failed_need_text() -> None:
    with pytest.raises(ValueError):
        Outcome(subject="x", kind=OutcomeKind.SKIPPED)
    with pytest.raises(ValueError):
        Outcome(subject="x", kind=OutcomeKind.FAILED)


def test_quiet_reasons_fold_when_many_rows() -> None:
    r = Report("t", quiet_reasons=("no reference to the catalog",))
    for i in range(40):
        r.add(
            Outcome(
                subject=f"acme/r{i:02d}", kind=OutcomeKind.UP_TO_DATE, reason="no reference to the catalog"
            )
        )
    r.add(Outcome(subject="acme/x", kind=OutcomeKind.OPENED))
    md = r.to_markdown()
    assert "| (40 repositories) | up to date | no reference to the catalog |" in md
    assert "acme/r00" not in md and "acme/x" in md
    assert len(r.to_json()["outcomes"]) == 41


def test_table_is_not_wrapped_when_not_a_terminal() -> None:
    r = Report("t", columns=("merge",))
    reason = "nothing to bump; 2 reference(s) skipped: main.tf:3 ref 'main' is a branch; " + "x" * 120
    r.add(Outcome(subject="acme/a", kind=OutcomeKind.UP_TO_DATE, reason=reason, details={"merge": "m" * 60}))
    buf = io.StringIO()
    r.render_table(Console(file=buf, width=80))  # a file: not a terminal, 80 columns by default
    assert any(reason in line for line in buf.getvalue().splitlines())


def test_table_prints_brackets_verbatim() -> None:
    r = Report("Rollout [/x] of [bold]acme/m", columns=("update",))
    r.add(Outcome(subject="acme/[b]", kind=OutcomeKind.OPENED, details={"update": "[minor]"}))
    buf = io.StringIO()
    r.render_table(Console(file=buf, width=200))
    text = buf.getvalue()
    assert "Rollout [/x] of [bold]acme/m" in text
    assert "acme/[b]" in text and "[minor]" in text
