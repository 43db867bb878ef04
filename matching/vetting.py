"""DBS vetting levels and what satisfies a requirement (England and Wales).

Levels rise basic < standard < enhanced; an enhanced check may add the children's and/or
adults' barred list. Family work with children needs the children's list, regulated
activity with vulnerable adults the adults' list. A check counts only until it expires.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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
