"""Ownership and convergence of ``rollout apply`` (issue 15): a half-finished update is completed
by the next run, someone else's commits fail the run, and concurrent applies (of one plan, or of
consecutive releases) end in one PR on the newest release — on the local forge and on GitHub
(the emulator), with compare-and-swap ref updates."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from catalog_ops.cli import main
from catalog_ops.errors import RefMoved
from catalog_ops.forge.base import FileChange
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import ApplyOptions, apply_plan, parse_own_commit
from catalog_ops.rollout.prtext import parse_marker
from fixtures.rollout import BRANCH, RolloutWorld, network_module, outcome_of


class Interleave:
    """A forge proxy that runs ``hook`` once, right before the first call of ``method`` for
    ``repo`` (another run's whole apply squeezed into this run's window)."""

    def __init__(self, forge: Any, method: str, repo: str, hook: Callable[[], None]) -> None:
        self._forge, self._method, self._repo, self._hook = forge, method, repo, hook
        self.fired = False

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._forge, name)
        if name != self._method:
            return real

        def call(*args: Any, **kwargs: Any) -> Any:
            if not self.fired and args and args[0] == self._repo:
                self.fired = True
                self._hook()
            return real(*args, **kwargs)

        return call


def assert_converged(forge: Any, repo: str, tag: str, emu: Any = None) -> None:
    """One open PR on the rollout branch, its text and marker for ``tag``, the marker's head the
    branch tip, the tip a rollout commit of ``tag`` on the base, the file on ``tag``."""
    numbers = open_pull_numbers(forge, repo, emu)
    assert len(numbers) == 1, numbers
    pr = forge.get_pull(repo, numbers[0])
    tip = forge.branch_sha(repo, BRANCH)
    marker = parse_marker(pr.body)
    assert marker is not None and marker["release"] == tag and marker["head"] == tip, (marker, tip)
    assert tag in pr.title
    own = parse_own_commit(forge.get_commit(repo, tip))
    assert own is not None and own.release == tag and own.base == forge.branch_sha(repo, "main")
    data = forge.read_file(repo, "main.tf", BRANCH)
    assert data is not None and f"?ref={tag}" in data.decode()


def open_pull_numbers(forge: Any, repo: str, emu: Any = None) -> list[int]:
    """Numbers of every open PR from the rollout branch (the forge's own records)."""
    if emu is not None:
        return [p["number"] for p in emu.pulls(repo) if p["state"] == "open" and p["head"]["ref"] == BRANCH]
    rec = forge.load_record(repo)
    return [p["number"] for p in rec["pulls"] if p["state"] == "open" and p["head"] == BRANCH]


# --------------------------------------------------------------------------- local forge
def _world_with_pr(w: RolloutWorld, name: str = "dep") -> str:
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent(name, {"main.tf": network_module("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    assert outcome_of(w.apply(w.plan()), repo).kind is OutcomeKind.OPENED
    return repo


def test_half_finished_update_is_completed_by_the_next_run(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo = _world_with_pr(w)
    w.release("v1.2.0", modules=["modules/network"])
    plan = w.plan()

    class Killed(Exception):
        pass

    def die() -> None:  # the run dies after pushing the commit, before writing the PR text
        raise Killed

    broken = Interleave(w.forge, "update_pull", repo, die)
    first = apply_plan(broken, plan, options=ApplyOptions(concurrency=1))
    assert outcome_of(first, repo).kind is OutcomeKind.FAILED
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None and "v1.1.0" in pr.title  # text still of the old release...
    assert "?ref=v1.2.0" in w.read(repo, "main.tf", BRANCH)  # ...while the branch holds the new one

    rerun = w.apply(plan)
    o = outcome_of(rerun, repo)
    assert o.kind is OutcomeKind.UPDATED, (o.kind, o.reason, o.error)
    assert not rerun.failed
    assert_converged(w.forge, repo, "v1.2.0")
    assert outcome_of(w.apply(plan), repo).kind is OutcomeKind.UP_TO_DATE


def test_someone_elses_commit_fails_the_run_with_a_non_zero_exit(
    rollout_world: RolloutWorld, tmp_path: Path
) -> None:
    w = rollout_world
    repo = _world_with_pr(w)
    pr = w.forge.find_open_pull(repo, BRANCH)
    assert pr is not None
    # a person's commit on top of ours, even one copying our trailers
    ours = w.forge.get_commit(repo, pr.head_sha)
    human = w.forge.commit_files(
        repo,
        BRANCH,
        parent_sha=pr.head_sha,
        message="fix inputs\n\n" + ours.message.strip().split("\n\n")[-1],
        changes=[FileChange("fix.tf", b"# fix\n")],
    )
    w.release("v1.2.0", modules=["modules/network"])
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(json.dumps(w.plan().to_json()), encoding="utf-8")
    rc = main(["--local-root", str(w.forge.root), "rollout", "apply", "--plan", str(plan_path)])
    assert rc == 1
    assert w.forge.branch_sha(repo, BRANCH) == human


@pytest.mark.parametrize("window", ["commit_files", "open_pull"])
def test_same_plan_applied_twice_at_once_ends_in_one_pr(rollout_world: RolloutWorld, window: str) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("dep", {"main.tf": network_module("v1.0.0")})
    w.release("v1.1.0", modules=["modules/network"])
    plan = w.plan()
    other: list[Any] = []
    racing = Interleave(w.forge, window, repo, lambda: other.append(w.apply(plan)))
    report = apply_plan(racing, plan, options=ApplyOptions(concurrency=1))
    assert racing.fired
    assert not report.failed and not other[0].failed, (report.outcomes, other[0].outcomes)
    assert_converged(w.forge, repo, "v1.1.0")
    assert outcome_of(w.apply(plan), repo).kind is OutcomeKind.UP_TO_DATE


def test_consecutive_releases_applied_at_once_end_on_the_newest(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo = _world_with_pr(w)  # PR for v1.1.0 open
    w.release("v1.2.0", modules=["modules/network"])
    older = w.plan(release="v1.2.0")
    w.release("v1.3.0", modules=["modules/network"])
    newer = w.plan()
    # the newer rollout runs inside the older one's window between reading and moving the branch
    racing = Interleave(w.forge, "commit_files", repo, lambda: w.apply(newer))
    report = apply_plan(racing, older, options=ApplyOptions(concurrency=1))
    o = outcome_of(report, repo)
    assert racing.fired and o.kind is OutcomeKind.SKIPPED, (o.kind, o.reason, o.error)
    assert "newer release v1.3.0" in (o.reason or "")
    assert_converged(w.forge, repo, "v1.3.0")


def test_older_run_writing_text_after_a_newer_one_fails_and_a_rerun_restores(
    rollout_world: RolloutWorld,
) -> None:
    w = rollout_world
    repo = _world_with_pr(w)
    w.release("v1.2.0", modules=["modules/network"])
    older = w.plan(release="v1.2.0")
    w.release("v1.3.0", modules=["modules/network"])
    newer = w.plan()
    racing = Interleave(w.forge, "update_pull", repo, lambda: w.apply(newer))
    report = apply_plan(racing, older, options=ApplyOptions(concurrency=1))
    o = outcome_of(report, repo)
    assert o.kind is OutcomeKind.FAILED and "newer release" in (o.error or ""), (o.kind, o.error)
    assert "?ref=v1.3.0" in w.read(repo, "main.tf", BRANCH)  # never the older release
    assert not w.apply(newer).failed
    assert_converged(w.forge, repo, "v1.3.0")


def test_local_forge_ref_update_is_compare_and_swap(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    repo = w.dependent("cas", {"main.tf": "# x\n"})
    base = w.forge.branch_sha(repo, "main")
    assert base
    first = w.forge.commit_files(
        repo, "b", parent_sha=base, message="one", changes=[FileChange("a", b"1")], expected_head=None
    )
    with pytest.raises(RefMoved):  # the branch exists now
        w.forge.commit_files(
            repo, "b", parent_sha=base, message="two", changes=[FileChange("a", b"2")], expected_head=None
        )
    with pytest.raises(RefMoved):  # not at the tip the caller read
        w.forge.commit_files(
            repo, "b", parent_sha=base, message="two", changes=[FileChange("a", b"2")], expected_head=base
        )
    assert w.forge.branch_sha(repo, "b") == first


def test_threads_applying_consecutive_releases_end_on_the_newest(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repos = [w.dependent(f"dep{i}", {"main.tf": network_module("v1.0.0")}) for i in range(6)]
    w.release("v1.1.0", modules=["modules/network"])
    older = w.plan()
    w.release("v1.2.0", modules=["modules/network"])
    newer = w.plan()
    start = threading.Barrier(3)
    reports: dict[str, Any] = {}

    def run(name: str, plan: Any) -> None:
        start.wait()
        reports[name] = apply_plan(w.forge, plan, options=ApplyOptions(concurrency=3))

    threads = [
        threading.Thread(target=run, args=(name, plan))
        for name, plan in (("older", older), ("newer", newer), ("newer2", newer))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not reports["newer"].failed and not reports["newer2"].failed
    if reports["older"].failed:  # the rare text race: the older run says so; the newer rerun restores
        assert all("newer release" in (o.error or "") for o in reports["older"].outcomes if o.error)
        assert not w.apply(newer).failed
    for repo in repos:
        assert_converged(w.forge, repo, "v1.2.0")


# --------------------------------------------------------------------------- GitHub (emulator)
def _emulator_world(emu: Any, forge: Any, n: int) -> list[str]:
    from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata

    emu.create_repo("acme/infrastructure-modules", files={"modules/network/main.tf": "# n\n"})
    from catalog_ops.forge.base import FileChange

    for tag in ("v1.0.0", "v1.1.0", "v1.2.0"):
        # a real change per release: git, not the metadata, says what a release changed
        sha = forge.commit_files(
            "acme/infrastructure-modules",
            "main",
            parent_sha=forge.branch_sha("acme/infrastructure-modules", "main"),
            message=f"fix: network {tag}",
            changes=[FileChange("modules/network/main.tf", f"# n {tag}\n".encode())],
        )
        forge.create_tag("acme/infrastructure-modules", name=tag, sha=sha, message=tag)
        meta = ReleaseMetadata(
            version=tag[1:],
            tag=tag,
            previous=None,
            urgency="normal",
            modules={"modules/network": ModuleChange(path="modules/network", notes=(f"n {tag}",))},
        )
        forge.create_release(
            "acme/infrastructure-modules",
            tag=tag,
            name=tag,
            body=f"{tag}\n\n{render_release_metadata(meta)}\n",
        )
    repos = []
    for i in range(n):
        repo = f"acme/dep{i}"
        emu.create_repo(repo, files={"main.tf": network_module("v1.0.0")})
        repos.append(repo)
    return repos


def _gh_plan(forge: Any, release: str) -> Any:
    from catalog_ops.fanout.dependents import DependentSelection
    from catalog_ops.rollout.gather import build_plan

    return build_plan(
        forge,
        catalog="acme/infrastructure-modules",
        selection=DependentSelection(org="acme", concurrency=2),
        release=release,
    )


def test_github_half_finished_update_after_502s_is_completed(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    (repo,) = _emulator_world(emu, forge, 1)
    assert not apply_plan(forge, _gh_plan(forge, "v1.1.0")).failed
    plan = _gh_plan(forge, "v1.2.0")
    # The REST text path (a label new to the repository): PATCH /pulls/{n}.
    one_request = forge.update_pull_text
    forge.update_pull_text = None
    emu.faults.fail(502, method="PATCH", path=r"/pulls/\d+$", times=50)  # the PR text cannot be written
    first = apply_plan(forge, plan)
    assert outcome_of(first, repo).kind is OutcomeKind.FAILED
    emu.faults.clear()
    forge.update_pull_text = one_request
    rerun = apply_plan(forge, plan)
    assert outcome_of(rerun, repo).kind is OutcomeKind.UPDATED, outcome_of(rerun, repo)
    assert_converged(forge, repo, "v1.2.0", emu)


def test_github_half_finished_update_after_a_failed_update_pull_request_is_completed(
    github_emulator: Any, github_forge: Any
) -> None:
    """The same with the one-request text path (GraphQL ``updatePullRequest``): every attempt
    at the text fails after the commit was made; the rerun completes the update."""
    from catalog_ops.errors import ForgeError

    emu, forge = github_emulator, github_forge
    (repo,) = _emulator_world(emu, forge, 1)
    assert not apply_plan(forge, _gh_plan(forge, "v1.1.0")).failed
    plan = _gh_plan(forge, "v1.2.0")
    real = forge.update_pull_text

    def fails(*_a: Any, **_k: Any) -> Any:
        raise ForgeError("GitHub answered 502 (updatePullRequest)")

    forge.update_pull_text = fails
    first = apply_plan(forge, plan)
    assert outcome_of(first, repo).kind is OutcomeKind.FAILED
    tip = emu.state.branch_sha(emu.state.repos[repo], plan.branch)
    (pr,) = emu.pulls(repo)
    assert f'"head": "{tip}"' not in pr["body"]  # the commit was made, the text not written
    forge.update_pull_text = real
    rerun = apply_plan(forge, plan)
    assert outcome_of(rerun, repo).kind is OutcomeKind.UPDATED, outcome_of(rerun, repo)
    assert_converged(forge, repo, "v1.2.0", emu)


def test_github_concurrent_applies_end_in_one_pr_on_the_newest(
    github_emulator: Any, github_forge_factory: Any
) -> None:
    emu = github_emulator
    forges = [github_forge_factory() for _ in range(3)]
    repos = _emulator_world(emu, forges[0], 5)
    older, newer = _gh_plan(forges[0], "v1.1.0"), _gh_plan(forges[0], "v1.2.0")
    emu.faults.latency = 0.002
    start = threading.Barrier(3)
    reports: dict[int, Any] = {}

    def run(i: int, plan: Any) -> None:
        start.wait()
        reports[i] = apply_plan(forges[i], plan, options=ApplyOptions(concurrency=3))

    threads = [threading.Thread(target=run, args=(i, p)) for i, p in enumerate((older, newer, newer))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not reports[1].failed and not reports[2].failed, (reports[1].outcomes, reports[2].outcomes)
    if reports[0].failed:
        assert all("newer release" in (o.error or "") for o in reports[0].outcomes if o.error)
        assert not apply_plan(forges[1], newer).failed
    for repo in repos:
        assert_converged(forges[0], repo, "v1.2.0", emu)
    assert not emu.internal_errors


def test_github_compare_and_swap_on_the_emulator(github_emulator: Any, github_forge: Any) -> None:
    emu, forge = github_emulator, github_forge
    emu.create_repo("acme/cas", files={"main.tf": "# x\n"})
    base = forge.branch_sha("acme/cas", "main")
    one = forge.commit_files("acme/cas", "b", parent_sha=base, message="one", changes=[FileChange("a", b"1")])
    moved = emu.push("acme/cas", "main", {"z": "z"})
    for expected in (None, base):  # exists / not at the tip read: nothing is moved
        with pytest.raises(RefMoved):
            forge.commit_files(
                "acme/cas",
                "b",
                parent_sha=base,
                message="two",
                changes=[FileChange("a", b"2")],
                expected_head=expected,
            )
    # a rebuild on a moved base goes through updateRefs with beforeOid: a stale head is refused
    with pytest.raises(RefMoved):
        forge._set_branch("acme/cas", "b", moved, base)  # b is at `one`, not at `base`
    assert forge.branch_sha("acme/cas", "b") == one
    assert any(e.operation == "graphql:updateRefs" for e in emu.request_log)
