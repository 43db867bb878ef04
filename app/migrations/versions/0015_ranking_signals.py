"""Ranking signals: a volunteer's record counts only offers they could answer, at an instant.

Rewrites `codeliver_volunteer_record` (migration 0005, renamed by 0013). An offer withdrawn
because its need filled or was cancelled, or one still pending, is no evidence of
reliability: `offers_total` now counts offers accepted, declined or left to expire. The
function takes the decision's instant (`p_at`) for its 28-day fairness window instead of
reading `now()`, so a simulated clock and the caller's transaction agree (app/clock.py).

Revision ID: 0015_ranking_signals
Revises: 0013
Create Date: 2026-12-03 13:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0015_ranking_signals"
down_revision = "0014_accept_rules"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

# Counts only, across every organisation the volunteer serves (SECURITY DEFINER).
RECORD = """
CREATE FUNCTION codeliver_volunteer_record(p_user uuid, p_client uuid, p_at timestamptz)
  RETURNS TABLE (offers_recent integer, assignments_recent integer, offers_total integer,
                 accepted_total integer, declined_total integer, expired_total integer,
                 completed_total integer, no_shows_total integer, served_client integer)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT o.recent, a.recent, o.total, o.accepted, o.declined, o.expired,
         a.completed, a.no_shows, a.served
    FROM (SELECT count(*) FILTER (WHERE created_at > p_at - interval '28 days')::integer
                   AS recent,
                 count(*) FILTER (WHERE status IN ('accepted', 'declined', 'expired'))::integer
                   AS total,
                 count(*) FILTER (WHERE status = 'accepted')::integer AS accepted,
                 count(*) FILTER (WHERE status = 'declined')::integer AS declined,
                 count(*) FILTER (WHERE status = 'expired')::integer AS expired
            FROM offers WHERE volunteer_id = p_user) o,
         (SELECT count(*) FILTER (WHERE x.accepted_at > p_at - interval '28 days')::integer
                   AS recent,
                 count(*) FILTER (WHERE x.status = 'completed')::integer AS completed,
                 count(*) FILTER (WHERE x.status = 'no_show')::integer AS no_shows,
                 count(*) FILTER (WHERE x.status IN ('accepted', 'checked_in', 'completed')
                                    AND t.client_id = p_client)::integer AS served
            FROM assignments x JOIN needs t ON t.id = x.need_id
           WHERE x.volunteer_id = p_user) a
$$"""

# What 0013 left: every offer counted, the window read from now().
PREVIOUS = """
CREATE FUNCTION codeliver_volunteer_record(p_user uuid, p_client uuid)
  RETURNS TABLE (offers_recent integer, assignments_recent integer, offers_total integer,
                 accepted_total integer, declined_total integer, expired_total integer,
                 completed_total integer, no_shows_total integer, served_client integer)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT o.recent, a.recent, o.total, o.accepted, o.declined, o.expired,
         a.completed, a.no_shows, a.served
    FROM (SELECT count(*) FILTER (WHERE created_at > now() - interval '28 days')::integer
                   AS recent,
                 count(*)::integer AS total,
                 count(*) FILTER (WHERE status = 'accepted')::integer AS accepted,
                 count(*) FILTER (WHERE status = 'declined')::integer AS declined,
                 count(*) FILTER (WHERE status = 'expired')::integer AS expired
            FROM offers WHERE volunteer_id = p_user) o,
         (SELECT count(*) FILTER (WHERE x.accepted_at > now() - interval '28 days')::integer
                   AS recent,
                 count(*) FILTER (WHERE x.status = 'completed')::integer AS completed,
                 count(*) FILTER (WHERE x.status = 'no_show')::integer AS no_shows,
                 count(*) FILTER (WHERE x.status IN ('accepted', 'checked_in', 'completed')
                                    AND t.client_id = p_client)::integer AS served
            FROM assignments x JOIN needs t ON t.id = x.need_id
           WHERE x.volunteer_id = p_user) a
$$"""


def _replace(drop: str, create: str, signature: str) -> None:
    op.execute(f"DROP FUNCTION codeliver_volunteer_record({drop})")
    op.execute(create)
    op.execute(f"REVOKE ALL ON FUNCTION codeliver_volunteer_record({signature}) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION codeliver_volunteer_record({signature}) TO {RW_ROLE}")


def upgrade() -> None:
    _replace("uuid, uuid", RECORD, "uuid, uuid, timestamptz")


def downgrade() -> None:
    _replace("uuid, uuid, timestamptz", PREVIOUS, "uuid, uuid")
