"""Use cases for clients: staff of the client's organisation only, and every read of the
personal data is written to the audit log in the same transaction as the read itself."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import insert, select, tuple_, update

from app import audit
from app.clients.schemas import (
    AuditEntry,
    Client,
    ClientExport,
    ClientIn,
    ClientPatch,
    ErasureIn,
    SafeguardingFlag,
)
from app.db.rows import AnyRow
from app.db.tables import audit_log, clients, users
from app.db.tenancy import Tx
from app.errors import Conflict, Forbidden, InvalidInput, NotFound
from app.identity.principal import STAFF
from app.locations import Location
from app.needs import service as needs_service
from app.pagination import decode_cursor, page_of
from geo.privacy import coarsen_location

SUBJECT = "client"
DEFAULT_REASON = "case management"
ERASED_NAME = "Erased client"
_TRIMMED = ("name", "phone", "email", "address")


def _client(row: AnyRow) -> Client:
    fields = {str(k): v for k, v in row._mapping.items()}
    if fields["location"] is not None:
        fields["location"] = Location.from_geography(fields["location"])
    return msgspec.convert(fields, Client)


def unique_flags(flags: list[SafeguardingFlag]) -> list[str]:
    if len(set(flags)) != len(flags):
        raise InvalidInput.field("safeguarding_flags", "each flag may appear only once")
    return [flag.value for flag in flags]


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    """Wire fields that were sent, as column values: trimmed text, a geography point."""
    values = {k: v for k, v in fields.items() if v is not msgspec.UNSET and k != "org_id"}
    for key in _TRIMMED:
        if isinstance(values.get(key), str):
            values[key] = values[key].strip()
    if isinstance(values.get("location"), Location):
        values["location"] = values["location"].to_geography()
    if "safeguarding_flags" in values:
        values["safeguarding_flags"] = unique_flags(values["safeguarding_flags"])
    return values


def _require_staff(tx: Tx) -> None:
    """Volunteers never read client records (a later issue gives an assigned volunteer a
    narrow view of its own). Checked before any lookup, so the answer says nothing about ids."""
    p = tx.principal
    if p.platform_admin or any(m.role in STAFF and m.status == "approved" for m in p.memberships):
        return
    raise Forbidden(f"Requires one of: {', '.join(sorted(STAFF))}")


async def _row(tx: Tx, client_id: UUID, *, lock: bool = False) -> Any:
    _require_staff(tx)
    stmt = select(clients).where(clients.c.id == client_id)
    if lock:  # a concurrent change or erasure waits, then sees this one's result
        stmt = stmt.with_for_update()
    row = (await tx.conn.execute(stmt)).one_or_none()
    if row is None:  # row-level security hides other organisations' clients
        raise NotFound("Client not found")
    tx.principal.require_role(row.org_id, *STAFF)
    return row


async def _audit_reads(tx: Tx, read: Sequence[Client], reason: str | None) -> None:
    """One audit row per client whose personal data is returned, in one statement."""
    await audit.record_client_reads(tx, ((c.id, c.org_id) for c in read), reason, DEFAULT_REASON)


async def create(tx: Tx, data: ClientIn) -> Client:
    org_id = tx.principal.acting_org(data.org_id, *STAFF)
    values = _columns(msgspec.structs.asdict(data))
    stmt = (
        insert(clients)
        .values(**values, org_id=org_id, created_by=tx.principal.user_id)
        .returning(*clients.c)
    )
    row = (await tx.conn.execute(stmt)).one()
    await audit.record(tx, "client.created", SUBJECT, row.id, org_id=org_id)
    return _client(row)


async def org_of(tx: Tx, client_id: UUID) -> UUID:
    """The client's organisation, for staff of it (404 otherwise)."""
    org_id: UUID = (await _row(tx, client_id)).org_id
    return org_id


async def get(tx: Tx, client_id: UUID, *, reason: str | None) -> Client:
    client = _client(await _row(tx, client_id))
    await _audit_reads(tx, [client], reason)
    return client


