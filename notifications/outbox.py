"""The transactional outbox: a notification is a row written in the transaction of the change
that causes it, so a committed offer is never lost and a rolled-back one is never sent.

Payloads carry ids, a kind and a short summary only: never a client's name, contact,
address or exact location (they travel to phones through third parties).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

import msgspec
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from notifications.tables import memberships, outbox


class Kind(StrEnum):
    # to volunteers
    OFFER_CREATED = "offer.created"
    OFFER_WITHDRAWN = "offer.withdrawn"  # the need filled, was cancelled or changed
    OFFER_EXPIRED = "offer.expired"
    ASSIGNMENT_CONFIRMED = "assignment.confirmed"
    ASSIGNMENT_CANCELLED = "assignment.cancelled"  # the need was cancelled
    ASSIGNMENT_RELEASED = "assignment.released"  # stale claim released
    ASSIGNMENT_REMINDER = "assignment.reminder"  # before the start; dropped if it ended
    VETTING_LAPSING = "vetting.lapsing"  # their DBS check lapses soon: time to renew it
    # to caseworkers and coordinators
    NEED_CLAIMED = "need.claimed"
    NEED_FILLED = "need.filled"
    NEED_VOLUNTEER_LEFT = "need.volunteer_left"  # withdrew, no-show or released
    NEED_ESCALATED = "need.escalated"
    NEED_COMPLETED = "need.completed"
    NEED_OFFERED = "need.offered"  # a wave of offers went out (live only)
    NEED_CHECKED_IN = "need.checked_in"  # a volunteer arrived (live only)
    # to coordinators
    COVERAGE_GAP_ALERT = "coverage.gap_alert"  # an area's unfilled demand outlasted its delay
    VETTING_SUMMARY = "vetting.summary"  # weekly: checks lapsing soon or lapsed, counted
    # to staff who chose it: once a day, the counts of what was held for it
    STAFF_DIGEST = "staff.digest"


class TextKind(StrEnum):
    """Messages by text or email only: never a push, never a live event."""

    CHANNEL_VERIFY = "channel.verify"  # a one-time code, by the text or email it verifies
    SMS_REPLY = "sms.reply"  # the answer to a text a volunteer sent us


# Events of the moment for a caseworker watching a need's page, not worth a phone's buzz:
# written already sent (on the live channel), so the dispatcher never pushes them.
LIVE_ONLY = frozenset({Kind.NEED_OFFERED, Kind.NEED_CHECKED_IN})
LIVE = "live"  # their channel, as /metrics counts them


@dataclass(frozen=True, slots=True)
class Message:
    user_id: UUID
    kind: Kind | TextKind
    payload: dict[str, Any]
    org_id: UUID | None = None
    collapse_key: str | None = None
    urgent: bool = False
    expires_at: datetime | None = None
    not_before: datetime | None = None  # deliver no earlier (a reminder)


# LISTEN/NOTIFY channel of the live events (notifications/live.py): each notice lists the
# (user id, message id) pairs a transaction enqueued. PostgreSQL delivers a notice only when
# its transaction commits, so a rolled-back change publishes nothing.
CHANNEL = "codeliver_events"
PAIRS_PER_NOTICE = 80  # ~6 KB of JSON: under NOTIFY's 8,000-byte payload limit


def _row(message: Message, now: datetime) -> dict[str, Any]:
    return {
        # chosen here rather than by the database: the enqueuer may not read back the rows
        # it writes for others (row-level security), yet the notice must name them
        "message_id": uuid4(),
        "org_id": message.org_id,
        "user_id": message.user_id,
        "kind": message.kind.value,
        "payload": {"kind": message.kind.value, **message.payload},
        "collapse_key": message.collapse_key,
        "urgent": message.urgent,
        "expires_at": message.expires_at,
        "next_attempt_at": message.not_before or now,
        # every row names the same columns: one INSERT for them all
        **(
            {"status": "sent", "sent_at": now, "channel": LIVE}
            if message.kind in LIVE_ONLY
            else {"status": "pending", "sent_at": None, "channel": None}
        ),
    }


async def enqueue(conn: AsyncConnection, messages: Iterable[Message], *, now: datetime) -> int:
    """Write the messages in the caller's transaction, due from `now` (its instant) unless
    they say later; returns how many."""
    rows = [_row(m, now) for m in messages]
    if rows:
        # inline(): no implicit RETURNING of the id, which only the recipient may read
        await conn.execute(insert(outbox).inline(), rows)
        for notice in _notices(rows):
            await conn.execute(select(func.pg_notify(CHANNEL, notice)))
    return len(rows)


def _notices(rows: list[dict[str, Any]]) -> Iterator[str]:
    """`{"m": [[user_id, message_id], ...]}`, one notice per PAIRS_PER_NOTICE messages."""
    pairs = [[str(r["user_id"]), str(r["message_id"])] for r in rows]
    for start in range(0, len(pairs), PAIRS_PER_NOTICE):
        yield msgspec.json.encode({"m": pairs[start : start + PAIRS_PER_NOTICE]}).decode()


async def coordinators(conn: AsyncConnection, org_id: UUID) -> Sequence[UUID]:
    """An organisation's approved coordinators and admins: who hears about stalled needs."""
    stmt = (
        select(memberships.c.user_id)
        .distinct()
        .where(
            memberships.c.org_id == org_id,
            memberships.c.role.in_(("coordinator", "org_admin")),
            memberships.c.status == "approved",
        )
    )
    return list((await conn.execute(stmt)).scalars())
