"""Coverage snapshots per scope: one organisation, or the set of organisations one member of
staff works across, so multi-organisation staff read a snapshot too (issue 13, part 5).

A snapshot was keyed by its organisation, and a map over several organisations was computed
on the spot every time (5-7 s at 1M volunteers). Summing the organisations' snapshots would
count a volunteer approved in two of them twice, so a set of organisations has a snapshot
of its own, computed over all of them at once. `scope_id` names the set
(app/coverage/supply.py: scope_id), `org_ids` lists it; staff read a snapshot when they are
staff of every organisation in it. The rows are caches: emptied here, the worker recomputes
them within `coverage_refresh_s`.

Revision ID: 0020_coverage_scopes
Revises: 0018_notify_channels
Create Date: 2026-12-03 18:40:00
"""

from __future__ import annotations

from alembic import op

from app.migrations.sql import sql_statements

revision = "0020_coverage_scopes"
down_revision = "0018_notify_channels"
branch_labels = None
depends_on = None

STAFF = "org_id = ANY (codeliver_staff_org_ids()) OR codeliver_is_platform_admin()"
EVERY = "org_ids <@ codeliver_staff_org_ids() OR codeliver_is_platform_admin()"
CHILDREN = ("coverage_supply", "coverage_need_supply")

UP = f"""
DELETE FROM coverage_need_supply;
DELETE FROM coverage_supply;
DELETE FROM coverage_snapshots;
DROP POLICY coverage_snapshots_read ON coverage_snapshots;
DROP POLICY coverage_supply_read ON coverage_supply;
DROP POLICY coverage_need_supply_read ON coverage_need_supply;
ALTER TABLE coverage_supply DROP CONSTRAINT fk_coverage_supply_org_id_organisations;
ALTER TABLE coverage_need_supply DROP CONSTRAINT fk_coverage_need_supply_org_id_organisations;
ALTER TABLE coverage_snapshots DROP CONSTRAINT fk_coverage_snapshots_org_id_organisations;
ALTER TABLE coverage_snapshots RENAME COLUMN org_id TO scope_id;
ALTER TABLE coverage_supply RENAME COLUMN org_id TO scope_id;
ALTER TABLE coverage_need_supply RENAME COLUMN org_id TO scope_id;
ALTER TABLE coverage_snapshots ADD COLUMN org_ids uuid[] NOT NULL;
ALTER TABLE coverage_supply ADD CONSTRAINT fk_coverage_supply_scope_id_coverage_snapshots
  FOREIGN KEY (scope_id) REFERENCES coverage_snapshots (scope_id) ON DELETE CASCADE;
ALTER TABLE coverage_need_supply
  ADD CONSTRAINT fk_coverage_need_supply_scope_id_coverage_snapshots
  FOREIGN KEY (scope_id) REFERENCES coverage_snapshots (scope_id) ON DELETE CASCADE;
CREATE POLICY coverage_snapshots_read ON coverage_snapshots FOR SELECT USING ({EVERY});
""" + "".join(
    f"""
CREATE POLICY {t}_read ON {t} FOR SELECT
  USING (EXISTS (SELECT 1 FROM coverage_snapshots s WHERE s.scope_id = {t}.scope_id));
"""
    for t in CHILDREN
)

DOWN = """
DELETE FROM coverage_need_supply;
DELETE FROM coverage_supply;
DELETE FROM coverage_snapshots;
DROP POLICY coverage_snapshots_read ON coverage_snapshots;
DROP POLICY coverage_supply_read ON coverage_supply;
DROP POLICY coverage_need_supply_read ON coverage_need_supply;
ALTER TABLE coverage_supply DROP CONSTRAINT fk_coverage_supply_scope_id_coverage_snapshots;
ALTER TABLE coverage_need_supply
  DROP CONSTRAINT fk_coverage_need_supply_scope_id_coverage_snapshots;
ALTER TABLE coverage_snapshots DROP COLUMN org_ids;
""" + "".join(
    f"""
ALTER TABLE {t} RENAME COLUMN scope_id TO org_id;
ALTER TABLE {t} ADD CONSTRAINT fk_{t}_org_id_organisations
  FOREIGN KEY (org_id) REFERENCES organisations (id) ON DELETE CASCADE;
CREATE POLICY {t}_read ON {t} FOR SELECT USING ({STAFF});
"""
    for t in ("coverage_snapshots", *CHILDREN)
)


def upgrade() -> None:
    for statement in sql_statements(UP):
        op.execute(statement)


def downgrade() -> None:
    for statement in sql_statements(DOWN):
        op.execute(statement)
