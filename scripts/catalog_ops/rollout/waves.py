"""Waves across dependents, and the schedule of one plan (pure: facts in, decisions out).

The catalog's ``rollout.waves`` orders dependents (``rollout.config.Wave``: explicit
``repos``, name globs ``match``, ``topics``; the first wave that claims a repository has it;
dependents in no wave form a last, unnamed wave "everyone else"). Where each dependent stands is
read from the forge while planning (``rollout.gather.rollout_facts``: its plan action, its
rollout PR's marker, state, checks and creation time) into ``Facts``; nothing else is stored,
so any run, on any runner, decides the same from the same forge state and a rerun continues
where the rollout stands.

**Wave N+1 may start** when wave N may start, has not failed, and has *advanced*: every member
is merged (up to date for the release), or, when the wave sets ``share``, at least that share
of its members merged, or, when it sets ``time_limit``, that long has passed since it started
(its first PR for the release was opened). A wave without members has advanced.

**A wave fails** when a member's rollout PR for the release has failing checks on its head, or
was closed unmerged by a person (a PR catalog-ops closed as superseded does not count). A failed
wave stops the rollout: no later wave starts, and the plan, summary and dashboard say which PR
and why. It continues by itself once fixed: the checks pass (rerun, or a fix on the base
branch and a PR update), the PR is merged by hand, or reopened.

``schedule`` applies the waves, windows and caps to a plan's dependents: work a dependent may
not do yet becomes ``hold`` with the reason and, when known, the moment it ends
(``held_until``); every dependent gets its ``state`` and ``next_step``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from catalog_ops.core.glob import glob_matches
from catalog_ops.core.versions import Urgency
from catalog_ops.rollout.config import RolloutConfig, Wave
from catalog_ops.rollout.model import Action, DependentPlan, DependentState, StepState
from catalog_ops.rollout.pace import format_time, pace_for, window_hold, window_reason

EVERYONE_ELSE = "everyone else"
"""Name of the last wave: dependents no configured wave claims."""


def _open_prs(n: int) -> str:
    """``"1 open rollout PR"``, ``"2 open rollout PRs"``."""
    return f"{n} open rollout PR{'' if n == 1 else 's'}"


def wave_index(repo: str, topics: Sequence[str], waves: Sequence[Wave]) -> int:
    """Index of the first wave that claims ``repo`` (``owner/name``; explicit ``repos``
    case-insensitively, ``match`` globs on the name part via ``core.glob``, any of ``topics``),
    ``len(waves)`` for none (the last wave)."""
    name = repo.split("/", 1)[-1]
    lowered = repo.lower()
    have = {t.lower() for t in topics}
    for i, wave in enumerate(waves):
        if any(r.lower() == lowered for r in wave.repos):
            return i
        if any(glob_matches(pattern, name) for pattern in wave.match):
            return i
        if any(t.lower() in have for t in wave.topics):
            return i
    return len(waves)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Facts:
    """What the forge says about one dependent for the plan's release.

    Attributes:
        repo: ``owner/name``. topics: its repository topics (for wave membership).
        state: ``DependentState`` (``NONE``: not part of the rollout).
        opened_at: when its rollout PR for this release was opened (aware), None if none was.
        why: for ``FAILED``: which PR and what (``"#3: checks failed"``).
        open_prs: open catalog-ops rollout PRs in the repository (any catalog), None: not read.
    """

    repo: str
    topics: tuple[str, ...] = ()
    state: DependentState = DependentState.NONE
    opened_at: _dt.datetime | None = None
    why: str = ""
    open_prs: int | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class WaveStatus:
    """Where one wave stands.

    Attributes:
        index / name: position and name (``EVERYONE_ELSE`` for the last, implicit one).
        counts: members per ``DependentState`` value (``none`` left out).
        may_start: its PRs may be opened now.
        advanced: the next wave may start as far as this one is concerned.
        failed: a member failed (``failures`` say which, ``"acme/x #3: checks failed"``).
        started_at: when its first PR for the release was opened.
        opens_at: for a wave that may not start yet: when an earlier wave's time limit lets it
            start (None: it waits for merges).
        reason: one line: why it may not start, or what it waits for.
    """

    index: int
    name: str
    counts: Mapping[str, int]
    may_start: bool
    advanced: bool
    failed: bool
    failures: tuple[str, ...] = ()
    started_at: _dt.datetime | None = None
    opens_at: _dt.datetime | None = None
    reason: str = ""

    @property
    def members(self) -> int:
        """Dependents of the wave that take part in the rollout."""
        return sum(self.counts.values())

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (the plan's ``waves``)."""
        return {
            "index": self.index,
            "name": self.name,
            "counts": dict(self.counts),
            "members": self.members,
            "may_start": self.may_start,
            "advanced": self.advanced,
            "failed": self.failed,
            "failures": list(self.failures),
            "started_at": format_time(self.started_at) if self.started_at else None,
            "opens_at": format_time(self.opens_at) if self.opens_at else None,
            "reason": self.reason,
        }


