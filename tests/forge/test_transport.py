"""Fault tests: 50 branch+commit+PR operations through injected 5xx, dropped connections
(before and after the server applied the request), secondary rate limits and latency.
No duplicate, no lost PR, and the request log shows every Retry-After was honoured."""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from catalog_ops.forge import FileChange
from catalog_ops.forge.github import GitHubForge
from catalog_ops.forge.github.pacing import Budget
from emulator import GitHubEmulator
from fixtures.rollout import FakeClock

N = 50


def test_fifty_operations_survive_faults(
    github_emulator: GitHubEmulator, github_forge_factory: Callable[..., GitHubForge]
) -> None:
    emu = github_emulator
    emu.create_repo(
        "acme/app", files={"main.tf": b"# base\n", "versions.tf": b"# v\n"}, collaborators=["alice"]
    )
    emu.limits.per_minute = 60
    emu.limits.window = 1.0
    emu.faults.chaos(
        error_rate=0.06,
        secondary_rate=0.04,
        drop_rate=0.03,
        drop_after_rate=0.03,
        latency=(0.0, 0.004),
        retry_after=0.1,
        seed=20261129,
    )
    # The client's own pacer (GitHub's 80/min and 500/h windows, tested in test_pacing.py) runs
    # on an injected clock: its ~600 writes would otherwise wait minutes of real time for its
    # windows. The emulator's limits, faults and Retry-After waits stay real.
    pacer = FakeClock()
    forge = github_forge_factory(
        max_retries=8, budget=Budget(interval=0.005, clock=pacer.now, sleep=pacer.sleep)
    )
    numbers: dict[str, int] = {}
    for i in range(N):
        tip = forge.branch_sha("acme/app", "main")
        assert tip
        head = f"catalog-ops/bump-{i}"
        forge.commit_files(
            "acme/app",
            head,
            parent_sha=tip,
            message=f"chore(deps): bump {i}",
            changes=[FileChange("main.tf", f"# bump {i}\n".encode()), FileChange(f"notes/{i}.md", b"n\n")],
        )
        pr = forge.open_pull(
            "acme/app",
            head=head,
            base="main",
            title=f"Bump {i}",
            body="b",
            labels=["dependencies"],
            reviewers=["alice"],
        )
        numbers[head] = pr.number
    # Re-run ten of them after main moved (the rollout "update" path: re-parented commits).
    main_tip = forge.branch_sha("acme/app", "main")
    assert main_tip
    moved = forge.commit_files(
        "acme/app",
        "main",
        parent_sha=main_tip,
        message="unrelated",
        changes=[FileChange("other.txt", b"o\n")],
    )
    for i in range(0, N, 5):
        head = f"catalog-ops/bump-{i}"
        forge.commit_files(
            "acme/app",
            head,
            parent_sha=moved,
            message=f"chore(deps): bump {i} again",
            changes=[FileChange("main.tf", f"# bump {i} v2\n".encode())],
        )
        pr = forge.open_pull(
            "acme/app", head=head, base="main", title=f"Bump {i} v2", body="b", labels=["dependencies"]
        )
        assert pr.number == numbers[head]
    emu.faults.clear()
    injected = {kind for kind, _m, _p in emu.faults.injected}
    assert {"status", "secondary", "drop", "drop_after"} <= injected

    pulls = emu.pulls("acme/app")
    assert len(pulls) == N  # no duplicate PRs
    assert {p["head"]["ref"]: p["number"] for p in pulls} == numbers  # none lost, numbers as returned
    repo = emu.repo("acme/app")
    for p in pulls:
        assert p["state"] == "open"
        assert [x["name"] for x in p["labels"]] == ["dependencies"]
        assert [u["login"] for u in p["requested_reviewers"]] == ["alice"]
        head = p["head"]["ref"]
        commits = subprocess.run(
            ["git", f"--git-dir={repo.path}", "rev-list", f"main..{head}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert len(commits) == 1, head  # exactly one commit: no duplicate commit after a lost response
        i = int(head.rsplit("-", 1)[1])
        expected = f"# bump {i} v2\n" if i % 5 == 0 else f"# bump {i}\n"
        assert forge.read_file("acme/app", "main.tf", head) == expected.encode()
        assert p["title"] == (f"Bump {i} v2" if i % 5 == 0 else f"Bump {i}")

    # Back-off: after every response carrying Retry-After, the client's next request waited for it.
    log = emu.request_log
    honoured = 0
    for k, entry in enumerate(log[:-1]):
        if entry.retry_after is not None:
            nxt = log[k + 1]
            assert nxt.started - entry.ended >= entry.retry_after - 0.02, (entry, nxt)
            honoured += 1
    assert honoured >= 5
    counts = forge.request_counts()
    assert counts["retries"] > 0 and counts.get("recovered", 0) > 0 and counts["rate_limited"] == honoured
    assert not emu.internal_errors
    assert pacer.slept, "the pacer spaced the writes (on its own clock)"
