"""The audit trail: who did or read what, in the same transaction as the act itself."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import insert

from app.db.tables import audit_log
from app.db.tenancy import Tx


async def record(
    tx: Tx,
    action: str,
    subject_type: str,
    subject_id: UUID | str,
    *,
    org_id: UUID | None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    # inline(): no RETURNING of the new id; writers may not read the log back (volunteers
    # write entries too, and only staff may read them).
    await tx.conn.execute(
        insert(audit_log)
        .inline()
        .values(
            org_id=org_id,
            actor_user_id=tx.principal.user_id,
            action=action,
            subject_type=subject_type,
            subject_id=str(subject_id),
            reason=reason,
            details=details or {},
        )
    )


async def record_client_reads(
    tx: Tx, reads: Iterable[tuple[UUID, UUID]], reason: str | None, default_reason: str
) -> None:
    """One `client.read` row per (client id, organisation id) whose personal data is being
    returned, in one statement: clients themselves, and needs that carry their address."""
    why = (reason or "").strip() or default_reason
    rows = [
        {
            "org_id": org_id,
            "actor_user_id": tx.principal.user_id,
            "action": "client.read",
            "subject_type": "client",
            "subject_id": str(client_id),
            "reason": why,
        }
        for client_id, org_id in dict.fromkeys(reads)
    ]
    if rows:
        await tx.conn.execute(insert(audit_log).values(rows))


async def record_volunteer_reads(
    tx: Tx, reads: Iterable[tuple[UUID, UUID]], reason: str | None, default_reason: str
) -> None:
    """One `volunteer.read` row per (volunteer id, organisation id) whose personal data staff
    are shown (a roster page, a record, candidates and offers by name, members), in one
    statement: as client reads are. A volunteer reading their own record writes none."""
    why = (reason or "").strip() or default_reason
    rows = [
        {
            "org_id": org_id,
            "actor_user_id": tx.principal.user_id,
            "action": "volunteer.read",
            "subject_type": "volunteer",
            "subject_id": str(volunteer_id),
            "reason": why,
        }
        for volunteer_id, org_id in dict.fromkeys(reads)
        if volunteer_id != tx.principal.user_id
    ]
    if rows:
        await tx.conn.execute(insert(audit_log).values(rows))
