"""Fault injection and request accounting for the GitHub emulator.

Faults are switchable per test through ``emulator.faults``:

* ``fail(status=502, method=, path=, times=)`` — answer with a 5xx (GitHub's ``{"message": ...}`` body);
* ``drop(method=, path=, times=, after=False)`` — close the connection without a response, either
  before the request is processed (``after=False``) or after its effects are applied (``after=True``,
  the nasty case: the write happened but the client never heard);
* ``secondary_limit(method=, path=, times=, retry_after=)`` — 403 with ``Retry-After`` and GitHub's
  secondary-rate-limit message;
* ``primary_limit(times=, reset_in=)`` — 403 with ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset``;
* ``graphql_rate_limit(times=, reset_in=)`` — GraphQL answers HTTP **200** with
  ``{"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID …"}]}``,
  ``X-RateLimit-Remaining: 0`` and ``X-RateLimit-Reset`` (GitHub's GraphQL primary limit);
* ``graphql_secondary_limit(times=, retry_after=)`` — GraphQL answers 200 with the secondary-limit
  message in ``errors`` and ``Retry-After``;
* ``latency`` — seconds added to every request;
* ``chaos(error_rate=, secondary_rate=, drop_rate=, drop_after_rate=, latency=, seed=)`` — random faults
  from a seeded RNG (reproducible).

``Limits`` models GitHub's secondary limit on content-creating requests (80 a minute, 500 an hour):
requests over the budget in the sliding window get the secondary-limit 403 with a ``Retry-After``
of the seconds until the window frees a slot. Tests shrink the window to keep runs short.

``Limits.model = "github"`` switches on the rest of GitHub's documented cost model
(https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits,
https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api):

* content-generating requests are counted **per request** (a REST POST/PATCH/PUT/DELETE, a
  GraphQL request carrying a mutation): 80 in any minute, 500 in any hour;
* secondary points per minute: GraphQL 1 point per query request, 5 per request with a mutation,
  at most 2,000 a minute; REST 1 per GET, 5 per write, at most 900 a minute;
* primary points: REST 1 per request, GraphQL per query as GitHub computes it (the requests
  needed to fulfil every connection, assuming each reaches its ``first``/``last``, divided by
  100 and rounded, at least 1; ``emulator.gql.query_cost``), 5,000 an hour per token.

``Clock`` is the emulator's time: ``scale`` > 1 runs emulated time faster than real time (an hour
of GitHub's windows in a minute at ``scale=60``), so a benchmark can run a rollout that takes
hours under GitHub's limits in minutes. The client must use the same clock (``sleep``/``now``).
"""

from __future__ import annotations

import dataclasses
import random
import re
import threading
import time
from collections import deque


@dataclasses.dataclass
class FaultRule:
    """One injected fault. ``kind``: status | drop | drop_after | secondary | primary |
    graphql_primary | graphql_secondary."""

    kind: str
    method: str | None = None
    path: re.Pattern[str] | None = None
    times: int = 1
    status: int = 502
    retry_after: float = 1
    reset_in: int = 1

    def matches(self, method: str, path: str) -> bool:
        """Whether this rule still fires (``times`` left) for ``method`` and ``path`` (regex search)."""
        if self.times <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path and not self.path.search(path))


@dataclasses.dataclass
class Chaos:
    """Random faults for soak tests: per-request probabilities (0..1) of each fault kind,
    ``latency`` as a (min, max) range in seconds, reproducible through ``seed``."""

    error_rate: float = 0.0
    secondary_rate: float = 0.0
    drop_rate: float = 0.0
    drop_after_rate: float = 0.0
    latency: tuple[float, float] = (0.0, 0.0)
    retry_after: float = 1
    seed: int = 0


