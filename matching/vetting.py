"""DBS vetting levels and what satisfies a requirement (England and Wales).

Levels rise basic < standard < enhanced; an enhanced check may add the children's and/or
adults' barred list. Family work with children needs the children's list, regulated
activity with vulnerable adults the adults' list. A check counts only until it expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum


class DbsLevel(StrEnum):
    NONE = "none"
    BASIC = "basic"
    STANDARD = "standard"
    ENHANCED = "enhanced"
    ENHANCED_CHILDREN = "enhanced_children"
    ENHANCED_ADULTS = "enhanced_adults"
    ENHANCED_BOTH = "enhanced_both"


_RANK = {DbsLevel.NONE: 0, DbsLevel.BASIC: 1, DbsLevel.STANDARD: 2}
_LISTS: dict[DbsLevel, frozenset[str]] = {
    DbsLevel.ENHANCED_CHILDREN: frozenset({"children"}),
    DbsLevel.ENHANCED_ADULTS: frozenset({"adults"}),
    DbsLevel.ENHANCED_BOTH: frozenset({"children", "adults"}),
}


def rank(level: DbsLevel) -> int:
    return _RANK.get(level, 3)


def barred_lists(level: DbsLevel) -> frozenset[str]:
    return _LISTS.get(level, frozenset())


def satisfies(held: DbsLevel, required: DbsLevel) -> bool:
    """Does a check at `held` meet a requirement of `required`?"""
    return rank(held) >= rank(required) and barred_lists(held) >= barred_lists(required)


def stricter(a: DbsLevel, b: DbsLevel) -> DbsLevel:
    """The least level that satisfies both requirements (e.g. a programme's and a need's)."""
    if satisfies(a, b):
        return a
    if satisfies(b, a):
        return b
    lists = barred_lists(a) | barred_lists(b)  # both are enhanced with different lists
    return DbsLevel.ENHANCED_BOTH if lists == {"children", "adults"} else DbsLevel.ENHANCED


@dataclass(frozen=True)
class Vetting:
    """A volunteer's current check with one organisation."""

    level: DbsLevel
    checked_on: date | None
    expires_on: date | None
    id_verified: bool
    barred_children: bool = False
    barred_adults: bool = False

    def valid_on(self, day: date) -> bool:
        return self.expires_on is not None and day < self.expires_on

    def meets(self, required: DbsLevel, on: date) -> bool:
        """Eligible for work needing `required` on `on`: expiry ends eligibility by itself.

        Anyone on a barred list is kept from all work: safeguarding first.
        """
        if self.barred_children or self.barred_adults:
            return False
        if required is DbsLevel.NONE:
            return True
        return self.id_verified and self.valid_on(on) and satisfies(self.level, required)


# Before a check lapses, a volunteer is reminded at each of these days left (the nearest one
# reached, once each); the organisation's coordinators hear once a week, from Monday at
# SUMMARY_HOUR local time, of every check that lapses within the first of them or lapsed in
# the week before.
REMINDER_DAYS = (30, 7)
SUMMARY_HOUR = 8
LAPSED_DAYS = 7


def days_left(expires_on: date, today: date) -> int:
    """Days a check still counts: 0 on the day it lapses (`Vetting.valid_on`)."""
    return (expires_on - today).days


def reminder_due(expires_on: date, today: date, sent: frozenset[int]) -> int | None:
    """The reminder due for a check lapsing on `expires_on`: the nearest of REMINDER_DAYS
    reached and not sent yet (a check recorded 5 days before it lapses gets the 7-day one
    only); None once it has lapsed."""
    left = days_left(expires_on, today)
    reached = [d for d in REMINDER_DAYS if 1 <= left <= d]
    if not reached or min(reached) in sent:
        return None
    return min(reached)


def lapsing(left: int) -> bool:
    return 1 <= left <= max(REMINDER_DAYS)


def lapsed_lately(left: int) -> bool:
    return -LAPSED_DAYS < left <= 0


def summary_week(local_now: datetime) -> date | None:
    """The Monday of the week whose coordinators' summary is due at `local_now` (the
    organisation's wall clock); None on Monday before SUMMARY_HOUR."""
    if local_now.weekday() == 0 and local_now.hour < SUMMARY_HOUR:
        return None
    return local_now.date() - timedelta(days=local_now.weekday())
