"""Wire shapes for clients: what caseworkers send and receive, validated at decoding."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

import msgspec

from app.locations import Location
from app.wire import TEXT_PATTERN, UNIQUE, Email


class SafeguardingFlag(StrEnum):
    LIVES_ALONE = "lives_alone"
    COGNITIVE_IMPAIRMENT = "cognitive_impairment"
    HEARING_IMPAIRMENT = "hearing_impairment"
    VISUAL_IMPAIRMENT = "visual_impairment"
    MOBILITY_IMPAIRMENT = "mobility_impairment"
    NEEDS_INTERPRETER = "needs_interpreter"
    CHILD_PROTECTION_PLAN = "child_protection_plan"
    DOMESTIC_ABUSE_RISK = "domestic_abuse_risk"
    ANIMAL_ON_PREMISES = "animal_on_premises"
    LONE_WORKER_RISK = "lone_worker_risk"


# PostgreSQL text cannot hold NUL, so it is refused here, naming the field, rather than by the
# database. Not blank is TEXT_PATTERN, which reads whitespace alike in Python and ECMA-262.
_NO_NUL = r"^[^\x00]*$"

ClientName = Annotated[
    str, msgspec.Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN, examples=["Ada Jones"])
]
Phone = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=40,
        pattern=r"^[ +()\-]*[0-9][0-9 +()\-]*$",
        description="digits, spaces and + ( ) -",
        examples=["0118 496 0000"],
    ),
]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=500, pattern=TEXT_PATTERN)]
Uprn = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{1,12}$",
        description="Unique Property Reference Number (OS AddressBase): up to 12 digits",
        examples=["100080123456"],
    ),
]
Notes = Annotated[str, msgspec.Meta(max_length=5000, pattern=_NO_NUL)]
Flags = Annotated[
    list[SafeguardingFlag],
    msgspec.Meta(
        max_length=20,
        description="no duplicates; erased with the client",
        extra_json_schema=UNIQUE,
    ),
]
Language = Annotated[
    str,
    msgspec.Meta(
        min_length=2,
        max_length=2,
        pattern=r"^[a-z]{2}$",
        description="ISO 639-1 code",
        examples=["en", "pl"],
    ),
]
Reason = Annotated[str, msgspec.Meta(min_length=3, max_length=500, pattern=TEXT_PATTERN)]


class ClientIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: ClientName
    phone: Phone | None = None
    email: Email | None = None
    address: Address | None = None
    location: Location | None = None  # None: a remote-only client (telephone befriending)
    uprn: Uprn | None = None  # the address's, when it was picked from a lookup by postcode
    notes: Notes | None = None
    safeguarding_flags: Flags = msgspec.field(default_factory=list)
    preferred_language: Language | None = None
    org_id: UUID | None = None  # needed only by staff of several organisations


class ClientPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Only the fields sent change; `null` clears an optional one."""

    name: ClientName | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    address: Address | msgspec.UnsetType | None = msgspec.UNSET
    location: Location | msgspec.UnsetType | None = msgspec.UNSET
    uprn: Uprn | msgspec.UnsetType | None = msgspec.UNSET
    notes: Notes | msgspec.UnsetType | None = msgspec.UNSET
    safeguarding_flags: Flags | msgspec.UnsetType = msgspec.UNSET
    preferred_language: Language | msgspec.UnsetType | None = msgspec.UNSET


class ErasureIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason


class Client(msgspec.Struct, kw_only=True):
    id: UUID
    org_id: UUID
    name: str
    phone: str | None
    email: str | None
    address: str | None
    location: Location | None
    uprn: str | None
    notes: str | None
    safeguarding_flags: list[SafeguardingFlag]
    preferred_language: str | None
    created_at: datetime
    updated_at: datetime
    erased_at: datetime | None
    external_id: str | None = None  # the organisation's own reference, set by an import


class AuditEntry(msgspec.Struct, kw_only=True):
    action: str
    actor: str | None  # the actor's display name; None once they are gone
    at: datetime
    reason: str | None


class ClientExport(msgspec.Struct, kw_only=True):
    """A subject-access export: the record and every audited act on it, oldest first."""

    client: Client
    audit: list[AuditEntry]
