"""Outbox counts by channel and status, and Notify's delivery receipts, for /metrics.

A message not yet tried has no channel (`none`); `channel` is the channel of its last
attempt (push, sms, email), and `delivery_status` Notify's latest receipt for it. Counts
only, like `codeliver_outbox_counts` (migration 0007): they reveal nothing about anyone.

Revision ID: 0023_outbox_counts_by_channel
Revises: 0022_offers_wait_30_minutes
Create Date: 2026-12-04 20:45:00
"""

from __future__ import annotations

from alembic import op

from app.migrations.sql import sql_statements

revision = "0023_outbox_counts_by_channel"
down_revision = "0022_offers_wait_30_minutes"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

SQL = f"""
CREATE FUNCTION codeliver_outbox_channel_counts()
  RETURNS TABLE (channel text, status text, delivery_status text, messages bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT coalesce(channel, 'none'), status, coalesce(delivery_status, 'none'), count(*)
    FROM outbox GROUP BY 1, 2, 3
$$;
REVOKE ALL ON FUNCTION codeliver_outbox_channel_counts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION codeliver_outbox_channel_counts() TO {RW_ROLE};
"""


def upgrade() -> None:
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS codeliver_outbox_channel_counts()")
