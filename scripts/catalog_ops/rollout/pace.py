"""Strategies and pace of a rollout: which release a reference may move to, and when a
dependent's PR may be opened (pure; every time comes from an injected ``now``).

* **Strategy** (``latest`` | ``next-safe``): ``latest`` moves to the newest release (the
  planner's target); ``next-safe`` to the highest release before the next breaking one,
  Gruntwork Patcher's default ("the highest version before the next closest breaking change or
  the latest version, whichever is encountered first",
  https://docs.gruntwork.io/patcher/update-strategies). When the very next release is breaking,
  next-safe proposes nothing (the reason says so). Breaking is ``is_breaking``: the one answer.
* **Minimum release age**: a normal release is no target until ``min_release_age`` after its
  forge release was published (Renovate's ``minimumReleaseAge``); security releases are exempt
  unless the catalog's ``rollout.exempt`` drops ``min_release_age``. A tag without a forge
  release has no publication time and is not held.
* **Windows**: PRs are opened or updated only inside one of the windows (days and hours in an
  IANA time zone); outside, the dependent is held until the next window opens.
* **Caps**: ``max_open_prs`` per dependent (open catalog-ops rollout PRs in it) and
  ``max_new_prs`` per run (PRs one plan opens; earlier waves first, then by name).

``rollout.config`` reads the catalog's settings, ``catalog.config`` a dependent's overrides;
``pace_for`` merges them.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Sequence

from catalog_ops.catalog.config import DependentConfig
from catalog_ops.core.schedule import Window, format_duration, in_windows, next_open, parse_time
from catalog_ops.core.versions import Level, TagScheme, Urgency, Version, update_type
from catalog_ops.rollout.config import RolloutConfig
from catalog_ops.rollout.model import CatalogRelease


@dataclasses.dataclass(frozen=True, kw_only=True)
class Pace:
    """The effective strategy and pace of one dependent (``pace_for``).

    Attributes:
        strategy: ``latest`` | ``next-safe``.
        min_release_age: seconds (0: none).
        windows: empty: any time.
        max_open_prs: most open rollout PRs in the dependent (None: no cap).
        exempt: rules security releases skip (``rollout.config.EXEMPTIONS``).
    """

    strategy: str = "latest"
    min_release_age: float = 0.0
    windows: tuple[Window, ...] = ()
    max_open_prs: int | None = None
    exempt: tuple[str, ...] = ("min_release_age",)


def pace_for(catalog: RolloutConfig, dependent: DependentConfig) -> Pace:
    """The catalog's ``rollout:`` settings with the dependent's overrides (a dependent's value,
    when it sets one, wins)."""
    return Pace(
        strategy=dependent.strategy or catalog.strategy,
        min_release_age=catalog.min_release_age
        if dependent.min_release_age is None
        else dependent.min_release_age,
        windows=catalog.windows if dependent.windows is None else dependent.windows,
        max_open_prs=catalog.max_open_prs if dependent.max_open_prs is None else dependent.max_open_prs,
        exempt=catalog.exempt,
    )


def format_time(when: _dt.datetime) -> str:
    """``2026-12-07T10:00Z`` (UTC, minutes): how plans and summaries write a moment."""
    return when.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%MZ")


def is_breaking(release: CatalogRelease, module: str, *, before: Version) -> bool:
    """Whether moving ``module`` from ``before`` to ``release`` breaks it: the one answer the
    planner (``breaking``) and ``next-safe`` use. Breaking when the update crosses a major
    version (``versions.update_type``) or the release's metadata, consistent with git, marks the
    module breaking (e.g. a ``0.x`` minor from ``feat!:``)."""
    if update_type(before, release.version) is Level.MAJOR:
        return True
    meta = release.metadata
    if meta is None or not release.metadata_consistent(module):
        return False
    entry = meta.modules.get(module)
    return bool(entry is not None and entry.breaking)


def aged_at(release: CatalogRelease, pace: Pace) -> _dt.datetime | None:
    """When ``release`` reaches the minimum age, None when it is not held by age at all (no
    minimum, an exempt security release, or no publication time known)."""
    if pace.min_release_age <= 0:
        return None
    if release.urgency is Urgency.SECURITY and "min_release_age" in pace.exempt:
        return None
    published = parse_time(release.published_at)
    if published is None:
        return None
    return published + _dt.timedelta(seconds=pace.min_release_age)


def split_by_age(
    releases: Sequence[CatalogRelease], pace: Pace, now: _dt.datetime
) -> tuple[list[CatalogRelease], dict[str, _dt.datetime]]:
    """``(old enough, {tag: when it ages})``: the releases that may be targets at ``now`` and
    the young ones with the moment each becomes one."""
    ok: list[CatalogRelease] = []
    young: dict[str, _dt.datetime] = {}
    for rel in releases:
        at = aged_at(rel, pace)
        if at is not None and at > now:
            young[rel.tag] = at
        else:
            ok.append(rel)
    return ok, young


def age_reason(release: CatalogRelease, pace: Pace, until: _dt.datetime) -> str:
    """``"held by schedule until T: v1.2.0 is younger than the minimum release age 3d"``."""
    return (
        f"held by schedule until {format_time(until)}: {release.tag} is younger than the minimum "
        f"release age {format_duration(pace.min_release_age)}"
    )


def next_safe(
    current: Version,
    releases: Sequence[CatalogRelease],
    target: CatalogRelease,
    module: str,
    *,
    patched: Callable[[Version], bool] | None = None,
) -> tuple[CatalogRelease | None, CatalogRelease | None]:
    """``(target, breaking)`` under ``next-safe``: the highest release after ``current``, up to
    ``target``, before the first release that is breaking for ``module`` (``is_breaking``,
    judged from the release before it) and not ``patched`` (a breaking release the catalog's
    migration patches cover counts as non-breaking: ``migrate.covers``), and that breaking
    release (None when there is none up to ``target``). The target is None when the very next
    release is breaking."""
    scheme = TagScheme.of(current.prefix)
    steps = sorted(
        (
            r
            for r in releases
            if current < r.version <= target.version
            and scheme.owns(r.version)
            and (not r.prerelease or r.version == target.version)
        ),
        key=lambda r: r.version,
    )
    before, last = current, None
    for rel in steps:
        if is_breaking(rel, module, before=before) and not (patched is not None and patched(rel.version)):
            return last, rel
        before, last = rel.version, rel
    return target, None


def window_hold(pace: Pace, now: _dt.datetime, urgency: Urgency) -> _dt.datetime | None:
    """When the dependent's next window opens, None when PRs may be written now (inside a window,
    no windows, or a security update exempt from windows)."""
    if not pace.windows or (urgency is Urgency.SECURITY and "windows" in pace.exempt):
        return None
    if in_windows(pace.windows, now):
        return None
    return next_open(pace.windows, now)


def window_reason(pace: Pace, until: _dt.datetime) -> str:
    """``"held by schedule until T: outside the rollout windows (mon,tue 09:00-17:00 UTC)"``."""
    shown = "; ".join(w.text() for w in pace.windows[:3])
    return f"held by schedule until {format_time(until)}: outside the rollout windows ({shown})"
