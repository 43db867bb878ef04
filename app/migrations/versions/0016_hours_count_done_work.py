"""Weekly hours count the work done as well as the work ahead.

`codeliver_volunteer_load` summed `week_minutes` over active assignments only (accepted,
checked in), so a volunteer who completed a 2-hour visit on Monday had those hours back for
the rest of the week: the simulated week found one with 165 minutes on a 2-hour cap
(docs/simulation.md). Completed assignments now count towards the week they fall in; the
commitments, open micro-tasks and clashes still count only what is active.

Revision ID: 0016_hours_count_done_work
Revises: 0015_ranking_signals
Create Date: 2026-12-03 14:00:00
"""

from __future__ import annotations

from alembic import op

from app.migrations.sql import sql_statements

revision = "0016_hours_count_done_work"
down_revision = "0015_ranking_signals"
branch_labels = None
depends_on = None

SIGNATURE = "codeliver_volunteer_load(uuid, tstzrange, tstzmultirange, uuid, text[], timestamptz)"

_BODY = """
CREATE OR REPLACE FUNCTION codeliver_volunteer_load(p_user uuid, p_week tstzrange,
                                                    p_windows tstzmultirange, p_series uuid,
                                                    p_micro_kinds text[], p_at timestamptz)
  RETURNS TABLE (active integer, micro_tasks integer, week_minutes integer, conflicting boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(DISTINCT coalesce(t.series_id, t.id))
           FILTER (WHERE a.status IN ('accepted', 'checked_in')
                     AND p.kind <> ALL (p_micro_kinds)
                     AND (p_series IS NULL OR t.series_id IS DISTINCT FROM p_series))::integer,
         count(*) FILTER (WHERE a.status IN ('accepted', 'checked_in')
                            AND p.kind = ANY (p_micro_kinds) AND upper(t.windows) > p_at)::integer,
         coalesce(sum(t.duration_minutes) FILTER (WHERE t.windows && p_week), 0)::integer,
         coalesce(bool_or(t.windows && p_windows)
                    FILTER (WHERE a.status IN ('accepted', 'checked_in')), false)
    FROM assignments a JOIN needs t ON t.id = a.need_id JOIN programmes p ON p.id = t.programme_id
   WHERE a.volunteer_id = p_user AND a.status IN ({statuses})
$$;
"""

UPGRADE = _BODY.format(statuses="'accepted', 'checked_in', 'completed'")
DOWNGRADE = _BODY.format(statuses="'accepted', 'checked_in'")


def upgrade() -> None:
    for statement in sql_statements(UPGRADE):
        op.execute(statement)


def downgrade() -> None:
    for statement in sql_statements(DOWNGRADE):
        op.execute(statement)
