"""The staff's daily digest: a caseworker's or coordinator's choice of one message a day
instead of one each (the use cases, under row-level security), and the worker's job that
sends it (as the system, across organisations).

The dispatcher holds their non-urgent staff messages (`outbox.status = 'held'`); at the
chosen local hour the job turns what is held into one `staff.digest` (counts per kind and
the console's work queue; notifications/digest.py decides when and what), in the same
transaction that marks the held rows sent on channel `digest`. The digest row is locked
and its day recorded, so two workers send it once. Turning the digest off sends what is
held at once, as a last digest.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.clock import clock_of
from app.db.rows import AnyRow
from app.db.tables import outbox, staff_digests
from app.db.tenancy import Tx
from app.errors import Forbidden, NotFound
from app.identity.principal import STAFF
from app.notify.schemas import Digest, DigestIn
from app.orgs.service import time_zones
from app.wire import check_time_zone
from notifications import digest
from notifications.outbox import Kind, Message, enqueue

DIGEST_CHANNEL = "digest"  # the held rows' channel once a digest carried them


def _staff(tx: Tx) -> None:
    if not tx.principal.orgs_with(*STAFF):
        raise Forbidden("the daily digest is for staff: caseworkers, coordinators, admins")


async def _out(tx: Tx, row: AnyRow) -> Digest:
    held = await tx.conn.scalar(
        select(func.count())
        .select_from(outbox)
        .where(outbox.c.user_id == tx.principal.user_id, outbox.c.status == "held")
    )
    return Digest(
        hour=row.hour,
        time_zone=row.time_zone,
        last_sent_on=row.last_sent_on,
        next_at=digest.next_at(tx.now, row.time_zone, row.hour, row.last_sent_on),
        held=int(held or 0),
    )


async def _row(tx: Tx) -> AnyRow | None:
    stmt = select(staff_digests).where(staff_digests.c.user_id == tx.principal.user_id)
    return (await tx.conn.execute(stmt)).one_or_none()


async def mine(tx: Tx) -> Digest:
    row = await _row(tx)
    if row is None:
        raise NotFound("no daily digest: every message goes on its own")
    return await _out(tx, row)


async def choose(tx: Tx, data: DigestIn) -> Digest:
    """Hear of one's needs once a day at `hour` local time. The first digest goes at the
    next such hour (not at once); changing the hour keeps the day of the last one."""
    _staff(tx)
    if data.time_zone is not None:
        check_time_zone(data.time_zone)
        zone = data.time_zone
    else:
        shared = set((await time_zones(tx)).values())
        zone = shared.pop() if len(shared) == 1 else "Europe/London"
    first = digest.last_due(tx.now, zone, data.hour)
    stmt = insert(staff_digests).values(
        user_id=tx.principal.user_id, hour=data.hour, time_zone=zone, last_sent_on=first
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id"],
        set_={"hour": data.hour, "time_zone": zone, "updated_at": tx.now},
    )
    await tx.conn.execute(stmt)
    row = await _row(tx)
    assert row is not None
    return await _out(tx, row)


async def stop(tx: Tx) -> None:
    """Back to one message each; what is held goes now, as a last digest (the job's next
    run: it finds held rows with no digest chosen)."""
    done = await tx.conn.execute(
        delete(staff_digests).where(staff_digests.c.user_id == tx.principal.user_id)
    )
    if done.rowcount == 0:
        raise NotFound("no daily digest to stop")


_WAITING = text("""
SELECT DISTINCT o.user_id FROM outbox o WHERE o.status = 'held'
""")
_LOCK = text("""
SELECT hour, time_zone, last_sent_on FROM staff_digests WHERE user_id = :u
   FOR UPDATE
""")
_TAKE = text("""
UPDATE outbox SET status = 'sent', sent_at = :now, channel = :channel, last_error = NULL
 WHERE user_id = :u AND status = 'held'
RETURNING kind, org_id
""")
_SENT = text("UPDATE staff_digests SET last_sent_on = :day, updated_at = :now WHERE user_id = :u")


async def _send(conn: AsyncConnection, user_id: UUID, now: datetime) -> bool:
    """One person's digest, if due: the held rows marked sent and the digest enqueued. A
    second worker waits on the lock, then finds the day recorded (or nothing held)."""
    chosen = (await conn.execute(_LOCK, {"u": user_id})).one_or_none()
    if chosen is not None and not digest.is_due(
        now, chosen.time_zone, chosen.hour, chosen.last_sent_on
    ):
        return False
    taken = (await conn.execute(_TAKE, {"u": user_id, "now": now, "channel": DIGEST_CHANNEL})).all()
    if not taken:
        return False
    orgs = {r.org_id for r in taken}
    message = Message(
        user_id,
        Kind.STAFF_DIGEST,
        {"counts": digest.counts(r.kind for r in taken)},
        org_id=orgs.pop() if len(orgs) == 1 else None,
        collapse_key="staff.digest",
    )
    await enqueue(conn, [message], now=now)
    if chosen is not None:
        day = digest.last_due(now, chosen.time_zone, chosen.hour)
        await conn.execute(_SENT, {"u": user_id, "day": day, "now": now})
    return True


async def send_due(engine: AsyncEngine) -> int:
    """The worker's job: each due digest, one transaction per person; how many went."""
    now = clock_of(engine).now()
    async with engine.connect() as conn:
        waiting = list((await conn.execute(_WAITING)).scalars())
    sent = 0
    for user_id in waiting:
        async with engine.begin() as conn:
            sent += await _send(conn, user_id, now)
    return sent
