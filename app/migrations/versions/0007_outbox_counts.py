"""Outbox counts by status for /metrics; client exclusions checkable on volunteers' paths.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 21:00:00
"""

from __future__ import annotations

from alembic import op

from app.migrations.sql import sql_statements

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

# The app may read only its caller's own outbox rows (row-level security); the metrics
# endpoint needs the totals, which reveal nothing about anyone: counts only.
SQL = f"""
CREATE FUNCTION codeliver_outbox_counts() RETURNS TABLE (status text, messages bigint)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT status, count(*) FROM outbox GROUP BY status
$$;
REVOKE ALL ON FUNCTION codeliver_outbox_counts() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION codeliver_outbox_counts() TO {RW_ROLE};

-- Volunteers may not read client exclusions (staff data), yet their own accept, claim and
-- feed must honour them: a yes/no for one (client, volunteer) pair.
CREATE FUNCTION codeliver_is_excluded(p_client uuid, p_user uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM client_exclusions
                  WHERE client_id = p_client AND volunteer_id = p_user)
$$;
REVOKE ALL ON FUNCTION codeliver_is_excluded(uuid, uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION codeliver_is_excluded(uuid, uuid) TO {RW_ROLE};
"""


def upgrade() -> None:
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS codeliver_outbox_counts()")
    op.execute("DROP FUNCTION IF EXISTS codeliver_is_excluded(uuid, uuid)")
