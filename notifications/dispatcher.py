"""The push dispatcher: leases due outbox rows, sends them, records what happened.

Leasing is one statement (`FOR UPDATE SKIP LOCKED`): any number of workers share the outbox.
A lease is a token plus an expiry; `next_attempt_at` moves to the expiry too, so a worker
that dies mid-batch loses its rows to the next worker when the lease lapses, and they are
sent again with the same message id and collapse key for the app to de-duplicate. Every
later write is guarded by the lease token: a stale worker cannot overwrite newer state.

Retries back off exponentially with full jitter, at least a minute after a 429, and no
sooner than Retry-After on a 503; after `max_attempts` a row is dead-lettered. Dead tokens
are deleted as FCM reports them. Non-urgent pushes wait for the end of quiet hours.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from notifications.fcm import (
    BATCH,
    DROP_DEVICE,
    RETRY,
    Outcome,
    Push,
    Result,
    Transport,
)
from notifications.payloads import data_for
from notifications.quiet import quiet_until
from notifications.tables import devices, outbox

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Policy:
    batch: int = BATCH
    lease: timedelta = timedelta(seconds=60)
    max_attempts: int = 8
    base_backoff: timedelta = timedelta(seconds=2)
    max_backoff: timedelta = timedelta(hours=1)
    quota_backoff: timedelta = timedelta(seconds=60)


def backoff(attempt: int, outcome: Outcome | None, policy: Policy, rng: random.Random) -> timedelta:
    """How long before attempt `attempt + 1`: full jitter over an exponential ceiling, but
    never less than FCM asked for (Retry-After) or a minute after a quota error."""
    ceiling: timedelta = min(policy.max_backoff, policy.base_backoff * (2 ** max(0, attempt - 1)))
    wait: timedelta = ceiling * rng.random()
    if outcome is not None and outcome.result is Result.QUOTA:
        wait = max(wait, policy.quota_backoff)
    if outcome is not None and outcome.retry_after_s is not None:
        wait = max(wait, timedelta(seconds=outcome.retry_after_s))
    return wait


_LEASE = text("""
UPDATE outbox SET lease_token = :token, lease_expires_at = CAST(:now AS timestamptz) + :lease,
                  next_attempt_at = CAST(:now AS timestamptz) + :lease, attempts = attempts + 1
 WHERE id IN (SELECT id FROM outbox
               WHERE status = 'pending' AND next_attempt_at <= :now
               ORDER BY next_attempt_at, id LIMIT :batch FOR UPDATE SKIP LOCKED)
RETURNING id, message_id, user_id, kind, payload, collapse_key, urgent, expires_at, attempts
""")

REMINDER = "assignment.reminder"
_ACTIVE = text(
    "SELECT id::text FROM assignments WHERE id::text = ANY (CAST(:ids AS text[]))"
    " AND status IN ('accepted', 'checked_in')"
)

_RECIPIENTS = text("""
SELECT u.id AS user_id, v.quiet_hours_start, v.quiet_hours_end, v.time_zone,
       d.id AS device_id, d.token, d.token_kind, d.platform
  FROM unnest(CAST(:users AS uuid[])) AS u(id)
  LEFT JOIN volunteers v ON v.user_id = u.id
  LEFT JOIN devices d ON d.user_id = u.id
