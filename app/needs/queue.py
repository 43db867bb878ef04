"""The caseworker's work queue: the needs of their organisations that want a person now
(matching/attention.py decides which and in what order; this loads the facts)."""

from __future__ import annotations

import msgspec
from sqlalchemy import func, or_, select

from app.db.tables import needs
from app.db.tenancy import Tx
from app.identity.principal import STAFF
from app.needs.schemas import Need
from app.needs.service import audited
from matching.attention import SOON, Attention, NeedFacts, attention, order
from matching.status import WANTING, NeedStatus


class Queued(msgspec.Struct, kw_only=True):
    """A need that wants a person now, and why: its offers ran out (`escalated`), or it
    starts within 24 hours with slots to fill (`starts_soon`)."""

    why: Attention
    need: Need


class WorkQueue(msgspec.Struct, kw_only=True):
    """Escalated needs first, oldest escalation first; then those starting soonest."""

    items: list[Queued]
    more: bool  # more needs want a person than `limit`: narrow by programme, or ask more


def _facts(need: Need) -> NeedFacts:
    return NeedFacts(
        status=NeedStatus(need.status),
        slots=need.slots,
        filled=need.filled,
        starts_at=min(w.start for w in need.windows),
        escalated_at=need.escalated_at,
    )


async def work_queue(tx: Tx, *, limit: int, reason: str | None) -> tuple[list[Queued], bool]:
    """Up to `limit` needs in the queue's order, and whether there are more. The query
    narrows to what `attention` could queue (an index-friendly superset); it decides."""
    starts = func.lower(needs.c.windows)
    stmt = (
        select(needs)
        .where(
            needs.c.org_id.in_(tx.principal.orgs_with(*STAFF)),
            needs.c.status.in_([s.value for s in WANTING]),
            needs.c.filled < needs.c.slots,
            starts > tx.now,
            or_(needs.c.escalated_at.isnot(None), starts < tx.now + SOON),
        )
        .order_by(needs.c.escalated_at.is_(None), starts, needs.c.id)
        .limit(limit + 1)
    )
    rows = list((await tx.conn.execute(stmt)).all())
    queued = []
    for need in await audited(tx, rows[:limit], reason):
        why = attention(_facts(need), tx.now)
        if why is not None:
            queued.append(Queued(why=why, need=need))
    queued.sort(key=lambda q: order(_facts(q.need), q.why))
    return queued, len(rows) > limit
