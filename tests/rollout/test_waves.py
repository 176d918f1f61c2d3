"""Waves, strategies and pace (issue 19, part B): the catalog's ``rollout:`` section and a
dependent's overrides, wave membership and gating, next-safe, minimum release age, windows and
caps — as pure tables and as rollouts on the local forge, with an injected clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from catalog_ops.catalog.config import parse_config
from catalog_ops.core.schedule import next_open, parse_duration, parse_window
from catalog_ops.errors import ConfigError
from catalog_ops.forge.base import ChecksState, FileChange
from catalog_ops.forge.local import LocalForge
from catalog_ops.render.report import OutcomeKind
from catalog_ops.rollout.config import Wave, parse_rollout_config
from catalog_ops.rollout.model import Action, DependentPlan, DependentState, Plan
from catalog_ops.rollout.waves import (
    EVERYONE_ELSE,
    PARTIAL_SELECTION,
    Facts,
    rollout_next,
    wave_index,
    wave_statuses,
)
from fixtures.rollout import (
    BRANCH,
    CATALOG,
    RolloutWorld,
    dependent_of,
    network_module,
    outcome_kinds,
)

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --------------------------------------------------------------------------- config
def test_rollout_section_parses_every_key() -> None:
    cfg = parse_rollout_config(
        """\
checks: {}
rollout:
  strategy: next-safe
  min_release_age: 3d
  exempt: [min_release_age, windows]
  windows:
    - {days: [mon, tue], hours: "09:00-17:00", timezone: Europe/Berlin}
  max_open_prs: 2
  max_new_prs: 10
  waves:
    - {name: canary, repos: [acme/payments]}
    - {name: early, match: ["web-*"], topics: [early], share: 0.5, time_limit: 12h}
