"""The audit trail: who did or read what, in the same transaction as the act itself."""

from __future__ import annotations

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
