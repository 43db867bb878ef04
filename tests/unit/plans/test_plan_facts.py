"""What a proposal reads for the rules: each need's times, each volunteer's room, and the
solver's report as the plan states it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

from app.plans.proposal import add_room, solver_of, timing_of
from app.settings import Settings
from matching import plan_solver
from matching.model import Edge
from matching.plan_rules import Room, Timing
from tests.unit.matching.strategies import candidate

MONDAY = datetime(2026, 12, 7, 10, tzinfo=UTC)


def test_a_need_row_gives_its_windows_and_duration() -> None:
    window = SimpleNamespace(lower=MONDAY, upper=MONDAY + timedelta(hours=2))
    row = SimpleNamespace(windows=[window], duration_minutes=90)
    assert timing_of(row) == Timing(((MONDAY, MONDAY + timedelta(hours=2)),), 90)


def test_a_volunteers_room_gathers_what_they_hold_week_by_week() -> None:
    c = replace(candidate(), max_active_assignments=4, active_assignments=1, max_hours_per_week=6)
    rooms: dict = {}
    add_room(rooms, replace(c, hours_committed=1.5), Timing(((MONDAY, MONDAY),), 60))
    next_week = MONDAY + timedelta(days=7)
    add_room(rooms, replace(c, hours_committed=0.25), Timing(((next_week, next_week),), 60))
    assert rooms[c.volunteer_id] == Room(
        assignments=3, week_minutes=360, committed={date(2026, 12, 7): 90, date(2026, 12, 14): 15}
    )


def test_the_solver_report_and_the_default_time_limit() -> None:
    assert Settings().plan_time_limit_s == plan_solver.TIME_LIMIT_S
    c = candidate()
    need = c.volunteer_id  # any UUID
    timing = Timing(((MONDAY, MONDAY + timedelta(hours=1)),), 60)
    solved = plan_solver.solve(
        {need: 1}, {c.volunteer_id: Room(1, 600)}, {need: timing}, [Edge(need, c.volunteer_id, 7)]
    )
    report = solver_of(solved, 2.5)
    assert (report.status, report.gap, report.time_limit_s) == ("optimal", 0.0, 2.5)
    assert report.objective == report.best_bound == report.fill_weight - 7
    assert (report.filled_bound, report.flow_filled, report.flow_refused) == (1, 1, {})
