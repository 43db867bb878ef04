"""Delta sync in commit order: offers and assignments carry the transaction that last wrote
them (`sync_xid`), which app.sync pages by.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 23:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.migrations.sql import sql_statements

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLES = ("offers", "assignments")
XID = "(pg_current_xact_id())::text::bigint"

SQL = f"""
CREATE FUNCTION codeliver_stamp_sync_xid() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  NEW.sync_xid := {XID};
  RETURN NEW;
END $$;
CREATE TRIGGER offers_stamp_sync_xid BEFORE UPDATE ON offers FOR EACH ROW
  EXECUTE FUNCTION codeliver_stamp_sync_xid();
CREATE TRIGGER assignments_stamp_sync_xid BEFORE UPDATE ON assignments FOR EACH ROW
  EXECUTE FUNCTION codeliver_stamp_sync_xid();
"""


def upgrade() -> None:
    for table in TABLES:
        # Existing rows take this migration's transaction id: one full resync at most.
        op.add_column(
            table,
            sa.Column("sync_xid", sa.BigInteger(), server_default=sa.text(XID), nullable=False),
        )
        op.create_index(
            f"ix_{table}_volunteer_sync", table, ["volunteer_id", "sync_xid", "id"], unique=False
        )
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    for table in TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_stamp_sync_xid ON {table}")
        op.drop_index(f"ix_{table}_volunteer_sync", table_name=table)
        op.drop_column(table, "sync_xid")
    op.execute("DROP FUNCTION IF EXISTS codeliver_stamp_sync_xid()")
