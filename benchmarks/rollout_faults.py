"""The rollout fault scenario at full size (issue 15): prints lost / duplicate / stuck counts,
requests, faults, kills and wall time.

Usage: ``.venv/bin/python benchmarks/rollout_faults.py [--dependents 300] [--seed 15] [--kills 3]
[--concurrency 8] [--json]``

Scenario (``tests/fixtures/rollout_faults.py``): N dependents on the GitHub emulator with seeded
random 5xx, secondary limits, connections dropped before and after the write and latency; the
v1.1.0 and v1.2.0 rollouts applied at once by two ``catalog-ops rollout apply`` subprocesses,
at least ``--kills`` SIGKILLs (each when the emulator logs the k-th write request), then reruns
until the v1.2.0 apply exits 0 and one last v1.1.0 apply. The test suite runs it with 24
dependents (``tests/rollout/test_apply_faults.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from emulator import GitHubEmulator
from fixtures.rollout_faults import run_scenario


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dependents", type=int, default=300)
    ap.add_argument("--seed", type=int, default=15)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="rollout-faults-") as tmp:
        emu = GitHubEmulator(Path(tmp) / "github").start()
        try:
            fig = run_scenario(
                emu,
                args.dependents,
                Path(tmp),
                seed=args.seed,
                kills=args.kills,
                concurrency=args.concurrency,
            )
        finally:
            emu.stop()
    if args.json:
        print(json.dumps(fig.to_json(), indent=2))
    else:
        print(f"dependents            {fig.dependents}")
        print(f"lost                  {len(fig.lost)}")
        print(f"duplicate PRs/branches {len(fig.duplicate)}")
        print(f"stuck                 {len(fig.stuck)}")
        print(f"not on newest release {len(fig.not_newest)}")
        print(f"SIGKILLs              {fig.kills}")
        print(f"apply runs            {fig.runs} (exit codes {fig.exit_codes})")
        print(
            f"requests              {fig.requests} ({fig.writes} writes, {fig.faults} with an injected fault)"
        )
        print(f"wall time             {fig.wall:.1f} s")
        for name in ("lost", "duplicate", "stuck", "not_newest"):
            if getattr(fig, name):
                print(f"  {name}: {', '.join(getattr(fig, name)[:20])}")
    bad = fig.lost or fig.duplicate or fig.stuck or fig.not_newest or fig.kills < args.kills
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
