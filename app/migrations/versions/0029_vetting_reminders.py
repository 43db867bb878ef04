"""Vetting that stays current: the reminders the worker sent before a check lapses (one row
per check and days left, so each goes once however many workers run), and the weeks whose
coordinators' summary went out per organisation. The worker's alone: row-level security
on, no policy, no grant (the app's login sees none of it). An index finds the checks that
lapse soon.

Revision ID: 0029_vetting_reminders
Revises: 0028_coverage_acceptance
Create Date: 2026-12-07 10:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0029_vetting_reminders"
down_revision = "0028_coverage_acceptance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vetting_reminders",
        sa.Column("check_id", sa.BigInteger(), nullable=False),
        sa.Column("days", sa.SmallInteger(), nullable=False),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["vetting_checks.id"],
            name=op.f("fk_vetting_reminders_check_id_vetting_checks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("check_id", "days", name=op.f("pk_vetting_reminders")),
    )
    op.create_table(
        "vetting_summaries",
        sa.Column("org_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column(
            "sent_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_vetting_summaries_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "week", name=op.f("pk_vetting_summaries")),
    )
    op.create_index("ix_vetting_checks_expires_on", "vetting_checks", ["expires_on"])
    for table in ("vetting_reminders", "vetting_summaries"):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")


def downgrade() -> None:
    op.drop_index("ix_vetting_checks_expires_on", table_name="vetting_checks")
    op.drop_table("vetting_summaries")
    op.drop_table("vetting_reminders")
