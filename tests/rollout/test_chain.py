"""Environment chains inside a dependent (issue 19): dev -> stage -> prod, one PR per environment,
on the local forge and on the GitHub emulator (``rollout.chain``, docs/rollout.md "Environments")."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from catalog_ops.catalog.config import parse_config
from catalog_ops.core.metadata import ModuleChange, ReleaseMetadata, render_release_metadata
from catalog_ops.core.schedule import parse_time
from catalog_ops.errors import ConfigError
from catalog_ops.fanout.dependents import DependentSelection
from catalog_ops.forge.base import FileChange, PullRequest, PullState
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.apply import ApplyOptions, apply_plan
from catalog_ops.rollout.gather import build_plan
from catalog_ops.rollout.model import Action, DependentPlan, Plan, StepState, env_branch_name
from catalog_ops.rollout.prtext import parse_marker
from catalog_ops.rollout.summary import plan_table

CATALOG = "acme/infrastructure-modules"
GIT = "git::https://github.com/acme/infrastructure-modules.git"
BRANCH = "catalog-ops/acme-infrastructure-modules"
LIVE = "acme/live"
ENVS = ("dev", "stage", "prod")
CONFIG = """\
environments:
  dev: ["live/dev/**"]
  stage: live/stage/**
  prod: ["live/prod/**"]
"""


def unit(module: str, ref: str) -> str:
    return f'module "m" {{\n  source = "{GIT}//modules/{module}?ref={ref}"\n}}\n'


def live_files(config: str = CONFIG) -> dict[str, str]:
    return {
        ".catalog-ops.yml": config,
        "live/dev/net/main.tf": unit("network", "v1.0.0"),
        "live/stage/net/main.tf": unit("network", "v1.0.0"),
        "live/prod/net/main.tf": unit("network", "v1.0.0"),
        "shared/main.tf": unit("naming", "v1.0.0"),  # in no environment: follows the first one
    }


@dataclasses.dataclass
class World:
    """One forge (local or the GitHub emulator) holding the catalog and dependents."""

    kind: str
    forge: Any
    make_repo: Callable[[str, Mapping[str, str]], None]
    emu: Any = None

    def release(self, tag: str, modules: tuple[str, ...], urgency: str = "normal") -> None:
        parent = self.forge.branch_sha(CATALOG, "main")
        sha = self.forge.commit_files(
            CATALOG,
            "main",
            parent_sha=parent,
            message=f"fix: change for {tag}",
            changes=[FileChange(f"{m}/main.tf", f"# {m} {tag}\n".encode()) for m in modules],
        )
        self.forge.create_tag(CATALOG, name=tag, sha=sha, message=tag)
        meta = ReleaseMetadata(
            version=tag[1:],
            tag=tag,
            previous=None,
            urgency=urgency,
            modules={m: ModuleChange(path=m, notes=(f"{m} in {tag}",)) for m in modules},
        )
        self.forge.create_release(
            CATALOG, tag=tag, name=tag, body=f"{tag}\n\n{render_release_metadata(meta)}\n"
        )

    def plan(self, now: dt.datetime | None = None) -> Plan:
        return build_plan(
            self.forge, catalog=CATALOG, selection=DependentSelection(org="acme", concurrency=2), now=now
        )

    def apply(self, plan: Plan) -> Any:
        report = apply_plan(self.forge, plan, options=ApplyOptions(concurrency=2, checks_grace=0.0))
        assert not report.failed, report.to_json()
        return report

    def pr(self, env: str, repo: str = LIVE) -> PullRequest | None:
        return self.forge.find_open_pull(repo, env_branch_name(BRANCH, env))

    def merge(self, env: str) -> PullRequest:
        pr = self.pr(env)
        assert pr is not None, f"no open {env} PR"
        self.forge.merge_pull(LIVE, pr.number, method="squash")
        merged = self.forge.get_pull(LIVE, pr.number)
        assert merged.state is PullState.MERGED and merged.merged_at
        return merged

    def ref_in(self, path: str, ref: str = "main", repo: str = LIVE) -> str:
        data = self.forge.read_file(repo, path, ref)
        assert data is not None
        return data.decode().split("?ref=")[1].split('"')[0]


@pytest.fixture(params=["local", "github"])
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "local":
        forge = request.getfixturevalue("local_forge")
        w = World("local", forge, lambda name, files: forge.create_repo(name, files=dict(files)))
    else:
        emu = request.getfixturevalue("github_emulator")
        forge = request.getfixturevalue("github_forge")
        w = World("github", forge, lambda name, files: emu.create_repo(name, files=dict(files)), emu)
    w.make_repo(CATALOG, {"modules/network/main.tf": "# n\n", "modules/naming/main.tf": "# l\n"})
    w.release("v1.0.0", ("modules/network", "modules/naming"))
    return w


def live(plan: Plan) -> DependentPlan:
    return next(d for d in plan.dependents if d.repo == LIVE)


def states(dep: DependentPlan) -> list[str]:
    assert dep.chain is not None
    return [s.state.value for s in dep.chain.steps]


def test_three_environment_chain_advances_only_on_merge_and_never_skips(world: World) -> None:
    w = world
    w.make_repo(LIVE, live_files())
    w.make_repo("acme/plain", {"main.tf": unit("network", "v1.0.0")})
    w.release("v1.1.0", ("modules/network", "modules/naming"))

    # Step 1: only dev (and the references in no environment) move; stage and prod wait.
    plan = w.plan()
    dep = live(plan)
    assert (dep.action, dep.env, states(dep)) == (Action.OPEN, "dev", ["next", "waiting", "waiting"])
    assert sorted(dep.files) == ["live/dev/net/main.tf", "shared/main.tf"]
    plain = next(d for d in plan.dependents if d.repo == "acme/plain")
    assert (plain.action, plain.chain, plain.env) == (Action.OPEN, None, None)  # no environments: as before
    assert "chain" not in plain.to_json()
    assert Plan.from_json(plan.to_json()).to_json() == plan.to_json()  # the chain round-trips
    w.apply(plan)
    dev_pr = w.pr("dev")
    assert dev_pr is not None and w.pr("stage") is None and w.pr("prod") is None
    assert w.forge.find_open_pull("acme/plain", BRANCH) is not None  # the one-branch behaviour
    assert w.forge.find_open_pull(LIVE, BRANCH) is None
    dev_branch = env_branch_name(BRANCH, "dev")
    assert w.ref_in("live/dev/net/main.tf", dev_branch) == "v1.1.0"
    assert w.ref_in("shared/main.tf", dev_branch) == "v1.1.0"
    assert w.ref_in("live/stage/net/main.tf", dev_branch) == "v1.0.0"
    assert w.ref_in("live/prod/net/main.tf", dev_branch) == "v1.0.0"
    assert dev_pr.title == "Update infrastructure-modules modules to v1.1.0 in dev (1/3)"
    assert "**Step 1 of 3: dev** (**dev** → stage → prod)" in dev_pr.body
    assert "When this PR is merged, the rollout opens the PR for stage with the same versions." in dev_pr.body
    marker = parse_marker(dev_pr.body)
    assert marker is not None and marker["env"] == "dev" and marker["release"] == "v1.1.0"

    # Not merged: reruns change nothing and open nothing further.
    again = w.plan()
    assert (live(again).action, live(again).env) == (Action.UPDATE, "dev")
    report = w.apply(again)
    assert {o.subject: o.kind for o in report.outcomes}[LIVE] is OutcomeKind.UP_TO_DATE
    assert w.pr("stage") is None

    # Merged: stage opens with what dev runs on the default branch.
    dev_merged = w.merge("dev")
    plan = w.plan()
    dep = live(plan)
    assert (dep.action, dep.env, states(dep)) == (Action.OPEN, "stage", ["current", "next", "waiting"])
    assert [(b.module, b.tag) for b in dep.bumps] == [("modules/network", "v1.1.0")]
    assert dep.files == ("live/stage/net/main.tf",)
    report = w.apply(plan)
    modules = {o.subject: o.details.get("modules") for o in report.outcomes}
    assert modules[LIVE] == "network v1.0.0→v1.1.0 in stage (step 2/3)"
    stage_pr = w.pr("stage")
    assert stage_pr is not None
    assert "**Step 2 of 3: stage**" in stage_pr.body
    assert (
        f"Previous step: dev ran these versions since [#{dev_merged.number}]({dev_merged.url}) was merged"
        in (stage_pr.body)
    )
    stage_branch = env_branch_name(BRANCH, "stage")
    assert w.ref_in("live/stage/net/main.tf", stage_branch) == "v1.1.0"
    assert w.ref_in("live/prod/net/main.tf", stage_branch) == "v1.0.0"

    # A newer release meanwhile: the chain starts again at dev; the open stage PR keeps what dev
    # ran (v1.1.0), never the newer release dev has not run yet.
    w.release("v1.2.0", ("modules/network",))
    plan = w.plan()
    dep = live(plan)
    assert (dep.action, dep.env, states(dep)) == (Action.OPEN, "dev", ["next", "open", "waiting"])
    w.apply(plan)
    assert w.ref_in("live/dev/net/main.tf", env_branch_name(BRANCH, "dev")) == "v1.2.0"
    assert w.ref_in("live/stage/net/main.tf", stage_branch) == "v1.1.0"
    w.merge("stage")
    w.apply(w.plan())
    assert w.pr("prod") is None  # dev is not done with v1.2.0: prod waits
    w.merge("dev")

    # stage follows dev to v1.2.0; prod waits for stage, then gets exactly what stage runs.
    dep = live(w.plan())
    assert (dep.env, [(b.module, b.tag) for b in dep.bumps]) == ("stage", [("modules/network", "v1.2.0")])
    w.apply(w.plan())
    assert w.pr("prod") is None
    w.merge("stage")
    plan = w.plan()
    dep = live(plan)
    assert (dep.action, dep.env, states(dep)) == (Action.OPEN, "prod", ["current", "current", "next"])
    assert [(b.module, b.tag) for b in dep.bumps] == [("modules/network", "v1.2.0")]
    assert dep.chain.next == "step 3 of 3: open the prod PR: network v1.2.0 (what stage runs)"  # type: ignore[union-attr]
    w.apply(plan)
    prod_pr = w.pr("prod")
    assert prod_pr is not None and prod_pr.title.endswith("in prod (3/3)")
    w.merge("prod")
    assert [w.ref_in(f"live/{e}/net/main.tf") for e in ENVS] == ["v1.2.0", "v1.2.0", "v1.2.0"]
    done = live(w.plan())
    assert done.action is Action.NOTHING and states(done) == ["current", "current", "current"]
    assert done.reason == "chain complete: dev, stage, prod run the versions they should"


def test_soak_holds_the_next_step_until_it_has_elapsed(world: World) -> None:
    w = world
    w.make_repo(LIVE, live_files(CONFIG + "soak: 2h\n"))
    w.release("v1.1.0", ("modules/network",))
    w.apply(w.plan())
    dev_pr = w.pr("dev")
    assert dev_pr is not None
    assert (
        "When this PR is merged and these versions ran for 2h, the rollout opens the PR for stage"
        in dev_pr.body
    )
    merged = w.merge("dev")
    at = parse_time(merged.merged_at)
    assert at is not None
    early = live(w.plan(now=at + dt.timedelta(minutes=119)))
    assert early.action is Action.HOLD and states(early) == ["current", "held", "waiting"]
    assert early.chain is not None and early.chain.steps[1].ready_at == (at + dt.timedelta(hours=2)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert early.reason is not None and early.reason.startswith("step 2 of 3 (stage) held: soak until ")
    w.apply(w.plan(now=at + dt.timedelta(minutes=119)))
    assert w.pr("stage") is None
    ready = live(w.plan(now=at + dt.timedelta(hours=2)))
    assert (ready.action, ready.env) == (Action.OPEN, "stage")


def test_security_release_follows_the_chain_and_may_skip_the_soak(rollout_world: Any) -> None:
    w = World("local", rollout_world.forge, lambda n, f: None)
    w.release("v1.0.0", ("modules/network", "modules/naming"))
    rollout_world.dependent("live", live_files(CONFIG + "soak: 1d\nsecurity_skip_soak: true\n"))
    rollout_world.dependent("slow", live_files(CONFIG + "soak: 1d\n"))
    w.release("v1.1.0", ("modules/network",), urgency="security")
    plan = w.plan()
    for repo in (LIVE, "acme/slow"):
        dep = next(d for d in plan.dependents if d.repo == repo)
        assert (dep.action, dep.env, dep.urgency, dep.automerge) == (Action.OPEN, "dev", "security", True)
    w.apply(plan)  # the merge gate merges the dev PRs: the checks ran on their heads and passed
    bodies = {p.repo: p.body for p in (w.forge.get_pull(r, 1) for r in (LIVE, "acme/slow"))}
    assert "When this PR is merged, the rollout opens the PR for stage" in bodies[LIVE]  # no soak
    assert "When this PR is merged and these versions ran for 1d, the rollout opens" in bodies["acme/slow"]
    for repo in (LIVE, "acme/slow"):
        assert w.ref_in("live/dev/net/main.tf", repo=repo) == "v1.1.0"
        assert w.ref_in("live/stage/net/main.tf", repo=repo) == "v1.0.0"  # never two steps in one run
    plan = w.plan()
    fast = next(d for d in plan.dependents if d.repo == LIVE)
    slow = next(d for d in plan.dependents if d.repo == "acme/slow")
    assert (fast.action, fast.env) == (Action.OPEN, "stage")  # security_skip_soak
    assert (slow.action, states(slow)) == (Action.HOLD, ["current", "held", "waiting"])
    w.apply(plan)
    w.apply(w.plan())
    assert [w.ref_in(f"live/{e}/net/main.tf") for e in ENVS] == ["v1.1.0", "v1.1.0", "v1.1.0"]


def test_post_merge_checks_hold_fail_and_pass(world: World) -> None:
    w = world
    w.make_repo(LIVE, live_files(CONFIG + "post_merge_checks: true\n"))
    w.release("v1.1.0", ("modules/network",))
    w.apply(w.plan())
    dev_pr = w.pr("dev")
    assert dev_pr is not None
    assert (
        "When this PR is merged and the checks of its merge commit passed, the rollout opens" in dev_pr.body
    )
    merged = w.merge("dev")
    dep = live(w.plan())
    assert dep.action is Action.HOLD and states(dep) == ["current", "held", "waiting"]
    assert dep.held_until is None  # waits for the checks, not for a time
    assert dep.chain is not None and "not reported" in (dep.chain.steps[1].reason or "")
    if w.emu is None:
        return  # the local forge reports no checks on commits: held, as GitHub without checks
    assert merged.merged_sha
    w.emu.set_status(LIVE, merged.merged_sha, "failure", context="deploy-dev")
    plan = w.plan()
    dep = live(plan)
    assert states(dep) == ["current", "failed", "waiting"]
    assert dep.reason is not None and "failed: the checks of dev's merge commit" in dep.reason
    # reported failed, not held, with its next step (the chain stops until a new merge passes)
    assert (dep.action, dep.state.value) == (Action.HOLD, "failed")
    assert dep.next_step.startswith("step 2 of 3 (stage) failed: the checks of dev's merge commit")
    assert dep.next_step.endswith("the chain stops until a new merge into that environment passes its checks")
    assert plan.next_step.startswith("rollout stopped: wave 'everyone else' failed (acme/live step 2 of 3")
    w.emu.set_status(LIVE, merged.merged_sha, "success", context="deploy-dev")
    dep = live(w.plan())
    assert (dep.action, dep.env) == (Action.OPEN, "stage")


def test_a_soaking_chain_is_reported_held_until_the_soak_ends_not_up_to_date(world: World) -> None:
    """dev's PR merged, stage held by the soak: the plan says ``hold`` until the soak's end (state,
    next step, ``held_until``, the plan's next step), apply writes nothing, and the chain moves on
    by itself once the soak is over."""
    w = world
    w.make_repo(LIVE, live_files(CONFIG + "soak: 1d\n"))
    w.release("v1.1.0", ("modules/network",))
    w.apply(w.plan())
    at = parse_time(w.merge("dev").merged_at)
    assert at is not None
    ready = (at + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    plan = w.plan(now=at + dt.timedelta(hours=3))
    dep = live(plan)
    assert (dep.action, dep.state.value, dep.held_until) == (Action.HOLD, "held", ready)
    assert dep.next_step.startswith(f"step 2 of 3 (stage) held: soak until {ready} (dev runs these versions")
    assert plan.next_step == f"1 held; the next hold ends at {ready}"
    data = next(d for d in plan.to_json()["dependents"] if d["repo"] == LIVE)
    assert (data["action"], data["state"], data["held_until"]) == ("hold", "held", ready)
    report = w.apply(plan)
    assert {o.subject: o.kind for o in report.outcomes}[LIVE] is OutcomeKind.SKIPPED
    assert w.pr("stage") is None and w.ref_in("live/stage/net/main.tf") == "v1.0.0"
    after = live(w.plan(now=at + dt.timedelta(days=1)))
    assert (after.action, after.env, after.held_until) == (Action.OPEN, "stage", None)


class _DiesOnce:
    """A forge whose ``open_pull`` fails once after the branch was written (a run killed
    between its commit and its PR)."""

    def __init__(self, forge: Any) -> None:
        self._forge = forge
        self.armed = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._forge, name)

    def open_pull(self, *args: Any, **kwargs: Any) -> Any:
        if self.armed:
            self.armed = False
            raise RuntimeError("killed")
        return self._forge.open_pull(*args, **kwargs)


def test_chain_converges_from_interrupted_states(world: World) -> None:
    w = world
    w.make_repo(LIVE, live_files())
    w.release("v1.1.0", ("modules/network",))
    first = w.plan()
    w.apply(first)
    # Killed between the merge of dev and the opening of stage: the old plan, applied again,
    # writes nothing (dev already has its versions) and opens no stage PR by itself.
    w.merge("dev")
    report = apply_plan(w.forge, first, options=ApplyOptions(concurrency=1))
    assert {o.subject: o.kind for o in report.outcomes}[LIVE] is OutcomeKind.UP_TO_DATE
    assert w.pr("dev") is None and w.pr("stage") is None
    # Killed between the stage commit and its PR: the rerun completes it, one PR.
    plan = w.plan()
    assert live(plan).env == "stage"
    dying = _DiesOnce(w.forge)
    report = apply_plan(dying, plan, options=ApplyOptions(concurrency=1))
    assert {o.subject: o.kind for o in report.outcomes}[LIVE] is OutcomeKind.FAILED
    stage_branch = env_branch_name(BRANCH, "stage")
    tip = w.forge.branch_sha(LIVE, stage_branch)
    assert tip is not None and w.pr("stage") is None
    for _ in range(2):  # twice: the second run finds everything done
        w.apply(w.plan())
    pr = w.pr("stage")
    assert pr is not None and pr.head_sha == tip
    assert w.forge.find_closed_pull(LIVE, stage_branch) is None  # never a second stage PR
    assert w.pr("prod") is None


def test_plan_table_and_json_show_the_chain_state_and_next_step(rollout_world: Any) -> None:
    w = World("local", rollout_world.forge, lambda n, f: None)
    w.release("v1.0.0", ("modules/network", "modules/naming"))
    rollout_world.dependent("live", live_files())
    w.release("v1.1.0", ("modules/network",))
    plan = w.plan()
    data = next(d for d in plan.to_json()["dependents"] if d["repo"] == LIVE)
    chain = data["chain"]
    assert (chain["environments"], chain["step"], chain["env"]) == (list(ENVS), 1, "dev")
    assert chain["next"] == "step 1 of 3: open the dev PR: network v1.1.0 (the release)"
    assert [(s["env"], s["state"], s["versions"], s["targets"]) for s in chain["steps"]] == [
        (
            "dev",
            "next",
            {"modules/naming": "v1.0.0", "modules/network": "v1.0.0"},
            {"modules/network": "v1.1.0"},
        ),
        ("stage", "waiting", {"modules/network": "v1.0.0"}, {}),
        ("prod", "waiting", {"modules/network": "v1.0.0"}, {}),
    ]
    from rich.console import Console

    console = Console(width=300, record=True)
    console.print(plan_table(plan))
    text = console.export_text()
    assert "chain dev → stage → prod: step 1 of 3: open the dev PR" in text
    assert StepState.HELD.value == "held"


def test_an_environment_bumped_by_hand_gets_its_pr_closed_and_the_chain_moves_on(world: World) -> None:
    w = world
    w.make_repo(LIVE, live_files(CONFIG + "soak: 1d\n"))
    w.release("v1.1.0", ("modules/network",))
    w.apply(w.plan())
    dev_pr = w.pr("dev")
    assert dev_pr is not None
    parent = w.forge.branch_sha(LIVE, "main")
    w.forge.commit_files(
        LIVE,
        "main",
        parent_sha=parent,
        message="dev: network v1.1.0 by hand",
        changes=[FileChange("live/dev/net/main.tf", unit("network", "v1.1.0").encode())],
    )
    plan = w.plan()
    dep = live(plan)
    assert (dep.action, dep.env, dep.existing_pr) == (Action.CLOSE, "dev", dev_pr.number)
    report = w.apply(plan)
    assert {o.subject: o.kind for o in report.outcomes}[LIVE] is OutcomeKind.CLOSED
    assert w.forge.get_pull(LIVE, dev_pr.number).state is PullState.CLOSED
    # No rollout PR of dev was merged: nothing to soak from, stage follows what dev runs.
    dep = live(w.plan())
    assert (dep.action, dep.env, [b.tag for b in dep.bumps]) == (Action.OPEN, "stage", ["v1.1.0"])


def test_two_runs_at_once_open_one_pr_per_environment(world: World) -> None:
    import threading

    w = world
    w.make_repo(LIVE, live_files())
    w.release("v1.1.0", ("modules/network",))
    w.apply(w.plan())
    w.merge("dev")
    plans = [w.plan(), w.plan()]  # two schedulers planned the same state
    start = threading.Barrier(2)
    reports: list[Any] = []

    def run(plan: Plan) -> None:
        start.wait()
        reports.append(apply_plan(w.forge, plan, options=ApplyOptions(concurrency=1)))

    threads = [threading.Thread(target=run, args=(p,)) for p in plans]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(not r.failed for r in reports), [r.to_json() for r in reports]
    stage = w.pr("stage")
    assert stage is not None and w.pr("prod") is None
    assert w.forge.find_closed_pull(LIVE, env_branch_name(BRANCH, "stage")) is None  # one stage PR, not two
    assert w.forge.branch_sha(LIVE, env_branch_name(BRANCH, "stage")) == stage.head_sha
    again = live(w.plan())
    assert (again.action, again.env, again.existing_pr) == (Action.UPDATE, "stage", stage.number)


# --------------------------------------------------------------------------- pure rules (plan_chain)
def _pure(files: Mapping[str, str], release: str = "v1.2.0") -> DependentPlan:
    from catalog_ops.catalog.config import parse_config
    from catalog_ops.rollout.chain import plan_chain
    from catalog_ops.rollout.planner import PlanOptions
    from fixtures.rollout import ADDRESS, catalog_release

    tags = ("v1.2.0", "v1.1.0", "v1.0.0")
    rels = tuple(catalog_release(t, modules=["modules/network", "modules/naming"]) for t in tags)
    chosen = next(r for r in rels if r.tag == release)
    opts = PlanOptions(catalog=CATALOG, catalog_address=ADDRESS, release=chosen, releases=rels)
    config = parse_config(files[".catalog-ops.yml"], "f")
    data = {p: t.encode() for p, t in files.items() if p != ".catalog-ops.yml"}
    now = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    return plan_chain(LIVE, data, opts, default_branch="main", config=config, facts={}, now=now)


def test_a_step_moves_to_the_lowest_version_the_previous_environment_runs() -> None:
    dep = _pure(
        {
            ".catalog-ops.yml": CONFIG,
            "live/dev/a/main.tf": unit("network", "v1.2.0"),
            "live/dev/b/main.tf": unit("network", "v1.1.0"),  # part of dev is still on v1.1.0
            "live/stage/net/main.tf": unit("network", "v1.0.0"),
            "live/prod/net/main.tf": unit("network", "v1.0.0"),
        }
    )
    assert (dep.action, dep.env) == (Action.OPEN, "dev")  # dev first: b is behind the release
    # Rolling out v1.1.0: dev runs v1.2.0 (ahead, left alone) and v1.1.0; stage gets v1.1.0.
    dep = _pure(
        {
            ".catalog-ops.yml": CONFIG,
            "live/dev/a/main.tf": unit("network", "v1.2.0"),
            "live/dev/b/main.tf": unit("network", "v1.1.0"),
            "live/stage/net/main.tf": unit("network", "v1.0.0"),
            "live/prod/net/main.tf": unit("network", "v1.0.0"),
        },
        release="v1.1.0",
    )
    assert (dep.action, dep.env) == (Action.OPEN, "stage")
    assert [(b.module, b.tag) for b in dep.bumps] == [("modules/network", "v1.1.0")]
    dep = _pure(
        {
            ".catalog-ops.yml": CONFIG.replace(
                'dev: ["live/dev/**"]', 'dev: ["live/dev/**"]\n  canary: [x/**]'
            ),
            "live/dev/a/main.tf": unit("network", "v1.2.0"),
            "x/main.tf": unit("network", "v1.1.0"),
            "live/stage/net/main.tf": unit("network", "v1.0.0"),
            "live/prod/net/main.tf": unit("network", "v1.0.0"),
        }
    )
    assert dep.chain is not None and [s.env for s in dep.chain.steps] == ["dev", "canary", "stage", "prod"]
    assert (dep.action, dep.env) == (Action.OPEN, "canary")
    assert [(b.module, b.tag) for b in dep.bumps] == [("modules/network", "v1.2.0")]


def test_never_backwards_and_never_a_module_the_previous_environment_does_not_use() -> None:
    dep = _pure(
        {
            ".catalog-ops.yml": CONFIG,
            "live/dev/net/main.tf": unit("network", "v1.2.0"),
            "live/stage/net/main.tf": unit("network", "v1.2.0"),
            "live/prod/net/main.tf": unit("network", "v1.2.0"),  # prod only: naming
            "live/prod/name/main.tf": unit("naming", "v1.0.0"),
        }
    )
    assert dep.action is Action.NOTHING and states(dep) == ["current", "current", "current"]
    prod_naming = next(r for r in dep.refs if r.path == "live/prod/name/main.tf")
    assert prod_naming.action.value == "skip"
    assert prod_naming.reason == "modules/naming is not used in stage: nothing to promote from there"
    ahead = _pure(
        {
            ".catalog-ops.yml": CONFIG,
            "live/dev/net/main.tf": unit("network", "v1.2.0"),
            "live/stage/net/main.tf": unit("network", "v1.0.0"),
            "live/prod/net/main.tf": unit("network", "v1.2.0"),  # ahead of stage: left alone
        }
    )
    assert (ahead.action, ahead.env) == (Action.OPEN, "stage")
    assert ahead.chain is not None and ahead.chain.steps[2].state is StepState.WAITING
    assert ahead.files == ("live/stage/net/main.tf",)


def test_an_environment_whose_globs_match_no_file_skips_the_dependent(world: World) -> None:
    """A glob typo (``live/prd/**``) must not move prod's files in the dev PR (references in no
    environment follow the first one): the dependent is skipped, naming the environment and glob
    (new-user trial)."""
    w = world
    w.make_repo(LIVE, live_files(CONFIG.replace('prod: ["live/prod/**"]', 'prod: ["live/prd/**"]')))
    w.release("v1.1.0", ("modules/network", "modules/naming"))
    dep = live(w.plan())
    assert dep.action is Action.SKIP
    assert "environments match no file that can hold a reference (prod: live/prd/**)" in (dep.reason or "")
    w.apply(w.plan())
    assert w.pr("dev") is None
    assert w.ref_in("live/prod/net/main.tf") == "v1.0.0"


@pytest.mark.parametrize(
    ("glob", "problem"),
    [
        ("/live/dev/**", "starts with '/'"),
        ("../live/dev/**", "has a '..' component"),
        ("live/[dev/**", "has an unclosed '['"),
    ],
)
def test_environment_globs_that_can_never_match_are_config_errors(glob: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(problem)):
        parse_config(CONFIG.replace('dev: ["live/dev/**"]', f'dev: ["{glob}"]'))


def test_wave_facts_see_the_chain_step_pr(world: World) -> None:
    """The open PR of the chain's step is read on its environment's branch: its state is ``open``
    (its PR for this release is up), not ``waiting``."""
    w = world
    w.make_repo(LIVE, live_files())
    w.make_repo("acme/plain", {"main.tf": unit("network", "v1.0.0")})
    waves = b"rollout:\n  waves:\n    - name: canary\n      repos: [acme/live]\n"
    parent = w.forge.branch_sha(CATALOG, "main")
    w.forge.commit_files(
        CATALOG, "main", parent_sha=parent, message="waves", changes=[FileChange(".catalog-ops.yml", waves)]
    )
    w.release("v1.1.0", ("modules/network",))
    w.apply(w.plan())
    dev_pr = w.pr("dev")
    assert dev_pr is not None
    plan = w.plan()
    dep = live(plan)
    assert (dep.action, dep.env, dep.existing_pr) == (Action.UPDATE, "dev", dev_pr.number)
    assert (dep.wave, dep.state.value) == ("canary", "open")
    assert dep.next_step.startswith("its rollout PR is open")
    assert "moves" not in plan.next_step  # its PR rolls out this release already
    canary = plan.waves[0]
    assert (canary["name"], canary["counts"], canary["started_at"] is not None) == (
        "canary",
        {"open": 1},
        True,
    )


def test_commands_are_read_on_the_chain_step_pr(world: World) -> None:
    """A writer's ``/catalog-ops ignore this module`` on the dev PR of a chain: the plan reads it
    (environment branch), closes the PR saying the owners ignored it, and acknowledges it once;
    a reader's command is refused with a reply."""
    w = world
    if w.emu is None:
        w.make_repo(LIVE, live_files())
        w.forge.set_repo_settings(LIVE, collaborators={"alice": "write", "bob": "read"})
    else:  # bob: triage, which GitHub's permission maps to read
        w.emu.create_repo(LIVE, files=live_files(), collaborators=["alice"], roles={"bob": "triage"})
    w.release("v1.1.0", ("modules/network",))
    w.apply(w.plan())
    dev_pr = w.pr("dev")
    assert dev_pr is not None
    assert "`/catalog-ops ignore this module`" in dev_pr.body  # the chain's PR offers the commands
    bob = _comment(w, dev_pr.number, "/catalog-ops rebase", "bob")
    alice = _comment(w, dev_pr.number, "/CATALOG-OPS ignore this module", "alice")
    dep = live(w.plan())
    assert [(d.comment, d.pr, d.verdict.value) for d in dep.commands] == [
        (bob, dev_pr.number, "refused"),
        (alice, dev_pr.number, "honoured"),
    ]
    assert (dep.action, dep.existing_pr) == (Action.CLOSE, dev_pr.number)
    w.apply(w.plan())
    closed = w.forge.get_pull(LIVE, dev_pr.number)
    assert closed.state is PullState.CLOSED
    bodies = [c.body for c in w.forge.list_comments(LIVE, dev_pr.number)]
    closing = [b for b in bodies if b.startswith("Closing")]
    assert len(closing) == 1 and closing[0].startswith(
        "Closing: the owners of acme/live ignored what this PR proposes:\n"
        "- `/catalog-ops ignore this module` from alice: modules/network ignored\n"
    )
    (state,) = [b for b in bodies if "<!-- catalog-ops:commands" in b]
    assert "from bob: **refused**: bob does not have write access to acme/live (permission: read)" in state
    # a rerun: nothing new, and the module stays ignored in every environment
    again = live(w.plan())
    assert again.commands == () and again.action is Action.NOTHING
    assert [b for b in (c.body for c in w.forge.list_comments(LIVE, dev_pr.number)) if "commands" in b] == [
        state
    ]


def _comment(w: World, number: int, body: str, author: str) -> int:
    """Post ``body`` as ``author`` on ``LIVE``'s PR ``number``; its comment id."""
    if w.emu is None:
        return int(w.forge.add_comment(LIVE, number, body, author=author).id)
    return int(w.emu.comment(LIVE, number, body, login=author)["id"])