async def list_clients(
    tx: Tx,
    *,
    org_id: UUID | None,
    include_erased: bool,
    limit: int,
    cursor: str | None,
    reason: str | None,
    name: str | None = None,
) -> tuple[list[Client], str | None]:
    """A page of clients, oldest first; `name`: only those whose name contains it (any case)."""
    _require_staff(tx)
    key = tuple_(clients.c.created_at, clients.c.id)
    stmt = select(clients).order_by(*key.clauses).limit(limit + 1)
    if name:
        escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(clients.c.name.ilike(f"%{escaped}%", escape="\\"))
    if org_id is not None:
        stmt = stmt.where(clients.c.org_id == org_id)
    if not include_erased:
        stmt = stmt.where(clients.c.erased_at.is_(None))
    if cursor:
        at, last_id, _ = decode_cursor(cursor)
        stmt = stmt.where(key > tuple_(at, last_id))
    rows = (await tx.conn.execute(stmt)).all()
    items, next_cursor = page_of(
        [_client(r) for r in rows], limit, key=lambda c: (c.created_at, c.id)
    )
    await _audit_reads(tx, items, reason)
    return items, next_cursor


async def update_client(
    tx: Tx, client_id: UUID, patch: ClientPatch, *, reason: str | None
) -> Client:
    current = await _row(tx, client_id, lock=True)
    changes = _columns(msgspec.structs.asdict(patch))
    if not changes:
        raise InvalidInput.field("body", "nothing to change")
    if current.erased_at is not None:
        raise Conflict("This client has been erased")
    stmt = (
        update(clients)
        .where(clients.c.id == client_id)
        .values(**changes, updated_at=tx.now)
        .returning(*clients.c)
    )
    client = _client((await tx.conn.execute(stmt)).one())
    # Field names only: the audit log must never become a second copy of the personal data.
    await audit.record(
        tx,
        "client.updated",
        SUBJECT,
        client_id,
        org_id=current.org_id,
        details={"fields": sorted(changes)},
    )
    await _audit_reads(tx, [client], reason)
    return client


def _coarse(location: Any) -> Any:
    """The centre of the ~500 m cell holding the point: area statistics survive erasure."""
    if location is None:
        return None
    exact = Location.from_geography(location)
    lat, lon = coarsen_location(exact.lat, exact.lon)
    return Location(lat=lat, lon=lon).to_geography()


async def erase(tx: Tx, client_id: UUID, data: ErasureIn) -> Client:
    """Anonymise in place (the row stays for statistics and the audit trail's subject)."""
    current = await _row(tx, client_id, lock=True)
    if current.erased_at is not None:
        raise Conflict("This client has already been erased")
    stmt = (
        update(clients)
        .where(clients.c.id == client_id)
        .values(
            name=ERASED_NAME,
            phone=None,
            email=None,
            address=None,
            uprn=None,
            notes=None,
            safeguarding_flags=[],
            preferred_language=None,
            external_id=None,  # the organisation's reference names the person too
            location=_coarse(current.location),
            erased_at=tx.now,
            updated_at=tx.now,
        )
        .returning(*clients.c)
    )
    row = (await tx.conn.execute(stmt)).one()
    await needs_service.erase_client_details(tx, client_id)
    await audit.record(
        tx, "client.erased", SUBJECT, client_id, org_id=current.org_id, reason=data.reason.strip()
    )
    return _client(row)


async def export(tx: Tx, client_id: UUID, *, reason: str | None) -> ClientExport:
    """A subject-access export. The export is itself a read, so it lists its own entry."""
    client = await get(tx, client_id, reason=reason)
    stmt = (
        select(
            audit_log.c.action,
            users.c.display_name.label("actor"),
            audit_log.c.at,
            audit_log.c.reason,
        )
        .select_from(audit_log.outerjoin(users, users.c.id == audit_log.c.actor_user_id))
        .where(
            audit_log.c.org_id == client.org_id,
            audit_log.c.subject_type == SUBJECT,
            audit_log.c.subject_id == str(client_id),
        )
        .order_by(audit_log.c.at, audit_log.c.id)
    )
    rows = (await tx.conn.execute(stmt)).all()
    return ClientExport(client=client, audit=[AuditEntry(**r._mapping) for r in rows])