def _advanced(
    wave: Wave | None, members: Sequence[Facts], now: _dt.datetime
) -> tuple[bool, _dt.datetime | None]:
    """``(advanced, limit_at)``: whether the wave lets the next one start, and when its time
    limit will (None when it has none or has not started)."""
    total = len(members)
    merged = sum(1 for f in members if f.state is DependentState.MERGED)
    if total == 0 or merged == total:
        return True, None
    if wave is not None and wave.share is not None and merged >= wave.share * total:
        return True, None
    started = min((f.opened_at for f in members if f.opened_at is not None), default=None)
    if wave is not None and wave.time_limit is not None and started is not None:
        limit_at = started + _dt.timedelta(seconds=wave.time_limit)
        return now >= limit_at, limit_at
    return False, None


def wave_statuses(waves: Sequence[Wave], facts: Sequence[Facts], now: _dt.datetime) -> list[WaveStatus]:
    """Every wave's ``WaveStatus`` from the dependents' ``facts`` at ``now`` (module docstring
    for the rules), the implicit last wave included when it has members or no wave is
    configured."""
    groups: dict[int, list[Facts]] = {}
    for f in facts:
        if f.state is DependentState.NONE:
            continue
        groups.setdefault(wave_index(f.repo, f.topics, waves), []).append(f)
    out: list[WaveStatus] = []
    gate, blocker, opens_at = True, "", None
    count = len(waves) + (1 if groups.get(len(waves)) or not waves else 0)
    for i in range(count):
        wave = waves[i] if i < len(waves) else None
        members = groups.get(i, [])
        counts: dict[str, int] = {}
        for f in members:
            counts[f.state.value] = counts.get(f.state.value, 0) + 1
        failures = tuple(f"{f.repo} {f.why}".strip() for f in members if f.state is DependentState.FAILED)
        advanced, limit_at = _advanced(wave, members, now)
        advanced = advanced and not failures
        started = min((f.opened_at for f in members if f.opened_at is not None), default=None)
        name = wave.name if wave else EVERYONE_ELSE
        out.append(
            WaveStatus(
                index=i,
                name=name,
                counts=counts,
                may_start=gate,
                advanced=advanced,
                failed=bool(failures),
                failures=failures,
                started_at=started,
                opens_at=None if gate else opens_at,
                reason="" if gate else blocker,
            )
        )
        if gate and not advanced:
            merged = counts.get(DependentState.MERGED.value, 0)
            if failures:
                blocker = f"rollout stopped: wave {name!r} failed: {'; '.join(failures[:3])}"
                opens_at = None
            else:
                need = f"{merged} of {len(members)} merged" + (
                    f", {wave.share:.0%} needed" if wave and wave.share is not None else ""
                )
                blocker = f"waits for wave {name!r}: {need}"
                if limit_at is not None:
                    blocker += f", or its time limit at {format_time(limit_at)}"
                opens_at = limit_at
            gate = False
    return out


_STATE_OF_ACTION = {
    Action.OPEN: DependentState.WAITING,
    Action.UPDATE: DependentState.OPEN,
    Action.CLOSE: DependentState.MERGED,
    Action.HOLD: DependentState.HELD,
}


def state_of(dep: DependentPlan) -> DependentState:
    """A dependent's state from its plan alone (before the forge facts refine it): up to date
    with references, or a superseded PR to close -> merged; a PR to open -> waiting; an open
    PR -> open; held -> held; the rest -> none."""
    if dep.action is Action.NOTHING:
        return DependentState.MERGED if dep.refs else DependentState.NONE
    return _STATE_OF_ACTION.get(dep.action, DependentState.NONE)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Schedule:
    """What ``schedule`` decided: the dependents (with ``hold``/``state``/``next_step``), the
    waves, and the rollout's next step in one line."""

    dependents: tuple[DependentPlan, ...]
    waves: tuple[WaveStatus, ...]
    next_step: str


