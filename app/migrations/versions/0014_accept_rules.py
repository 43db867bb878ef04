"""A volunteer's load as a coordinator counts it, at an instant the caller gives.

Rewrites `codeliver_volunteer_load` (docs/decisions.md, "What a volunteer's load is"):

- `active` counts commitments, not rows: every occurrence of a series held by the volunteer
  is one commitment, and the series of the need being asked about is left out (taking
  another occurrence of a series they hold adds nothing). Micro-tasks (the programme kinds
  the caller passes, `matching.eligibility.MICRO_TASK_KINDS`) do not count at all.
- `micro_tasks` counts open micro-task claims: active, on a need not over at `p_at`.
- `week_minutes` and `conflicting` are as before.

`p_at` is the deciding transaction's instant (app/clock.py): the function never reads `now()`.

Revision ID: 0014_accept_rules
Revises: 0013
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

from alembic import op

from app.migrations.sql import sql_statements

revision = "0014_accept_rules"
down_revision = "0013"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"
OLD = "codeliver_volunteer_load(uuid, tstzrange, tstzmultirange)"
NEW = "codeliver_volunteer_load(uuid, tstzrange, tstzmultirange, uuid, text[], timestamptz)"

UPGRADE = f"""
DROP FUNCTION {OLD};
CREATE FUNCTION codeliver_volunteer_load(p_user uuid, p_week tstzrange, p_windows tstzmultirange,
                                         p_series uuid, p_micro_kinds text[], p_at timestamptz)
  RETURNS TABLE (active integer, micro_tasks integer, week_minutes integer, conflicting boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(DISTINCT coalesce(t.series_id, t.id))
           FILTER (WHERE p.kind <> ALL (p_micro_kinds)
                     AND (p_series IS NULL OR t.series_id IS DISTINCT FROM p_series))::integer,
         count(*) FILTER (WHERE p.kind = ANY (p_micro_kinds) AND upper(t.windows) > p_at)::integer,
         coalesce(sum(t.duration_minutes) FILTER (WHERE t.windows && p_week), 0)::integer,
         coalesce(bool_or(t.windows && p_windows), false)
    FROM assignments a JOIN needs t ON t.id = a.need_id JOIN programmes p ON p.id = t.programme_id
   WHERE a.volunteer_id = p_user AND a.status IN ('accepted', 'checked_in')
$$;
REVOKE ALL ON FUNCTION {NEW} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {NEW} TO {RW_ROLE};
"""

DOWNGRADE = f"""
DROP FUNCTION {NEW};
CREATE FUNCTION codeliver_volunteer_load(p_user uuid, p_week tstzrange, p_windows tstzmultirange)
  RETURNS TABLE (active integer, week_minutes integer, conflicting boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(*)::integer,
         coalesce(sum(t.duration_minutes) FILTER (WHERE t.windows && p_week), 0)::integer,
         coalesce(bool_or(t.windows && p_windows), false)
    FROM assignments a JOIN needs t ON t.id = a.need_id
   WHERE a.volunteer_id = p_user AND a.status IN ('accepted', 'checked_in')
$$;
REVOKE ALL ON FUNCTION {OLD} FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {OLD} TO {RW_ROLE};
"""


def upgrade() -> None:
    for statement in sql_statements(UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in sql_statements(DOWNGRADE):
        op.execute(statement)
