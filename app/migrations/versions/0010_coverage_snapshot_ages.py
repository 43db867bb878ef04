"""The age of the oldest coverage snapshot, for /metrics: a stalled worker shows there.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 22:45:00
"""

from __future__ import annotations

from alembic import op

from app.migrations.sql import sql_statements

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

# Staff alone read snapshots (row-level security); the scrape needs one figure about all of
# them, which reveals nothing about anyone.
SQL = f"""
CREATE FUNCTION codeliver_coverage_snapshot_ages()
  RETURNS TABLE (snapshots bigint, oldest_s float8, slowest_refresh_s float8)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(*), extract(epoch FROM now() - min(refreshed_at)), max(seconds)
    FROM coverage_snapshots
$$;
REVOKE ALL ON FUNCTION codeliver_coverage_snapshot_ages() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION codeliver_coverage_snapshot_ages() TO {RW_ROLE};
"""


def upgrade() -> None:
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS codeliver_coverage_snapshot_ages()")
