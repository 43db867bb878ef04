"""A client's UPRN (Unique Property Reference Number), from the address lookup by postcode.

Up to 12 digits, or NULL (typed addresses, pins on a map, a postcode's centre). It names the
client's home as surely as the address does, so erasure clears it with the address and the
erased-row check says so.

Revision ID: 0024_client_uprn
Revises: 0023_outbox_counts_by_channel
Create Date: 2026-12-04 22:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_client_uprn"
down_revision = "0023_outbox_counts_by_channel"
branch_labels = None
depends_on = None

ERASED_BEFORE = (
    "erased_at IS NULL OR (phone IS NULL AND email IS NULL AND address IS NULL"
    " AND notes IS NULL AND safeguarding_flags = '{}')"
)
ERASED = ERASED_BEFORE.removesuffix(")") + " AND uprn IS NULL)"


def upgrade() -> None:
    op.add_column("clients", sa.Column("uprn", sa.Text(), nullable=True))
    op.create_check_constraint(op.f("ck_clients_uprn_digits"), "clients", "uprn ~ '^[0-9]{1,12}$'")
    op.drop_constraint(op.f("ck_clients_erased_holds_no_personal_data"), "clients", type_="check")
    op.create_check_constraint(
        op.f("ck_clients_erased_holds_no_personal_data"),
        "clients",
        ERASED,
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_clients_erased_holds_no_personal_data"), "clients", type_="check")
    op.create_check_constraint(
        op.f("ck_clients_erased_holds_no_personal_data"), "clients", ERASED_BEFORE
    )
    op.drop_column("clients", "uprn")  # its check goes with it
