"""A gap alert fires once after its delay, stays quiet while the gap lasts, re-arms on recovery."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.service_areas.alerts import AlertState, next_state

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
DELAY = timedelta(minutes=30)
QUIET = AlertState(None, None)


def test_a_gap_starts_the_clock_without_alerting() -> None:
    assert next_state(QUIET, 5.0, 2.0, DELAY, T0) == (AlertState(T0, None), False)


def test_the_alert_fires_once_the_gap_has_lasted_the_delay() -> None:
    started = AlertState(T0, None)
    assert next_state(started, 5.0, 2.0, DELAY, T0 + DELAY - timedelta(seconds=1))[1] is False
    assert next_state(started, 5.0, 2.0, DELAY, T0 + DELAY) == (AlertState(T0, T0 + DELAY), True)


def test_an_alerted_gap_stays_quiet_until_it_recovers() -> None:
    alerted = AlertState(T0, T0 + DELAY)
    assert next_state(alerted, 9.0, 2.0, DELAY, T0 + 10 * DELAY) == (alerted, False)
    assert next_state(alerted, 2.0, 2.0, DELAY, T0 + 11 * DELAY) == (QUIET, False)


def test_a_zero_delay_alerts_at_once() -> None:
    assert next_state(QUIET, 1.0, 0.0, timedelta(0), T0) == (AlertState(T0, T0), True)


@given(
    demands=st.lists(st.floats(0, 20, allow_nan=False), min_size=1, max_size=40),
    threshold=st.floats(0, 10, allow_nan=False),
)
def test_one_alert_per_continuous_gap(demands: list[float], threshold: float) -> None:
    """At most one alert per gap; exactly one when there is no delay to wait out."""
    for delay in (DELAY, timedelta(0)):
        state, alerts, gaps = QUIET, 0, 0
        for minute, demand in enumerate(demands):
            was_quiet = state.gap_since is None
            at = T0 + timedelta(minutes=minute)
            state, fire = next_state(state, demand, threshold, delay, at)
            gaps += was_quiet and demand > threshold
            alerts += fire
        assert alerts == gaps if delay == timedelta(0) else alerts <= gaps
