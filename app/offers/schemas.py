"""Wire shapes for offers, candidates and the volunteer's view of a need."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import msgspec

from app.needs.schemas import NeedSummary
from app.wire import TEXT_PATTERN
from matching.model import OfferSource, OfferStatus, Reason


class Explanation(msgspec.Struct, frozen=True):
    """One factor of a match score: its value in [0, 1], the points it added, and why."""

    factor: str
    value: float
    points: float
    note: str


class Factor(msgspec.Struct, frozen=True):
    """What a factor added to the volunteer's own match score (why they were asked)."""

    factor: str
    points: float


class VolunteerOffer(msgspec.Struct, kw_only=True):
    id: UUID
    status: OfferStatus
    series: bool  # accepting takes every open occurrence of a recurring need
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    # Factors without the staff's notes: a distance to the exact address, however rounded,
    # would narrow the coarse cell down.
    factors: list[Factor]
    need: NeedSummary


class StaffOffer(msgspec.Struct, kw_only=True):
    id: UUID
    need_id: UUID
    volunteer_id: UUID
    volunteer_name: str | None
    status: OfferStatus
    wave: int
    source: OfferSource
    series: bool
    score: float | None
    explanation: list[Explanation]
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    decline_reason: str | None


class RankedCandidate(msgspec.Struct, kw_only=True):
    volunteer_id: UUID
    display_name: str | None
    eligible: bool
    reasons: list[Reason]  # why not, when not eligible
    score: float | None
    distance_km: float | None
    travel_minutes: float | None
    explanation: list[Explanation]


class DeclineIn(msgspec.Struct, forbid_unknown_fields=True):
    reason: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=TEXT_PATTERN)] | None
    ) = None


class OffersIn(msgspec.Struct, forbid_unknown_fields=True):
    """Offer to these volunteers; with no list, send the need's next wave now."""

    volunteer_ids: Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=50)] | None = None


def explanations(value: Any) -> list[Explanation]:
    return msgspec.convert(value or [], list[Explanation])
