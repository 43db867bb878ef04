"""Volunteers, vetting, programmes, skills, availability and devices.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 18:13:24.284309
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

from app.migrations.sql import sql_statements

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"
SKILLS_TABLE = sa.table("skills", sa.column("code", sa.Text), sa.column("label", sa.Text))
PLATFORM_SKILLS = [
    ("shopping", "Shopping and essentials"),
    ("prescription_collection", "Collecting prescriptions"),
    ("driving", "Driving (own car)"),
    ("escort_to_appointment", "Accompanying to appointments"),
    ("befriending", "Befriending (in person)"),
    ("telephone_befriending", "Telephone befriending"),
    ("dog_walking", "Dog walking"),
    ("gardening", "Gardening"),
    ("diy", "Small household repairs"),
    ("cooking", "Cooking and meal drop-off"),
    ("digital_help", "Help with phones, tablets and online services"),
    ("form_filling", "Help with letters and forms"),
    ("interpreting", "Interpreting"),
    ("mentoring", "Mentoring"),
    ("family_support", "Family support and home visits"),
    ("youth_work", "Working with young people"),
    ("first_aid", "First aid certificate"),
    ("mental_health_first_aid", "Mental health first aid"),
    ("wheelchair_assistance", "Wheelchair and mobility assistance"),
    ("manual_handling", "Lifting and carrying"),
    ("expert_review", "Expert review (co-production)"),
    ("workshop_participation", "Workshop participation (co-design)"),
    ("data_classification", "Classifying content (co-production)"),
]

# Volunteer profiles and availability are personal data: the volunteer and the staff of
# organisations they serve may read them, fellow volunteers may not.
SQL = f"""
-- A volunteer joins an organisation by its slug: pending until a coordinator approves.
CREATE FUNCTION codeliver_enrol_volunteer(p_slug text) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_org uuid;
  v_user uuid := codeliver_user_id();
BEGIN
  IF v_user IS NULL OR NOT EXISTS (SELECT 1 FROM volunteers WHERE user_id = v_user) THEN
    RETURN NULL;
  END IF;
  SELECT id INTO v_org FROM organisations WHERE slug = p_slug;
  IF v_org IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO memberships (org_id, user_id, role, status, created_by)
  VALUES (v_org, v_user, 'volunteer', 'pending', v_user)
  ON CONFLICT DO NOTHING;
  RETURN v_org;
END $$;
REVOKE ALL ON FUNCTION codeliver_enrol_volunteer(text) FROM PUBLIC;

-- A push token belongs to one device and so to whoever signed in on it last: registering
-- a token another user held moves it (their row is not visible to the caller under RLS).
CREATE FUNCTION codeliver_register_device(p_token text, p_kind text, p_platform text,
                                          p_app_version text) RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  v_user uuid := codeliver_user_id();
  v_id uuid;
BEGIN
  IF v_user IS NULL THEN
    RETURN NULL;
  END IF;
  INSERT INTO devices (user_id, token, token_kind, platform, app_version)
  VALUES (v_user, p_token, p_kind, p_platform, p_app_version)
  ON CONFLICT (token) DO UPDATE
    SET user_id = excluded.user_id, token_kind = excluded.token_kind,
        platform = excluded.platform, app_version = excluded.app_version,
        last_seen_at = now()
  RETURNING id INTO v_id;
  RETURN v_id;
END $$;
REVOKE ALL ON FUNCTION codeliver_register_device(text, text, text, text) FROM PUBLIC;

ALTER TABLE volunteers ENABLE ROW LEVEL SECURITY;
CREATE POLICY volunteers_self ON volunteers FOR ALL
  USING (user_id = codeliver_user_id()) WITH CHECK (user_id = codeliver_user_id());
CREATE POLICY volunteers_staff_read ON volunteers FOR SELECT USING (
  codeliver_is_platform_admin()
  OR EXISTS (SELECT 1 FROM memberships m
              WHERE m.user_id = volunteers.user_id AND m.role = 'volunteer'
                AND m.org_id = ANY (codeliver_staff_org_ids())));

ALTER TABLE volunteer_availability ENABLE ROW LEVEL SECURITY;
CREATE POLICY availability_self ON volunteer_availability FOR ALL
  USING (user_id = codeliver_user_id()) WITH CHECK (user_id = codeliver_user_id());