PARTIAL_SELECTION = (
    "held: this run selects only some dependents by name (--include/--exclude), so the waves "
    "before this one cannot be judged; the rollout run over every dependent opens it"
)


def schedule(
    dependents: Sequence[DependentPlan],
    facts: Mapping[str, Facts],
    config: RolloutConfig,
    now: _dt.datetime,
    *,
    partial: bool = False,
) -> Schedule:
    """Apply waves, windows and caps to the planned ``dependents`` at ``now``.

    ``facts`` (repo -> ``Facts``) come from the forge (missing: from the plan alone). In order:
    a dependent whose wave may not start is held (reason: what the wave waits for, or why the
    rollout stopped); outside its rollout windows it is held until the next window; a dependent
    with ``max_open_prs`` or more open rollout PRs is not opened; at most ``max_new_prs`` PRs
    are opened (earlier waves first, then by name). Security updates skip what
    ``config.exempt`` names. ``close`` and ``nothing`` are never held.

    ``partial``: the run selected dependents by name (``--include``/``--exclude``, e.g. the
    dependent-side command workflow), so members of earlier waves may be missing from
    ``dependents``: nothing beyond the first wave is opened (``PARTIAL_SELECTION``); PRs that
    already exist may still be updated (their wave had started).
    """
    waves = config.waves
    merged_facts: dict[str, Facts] = {}
    for d in dependents:
        f = facts.get(d.repo) or Facts(repo=d.repo)
        state = f.state if f.state is not DependentState.NONE else state_of(d)
        if d.action is Action.HOLD and chain_failed(d):
            # the post-merge checks of a chain step failed: the chain stops (rollout.chain), and
            # its wave fails as for a PR whose checks failed
            state = DependentState.FAILED
            f = dataclasses.replace(f, why=f.why or (d.reason or "its chain failed"))
        elif d.action is Action.HOLD:
            state = DependentState.HELD
        elif state_of(d) is DependentState.NONE and state is not DependentState.FAILED:
            # (a PR a person closed is skipped by the plan, yet fails its wave: ``Facts``)
            state = DependentState.NONE
        merged_facts[d.repo] = dataclasses.replace(f, state=state)
    statuses = wave_statuses(waves, list(merged_facts.values()), now)
    by_index = {s.index: s for s in statuses}
    opened = 0
    out: list[DependentPlan] = []
    order = sorted(
        dependents,
        key=lambda d: (wave_index(d.repo, merged_facts[d.repo].topics, waves), d.repo),
    )
    for d in order:
        f = merged_facts[d.repo]
        index = wave_index(d.repo, f.topics, waves)
        status = by_index.get(index)
        wave_name = (status.name if status else EVERYONE_ELSE) if waves else None
        state = f.state
        security = d.urgency is Urgency.SECURITY
        pace = pace_for(config, d.config)
        hold: tuple[str, str | None] | None = None
        if d.action in (Action.OPEN, Action.UPDATE):
            if partial and waves and index > 0 and d.action is Action.OPEN:
                hold = (PARTIAL_SELECTION, None)
            elif status is not None and not status.may_start and not (security and "waves" in config.exempt):
                until = format_time(status.opens_at) if status.opens_at else None
                hold = (status.reason, until)
            elif (when := window_hold(pace, now, d.urgency)) is not None:
                hold = (window_reason(pace, when), format_time(when))
            elif (
                d.action is Action.OPEN
                and pace.max_open_prs is not None
                and (f.open_prs or 0) >= pace.max_open_prs
            ):
                hold = (
                    f"held by cap: {_open_prs(f.open_prs or 0)}, at most {pace.max_open_prs} in this repository",
                    None,
                )
            elif d.action is Action.OPEN and config.max_new_prs is not None and opened >= config.max_new_prs:
                hold = (f"held by cap: at most {config.max_new_prs} new rollout PRs per run", None)
            elif d.action is Action.OPEN:
                opened += 1
        if hold is not None:
            reason, until = hold
            d = dataclasses.replace(d, action=Action.HOLD, reason=reason, held_until=until)
            if state is DependentState.WAITING:
                # held by schedule (window, age, cap); waiting for an earlier wave stays waiting
                state = DependentState.HELD if reason.startswith("held") else DependentState.WAITING
        d = dataclasses.replace(d, wave=wave_name, state=state, next_step=next_step(d, state, f))
        out.append(d)
    out.sort(key=lambda d: d.repo)
    unread = frozenset(d.repo for d in out if d.action is Action.UPDATE and d.repo not in facts)
    return Schedule(
        dependents=tuple(out), waves=tuple(statuses), next_step=rollout_next(out, statuses, unread=unread)
    )


