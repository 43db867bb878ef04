"""A need as a volunteer sees it before being assigned: what is read, and how it is shaped.

Joined to an offer, an assignment or an open call; never the address or the exact point.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import Range

from app.db.rows import AnyRow
from app.db.tables import needs, programmes
from app.locations import Location
from app.needs.facts import NeedRow, shown_fields
from app.needs.schemas import NeedSummary, Window
from matching.model import Mode, Urgency


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """The need's columns a volunteer may see (`NEED_COLUMNS` and its organisation), read
    from a row that joins them to an offer, an assignment or an open call."""

    org_id: UUID
    programme_id: UUID
    title: str
    description: str | None
    mode: Mode
    coarse_location: Any  # WKBElement: the ~500 m cell
    windows: tuple[Range[datetime], ...]
    duration_minutes: int
    urgency: Urgency
    required_skills: tuple[str, ...]
    languages: tuple[str, ...]
    slots: int
    filled: int
    kind: str

    @classmethod
    def of(cls, row: AnyRow) -> SummaryRow:
        m = row._mapping
        return cls(**{f.name: m[f.name] for f in fields(cls)} | shown_fields(row))


def need_summary(row: NeedRow | SummaryRow, need_id: UUID) -> NeedSummary:
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
        # windows are bounded (checked when posted)
        windows=[Window(r.lower, r.upper) for r in row.windows if r.lower and r.upper],
        duration_minutes=row.duration_minutes,
        urgency=row.urgency,
        required_skills=list(row.required_skills),
        languages=list(row.languages),
        slots=row.slots,
        filled=row.filled,
    )


NEED_COLUMNS = (  # what need_summary() reads, joined to an offer or assignment (with org_id)
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
