"""A person's channels, SMS reply codes, Notify's replies and the shared rate limit (0018)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from app.db.tables.base import created_at, metadata, updated_at

# How a person is reached, in their order of preference (`position`): push (their devices),
# a text message or an email through GOV.UK Notify. A phone or address is used once verified
# by a one-time code sent through the channel itself (only its hash is kept, with an expiry
# and a count of attempts). `healthy` turns false when Notify reports the address as a
# permanent failure; messages then fall back along the order.
contact_channels = Table(
    "contact_channels",
    metadata,
    Column(
        "user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("channel", Text, nullable=False),
    Column("address", Text),
    Column("position", SmallInteger, nullable=False),
    Column("verified_at", DateTime(timezone=True)),
    Column("healthy", Boolean, nullable=False, server_default=text("true")),
    Column("health_note", Text),
    Column("code_hash", Text),
    Column("code_expires_at", DateTime(timezone=True)),
    Column("code_attempts", SmallInteger, nullable=False, server_default="0"),
    created_at(),
    updated_at(),
    PrimaryKeyConstraint("user_id", "channel"),
    CheckConstraint("channel IN ('push', 'sms', 'email')", name="channel"),
    CheckConstraint("channel = 'push' OR address IS NOT NULL", name="address"),
    CheckConstraint("position BETWEEN 0 AND 2", name="position"),
)
Index("ix_contact_channels_address", contact_channels.c.channel, contact_channels.c.address)

# The short code a volunteer texts back (`YES 4821`) for one offer: random, unique among the
# volunteer's live codes, gone with the offer.
reply_codes = Table(
    "reply_codes",
    metadata,
    Column(
        "offer_id",
        UUID(as_uuid=True),
        ForeignKey("offers.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "volunteer_id",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("code", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("volunteer_id", "code", name="uq_reply_codes_volunteer_code"),
    CheckConstraint("code ~ '^[0-9]{4}$'", name="code_format"),
)

# Each received text Notify called back with, once: a repeated callback changes nothing.
notify_replies = Table(
    "notify_replies",
    metadata,
    Column("notify_id", UUID(as_uuid=True), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("outcome", Text, nullable=False),
)

# One token bucket per Notify key, shared by every worker (notifications/ratelimit.py).
notify_rate = Table(
    "notify_rate",
    metadata,
    Column("bucket", Text, primary_key=True),
    Column("tokens", Float, nullable=False),
    Column("refilled_at", DateTime(timezone=True), nullable=False),
)

# Staff who hear of their needs once a day (0025): at `hour` in `time_zone`, the messages
# the dispatcher held for them (outbox status 'held') go as one `staff.digest`.
staff_digests = Table(
    "staff_digests",
    metadata,
    Column(
        "user_id",
        UUID(as_uuid=True),
        ForeignKey("users.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("hour", SmallInteger, nullable=False, server_default="8"),
    Column("time_zone", Text, nullable=False, server_default="Europe/London"),
    Column("last_sent_on", Date),
    created_at(),
    updated_at(),
    CheckConstraint("hour BETWEEN 0 AND 23", name="hour"),
)

__all__ = ["contact_channels", "notify_rate", "notify_replies", "reply_codes", "staff_digests"]
