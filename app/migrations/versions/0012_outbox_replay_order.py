"""The live stream's replay sees late commits: outbox rows carry their transaction and the
oldest transaction running when they were written.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 23:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = {
    "sync_xid": "(pg_current_xact_id())::text::bigint",
    "sync_xmin": "(pg_snapshot_xmin(pg_current_snapshot()))::text::bigint",
}


def upgrade() -> None:
    for name, default in COLUMNS.items():
        op.add_column(
            "outbox",
            sa.Column(name, sa.BigInteger(), server_default=sa.text(default), nullable=False),
        )
    op.create_index("ix_outbox_user_sync", "outbox", ["user_id", "sync_xid"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_user_sync", table_name="outbox")
    for name in COLUMNS:
        op.drop_column("outbox", name)
