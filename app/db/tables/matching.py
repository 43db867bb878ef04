"""Offers, assignments, client exclusions, batch plans, the outbox, idempotency keys (0005)."""

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
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

from app.db.tables.base import (
    created_at,
    id_column,
    metadata,
    one_of,
    org_id_column,
    updated_at,
    user_ref,
)
from matching.model import ACTIVE_ASSIGNMENT, AssignmentStatus, OfferSource, OfferStatus


def _need_ref() -> Column[object]:
    return Column(
        "need_id", UUID(as_uuid=True), ForeignKey("needs.id", ondelete="CASCADE"), nullable=False
    )


def _volunteer_ref() -> Column[object]:
    return Column(
        "volunteer_id",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    )


def sync_xid() -> Column[object]:
    """The transaction that last wrote the row (a trigger keeps it on update): the volunteer
    app's delta sync pages by it, in commit order (app.sync)."""
    return Column(
        "sync_xid",
        BigInteger,
        nullable=False,
        server_default=text("(pg_current_xact_id())::text::bigint"),
    )


# One offer per (need, volunteer), ever: nobody is re-offered a need they declined or let
# lapse. A series offer (`series_id` set) offers every open occurrence at once.
offers = Table(
    "offers",
    metadata,
    id_column(),
    org_id_column(),
    _need_ref(),
    _volunteer_ref(),
    Column("series_id", UUID(as_uuid=True)),
    Column("wave", SmallInteger, nullable=False),
    Column("source", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=OfferStatus.PENDING.value),
    Column("score", Float),
    Column("explanation", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    created_at(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("responded_at", DateTime(timezone=True)),
    Column("decline_reason", Text),
    user_ref("created_by"),
    sync_xid(),
    UniqueConstraint("need_id", "volunteer_id", name="uq_offers_need_volunteer"),
    CheckConstraint(f"status IN {one_of(OfferStatus)}", name="status"),
    CheckConstraint(f"source IN {one_of(OfferSource)}", name="source"),
    CheckConstraint("expires_at > created_at", name="expires_after_created"),
)
Index("ix_offers_volunteer_created", offers.c.volunteer_id, offers.c.created_at)
Index("ix_offers_volunteer_sync", offers.c.volunteer_id, offers.c.sync_xid, offers.c.id)
Index("ix_offers_need_status", offers.c.need_id, offers.c.status)
Index("ix_offers_org_created", offers.c.org_id, offers.c.created_at)  # a period's (0028)
Index(
    "ix_offers_pending_expiry",
    offers.c.expires_at,
    postgresql_where=offers.c.status == OfferStatus.PENDING.value,
)

assignments = Table(
    "assignments",
    metadata,
    id_column(),
    org_id_column(),
    _need_ref(),
    _volunteer_ref(),
    Column("offer_id", UUID(as_uuid=True), ForeignKey("offers.id", ondelete="SET NULL")),
    Column("status", Text, nullable=False, server_default=AssignmentStatus.ACCEPTED.value),
    Column("accepted_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("checked_in_at", DateTime(timezone=True)),
    Column("check_in_distance_m", Float),
    Column("completed_at", DateTime(timezone=True)),
    Column("minutes", SmallInteger),
    Column("outcome", Text),
    Column("note", Text),
    Column("ended_at", DateTime(timezone=True)),
    Column("end_reason", Text),
    user_ref("ended_by"),
    updated_at(),
    sync_xid(),
    UniqueConstraint("need_id", "volunteer_id", name="uq_assignments_need_volunteer"),
    CheckConstraint(f"status IN {one_of(AssignmentStatus)}", name="status"),
    CheckConstraint("minutes IS NULL OR minutes BETWEEN 1 AND 1440", name="minutes"),
    CheckConstraint(
        f"(status IN {one_of(ACTIVE_ASSIGNMENT)}) = (ended_at IS NULL)", name="ended_when_inactive"
    ),
)
Index("ix_assignments_volunteer_updated", assignments.c.volunteer_id, assignments.c.updated_at)
Index(
    "ix_assignments_volunteer_sync",
    assignments.c.volunteer_id,
    assignments.c.sync_xid,
    assignments.c.id,
)
Index("ix_assignments_need", assignments.c.need_id)
Index(
    "ix_assignments_stale",
    assignments.c.accepted_at,
    postgresql_where=assignments.c.status == AssignmentStatus.ACCEPTED.value,
)

# A volunteer kept away from a client: barred by staff, or the client asked not to see them.
client_exclusions = Table(
    "client_exclusions",
    metadata,
    org_id_column(),
    Column(
        "client_id",
        UUID(as_uuid=True),
        ForeignKey("clients.id", ondelete="CASCADE"),
        nullable=False,
    ),
    _volunteer_ref(),
    Column("reason", Text, nullable=False),
    user_ref("created_by"),
    created_at(),
    PrimaryKeyConstraint("client_id", "volunteer_id"),
)

plans = Table(
    "plans",
    metadata,
    id_column(),
    org_id_column(),
    Column("programme_id", UUID(as_uuid=True), ForeignKey("programmes.id"), nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("status", Text, nullable=False, server_default="proposed"),
    Column("choices", JSONB, nullable=False),
    Column("totals", JSONB, nullable=False),
    user_ref("created_by"),
    created_at(),
    Column("committed_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('proposed', 'committed')", name="status"),
    CheckConstraint("period_end > period_start", name="period"),
)

# The transactional outbox: one row per message to one person, written in the transaction
# of the change that causes it; the dispatcher (push, live events) works from here.
outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("message_id", UUID(as_uuid=True), nullable=False, server_default=func.gen_random_uuid()),
    Column("org_id", UUID(as_uuid=True), ForeignKey("organisations.id", ondelete="CASCADE")),
    Column(
        "user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("kind", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("collapse_key", Text),
    Column("urgent", Boolean, nullable=False, server_default=text("false")),
    created_at(),
    Column("expires_at", DateTime(timezone=True)),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", SmallInteger, nullable=False, server_default="0"),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("lease_token", UUID(as_uuid=True)),
    Column("lease_expires_at", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    # Text messages and email (migration 0018): the channel of the last attempt, every
    # channel tried so far (a permanent failure falls back to the next), Notify's id for the
    # notification and its latest delivery status from the callback.
    Column("channel", Text),
    Column("channels_tried", ARRAY(Text), nullable=False, server_default="{}"),
    Column("notify_id", UUID(as_uuid=True)),
    Column("delivery_status", Text),
    # For the live stream's replay (notifications.events.missed): the writing transaction,
    # and the oldest transaction still running when the row was written.
    sync_xid(),
    Column(
        "sync_xmin",
        BigInteger,
        nullable=False,
        server_default=text("(pg_snapshot_xmin(pg_current_snapshot()))::text::bigint"),
    ),
    UniqueConstraint("message_id", name="uq_outbox_message_id"),
    # 'held': waiting for its person's daily digest (0025)
    CheckConstraint("status IN ('pending', 'held', 'sent', 'dead')", name="status"),
)
Index("ix_outbox_due", outbox.c.next_attempt_at, postgresql_where=outbox.c.status == "pending")
Index("ix_outbox_user", outbox.c.user_id, outbox.c.id)
Index("ix_outbox_held", outbox.c.user_id, postgresql_where=outbox.c.status == "held")
Index("ix_outbox_user_sync", outbox.c.user_id, outbox.c.sync_xid)

# Mobile retries: the first response to (user, key) is stored and replayed.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column(
        "user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("key", Text, nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("status_code", SmallInteger),
    Column("body", LargeBinary),
    created_at(),
    PrimaryKeyConstraint("user_id", "key"),
    CheckConstraint("length(key) BETWEEN 1 AND 200", name="key_length"),
)
Index("ix_idempotency_keys_created", idempotency_keys.c.created_at)

__all__ = [
    "assignments",
    "client_exclusions",
    "idempotency_keys",
    "offers",
    "outbox",
    "plans",
]