CREATE POLICY availability_staff_read ON volunteer_availability FOR SELECT USING (
  codeliver_is_platform_admin()
  OR EXISTS (SELECT 1 FROM memberships m
              WHERE m.user_id = volunteer_availability.user_id AND m.role = 'volunteer'
                AND m.org_id = ANY (codeliver_staff_org_ids())));

ALTER TABLE devices ENABLE ROW LEVEL SECURITY;
CREATE POLICY devices_self ON devices FOR ALL
  USING (user_id = codeliver_user_id()) WITH CHECK (user_id = codeliver_user_id());

ALTER TABLE vetting_checks ENABLE ROW LEVEL SECURITY;
CREATE POLICY vetting_read ON vetting_checks FOR SELECT
  USING (user_id = codeliver_user_id() OR org_id = ANY (codeliver_staff_org_ids())
         OR codeliver_is_platform_admin());
CREATE POLICY vetting_record ON vetting_checks FOR INSERT
  WITH CHECK ((org_id = ANY (codeliver_manager_org_ids()) OR codeliver_is_platform_admin())
              AND user_id <> codeliver_user_id());

ALTER TABLE programmes ENABLE ROW LEVEL SECURITY;
CREATE POLICY programmes_read ON programmes FOR SELECT
  USING (org_id = ANY (codeliver_active_org_ids()) OR codeliver_is_platform_admin());
CREATE POLICY programmes_manage ON programmes FOR ALL
  USING (org_id = ANY (codeliver_manager_org_ids()) OR codeliver_is_platform_admin())
  WITH CHECK (org_id = ANY (codeliver_manager_org_ids()) OR codeliver_is_platform_admin());

ALTER TABLE skills ENABLE ROW LEVEL SECURITY;
CREATE POLICY skills_read ON skills FOR SELECT
  USING (org_id IS NULL OR org_id = ANY (codeliver_org_ids()) OR codeliver_is_platform_admin());
CREATE POLICY skills_manage ON skills FOR ALL
  USING (org_id = ANY (codeliver_manager_org_ids()) OR codeliver_is_platform_admin())
  WITH CHECK (org_id = ANY (codeliver_manager_org_ids()) OR codeliver_is_platform_admin());

GRANT SELECT, INSERT, UPDATE, DELETE ON volunteers, volunteer_availability, devices,
  programmes, skills TO {RW_ROLE};
