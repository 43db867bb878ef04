"""Wire shapes for programmes and their offer policy."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.wire import TEXT_PATTERN
from matching.model import OfferPolicy, ProgrammeKind
from matching.vetting import DbsLevel

ProgrammeName = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=120, pattern=TEXT_PATTERN, examples=["Prescription runs"]
    ),
]
WaveSize = Annotated[int, msgspec.Meta(ge=1, le=50, description="volunteers offered per wave")]
OfferTimeout = Annotated[
    int, msgspec.Meta(ge=60, le=7 * 86400, description="seconds before an offer expires")
]
AlertCap = Annotated[
    int, msgspec.Meta(ge=1, le=500, description="most volunteers ever alerted per slot of a need")
]
MaxWaves = Annotated[int, msgspec.Meta(ge=1, le=20)]
CheckinRadius = Annotated[int, msgspec.Meta(ge=10, le=5000, description="metres")]
StaleClaim = Annotated[
    int,
    msgspec.Meta(
        ge=600,
        le=30 * 86400,
        description="seconds after which an accepted but unstarted assignment is released",
    ),
]


class ProgrammeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: ProgrammeName
    kind: ProgrammeKind
    min_vetting: DbsLevel = DbsLevel.NONE
    wave_size: WaveSize = 3
    offer_timeout_s: OfferTimeout = OfferPolicy().offer_timeout_s
    alert_cap: AlertCap = 12
    max_waves: MaxWaves = 4
    checkin_radius_m: CheckinRadius = 250
    stale_claim_timeout_s: StaleClaim = 86400
    org_id: UUID | None = None  # needed only by staff of several organisations


class ProgrammePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: ProgrammeName | msgspec.UnsetType = msgspec.UNSET
    min_vetting: DbsLevel | msgspec.UnsetType = msgspec.UNSET
    wave_size: WaveSize | msgspec.UnsetType = msgspec.UNSET
    offer_timeout_s: OfferTimeout | msgspec.UnsetType = msgspec.UNSET
    alert_cap: AlertCap | msgspec.UnsetType = msgspec.UNSET
    max_waves: MaxWaves | msgspec.UnsetType = msgspec.UNSET
    checkin_radius_m: CheckinRadius | msgspec.UnsetType = msgspec.UNSET
    stale_claim_timeout_s: StaleClaim | msgspec.UnsetType = msgspec.UNSET


class Programme(msgspec.Struct, kw_only=True):
    id: UUID
    org_id: UUID
    name: str
    kind: ProgrammeKind
    min_vetting: DbsLevel
    wave_size: int
    offer_timeout_s: int
    alert_cap: int
    max_waves: int
    checkin_radius_m: int
    stale_claim_timeout_s: int
    created_at: datetime
    updated_at: datetime
