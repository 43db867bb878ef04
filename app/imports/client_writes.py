"""A clients' import against the database, in the caller's transaction: the clients its
rows name (locked when applying), and one batch's writes, a few statements over the whole
batch, audited as the API audits creating and changing a client."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import and_, bindparam, insert, select, update

from app.db.rows import AnyRow
from app.db.tables import audit_log, clients
from app.db.tenancy import Tx
from app.imports.client_plan import Decision, Known, Record, Row, Verdict
from app.locations import Location

LOOKUP_CHUNK = 5_000  # external ids per statement (a dry run looks the whole file up)


def _record(r: AnyRow) -> Record:
    place = Location.from_geography(r.location) if r.location is not None else None
    return Record(
        name=r.name,
        phone=r.phone,
        email=r.email,
        address=r.address,
        lat=place.lat if place else None,
        lon=place.lon if place else None,
        uprn=r.uprn,
        notes=r.notes,
        safeguarding_flags=tuple(r.safeguarding_flags),
        preferred_language=r.preferred_language,
    )


async def known(
    tx: Tx, org_id: UUID, rows: Sequence[Row], *, lock: bool = False
) -> dict[str, Known]:
    """The organisation's clients the rows' external ids name (row-level security applies:
    another organisation's clients are never seen). With `lock`, they stay locked until the
    transaction ends, so an edit through the API waits for the batch, or the batch for it."""
    found: dict[str, Known] = {}
    for start in range(0, len(rows), LOOKUP_CHUNK):
        ids = [r.external_id for r in rows[start : start + LOOKUP_CHUNK]]
        stmt = select(clients).where(clients.c.org_id == org_id, clients.c.external_id.in_(ids))
        for r in (await tx.conn.execute(stmt.with_for_update() if lock else stmt)).all():
            found[r.external_id] = Known(r.id, r.external_id, _record(r), r.erased_at is not None)
    return found


def _values(record: Record, present: frozenset[str]) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: getattr(record, name)
        for name in ("name", "phone", "email", "address", "uprn", "notes", "preferred_language")
        if name == "name" or name in present
    }
    if "safeguarding_flags" in present:
        values["safeguarding_flags"] = list(record.safeguarding_flags)
    if "lat" in present:
        has_point = record.lat is not None and record.lon is not None
        point = Location(lat=record.lat, lon=record.lon) if has_point else None  # type: ignore[arg-type]
        values["location"] = point.to_geography() if point else None
    return values


async def _audit(tx: Tx, org_id: UUID, done: Sequence[Decision]) -> None:
    """`client.created` / `client.updated` (with the fields' names, never their values), as
    the API writes them, one statement for the batch."""
    rows = [
        {
            "org_id": org_id,
            "actor_user_id": tx.principal.user_id,
            "action": "client.created" if d.verdict is Verdict.CREATED else "client.updated",
            "subject_type": "client",
            "subject_id": str(d.client_id),
            "details": {"via": "import"}
            if d.verdict is Verdict.CREATED
            else {"fields": sorted(d.changes), "via": "import"},
        }
        for d in done
        if d.verdict in (Verdict.CREATED, Verdict.UPDATED)
    ]
    if rows:
        await tx.conn.execute(insert(audit_log).values(rows))


async def apply_batch(
    tx: Tx, org_id: UUID, rows: Sequence[Row], decisions: Sequence[Decision]
) -> list[Decision]:
    """Writes what the decisions say; returns them with the new clients' ids."""
    by_line = {r.line: r for r in rows}
    created = [by_line[d.line] for d in decisions if d.verdict is Verdict.CREATED]
    new_ids: dict[str, UUID] = {}
    if created:
        values = [
            {
                **_values(r.record, r.present),
                "org_id": org_id,
                "external_id": r.external_id,
                "created_by": tx.principal.user_id,
            }
            for r in created
        ]
        stmt = insert(clients).returning(clients.c.id, clients.c.external_id)
        new_ids = {x: i for i, x in (await tx.conn.execute(stmt, values)).all()}
    done = [
        Decision(d.verdict, d.line, new_ids[by_line[d.line].external_id], d.changes)
        if d.verdict is Verdict.CREATED
        else d
        for d in decisions
    ]
    updated = [(d, by_line[d.line]) for d in done if d.verdict is Verdict.UPDATED]
    if updated:
        # Bound as v_<column>: SQLAlchemy keeps a column's own name for its SET clause.
        values = [
            {"cid": d.client_id} | {f"v_{k}": v for k, v in _values(r.record, r.present).items()}
            for d, r in updated
        ]
        names = [k.removeprefix("v_") for k in values[0] if k != "cid"]
        await tx.conn.execute(
            update(clients)
            .where(and_(clients.c.id == bindparam("cid"), clients.c.org_id == org_id))
            .values({n: bindparam(f"v_{n}") for n in names} | {"updated_at": tx.now}),
            values,
        )
    await _audit(tx, org_id, done)
    return done
