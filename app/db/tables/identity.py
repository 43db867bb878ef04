"""Identity and tenancy tables (0001)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from app.db.tables.base import (
    MEMBERSHIP_STATUSES,
    ORG_KINDS,
    ROLES,
    created_at,
    id_column,
    metadata,
    one_of,
    org_id_column,
    user_ref,
)

organisations = Table(
    "organisations",
    metadata,
    id_column(),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("time_zone", Text, nullable=False, server_default="Europe/London"),
    Column("vetting_recheck_months", SmallInteger, nullable=False, server_default="36"),
    # How long what must outlive a volunteer's erasure is kept, from the erasure (0027).
    Column("safeguarding_retention_months", SmallInteger, nullable=False, server_default="72"),
    created_at(),
    CheckConstraint(f"kind IN {one_of(ORG_KINDS)}", name="kind"),
    CheckConstraint("slug ~ '^[a-z0-9](-?[a-z0-9])*$'", name="slug_format"),
    CheckConstraint("vetting_recheck_months BETWEEN 1 AND 120", name="recheck_months"),
    CheckConstraint("safeguarding_retention_months BETWEEN 12 AND 1200", name="retention_months"),
)

users = Table(
    "users",
    metadata,
    id_column(),
    # The identity provider's issuer and subject: a user exists once they have signed in.
    Column("issuer", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("email", Text),  # the last verified e-mail the identity provider gave
    Column("display_name", Text),
    Column("is_platform_admin", Boolean, nullable=False, server_default=text("false")),
    created_at(),
    # Set when the person erased themselves (0027): the row stays as the pseudonym their kept
    # records point at, with no name, e-mail or sign-in identity left on it.
    Column("erased_at", DateTime(timezone=True)),
    UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),
)
Index("ix_users_email", users.c.email)  # an import matches its rows on e-mail (0021)

memberships = Table(
    "memberships",
    metadata,
    org_id_column(),
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
    user_ref("status_changed_by"),
    user_ref("created_by"),
    created_at(),
    # The organisation's own id for a volunteer (their HR or volunteering system's), set by an
    # import (0021): a row of a later file is matched on it before its e-mail.
    Column("external_id", Text),
    PrimaryKeyConstraint("org_id", "user_id", "role"),
    CheckConstraint(f"role IN {one_of(ROLES)}", name="role"),
    CheckConstraint(f"status IN {one_of(MEMBERSHIP_STATUSES)}", name="status"),
)
Index(
    "ix_memberships_external_id",
    memberships.c.org_id,
    memberships.c.external_id,
    unique=True,
    postgresql_where=memberships.c.external_id.is_not(None),
)

# Staff are invited by e-mail per organisation; an invitation turns into a membership when
# someone signs in with that verified e-mail. Inviting looks up nothing about other
# tenants' users and reveals nothing about them.
invitations = Table(
    "invitations",
    metadata,
    id_column(),
    org_id_column(),
    Column("email", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("display_name", Text),
    user_ref("invited_by"),
    created_at(),
    Column("claimed_at", DateTime(timezone=True)),
    user_ref("claimed_by"),
    CheckConstraint(f"role IN {one_of(ROLES)}", name="role"),
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
    user_ref("actor_user_id"),
    Column("action", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("reason", Text),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)
Index("ix_audit_log_org_at", audit_log.c.org_id, audit_log.c.at)
Index("ix_audit_log_subject", audit_log.c.subject_type, audit_log.c.subject_id)

# Callers' token buckets shared by every API process (0032, app/identity/shared_limits.py):
# keyed by a digest of the caller; UNLOGGED, so a crash refills them.
rate_buckets = Table(
    "rate_buckets",
    metadata,
    Column("key", Text, primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_rate_buckets_at", "at"),
    prefixes=["UNLOGGED"],
)
