"""Wire shapes of volunteers' imports: per-row verdicts, and an import's progress."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from matching.volunteer_import import Verdict


class RowError(msgspec.Struct, kw_only=True):
    field: str  # the file's column (or `row`)
    message: str


class RowResult(msgspec.Struct, kw_only=True):
    line: int  # the line of the file, counting the header as line 1
    verdict: Verdict
    user_id: UUID | None = None  # a volunteers' import's
    client_id: UUID | None = None  # a clients' import's
    changes: list[str] = msgspec.field(default_factory=list)
    errors: list[RowError] = msgspec.field(default_factory=list)
    notes: list[str] = msgspec.field(default_factory=list)


class Counts(msgspec.Struct, kw_only=True):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0


class ImportReport(msgspec.Struct, kw_only=True):
    """A dry run (what applying the file would do) or an apply (what it did), row by row."""

    id: UUID | None  # a kept dry run, to apply; none for a command line's run
    org_id: UUID
    file_sha256: str
    status: str  # dry_run | applied
    rows: int
    counts: Counts
    results: list[RowResult]


class ImportStatus(msgspec.Struct, kw_only=True):
    """An import as it stands: its dry run's counts and, while applying, how far it got."""

    id: UUID
    org_id: UUID
    file_name: str | None
    file_sha256: str
    status: str  # dry_run | applying | applied | failed
    rows: int
    dry_run: Counts
    applied_rows: int
    applied: Counts | None
    created_at: datetime
    applied_at: datetime | None
