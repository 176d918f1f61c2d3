"""The rollout fault test, scaled down (issue 15): 24 dependents on the emulator with seeded
random 5xx, secondary limits, connections dropped before and after the write and latency; the
older and the newer release applied at once; at least 3 SIGKILLs of ``catalog-ops rollout apply``
(each on the event "the k-th write request was logged", never on wall-clock) followed by reruns.
It ends with 0 lost, 0 duplicate PRs or branches, 0 stuck dependents, every dependent on the newest
release. ``benchmarks/rollout_faults.py`` runs the same scenario with 300 dependents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fixtures.rollout_faults import run_scenario


def test_killed_and_concurrent_applies_under_faults_converge(github_emulator: Any, tmp_path: Path) -> None:
    emu = github_emulator
    emu.conformance = None  # 2 processes x thousands of requests; conformance has its own tests
    figures = run_scenario(emu, 24, tmp_path, seed=15, kills=3)
    print(figures)
    assert figures.kills >= 3, figures
    assert figures.faults > 0, figures
    assert (figures.lost, figures.duplicate, figures.stuck, figures.not_newest) == ([], [], [], []), figures
    assert figures.exit_codes[-1] == 0  # the older plan's rerun: nothing left to do, nothing failed
    assert figures.exit_codes[-2] == 0  # the newer plan's last rerun
    assert not emu.internal_errors
