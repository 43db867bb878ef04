"""Coverage by E2SFCA: each open need's accessible supply hours, kept with the snapshot.

A cell's supply counted every volunteer's whole available hours in every cell they could
reach, so one person's 10 hours appeared in hundreds of cells and no cell ever showed a gap
(issue 13). The worker now shares each volunteer's capped hours among the needs they could
take (matching/coverage.py) and stores each need's share here; the map sums them per cell.

Revision ID: 0017_coverage_2sfca
Revises: 0016_hours_count_done_work
Create Date: 2026-12-03 15:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.migrations.sql import sql_statements

revision = "0017_coverage_2sfca"
down_revision = "0016_hours_count_done_work"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"
STAFF = "org_id = ANY (codeliver_staff_org_ids()) OR codeliver_is_platform_admin()"

# Staff read their organisations' shares (the maps); only the worker (owner login) writes.
SQL = f"""
ALTER TABLE coverage_need_supply ENABLE ROW LEVEL SECURITY;
CREATE POLICY coverage_need_supply_read ON coverage_need_supply FOR SELECT USING ({STAFF});
GRANT SELECT ON coverage_need_supply TO {RW_ROLE};
"""


def upgrade() -> None:
    op.create_table(
        "coverage_need_supply",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("need_id", sa.UUID(), nullable=False),
        sa.Column("supply_hours", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_coverage_need_supply_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "need_id", name=op.f("pk_coverage_need_supply")),
    )
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("coverage_need_supply")
