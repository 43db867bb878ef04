"""New programmes' offers wait 30 minutes for an answer, not 15 (docs/decisions.md, 42).

Only the default changes: a programme keeps the timeout it has, which its coordinator set
or accepted (`PATCH /v1/programmes/{id}` changes it).

Revision ID: 0022_offers_wait_30_minutes
Revises: 0021_volunteer_import
Create Date: 2026-12-04 20:15:00
"""

from __future__ import annotations

from alembic import op

revision = "0022_offers_wait_30_minutes"
down_revision = "0021_volunteer_import"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("programmes", "offer_timeout_s", server_default="1800")


def downgrade() -> None:
    op.alter_column("programmes", "offer_timeout_s", server_default="900")
