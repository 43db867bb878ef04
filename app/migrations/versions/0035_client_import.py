"""Bulk import of clients (issue 16, part 1, "and of clients, for caseworkers"): the
organisation's own client reference, and client imports kept beside volunteers' ones.

`clients.external_id` is the reference a caseworker's file matches on (unique within an
organisation; two organisations may use the same one for two people). `volunteer_imports`
holds both kinds of import (`kind`); a client import is any staff member's of the
organisation, as recording a client is (docs/decisions.md, 64), a volunteers' one stays a
manager's.

Revision ID: 0035_client_import
Revises: 0033_coverage_volunteer_facts
Create Date: 2026-12-07 20:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.migrations.sql import sql_statements

revision = "0035_client_import"
down_revision = "0033_coverage_volunteer_facts"
branch_labels = None
depends_on = None

STAFF = "org_id = ANY (codeliver_staff_org_ids()) OR codeliver_is_platform_admin()"

UP = f"""
CREATE POLICY volunteer_imports_clients ON volunteer_imports FOR ALL
  USING (kind = 'clients' AND ({STAFF})) WITH CHECK (kind = 'clients' AND ({STAFF}));
"""

DOWN = """
DROP POLICY IF EXISTS volunteer_imports_clients ON volunteer_imports;
"""


def upgrade() -> None:
    op.add_column("clients", sa.Column("external_id", sa.Text(), nullable=True))
    op.create_index(
        "ix_clients_external_id",
        "clients",
        ["org_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    op.add_column(
        "volunteer_imports",
        sa.Column("kind", sa.Text(), server_default="volunteers", nullable=False),
    )
    op.create_check_constraint(
        op.f("ck_volunteer_imports_kind"),
        "volunteer_imports",
        "kind IN ('volunteers', 'clients')",
    )
    for statement in sql_statements(UP):
        op.execute(statement)


def downgrade() -> None:
    for statement in sql_statements(DOWN):
        op.execute(statement)
    op.drop_constraint(op.f("ck_volunteer_imports_kind"), "volunteer_imports", type_="check")
    op.drop_column("volunteer_imports", "kind")
    op.drop_index("ix_clients_external_id", table_name="clients")
    op.drop_column("clients", "external_id")