class Faults:
    """Per-test fault switchboard (thread-safe). See module docstring."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[FaultRule] = []
        self.latency: float = 0.0
        self._chaos: Chaos | None = None
        self._rng = random.Random(0)
        self.injected: list[tuple[str, str, str]] = []  # (kind, method, path) actually injected

    def _add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            self.rules.append(rule)
        return rule

    @staticmethod
    def _re(path: str | None) -> re.Pattern[str] | None:
        return re.compile(path) if path else None

    def fail(
        self, status: int = 502, *, method: str | None = None, path: str | None = None, times: int = 1
    ) -> FaultRule:
        """Answer the next ``times`` matching requests with ``status``."""
        return self._add(FaultRule("status", method, self._re(path), times, status=status))

    def drop(
        self, *, method: str | None = None, path: str | None = None, times: int = 1, after: bool = False
    ) -> FaultRule:
        """Close the connection without answering (after applying the request when ``after``)."""
        return self._add(FaultRule("drop_after" if after else "drop", method, self._re(path), times))

    def secondary_limit(
        self, *, method: str | None = None, path: str | None = None, times: int = 1, retry_after: float = 1
    ) -> FaultRule:
        """403 secondary rate limit with ``Retry-After: retry_after``."""
        return self._add(FaultRule("secondary", method, self._re(path), times, retry_after=retry_after))

    def primary_limit(
        self, *, method: str | None = None, path: str | None = None, times: int = 1, reset_in: int = 1
    ) -> FaultRule:
        """403 primary rate limit: ``X-RateLimit-Remaining: 0``, reset ``reset_in`` seconds ahead."""
        return self._add(FaultRule("primary", method, self._re(path), times, reset_in=reset_in))

    def graphql_rate_limit(self, *, times: int = 1, reset_in: int = 1, path: str = r"graphql$") -> FaultRule:
        """GraphQL primary limit: HTTP 200 with ``errors[0].type == "RATE_LIMITED"``."""
        return self._add(FaultRule("graphql_primary", "POST", self._re(path), times, reset_in=reset_in))

    def graphql_secondary_limit(
        self, *, times: int = 1, retry_after: float = 1, path: str = r"graphql$"
    ) -> FaultRule:
        """GraphQL secondary limit: HTTP 200 with the secondary-limit message and ``Retry-After``."""
        return self._add(
            FaultRule("graphql_secondary", "POST", self._re(path), times, retry_after=retry_after)
        )

    def chaos(
        self,
        *,
        error_rate: float = 0.0,
        secondary_rate: float = 0.0,
        drop_rate: float = 0.0,
        drop_after_rate: float = 0.0,
        latency: tuple[float, float] = (0.0, 0.0),
        retry_after: float = 1,
        seed: int = 0,
    ) -> None:
        """Random faults on every request (seeded, reproducible)."""
        with self._lock:
            self._chaos = Chaos(
                error_rate, secondary_rate, drop_rate, drop_after_rate, latency, retry_after, seed
            )
            self._rng = random.Random(seed)

    def clear(self) -> None:
        """Remove every fault and the latency."""
        with self._lock:
            self.rules.clear()
            self._chaos = None
            self.latency = 0.0

    def pick(self, method: str, path: str) -> tuple[FaultRule | None, float]:
        """The fault to inject for this request (consuming one use) and the latency to add."""
        with self._lock:
            delay = self.latency
            for rule in self.rules:
                if rule.matches(method, path):
                    rule.times -= 1
                    self.injected.append((rule.kind, method, path))
                    return rule, delay
            c = self._chaos
            if c is None:
                return None, delay
            lo, hi = c.latency
            delay += self._rng.uniform(lo, hi) if hi > 0 else 0.0
            roll = self._rng.random()
            edges = [
                (c.error_rate, FaultRule("status", status=self._rng.choice([500, 502, 503]))),
                (c.secondary_rate, FaultRule("secondary", retry_after=c.retry_after)),
                (c.drop_rate, FaultRule("drop")),
                (c.drop_after_rate, FaultRule("drop_after")),
            ]
            acc = 0.0
            for rate, rule in edges:
                acc += rate
                if roll < acc:
                    self.injected.append((rule.kind, method, path))
                    return rule, delay
            return None, delay


class Clock:
    """Emulated time: real time since ``start`` multiplied by ``scale`` (1: real time).

    ``now()`` is monotonic seconds, ``time()`` epoch seconds, ``sleep(s)`` sleeps ``s``
    emulated seconds (``s / scale`` real ones). ``set_scale`` keeps the time continuous."""

    def __init__(self, scale: float = 1.0) -> None:
        self._lock = threading.Lock()
        self._real0 = time.monotonic()
        self._emu0 = self._real0
        self._epoch_offset = time.time() - self._real0
        self.scale = float(scale)

    def now(self) -> float:
        """Emulated monotonic seconds."""
        with self._lock:
            return self._emu0 + (time.monotonic() - self._real0) * self.scale

    def time(self) -> float:
        """Emulated epoch seconds (``X-RateLimit-Reset`` is in these)."""
        return self.now() + self._epoch_offset

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of emulated time."""
        if seconds > 0:
            time.sleep(seconds / self.scale)

    def set_scale(self, scale: float) -> None:
        """Change the speed from now on (time stays continuous)."""
        now = self.now()
        with self._lock:
            self._real0 = time.monotonic()
            self._emu0 = now
            self.scale = float(scale)


