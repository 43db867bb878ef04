"""Vetting that stays current: the worker's `vetting-reminders` job.

Before a volunteer's current DBS check with an organisation lapses, they are reminded by
their own channels (`vetting.lapsing`, REMINDER_DAYS before, once each), and every week
the organisation's coordinators hear how many checks lapse within 30 days and how many
lapsed in the week before (`vetting.summary`; nothing when both are 0). Once a check has
lapsed, matching stops offering the volunteer work that needs it that day
(`matching/vetting.py: Vetting.meets`); the coordinator sees it in the summary and on the
volunteer's record. What was sent is recorded in the transaction that enqueues it
(`vetting_reminders`, `vetting_summaries`), first writer wins: two workers send each once.
The rules (`reminder_due`, `summary_week`) are pure, in matching/vetting.py.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.clock import clock_of
from matching.vetting import (
    LAPSED_DAYS,
    REMINDER_DAYS,
    days_left,
    lapsed_lately,
    lapsing,
    reminder_due,
    summary_week,
)
from notifications.outbox import Kind, Message, coordinators, enqueue

# Each approved volunteer's current check (their latest with the organisation) lapsing
# within the reminders' reach or lately, by the expiry index; the organisation's local day
# and time; the reminders sent for it. The bounds are a day wider than any time zone.
_CHECKS = text("""
SELECT c.id, c.org_id, c.user_id, c.expires_on,
       (CAST(:now AS timestamptz) AT TIME ZONE g.time_zone) AS local_now,
       coalesce((SELECT array_agg(r.days) FROM vetting_reminders r WHERE r.check_id = c.id),
                '{}') AS sent
  FROM vetting_checks c
  JOIN organisations g ON g.id = c.org_id
  JOIN memberships m ON m.org_id = c.org_id AND m.user_id = c.user_id
   AND m.role = 'volunteer' AND m.status = 'approved'
 WHERE c.level <> 'none' AND c.expires_on BETWEEN :lo AND :hi
   AND NOT EXISTS (SELECT 1 FROM vetting_checks n
                    WHERE n.org_id = c.org_id AND n.user_id = c.user_id
                      AND n.recorded_at > c.recorded_at)
""")
_REMINDED = text("""
INSERT INTO vetting_reminders (check_id, days, sent_at) VALUES (:check, :days, :now)
ON CONFLICT DO NOTHING RETURNING check_id
""")
_SUMMARISED = text("""
INSERT INTO vetting_summaries (org_id, week, sent_at) VALUES (:org, :week, :now)
ON CONFLICT DO NOTHING RETURNING org_id
""")


async def send_due(engine: AsyncEngine) -> int:
    """The worker's job, in one transaction: the reminders and summaries due now; how many
    messages it enqueued."""
    now = clock_of(engine).now()
    today = now.date()
    window = {
        "lo": today - timedelta(days=LAPSED_DAYS + 1),
        "hi": today + timedelta(days=max(REMINDER_DAYS) + 1),
    }
    async with engine.begin() as conn:
        rows = list((await conn.execute(_CHECKS, {"now": now} | window)).all())
        messages = await _reminders(conn, rows, now)
        messages += await _summaries(conn, rows, now)
        await enqueue(conn, messages, now=now)
    return len(messages)


async def _reminders(conn: AsyncConnection, rows: list[Any], now: datetime) -> list[Message]:
    messages = []
    for r in rows:
        days = reminder_due(r.expires_on, r.local_now.date(), frozenset(r.sent))
        if days is None:
            continue
        params = {"check": r.id, "days": days, "now": now}
        if await conn.scalar(_REMINDED, params) is None:
            continue  # another worker sent it
        payload = {"org_id": str(r.org_id), "expires_on": r.expires_on.isoformat(), "days": days}
        messages.append(
            Message(
                r.user_id,
                Kind.VETTING_LAPSING,
                payload,
                org_id=r.org_id,
                collapse_key=f"vetting.lapsing:{r.org_id}",
            )
        )
    return messages


async def _summaries(conn: AsyncConnection, rows: list[Any], now: datetime) -> list[Message]:
    counts: dict[UUID, list[int]] = defaultdict(lambda: [0, 0])
    local: dict[UUID, datetime] = {}
    for r in rows:
        left = days_left(r.expires_on, r.local_now.date())
        counts[r.org_id][0] += lapsing(left)
        counts[r.org_id][1] += lapsed_lately(left)
        local[r.org_id] = r.local_now
    messages = []
    for org_id, (soon, lately) in counts.items():
        week = summary_week(local[org_id])
        if week is None or not (soon or lately):
            continue
        if await conn.scalar(_SUMMARISED, {"org": org_id, "week": week, "now": now}) is None:
            continue
        payload = {
            "org_id": str(org_id),
            "lapsing": soon,
            "lapsed": lately,
            "week": week.isoformat(),
        }
        key = f"vetting.summary:{org_id}"
        messages += [
            Message(user, Kind.VETTING_SUMMARY, payload, org_id=org_id, collapse_key=key)
            for user in await coordinators(conn, org_id)
        ]
    return messages
