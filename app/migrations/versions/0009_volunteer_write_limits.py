"""What a volunteer's own transaction may write: only the columns their paths change, and an
assignment only through their own offer or an open call.

Row-level security decides which rows a volunteer reaches, not which columns change; the app's
single role cannot carry per-column grants for volunteers alone. So:

- a trigger on tasks, offers and assignments refuses, for a caller who is neither staff of the
  row's organisation nor a platform admin nor the system (no signed-in user), any change
  outside the columns listed for that table; a need's fill count moves by one slot at most;
- a volunteer inserts an assignment only for their own offer of that need, or for an open
  call; they never delete one (series occurrences are the worker's, on the system login).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 22:40:00
"""

from __future__ import annotations

from alembic import op

from app.migrations.sql import sql_statements

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"
STAFF = "org_id = ANY (codeliver_staff_org_ids()) OR codeliver_is_platform_admin()"
ME = "codeliver_user_id()"

# The columns each volunteer path sets (app/needs/slots.py, app/assignments/service.py,
# app/offers/service.py); anything else is staff's or the worker's.
VOLUNTEER_COLUMNS = {
    "tasks": ("filled", "status", "status_changed_at", "filled_at", "next_step_at", "updated_at"),
    "offers": ("status", "responded_at", "decline_reason"),
    "assignments": (
        "status",
        "checked_in_at",
        "check_in_distance_m",
        "completed_at",
        "minutes",
        "outcome",
        "note",
        "ended_at",
        "end_reason",
        "ended_by",
        "updated_at",
    ),
}

OWN_OFFER_OR_OPEN_CALL = f"""
  volunteer_id = {ME} AND org_id = ANY (codeliver_active_org_ids())
  AND ((offer_id IS NOT NULL
        AND EXISTS (SELECT 1 FROM offers o
                     WHERE o.id = assignments.offer_id AND o.task_id = assignments.task_id
                       AND o.org_id = assignments.org_id AND o.volunteer_id = {ME}
                       AND o.status IN ('pending', 'accepted')))
    OR (offer_id IS NULL
        AND EXISTS (SELECT 1 FROM tasks t
                     WHERE t.id = assignments.task_id AND t.org_id = assignments.org_id
                       AND t.dispatch = 'open_call')))"""

SQL = f"""
CREATE FUNCTION codeliver_volunteer_write_limits() RETURNS trigger
  LANGUAGE plpgsql SET search_path = public, pg_temp AS $$
BEGIN
  IF codeliver_user_id() IS NULL OR OLD.org_id = ANY (codeliver_staff_org_ids())
     OR codeliver_is_platform_admin() THEN
    RETURN NEW;
  END IF;
  -- sync_xid is the sync trigger's (0011), whoever writes.
  IF (to_jsonb(NEW) - TG_ARGV - 'sync_xid') IS DISTINCT FROM (to_jsonb(OLD) - TG_ARGV - 'sync_xid')
  THEN
    RAISE EXCEPTION 'a volunteer may change only % of %', array_to_string(TG_ARGV, ', '),
      TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF TG_TABLE_NAME = 'tasks' AND abs((to_jsonb(NEW) ->> 'filled')::int
                                     - (to_jsonb(OLD) ->> 'filled')::int) > 1 THEN
    RAISE EXCEPTION 'a volunteer takes or gives back one slot at a time'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER tasks_volunteer_write_limits BEFORE UPDATE ON tasks FOR EACH ROW
  EXECUTE FUNCTION codeliver_volunteer_write_limits({", ".join(VOLUNTEER_COLUMNS["tasks"])});
CREATE TRIGGER offers_volunteer_write_limits BEFORE UPDATE ON offers FOR EACH ROW
  EXECUTE FUNCTION codeliver_volunteer_write_limits({", ".join(VOLUNTEER_COLUMNS["offers"])});
CREATE TRIGGER assignments_volunteer_write_limits BEFORE UPDATE ON assignments FOR EACH ROW
  EXECUTE FUNCTION codeliver_volunteer_write_limits(
    {", ".join(VOLUNTEER_COLUMNS["assignments"])});

DROP POLICY assignments_self ON assignments;
CREATE POLICY assignments_self_read ON assignments FOR SELECT USING (volunteer_id = {ME});
CREATE POLICY assignments_self_take ON assignments FOR INSERT
  WITH CHECK ({OWN_OFFER_OR_OPEN_CALL});
CREATE POLICY assignments_self_update ON assignments FOR UPDATE
  USING (volunteer_id = {ME}) WITH CHECK (volunteer_id = {ME});
"""


def upgrade() -> None:
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    for table in VOLUNTEER_COLUMNS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_volunteer_write_limits ON {table}")
    op.execute("DROP FUNCTION IF EXISTS codeliver_volunteer_write_limits()")
    for policy in ("assignments_self_read", "assignments_self_take", "assignments_self_update"):
        op.execute(f"DROP POLICY IF EXISTS {policy} ON assignments")
    op.execute(
        f"CREATE POLICY assignments_self ON assignments FOR ALL USING (volunteer_id = {ME}) "
        f"WITH CHECK (volunteer_id = {ME} AND org_id = ANY (codeliver_active_org_ids()))"
    )
