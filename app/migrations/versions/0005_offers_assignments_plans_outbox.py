"""Offers, assignments, client exclusions, batch plans, the outbox, idempotency keys.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 20:00:38.074651
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.migrations.sql import sql_statements

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"
STAFF = "org_id = ANY (codeliver_staff_org_ids()) OR codeliver_is_platform_admin()"
ME = "codeliver_user_id()"
# The needs a volunteer reaches: offered to them, theirs, or an open call of their
# organisation. They read those and update their fill counts; they never insert needs.
VOLUNTEER_REACH = f"""
  EXISTS (SELECT 1 FROM offers o WHERE o.task_id = tasks.id AND o.volunteer_id = {ME})
  OR EXISTS (SELECT 1 FROM assignments a WHERE a.task_id = tasks.id AND a.volunteer_id = {ME})
  OR (dispatch = 'open_call' AND status IN ('open', 'partially_filled')
      AND org_id = ANY (codeliver_active_org_ids()))"""

# Volunteers reach a need only through their own offer or assignment, or as an open call of
# an organisation they are approved in; the controllers decide which columns they see. An
# assigned volunteer may read their client's row while the assignment is active, never after.
# A volunteer's load across all their organisations (for capacity and conflicts) comes from
# SECURITY DEFINER functions that return counts, not other organisations' rows, so a
# caseworker's first wave and the worker's later ones score a volunteer alike.
SQL = f"""
ALTER TABLE offers ENABLE ROW LEVEL SECURITY;
CREATE POLICY offers_staff ON offers FOR ALL USING ({STAFF}) WITH CHECK ({STAFF});
CREATE POLICY offers_self_read ON offers FOR SELECT USING (volunteer_id = {ME});
CREATE POLICY offers_self_answer ON offers FOR UPDATE
  USING (volunteer_id = {ME}) WITH CHECK (volunteer_id = {ME});

ALTER TABLE assignments ENABLE ROW LEVEL SECURITY;
CREATE POLICY assignments_staff ON assignments FOR ALL USING ({STAFF}) WITH CHECK ({STAFF});
CREATE POLICY assignments_self ON assignments FOR ALL USING (volunteer_id = {ME})
  WITH CHECK (volunteer_id = {ME} AND org_id = ANY (codeliver_active_org_ids()));

CREATE POLICY tasks_volunteer_read ON tasks FOR SELECT USING ({VOLUNTEER_REACH});
CREATE POLICY tasks_volunteer_fill ON tasks FOR UPDATE USING ({VOLUNTEER_REACH})
  WITH CHECK (org_id = ANY (codeliver_active_org_ids()));
CREATE POLICY tasks_open_calls_read ON tasks FOR SELECT
  USING (dispatch = 'open_call' AND org_id = ANY (codeliver_active_org_ids()));

CREATE POLICY clients_assigned_volunteer ON clients FOR SELECT USING (
  EXISTS (SELECT 1 FROM assignments a JOIN tasks t ON t.id = a.task_id
           WHERE t.client_id = clients.id AND a.volunteer_id = {ME}
             AND a.status IN ('accepted', 'checked_in')));

ALTER TABLE client_exclusions ENABLE ROW LEVEL SECURITY;
CREATE POLICY client_exclusions_staff ON client_exclusions FOR ALL
  USING ({STAFF}) WITH CHECK ({STAFF});

ALTER TABLE plans ENABLE ROW LEVEL SECURITY;
CREATE POLICY plans_staff ON plans FOR ALL USING ({STAFF}) WITH CHECK ({STAFF});

ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
CREATE POLICY outbox_enqueue ON outbox FOR INSERT WITH CHECK (true);
CREATE POLICY outbox_own ON outbox FOR SELECT USING (user_id = {ME});

ALTER TABLE idempotency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY idempotency_keys_own ON idempotency_keys FOR ALL
  USING (user_id = {ME}) WITH CHECK (user_id = {ME});

