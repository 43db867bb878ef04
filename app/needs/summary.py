"""A need as a volunteer sees it before being assigned: what is read, and how it is shaped.

Joined to an offer, an assignment or an open call; never the address or the exact point.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from app.db.tables import needs, programmes
from app.locations import Location
from app.needs.schemas import NeedSummary, Window


def need_summary(row: Any, need_id: UUID) -> NeedSummary:
    return NeedSummary(
        id=need_id,
        org_id=row.org_id,
        programme_id=row.programme_id,
        kind=row.kind,
        title=row.title,
        description=row.description,
        mode=row.mode,
        coarse_location=(
            Location.from_geography(row.coarse_location)
            if row.coarse_location is not None
            else None
        ),
        windows=[Window(r.lower, r.upper) for r in row.windows],
        duration_minutes=row.duration_minutes,
        urgency=row.urgency,
        required_skills=list(row.required_skills),
        languages=list(row.languages),
        slots=row.slots,
        filled=row.filled,
    )


NEED_COLUMNS = (  # what need_summary() reads, joined to an offer or assignment
    needs.c.programme_id,
    needs.c.title,
    needs.c.description,
    needs.c.mode,
    needs.c.coarse_location,
    needs.c.windows,
    needs.c.duration_minutes,
    needs.c.urgency,
    needs.c.required_skills,
    needs.c.languages,
    needs.c.slots,
    needs.c.filled,
    programmes.c.kind,
)
