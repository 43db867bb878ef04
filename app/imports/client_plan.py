"""What one row of a clients' import does to the client it names: created, updated,
unchanged or refused, and why. Pure: the rows and the clients they match come in as facts,
the verdict goes out; the app applies it (docs/decisions.md, 64).

A row is matched on its external id (the organisation's own client reference) within one
organisation. Only the fields whose columns the file has are compared and written: a
column left out of the file leaves that field as the client's record holds it, a blank
cell in a column the file has clears it (as `null` does in a PATCH).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import astuple, dataclass, fields
from uuid import UUID

from matching.volunteer_import import Verdict

__all__ = ["Verdict"]


@dataclass(frozen=True)
class Record:
    """A client's record as an import reads and writes it (the API's `ClientIn` fields)."""

    name: str
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    uprn: str | None = None
    notes: str | None = None
    safeguarding_flags: tuple[str, ...] = ()
    preferred_language: str | None = None


FIELDS = tuple(f.name for f in fields(Record))
# Record fields as the API names them (`location` is one field, lat and lon together).
WIRE = {"lat": "location", "lon": "location"}


@dataclass(frozen=True)
class Row:
    line: int
    external_id: str
    record: Record
    present: frozenset[str]  # the Record fields the file's columns give


@dataclass(frozen=True)
class Known:
    """A client of the organisation a row names, as the database holds them."""

    client_id: UUID
    external_id: str
    record: Record
    erased: bool


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    line: int
    client_id: UUID | None = None
    changes: tuple[str, ...] = ()  # the API's field names the apply writes
    field: str | None = None  # a refusal's column
    message: str | None = None  # a refusal's reason
    notes: tuple[str, ...] = ()


ERASED = "this client's record was erased: an import does not bring it back"
CHANGED_SINCE_DRY_RUN = "the client changed since the dry run: run a new dry run"


def changed_fields(old: Record | None, new: Record, present: frozenset[str]) -> tuple[str, ...]:
    """The Record fields the apply writes: those present that differ (all present, new)."""
    return tuple(
        name
        for name in FIELDS
        if name in present and (old is None or getattr(old, name) != getattr(new, name))
    )


def wire_names(changed: Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(WIRE.get(name, name) for name in changed))


def decide(row: Row, known: Known | None) -> Decision:
    if known is None:
        changes = wire_names(changed_fields(None, row.record, row.present))
        return Decision(Verdict.CREATED, row.line, changes=(*changes, "external_id"))
    if known.erased:
        return Decision(Verdict.REFUSED, row.line, field="external_id", message=ERASED)
    changes = wire_names(changed_fields(known.record, row.record, row.present))
    verdict = Verdict.UPDATED if changes else Verdict.UNCHANGED
    return Decision(verdict, row.line, known.client_id, changes)


def fingerprint(known: Known | None) -> str:
    """What a dry run saw of the client a row names ("" for nobody yet): the apply refuses
    the row if that has changed since."""
    if known is None:
        return ""
    parts = (known.client_id, known.external_id, astuple(known.record), known.erased)
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def duplicates(rows: Sequence[Row]) -> dict[int, tuple[str, int]]:
    """Rows that repeat an earlier row's external id: line -> (column, first line)."""
    seen: dict[str, int] = {}
    repeated: dict[int, tuple[str, int]] = {}
    for row in rows:
        if row.external_id in seen:
            repeated[row.line] = ("external_id", seen[row.external_id])
        else:
            seen[row.external_id] = row.line
    return repeated


def plan(
    rows: Sequence[Row],
    known: Mapping[str, Known],
    repeated: Mapping[int, tuple[str, int]],
    expected: Mapping[int, str] | None = None,
) -> list[Decision]:
    """Every row's decision. `repeated` is `duplicates` of the whole file; `expected`, when
    applying what a dry run showed, is that dry run's fingerprint per line."""
    decisions = []
    for row in rows:
        found = known.get(row.external_id)
        if row.line in repeated:
            column, first = repeated[row.line]
            decisions.append(
                Decision(Verdict.REFUSED, row.line, field=column, message=f"repeats line {first}")
            )
        elif expected is not None and fingerprint(found) != expected.get(row.line, ""):
            decisions.append(
                Decision(Verdict.REFUSED, row.line, field="row", message=CHANGED_SINCE_DRY_RUN)
            )
        else:
            decisions.append(decide(row, found))
    return decisions
