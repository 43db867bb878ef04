"""Identity and tenancy: organisations, users, memberships, audit log, row-level security.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

from app.migrations.sql import sql_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

# The tenant context of a transaction, set by codeliver_login() with set_config(..., true):
# it lasts for one transaction only, so pooled connections (and PgBouncer in transaction
# mode) never carry one request's scope into another's.
CONTEXT_FUNCTIONS = """
CREATE FUNCTION codeliver_org_ids() RETURNS uuid[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('codeliver.org_ids', true), ''), '{}')::uuid[]
$$;
CREATE FUNCTION codeliver_user_id() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('codeliver.user_id', true), '')::uuid
$$;
CREATE FUNCTION codeliver_is_platform_admin() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('codeliver.platform_admin', true), '') = 'on'
$$;
"""

# One round trip per request: resolve (or provision) the user for a verified token, claim a
# pending invitation by verified e-mail, set the tenant context, return the memberships.
# SECURITY INVOKER: every statement inside is itself subject to row-level security.
LOGIN_FUNCTION = """
CREATE FUNCTION codeliver_login(p_issuer text, p_subject text, p_email text, p_name text)
RETURNS TABLE (user_id uuid, display_name text, email text, is_platform_admin boolean,
               memberships jsonb)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  u users%ROWTYPE;
  orgs uuid[];
BEGIN
  PERFORM set_config('codeliver.issuer', p_issuer, true);
  PERFORM set_config('codeliver.subject', p_subject, true);
  PERFORM set_config('codeliver.email', coalesce(lower(p_email), ''), true);
  SELECT * INTO u FROM users WHERE users.issuer = p_issuer AND users.subject = p_subject;
  IF NOT FOUND AND p_email IS NOT NULL THEN
    UPDATE users SET issuer = p_issuer, subject = p_subject,
                     display_name = coalesce(users.display_name, p_name)
     WHERE users.id = (SELECT i.id FROM users i
                        WHERE i.subject IS NULL AND lower(i.email) = lower(p_email)
                        ORDER BY i.created_at LIMIT 1)
    RETURNING * INTO u;
  END IF;
  IF u.id IS NULL THEN
    INSERT INTO users (issuer, subject, email, display_name)
    VALUES (p_issuer, p_subject, lower(p_email), p_name)
    ON CONFLICT (issuer, subject) DO NOTHING
    RETURNING * INTO u;
    IF u.id IS NULL THEN  -- a concurrent first sign-in won the insert
      SELECT * INTO u FROM users WHERE users.issuer = p_issuer AND users.subject = p_subject;
    END IF;
  END IF;
  PERFORM set_config('codeliver.user_id', u.id::text, true);
  PERFORM set_config('codeliver.platform_admin',
                     CASE WHEN u.is_platform_admin THEN 'on' ELSE 'off' END, true);
  SELECT array_agg(DISTINCT m.org_id) INTO orgs FROM memberships m WHERE m.user_id = u.id;
  PERFORM set_config('codeliver.org_ids', coalesce(orgs, '{}')::text, true);
  RETURN QUERY SELECT u.id, u.display_name, u.email, u.is_platform_admin,
    coalesce((SELECT jsonb_agg(jsonb_build_object('org_id', m.org_id, 'role', m.role)
                               ORDER BY m.org_id, m.role)
                FROM memberships m WHERE m.user_id = u.id), '[]'::jsonb);
END $$;
"""

# Invitations by e-mail must find users outside the inviter's organisations; this reveals
# an id only, never a row.
INVITE_LOOKUP = """
CREATE FUNCTION codeliver_user_id_for_email(p_email text) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT id FROM users WHERE lower(email) = lower(p_email)
  ORDER BY (subject IS NULL), created_at LIMIT 1
$$;
REVOKE ALL ON FUNCTION codeliver_user_id_for_email(text) FROM PUBLIC;
"""

IN_MY_ORGS = "org_id = ANY (codeliver_org_ids()) OR codeliver_is_platform_admin()"

POLICIES = f"""
ALTER TABLE organisations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organisations_read ON organisations FOR SELECT
  USING (id = ANY (codeliver_org_ids()) OR codeliver_is_platform_admin());
CREATE POLICY organisations_create ON organisations FOR INSERT
  WITH CHECK (codeliver_is_platform_admin());
CREATE POLICY organisations_update ON organisations FOR UPDATE
  USING (id = ANY (codeliver_org_ids()) OR codeliver_is_platform_admin());

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON users FOR SELECT USING (
  id = codeliver_user_id()
  OR (issuer = current_setting('codeliver.issuer', true)
      AND subject = current_setting('codeliver.subject', true))
  OR (subject IS NULL AND lower(email) = current_setting('codeliver.email', true))
  OR codeliver_is_platform_admin()
  OR EXISTS (SELECT 1 FROM memberships m
              WHERE m.user_id = users.id AND m.org_id = ANY (codeliver_org_ids())));
