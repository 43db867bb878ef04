"""The volunteer facts' version: a new random id each time the worker rewrites any row
(geo/volunteer_facts.py), so that an API process keeping the decoded facts in memory can
tell, in the same snapshot as the view's queue, whether its copy is still the table's
(docs/decisions.md, 66).

Revision ID: 0036_coverage_facts_version
Revises: 0035_client_import
Create Date: 2026-12-07 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036_coverage_facts_version"
down_revision = "0035_client_import"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "coverage_volunteer_facts_state",
        sa.Column(
            "version", sa.UUID(), nullable=False, server_default=sa.text("gen_random_uuid()")
        ),
    )


def downgrade() -> None:
    op.drop_column("coverage_volunteer_facts_state", "version")
