"""Bulk import of volunteers (issue 16, part 1): external ids, the DBS Update Service, people
brought in before they ever sign in, and the imports themselves.

An imported volunteer has no account yet, so the import provisions a user of its own issuer
(`codeliver:import`, subject `<org id>:<e-mail>`): one per organisation and e-mail, so two
organisations importing the same person learn nothing of each other. Only a manager of the
organisation may provision such users (`codeliver_import_people`), and they may write the
profile of those users only (`codeliver_imported_here` in the volunteers' policies: a
volunteer who signed up keeps their own profile); memberships and vetting checks go
through the policies every coordinator's action meets. `codeliver_import_known` reads the
volunteers a file names.

Revision ID: 0021_volunteer_import
Revises: 0020_coverage_scopes
Create Date: 2026-12-04 03:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from app.migrations.sql import sql_statements

revision = "0021_volunteer_import"
down_revision = "0020_coverage_scopes"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"
MANAGER = "org_id = ANY (codeliver_manager_org_ids()) OR codeliver_is_platform_admin()"
IMPORTED_HERE = "codeliver_imported_here(user_id)"

# The volunteers of an organisation its rows name, for a coordinator of it (the same rows
# its staff may read), locked with `p_lock`. SECURITY DEFINER because under users' and
# volunteers' row-level security the planner hashes every visible membership once it
# expects a few hundred rows (185 ms per statement at 50,000 volunteers, and seconds
# while the statistics lag behind a growing table): the check is made here, once.
# Statistics lag behind tables an import is filling (autovacuum analyses once a minute at
# most): planned on them, these lookups went from index scans to scans of every row
# (seconds per batch). SET enable_seqscan = off keeps them on their indexes.
KNOWN = """
-- Whether a user is one an import brought into an organisation the caller manages.
CREATE FUNCTION codeliver_imported_here(p_user uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
  SELECT EXISTS (SELECT 1 FROM users u
                  WHERE u.id = p_user AND u.issuer = 'codeliver:import'
                    AND split_part(u.subject, ':', 1) = ANY (codeliver_manager_org_ids()::text[]))
$$;
REVOKE ALL ON FUNCTION codeliver_imported_here(uuid) FROM PUBLIC;

-- People an import brings into an organisation the caller manages: one user of the import's
-- issuer per organisation and e-mail (made if missing); e-mail -> user id.
CREATE FUNCTION codeliver_import_people(p_org uuid, p_emails text[], p_names text[])
RETURNS TABLE (email text, user_id uuid)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
SET enable_seqscan = off AS $$
#variable_conflict use_column
BEGIN
  IF NOT (p_org = ANY (codeliver_manager_org_ids()) OR codeliver_is_platform_admin()) THEN
    RETURN;
  END IF;
  INSERT INTO users (issuer, subject, email, display_name)
  SELECT 'codeliver:import', p_org || ':' || e.email, e.email, e.name
    FROM unnest(p_emails, p_names) AS e(email, name)
  ON CONFLICT (issuer, subject) DO NOTHING;
  RETURN QUERY
    SELECT u.email, u.id FROM users u
     WHERE u.issuer = 'codeliver:import'
       AND u.subject = ANY (SELECT p_org || ':' || e FROM unnest(p_emails) e);
END $$;
REVOKE ALL ON FUNCTION codeliver_import_people(uuid, text[], text[]) FROM PUBLIC;

-- Fresh statistics for the tables an import fills, from its own transaction every 10,000
-- rows: planned on statistics that still describe a table a tenth the size, the lookups
-- read every membership of the organisation per batch (the 50,000-row import took 113 s
-- when autovacuum came late). The app's login may not ANALYZE; a manager may ask for it.
CREATE FUNCTION codeliver_import_analyze() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
  IF cardinality(codeliver_manager_org_ids()) = 0 AND NOT codeliver_is_platform_admin() THEN
    RETURN;
  END IF;
  ANALYZE users, memberships, volunteers, vetting_checks;
END $$;
REVOKE ALL ON FUNCTION codeliver_import_analyze() FROM PUBLIC;

CREATE FUNCTION codeliver_import_known(p_org uuid, p_emails text[], p_ids text[], p_lock boolean)
RETURNS TABLE (user_id uuid, external_id text, email text, issuer text, display_name text,
               home geography, max_travel_km double precision, travel_mode text,
               skills text[], languages text[], max_hours_per_week smallint,
               max_active_assignments smallint, preferred_kinds text[],
               quiet_hours_start time, quiet_hours_end time, time_zone text, level text,
               checked_on date, id_verified boolean, barred_children boolean,
               barred_adults boolean, update_service boolean)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
SET enable_seqscan = off AS $$
#variable_conflict use_column
DECLARE
  v_ids uuid[];
BEGIN
  IF NOT (p_org = ANY (codeliver_manager_org_ids()) OR codeliver_is_platform_admin()) THEN
    RETURN;
  END IF;
  SELECT array_agg(DISTINCT h.user_id) INTO v_ids FROM (
    SELECT m.user_id FROM users u JOIN memberships m ON m.user_id = u.id
     WHERE u.email = ANY (p_emails) AND m.org_id = p_org AND m.role = 'volunteer'
    UNION ALL
    SELECT m.user_id FROM memberships m
     WHERE m.org_id = p_org AND m.role = 'volunteer' AND m.external_id = ANY (p_ids)) h;
  IF v_ids IS NULL THEN
    RETURN;
  END IF;
  IF p_lock THEN
    PERFORM 1 FROM memberships m
     WHERE m.org_id = p_org AND m.role = 'volunteer' AND m.user_id = ANY (v_ids)
     ORDER BY m.user_id FOR UPDATE;
  END IF;
  RETURN QUERY
    SELECT m.user_id, m.external_id, u.email, u.issuer, v.display_name, v.home,
           v.max_travel_km, v.travel_mode, v.skills, v.languages, v.max_hours_per_week,
           v.max_active_assignments, v.preferred_kinds, v.quiet_hours_start,
           v.quiet_hours_end, v.time_zone, c.level, c.checked_on, c.id_verified,
           c.barred_children, c.barred_adults, c.update_service
      FROM memberships m
      JOIN users u ON u.id = m.user_id
      LEFT JOIN volunteers v ON v.user_id = m.user_id
      LEFT JOIN LATERAL (
        SELECT vc.level, vc.checked_on, vc.id_verified, vc.barred_children,
               vc.barred_adults, vc.update_service
          FROM vetting_checks vc
         WHERE vc.org_id = p_org AND vc.user_id = m.user_id
         ORDER BY vc.recorded_at DESC, vc.id DESC LIMIT 1) c ON true
     WHERE m.org_id = p_org AND m.role = 'volunteer' AND m.user_id = ANY (v_ids);
END $$;
REVOKE ALL ON FUNCTION codeliver_import_known(uuid, text[], text[], boolean) FROM PUBLIC;
"""

UP = (
    KNOWN
    + f"""
CREATE POLICY volunteers_import_create ON volunteers FOR INSERT WITH CHECK ({IMPORTED_HERE});
CREATE POLICY volunteers_import_update ON volunteers FOR UPDATE
  USING ({IMPORTED_HERE}) WITH CHECK ({IMPORTED_HERE});
ALTER TABLE volunteer_imports ENABLE ROW LEVEL SECURITY;
CREATE POLICY volunteer_imports_manage ON volunteer_imports FOR ALL
  USING ({MANAGER}) WITH CHECK ({MANAGER});
GRANT SELECT, INSERT, UPDATE ON volunteer_imports TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_import_known(uuid, text[], text[], boolean) TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_import_people(uuid, text[], text[]) TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_imported_here(uuid) TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_import_analyze() TO {RW_ROLE};
"""
)

DOWN = """
DROP FUNCTION IF EXISTS codeliver_import_known(uuid, text[], text[], boolean);
DROP POLICY IF EXISTS volunteers_import_update ON volunteers;
DROP POLICY IF EXISTS volunteers_import_create ON volunteers;
DROP FUNCTION IF EXISTS codeliver_import_people(uuid, text[], text[]);
DROP FUNCTION IF EXISTS codeliver_imported_here(uuid);
DROP FUNCTION IF EXISTS codeliver_import_analyze();
"""


def upgrade() -> None:
    op.add_column("memberships", sa.Column("external_id", sa.Text(), nullable=True))
    op.create_index(
        "ix_memberships_external_id",
        "memberships",
        ["org_id", "external_id"],
        unique=True,
        postgresql_where=sa.text("external_id IS NOT NULL"),
    )
    # Rows are matched on e-mail within the organisation: found through the users.
    op.create_index("ix_users_email", "users", ["email"])
    op.add_column(
        "vetting_checks",
        sa.Column("update_service", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_table(
        "volunteer_imports",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("file_sha256", sa.Text(), nullable=False),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("verdicts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "expected",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("status", sa.Text(), server_default="dry_run", nullable=False),
        sa.Column("applied_rows", sa.Integer(), server_default="0", nullable=False),
        sa.Column("applied", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("applied_by", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.UUID(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('dry_run', 'applying', 'applied', 'failed')",
            name=op.f("ck_volunteer_imports_status"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_volunteer_imports_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["applied_by"],
            ["users.id"],
            name=op.f("fk_volunteer_imports_applied_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_volunteer_imports_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volunteer_imports")),
    )
    for statement in sql_statements(UP):
        op.execute(statement)


def downgrade() -> None:
    for statement in sql_statements(DOWN):
        op.execute(statement)
    op.drop_table("volunteer_imports")
    op.drop_column("vetting_checks", "update_service")
    op.drop_index("ix_users_email", table_name="users")
    op.drop_index("ix_memberships_external_id", table_name="memberships")
    op.drop_column("memberships", "external_id")