def chain_failed(dep: DependentPlan) -> bool:
    """True when ``dep``'s environment chain stopped at a failed step (post-merge checks of the
    previous environment's merge commit failed: ``rollout.chain.gate``)."""
    return dep.chain is not None and any(s.state is StepState.FAILED for s in dep.chain.steps)


def next_step(dep: DependentPlan, state: DependentState, facts: Facts) -> str:
    """One line: what happens next for ``dep`` and when."""
    if dep.action is Action.HOLD:
        return dep.reason or "held"
    if dep.action is Action.OPEN:
        return "open its rollout PR in this run"
    if dep.action is Action.UPDATE:
        if state is DependentState.FAILED:
            return f"fix {facts.why}; its PR is refreshed in this run when its changes moved"
        if state is DependentState.OPEN:
            return "its rollout PR is open: waits for its checks and merge (refreshed if its changes moved)"
        return "update its rollout PR to this release in this run"
    if dep.action is Action.CLOSE:
        return "close its superseded rollout PR in this run"
    if state is DependentState.MERGED:
        return "nothing: up to date for this release"
    return dep.reason or "nothing"


def rollout_next(
    dependents: Sequence[DependentPlan], waves: Sequence[WaveStatus], *, unread: Collection[str] = ()
) -> str:
    """The rollout's next step in one line, for the summary and the dashboard.

    ``unread``: dependents with an open rollout PR whose state the plan did not read from the
    forge (``rollout_facts`` runs only with waves or caps): whether their PR rolls out an older
    release or this one is not known here, so they are neither "moved" nor "waiting"."""
    opening = sum(1 for d in dependents if d.action is Action.OPEN)
    known = [d for d in dependents if d.action is Action.UPDATE and d.repo not in unread]
    waiting = sum(1 for d in known if d.state is DependentState.OPEN)
    # moved to this release: the open PRs that roll out an older one (``rollout_facts`` reads
    # them as ``waiting``); a failed PR for this release is only refreshed when its changes moved
    updating = sum(1 for d in known if d.state is DependentState.WAITING)
    bringing = sum(1 for d in dependents if d.action is Action.UPDATE and d.repo in unread)
    held = [d for d in dependents if d.action is Action.HOLD]
    parts: list[str] = []
    failed = next((w for w in waves if w.failed and w.may_start), None)
    if failed is not None:
        parts.append(f"rollout stopped: wave {failed.name!r} failed ({'; '.join(failed.failures[:3])})")
    brings = (
        f"brings {_open_prs(bringing)} to this release "
        "(a PR already on it is refreshed only when its changes moved)"
    )
    if opening or updating:
        line = f"this run opens {opening} and moves {_open_prs(updating)} to this release"
        if bringing and not updating:
            line = f"this run opens {opening} and {brings}"
        elif bringing:
            line += f", and {brings}"
        parts.append(line)
    elif bringing:
        parts.append(f"this run {brings}")
    if waiting:
        parts.append(
            f"{_open_prs(waiting)} {'waits' if waiting == 1 else 'wait'} for checks and merge "
            "(refreshed when their changes moved)"
        )
    blocked = next((w for w in waves if not w.may_start), None)
    if blocked is not None and failed is None:
        parts.append(f"wave {blocked.name!r} {blocked.reason}")
    timed = sorted(d.held_until for d in held if d.held_until)
    if timed:
        parts.append(f"{len(held)} held; the next hold ends at {timed[0]}")
    elif held and blocked is None:
        parts.append(f"{len(held)} held")
    if not parts:
        if all(d.action in (Action.NOTHING, Action.SKIP) for d in dependents):
            return "nothing to do: every dependent is up to date or skipped"
        return "waiting for open rollout PRs to be merged"
    return "; ".join(parts)
