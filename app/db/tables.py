"""Table definitions (SQLAlchemy Core). Migrations must agree with these: a test checks.

Every tenant-owned table carries `org_id` and has row-level security enabled in its
migration; a test fails if a table with `org_id` lacks it.
"""

from __future__ import annotations

from geoalchemy2 import Geography
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSTZRANGE, UUID

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ORG_KINDS = ("council", "nhs_trust", "charity", "other")
ROLES = ("volunteer", "caseworker", "coordinator", "org_admin")
MEMBERSHIP_STATUSES = ("pending", "approved", "suspended")
TRAVEL_MODES = ("walk", "cycle", "public_transport", "car")
PROGRAMME_KINDS = (
    "community_support",
    "family_intervention",
    "co_production",
    "co_design",
    "other",
)
DBS_LEVELS = (
    "none",
    "basic",
    "standard",
    "enhanced",
    "enhanced_children",
    "enhanced_adults",
    "enhanced_both",
)


def _id() -> Column[object]:
    return Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _updated_at() -> Column[object]:
    return Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def _org_id() -> Column[object]:
    return Column(
        "org_id",
        UUID(as_uuid=True),
        ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
    )


def _user_ref(name: str) -> Column[object]:
    return Column(name, UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))


organisations = Table(
    "organisations",
    metadata,
    _id(),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("time_zone", Text, nullable=False, server_default="Europe/London"),
    Column("vetting_recheck_months", SmallInteger, nullable=False, server_default="36"),
    _created_at(),
    CheckConstraint(f"kind IN {ORG_KINDS!r}", name="kind"),
    CheckConstraint("slug ~ '^[a-z0-9](-?[a-z0-9])*$'", name="slug_format"),
    CheckConstraint("vetting_recheck_months BETWEEN 1 AND 120", name="recheck_months"),
)

users = Table(
    "users",
    metadata,
    _id(),
    # The identity provider's issuer and subject: a user exists once they have signed in.
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("email", Text),  # the last verified e-mail the identity provider gave
    Column("display_name", Text),
    Column("is_platform_admin", Boolean, nullable=False, server_default=text("false")),
    _created_at(),
    UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),
)

memberships = Table(
    "memberships",
    metadata,
    _org_id(),
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("role", Text, nullable=False),
    # Volunteers start pending until a coordinator approves them; anyone can be suspended.
    Column("status", Text, nullable=False, server_default="approved"),
    Column("status_reason", Text),
    Column("status_changed_at", DateTime(timezone=True)),
    _user_ref("status_changed_by"),
    _user_ref("created_by"),
    _created_at(),
    PrimaryKeyConstraint("org_id", "user_id", "role"),
    CheckConstraint(f"role IN {ROLES!r}", name="role"),
    CheckConstraint(f"status IN {MEMBERSHIP_STATUSES!r}", name="status"),
)

