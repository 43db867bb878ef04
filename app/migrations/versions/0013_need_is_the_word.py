"""One word per idea: what a caseworker posts is a need, in the database as in the API.

Renames the `tasks` table to `needs` and every column, constraint, index, policy and trigger
named after it, and rewrites the three functions whose SQL bodies named it (function bodies are
text, so a table rename does not reach them).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

COLUMNS = {"offers": "task_id", "assignments": "task_id"}
CONSTRAINTS = {
    "tasks": (
        "pk_tasks",
        "ck_tasks_location_by_mode",
        "ck_tasks_dispatch",
        "ck_tasks_min_vetting",
        "ck_tasks_mode",
        "ck_tasks_status",
        "ck_tasks_urgency",
        "ck_tasks_has_windows",
        "ck_tasks_duration",
        "ck_tasks_slots",
        "fk_tasks_client_id_clients",
        "fk_tasks_continuity_volunteer_id_users",
        "fk_tasks_created_by_users",
        "fk_tasks_org_id_organisations",
        "fk_tasks_programme_id_programmes",
    ),
    "offers": ("uq_offers_task_volunteer", "fk_offers_task_id_tasks"),
    "assignments": ("uq_assignments_task_volunteer", "fk_assignments_task_id_tasks"),
}
INDEXES = (
    "idx_tasks_coarse_location",
    "idx_tasks_location",
    "ix_tasks_client",
    "ix_tasks_org_created",
    "ix_tasks_org_status",
    "ix_tasks_series",
    "ix_tasks_windows",
    "ix_tasks_next_step",
    "ix_offers_task_status",
    "ix_assignments_task",
)
POLICIES = ("tasks_staff", "tasks_volunteer_read", "tasks_volunteer_fill", "tasks_open_calls_read")
TRIGGERS = ("tasks_volunteer_write_limits",)
FUNCTIONS = (
    "codeliver_volunteer_load",
    "codeliver_volunteer_record",
    "codeliver_volunteer_write_limits",
)


def _to_need(name: str) -> str:
    return name.replace("tasks", "needs").replace("task", "need")


def _rename(forward: bool) -> None:
    old, new = ("tasks", "needs") if forward else ("needs", "tasks")

    def name(n: str) -> str:  # names above are the old ones
        return _to_need(n) if forward else n

    def was(n: str) -> str:
        return n if forward else _to_need(n)

    op.execute(f"ALTER TABLE {old} RENAME TO {new}")
    for table, column in COLUMNS.items():
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {was(column)} TO {name(column)}")
    for table, constraints in CONSTRAINTS.items():
        for c in constraints:
            op.execute(f"ALTER TABLE {name(table)} RENAME CONSTRAINT {was(c)} TO {name(c)}")
    for index in INDEXES:
        op.execute(f"ALTER INDEX {was(index)} RENAME TO {name(index)}")
    for policy in POLICIES:
        op.execute(f"ALTER POLICY {was(policy)} ON {new} RENAME TO {name(policy)}")
    for trigger in TRIGGERS:
        op.execute(f"ALTER TRIGGER {was(trigger)} ON {new} RENAME TO {name(trigger)}")
    # Function bodies keep the names they were written with: rewrite them from the catalogue.
    pairs = [("tasks", "needs"), ("task_id", "need_id")]
    for function in FUNCTIONS:
        definition = op.get_bind().exec_driver_sql(
            f"SELECT pg_get_functiondef('{function}'::regproc)"
        )
        body = str(definition.scalar_one())
        for a, b in pairs:
            body = body.replace(a, b) if forward else body.replace(b, a)
        op.execute(body)


def upgrade() -> None:
    _rename(forward=True)


def downgrade() -> None:
    _rename(forward=False)
