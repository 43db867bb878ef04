"""The roster's filters: which of an organisation's volunteers a coordinator lists, by
membership status, by their current DBS check (valid, lapsing within a number of days,
lapsed, none; meeting a level; letting them take a programme's needs today) and by whether
they have missed a visit. Conditions on the
roster's statement (`coordination.roster`); what counts as valid is `Vetting.valid_on`'s
rule (a check counts until its expiry day) and what meets a level `matching.vetting.satisfies`.
A programme's filter is matching's own rule for its required level (`Vetting.meets`, as
`geo/candidates.py` writes it in SQL): nobody on a barred list, and for a level above none
an identity-verified check meeting it that still counts today. Membership status is the
`status` filter's, not this one's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import and_, exists, false, func, or_, select

from app.db.tables import assignments, volunteers
from matching.model import AssignmentStatus
from matching.vetting import DbsLevel, satisfies


class VettingFilter(StrEnum):
    VALID = "valid"  # a current check that still counts today
    LAPSING = "lapsing"  # ... and lapses within `within_days`
    LAPSED = "lapsed"  # a current check past its expiry
    NONE = "none"  # no check recorded, or one at level none


@dataclass(frozen=True)
class RosterFilter:
    status: str | None = None
    vetting: VettingFilter | None = None
    within_days: int = 30  # for LAPSING
    level: DbsLevel | None = None  # a valid current check meeting this level
    no_shows: bool | None = None  # has missed a visit for the organisation (or has not)
    programme: UUID | None = None  # whose check lets them take this programme's needs


def no_show_count(org_id: UUID) -> Any:
    """The roster's `no_shows` column: visits the volunteer missed for the organisation."""
    return (
        select(func.count())
        .where(
            assignments.c.volunteer_id == volunteers.c.user_id,
            assignments.c.org_id == org_id,
            assignments.c.status == AssignmentStatus.NO_SHOW.value,
        )
        .scalar_subquery()
        .label("no_shows")
    )


def eligible_for(stmt: Any, check: Any, required: DbsLevel, today: date) -> Any:
    """`stmt` keeping those whose current check lets them take work needing `required`
    today: `Vetting.meets`, as matching applies it."""
    barred = func.coalesce(or_(check.c.barred_children, check.c.barred_adults), false())
    stmt = stmt.where(~barred)
    if required is DbsLevel.NONE:
        return stmt
    meeting = [held.value for held in DbsLevel if satisfies(held, required)]
    return stmt.where(
        check.c.level.in_(meeting), check.c.id_verified.is_(True), check.c.expires_on > today
    )


def apply(stmt: Any, check: Any, f: RosterFilter, today: date, org_id: UUID) -> Any:
    """`stmt` with the filter's conditions; `check`: the roster's current-check lateral."""
    valid = and_(check.c.level.is_not(None), check.c.level != "none", check.c.expires_on > today)
    if f.vetting is VettingFilter.VALID:
        stmt = stmt.where(valid)
    elif f.vetting is VettingFilter.LAPSING:
        stmt = stmt.where(valid, check.c.expires_on <= today + timedelta(days=f.within_days))
    elif f.vetting is VettingFilter.LAPSED:
        stmt = stmt.where(check.c.level != "none", check.c.expires_on <= today)
    elif f.vetting is VettingFilter.NONE:
        stmt = stmt.where(or_(check.c.level.is_(None), check.c.level == "none"))
    if f.level is not None:
        meeting = [held.value for held in DbsLevel if satisfies(held, f.level)]
        stmt = stmt.where(valid, check.c.level.in_(meeting))
    if f.no_shows is not None:
        missed = exists(
            select(assignments.c.id).where(
                assignments.c.volunteer_id == volunteers.c.user_id,
                assignments.c.org_id == org_id,
                assignments.c.status == AssignmentStatus.NO_SHOW.value,
            )
        )
        stmt = stmt.where(missed if f.no_shows else ~missed)
    return stmt
