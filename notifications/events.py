"""Live events as a websocket client receives them: an outbox row's id (the cursor), kind,
payload and time, read under the recipient's own row-level security; and the frames around
them (heartbeats, the end of a replay)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notifications.tables import outbox

# Never live events: a reminder is for later; a verification code and the answer to a text
# go by text or email only.
NOT_LIVE = ("assignment.reminder", "channel.verify", "sms.reply")


class Event(msgspec.Struct, frozen=True, tag="event", tag_field="type"):
    id: int  # unique; pass the last one seen back as `since` when reconnecting
    kind: str
    payload: dict[str, Any]
    created_at: datetime


class Synced(msgspec.Struct, frozen=True, tag="synced", tag_field="type"):
    """Sent once after the replay of missed events: what follows is live."""

    last_id: int | None
    complete: bool = True  # false: more were missed than replayed; re-sync through the lists


class Heartbeat(msgspec.Struct, frozen=True, tag="heartbeat", tag_field="type"):
    pass


Frame = Event | Synced | Heartbeat
encode = msgspec.json.Encoder().encode

# Reminders are pushes for later, not events of the moment: never on the live channel.
_EVENTS = (
    select(outbox.c.id, outbox.c.kind, outbox.c.payload, outbox.c.created_at)
    .where(outbox.c.kind.not_in(NOT_LIVE))
    .order_by(outbox.c.id)
)


async def _as_recipient(engine: AsyncEngine, user_id: UUID, where: Any, limit: int) -> list[Event]:
    async with engine.begin() as conn:
        # the recipient's own view (policy outbox_own) without a login round trip: the caller
        # already knows who is listening, and nothing else is read in this transaction
        await conn.execute(select(func.set_config("codeliver.user_id", str(user_id), True)))
        rows = await conn.execute(_EVENTS.where(outbox.c.user_id == user_id, where).limit(limit))
        return [Event(r.id, r.kind, r.payload, r.created_at) for r in rows]


async def last_id(conn: AsyncConnection, user_id: UUID) -> int | None:
    """The id of this user's latest live event, in the caller's transaction (its own
    row-level security): the cursor a page rendered now resumes from."""
    stmt = select(func.max(outbox.c.id)).where(
        outbox.c.user_id == user_id, outbox.c.kind.not_in(NOT_LIVE)
    )
    found = await conn.scalar(stmt)
    return int(found) if found is not None else None


async def by_message(
    engine: AsyncEngine, user_id: UUID, message_ids: Sequence[UUID]
) -> list[Event]:
    """The named messages of this user, in id order."""
    return await _as_recipient(
        engine, user_id, outbox.c.message_id.in_(message_ids), len(message_ids)
    )


async def missed(
    engine: AsyncEngine, user_id: UUID, since: int, limit: int, *, late: bool = True
) -> list[Event]:
    """This user's events after the cursor `since`, oldest first, at most `limit`.

    Ids are handed out when rows are written, not when they commit: an event with a lower
    id may commit after the client saw `since`. With `late`, those come too: rows of
    transactions that were still running when the event `since` was written (its
    `sync_xmin`). That may repeat an event the client already has; ids tell them apart."""
    where = outbox.c.id > since
    if late:
        running_then = select(outbox.c.sync_xmin).where(outbox.c.id == since).scalar_subquery()
        where = or_(where, and_(outbox.c.id < since, outbox.c.sync_xid >= running_then))
    return await _as_recipient(engine, user_id, where, limit)