CREATE POLICY users_provision ON users FOR INSERT WITH CHECK (
  (issuer = current_setting('codeliver.issuer', true)
   AND subject = current_setting('codeliver.subject', true))
  OR (subject IS NULL AND codeliver_user_id() IS NOT NULL));
CREATE POLICY users_update ON users FOR UPDATE
  USING (id = codeliver_user_id() OR codeliver_is_platform_admin()
         OR (subject IS NULL AND lower(email) = current_setting('codeliver.email', true)))
  WITH CHECK (id = codeliver_user_id() OR codeliver_is_platform_admin()
              OR (issuer = current_setting('codeliver.issuer', true)
                  AND subject = current_setting('codeliver.subject', true)));

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY memberships_read ON memberships FOR SELECT
  USING (user_id = codeliver_user_id() OR {IN_MY_ORGS});
CREATE POLICY memberships_tenant ON memberships FOR ALL
  USING ({IN_MY_ORGS}) WITH CHECK ({IN_MY_ORGS});

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING ({IN_MY_ORGS});
CREATE POLICY audit_log_append ON audit_log FOR INSERT
  WITH CHECK (org_id IS NULL OR {IN_MY_ORGS});
"""

GRANTS = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RW_ROLE}') THEN
    CREATE ROLE {RW_ROLE} NOLOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO {RW_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON organisations, users, memberships TO {RW_ROLE};
GRANT SELECT, INSERT ON audit_log TO {RW_ROLE};
GRANT SELECT ON alembic_version TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_user_id_for_email(text) TO {RW_ROLE};
"""


def _execute_script(script: str) -> None:
    for statement in sql_statements(script):
        op.execute(statement)


def _uuid_pk() -> sa.Column[object]:
    return sa.Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()")
    )


def _created_at() -> sa.Column[object]:
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "organisations",
        _uuid_pk(),
        sa.Column("slug", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("time_zone", sa.Text, nullable=False, server_default="Europe/London"),
        _created_at(),
        sa.CheckConstraint(
            "kind IN ('council', 'nhs_trust', 'charity', 'other')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9](-?[a-z0-9])*$'", name=op.f("ck_organisations_slug_format")
        ),
        sa.UniqueConstraint("slug", name=op.f("uq_organisations_slug")),
    )
    op.create_table(
        "users",
        _uuid_pk(),
        sa.Column("issuer", sa.Text),
        sa.Column("subject", sa.Text),
        sa.Column("email", sa.Text),
        sa.Column("display_name", sa.Text),
        sa.Column("is_platform_admin", sa.Boolean, nullable=False, server_default=sa.text("false")),
        _created_at(),
        sa.UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),
        sa.CheckConstraint(
            "(issuer IS NULL) = (subject IS NULL)", name=op.f("ck_users_identity_pair")
        ),
        sa.CheckConstraint(
            "subject IS NOT NULL OR email IS NOT NULL", name=op.f("ck_users_reachable")
        ),
    )
    op.create_index("ix_users_email_lower", "users", [sa.text("lower(email)")])
    op.create_table(
        "memberships",
        sa.Column("org_id", UUID(as_uuid=True), nullable=False),
        sa.Column("user_id", UUID(as_uuid=True), nullable=False),
        sa.Column("role", sa.Text, nullable=False),
        sa.Column("created_by", UUID(as_uuid=True)),
        _created_at(),
        sa.PrimaryKeyConstraint("org_id", "user_id", "role", name=op.f("pk_memberships")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            ondelete="CASCADE",
            name=op.f("fk_memberships_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], ondelete="CASCADE", name=op.f("fk_memberships_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            ondelete="SET NULL",
            name=op.f("fk_memberships_created_by_users"),
        ),
        sa.CheckConstraint(
            "role IN ('volunteer', 'caseworker', 'coordinator', 'org_admin')",
            name=op.f("ck_memberships_role"),
        ),
    )
    op.create_index(op.f("ix_memberships_user_id"), "memberships", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("org_id", UUID(as_uuid=True)),
        sa.Column("actor_user_id", UUID(as_uuid=True)),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("subject_type", sa.Text, nullable=False),
        sa.Column("subject_id", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("details", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            ondelete="CASCADE",
            name=op.f("fk_audit_log_org_id_organisations"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            ondelete="SET NULL",
            name=op.f("fk_audit_log_actor_user_id_users"),
        ),
    )
    op.create_index("ix_audit_log_org_at", "audit_log", ["org_id", "at"])
    op.create_index("ix_audit_log_subject", "audit_log", ["subject_type", "subject_id"])
    _execute_script(CONTEXT_FUNCTIONS)
    _execute_script(LOGIN_FUNCTION)
    _execute_script(INVITE_LOOKUP)
    _execute_script(POLICIES)
    _execute_script(GRANTS)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS codeliver_login(text, text, text, text)")
    op.execute("DROP FUNCTION IF EXISTS codeliver_user_id_for_email(text)")
    for table in ("audit_log", "memberships", "users", "organisations"):
        op.drop_table(table)
    for fn in ("codeliver_org_ids", "codeliver_user_id", "codeliver_is_platform_admin"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}()")
