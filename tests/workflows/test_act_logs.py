"""The act e2e harness explains a failure: every job's result and the log of each job that did not
succeed (issue 13: a lint job "produced no step result" and nothing said why)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures.workflows import ActResult


def _ev(job: str, msg: str, module: str = "", **extra: Any) -> dict[str, Any]:
    return {"job": job, "matrix": {"module": module} if module else {}, "msg": msg, **extra}


def test_explain_shows_the_log_of_every_job_that_did_not_succeed(tmp_path: Path) -> None:
    events = [
        {"msg": "act: starting"},
        _ev("Lint", "lint naming ok", "modules/naming"),
        _ev("Lint", "", "modules/naming", jobResult="success"),
        _ev("Lint", "Install catalog-ops: venv vanished", "modules/network"),
        _ev("Lint", "", "modules/network", jobResult="failure"),
        _ev("Policy", "still running when act was killed", "modules/service"),
    ]
    text = ActResult(1, events, "", tmp_path / "jobs").explain()
    assert 'Lint {"module": "modules/naming"}: success' in text
    assert 'Lint {"module": "modules/network"}: failure' in text
    assert 'Policy {"module": "modules/service"}: NO RESULT' in text
    assert "Install catalog-ops: venv vanished" in text
    assert "still running when act was killed" in text
    assert "lint naming ok" not in text  # a job that succeeded is not dumped
    assert f"full per-job logs: {tmp_path / 'jobs'}" in text


def test_explain_without_json_events_shows_the_raw_output() -> None:
    text = ActResult(2, [], "Error: workflow is not valid\n", None).explain()
    assert "Error: workflow is not valid" in text and "act exit code 2" in text
