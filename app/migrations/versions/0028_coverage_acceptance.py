"""Coverage maps by the hours volunteers are expected to give: each snapshot keeps the share
of offers accepted it was computed with (and how many answered offers that share rests on),
so a map read from it says its method; offers get the index that finds an organisation's
offers of a period (the acceptance record, and the metrics summary's offers).

Revision ID: 0028_coverage_acceptance
Revises: 0027_volunteer_rights
Create Date: 2026-12-07 09:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0028_coverage_acceptance"
down_revision = "0027_volunteer_rights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Snapshots written before this were computed at a share of 1 (every offer accepted).
    op.add_column(
        "coverage_snapshots",
        sa.Column("acceptance", sa.Float(), server_default="1", nullable=False),
    )
    op.add_column(
        "coverage_snapshots",
        sa.Column("acceptance_offers", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index("ix_offers_org_created", "offers", ["org_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_offers_org_created", table_name="offers")
    op.drop_column("coverage_snapshots", "acceptance_offers")
    op.drop_column("coverage_snapshots", "acceptance")
