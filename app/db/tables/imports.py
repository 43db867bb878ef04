"""Bulk imports of volunteers (0021): a dry run kept until it is applied."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, DateTime, Integer, LargeBinary, Table, Text, text
from sqlalchemy.dialects.postgresql import JSONB

from app.db.tables.base import created_at, id_column, metadata, org_id_column, user_ref

# The file is kept between its dry run and its apply (the page applies what it showed), then
# dropped: `content` is NULL once applied. `expected` holds, per line, the fingerprint of the
# volunteer the dry run compared the row with, so the apply refuses a row whose volunteer
# changed meanwhile instead of overwriting the change.
volunteer_imports = Table(
    "volunteer_imports",
    metadata,
    id_column(),
    org_id_column(),
    Column("file_sha256", Text, nullable=False),
    Column("file_name", Text),
    Column("content", LargeBinary),
    Column("rows", Integer, nullable=False),
    Column("verdicts", JSONB, nullable=False),
    Column("expected", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("status", Text, nullable=False, server_default="dry_run"),
    Column("applied_rows", Integer, nullable=False, server_default="0"),
    Column("applied", JSONB),
    Column("applied_at", DateTime(timezone=True)),
    user_ref("applied_by"),
    user_ref("created_by"),
    created_at(),
    Column("kind", Text, nullable=False, server_default="volunteers"),  # or clients (0035)
    CheckConstraint("status IN ('dry_run', 'applying', 'applied', 'failed')", name="status"),
    CheckConstraint("kind IN ('volunteers', 'clients')", name="kind"),
)