# Staff are invited by e-mail per organisation; an invitation turns into a membership when
# someone signs in with that verified e-mail. Inviting looks up nothing about other
# tenants' users and reveals nothing about them.
invitations = Table(
    "invitations",
    metadata,
    _id(),
    _org_id(),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("display_name", Text),
    _user_ref("invited_by"),
    _created_at(),
    Column("claimed_at", DateTime(timezone=True)),
    _user_ref("claimed_by"),
    CheckConstraint(f"role IN {ROLES!r}", name="role"),
    CheckConstraint("email = lower(email)", name="email_lower"),
)
Index(
    "ix_invitations_open",
    invitations.c.org_id,
    invitations.c.email,
    invitations.c.role,
    unique=True,
    postgresql_where=invitations.c.claimed_at.is_(None),
)
Index(
    "ix_invitations_email_open",
    invitations.c.email,
    postgresql_where=invitations.c.claimed_at.is_(None),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("org_id", UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE")),
    _user_ref("actor_user_id"),
    Column("action", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("reason", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)
Index("ix_audit_log_org_at", audit_log.c.org_id, audit_log.c.at)
Index("ix_audit_log_subject", audit_log.c.subject_type, audit_log.c.subject_id)

# -- volunteers, vetting, programmes (0002) --------------------------------------------------
skills = Table(
    "skills",
    metadata,
    _id(),
    # NULL: the platform's vocabulary; otherwise an organisation's own addition.
    Column("org_id", UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE")),
    Column("code", Text, nullable=False),
    Column("label", Text, nullable=False),
    _created_at(),
    UniqueConstraint(
        "org_id", "code", name="uq_skills_org_code", postgresql_nulls_not_distinct=True
    ),
    CheckConstraint("code ~ '^[a-z][a-z0-9_]{1,47}$'", name="code_format"),
)

volunteers = Table(
    "volunteers",
    metadata,
    Column(
        "user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("display_name", Text, nullable=False),
    Column("home", Geography("POINT", srid=4326), nullable=False),
    Column("max_travel_km", Float, nullable=False),
    Column("travel_mode", Text, nullable=False),
    Column("skills", ARRAY(Text), nullable=False, server_default="{}"),
    Column("languages", ARRAY(Text), nullable=False, server_default="{}"),
    Column("max_hours_per_week", SmallInteger, nullable=False),
    Column("max_active_assignments", SmallInteger, nullable=False),
    Column("preferred_kinds", ARRAY(Text), nullable=False, server_default="{}"),
    Column("quiet_hours_start", Time),
    Column("quiet_hours_end", Time),
    Column("time_zone", Text, nullable=False, server_default="Europe/London"),
    Column("availability", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("on_duty", Boolean, nullable=False, server_default=text("false")),
    Column("on_duty_until", DateTime(timezone=True)),
    # Kept only while on duty: erased when duty ends.
    Column("live_location", Geography("POINT", srid=4326)),
    Column("live_location_at", DateTime(timezone=True)),
    _created_at(),
    _updated_at(),
    CheckConstraint("max_travel_km > 0 AND max_travel_km <= 200", name="travel_range"),
    CheckConstraint(f"travel_mode IN {TRAVEL_MODES!r}", name="travel_mode"),
    CheckConstraint("max_hours_per_week BETWEEN 1 AND 80", name="hours"),
    CheckConstraint("max_active_assignments BETWEEN 1 AND 20", name="assignments"),
    CheckConstraint("on_duty OR live_location IS NULL", name="location_only_on_duty"),
)

volunteer_availability = Table(
    "volunteer_availability",
    metadata,
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("volunteers.user_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("span", TSTZRANGE, nullable=False),
    PrimaryKeyConstraint("user_id", "span"),
)
Index("ix_volunteer_availability_span", volunteer_availability.c.span, postgresql_using="gist")

vetting_checks = Table(
    "vetting_checks",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column(
        "org_id",
        UUID(as_uuid=True),
        ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("level", Text, nullable=False),
    Column("checked_on", Date),
    Column("expires_on", Date),
    Column("id_verified", Boolean, nullable=False),
    Column("barred_children", Boolean, nullable=False, server_default=text("false")),
    Column("barred_adults", Boolean, nullable=False, server_default=text("false")),
    Column("notes", Text),
    Column("recorded_by", UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"level IN {DBS_LEVELS!r}", name="level"),
    CheckConstraint(
        "level = 'none' OR (checked_on IS NOT NULL AND expires_on > checked_on)", name="dated"
    ),
)
Index(
    "ix_vetting_checks_current",
    vetting_checks.c.org_id,
    vetting_checks.c.user_id,
    vetting_checks.c.recorded_at.desc(),
)

programmes = Table(
    "programmes",
    metadata,
    _id(),
    Column(
        "org_id",
        UUID(as_uuid=True),
        ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("min_vetting", Text, nullable=False, server_default="none"),
    Column("wave_size", SmallInteger, nullable=False, server_default="3"),
    Column("offer_timeout_s", Integer, nullable=False, server_default="900"),
    Column("alert_cap", SmallInteger, nullable=False, server_default="12"),
    Column("max_waves", SmallInteger, nullable=False, server_default="4"),
    Column("checkin_radius_m", Integer, nullable=False, server_default="250"),
    Column("stale_claim_timeout_s", Integer, nullable=False, server_default="86400"),
    _created_at(),
    _updated_at(),
    UniqueConstraint("org_id", "name", name="uq_programmes_org_name"),
    CheckConstraint(f"kind IN {PROGRAMME_KINDS!r}", name="kind"),
    CheckConstraint(f"min_vetting IN {DBS_LEVELS!r}", name="min_vetting"),
)

devices = Table(
    "devices",
    metadata,
    _id(),
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    # An FCM registration token or a Firebase installation id (fid), whichever the app has.
    Column("token", Text, nullable=False, unique=True),
    Column("token_kind", Text, nullable=False),
    Column("platform", Text, nullable=False),
    Column("app_version", Text),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    _created_at(),
    CheckConstraint("token_kind IN ('token', 'fid')", name="token_kind"),
    CheckConstraint("platform IN ('android', 'ios', 'web')", name="platform"),
)

# -- clients (0003) --------------------------------------------------------------------------
# The people a caseworker's organisation helps: personal (often special-category) data, so
# staff only, every read audited, and erasure anonymises the row in place rather than
# deleting it, keeping a coarse location for area statistics.
clients = Table(
    "clients",
    metadata,
    _id(),
    _org_id(),
    Column("name", Text, nullable=False),
    Column("phone", Text),
    Column("email", Text),
    Column("address", Text),
    Column("location", Geography("POINT", srid=4326)),  # NULL: a remote-only client
    Column("notes", Text),
    Column("safeguarding_flags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("preferred_language", Text),  # ISO 639-1
    _user_ref("created_by"),
    _created_at(),
    _updated_at(),
    Column("erased_at", DateTime(timezone=True)),
    CheckConstraint(
        "erased_at IS NULL OR (phone IS NULL AND email IS NULL AND address IS NULL"
        " AND notes IS NULL AND safeguarding_flags = '{}')",
        name="erased_holds_no_personal_data",
    ),
)
Index("ix_clients_org_created", clients.c.org_id, clients.c.created_at, clients.c.id)
