"""GitHub's request budget as the client sees it: the one pacer of every GitHubForge request.

What GitHub documents (https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api):

* **secondary limit on content creation**: "no more than 80 content-generating requests per
  minute and no more than 500 content-generating requests per hour", across REST and GraphQL
  (a REST POST/PATCH/PUT/DELETE, a GraphQL request with a mutation);
* **primary limit**: 5,000 requests an hour for a token (REST) and 5,000 points an hour
  (GraphQL), reported on every response by ``x-ratelimit-limit``/``-remaining``/``-reset``/
  ``-resource`` (https://docs.github.com/en/graphql/overview/rate-limits-and-query-limits-for-the-graphql-api#checking-the-status-of-your-primary-rate-limit).

``Budget`` books every content-creating request into a slot of two sliding windows (per minute,
per hour; a share of them when several jobs write with the same token), at least ``interval``
apart, and makes the request wait for its slot. Before a dependent's writes start, ``reserve(n)``
books all ``n`` of them at once: when the last slot would fall after the job's ``deadline``,
nothing is booked and ``BudgetExhausted`` says when to resume, so a dependent is either written
completely or not touched. The primary limit: when a response says ``remaining`` is 0 (or below
``primary_margin``) for a resource, the next request for it waits for ``reset`` — if that fits
before the deadline; otherwise ``BudgetExhausted``.
"""

from __future__ import annotations

import bisect
import collections
import dataclasses
import threading
import time
from collections.abc import Callable, Mapping

from catalog_ops.errors import RateLimited

MINUTE = 60.0
HOUR = 3600.0
SLACK = 0.01
"""Share of a window kept as margin between a slot and the one ``limit`` slots later: GitHub counts
a request when it receives it, which can be later than its slot (latency, a busy runner), so the
windows as GitHub sees them stay within the limits (36 s of the hour, 0.6 s of the minute)."""


class BudgetExhausted(RateLimited):
    """The job's remaining time does not cover the wait GitHub's limits need.

    Attributes:
        resume_at: epoch seconds at which the budget allows the work again.
    """

    def __init__(self, message: str, resume_at: float) -> None:
        super().__init__(message)
        self.resume_at = resume_at


@dataclasses.dataclass
class _Primary:
    remaining: int | None = None
    reset: float = 0.0  # epoch seconds


