"""Wire shapes for volunteers: sign-up, profile, enrolment, duty, devices, vetting."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from app.locations import Location
from app.orgs.schemas import Slug
from app.wire import TEXT_PATTERN, UNIQUE
from matching.model import ProgrammeKind
from matching.vetting import DbsLevel

Text200 = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
SkillCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]{1,47}$", examples=["shopping"])]
LanguageCode = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z]{2}$", examples=["en"], description="ISO 639-1")
]


TravelKm = Annotated[float, msgspec.Meta(gt=0, le=200, description="how far they will travel")]
Hours = Annotated[int, msgspec.Meta(ge=1, le=80, description="most hours a week")]
ActiveCap = Annotated[int, msgspec.Meta(ge=1, le=20, description="most assignments at once")]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Europe/London"])]


class TravelMode(StrEnum):
    WALK = "walk"
    CYCLE = "cycle"
    PUBLIC_TRANSPORT = "public_transport"
    CAR = "car"


class QuietHours(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Local times between which only urgent messages are pushed (may cross midnight)."""

    start: time
    end: time


class SignUp(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    display_name: Text200
    home: Location
    max_travel_km: TravelKm
    travel_mode: TravelMode
    skills: Annotated[list[SkillCode], msgspec.Meta(max_length=30, extra_json_schema=UNIQUE)] = (
        msgspec.field(default_factory=list)
    )
    languages: Annotated[
        list[LanguageCode],
        msgspec.Meta(min_length=1, max_length=10, extra_json_schema=UNIQUE),
    ] = msgspec.field(default_factory=lambda: ["en"])
    max_hours_per_week: Hours = 6
    max_active_assignments: ActiveCap = 2
    preferred_kinds: Annotated[
        list[ProgrammeKind], msgspec.Meta(max_length=5, extra_json_schema=UNIQUE)
    ] = msgspec.field(default_factory=list)
    quiet_hours: QuietHours | None = None
    time_zone: TimeZone = "Europe/London"
    organisations: Annotated[list[Slug], msgspec.Meta(max_length=10, extra_json_schema=UNIQUE)] = (
        msgspec.field(default_factory=list)
    )


class ProfilePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    display_name: Text200 | msgspec.UnsetType = msgspec.UNSET
    home: Location | msgspec.UnsetType = msgspec.UNSET
    max_travel_km: TravelKm | msgspec.UnsetType = msgspec.UNSET
    travel_mode: TravelMode | msgspec.UnsetType = msgspec.UNSET
    skills: (
        Annotated[list[SkillCode], msgspec.Meta(max_length=30, extra_json_schema=UNIQUE)]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    languages: (
        Annotated[
            list[LanguageCode],
            msgspec.Meta(min_length=1, max_length=10, extra_json_schema=UNIQUE),
        ]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    max_hours_per_week: Hours | msgspec.UnsetType = msgspec.UNSET
    max_active_assignments: ActiveCap | msgspec.UnsetType = msgspec.UNSET
    preferred_kinds: (
        Annotated[list[ProgrammeKind], msgspec.Meta(max_length=5, extra_json_schema=UNIQUE)]
        | msgspec.UnsetType
    ) = msgspec.UNSET
    quiet_hours: QuietHours | msgspec.UnsetType | None = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET


class VettingStatus(msgspec.Struct, kw_only=True):
    level: DbsLevel
    checked_on: date | None
    expires_on: date | None
    id_verified: bool
    barred: bool
    update_service: bool  # subscribed to the DBS Update Service
    valid_today: bool  # recomputed on every read: expiry needs no job


class Enrolment(msgspec.Struct, kw_only=True):
    org_id: UUID
    org_slug: str
    org_name: str
    status: str
    vetting: VettingStatus | None


class Volunteer(msgspec.Struct, kw_only=True):
    """The volunteer's own view of their profile."""

    user_id: UUID
    display_name: str
    home: Location
    max_travel_km: float
    travel_mode: TravelMode
    skills: list[str]
    languages: list[str]
    max_hours_per_week: int
    max_active_assignments: int
    preferred_kinds: list[ProgrammeKind]
    quiet_hours: QuietHours | None
    time_zone: str
    on_duty: bool
    on_duty_until: datetime | None
    enrolments: list[Enrolment]
    created_at: datetime
    updated_at: datetime


class EnrolIn(msgspec.Struct, forbid_unknown_fields=True):
    organisation: Slug


class DutyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    on_duty: bool
    until: datetime | None = None
    location: Location | None = None  # shared only while on duty


class Duty(msgspec.Struct, kw_only=True):
    on_duty: bool
    until: datetime | None
    sharing_location: bool


class DeviceKind(StrEnum):
    TOKEN = "token"  # noqa: S105 - an FCM registration token, not a password
    FID = "fid"  # a Firebase installation id


class Platform(StrEnum):
    ANDROID = "android"
    IOS = "ios"
    WEB = "web"


class DeviceIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    token: Annotated[str, msgspec.Meta(min_length=8, max_length=4096, pattern=r"^[\x21-\x7e]+$")]
    kind: DeviceKind = DeviceKind.TOKEN
    platform: Platform
    app_version: Annotated[str, msgspec.Meta(max_length=40, pattern=r"^[\x20-\x7e]*$")] | None = (
        None
    )


class Device(msgspec.Struct, kw_only=True):
    id: UUID
    kind: DeviceKind
    platform: Platform
    app_version: str | None
    token_suffix: str  # enough to recognise a device, not to use its token
    last_seen_at: datetime
    created_at: datetime
