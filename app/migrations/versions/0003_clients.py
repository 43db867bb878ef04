"""Clients: the people an organisation helps, visible to its staff only.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 18:29:41.314308
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

from app.migrations.sql import sql_statements

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"
STAFF = "org_id = ANY (codeliver_staff_org_ids()) OR codeliver_is_platform_admin()"

# A client's record is personal data of a vulnerable person: staff of the client's
# organisation (caseworkers, coordinators, org admins) only; volunteers get nothing here.
# No DELETE grant: erasure anonymises the row in place, so area statistics survive.
SQL = f"""
ALTER TABLE clients ENABLE ROW LEVEL SECURITY;
CREATE POLICY clients_staff ON clients FOR ALL USING ({STAFF}) WITH CHECK ({STAFF});

GRANT SELECT, INSERT, UPDATE ON clients TO {RW_ROLE};
"""


def upgrade() -> None:
    op.create_geospatial_table(
        "clients",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column(
            "safeguarding_flags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("preferred_language", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "erased_at IS NULL OR (phone IS NULL AND email IS NULL AND address IS NULL"
            " AND notes IS NULL AND safeguarding_flags = '{}')",
            name=op.f("ck_clients_erased_holds_no_personal_data"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_clients_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_clients_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clients")),
    )
    op.create_geospatial_index(
        "idx_clients_location",
        "clients",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "ix_clients_org_created", "clients", ["org_id", "created_at", "id"], unique=False
    )
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("clients")  # its policies, grants and indexes go with it
