"""Table definitions (SQLAlchemy Core). Migrations must agree with these: a test checks.

Every tenant-owned table carries `org_id` and has row-level security enabled in its
migration; a test fails if a table with `org_id` lacks it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

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


def _id() -> Column[object]:
    return Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )


def _created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


organisations = Table(
    "organisations",
    metadata,
    _id(),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("time_zone", Text, nullable=False, server_default="Europe/London"),
    _created_at(),
    CheckConstraint(f"kind IN {ORG_KINDS!r}", name="kind"),
    CheckConstraint("slug ~ '^[a-z0-9](-?[a-z0-9])*$'", name="slug_format"),
)

users = Table(
    "users",
    metadata,
    _id(),
    # The identity provider's issuer and subject; both NULL for an invited, not yet signed-in user.
    Column("issuer", Text),
    Column("subject", Text),
    Column("email", Text),
    Column("display_name", Text),
    Column("is_platform_admin", Boolean, nullable=False, server_default=text("false")),
    _created_at(),
    UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),
    CheckConstraint("(issuer IS NULL) = (subject IS NULL)", name="identity_pair"),
    CheckConstraint("subject IS NOT NULL OR email IS NOT NULL", name="reachable"),
)
Index("ix_users_email_lower", func.lower(users.c.email))

memberships = Table(
    "memberships",
    metadata,
    Column(
        "org_id",
        UUID(as_uuid=True),
        ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("role", Text, nullable=False),
    Column("created_by", UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")),
    _created_at(),
    PrimaryKeyConstraint("org_id", "user_id", "role"),
    CheckConstraint(f"role IN {ROLES!r}", name="role"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("org_id", UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE")),
    Column("actor_user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")),
    Column("action", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("reason", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)
Index("ix_audit_log_org_at", audit_log.c.org_id, audit_log.c.at)
Index("ix_audit_log_subject", audit_log.c.subject_type, audit_log.c.subject_id)
