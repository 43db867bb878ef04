"""One rate limit across API processes: the callers' shared token buckets, which each
process settles what it spent against every half second (app/identity/shared_limits.py).
UNLOGGED (no WAL, not replicated: a crash or a failover refills every bucket), keyed by a
digest of the caller. Row-level security on with no policy and no grant: the app's login
reaches it only through the two functions.

Revision ID: 0032_shared_rate_limits
Revises: 0029_vetting_reminders
Create Date: 2026-12-07 12:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.migrations.sql import sql_statements

revision = "0032_shared_rate_limits"
down_revision = "0029_vetting_reminders"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

SQL = f"""
ALTER TABLE rate_buckets ENABLE ROW LEVEL SECURITY;

-- Spend `spent[i]` tokens of caller `keys[i]` (unique) from buckets refilling at `rate` a
-- second up to `burst`, and return what each bucket holds now: possibly less than 0 (debt,
-- at most one burst), when processes together took more than it held.
CREATE FUNCTION codeliver_rate_spend(keys text[], spent float8[], rate float8, burst float8)
  RETURNS TABLE (key text, tokens float8)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  INSERT INTO rate_buckets AS b (key, tokens, at)
  SELECT k, burst - s, clock_timestamp() FROM unnest(keys, spent) AS u(k, s)
  ON CONFLICT ON CONSTRAINT pk_rate_buckets DO UPDATE
     SET tokens = greatest(-burst, least(burst, b.tokens + rate * greatest(0, extract(epoch
                  FROM excluded.at - b.at))) - (burst - excluded.tokens)),
         at = greatest(b.at, excluded.at)
  RETURNING b.key, greatest(-burst, b.tokens)
$$;
REVOKE ALL ON FUNCTION codeliver_rate_spend(text[], float8[], float8, float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION codeliver_rate_spend(text[], float8[], float8, float8) TO {RW_ROLE};

-- Forget buckets untouched for `idle_s` seconds: full again, the same as no row.
CREATE FUNCTION codeliver_rate_prune(idle_s float8) RETURNS integer
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH gone AS (
    DELETE FROM rate_buckets WHERE at < clock_timestamp() - make_interval(secs => idle_s)
    RETURNING 1)
  SELECT count(*)::integer FROM gone
$$;
REVOKE ALL ON FUNCTION codeliver_rate_prune(float8) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION codeliver_rate_prune(float8) TO {RW_ROLE};
"""


def upgrade() -> None:
    op.create_table(
        "rate_buckets",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Float(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_buckets")),
        prefixes=["UNLOGGED"],
    )
    op.create_index("ix_rate_buckets_at", "rate_buckets", ["at"])
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION codeliver_rate_prune(float8)")
    op.execute("DROP FUNCTION codeliver_rate_spend(text[], float8[], float8, float8)")
    op.drop_table("rate_buckets")