""")


@dataclass(frozen=True)
class Lease:
    token: UUID
    rows: Sequence[Any]
    people: Sequence[Any]
    ended: set[int] = field(default_factory=set)  # reminders of assignments that ended


@dataclass
class _Row:
    lease: Any
    pushes: list[tuple[Push, UUID]] = field(default_factory=list)  # (push, device id)
    outcomes: list[Outcome] = field(default_factory=list)


@dataclass
class Stats:
    leased: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    skipped: int = 0  # nothing left to send: the assignment ended, or quiet hours outlast it
    devices_removed: int = 0

    def add(self, other: Stats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        transport: Transport,
        policy: Policy | None = None,
        rng: random.Random | None = None,
        *,
        clock: Callable[[], datetime],
    ) -> None:
        """`engine` logs in as the system: the outbox and devices of every user. `clock`
        gives the instant each lease and delivery is decided at (app.clock's, composed by
        app.push: this adapter does not read the time itself)."""
        self.engine = engine
        self.clock = clock
        self.transport = transport
        self.policy = policy or Policy()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.total = Stats()

    async def run_once(self) -> Stats:
        """Lease one batch, send it, record the results."""
        lease = await self.lease()
        return Stats() if lease is None else await self.deliver(lease)

    async def lease(self) -> Lease | None:
        token = uuid.uuid4()
        params = {
            "token": token,
            "now": self.clock(),
            "lease": self.policy.lease,
            "batch": self.policy.batch,
        }
        async with self.engine.begin() as conn:
            leased = (await conn.execute(_LEASE, params)).all()
            if not leased:
                return None
            users = list({r.user_id for r in leased})
            people = (await conn.execute(_RECIPIENTS, {"users": users})).all()
            reminded = [r.payload.get("assignment_id") for r in leased if r.kind == REMINDER]
            live = set()
            if reminded:
                live = set((await conn.execute(_ACTIVE, {"ids": reminded})).scalars())
        ended = {
            r.id
            for r in leased
            if r.kind == REMINDER and r.payload.get("assignment_id") not in live
        }
        return Lease(token, leased, people, ended)

    async def deliver(self, lease: Lease) -> Stats:
        now = self.clock()
        stats = Stats(leased=len(lease.rows))
        finished = dict.fromkeys(lease.ended, "assignment ended")
        rows, deferred = self._plan(
            [r for r in lease.rows if r.id not in lease.ended], lease.people, now, finished
        )
        pushes = [(row, p) for row in rows for p in row.pushes]
        for start in range(0, len(pushes), BATCH):
            chunk = pushes[start : start + BATCH]
            outcomes = await self.transport.send([p for _, (p, _d) in chunk], now)
            for (row, _), outcome in zip(chunk, outcomes, strict=True):
                row.outcomes.append(outcome)
        await self._record(lease.token, rows, deferred, finished, stats)
        self.total.add(stats)
        return stats

    def _plan(
        self, leased: Sequence[Any], people: Sequence[Any], now: datetime, finished: dict[int, str]
    ) -> tuple[list[_Row], dict[int, datetime]]:
        """What to send now, what waits for the end of quiet hours; a message that would
        expire before they end (an offer) is finished unsent instead (into `finished`)."""
        by_user: dict[UUID, list[Any]] = defaultdict(list)
        for p in people:
            by_user[p.user_id].append(p)
        rows: list[_Row] = []
        deferred: dict[int, datetime] = {}
        for lease in leased:
            targets = by_user.get(lease.user_id, [])
            until = quiet_until(targets[0], now) if targets and not lease.urgent else None
            if until is not None and lease.expires_at is not None and lease.expires_at <= until:
                finished[lease.id] = "expires during quiet hours"
                continue
            if until is not None:
                deferred[lease.id] = until
                continue
            row = _Row(lease)
            data = data_for(str(lease.message_id), lease.kind, lease.payload)
            for t in targets:
                if t.device_id is not None:
                    push = Push(
                        token=t.token,
                        token_kind=t.token_kind,
                        platform=t.platform,
                        data=data,
                        collapse_key=lease.collapse_key,
                        urgent=lease.urgent,
                        expires_at=lease.expires_at,
                    )
                    row.pushes.append((push, t.device_id))
            rows.append(row)
        return rows, deferred

    async def _record(
        self,
        token: UUID,
        rows: list[_Row],
        deferred: dict[int, datetime],
        finished: dict[int, str],
        stats: Stats,
    ) -> None:
        now = self.clock()  # after sending, as the results came back
        guarded = update(outbox).where(outbox.c.lease_token == token)
        clear = {"lease_token": None, "lease_expires_at": None}
        async with self.engine.begin() as conn:
            for row_id, until in deferred.items():
                await conn.execute(
                    guarded.where(outbox.c.id == row_id).values(
                        **clear, next_attempt_at=until, attempts=outbox.c.attempts - 1
                    )
                )
                stats.deferred += 1
            # Nothing to send any more (and nothing failed): done, with the reason.
            for reason in set(finished.values()):
                ids = [i for i, r in finished.items() if r == reason]
                await conn.execute(
                    guarded.where(outbox.c.id.in_(ids)).values(
                        **clear, status="sent", sent_at=now, last_error=reason
                    )
                )
                stats.skipped += len(ids)
            dead_devices: set[UUID] = set()
            for row in rows:
                dead_devices |= {
                    d
                    for (_, d), o in zip(row.pushes, row.outcomes, strict=True)
                    if o.result in DROP_DEVICE
                }
                values = self._verdict(row, now, stats)
                await conn.execute(
                    guarded.where(outbox.c.id == row.lease.id).values(**clear, **values)
                )
            if dead_devices:
                await conn.execute(delete(devices).where(devices.c.id.in_(dead_devices)))
                stats.devices_removed += len(dead_devices)

    def _verdict(self, row: _Row, now: datetime, stats: Stats) -> dict[str, Any]:
        lease = row.lease
        if not row.pushes:  # nobody's phone to reach: the live channel is enough
            stats.sent += 1
            return {"status": "sent", "sent_at": now, "last_error": "no devices"}
        if any(o.result is Result.OK for o in row.outcomes):
            stats.sent += 1
            return {"status": "sent", "sent_at": now, "last_error": None}
        if all(o.result in DROP_DEVICE for o in row.outcomes):  # uninstalled: not a failure
            stats.sent += 1
            return {"status": "sent", "sent_at": now, "last_error": "no devices left"}
        if lease.expires_at is not None and lease.expires_at <= now:
            stats.dead += 1
            return {"status": "dead", "last_error": "expired before delivery"}
        retryable = [o for o in row.outcomes if o.result in RETRY]
        error = "; ".join(sorted({o.result.value for o in row.outcomes}))
        if retryable and lease.attempts < self.policy.max_attempts:
            stats.retried += 1
            wait = max(backoff(lease.attempts, o, self.policy, self.rng) for o in retryable)
            return {"next_attempt_at": now + wait, "last_error": error}
        stats.dead += 1
        log.warning("push dead-lettered", message_id=str(lease.message_id), error=error)
        return {"status": "dead", "last_error": error}
