"""Volunteers, vetting, programmes, skills, availability, devices (0002)."""

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

from app.db.tables.base import (
    DBS_LEVELS,
    PROGRAMME_KINDS,
    TRAVEL_MODES,
    created_at,
    id_column,
    metadata,
    one_of,
    updated_at,
)

# -- volunteers, vetting, programmes (0002) --------------------------------------------------
skills = Table(
    "skills",
    metadata,
    id_column(),
    # NULL: the platform's vocabulary; otherwise an organisation's own addition.
    Column("org_id", UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE")),
    Column("code", Text, nullable=False),
    Column("label", Text, nullable=False),
    created_at(),
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
    created_at(),
    updated_at(),
    CheckConstraint("max_travel_km > 0 AND max_travel_km <= 200", name="travel_range"),
    CheckConstraint(f"travel_mode IN {one_of(TRAVEL_MODES)}", name="travel_mode"),
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
    # Subscribed to the DBS Update Service (0021): the certificate's status can be checked
    # online; recorded as a fact, the expiry still follows the organisation's re-check period.
    Column("update_service", Boolean, nullable=False, server_default=text("false")),
    Column("notes", Text),
    Column("recorded_by", UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"level IN {one_of(DBS_LEVELS)}", name="level"),
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
Index("ix_vetting_checks_expires_on", vetting_checks.c.expires_on)  # lapsing soon (0029)

# The worker's record of what it told people about lapsing checks (0029): a reminder per
# check and days left, a coordinators' summary per organisation and week; each sent once.
vetting_reminders = Table(
    "vetting_reminders",
    metadata,
    Column(
        "check_id",
        BigInteger,
        ForeignKey("vetting_checks.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("days", SmallInteger, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("check_id", "days"),
)
vetting_summaries = Table(
    "vetting_summaries",
    metadata,
    Column(
        "org_id",
        UUID(as_uuid=True),
        ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("week", Date, nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    PrimaryKeyConstraint("org_id", "week"),
)

programmes = Table(
    "programmes",
    metadata,
    id_column(),
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
    Column("offer_timeout_s", Integer, nullable=False, server_default="1800"),
    Column("alert_cap", SmallInteger, nullable=False, server_default="12"),
    Column("max_waves", SmallInteger, nullable=False, server_default="4"),
    Column("checkin_radius_m", Integer, nullable=False, server_default="250"),
    Column("stale_claim_timeout_s", Integer, nullable=False, server_default="86400"),
    created_at(),
    updated_at(),
    UniqueConstraint("org_id", "name", name="uq_programmes_org_name"),
    CheckConstraint(f"kind IN {one_of(PROGRAMME_KINDS)}", name="kind"),
    CheckConstraint(f"min_vetting IN {one_of(DBS_LEVELS)}", name="min_vetting"),
)

devices = Table(
    "devices",
    metadata,
    id_column(),
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
    created_at(),
    CheckConstraint("token_kind IN ('token', 'fid')", name="token_kind"),
    CheckConstraint("platform IN ('android', 'ios', 'web')", name="platform"),
)
