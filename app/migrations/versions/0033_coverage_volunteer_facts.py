"""The coverage measure's facts per volunteer, kept by the worker (decisions.md, 59): one row
per approved volunteer membership that is not barred, with what a map computed on the spot
reads of them (home, reach, weekly cap, duty, the organisation's latest vetting, skills and
languages as words, availability spans). `coverage_volunteer_changes` queues the users whose
facts changed, filled by statement triggers on the four tables they come from; the job
`coverage-volunteer-facts` rewrites those users' rows and, now and then, every row
(geo/volunteer_facts.py). `coverage_volunteer_facts_state` says when they were last
complete: a map reads the facts only while that is within the worker's interval.

Staff read their organisations' facts (the maps, under row-level security, as the tables
they come from); only the worker (owner login) writes. The app's login reads the queue (user
ids only: a map computes the queued users from the source tables, under their own policies)
and writes it only through the trigger function.

Revision ID: 0033_coverage_volunteer_facts
Revises: 0032_shared_rate_limits
Create Date: 2026-12-07 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

from app.migrations.sql import sql_statements

revision = "0033_coverage_volunteer_facts"
down_revision = "0032_shared_rate_limits"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"
STAFF = "org_id = ANY (codeliver_staff_org_ids()) OR codeliver_is_platform_admin()"
SOURCES = ("volunteers", "memberships", "vetting_checks", "volunteer_availability")

SQL = f"""
ALTER TABLE coverage_volunteer_facts ENABLE ROW LEVEL SECURITY;
CREATE POLICY coverage_volunteer_facts_read ON coverage_volunteer_facts FOR SELECT
  USING ({STAFF});
GRANT SELECT ON coverage_volunteer_facts TO {RW_ROLE};
ALTER TABLE coverage_volunteer_facts_state ENABLE ROW LEVEL SECURITY;
CREATE POLICY coverage_volunteer_facts_state_read ON coverage_volunteer_facts_state
  FOR SELECT USING (true);
GRANT SELECT ON coverage_volunteer_facts_state TO {RW_ROLE};
ALTER TABLE coverage_volunteer_changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY coverage_volunteer_changes_read ON coverage_volunteer_changes FOR SELECT
  USING (true);
GRANT SELECT ON coverage_volunteer_changes TO {RW_ROLE};

-- The users of the changed rows (TG_ARGV[0]: the table's user column), queued once each.
CREATE FUNCTION codeliver_coverage_facts_changed() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format('INSERT INTO coverage_volunteer_changes (user_id)
                    SELECT DISTINCT %I FROM changed_new
                    ON CONFLICT (user_id) DO NOTHING', TG_ARGV[0]);
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    EXECUTE format('INSERT INTO coverage_volunteer_changes (user_id)
                    SELECT DISTINCT %I FROM changed_old
                    ON CONFLICT (user_id) DO NOTHING', TG_ARGV[0]);
  END IF;
  RETURN NULL;
END
$$;
REVOKE ALL ON FUNCTION codeliver_coverage_facts_changed() FROM PUBLIC;
"""


def _triggers(table: str) -> str:
    name = f"coverage_facts_{table}"
    return f"""
CREATE TRIGGER {name}_ins AFTER INSERT ON {table} REFERENCING NEW TABLE AS changed_new
  FOR EACH STATEMENT EXECUTE FUNCTION codeliver_coverage_facts_changed('user_id');
CREATE TRIGGER {name}_upd AFTER UPDATE ON {table}
  REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed_new
  FOR EACH STATEMENT EXECUTE FUNCTION codeliver_coverage_facts_changed('user_id');
CREATE TRIGGER {name}_del AFTER DELETE ON {table} REFERENCING OLD TABLE AS changed_old
  FOR EACH STATEMENT EXECUTE FUNCTION codeliver_coverage_facts_changed('user_id');
"""


def upgrade() -> None:
    op.create_geospatial_table(
        "coverage_volunteer_facts",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("person", sa.BigInteger(), nullable=False),
        sa.Column("home", Geography("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("km", sa.Float(), nullable=False),
        sa.Column("cap", sa.Float(), nullable=False),
        sa.Column("on_duty", sa.Boolean(), nullable=False),
        sa.Column("on_duty_until", sa.DateTime(timezone=True)),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("level_until", sa.Date()),
        sa.Column("words", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("spans", postgresql.ARRAY(postgresql.TSTZRANGE()), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_coverage_volunteer_facts_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_coverage_volunteer_facts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_id", "user_id", name=op.f("pk_coverage_volunteer_facts")),
    )
    op.create_index("ix_coverage_volunteer_facts_user", "coverage_volunteer_facts", ["user_id"])
    op.create_geospatial_index(
        "idx_coverage_volunteer_facts_home",
        "coverage_volunteer_facts",
        ["home"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "coverage_volunteer_facts_state",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rebuilt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_coverage_volunteer_facts_state_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coverage_volunteer_facts_state")),
    )
    op.create_table(
        "coverage_volunteer_changes",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_coverage_volunteer_changes")),
    )
    for statement in sql_statements(SQL + "".join(_triggers(t) for t in SOURCES)):
        op.execute(statement)


def downgrade() -> None:
    for table in SOURCES:
        for suffix in ("ins", "upd", "del"):
            op.execute(f"DROP TRIGGER coverage_facts_{table}_{suffix} ON {table}")
    op.execute("DROP FUNCTION codeliver_coverage_facts_changed()")
    op.drop_table("coverage_volunteer_changes")
    op.drop_table("coverage_volunteer_facts_state")
    op.drop_table("coverage_volunteer_facts")
