"""Wire shapes of a volunteer's export and erasure."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

import msgspec

from app.assignments.schemas import Assignment
from app.locations import Location
from app.notify.schemas import ContactChannel
from app.offers.schemas import VolunteerOffer
from app.volunteers.schedule import AvailabilityView
from app.volunteers.schemas import Device, Volunteer


class Account(msgspec.Struct, kw_only=True):
    """The sign-in record: who the identity provider says the caller is."""

    user_id: UUID
    email: str | None
    display_name: str | None
    identity_provider: str  # the token issuer; the provider's own id for them is not repeated
    created_at: datetime


class LiveLocation(msgspec.Struct, kw_only=True):
    """Kept only while on duty."""

    location: Location
    at: datetime | None


class MembershipRecord(msgspec.Struct, kw_only=True):
    org_id: UUID
    org_name: str
    role: str
    status: str
    status_reason: str | None
    status_changed_at: datetime | None
    external_id: str | None  # the organisation's own reference for them, if an import set one
    created_at: datetime


class VettingRecord(msgspec.Struct, kw_only=True):
    """One DBS check as recorded, with the staff's notes on it."""

    org_id: UUID
    level: str
    checked_on: date | None
    expires_on: date | None
    id_verified: bool
    barred_children: bool
    barred_adults: bool
    update_service: bool
    notes: str | None
    recorded_at: datetime


class MessageRecord(msgspec.Struct, kw_only=True):
    """A message sent (or waiting) to them: its kind and fate, not its content."""

    kind: str
    status: str
    channel: str | None
    created_at: datetime
    sent_at: datetime | None


class AuditRecord(msgspec.Struct, kw_only=True):
    """Who read or changed their record: themselves, or staff of the organisation named."""

    at: datetime
    action: str
    org_id: UUID | None
    by: str  # "you" or "staff"
    reason: str | None


class Kept(msgspec.Struct, kw_only=True):
    """A record that outlives erasure: what it is, why it is kept, and until when."""

    what: str
    why: str
    org_id: UUID | None
    until: date | None  # None: kept as long as the audit log itself (it names no one)


class VolunteerExport(msgspec.Struct, kw_only=True):
    """Everything Codeliver holds about the caller (UK GDPR Article 15)."""

    exported_at: datetime
    account: Account
    profile: Volunteer | None
    live_location: LiveLocation | None
    availability: AvailabilityView | None
    memberships: list[MembershipRecord]
    vetting_checks: list[VettingRecord]
    devices: list[Device]
    channels: list[ContactChannel]
    offers: list[VolunteerOffer]
    assignments: list[Assignment]
    messages: list[MessageRecord]
    audit: list[AuditRecord]
    kept_on_erasure: list[Kept]
    not_included: dict[str, str]  # what is held but not in this file, and why


class Erasure(msgspec.Struct, kw_only=True):
    """What an erasure did (UK GDPR Article 17), and what it kept, why and until when."""

    erased_at: datetime | None  # None: nothing was held, so nothing was done
    reference: UUID | None  # the pseudonym the kept records carry
    withdrawn_from: list[UUID]
    offers_declined: int
    assignments_withdrawn: int
    deleted: list[str]
    kept: list[Kept]
    sign_in: str
