"""The staff's daily digest: who chose it (and when it goes), and the messages it holds.

A caseworker or coordinator who opts in (`staff_digests`) hears of their needs once a day
instead of one message each: the dispatcher holds each non-urgent staff message
(`outbox.status = 'held'`) and the digest job sends one `staff.digest` at the chosen local
hour, the held rows then `sent` on channel `digest`. Each person reads and writes only their
own row, as with their channels.

Revision ID: 0025_staff_digest
Revises: 0024_client_uprn
Create Date: 2026-12-07 06:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.migrations.sql import sql_statements

revision = "0025_staff_digest"
down_revision = "0024_client_uprn"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

SQL = f"""
ALTER TABLE staff_digests ENABLE ROW LEVEL SECURITY;
CREATE POLICY staff_digests_self ON staff_digests FOR ALL
  USING (user_id = codeliver_user_id()) WITH CHECK (user_id = codeliver_user_id());
GRANT SELECT, INSERT, UPDATE, DELETE ON staff_digests TO {RW_ROLE};
"""


def upgrade() -> None:
    op.create_table(
        "staff_digests",
        sa.Column("user_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("hour", sa.SmallInteger(), server_default="8", nullable=False),
        sa.Column("time_zone", sa.Text(), server_default="Europe/London", nullable=False),
        sa.Column("last_sent_on", sa.Date(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint("hour BETWEEN 0 AND 23", name=op.f("ck_staff_digests_hour")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_digests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_staff_digests")),
    )
    op.drop_constraint(op.f("ck_outbox_status"), "outbox", type_="check")
    op.create_check_constraint(
        op.f("ck_outbox_status"), "outbox", "status IN ('pending', 'held', 'sent', 'dead')"
    )
    op.create_index(
        "ix_outbox_held",
        "outbox",
        ["user_id"],
        postgresql_where=sa.text("status = 'held'"),
    )
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'held'")
    op.drop_index("ix_outbox_held", table_name="outbox")
    op.drop_constraint(op.f("ck_outbox_status"), "outbox", type_="check")
    op.create_check_constraint(
        op.f("ck_outbox_status"), "outbox", "status IN ('pending', 'sent', 'dead')"
    )
    op.drop_table("staff_digests")