CREATE FUNCTION codeliver_volunteer_load(p_user uuid, p_week tstzrange, p_windows tstzmultirange)
  RETURNS TABLE (active integer, week_minutes integer, conflicting boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT count(*)::integer,
         coalesce(sum(t.duration_minutes) FILTER (WHERE t.windows && p_week), 0)::integer,
         coalesce(bool_or(t.windows && p_windows), false)
    FROM assignments a JOIN tasks t ON t.id = a.task_id
   WHERE a.volunteer_id = p_user AND a.status IN ('accepted', 'checked_in')
$$;
REVOKE ALL ON FUNCTION codeliver_volunteer_load(uuid, tstzrange, tstzmultirange) FROM PUBLIC;

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
            FROM assignments x JOIN tasks t ON t.id = x.task_id
           WHERE x.volunteer_id = p_user) a
$$;
REVOKE ALL ON FUNCTION codeliver_volunteer_record(uuid, uuid) FROM PUBLIC;

GRANT SELECT, INSERT, UPDATE ON offers, assignments, plans TO {RW_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON client_exclusions TO {RW_ROLE};
GRANT SELECT, INSERT ON outbox TO {RW_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON idempotency_keys TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_volunteer_load(uuid, tstzrange, tstzmultirange)
  TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_volunteer_record(uuid, uuid) TO {RW_ROLE};
"""


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.Text(), nullable=False),
        sa.Column("status_code", sa.SmallInteger(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "length(key) BETWEEN 1 AND 200", name=op.f("ck_idempotency_keys_key_length")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_keys_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index("ix_idempotency_keys_created", "idempotency_keys", ["created_at"], unique=False)
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "message_id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False
        ),
        sa.Column("org_id", sa.UUID(), nullable=True),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("collapse_key", sa.Text(), nullable=True),
        sa.Column("urgent", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("attempts", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("lease_token", sa.UUID(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead')", name=op.f("ck_outbox_status")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_outbox_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_outbox_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index(
        "ix_outbox_due",
        "outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_outbox_user", "outbox", ["user_id", "id"], unique=False)
    op.create_table(
        "client_exclusions",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("volunteer_id", sa.UUID(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_client_exclusions_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_client_exclusions_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_client_exclusions_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["users.id"],
            name=op.f("fk_client_exclusions_volunteer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", "volunteer_id", name=op.f("pk_client_exclusions")),
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("programme_id", sa.UUID(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.Text(), server_default="proposed", nullable=False),
        sa.Column("choices", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("totals", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('proposed', 'committed')", name=op.f("ck_plans_status")),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_plans_period")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_plans_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_plans_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["programme_id"], ["programmes.id"], name=op.f("fk_plans_programme_id_programmes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
    )
    op.create_table(
        "offers",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("volunteer_id", sa.UUID(), nullable=False),
        sa.Column("series_id", sa.UUID(), nullable=True),
        sa.Column("wave", sa.SmallInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="pending", nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column(
            "explanation",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "source IN ('cascade', 'manual', 'plan', 'series')", name=op.f("ck_offers_source")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'declined', 'expired', 'withdrawn')",
            name=op.f("ck_offers_status"),
        ),
        sa.CheckConstraint("expires_at > created_at", name=op.f("ck_offers_expires_after_created")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_offers_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_offers_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_offers_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["users.id"],
            name=op.f("fk_offers_volunteer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
        sa.UniqueConstraint("task_id", "volunteer_id", name="uq_offers_task_volunteer"),
    )
    op.create_index(
        "ix_offers_pending_expiry",
        "offers",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("ix_offers_task_status", "offers", ["task_id", "status"], unique=False)
    op.create_index(
        "ix_offers_volunteer_created", "offers", ["volunteer_id", "created_at"], unique=False
    )
    op.create_table(
        "assignments",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("volunteer_id", sa.UUID(), nullable=False),
        sa.Column("offer_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.Text(), server_default="accepted", nullable=False),
        sa.Column(
            "accepted_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("checked_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_in_distance_m", sa.Float(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minutes", sa.SmallInteger(), nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("ended_by", sa.UUID(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status IN ('accepted', 'checked_in')) = (ended_at IS NULL)",
            name=op.f("ck_assignments_ended_when_inactive"),
        ),
        sa.CheckConstraint(
            "status IN ('accepted', 'checked_in', 'completed', 'withdrawn', 'released', 'no_show', 'cancelled')",
            name=op.f("ck_assignments_status"),
        ),
        sa.CheckConstraint(
            "minutes IS NULL OR minutes BETWEEN 1 AND 1440", name=op.f("ck_assignments_minutes")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by"],
            ["users.id"],
            name=op.f("fk_assignments_ended_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["offers.id"],
            name=op.f("fk_assignments_offer_id_offers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_assignments_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_assignments_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["volunteer_id"],
            ["users.id"],
            name=op.f("fk_assignments_volunteer_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("task_id", "volunteer_id", name="uq_assignments_task_volunteer"),
    )
    op.create_index(
        "ix_assignments_stale",
        "assignments",
        ["accepted_at"],
        unique=False,
        postgresql_where=sa.text("status = 'accepted'"),
    )
    op.create_index("ix_assignments_task", "assignments", ["task_id"], unique=False)
    op.create_index(
        "ix_assignments_volunteer_updated",
        "assignments",
        ["volunteer_id", "updated_at"],
        unique=False,
    )
    op.add_column("tasks", sa.Column("next_step_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tasks", sa.Column("waves_sent", sa.SmallInteger(), server_default="0", nullable=False)
    )
    op.add_column("tasks", sa.Column("first_offer_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("filled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("tasks", sa.Column("escalation_reason", sa.Text(), nullable=True))
    op.add_column("tasks", sa.Column("outcome", sa.Text(), nullable=True))
    op.add_column("tasks", sa.Column("outcome_note", sa.Text(), nullable=True))
    op.add_column("tasks", sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_tasks_next_step",
        "tasks",
        ["next_step_at"],
        unique=False,
        postgresql_where=sa.text("next_step_at IS NOT NULL"),
    )
    # ### end Alembic commands ###
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS codeliver_volunteer_record(uuid, uuid)")
    op.execute("DROP POLICY IF EXISTS tasks_volunteer_read ON tasks")
    op.execute("DROP POLICY IF EXISTS tasks_volunteer_fill ON tasks")
    op.execute("DROP POLICY IF EXISTS tasks_open_calls_read ON tasks")
    op.execute("DROP POLICY IF EXISTS clients_assigned_volunteer ON clients")
    op.execute("DROP FUNCTION IF EXISTS codeliver_volunteer_load(uuid, tstzrange, tstzmultirange)")
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(
        "ix_tasks_next_step",
        table_name="tasks",
        postgresql_where=sa.text("next_step_at IS NOT NULL"),
    )
    op.drop_column("tasks", "outcome_at")
    op.drop_column("tasks", "outcome_note")
    op.drop_column("tasks", "outcome")
    op.drop_column("tasks", "escalation_reason")
    op.drop_column("tasks", "escalated_at")
    op.drop_column("tasks", "filled_at")
    op.drop_column("tasks", "first_offer_at")
    op.drop_column("tasks", "waves_sent")
    op.drop_column("tasks", "next_step_at")
    op.drop_index("ix_assignments_volunteer_updated", table_name="assignments")
    op.drop_index("ix_assignments_task", table_name="assignments")
    op.drop_index(
        "ix_assignments_stale",
        table_name="assignments",
        postgresql_where=sa.text("status = 'accepted'"),
    )
    op.drop_table("assignments")
    op.drop_index("ix_offers_volunteer_created", table_name="offers")
    op.drop_index("ix_offers_task_status", table_name="offers")
    op.drop_index(
        "ix_offers_pending_expiry",
        table_name="offers",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("offers")
    op.drop_table("plans")
    op.drop_table("client_exclusions")
    op.drop_index("ix_outbox_user", table_name="outbox")
    op.drop_index(
        "ix_outbox_due", table_name="outbox", postgresql_where=sa.text("status = 'pending'")
    )
    op.drop_table("outbox")
    op.drop_index("ix_idempotency_keys_created", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    # ### end Alembic commands ###