class Limits:
    """GitHub's content-creation secondary limit, as a sliding window (defaults: 80/60 s, 500/3600 s);
    with ``model = "github"`` also the secondary point limits (module docstring)."""

    def __init__(
        self, per_minute: int = 80, per_hour: int = 500, window: float = 60.0, long_window: float = 3600.0
    ) -> None:
        self.per_minute = per_minute
        self.per_hour = per_hour
        self.window = window
        self.long_window = long_window
        self.enabled = True
        self.model = "content"  # "github": also secondary points (module docstring)
        self.graphql_points_per_minute = 2000
        self.rest_points_per_minute = 900
        self.clock: Clock | None = None
        self._times: deque[float] = deque()
        self._points: dict[str, deque[tuple[float, int]]] = {"graphql": deque(), "rest": deque()}
        self._lock = threading.Lock()
        self.rejected = 0
        self.points_rejected = 0

    def _now(self) -> float:
        return self.clock.now() if self.clock is not None else time.monotonic()

    def admit_points(self, resource: str, points: int, now: float | None = None) -> float | None:
        """Secondary points (``model == "github"`` only): record ``points`` for ``resource``
        (``graphql`` | ``rest``); None when admitted, else seconds until the minute frees them."""
        if self.model != "github" or not self.enabled:
            return None
        now = self._now() if now is None else now
        cap = self.graphql_points_per_minute if resource == "graphql" else self.rest_points_per_minute
        with self._lock:
            q = self._points[resource]
            while q and now - q[0][0] > self.window:
                q.popleft()
            used = sum(p for _t, p in q)
            if used + points > cap:
                self.points_rejected += 1
                return max(0.0, self.window - (now - q[0][0])) if q else self.window
            q.append((now, points))
            return None

    def admit(self, now: float | None = None) -> float | None:
        """Record a content-creating request; None when admitted, else seconds to wait (Retry-After)."""
        now = self._now() if now is None else now
        with self._lock:
            while self._times and now - self._times[0] > self.long_window:
                self._times.popleft()
            if not self.enabled:
                self._times.append(now)
                return None
            recent = [t for t in self._times if now - t <= self.window]
            if len(recent) >= self.per_minute:
                self.rejected += 1
                return max(0.0, self.window - (now - recent[-self.per_minute]))
            if len(self._times) >= self.per_hour:
                self.rejected += 1
                return max(0.0, self.long_window - (now - self._times[-self.per_hour]))
            self._times.append(now)
            return None

    def per_window_counts(self, window: float | None = None) -> list[int]:
        """Counts of admitted content-creating requests per consecutive window (for reports)."""
        window = window or self.window
        with self._lock:
            times = list(self._times)
        if not times:
            return []
        start = times[0]
        counts: dict[int, int] = {}
        for t in times:
            counts[int((t - start) // window)] = counts.get(int((t - start) // window), 0) + 1
        return [counts.get(i, 0) for i in range(max(counts) + 1)]