class Budget:
    """Token bucket(s) for GitHub's documented limits (module docstring). Thread-safe.

    Args:
        per_minute / per_hour: content-creating requests allowed in any 60 s / 3600 s window
            (GitHub: 80 / 500); divide them among jobs that share the token (``share``).
        interval: minimum seconds between two content-creating requests (0: none).
        deadline: monotonic time (``clock``) after which no wait may end; None: no deadline.
        primary_margin: requests kept in reserve on the primary limit.
        clock / wall / sleep: monotonic seconds, epoch seconds, sleep (injectable: tests and
            the benchmark's time-scaled emulator).
    """

    def __init__(
        self,
        *,
        per_minute: float = 80,
        per_hour: float = 500,
        interval: float = 0.0,
        deadline: float | None = None,
        primary_margin: int = 10,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_minute = max(1, int(per_minute))
        self.per_hour = max(1, int(per_hour))
        self.interval = interval
        self.deadline = deadline
        self.primary_margin = primary_margin
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._lock = threading.Lock()
        self._slots: list[float] = []  # booked content-creating start times (sorted)
        self._sent: collections.deque[float] = collections.deque()  # when each was really sent
        self._local = threading.local()
        self._primary: dict[str, _Primary] = {}
        self.waited = 0.0  # seconds spent waiting for slots or resets

    # --- content-creating requests --------------------------------------------------------
    def _next_slot(self, t: float) -> float:
        """Earliest time >= ``t`` (and after every booked slot: slots are handed out in order)
        where one more request fits both windows and the interval."""
        slots = self._slots
        if slots:
            t = max(t, slots[-1] + self.interval)
        for limit, window in ((self.per_minute, MINUTE), (self.per_hour, HOUR)):
            if len(slots) >= limit:
                # the limit-th newest slot must have left the window (GitHub counts any window)
                t = max(t, slots[-limit] + window + max(0.5, window * SLACK))
        return t

    def _prune(self, now: float) -> None:
        cut = bisect.bisect_left(self._slots, now - HOUR - 1)
        if cut:
            del self._slots[:cut]

    def reserve(self, n: int) -> list[float]:
        """Book ``n`` content-creating slots for the calling thread (its next ``n`` writes).

        Returns the booked start times (``clock`` seconds).
        Raises BudgetExhausted (nothing booked) when the last would start after ``deadline``.
        """
        with self._lock:
            now = self._clock()
            self._prune(now)
            booked: list[float] = []
            t = now
            for _ in range(max(0, n)):
                t = self._next_slot(t)
                self._slots.append(t)
                booked.append(t)
            if booked and self.deadline is not None and booked[-1] > self.deadline:
                for s in booked:
                    self._slots.remove(s)
                wait = booked[-1] - now
                raise BudgetExhausted(
                    f"GitHub's content-creation limit needs {wait:.0f}s more than this job has left",
                    resume_at=self._wall() + wait,
                )
        mine = getattr(self._local, "slots", [])
        self._local.slots = sorted(mine + booked)
        return booked

    def release(self) -> None:
        """Give back the calling thread's booked slots it did not use (a dependent that
        needed fewer writes than reserved)."""
        mine = getattr(self._local, "slots", [])
        if not mine:
            return
        with self._lock:
            for s in mine:
                if s in self._slots:
                    self._slots.remove(s)
        self._local.slots = []

    def wait(self) -> None:
        """Before one content-creating request: wait for the thread's next booked slot, or
        book one now. Raises BudgetExhausted when one cannot be booked before ``deadline``."""
        mine = getattr(self._local, "slots", [])
        if mine:
            slot = mine.pop(0)
        else:
            slot = self.reserve(1)[0]
            self._local.slots.pop(0)
        delay = slot - self._clock()
        if delay > 0:
            self.waited += delay
            self._sleep(delay)
        actual = self._clock()
        if actual > slot:
            # Sent later than booked: the windows count the request when it is sent, so the
            # slot moves to that time and later bookings are spaced from it.
            with self._lock:
                if slot in self._slots:
                    self._slots.remove(slot)
                bisect.insort(self._slots, actual)
        self._gate_sent()

    def _gate_sent(self) -> None:
        """The last word before a content-creating request leaves: the windows over the times
        requests were actually *sent*. Slots booked before an earlier slot moved later (its
        thread was late: reads, a busy runner) may no longer be ``limit`` apart, so the request
        waits until fewer than ``limit`` sends (with ``SLACK``) are in each window, then is
        recorded as sent. This wait is not checked against the deadline: the dependent's writes
        have begun, and stopping between them would leave a branch without its PR."""
        while True:
            with self._lock:
                now = self._clock()
                sent = self._sent
                while sent and sent[0] < now - HOUR - max(0.5, HOUR * SLACK):
                    sent.popleft()
                delay = 0.0
                for limit, window in ((self.per_minute, MINUTE), (self.per_hour, HOUR)):
                    margin = max(0.5, window * SLACK)
                    if len(sent) >= limit and sent[-limit] > now - window - margin:
                        delay = max(delay, sent[-limit] + window + margin - now)
                if delay <= 0:
                    sent.append(now)
                    return
            self.waited += delay
            self._sleep(delay)

    def content_times(self) -> list[float]:
        """Booked slot times (for reports and tests)."""
        with self._lock:
            return list(self._slots)

    # --- primary limit ---------------------------------------------------------------------
    def observe(self, headers: Mapping[str, str]) -> None:
        """Record ``x-ratelimit-remaining``/``-reset``/``-resource`` of a response."""
        h = {k.lower(): v for k, v in headers.items()}
        if "x-ratelimit-remaining" not in h:
            return
        try:
            remaining = int(h["x-ratelimit-remaining"])
            reset = float(h.get("x-ratelimit-reset") or 0)
        except ValueError:
            return
        with self._lock:
            self._primary[h.get("x-ratelimit-resource", "core")] = _Primary(remaining, reset)

    def wait_primary(self, resource: str) -> None:
        """Before a request on ``resource`` (``core`` | ``graphql``): when the last response
        left fewer than ``primary_margin`` requests, wait until the reset (if it fits).
        Raises BudgetExhausted otherwise."""
        with self._lock:
            p = self._primary.get(resource)
            if p is None or p.remaining is None or p.remaining > self.primary_margin:
                if p is not None and p.remaining is not None:
                    p.remaining -= 1
                return
            delay = p.reset - self._wall() + 1
        if delay <= 0:
            return
        if self.deadline is not None and self._clock() + delay > self.deadline:
            raise BudgetExhausted(
                f"GitHub's primary rate limit ({resource}) resets in {delay:.0f}s, after this job's deadline",
                resume_at=self._wall() + delay,
            )
        self.waited += delay
        self._sleep(delay)
        with self._lock:
            self._primary.pop(resource, None)

    def set_deadline_in(self, seconds: float) -> None:
        """Set ``deadline`` to ``seconds`` from now."""
        self.deadline = self._clock() + seconds

    def fits(self, seconds: float) -> bool:
        """Whether a wait of ``seconds`` ends before ``deadline``."""
        return self.deadline is None or self._clock() + seconds <= self.deadline