"""
    )
    assert cfg.strategy == "next-safe" and cfg.min_release_age == 3 * 86400
    assert cfg.exempt == ("min_release_age", "windows")
    assert cfg.windows[0].days == (0, 1) and cfg.windows[0].start == 9 * 60
    assert cfg.windows[0].timezone == "Europe/Berlin"
    assert (cfg.max_open_prs, cfg.max_new_prs) == (2, 10)
    assert cfg.waves == (
        Wave(name="canary", repos=("acme/payments",)),
        Wave(name="early", match=("web-*",), topics=("early",), share=0.5, time_limit=12 * 3600.0),
    )
    # the plan stores it and reads it back
    assert type(cfg).from_json(cfg.to_json()) == cfg


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rollout:\n  strategy: fastest\n", "x.yml:2:13: rollout.strategy: must be one of latest, next-safe"),
        ("rollout:\n  min_release_age: 3 days\n", "x.yml:2:20: rollout.min_release_age: must be a duration"),
        (
            "rollout:\n  windows:\n    - {timezone: Mars/Olympus}\n",
            "x.yml:3:7: rollout.windows: timezone: unknown time zone",
        ),
        (
            "rollout:\n  windows:\n    - {hours: '9-17'}\n",
            "x.yml:3:7: rollout.windows: hours: must be HH:MM-HH:MM",
        ),
        (
            "rollout:\n  waves:\n    - {name: a, share: 2, repos: [x/y]}\n",
            "x.yml:3:24: rollout.waves[0]: share: must be a number in (0, 1]",
        ),
        ("rollout:\n  waves:\n    - {name: a}\n", "x.yml:3:7: rollout.waves[0]: wave 'a' names no repos"),
        (
            "rollout:\n  waves:\n    - {name: a, match: ['**/**/**/**/**/**/**/**/**']}\n",
            "x.yml:3:24: rollout.waves[0]: match: glob has 9 '**'",
        ),
        ("rollout:\n  speed: 3\n", "x.yml:2:3: rollout.speed: unknown key"),
        ("rollout:\n  exempt: [checks]\n", "x.yml:2:11: rollout.exempt: unknown rule 'checks'"),
    ],
)
def test_rollout_section_errors_name_file_line_col(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_rollout_config(text, "x.yml")
    assert str(info.value).startswith(expected), str(info.value)


def test_every_wave_error_at_its_key_in_one_run() -> None:
    text = (
        "rollout:\n  waves:\n    - name: canary\n      repos: [a/b]\n      share: 2\n"
        "      time_limit: 2 days\n      bogus: 1\n    - name: ''\n      match: [x]\n  strategy: fast\n"
    )
    with pytest.raises(ConfigError) as info:
        parse_rollout_config(text, "x.yml")
    assert str(info.value).splitlines() == [
        "x.yml:7:7: rollout.waves[0]: unknown key 'bogus' in a wave (known: name, repos, match, topics, share, time_limit)",
        "x.yml:5:14: rollout.waves[0]: share: must be a number in (0, 1] (got 2)",
        "x.yml:6:19: rollout.waves[0]: time_limit: must be a duration such as 90m, 12h, 3d or 1w (got '2 days')",
        "x.yml:8:13: rollout.waves[1]: name: must be a non-empty string",
        "x.yml:10:13: rollout.strategy: must be one of latest, next-safe (got 'fast')",
    ]


def test_dependent_overrides_and_their_errors() -> None:
    cfg = parse_config(
        'strategy: next-safe\nmin_release_age: 0\nmax_open_prs: 1\nwindows: [{days: [sat], hours: "22:00-02:00"}]\n'
        "rollout: {ignored: here}\n"
    )
    assert cfg.strategy == "next-safe" and cfg.min_release_age == 0.0 and cfg.max_open_prs == 1
    assert cfg.windows is not None and cfg.windows[0].start == 22 * 60 and cfg.windows[0].end == 2 * 60
    assert type(cfg).from_json(cfg.to_json()) == cfg
    with pytest.raises(ConfigError, match=r"^d.yml:1:11: key 'strategy': must be one of latest, next-safe"):
        parse_config("strategy: newest\n", "d.yml")
    with pytest.raises(ConfigError, match=r"^d.yml:1:10: key 'windows': days: unknown day 'someday'"):
        parse_config("windows: [{days: [someday]}]\n", "d.yml")
    with pytest.raises(ConfigError, match=r"^d.yml:1:15: key 'max_open_prs': must be an integer >= 0"):
        parse_config("max_open_prs: -1\n", "d.yml")


# --------------------------------------------------------------------------- windows, durations
def test_durations() -> None:
    assert [parse_duration(x) for x in ("90m", "12h", "3d", "1w", 0)] == [5400, 43200, 259200, 604800, 0]
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_windows_in_their_time_zone_and_past_midnight() -> None:
    berlin = parse_window(
        {"days": ["mon", "tue", "wed", "thu", "fri"], "hours": "09:00-17:00", "timezone": "Europe/Berlin"}
    )
    # Saturday 12:00 UTC -> Monday 09:00 Berlin (08:00 UTC in winter)
    assert next_open([berlin], at("2026-12-12T12:00:00Z")) == at("2026-12-14T08:00:00Z")
    assert berlin.contains(at("2026-12-14T08:30:00Z")) and not berlin.contains(at("2026-12-14T16:00:00Z"))
    # in summer, Berlin is UTC+2
    assert next_open([berlin], at("2026-07-11T12:00:00Z")) == at("2026-07-13T07:00:00Z")
    night = parse_window({"days": ["sat"], "hours": "22:00-02:00"})
    assert night.contains(at("2026-12-12T23:00:00Z"))  # Saturday 23:00
    assert night.contains(at("2026-12-13T01:00:00Z"))  # Sunday 01:00 belongs to Saturday's window
    assert not night.contains(at("2026-12-13T23:00:00Z"))  # Sunday 23:00
    assert next_open([night], at("2026-12-13T03:00:00Z")) == at("2026-12-19T22:00:00Z")
    assert next_open([], at("2026-12-13T03:00:00Z")) == at("2026-12-13T03:00:00Z")


# --------------------------------------------------------------------------- waves, pure
WAVES = (
    Wave(name="canary", repos=("acme/Payments",)),
    Wave(name="early", match=("web-*",), topics=("early",), share=0.5),
)


def test_wave_membership_first_wave_wins_and_the_rest_go_last() -> None:
    assert wave_index("acme/payments", (), WAVES) == 0
    assert wave_index("acme/web-shop", (), WAVES) == 1
    assert wave_index("acme/api", ("Early",), WAVES) == 1
    assert wave_index("acme/payments", ("early",), WAVES) == 0
    assert wave_index("acme/api", (), WAVES) == 2


def _facts(**states: DependentState) -> list[Facts]:
    return [Facts(repo=f"acme/{name.replace('_', '-')}", state=state) for name, state in states.items()]


def test_wave_gates_merge_share_and_failure() -> None:
    now = at("2026-12-07T12:00:00Z")
    s = DependentState
    statuses = wave_statuses(WAVES, _facts(payments=s.OPEN, web_a=s.WAITING, api=s.WAITING), now)
    assert [(w.name, w.may_start) for w in statuses] == [
        ("canary", True),
        ("early", False),
        (EVERYONE_ELSE, False),
    ]
    assert statuses[1].reason == "waits for wave 'canary': 0 of 1 merged"
    # canary merged: early starts; half of early merged (share 0.5): everyone else starts
    statuses = wave_statuses(
        WAVES, _facts(payments=s.MERGED, web_a=s.MERGED, web_b=s.OPEN, api=s.WAITING), now
    )
    assert [w.may_start for w in statuses] == [True, True, True]
    # a failed member stops every later wave, and says which PR
    failed = [
        *_facts(payments=s.MERGED, web_b=s.OPEN, api=s.WAITING),
        Facts(repo="acme/web-a", state=s.FAILED, why="#4: checks failed"),
    ]
    statuses = wave_statuses(WAVES, failed, now)
    assert [w.may_start for w in statuses] == [True, True, False]
    assert statuses[1].failed and statuses[1].failures == ("acme/web-a #4: checks failed",)
    assert statuses[2].reason == "rollout stopped: wave 'early' failed: acme/web-a #4: checks failed"


def test_wave_time_limit_with_an_injected_clock() -> None:
    waves = (Wave(name="canary", repos=("acme/payments",), time_limit=86400.0),)
    opened = at("2026-12-07T10:00:00Z")
    facts = [
        Facts(repo="acme/payments", state=DependentState.OPEN, opened_at=opened),
        Facts(repo="acme/api", state=DependentState.WAITING),
    ]
    before = wave_statuses(waves, facts, opened + dt.timedelta(hours=23))
    assert not before[1].may_start and before[1].opens_at == opened + dt.timedelta(days=1)
    assert "or its time limit at 2026-12-08T10:00Z" in before[1].reason
    assert wave_statuses(waves, facts, opened + dt.timedelta(hours=24))[1].may_start


def test_the_next_step_counts_only_the_open_prs_the_run_moves_to_this_release() -> None:
    """An open PR for an older release is moved; one for this release (open, or failing its
    checks) is only refreshed when its changes moved: "moves N" counts the first kind only."""
    s = DependentState
    deps = [
        DependentPlan(repo="acme/old", action=Action.UPDATE, state=s.WAITING),
        DependentPlan(repo="acme/open", action=Action.UPDATE, state=s.OPEN),
        DependentPlan(repo="acme/red", action=Action.UPDATE, state=s.FAILED),
        DependentPlan(repo="acme/new", action=Action.OPEN, state=s.WAITING),
    ]
    assert rollout_next(deps, []) == (
        "this run opens 1 and moves 1 open rollout PR to this release; "
        "1 open rollout PR waits for checks and merge (refreshed when their changes moved)"
    )
    only_failed = [DependentPlan(repo="acme/red", action=Action.UPDATE, state=s.FAILED)]
    assert "moves" not in rollout_next(only_failed, [])


# --------------------------------------------------------------------------- local forge
CANARY_CONFIG = "rollout:\n  waves:\n    - name: canary\n      repos: [acme/canary]\n"


def _catalog_config(w: RolloutWorld, text: str) -> None:
    w.push(CATALOG, {".catalog-ops.yml": text}, message="rollout config")


def _three(w: RolloutWorld, config: str = CANARY_CONFIG) -> tuple[str, str, str]:
    w.release("v1.0.0", modules=["modules/network"])
    repos = tuple(w.dependent(n, {"main.tf": network_module("v1.0.0")}) for n in ("canary", "app1", "app2"))
    _catalog_config(w, config)
    w.release("v1.1.0", modules=["modules/network"])
    return repos  # type: ignore[return-value]


def _actions(plan: Plan) -> dict[str, str]:
    return {d.repo: d.action.value for d in plan.dependents}


def _open_numbers(w: RolloutWorld, repo: str) -> list[int]:
    return [
        p["number"]
        for p in w.forge.load_record(repo)["pulls"]
        if p["state"] == "open" and p["head"] == BRANCH
    ]


def test_canary_wave_opens_first_and_the_next_wave_after_it_merged(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    canary, app1, app2 = _three(w)
    plan = w.plan()
    assert _actions(plan) == {canary: "open", app1: "hold", app2: "hold"}
    held = dependent_of(plan, app1)
    assert held.wave == EVERYONE_ELSE and held.state is DependentState.WAITING
    assert held.next_step == "waits for wave 'canary': 0 of 1 merged"
    assert dependent_of(plan, canary).wave == "canary"
    assert "wave 'everyone else' waits for wave 'canary'" in plan.next_step
    assert [wv["name"] for wv in plan.waves] == ["canary", EVERYONE_ELSE]
    report = w.apply(plan)
    assert outcome_kinds(report) == {canary: "opened", app1: "skipped", app2: "skipped"}
    assert _open_numbers(w, app1) == [] and len(_open_numbers(w, canary)) == 1
    # a rerun converges: nothing new is written, the others still wait
    again = w.plan()
    assert _actions(again) == {canary: "update", app1: "hold", app2: "hold"}
    assert dependent_of(again, canary).state is DependentState.OPEN
    assert outcome_kinds(w.apply(again)) == {canary: "up_to_date", app1: "skipped", app2: "skipped"}
    # the canary merges: the next wave opens
    (number,) = _open_numbers(w, canary)
    w.forge.merge_pull(canary, number)
    plan = w.plan()
    assert _actions(plan) == {canary: "nothing", app1: "open", app2: "open"}
    assert dependent_of(plan, canary).state is DependentState.MERGED
    assert outcome_kinds(w.apply(plan)) == {canary: "up_to_date", app1: "opened", app2: "opened"}


@pytest.fixture
def breakable(local_forge_factory: Callable[..., LocalForge], tmp_path: Path) -> tuple[RolloutWorld, Path]:
    """A world whose PR checks fail while ``tmp_path/broken`` exists."""
    flag = tmp_path / "broken"
    return RolloutWorld(local_forge_factory(checks_command=f"test ! -e {flag}")), flag


def test_a_failed_canary_stops_the_rollout_and_it_continues_when_fixed(
    breakable: tuple[RolloutWorld, Path],
) -> None:
    w, flag = breakable
    canary, app1, _ = _three(w)
    flag.write_text("x")
    w.apply(w.plan())
    (number,) = _open_numbers(w, canary)
    # a plan reads the checks and never runs them: the canary's CI has not reported yet
    assert dependent_of(w.plan(), canary).state is DependentState.OPEN
    assert w.forge.run_checks(canary, number) is ChecksState.FAILURE  # the local CI (`forge checks`)
    plan = w.plan()
    assert dependent_of(plan, canary).state is DependentState.FAILED
    stopped = f"rollout stopped: wave 'canary' failed: {canary} #{number}: checks failed"
    assert dependent_of(plan, app1).action is Action.HOLD and dependent_of(plan, app1).reason == stopped
    assert plan.next_step.startswith(stopped.replace("failed: ", "failed (", 1).split(" #")[0])
    assert plan.waves[0]["failed"] and plan.waves[0]["failures"] == [f"{canary} #{number}: checks failed"]
    # fixed: the checks are rerun and pass; the next wave still waits for the merge, then opens
    flag.unlink()
    w.forge.rerun_checks(canary, number)
    plan = w.plan()
    assert dependent_of(plan, app1).reason == "waits for wave 'canary': 0 of 1 merged"
    w.forge.merge_pull(canary, number)
    assert _actions(w.plan())[app1] == "open"


def test_a_canary_closed_unmerged_by_a_person_stops_the_rollout(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    canary, app1, _ = _three(w)
    w.apply(w.plan())
    (number,) = _open_numbers(w, canary)
    w.forge.close_pull(canary, number)
    plan = w.plan()
    assert dependent_of(plan, canary).state is DependentState.FAILED
    assert (
        dependent_of(plan, app1).reason
        == f"rollout stopped: wave 'canary' failed: {canary} #{number}: closed unmerged by a person"
    )
    # apply does not reopen it (closed by a person) nor opens the others
    assert outcome_kinds(w.apply(plan)) == {canary: "skipped", app1: "skipped", "acme/app2": "skipped"}


def test_wave_time_limit_on_the_forge(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    config = "rollout:\n  waves:\n    - {name: canary, repos: [acme/canary], time_limit: 1d}\n"
    canary, app1, _ = _three(w, config)
    w.apply(w.plan())
    (number,) = _open_numbers(w, canary)
    opened = at(w.forge.get_pull(canary, number).created_at)
    soon = w.plan(clock=lambda: opened + dt.timedelta(hours=2))
    assert dependent_of(soon, app1).action is Action.HOLD
    assert dependent_of(soon, app1).held_until == (opened + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%MZ")
    later = w.plan(clock=lambda: opened + dt.timedelta(days=1, minutes=1))
    assert _actions(later)[app1] == "open"


def _published(w: RolloutWorld, tag: str) -> dt.datetime:
    rel = w.forge.get_release(CATALOG, tag)
    assert rel is not None
    return at(rel.published_at)


def test_minimum_release_age_holds_a_young_release_until_it_ages(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("app", {"main.tf": network_module("v1.0.0")})
    _catalog_config(w, "rollout:\n  min_release_age: 3d\n")
    w.release("v1.1.0", modules=["modules/network"])
    published = _published(w, "v1.1.0")
    young = w.plan(clock=lambda: published + dt.timedelta(hours=1))
    dep = dependent_of(young, repo)
    until = (published + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%MZ")
    assert dep.action is Action.HOLD and dep.held_until == until and dep.state is DependentState.HELD
    assert dep.reason == f"held by schedule until {until}: v1.1.0 is younger than the minimum release age 3d"
    assert outcome_kinds(w.apply(young)) == {repo: "skipped"} and _open_numbers(w, repo) == []
    aged = w.plan(clock=lambda: published + dt.timedelta(days=3, minutes=1))
    assert _actions(aged) == {repo: "open"}
    # an older, aged release is still a target while a newer one is young (v1.1.0 published
    # four days before v1.2.0: the local forge's record is dated back)
    w.release("v1.2.0", modules=["modules/network"])
    newest = _published(w, "v1.2.0")
    with w.forge._edit(CATALOG) as data:
        rec = next(r for r in data["releases"] if r["tag"] == "v1.1.0")
        rec["published_at"] = (newest - dt.timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%SZ")
    mixed = w.plan(clock=lambda: newest + dt.timedelta(hours=1))
    assert {b.tag for b in dependent_of(mixed, repo).bumps} == {"v1.1.0"}
    assert dependent_of(mixed, repo).refs[0].held_until is not None


def test_security_releases_skip_the_minimum_age_by_default(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("app", {"main.tf": network_module("v1.0.0")})
    _catalog_config(w, "rollout:\n  min_release_age: 3d\n")
    w.release("v1.1.0", modules=["modules/network"], urgency="security")
    plan = w.plan(clock=lambda: _published(w, "v1.1.0"))
    assert _actions(plan) == {repo: "open"}
    _catalog_config(w, "rollout:\n  min_release_age: 3d\n  exempt: []\n")
    assert _actions(w.plan(clock=lambda: _published(w, "v1.1.0")))[repo] == "hold"


def test_next_safe_stops_before_a_breaking_release(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    behind = w.dependent(
        "behind", {"main.tf": network_module("v1.0.0"), ".catalog-ops.yml": "strategy: next-safe\n"}
    )
    w.release("v1.1.0", modules=["modules/network"])
    at_edge = w.dependent(
        "edge", {"main.tf": network_module("v1.1.0"), ".catalog-ops.yml": "strategy: next-safe\n"}
    )
    latest = w.dependent("latest", {"main.tf": network_module("v1.0.0")})
    w.release("v2.0.0", modules=["modules/network"], breaking=True)
    w.release("v2.1.0", modules=["modules/network"])
    plan = w.plan()
    assert [b.tag for b in dependent_of(plan, behind).bumps] == ["v1.1.0"]
    edge = dependent_of(plan, at_edge)
    assert edge.action is Action.NOTHING
    assert "strategy next-safe: the next release v2.0.0 is breaking for modules/network" in (
        edge.reason or ""
    )
    assert [b.tag for b in dependent_of(plan, latest).bumps] == ["v2.1.0"]
    # the catalog's default applies to every dependent without its own strategy
    _catalog_config(w, "rollout:\n  strategy: next-safe\n")
    assert [b.tag for b in dependent_of(w.plan(), latest).bumps] == ["v1.1.0"]


def test_next_safe_counts_a_metadata_breaking_minor_as_breaking(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v0.1.0", modules=["modules/network"])
    repo = w.dependent(
        "app", {"main.tf": network_module("v0.1.0"), ".catalog-ops.yml": "strategy: next-safe\n"}
    )
    w.release("v0.1.1", modules=["modules/network"])
    w.release("v0.2.0", modules=["modules/network"], breaking=True)  # feat!: in 0.x
    assert [b.tag for b in dependent_of(w.plan(), repo).bumps] == ["v0.1.1"]


def test_windows_hold_until_the_next_window(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repo = w.dependent("app", {"main.tf": network_module("v1.0.0")})
    night = w.dependent(
        "night",
        {
            "main.tf": network_module("v1.0.0"),
            ".catalog-ops.yml": 'windows: [{days: [sat], hours: "10:00-14:00"}]\n',
        },
    )
    _catalog_config(
        w,
        'rollout:\n  windows: [{days: [mon, tue, wed, thu, fri], hours: "09:00-17:00", timezone: Europe/Berlin}]\n',
    )
    w.release("v1.1.0", modules=["modules/network"])
    saturday = w.plan(clock=lambda: at("2026-12-12T12:00:00Z"))
    dep = dependent_of(saturday, repo)
    assert dep.action is Action.HOLD and dep.held_until == "2026-12-14T08:00Z"
    assert dep.reason == (
        "held by schedule until 2026-12-14T08:00Z: outside the rollout windows "
        "(mon,tue,wed,thu,fri 09:00-17:00 Europe/Berlin)"
    )
    assert _actions(saturday)[night] == "open"  # its own window (UTC) overrides the catalog's
    monday = w.plan(clock=lambda: at("2026-12-14T08:00:00Z"))
    assert _actions(monday) == {repo: "open", night: "hold"}


def test_caps_per_run_and_per_dependent_hold_and_reruns_converge(rollout_world: RolloutWorld) -> None:
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repos = [w.dependent(f"app{i}", {"main.tf": network_module("v1.0.0")}) for i in range(3)]
    busy = w.dependent("busy", {"main.tf": network_module("v1.0.0"), ".catalog-ops.yml": "max_open_prs: 1\n"})
    # busy already has an open catalog-ops PR from another catalog
    w.forge.commit_files(
        busy,
        "catalog-ops/acme-other",
        parent_sha=w.forge.branch_sha(busy, "main") or "",
        message="other catalog",
        changes=[FileChange("other.tf", b"# other\n")],
    )
    w.forge.open_pull(busy, head="catalog-ops/acme-other", base="main", title="other", body="other")
    _catalog_config(w, "rollout:\n  max_new_prs: 2\n")
    w.release("v1.1.0", modules=["modules/network"])
    plan = w.plan()
    actions = _actions(plan)
    assert sorted(actions[r] for r in repos) == ["hold", "open", "open"]
    assert actions[busy] == "hold"
    held = next(d for d in plan.dependents if d.repo in repos and d.action is Action.HOLD)
    assert held.reason == "held by cap: at most 2 new rollout PRs per run"
    assert dependent_of(plan, busy).reason == "held by cap: 1 open rollout PR, at most 1 in this repository"
    w.apply(plan)
    assert sum(len(_open_numbers(w, r)) for r in repos) == 2
    # the next run opens the last one; one more run writes nothing
    w.apply(w.plan())
    assert all(len(_open_numbers(w, r)) == 1 for r in repos)
    final = w.apply(w.plan())
    assert {outcome_kinds(final)[r] for r in repos} == {"up_to_date"}
    assert not any(o.kind is OutcomeKind.OPENED for o in final.outcomes)


def test_a_run_that_selects_by_name_opens_nothing_beyond_the_first_wave(rollout_world: RolloutWorld) -> None:
    """``--include app1`` (the dependent-side command workflow does that) sees no canary, so it
    cannot tell whether the canary wave is done: it must not open app1's PR (new-user trial:
    ``--include`` went around the canary)."""
    w = rollout_world
    canary, app1, _ = _three(w)
    w.apply(w.plan())
    assert _open_numbers(w, canary) and not _open_numbers(w, app1)
    narrowed = w.plan(include=["app1"])
    assert _actions(narrowed)[app1] == "hold"
    assert dependent_of(narrowed, app1).reason == PARTIAL_SELECTION
    w.apply(narrowed)
    assert not _open_numbers(w, app1)
    # the canary itself may be planned alone (first wave)
    assert _actions(w.plan(include=["canary"]))[canary] == "update"


def test_planning_starts_no_checks(local_forge_factory: Callable[..., LocalForge], tmp_path: Path) -> None:
    """`rollout plan` is read-only: over open rollout PRs whose checks never ran it starts no
    check run and writes no record (the local CI runs only for work: `forge checks`, the merge
    gate); a run done by then is read, not repeated."""
    runs = tmp_path / "runs"
    w = RolloutWorld(local_forge_factory(checks_command=f"echo run >> {runs}"))
    canary, _, _ = _three(w)
    w.apply(w.plan())
    (number,) = _open_numbers(w, canary)
    ran_by_apply = runs.read_text().count("run") if runs.exists() else 0
    records = {r: w.forge.record_path(r).read_bytes() for r in w.forge.all_repos()}
    plan = w.plan()
    assert dependent_of(plan, canary).action is Action.UPDATE  # its open PR was read
    assert (runs.read_text().count("run") if runs.exists() else 0) == ran_by_apply
    assert {r: w.forge.record_path(r).read_bytes() for r in w.forge.all_repos()} == records
    assert w.forge.run_checks(canary, number) is ChecksState.SUCCESS
    ran = runs.read_text().count("run")
    w.plan()
    assert runs.read_text().count("run") == ran


def test_without_waves_the_next_step_does_not_guess_the_release_of_open_prs(
    rollout_world: RolloutWorld,
) -> None:
    """No waves or caps: the plan reads no PR facts, so it cannot know whether an open rollout PR
    holds an older release (moved) or this one (waits): it says so instead of "moves 0" and
    "N wait for checks" (what the new-user trial saw in demo step 8, then apply moved all three)."""
    w = rollout_world
    w.release("v1.0.0", modules=["modules/network"])
    repos = [w.dependent(n, {"main.tf": network_module("v1.0.0")}) for n in ("app1", "app2")]
    w.release("v1.1.0", modules=["modules/network"])
    first = w.plan()
    assert first.next_step == "this run opens 2 and moves 0 open rollout PRs to this release"
    w.apply(first)
    w.release("v1.2.0", modules=["modules/network"])
    plan = w.plan()
    assert {d.repo: d.action for d in plan.dependents} == dict.fromkeys(repos, Action.UPDATE)
    assert plan.next_step == (
        "this run brings 2 open rollout PRs to this release "
        "(a PR already on it is refreshed only when its changes moved)"
    )
    report = w.apply(plan)
    assert {o.subject: o.kind.value for o in report.outcomes} == dict.fromkeys(repos, "updated")
