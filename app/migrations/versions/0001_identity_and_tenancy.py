"""Identity and tenancy: organisations, users, memberships, invitations, audit log, and the
row-level security that scopes every transaction to the caller's organisations.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.migrations.sql import sql_statements

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

# The tenant context of a transaction, set by codeliver_login() with set_config(..., true):
# it lasts for one transaction only, so pooled connections (and PgBouncer in transaction
# mode) never carry one request's scope into another's. Four scopes: every organisation
# the caller belongs to (even pending or suspended); those where their membership is
# approved; those where they are approved staff (caseworker and up: personal data); those
# where they manage (coordinator, org admin: memberships, settings).
CONTEXT = """
CREATE FUNCTION codeliver_org_ids() RETURNS uuid[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('codeliver.org_ids', true), ''), '{}')::uuid[]
$$;
CREATE FUNCTION codeliver_active_org_ids() RETURNS uuid[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('codeliver.active_org_ids', true), ''), '{}')::uuid[]
$$;
CREATE FUNCTION codeliver_staff_org_ids() RETURNS uuid[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('codeliver.staff_org_ids', true), ''), '{}')::uuid[]
$$;
CREATE FUNCTION codeliver_manager_org_ids() RETURNS uuid[] LANGUAGE sql STABLE AS $$
  SELECT coalesce(nullif(current_setting('codeliver.manager_org_ids', true), ''), '{}')::uuid[]
$$;
CREATE FUNCTION codeliver_user_id() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT nullif(current_setting('codeliver.user_id', true), '')::uuid
$$;
CREATE FUNCTION codeliver_is_platform_admin() RETURNS boolean LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('codeliver.platform_admin', true), '') = 'on'
$$;

-- Open invitations for the caller's verified e-mail become memberships. SECURITY DEFINER
-- because the invitations are not visible to the invitee; it acts only for the caller.
CREATE FUNCTION codeliver_claim_invitations(p_email text) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  WITH claimed AS (
    UPDATE invitations SET claimed_at = now(), claimed_by = codeliver_user_id()
     WHERE email = lower(p_email) AND claimed_at IS NULL AND codeliver_user_id() IS NOT NULL
    RETURNING org_id, role, invited_by)
  INSERT INTO memberships (org_id, user_id, role, created_by)
  SELECT org_id, codeliver_user_id(), role, invited_by FROM claimed
  ON CONFLICT DO NOTHING
$$;
REVOKE ALL ON FUNCTION codeliver_claim_invitations(text) FROM PUBLIC;

-- One round trip per request: resolve (or provision) the user for a verified token, claim
-- invitations for a verified e-mail, set the tenant context, return the memberships.
-- SECURITY INVOKER: every statement inside is itself subject to row-level security.
CREATE FUNCTION codeliver_login(p_issuer text, p_subject text, p_email text, p_name text)
RETURNS TABLE (user_id uuid, display_name text, email text, is_platform_admin boolean,
               memberships jsonb)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
  u users%ROWTYPE;
  orgs uuid[];
  active uuid[];
  staff uuid[];
  managers uuid[];
