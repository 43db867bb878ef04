"""Text messages and email through GOV.UK Notify: a person's channels, SMS reply codes,
Notify's callbacks and a rate limit every worker shares (issue 14, decisions.md 39).

The outbox gains the channel of each attempt, the channels already tried (a permanent
failure falls back along the person's order), Notify's id and its delivery status.
Volunteers manage their own channels under row-level security; reply codes, received
texts and the bucket are the system's. Notify's callbacks carry no user: two SECURITY
DEFINER functions do exactly what a callback may (record a delivery status; find who sent a
reply and the offer its code names), and one records each received text once.

Revision ID: 0018_notify_channels
Revises: 0017_coverage_2sfca
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.migrations.sql import sql_statements

revision = "0018_notify_channels"
down_revision = "0017_coverage_2sfca"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

SQL = f"""
ALTER TABLE contact_channels ENABLE ROW LEVEL SECURITY;
CREATE POLICY contact_channels_self ON contact_channels FOR ALL
  USING (user_id = codeliver_user_id()) WITH CHECK (user_id = codeliver_user_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON contact_channels TO {RW_ROLE};

ALTER TABLE reply_codes ENABLE ROW LEVEL SECURITY;
ALTER TABLE notify_replies ENABLE ROW LEVEL SECURITY;
ALTER TABLE notify_rate ENABLE ROW LEVEL SECURITY;

-- A delivery-status callback: the message's latest status, and the channel's health. A
-- permanent failure marks the person's channel unhealthy and, for the kinds given (offers,
-- reminders) not yet expired, makes the message due again for the next channel.
CREATE FUNCTION codeliver_notify_delivery(
    reference uuid, provider_id uuid, delivery text, at timestamptz, fallback_kinds text[]
) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  row outbox%ROWTYPE;
BEGIN
  UPDATE outbox SET delivery_status = delivery, notify_id = coalesce(notify_id, provider_id)
   WHERE message_id = reference AND channel IN ('sms', 'email')
   RETURNING * INTO row;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  IF delivery = 'permanent-failure' THEN
    UPDATE contact_channels SET healthy = false, updated_at = at,
           health_note = 'Notify reported a permanent failure'
     WHERE user_id = row.user_id AND channel = row.channel;
    IF row.kind = ANY (fallback_kinds) AND row.status = 'sent'
       AND (row.expires_at IS NULL OR row.expires_at > at) THEN
      UPDATE outbox SET status = 'pending', next_attempt_at = at, sent_at = NULL,
             last_error = 'permanent-failure on ' || row.channel
       WHERE id = row.id;
    END IF;
  ELSIF delivery = 'delivered' THEN
    UPDATE contact_channels SET healthy = true, health_note = NULL
     WHERE user_id = row.user_id AND channel = row.channel AND NOT healthy;
  END IF;
  RETURN true;
END $$;

-- A received text: the issuer and subject of the volunteer whose verified phone sent it,
-- and the offer their code names while it is live (NULL otherwise). Nobody, no rows.
CREATE FUNCTION codeliver_notify_reply_target(source text, reply_code text, at timestamptz)
  RETURNS TABLE (issuer text, subject text, offer_id uuid)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT u.issuer, u.subject,
         (SELECT r.offer_id FROM reply_codes r
           WHERE r.volunteer_id = u.id AND r.code = reply_code AND r.expires_at > at)
    FROM contact_channels c JOIN users u ON u.id = c.user_id
   WHERE c.channel = 'sms' AND c.address = source AND c.verified_at IS NOT NULL
   ORDER BY c.verified_at DESC
   LIMIT 1
$$;

-- Each received text once, in the transaction that acts on it: false if already recorded
-- (a concurrent duplicate waits for the first to commit, then sees it).
CREATE FUNCTION codeliver_notify_reply_once(provider_id uuid, at timestamptz, result text)
  RETURNS boolean
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH fresh AS (
    INSERT INTO notify_replies (notify_id, received_at, outcome) VALUES (provider_id, at, result)
    ON CONFLICT (notify_id) DO NOTHING RETURNING 1)
  SELECT EXISTS (SELECT 1 FROM fresh)
$$;

REVOKE ALL ON FUNCTION codeliver_notify_delivery(uuid, uuid, text, timestamptz, text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION codeliver_notify_reply_target(text, text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION codeliver_notify_reply_once(uuid, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION codeliver_notify_delivery(uuid, uuid, text, timestamptz, text[])
  TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_notify_reply_target(text, text, timestamptz) TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_notify_reply_once(uuid, timestamptz, text) TO {RW_ROLE};
"""


def upgrade() -> None:
    op.add_column("outbox", sa.Column("channel", sa.Text(), nullable=True))
    op.add_column(
        "outbox",
        sa.Column(
            "channels_tried", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
    )
    op.add_column("outbox", sa.Column("notify_id", sa.UUID(), nullable=True))
    op.add_column("outbox", sa.Column("delivery_status", sa.Text(), nullable=True))
    op.create_table(
        "contact_channels",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("channel", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("healthy", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("health_note", sa.Text(), nullable=True),
        sa.Column("code_hash", sa.Text(), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("code_attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "channel = 'push' OR address IS NOT NULL", name=op.f("ck_contact_channels_address")
        ),
        sa.CheckConstraint(
            "channel IN ('push', 'sms', 'email')", name=op.f("ck_contact_channels_channel")
        ),
        sa.CheckConstraint("position BETWEEN 0 AND 2", name=op.f("ck_contact_channels_position")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_contact_channels_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "channel", name=op.f("pk_contact_channels")),
    )
    op.create_index(
        "ix_contact_channels_address", "contact_channels", ["channel", "address"], unique=False
    )
    op.create_table(
        "reply_codes",
        sa.Column("offer_id", sa.UUID(), nullable=False),
        sa.Column("volunteer_id", sa.UUID(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("code ~ '^[0-9]{4}$'", name=op.f("ck_reply_codes_code_format")),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_reply_codes_offer_id_offers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["users.id"],
            name=op.f("fk_reply_codes_volunteer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("offer_id", name=op.f("pk_reply_codes")),
        sa.UniqueConstraint("volunteer_id", "code", name="uq_reply_codes_volunteer_code"),
    )
    op.create_table(
        "notify_replies",
        sa.Column("notify_id", sa.UUID(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("notify_id", name=op.f("pk_notify_replies")),
    )
    op.create_table(
        "notify_rate",
        sa.Column("bucket", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("refilled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("bucket", name=op.f("pk_notify_rate")),
    )
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION codeliver_notify_reply_once(uuid, timestamptz, text)")
    op.execute("DROP FUNCTION codeliver_notify_reply_target(text, text, timestamptz)")
    op.execute("DROP FUNCTION codeliver_notify_delivery(uuid, uuid, text, timestamptz, text[])")
    op.drop_table("notify_rate")
    op.drop_table("notify_replies")
    op.drop_table("reply_codes")
    op.drop_index("ix_contact_channels_address", table_name="contact_channels")
    op.drop_table("contact_channels")
    for name in ("delivery_status", "notify_id", "channels_tried", "channel"):
        op.drop_column("outbox", name)
