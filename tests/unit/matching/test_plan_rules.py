"""The rules across a volunteer's plan: clashes, weekly hours (by ISO week) and the cap."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from matching.model import Reason
from matching.plan_rules import Ledger, Room, Timing, clash, week_of

MONDAY = datetime(2026, 12, 7, tzinfo=UTC)


def at(hours: float, minutes: int = 60, day: int = 0) -> Timing:
    start = MONDAY + timedelta(days=day, hours=hours)
    return Timing(((start, start + timedelta(minutes=minutes)),), minutes)


def test_weeks_are_iso_weeks_in_utc() -> None:
    assert week_of(MONDAY) == date(2026, 12, 7)
    assert week_of(MONDAY - timedelta(seconds=1)) == date(2026, 11, 30)
    sunday_late = MONDAY + timedelta(days=6, hours=23)
    assert week_of(sunday_late) == date(2026, 12, 7)
    # 00:30 on Monday in Paris is still Sunday in UTC
    assert week_of(datetime(2026, 12, 7, 0, 30, tzinfo=ZoneInfo("Europe/Paris"))) == date(
        2026, 11, 30
    )


def test_a_need_across_midnight_on_sunday_counts_in_both_weeks() -> None:
    need = at(-1, minutes=120)  # Sunday 23:00 to Monday 01:00
    assert need.week == date(2026, 11, 30)
    assert need.weeks == {date(2026, 11, 30), date(2026, 12, 7)}
    assert at(10).weeks == {date(2026, 12, 7)}


def test_windows_are_half_open_and_any_alternative_clashes() -> None:
    assert clash(at(10), at(10.5))
    assert not clash(at(10), at(11))  # 10-11 then 11-12: back to back is fine
    assert not clash(at(10), at(10, day=1))
    either = Timing((at(9).windows[0], at(14).windows[0]), 60)  # 9:00 or 14:00
    assert clash(either, at(14.5))
    assert not clash(either, at(12))


def test_the_ledger_refuses_a_clash_the_cap_and_the_hours() -> None:
    ann = Room(assignments=2, week_minutes=180, committed={date(2026, 12, 7): 60})
    ledger: Ledger[str] = Ledger({"ann": ann})
    assert ledger.admit("ann", at(10)) is None
    assert ledger.admit("ann", at(10.5)) is Reason.CONFLICT
    assert ledger.admit("ann", at(12, minutes=90)) is Reason.HOURS_CAP  # 60 + 60 + 90 > 180
    assert ledger.admit("ann", at(12)) is None  # 60 + 60 + 60 = 180: at the limit
    assert ledger.admit("ann", at(15, day=8)) is Reason.ASSIGNMENTS_CAP


def test_hours_are_counted_per_week() -> None:
    bob = Room(assignments=5, week_minutes=60)
    ledger: Ledger[str] = Ledger({"bob": bob})
    assert ledger.admit("bob", at(10)) is None
    assert ledger.admit("bob", at(10, day=7)) is None  # the next week: its own 60 minutes
    assert ledger.admit("bob", at(12, day=1)) is Reason.HOURS_CAP
    # hours already committed in the next week count there only
    cy = Room(assignments=5, week_minutes=60, committed={date(2026, 12, 14): 60})
    assert Ledger({"cy": cy}).admit("cy", at(10, day=7)) is Reason.HOURS_CAP
    assert Ledger({"cy": cy}).admit("cy", at(10)) is None


def test_a_need_spanning_two_weeks_counts_against_the_later_one_too() -> None:
    # Sunday 23:00-01:00 is checked in its own week but also counts in the next one, so a
    # Monday need already at that week's limit cannot come after it.
    dee = Room(assignments=5, week_minutes=120)
    ledger: Ledger[str] = Ledger({"dee": dee})
    assert ledger.admit("dee", at(10, minutes=120, day=1)) is None  # Tuesday, 2 h
    assert ledger.admit("dee", at(-1, minutes=120)) is Reason.HOURS_CAP
