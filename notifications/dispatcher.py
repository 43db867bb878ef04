"""The push dispatcher: leases due outbox rows, sends them, records what happened.

Leasing is one statement (`FOR UPDATE SKIP LOCKED`): any number of workers share the outbox.
A lease is a token plus an expiry; `next_attempt_at` moves to the expiry too, so a worker
that dies mid-batch loses its rows to the next worker when the lease lapses, and they are
sent again with the same message id and collapse key for the app to de-duplicate. Every
later write is guarded by the lease token: a stale worker cannot overwrite newer state.

Retries back off exponentially with full jitter, at least a minute after a 429, and no
sooner than Retry-After on a 503; after `max_attempts` a row is dead-lettered. Dead tokens
are deleted as FCM reports them. Non-urgent messages wait for the end of quiet hours.

Offers and reminders go by the person's order of channels (notifications/channels.py): a
text or email goes through the text transport (GOV.UK Notify, notifications/notify.py) on
the same lease, backoff and dead letters, after taking its turn from the rate limit every
worker shares (notifications/ratelimit.py). A permanent failure on a channel (an address
Notify refuses, a bad key, all devices gone) moves the message to the next channel.
Staff who chose a daily digest have their non-urgent staff messages held (status 'held')
for the digest job (app/notify/digest.py) to send as one.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notifications.backoff import Policy
from notifications.channels import (
    EMAIL,
    SMS,
    STAFF,
    TEXT_ONLY,
    Channel,
    held_for_digest,
    route,
)
from notifications.fcm import BATCH, DROP_DEVICE, Push, Result, Transport
from notifications.notify import Text, TextTransport
from notifications.payloads import data_for
from notifications.quiet import quiet_until
from notifications.ratelimit import SharedLimit
from notifications.tables import contact_channels, devices, outbox
from notifications.texts import personalisation_for
from notifications.verdicts import Row, Stats, verdict

# The facts a text of each leased row may carry (app.notify.facts: the need's kind, coarse
# area and time, a reply code, a verification code), by row id, in its own transaction.
Personalise = Callable[[AsyncConnection, Sequence[Any], datetime], Awaitable[dict[int, Any]]]

log = structlog.get_logger(__name__)


_LEASE = text("""
UPDATE outbox SET lease_token = :token, lease_expires_at = CAST(:now AS timestamptz) + :lease,
                  next_attempt_at = CAST(:now AS timestamptz) + :lease, attempts = attempts + 1
 WHERE id IN (SELECT id FROM outbox
               WHERE status = 'pending' AND next_attempt_at <= :now
               ORDER BY next_attempt_at, id LIMIT :batch FOR UPDATE SKIP LOCKED)
RETURNING id, message_id, user_id, kind, payload, collapse_key, urgent, expires_at, attempts,
          channels_tried
""")

REMINDER = "assignment.reminder"
_ACTIVE = text(
    "SELECT id::text FROM assignments WHERE id::text = ANY (CAST(:ids AS text[]))"
    " AND status IN ('accepted', 'checked_in')"
)

_RECIPIENTS = text("""
SELECT u.id AS user_id, v.quiet_hours_start, v.quiet_hours_end, v.time_zone,
       coalesce(v.languages[1], 'en') AS language,
       d.id AS device_id, d.token, d.token_kind, d.platform
  FROM unnest(CAST(:users AS uuid[])) AS u(id)
  LEFT JOIN volunteers v ON v.user_id = u.id
  LEFT JOIN devices d ON d.user_id = u.id
""")

_DIGESTS = text("SELECT user_id FROM staff_digests WHERE user_id = ANY (CAST(:users AS uuid[]))")

_CHANNELS = text("""
SELECT user_id, channel, address, position, verified_at IS NOT NULL AS verified, healthy
  FROM contact_channels WHERE user_id = ANY (CAST(:users AS uuid[]))
