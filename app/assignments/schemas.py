"""Wire shapes for assignments."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from app.db.rows import AnyRow
from app.locations import Latitude, Location, Longitude
from app.needs.schemas import NeedSummary
from app.wire import TEXT_PATTERN
from matching.model import AssignmentStatus

Note = Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=r"^[^\x00]*$")]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500, pattern=TEXT_PATTERN)]


class Outcome(StrEnum):
    """How it went, for the person helped: what the metrics count."""

    DONE = "done"  # helped as planned
    PARTLY_DONE = "partly_done"
    NOT_HOME = "not_home"  # the client was not there
    NOT_NEEDED = "not_needed"  # no longer needed
    REFERRED = "referred"  # passed on to a professional service
    SAFEGUARDING_CONCERN = "safeguarding_concern"  # raised with the caseworker


class ClientContact(msgspec.Struct, kw_only=True):
    """What an assigned volunteer may know of the person, only while assigned."""

    name: str
    phone: str | None
    address: str | None
    preferred_language: str | None


class Assignment(msgspec.Struct, kw_only=True):
    id: UUID
    need_id: UUID
    volunteer_id: UUID
    status: AssignmentStatus
    accepted_at: datetime
    checked_in_at: datetime | None
    completed_at: datetime | None
    minutes: int | None
    outcome: str | None
    note: str | None
    ended_at: datetime | None
    end_reason: str | None
    updated_at: datetime
    need: NeedSummary | None = None
    # Only while the assignment is active, only for its volunteer (and staff): audited.
    location: Location | None = None
    client: ClientContact | None = None


class CheckInIn(msgspec.Struct, forbid_unknown_fields=True):
    """Where the volunteer is: required for in-person needs (geofenced), ignored for remote."""

    lat: Latitude | None = None
    lon: Longitude | None = None


class CompleteIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    minutes: Annotated[int, msgspec.Meta(ge=1, le=1440)]
    outcome: Outcome | None = None
    note: Note | None = None


class WithdrawIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Reason


class NoShowIn(msgspec.Struct, forbid_unknown_fields=True):
    note: Note | None = None


class NeedOutcomeIn(msgspec.Struct, forbid_unknown_fields=True):
    outcome: Outcome
    note: Note | None = None


def to_assignment(row: AnyRow, need: NeedSummary | None = None) -> Assignment:
    return Assignment(
        id=row.id,
        need_id=row.need_id,
        volunteer_id=row.volunteer_id,
        status=row.status,
        accepted_at=row.accepted_at,
        checked_in_at=row.checked_in_at,
        completed_at=row.completed_at,
        minutes=row.minutes,
        outcome=row.outcome,
        note=row.note,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        updated_at=row.updated_at,
        need=need,
    )
