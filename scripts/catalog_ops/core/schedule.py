"""Durations and rollout windows (days and hours in a time zone): values and their parsing.

Pure; the decisions that use them (minimum release age, "held by schedule until ...") are
``rollout.pace``'s. Written in ``.catalog-ops.yml`` (the catalog's ``rollout:`` section and a
dependent's overrides), so parsing reports a one-line problem (``ValueError``) that the config
readers turn into ``file:line:col`` errors. Time zones are IANA names (``zoneinfo``).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import re
import zoneinfo
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Day names of a window's ``days`` (``datetime.weekday()`` order)."""
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"\A\s*(\d{1,6})\s*([smhdw])\s*\Z")
_HOURS = re.compile(r"\A\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*\Z")
MAX_WINDOWS = 20
"""Most windows one list may hold (bounded work per config)."""


def parse_time(text: str | None) -> _dt.datetime | None:
    """An aware UTC datetime from ISO 8601 as forges write it (``2026-12-07T10:00:00Z``, GitHub's
    REST ``published_at``/``merged_at``/``created_at``); None for "" or unreadable text."""
    if not text:
        return None
    try:
        value = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=_dt.UTC)


def parse_duration(value: Any) -> float:
    """Seconds of a duration written ``"90m"``, ``"12h"``, ``"3d"``, ``"1w"`` (or ``0``).

    Raises ValueError naming the accepted forms."""
    if value == 0 and not isinstance(value, bool):
        return 0.0
    match = _DURATION.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"must be a duration such as 90m, 12h, 3d or 1w (got {value!r})")
    return float(int(match.group(1)) * _UNITS[match.group(2)])


def format_duration(seconds: float) -> str:
    """``259200`` -> ``"3d"``; the largest unit that divides it (``"0s"`` for zero)."""
    whole = int(seconds)
    for unit in ("w", "d", "h", "m"):
        if whole and whole % _UNITS[unit] == 0:
            return f"{whole // _UNITS[unit]}{unit}"
    return f"{whole}s"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Window:
    """When rollout PRs may be opened or updated: on ``days``, from ``start`` to ``end``
    (minutes after local midnight, ``end`` exclusive; ``end`` <= ``start`` runs past midnight
    into the next day), in the IANA time zone ``timezone``.

    Written ``{days: [mon, tue], hours: "09:00-17:00", timezone: Europe/Berlin}``; every key is
    optional (all days, all day, UTC)."""

    days: tuple[int, ...] = tuple(range(7))
    start: int = 0
    end: int = 24 * 60
    timezone: str = "UTC"

    def contains(self, when: _dt.datetime) -> bool:
        """True when the aware datetime ``when`` falls inside the window (its local time)."""
        local = when.astimezone(zoneinfo.ZoneInfo(self.timezone))
        minute = local.hour * 60 + local.minute
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= minute < self.end
        # past midnight: the part after start belongs to today, the part before end to yesterday
        if minute >= self.start:
            return local.weekday() in self.days
        return minute < self.end and (local.weekday() - 1) % 7 in self.days

    def to_json(self) -> dict[str, Any]:
        """The written form (as a plan stores it)."""
        return {
            "days": [DAYS[d] for d in self.days],
            "hours": f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}",
            "timezone": self.timezone,
        }

    def text(self) -> str:
        """``"mon-fri 09:00-17:00 Europe/Berlin"``-style summary for reasons and tables."""
        data = self.to_json()
        return f"{','.join(data['days'])} {data['hours']} {self.timezone}"


def parse_window(value: Any) -> Window:
    """A ``Window`` from its written mapping. Raises ValueError (one line) on a wrong shape,
    an unknown day or key, hours not ``HH:MM-HH:MM``, or an unknown time zone."""
    if not isinstance(value, Mapping):
        raise ValueError("a window is a mapping with days, hours, timezone")
    unknown = sorted(str(k) for k in value if k not in ("days", "hours", "timezone"))
    if unknown:
        raise ValueError(f"unknown key {unknown[0]!r} in a window (known: days, hours, timezone)")
    days: tuple[int, ...] = tuple(range(7))
    if "days" in value:
        raw = value["days"]
        if not isinstance(raw, list) or not raw:
            raise ValueError("days: must be a non-empty list of mon, tue, wed, thu, fri, sat, sun")
        picked = set()
        for day in raw:
            name = str(day).strip().lower()[:3]
            if name not in DAYS or not isinstance(day, str):
                raise ValueError(f"days: unknown day {day!r} (mon, tue, wed, thu, fri, sat, sun)")
            picked.add(DAYS.index(name))
        days = tuple(sorted(picked))
    start, end = 0, 24 * 60
    if "hours" in value:
        match = _HOURS.match(value["hours"]) if isinstance(value["hours"], str) else None
        if match is None:
            raise ValueError(f"hours: must be HH:MM-HH:MM (got {value['hours']!r})")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise ValueError(f"hours: not a time of day: {value['hours']!r}")
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start == end:
            raise ValueError(f"hours: the window {value['hours']!r} is empty")
    tz = value.get("timezone", "UTC")
    if not isinstance(tz, str) or not tz.strip():
        raise ValueError("timezone: must be an IANA time zone name such as Europe/Berlin")
    try:
        zoneinfo.ZoneInfo(tz.strip())
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone: unknown time zone {tz!r} (IANA names, e.g. Europe/Berlin)") from None
    return Window(days=days, start=start, end=end, timezone=tz.strip())


def parse_windows(value: Any) -> tuple[Window, ...]:
    """A list of windows (at most ``MAX_WINDOWS``). Raises ValueError."""
    if not isinstance(value, list):
        raise ValueError("must be a list of windows ({days, hours, timezone})")
    if len(value) > MAX_WINDOWS:
        raise ValueError(f"has {len(value)} windows; at most {MAX_WINDOWS} are allowed")
    return tuple(parse_window(item) for item in value)


def windows_from_json(items: Iterable[Mapping[str, Any]]) -> tuple[Window, ...]:
    """Inverse of ``[w.to_json() for w in windows]``."""
    return tuple(parse_window(dict(item)) for item in items)


def in_windows(windows: Sequence[Window], when: _dt.datetime) -> bool:
    """True when ``windows`` is empty (any time) or one of them contains ``when``."""
    return not windows or any(w.contains(when) for w in windows)


def next_open(windows: Sequence[Window], when: _dt.datetime) -> _dt.datetime:
    """The first moment at or after ``when`` (aware) inside one of ``windows``, to the minute
    (``when`` itself when it is inside, or ``windows`` is empty). Searches 8 days ahead, which
    covers every weekly window; a window with no day never opens (then ``when`` + 8 days)."""
    if in_windows(windows, when):
        return when
    step = when.replace(second=0, microsecond=0) + _dt.timedelta(minutes=1)
    limit = when + _dt.timedelta(days=8)
    # jump from boundary to boundary: each window opens at its start minute, local time
    candidates: list[_dt.datetime] = []
    for w in windows:
        zone = zoneinfo.ZoneInfo(w.timezone)
        local = step.astimezone(zone)
        for offset in range(9):
            day = (local + _dt.timedelta(days=offset)).date()
            opening = _dt.datetime(day.year, day.month, day.day, w.start // 60, w.start % 60, tzinfo=zone)
            if w.start == 0 and w.end == 24 * 60:
                opening = _dt.datetime(day.year, day.month, day.day, tzinfo=zone)
            if opening >= step and day.weekday() in w.days and w.contains(opening):
                candidates.append(opening)
                break
    found = [c for c in candidates if c <= limit]
    return min(found).astimezone(_dt.UTC) if found else limit
