"""A volunteer's own data rights: reading the audit rows about them, erasure, retention.

- `audit_log_about_me`: a volunteer reads the audit rows whose subject is themselves (who
  read or changed their record, and when), for their subject-access export.
- `organisations.safeguarding_retention_months`: how long the organisation keeps what must
  outlive a volunteer's erasure (their DBS check records, past assignments, no-shows and
  exclusions), counted from the erasure; 72 months (six years) unless set.
- `users.erased_at`: when the person erased themselves; the row stays as the pseudonym the
  kept records point at, with no name, e-mail or sign-in identity.
- `codeliver_erase_me(at)`: the writes of an erasure that the volunteer's own policies do
  not allow, for the caller only: leave every organisation they volunteer for, drop the
  staff's notes on their checks and their reasons for declining, drop their messages and
  reply codes, and strip the user row (so the identity provider's account no longer signs
  in to it). Refused for anyone holding a staff
  role: staff accounts are closed by their organisation.

Revision ID: 0027_volunteer_rights
Revises: 0025_staff_digest
Create Date: 2026-12-07 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.migrations.sql import sql_statements

revision = "0027_volunteer_rights"
down_revision = "0025_staff_digest"
branch_labels = None
depends_on = None

RW_ROLE = "codeliver_rw"

SQL = f"""
CREATE POLICY audit_log_about_me ON audit_log FOR SELECT
  USING (subject_type = 'volunteer' AND subject_id = codeliver_user_id()::text);

CREATE FUNCTION codeliver_erase_me(at timestamptz) RETURNS void
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
  me uuid := codeliver_user_id();
BEGIN
  IF me IS NULL THEN
    RAISE EXCEPTION 'erasure needs a signed-in caller' USING ERRCODE = 'insufficient_privilege';
  END IF;
  IF EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = me AND m.role <> 'volunteer') THEN
    RAISE EXCEPTION 'staff accounts are closed by their organisation'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  DELETE FROM memberships WHERE user_id = me AND role = 'volunteer';
  UPDATE vetting_checks SET notes = NULL WHERE user_id = me AND notes IS NOT NULL;
  UPDATE offers SET decline_reason = NULL WHERE volunteer_id = me AND decline_reason IS NOT NULL;
  DELETE FROM reply_codes WHERE volunteer_id = me;
  DELETE FROM outbox WHERE user_id = me;
  DELETE FROM staff_digests WHERE user_id = me;
  UPDATE users SET issuer = 'erased', subject = me::text, email = NULL, display_name = NULL,
                   erased_at = at
   WHERE id = me;
END $$;
REVOKE ALL ON FUNCTION codeliver_erase_me(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION codeliver_erase_me(timestamptz) TO {RW_ROLE};
"""


def upgrade() -> None:
    op.add_column(
        "organisations",
        sa.Column(
            "safeguarding_retention_months", sa.SmallInteger(), server_default="72", nullable=False
        ),
    )
    op.create_check_constraint(
        op.f("ck_organisations_retention_months"),
        "organisations",
        "safeguarding_retention_months BETWEEN 12 AND 1200",
    )
    op.add_column("users", sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
    for statement in sql_statements(SQL):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS codeliver_erase_me(timestamptz)")
    op.execute("DROP POLICY IF EXISTS audit_log_about_me ON audit_log")
    op.drop_column("users", "erased_at")
    op.drop_constraint(op.f("ck_organisations_retention_months"), "organisations", type_="check")
    op.drop_column("organisations", "safeguarding_retention_months")