BEGIN
  PERFORM set_config('codeliver.issuer', p_issuer, true);
  PERFORM set_config('codeliver.subject', p_subject, true);
  SELECT * INTO u FROM users WHERE users.issuer = p_issuer AND users.subject = p_subject;
  IF NOT FOUND THEN
    INSERT INTO users (issuer, subject, email, display_name)
    VALUES (p_issuer, p_subject, lower(p_email), p_name)
    ON CONFLICT (issuer, subject) DO NOTHING
    RETURNING * INTO u;
    IF u.id IS NULL THEN  -- a concurrent first sign-in won the insert
      SELECT * INTO u FROM users WHERE users.issuer = p_issuer AND users.subject = p_subject;
    END IF;
  END IF;
  PERFORM set_config('codeliver.user_id', u.id::text, true);
  IF p_email IS NOT NULL THEN
    IF u.email IS DISTINCT FROM lower(p_email) THEN
      UPDATE users SET email = lower(p_email) WHERE users.id = u.id;
      u.email := lower(p_email);
    END IF;
    PERFORM codeliver_claim_invitations(p_email);
  END IF;
  PERFORM set_config('codeliver.platform_admin',
                     CASE WHEN u.is_platform_admin THEN 'on' ELSE 'off' END, true);
  SELECT array_agg(DISTINCT m.org_id),
         array_agg(DISTINCT m.org_id) FILTER (WHERE m.status = 'approved'),
         array_agg(DISTINCT m.org_id) FILTER (WHERE m.role <> 'volunteer'
                                                AND m.status = 'approved'),
         array_agg(DISTINCT m.org_id) FILTER (WHERE m.role IN ('coordinator', 'org_admin')
                                                AND m.status = 'approved')
    INTO orgs, active, staff, managers
    FROM memberships m WHERE m.user_id = u.id;
  PERFORM set_config('codeliver.org_ids', coalesce(orgs, '{}')::text, true);
  PERFORM set_config('codeliver.active_org_ids', coalesce(active, '{}')::text, true);
  PERFORM set_config('codeliver.staff_org_ids', coalesce(staff, '{}')::text, true);
  PERFORM set_config('codeliver.manager_org_ids', coalesce(managers, '{}')::text, true);
  RETURN QUERY SELECT u.id, u.display_name, u.email, u.is_platform_admin,
    coalesce((SELECT jsonb_agg(jsonb_build_object('org_id', m.org_id, 'role', m.role,
                                                  'status', m.status)
                               ORDER BY m.org_id, m.role)
                FROM memberships m WHERE m.user_id = u.id), '[]'::jsonb);
END $$;
"""

ADMIN = "codeliver_is_platform_admin()"
STAFF = f"org_id = ANY (codeliver_staff_org_ids()) OR {ADMIN}"
MANAGER = f"org_id = ANY (codeliver_manager_org_ids()) OR {ADMIN}"

POLICIES = f"""
ALTER TABLE organisations ENABLE ROW LEVEL SECURITY;
CREATE POLICY organisations_read ON organisations FOR SELECT
  USING (id = ANY (codeliver_org_ids()) OR {ADMIN});
CREATE POLICY organisations_create ON organisations FOR INSERT WITH CHECK ({ADMIN});
CREATE POLICY organisations_update ON organisations FOR UPDATE
  USING (id = ANY (codeliver_manager_org_ids()) OR {ADMIN});

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_read ON users FOR SELECT USING (
  id = codeliver_user_id()
  OR (issuer = current_setting('codeliver.issuer', true)
      AND subject = current_setting('codeliver.subject', true))
  OR {ADMIN}
  OR EXISTS (SELECT 1 FROM memberships m
              WHERE m.user_id = users.id AND m.org_id = ANY (codeliver_staff_org_ids())));
CREATE POLICY users_provision ON users FOR INSERT WITH CHECK (
  issuer = current_setting('codeliver.issuer', true)
  AND subject = current_setting('codeliver.subject', true)
  AND NOT is_platform_admin);
CREATE POLICY users_update_self ON users FOR UPDATE
  USING (id = codeliver_user_id()) WITH CHECK (id = codeliver_user_id());

ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY memberships_read ON memberships FOR SELECT
  USING (user_id = codeliver_user_id() OR {STAFF});
CREATE POLICY memberships_manage ON memberships FOR ALL
  USING ({MANAGER}) WITH CHECK ({MANAGER});

ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
CREATE POLICY invitations_read ON invitations FOR SELECT USING ({STAFF});
CREATE POLICY invitations_manage ON invitations FOR ALL
  USING ({MANAGER}) WITH CHECK ({MANAGER});

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_log_read ON audit_log FOR SELECT USING ({STAFF});
CREATE POLICY audit_log_append ON audit_log FOR INSERT WITH CHECK (
  actor_user_id = codeliver_user_id()
  AND (org_id IS NULL OR org_id = ANY (codeliver_org_ids()) OR {ADMIN}));
