"""Wire shapes for needs (needs)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.locations import Location
from app.needs.status import NeedStatus
from app.volunteers.schemas import LanguageCode, SkillCode
from app.wire import TEXT_PATTERN, UNIQUE
from matching.model import Dispatch, Mode, Urgency
from matching.vetting import DbsLevel

Title = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=200,
        pattern=TEXT_PATTERN,
        examples=["Collect a prescription from Boots, Broad St"],
    ),
]
Description = Annotated[str, msgspec.Meta(max_length=5000, pattern=r"^[^\x00]*$")]
Rule = Annotated[
    str,
    msgspec.Meta(
        max_length=200,
        examples=["FREQ=WEEKLY;BYDAY=TU;COUNT=8"],
        description="RFC 5545 RRULE subset: WEEKLY or DAILY, INTERVAL, BYDAY, and COUNT or UNTIL",
    ),
]


class Window(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    start: datetime
    end: datetime


class Continuity(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Prefer a named volunteer, or whoever helped this client last time."""

    volunteer_id: UUID | None = None
    same_as_last: bool = False


class NeedIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    programme_id: UUID
    client_id: UUID | None = None
    title: Title
    description: Description | None = None
    mode: Mode = Mode.IN_PERSON
    location: Location | None = None  # in person: defaults to the client's address
    required_skills: Annotated[
        list[SkillCode], msgspec.Meta(max_length=10, extra_json_schema=UNIQUE)
    ] = msgspec.field(default_factory=list)
    languages: Annotated[
        list[LanguageCode], msgspec.Meta(max_length=5, extra_json_schema=UNIQUE)
    ] = msgspec.field(default_factory=list)
    min_vetting: DbsLevel = DbsLevel.NONE  # the programme's minimum applies as well
    windows: Annotated[list[Window], msgspec.Meta(min_length=1, max_length=10)]
    duration_minutes: Annotated[int, msgspec.Meta(ge=5, le=1440)]
    slots: Annotated[int, msgspec.Meta(ge=1, le=500)] = 1
    urgency: Urgency = Urgency.NORMAL
    recurrence: Rule | None = None
    continuity: Continuity | None = None
    dispatch: Dispatch = Dispatch.AUTO
    draft: bool = False  # drafts are not offered to anyone until opened


class NeedPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType | None = msgspec.UNSET
    urgency: Urgency | msgspec.UnsetType = msgspec.UNSET
    slots: Annotated[int, msgspec.Meta(ge=1, le=500)] | msgspec.UnsetType = msgspec.UNSET
    status: NeedStatus | msgspec.UnsetType = msgspec.UNSET  # e.g. draft -> open


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=3, max_length=500, pattern=TEXT_PATTERN)]


class Need(msgspec.Struct, kw_only=True):
    """The staff view of a need (exact location included)."""

    id: UUID
    org_id: UUID
    programme_id: UUID
    client_id: UUID | None
    title: str
    description: str | None
    mode: Mode
    location: Location | None
    coarse_location: Location | None
    required_skills: list[str]
    languages: list[str]
    min_vetting: DbsLevel
    windows: list[Window]
    duration_minutes: int
    slots: int
    filled: int
    urgency: Urgency
    dispatch: Dispatch
    status: NeedStatus
    series_id: UUID | None
    series_index: int | None
    recurrence: str | None
    continuity: Continuity | None
    cancel_reason: str | None
    waves_sent: int  # offer waves sent so far
    escalated_at: datetime | None  # the cascade ran out: a person must decide
    escalation_reason: str | None
    outcome: str | None  # how it went for the person helped
    outcome_note: str | None
    outcome_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Created(msgspec.Struct, kw_only=True):
    """A posted need, or the first of a series with how many occurrences were created."""

    need: Need
    occurrences: int


class NeedSummary(msgspec.Struct, kw_only=True):
    """A need as a volunteer sees it before being assigned: a coarse ~500 m cell, never the
    address. Caseworkers keep personal details out of titles and descriptions."""

    id: UUID
    org_id: UUID
    programme_id: UUID
    kind: str
    title: str
    description: str | None
    mode: Mode
    coarse_location: Location | None
    windows: list[Window]
    duration_minutes: int
    urgency: Urgency
    required_skills: list[str]
    languages: list[str]
    slots: int
    filled: int
