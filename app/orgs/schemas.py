"""Wire shapes for organisations and memberships."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from app.identity.principal import Role
from app.wire import TEXT_PATTERN, Email

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
Slug = Annotated[
    str,
    msgspec.Meta(
        min_length=2,
        max_length=63,
        pattern=r"^[a-z0-9](-?[a-z0-9])*$",
        description="lower-case letters, digits and single hyphens",
    ),
]
TimeZone = Annotated[
    str,
    msgspec.Meta(
        min_length=1, max_length=64, examples=["Europe/London"], description="IANA time zone name"
    ),
]


class OrgKind(StrEnum):
    COUNCIL = "council"
    NHS_TRUST = "nhs_trust"
    CHARITY = "charity"
    OTHER = "other"


RecheckMonths = Annotated[
    int, msgspec.Meta(ge=1, le=120, description="how often DBS checks must be renewed")
]

RetentionMonths = Annotated[
    int,
    msgspec.Meta(
        ge=12,
        le=1200,
        description="how long what must outlive a volunteer's erasure is kept (their DBS check "
        "records, past assignments, no-shows and exclusions), counted from the erasure",
    ),
]


class OrganisationIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name
    slug: Slug
    kind: OrgKind
    time_zone: TimeZone = "Europe/London"
    vetting_recheck_months: RecheckMonths = 36
    safeguarding_retention_months: RetentionMonths = 72


class OrganisationPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An organisation's settings: the fields sent change (at least one), the others stay. The
    slug (which volunteers enrol by) and the kind are set when the organisation is created."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    time_zone: TimeZone | msgspec.UnsetType = msgspec.UNSET
    vetting_recheck_months: RecheckMonths | msgspec.UnsetType = msgspec.UNSET
    safeguarding_retention_months: RetentionMonths | msgspec.UnsetType = msgspec.UNSET


class Organisation(msgspec.Struct, kw_only=True):
    id: UUID
    slug: str
    name: str
    kind: OrgKind
    time_zone: str
    vetting_recheck_months: int
    safeguarding_retention_months: int
    created_at: datetime


class MemberIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Add a person by e-mail (invited if they have never signed in) or by user id."""

    role: Role
    email: Email | None = None
    user_id: UUID | None = None
    display_name: Name | None = None


class Member(msgspec.Struct, kw_only=True):
    user_id: UUID | None  # None for an invitation not yet claimed
    display_name: str | None
    email: str | None
    role: Role
    invited: bool
    created_at: datetime


class MyMembership(msgspec.Struct, kw_only=True):
    org_id: UUID
    org_slug: str
    org_name: str
    role: Role


class Me(msgspec.Struct, kw_only=True):
    user_id: UUID
    display_name: str | None
    email: str | None
    platform_admin: bool
    memberships: list[MyMembership]


Reason = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=500,
        pattern=TEXT_PATTERN,
        description="why, for the audit log (3 to 500 characters)",
    ),
]


# A volunteer is not removed or re-roled here: suspended with a reason, through the roster.
StaffRole = Literal["caseworker", "coordinator", "org_admin"]


class RoleRemovalIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Take one staff role away."""

    role: StaffRole
    reason: Reason


class RoleChangeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One staff role for another, at once (nothing in between holds neither)."""

    role: StaffRole  # the role held now
    to: StaffRole
    reason: Reason


class RevokeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    reason: Reason


class Invitation(msgspec.Struct, kw_only=True):
    """An invitation not yet claimed: it becomes a membership when someone signs in with
    that verified e-mail address."""

    id: UUID
    email: str
    role: Role
    display_name: str | None
    invited_by: UUID | None
    created_at: datetime