"""

# Column grants keep privileges out of reach even of a query the policies would allow:
# the app can never write is_platform_admin, and the audit log is append-only.
GRANTS = f"""
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RW_ROLE}') THEN
    CREATE ROLE {RW_ROLE} NOLOGIN;
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO {RW_ROLE};
GRANT SELECT ON users TO {RW_ROLE};
GRANT INSERT (issuer, subject, email, display_name) ON users TO {RW_ROLE};
GRANT UPDATE (email, display_name) ON users TO {RW_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON organisations, memberships, invitations TO {RW_ROLE};
GRANT SELECT, INSERT ON audit_log TO {RW_ROLE};
GRANT SELECT ON alembic_version TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_claim_invitations(text) TO {RW_ROLE};
"""


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "organisations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("time_zone", sa.Text(), server_default="Europe/London", nullable=False),
        sa.Column("vetting_recheck_months", sa.SmallInteger(), server_default="36", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('council', 'nhs_trust', 'charity', 'other')",
            name=op.f("ck_organisations_kind"),
        ),
        sa.CheckConstraint(
            "slug ~ '^[a-z0-9](-?[a-z0-9])*$'", name=op.f("ck_organisations_slug_format")
        ),
        sa.CheckConstraint(
            "vetting_recheck_months BETWEEN 1 AND 120", name=op.f("ck_organisations_recheck_months")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organisations_slug")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("issuer", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column(
            "is_platform_admin", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("issuer", "subject", name="uq_users_issuer_subject"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("org_id", sa.UUID(), nullable=True),
        sa.Column("actor_user_id", sa.UUID(), nullable=True),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject_type", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_audit_log_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index("ix_audit_log_org_at", "audit_log", ["org_id", "at"], unique=False)
    op.create_index(
        "ix_audit_log_subject", "audit_log", ["subject_type", "subject_id"], unique=False
    )
    op.create_table(
        "invitations",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=True),
        sa.Column("invited_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.UUID(), nullable=True),
        sa.CheckConstraint(
            "role IN ('volunteer', 'caseworker', 'coordinator', 'org_admin')",
            name=op.f("ck_invitations_role"),
        ),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_invitations_email_lower")),
        sa.ForeignKeyConstraint(
            ["claimed_by"],
            ["users.id"],
            name=op.f("fk_invitations_claimed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["invited_by"],
            ["users.id"],
            name=op.f("fk_invitations_invited_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_invitations_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitations")),
    )
    op.create_index(
        "ix_invitations_email_open",
        "invitations",
        ["email"],
        unique=False,
        postgresql_where=sa.text("claimed_at IS NULL"),
    )
    op.create_index(
        "ix_invitations_open",
        "invitations",
        ["org_id", "email", "role"],
        unique=True,
        postgresql_where=sa.text("claimed_at IS NULL"),
    )
    op.create_table(
        "memberships",
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default="approved", nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status_changed_by", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "role IN ('volunteer', 'caseworker', 'coordinator', 'org_admin')",
            name=op.f("ck_memberships_role"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'approved', 'suspended')", name=op.f("ck_memberships_status")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_memberships_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_memberships_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["status_changed_by"],
            ["users.id"],
            name=op.f("fk_memberships_status_changed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memberships_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("org_id", "user_id", "role", name=op.f("pk_memberships")),
    )
    op.create_index(op.f("ix_memberships_user_id"), "memberships", ["user_id"], unique=False)
    for script in (CONTEXT, POLICIES, GRANTS):
        for statement in sql_statements(script):
            op.execute(statement)


def downgrade() -> None:
    for fn in ("codeliver_login(text, text, text, text)", "codeliver_claim_invitations(text)"):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    for table in ("audit_log", "invitations", "memberships", "users", "organisations"):
        op.drop_table(table)
    for fn in (
        "org_ids",
        "active_org_ids",
        "staff_org_ids",
        "manager_org_ids",
        "user_id",
        "is_platform_admin",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS codeliver_{fn}()")