""")


@dataclass(frozen=True)
class Lease:
    token: UUID
    rows: Sequence[Any]
    people: Sequence[Any]
    ended: set[int] = field(default_factory=set)  # reminders of assignments that ended
    channels: Sequence[Any] = ()  # the people's contact_channels rows
    held: set[int] = field(default_factory=set)  # staff messages for the daily digest


class Dispatcher:
    def __init__(
        self,
        engine: AsyncEngine,
        transport: Transport,
        policy: Policy | None = None,
        rng: random.Random | None = None,
        *,
        clock: Callable[[], datetime],
        texts: TextTransport | None = None,
        limit: SharedLimit | None = None,
        push_limit: SharedLimit | None = None,
        personalise: Personalise | None = None,
    ) -> None:
        """`engine` logs in as the system: the outbox and devices of every user. `clock`
        gives the instant each lease and delivery is decided at (app.clock's, composed by
        app.push: this adapter does not read the time itself). `texts` sends text messages
        and email (without it, everything is a push), within the shared `limit`; pushes go
        within the shared `push_limit` (FCM's quota per project)."""
        self.engine = engine
        self.clock = clock
        self.transport = transport
        self.texts = texts
        self.limit = limit
        self.push_limit = push_limit
        self.personalise = personalise
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
            channels: Sequence[Any] = ()
            if self.texts is not None:
                channels = (await conn.execute(_CHANNELS, {"users": users})).all()
            staff = list({r.user_id for r in leased if r.kind in STAFF and not r.urgent})
            digest = (
                set((await conn.execute(_DIGESTS, {"users": staff})).scalars()) if staff else set()
            )
            reminded = [r.payload.get("assignment_id") for r in leased if r.kind == REMINDER]
            live = set()
            if reminded:
                live = set((await conn.execute(_ACTIVE, {"ids": reminded})).scalars())
        ended = {
            r.id
            for r in leased
            if r.kind == REMINDER and r.payload.get("assignment_id") not in live
        }
        held = {r.id for r in leased if held_for_digest(r.kind, r.urgent, r.user_id in digest)}
        return Lease(token, leased, people, ended - held, channels, held)

    async def deliver(self, lease: Lease) -> Stats:
        now = self.clock()
        stats = Stats(leased=len(lease.rows))
        finished = dict.fromkeys(lease.ended, "assignment ended")
        rows, deferred = self._plan(
            [r for r in lease.rows if r.id not in lease.ended | lease.held], lease, now, finished
        )
        await self._send_texts([r for r in rows if r.text is not None], now, deferred)
        rows = await self._within_push_limit(
            [r for r in rows if r.lease.id not in deferred], now, deferred
        )
        pushes = [(row, p) for row in rows for p in row.pushes]
        for start in range(0, len(pushes), BATCH):
            chunk = pushes[start : start + BATCH]
            outcomes = await self.transport.send([p for _, (p, _d) in chunk], now)
            for (row, _), outcome in zip(chunk, outcomes, strict=True):
                row.outcomes.append(outcome)
        await self._record(lease.token, rows, deferred, finished, stats, lease.held)
        self.total.add(stats)
        return stats

    async def _within_push_limit(
        self, rows: list[Row], now: datetime, deferred: dict[int, datetime]
    ) -> list[Row]:
        """The rows whose pushes (one per device) fit what the shared push limit allows now;
        the rest wait their turn, without an attempt."""
        wanted = sum(len(row.pushes) for row in rows)
        if self.push_limit is None or not wanted:
            return rows
        grant = await self.push_limit.take(wanted, now)
        allowed, used = [], 0
        for row in rows:
            if used + len(row.pushes) > grant.granted:
                deferred[row.lease.id] = now + timedelta(seconds=max(grant.wait_s, 1.0))
                continue
            used += len(row.pushes)
            allowed.append(row)
        return allowed

    async def _send_texts(
        self, rows: list[Row], now: datetime, deferred: dict[int, datetime]
    ) -> None:
        """Personalise and send the texts within the shared limit; the rest wait their turn."""
        if not rows or self.texts is None:
            return
        if self.limit is not None:
            grant = await self.limit.take(len(rows), now)
            for row in rows[grant.granted :]:
                deferred[row.lease.id] = now + timedelta(seconds=grant.wait_s)
            rows = rows[: grant.granted]
        facts: dict[int, Any] = {}
        if self.personalise is not None and rows:
            async with self.engine.begin() as conn:
                facts = await self.personalise(conn, [r.lease for r in rows], now)
        texts = []
        for row in rows:
            assert row.text is not None
            given = personalisation_for(row.lease.kind, facts.get(row.lease.id, {}))
            row.text = replace(row.text, personalisation=given)
            texts.append(row.text)
        for row, outcome in zip(rows, await self.texts.send(texts, now), strict=True):
            row.outcomes.append(outcome)

    def _plan(
        self, leased: Sequence[Any], batch: Lease, now: datetime, finished: dict[int, str]
    ) -> tuple[list[Row], dict[int, datetime]]:
        """What to send now, and by which channel; what waits for the end of quiet hours: a
        message that would expire before they end (an offer) is finished unsent instead
        (into `finished`), and one no channel is left for is dead."""
        by_user: dict[UUID, list[Any]] = defaultdict(list)
        for p in batch.people:
            by_user[p.user_id].append(p)
        channels: dict[UUID, list[Channel]] = defaultdict(list)
        for c in batch.channels:
            channels[c.user_id].append(
                Channel(c.channel, c.address, c.position, c.verified, c.healthy)
            )
        rows: list[Row] = []
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
            way = route(
                lease.kind,
                lease.payload,
                channels.get(lease.user_id, []) if self.texts is not None else [],
                has_devices=any(t.device_id is not None for t in targets),
                tried=lease.channels_tried,
                carries=self.texts.carries if self.texts is not None else None,
            )
            row = Row(lease, fallback=way is not None and way.fallback)
            rows.append(row)
            if way is None and (lease.channels_tried or lease.kind in TEXT_ONLY):
                row.exhausted = True
                continue
            if way is not None and way.channel in (SMS, EMAIL) and way.address is not None:
                language = targets[0].language if targets else "en"
                row.channel = way.channel
                message_id = str(lease.message_id)
                row.text = Text(way.channel, way.address, lease.kind, language, {}, message_id)
                continue
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
        return rows, deferred

    async def _record(
        self,
        token: UUID,
        rows: list[Row],
        deferred: dict[int, datetime],
        finished: dict[int, str],
        stats: Stats,
        held: set[int],
    ) -> None:
        now = self.clock()  # after sending, as the results came back
        guarded = update(outbox).where(outbox.c.lease_token == token)
        clear = {"lease_token": None, "lease_expires_at": None}
        async with self.engine.begin() as conn:
            if held:  # for the digest job; this was no attempt to send
                await conn.execute(
                    guarded.where(outbox.c.id.in_(held)).values(
                        **clear, status="held", attempts=outbox.c.attempts - 1
                    )
                )
                stats.held += len(held)
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
            # One UPDATE per distinct verdict (most of a batch: "sent" at `now`), not per row.
            verdicts: dict[tuple[Any, ...], tuple[dict[str, Any], list[int]]] = {}
            for row in rows:
                if row.text is None:
                    pairs = zip(row.pushes, row.outcomes, strict=True)
                    dead_devices |= {d for (_, d), o in pairs if o.result in DROP_DEVICE}
                values = verdict(row, now, stats, self.policy, self.rng)
                key = tuple((k, repr(v)) for k, v in sorted(values.items()))
                verdicts.setdefault(key, (values, []))[1].append(row.lease.id)
                refused = [o for o in row.outcomes if o.result is Result.BAD_ADDRESS]
                if row.text is not None and refused:  # Notify refuses the address itself
                    await conn.execute(
                        update(contact_channels)
                        .where(
                            contact_channels.c.user_id == row.lease.user_id,
                            contact_channels.c.channel == row.channel,
                        )
                        .values(healthy=False, health_note=refused[0].detail, updated_at=now)
                    )
            for values, ids in verdicts.values():
                await conn.execute(guarded.where(outbox.c.id.in_(ids)).values(**clear, **values))
            if dead_devices:
                await conn.execute(delete(devices).where(devices.c.id.in_(dead_devices)))
                stats.devices_removed += len(dead_devices)
