"""forge.github.pacing.Budget: GitHub's content-creation windows and the job deadline."""

from __future__ import annotations

import pytest

from catalog_ops.forge.github.pacing import Budget, BudgetExhausted


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += max(0.0, s)


def windows(times: list[float], span: float) -> int:
    best = 0
    for i, t in enumerate(times):
        best = max(best, sum(1 for u in times[i:] if u - t < span))
    return best


def test_slots_never_exceed_80_a_minute_or_500_an_hour() -> None:
    clock = FakeClock()
    budget = Budget(clock=clock.now, wall=clock.now, sleep=clock.sleep)
    booked = budget.reserve(600)
    assert windows(booked, 60.0) <= 80
    assert windows(booked, 3600.0) <= 500
    assert booked[79] - booked[0] < 1 and booked[80] - booked[0] >= 60
    assert booked[500] - booked[0] >= 3600


def test_wait_sleeps_until_the_booked_slot() -> None:
    clock = FakeClock()
    budget = Budget(per_minute=2, per_hour=100, clock=clock.now, wall=clock.now, sleep=clock.sleep)
    for _ in range(3):
        budget.wait()
    assert clock.t >= 1060.0


def test_reservation_past_the_deadline_books_nothing_and_says_when() -> None:
    clock = FakeClock()
    budget = Budget(per_minute=80, per_hour=5, clock=clock.now, wall=clock.now, sleep=clock.sleep)
    budget.set_deadline_in(600)
    budget.reserve(4)
    with pytest.raises(BudgetExhausted) as info:
        budget.reserve(4)  # the 6th write of the hour would start after the deadline
    assert info.value.resume_at >= clock.t + 3600
    assert len(budget.content_times()) == 4
    budget.reserve(1)  # the 5th still fits


def test_primary_limit_waits_for_reset_or_stops() -> None:
    clock = FakeClock()
    budget = Budget(clock=clock.now, wall=clock.now, sleep=clock.sleep)
    budget.observe(
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(clock.t + 30), "X-RateLimit-Resource": "core"}
    )
    budget.wait_primary("core")
    assert clock.t >= 1030
    budget.set_deadline_in(10)
    budget.observe(
        {
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(clock.t + 300),
            "X-RateLimit-Resource": "graphql",
        }
    )
    with pytest.raises(BudgetExhausted):
        budget.wait_primary("graphql")


def test_a_write_sent_late_for_its_slot_delays_the_writes_booked_before_it_moved() -> None:
    """Slots are booked ahead; a dependent that uses its second slot late (reads in between)
    moves it later, after other threads booked theirs from the old time. The sends must still
    fit every window as counted when they are sent (GitHub counts a request when it receives it)."""
    import threading

    clock = FakeClock()
    budget = Budget(per_minute=2, per_hour=100, clock=clock.now, wall=clock.now, sleep=clock.sleep)
    sent: list[float] = []

    class Dependent(threading.Thread):
        """A thread that books ``n`` slots, then sends one write each time it is told to."""

        def __init__(self, n: int) -> None:
            super().__init__(daemon=True)
            self.n, self.go, self.done = n, threading.Semaphore(0), threading.Semaphore(0)

        def run(self) -> None:
            budget.reserve(self.n)
            self.done.release()
            for _ in range(self.n):
                self.go.acquire()
                budget.wait()
                sent.append(clock.t)
                self.done.release()

        def step(self) -> None:
            self.go.release()
            assert self.done.acquire(timeout=10)

    late, b, c = Dependent(2), Dependent(1), Dependent(1)
    late.start()
    assert late.done.acquire(timeout=10)  # booked 1000, 1000
    late.step()  # its first write at 1000
    for d in (b, c):  # booked now, from the late one's second slot at 1000: both at 1060.6
        d.start()
        assert d.done.acquire(timeout=10)
    clock.t += 30.0
    late.step()  # its second write 30 s late: at 1030
    b.step()
    c.step()
    assert len(sent) == 4
    assert windows(sent, 60.0) <= 2, sent
