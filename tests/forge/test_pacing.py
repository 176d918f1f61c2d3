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