GRANT SELECT, INSERT ON vetting_checks TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_enrol_volunteer(text) TO {RW_ROLE};
GRANT EXECUTE ON FUNCTION codeliver_register_device(text, text, text, text) TO {RW_ROLE};
"""


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("token", sa.Text(), nullable=False),
        sa.Column("token_kind", sa.Text(), nullable=False),
        sa.Column("platform", sa.Text(), nullable=False),
        sa.Column("app_version", sa.Text(), nullable=True),
        sa.Column(
            "last_seen_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "platform IN ('android', 'ios', 'web')", name=op.f("ck_devices_platform")
        ),
        sa.CheckConstraint("token_kind IN ('token', 'fid')", name=op.f("ck_devices_token_kind")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_devices_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("token", name=op.f("uq_devices_token")),
    )
    op.create_index(op.f("ix_devices_user_id"), "devices", ["user_id"], unique=False)
    op.create_table(
        "programmes",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("min_vetting", sa.Text(), server_default="none", nullable=False),
        sa.Column("wave_size", sa.SmallInteger(), server_default="3", nullable=False),
        sa.Column("offer_timeout_s", sa.Integer(), server_default="900", nullable=False),
        sa.Column("alert_cap", sa.SmallInteger(), server_default="12", nullable=False),
        sa.Column("max_waves", sa.SmallInteger(), server_default="4", nullable=False),
        sa.Column("checkin_radius_m", sa.Integer(), server_default="250", nullable=False),
        sa.Column("stale_claim_timeout_s", sa.Integer(), server_default="86400", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('community_support', 'family_intervention', 'co_production', 'co_design', 'other')",
            name=op.f("ck_programmes_kind"),
        ),
        sa.CheckConstraint(
            "min_vetting IN ('none', 'basic', 'standard', 'enhanced', 'enhanced_children', 'enhanced_adults', 'enhanced_both')",
            name=op.f("ck_programmes_min_vetting"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_programmes_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programmes")),
        sa.UniqueConstraint("org_id", "name", name="uq_programmes_org_name"),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=True),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("code ~ '^[a-z][a-z0-9_]{1,47}$'", name=op.f("ck_skills_code_format")),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_skills_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
        sa.UniqueConstraint(
            "org_id", "code", name="uq_skills_org_code", postgresql_nulls_not_distinct=True
        ),
    )
    op.create_table(
        "vetting_checks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("org_id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("level", sa.Text(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.Column("id_verified", sa.Boolean(), nullable=False),
        sa.Column("barred_children", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("barred_adults", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.UUID(), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "level = 'none' OR (checked_on IS NOT NULL AND expires_on > checked_on)",
            name=op.f("ck_vetting_checks_dated"),
        ),
        sa.CheckConstraint(
            "level IN ('none', 'basic', 'standard', 'enhanced', 'enhanced_children', 'enhanced_adults', 'enhanced_both')",
            name=op.f("ck_vetting_checks_level"),
        ),
        sa.ForeignKeyConstraint(
            ["org_id"],
            ["organisations.id"],
            name=op.f("fk_vetting_checks_org_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["users.id"],
            name=op.f("fk_vetting_checks_recorded_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_vetting_checks_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vetting_checks")),
    )
    op.create_index(
        "ix_vetting_checks_current",
        "vetting_checks",
        ["org_id", "user_id", sa.literal_column("recorded_at DESC")],
        unique=False,
    )
    op.create_geospatial_table(
        "volunteers",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column(
            "home",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("max_travel_km", sa.Float(), nullable=False),
        sa.Column("travel_mode", sa.Text(), nullable=False),
        sa.Column("skills", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("max_hours_per_week", sa.SmallInteger(), nullable=False),
        sa.Column("max_active_assignments", sa.SmallInteger(), nullable=False),
        sa.Column(
            "preferred_kinds", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("quiet_hours_start", sa.Time(), nullable=True),
        sa.Column("quiet_hours_end", sa.Time(), nullable=True),
        sa.Column("time_zone", sa.Text(), server_default="Europe/London", nullable=False),
        sa.Column(
            "availability",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("on_duty", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("on_duty_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "live_location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("live_location_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "travel_mode IN ('walk', 'cycle', 'public_transport', 'car')",
            name=op.f("ck_volunteers_travel_mode"),
        ),
        sa.CheckConstraint(
            "max_active_assignments BETWEEN 1 AND 20", name=op.f("ck_volunteers_assignments")
        ),
        sa.CheckConstraint("max_hours_per_week BETWEEN 1 AND 80", name=op.f("ck_volunteers_hours")),
        sa.CheckConstraint(
            "max_travel_km > 0 AND max_travel_km <= 200", name=op.f("ck_volunteers_travel_range")
        ),
        sa.CheckConstraint(
            "on_duty OR live_location IS NULL", name=op.f("ck_volunteers_location_only_on_duty")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_volunteers_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_volunteers")),
    )
    op.create_geospatial_index(
        "idx_volunteers_home",
        "volunteers",
        ["home"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_geospatial_index(
        "idx_volunteers_live_location",
        "volunteers",
        ["live_location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_table(
        "volunteer_availability",
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("span", postgresql.TSTZRANGE(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["volunteers.user_id"],
            name=op.f("fk_volunteer_availability_user_id_volunteers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "span", name=op.f("pk_volunteer_availability")),
    )
    op.create_index(
        "ix_volunteer_availability_span",
        "volunteer_availability",
        ["span"],
        unique=False,
        postgresql_using="gist",
    )
    for statement in sql_statements(SQL):
        op.execute(statement)
    op.bulk_insert(
        SKILLS_TABLE, [{"code": code, "label": label} for code, label in PLATFORM_SKILLS]
    )


def downgrade() -> None:
    for fn in (
        "codeliver_enrol_volunteer(text)",
        "codeliver_register_device(text, text, text, text)",
    ):
        op.execute(f"DROP FUNCTION IF EXISTS {fn}")
    for table in (
        "volunteer_availability",
        "volunteers",
        "vetting_checks",
        "skills",
        "programmes",
        "devices",
    ):
        op.drop_table(table)
