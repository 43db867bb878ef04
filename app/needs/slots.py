"""Taking and giving back a need's slots: the one place `needs.filled` changes.

Callers hold the need's row lock (`facts.load(..., lock=True)`), so counts cannot race; the
conditional update is a second guard that can only fail on a bug. When a need fills, its
cascade step is due at once: it withdraws the offers still open. When a slot comes back, the
step sends a new wave.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import insert, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import assignments, needs
from app.db.tenancy import Tx
from app.errors import SlotTaken
from app.needs.facts import NeedRow, starts_at
from app.needs.status import FILLABLE, WANTING, NeedStatus, status_after_fill
from notifications.outbox import Kind, Message, enqueue

REMINDER_LEAD = timedelta(hours=2)


async def one_at_a_time(tx: Tx) -> None:
    """Serialise a volunteer's own accepts and claims (different needs lock different rows),
    so two at once cannot both pass the cap and clash checks."""
    await tx.conn.execute(
        text("SELECT pg_advisory_xact_lock(hashtext(:v))"), {"v": str(tx.principal.user_id)}
    )


def has_room(row: NeedRow) -> bool:
    return NeedStatus(row.status) in WANTING and row.filled < row.slots


async def take(
    conn: AsyncConnection, row: NeedRow, volunteer_id: UUID, offer_id: UUID | None, now: datetime
) -> Any:
    """A new assignment on the locked need `row`; SlotTaken (409) when there is no room."""
    if not has_room(row):
        raise SlotTaken(f"all {row.slots} slots of this need are taken")
    assignment = (
        await conn.execute(
            insert(assignments)
            .values(
                org_id=row.org_id,
                need_id=row.id,
                volunteer_id=volunteer_id,
                offer_id=offer_id,
                accepted_at=now,
                updated_at=now,
            )
            .returning(*assignments.c)
        )
    ).one()
    filled = row.filled + 1
    status = status_after_fill(row.slots, filled, NeedStatus(row.status))
    done = await conn.execute(
        update(needs)
        .where(needs.c.id == row.id, needs.c.filled == row.filled)
        .values(
            filled=filled,
            status=status.value,
            status_changed_at=now if status != row.status else needs.c.status_changed_at,
            filled_at=now if filled == row.slots else None,
            next_step_at=now if filled == row.slots else needs.c.next_step_at,
            updated_at=now,
        )
    )
    if done.rowcount != 1:  # pragma: no cover - the row lock makes this unreachable
        raise SlotTaken("the need changed meanwhile")
    remind_at = starts_at(row) - REMINDER_LEAD
    if remind_at > now:  # the dispatcher drops it if the assignment has ended by then
        payload = {"assignment_id": str(assignment.id), "need_id": str(row.id)}
        reminder = Message(
            volunteer_id, Kind.ASSIGNMENT_REMINDER, payload, org_id=row.org_id, not_before=remind_at
        )
        await enqueue(conn, [reminder], now=now)
    return assignment


async def give_back(conn: AsyncConnection, row: NeedRow, now: datetime) -> NeedStatus:
    """One slot of the locked need `row` frees up; the cascade looks for someone new."""
    status = NeedStatus(row.status)
    if status in FILLABLE:
        status = status_after_fill(row.slots, row.filled - 1, status)
    await conn.execute(
        update(needs)
        .where(needs.c.id == row.id)
        .values(
            filled=needs.c.filled - 1,
            status=status.value,
            status_changed_at=now if status != row.status else needs.c.status_changed_at,
            filled_at=None,
            next_step_at=now,
            updated_at=now,
        )
    )
    return status
