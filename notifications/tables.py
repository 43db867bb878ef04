"""The columns notifications reads and writes, as light table clauses.

The tables themselves (constraints, indexes, migrations) are `app.db.tables`'; this package
sits below `app` and names only the columns it uses, so it never imports the app. A test
(tests/unit/notifications/test_tables.py) holds every column here to the app's definition.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, DateTime, SmallInteger, Text, column, table
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

_AT = DateTime(timezone=True)

outbox = table(
    "outbox",
    column("id", BigInteger),
    column("message_id", UUID(as_uuid=True)),
    column("org_id", UUID(as_uuid=True)),
    column("user_id", UUID(as_uuid=True)),
    column("kind", Text),
    column("payload", JSONB),
    column("collapse_key", Text),
    column("urgent", Boolean),
    column("expires_at", _AT),
    column("status", Text),
    column("attempts", SmallInteger),
    column("next_attempt_at", _AT),
    column("lease_token", UUID(as_uuid=True)),
    column("lease_expires_at", _AT),
    column("last_error", Text),
    column("sent_at", _AT),
    column("created_at", _AT),
    column("sync_xid", BigInteger),
    column("sync_xmin", BigInteger),
    column("channel", Text),
    column("channels_tried", ARRAY(Text)),
    column("notify_id", UUID(as_uuid=True)),
    column("delivery_status", Text),
)

contact_channels = table(
    "contact_channels",
    column("user_id", UUID(as_uuid=True)),
    column("channel", Text),
    column("healthy", Boolean),
    column("health_note", Text),
    column("updated_at", _AT),
)

devices = table("devices", column("id", UUID(as_uuid=True)))

memberships = table(
    "memberships",
    column("user_id", UUID(as_uuid=True)),
    column("org_id", UUID(as_uuid=True)),
    column("role", Text),
    column("status", Text),
)

__all__ = ["contact_channels", "devices", "memberships", "outbox"]
