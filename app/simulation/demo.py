"""The demo comes alive: a worker job (`demo-responders`, on with CODELIVER_DEMO_RESPONDERS,
refused in production) in which the seed's volunteers answer their offers, turn up (or not)
and claim open calls, through the real use cases as themselves, as `loop.py` does in the
simulated week. It loads facts, `responders` decides, and it applies. The seed's text-only
volunteers (no app, a verified phone: app/seed.py) answer by text: `YES 4821` through
Notify's received-text callback's own use case (`app.notify.callbacks.received`), once
their offer's text has gone out with its reply code.

Row-driven: what is due is read from the rows at each run, and every decision is keyed by
its row, so a restart loses nothing and a second worker decides the same. Two workers may
both try one answer: the second is refused by the use case (the offer is no longer
pending) and logged at debug, harmless.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.assignments import open_calls
from app.assignments import service as assignments
from app.assignments.schemas import CheckInIn, CompleteIn
from app.clock import clock_of, register_clock
from app.db.engine import create_engine, database_urls
from app.db.tenancy import Tx, register_system, tenant_transaction
from app.errors import CodeliverError, Conflict, NotEligible, NotFound
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.notify import callbacks
from app.offers import service as offers
from app.settings import Settings
from app.simulation import responders as r
from app.simulation.response import Answer, ResponseModel
from app.simulation.world import distance_km
from geo import trips
from matching.model import ACTIVE_ASSIGNMENT, AssignmentStatus, OfferStatus, TravelMode
from matching.scoring import travel_minutes

log = structlog.get_logger(__name__)

EVERY_S = 2.0  # how often the job looks
BATCH = 100  # answers, visits and claims applied per run at most (the rest: next run)
FEED_LIMIT = 20
CASEWORKER = "demo-caseworker-{slug}"  # who records a no-show (app/seed.py's staff)
_DEMO = {"issuer": DEV_ISSUER, "demo": f"{r.DEMO_VOLUNTEER}%"}
_ACTIVE = [s.value for s in ACTIVE_ASSIGNMENT]

_PENDING = text("""
SELECT o.id, u.subject, o.created_at AS offered_at
  FROM offers o JOIN users u ON u.id = o.volunteer_id
 WHERE o.status = :pending AND o.expires_at > :now AND o.created_at <= :now
   AND u.issuer = :issuer AND u.subject LIKE :demo
""")
_BUSY = text("""
SELECT o.id FROM offers o
 WHERE o.id = ANY (CAST(:ids AS uuid[])) AND EXISTS (
   SELECT FROM assignments a WHERE a.volunteer_id = o.volunteer_id AND a.status = ANY (:active))
""")
_HELD = text("""
SELECT a.id, u.subject, a.status, lower(n.windows) AS starts_at, upper(n.windows) AS ends_at,
       n.duration_minutes, a.need_id, g.slug
  FROM assignments a JOIN users u ON u.id = a.volunteer_id
  JOIN needs n ON n.id = a.need_id JOIN organisations g ON g.id = a.org_id
 WHERE a.status = ANY (:active) AND lower(n.windows) <= :now
   AND u.issuer = :issuer AND u.subject LIKE :demo
""")
_TEXTED = text("""
SELECT o.id, c.address AS phone, rc.code
  FROM offers o
  JOIN contact_channels c ON c.user_id = o.volunteer_id AND c.channel = 'sms'
  LEFT JOIN reply_codes rc ON rc.offer_id = o.id
 WHERE o.id = ANY (CAST(:ids AS uuid[])) AND c.verified_at IS NOT NULL
""")
_TEXT_REPLIES = uuid.UUID("5b0e54a4-1f69-4c51-9d0a-2d5e4b3f7a10")  # Notify ids of demo texts
_VOLUNTEERS = text("""
SELECT u.id, u.subject FROM users u JOIN volunteers v ON v.user_id = u.id
 WHERE u.issuer = :issuer AND u.subject LIKE :demo
""")


def _refused(what: str, subject: str, target: UUID, exc: CodeliverError) -> None:
    """A conflict (answered, taken or ended meanwhile, maybe by another worker) is expected:
    debug. Any other refusal is worth a line at info."""
    level = log.debug if isinstance(exc, Conflict | NotFound) else log.info
    level("demo volunteer refused", what=what, subject=subject, id=str(target), why=str(exc))


def _as_of(row: Any) -> r.PendingOffer:
    return r.PendingOffer(row.id, row.subject, row.offered_at)


class DemoResponders:
    """The job. It acts on the app's login (row-level security binds each volunteer, as in
    production), made on its first run beside the worker's system engine, on its clock."""

    def __init__(
        self,
        settings: Settings,
        *,
        app_url: str | None = None,
        model: ResponseModel | None = None,
        every_s: float = EVERY_S,
    ) -> None:
        self.settings, self.app_url = settings, app_url
        self.model = model or ResponseModel()
        self.speedup = settings.demo_responders_speedup
        self.every_s = every_s
        self.engine: AsyncEngine | None = None
        self.browsed: int | None = None  # the last period whose feed visits were made

    def _app_engine(self, system: AsyncEngine) -> AsyncEngine:
        if self.engine is None:
            url = self.app_url or database_urls(self.settings)[0]
            self.engine = create_engine(url, self.settings)
            register_system(self.engine, system)
            register_clock(self.engine, clock_of(system))  # one clock on both engines
        return self.engine

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
            self.engine = None

    @asynccontextmanager
    async def acting(self, subject: str) -> AsyncIterator[Tx]:
        assert self.engine is not None
        async with tenant_transaction(self.engine, TokenIdentity(DEV_ISSUER, subject)) as tx:
            yield tx

    async def __call__(self, system: AsyncEngine) -> int:
        now = clock_of(system).now()
        done = await self.answer(system, now)
        done += await self.turn_up(system, now)
        return done + await self.browse(system, now)

    async def _try(self, what: str, subject: str, target: UUID, work: Any) -> bool:
        """Run one use case as `subject`; a refusal is the product's answer, not a fault."""
        try:
            async with self.acting(subject) as tx:
                await work(tx)
        except CodeliverError as exc:
            _refused(what, subject, target, exc)
            return False
        return True

    # -- offers ------------------------------------------------------------------------------
    async def answer(self, system: AsyncEngine, now: datetime) -> int:
        self._app_engine(system)
        async with system.connect() as conn:
            params = {**_DEMO, "pending": OfferStatus.PENDING.value, "now": now}
            pending = [_as_of(row) for row in await conn.execute(_PENDING, params)]
            ready = r.due(pending, now, self.model, self.speedup)[:BATCH]
            phones = {
                row.id: (row.phone, row.code)
                for row in await conn.execute(_TEXTED, {"ids": [o.id for o in ready]})
            }
            # a text-only volunteer answers once the offer's text (and its code) reached them
            unsent = {offer_id for offer_id, (_, code) in phones.items() if code is None}
            ready = [o for o in ready if o.id not in unsent]
            facts = await self._offer_facts(conn, ready)
        answered = 0
        for reply in r.replies(facts, self.model):
            texted = phones.get(reply.offer_id)
            answered += await (self._text(reply, *texted) if texted else self._reply(reply))
        return answered

    async def _text(self, reply: r.Reply, phone: str, code: str) -> int:
        """The volunteer's text back, as Notify would call us with it (once per offer)."""
        assert self.engine is not None
        word = "YES" if reply.answer is Answer.ACCEPT else "NO"
        sms = callbacks.ReceivedText(
            id=uuid.uuid5(_TEXT_REPLIES, str(reply.offer_id)),
            source_number=phone,
            message=f"{word} {code}",
        )
        outcome = await callbacks.received(self.engine, sms)
        if outcome == "not_eligible":  # they can no longer take it: they text no instead
            no = callbacks.ReceivedText(
                id=uuid.uuid5(_TEXT_REPLIES, f"{reply.offer_id}:no"),
                source_number=phone,
                message=f"NO {code}",
            )
            outcome = await callbacks.received(self.engine, no)
        if outcome not in ("accepted", "declined"):
            log.debug("demo text refused", subject=reply.subject, outcome=outcome)
        return int(outcome in ("accepted", "declined"))

    async def _offer_facts(
        self, conn: AsyncConnection, ready: list[r.PendingOffer]
    ) -> list[r.OfferFacts]:
        ids = [o.id for o in ready]
        trip = await trips.offer_trips(conn, ids)
        busy = set((await conn.execute(_BUSY, {"ids": ids, "active": _ACTIVE})).scalars())
        facts = []
        for o in ready:
            mode, metres = trip.get(o.id, (TravelMode.WALK.value, None))
            minutes = 0.0 if metres is None else travel_minutes(metres, TravelMode(mode))
            facts.append(r.OfferFacts(o, minutes, o.id in busy))
        return facts

    async def _reply(self, reply: r.Reply) -> int:
        if reply.answer is Answer.ACCEPT:
            try:
                async with self.acting(reply.subject) as tx:
                    await offers.accept(tx, reply.offer_id)
                return 1
            except NotEligible:
                pass  # they can no longer take it (hours, caps, a clash): they say no
            except CodeliverError as exc:
                _refused("accept", reply.subject, reply.offer_id, exc)
                return 0

        async def decline(tx: Tx) -> None:
            await offers.decline(tx, reply.offer_id, "not this time")

        return int(await self._try("decline", reply.subject, reply.offer_id, decline))

    # -- assignments -------------------------------------------------------------------------
    async def turn_up(self, system: AsyncEngine, now: datetime) -> int:
        self._app_engine(system)
        async with system.connect() as conn:
            rows = (await conn.execute(_HELD, {**_DEMO, "active": _ACTIVE, "now": now})).all()
            held = [
                r.Held(
                    row.id,
                    row.subject,
                    AssignmentStatus(row.status),
                    row.starts_at,
                    row.ends_at,
                    row.duration_minutes,
                )
                for row in rows
            ]
            todo = r.visits(held, now, self.model)[:BATCH]
            need_of = {row.id: row.need_id for row in rows}
            points = await trips.need_points(conn, [need_of[h.id] for h, _ in todo])
        slug = {row.id: row.slug for row in rows}
        done = 0
        for h, visit in todo:
            point = points.get(need_of[h.id])
            done += await self._visit(h, visit, point, slug[h.id])
        return done

    async def _visit(
        self, h: r.Held, visit: r.Visit, point: tuple[float, float] | None, slug: str
    ) -> int:
        if visit is r.Visit.NO_SHOW:

            async def no_show(tx: Tx) -> None:
                await assignments.no_show(tx, h.id, "did not come (demo)")

            return int(await self._try("no_show", CASEWORKER.format(slug=slug), h.id, no_show))
        if visit is r.Visit.ATTEND:
            where = CheckInIn() if point is None else CheckInIn(lat=point[0], lon=point[1])

            async def check_in(tx: Tx) -> None:
                await assignments.check_in(tx, h.id, where)

            if not await self._try("check_in", h.subject, h.id, check_in):
                return 0

        async def complete(tx: Tx) -> None:
            await assignments.complete(tx, h.id, CompleteIn(minutes=h.duration_minutes))

        return int(await self._try("complete", h.subject, h.id, complete))

    # -- open calls --------------------------------------------------------------------------
    async def browse(self, system: AsyncEngine, now: datetime) -> int:
        """Each period, a few volunteers open the open-call feed at home and claim the first
        need they would say yes to (first come, first served)."""
        self._app_engine(system)
        period = int(now.timestamp() // self.every_s)
        if self.browsed is not None and period <= self.browsed:
            return 0
        self.browsed = period
        chance = r.browse_chance(self.model, self.speedup, self.every_s)
        async with system.connect() as conn:
            rows = (await conn.execute(_VOLUNTEERS, _DEMO)).all()
            people: dict[UUID, str] = {row.id: row.subject for row in rows}
            chosen = r.browsers(sorted(people), period, chance)[:BATCH]
            home = await trips.homes(conn, chosen)
        claimed = 0
        for volunteer_id in chosen:
            if volunteer_id in home:
                claimed += await self._visit_feed(volunteer_id, people[volunteer_id], home)
        return claimed

    async def _visit_feed(
        self, volunteer_id: UUID, subject: str, home: dict[UUID, tuple[float, float, str, float]]
    ) -> int:
        lat, lon, mode, radius_km = home[volunteer_id]
        async with self.acting(subject) as tx:
            feed = await open_calls.feed(tx, lat, lon, radius_km, FEED_LIMIT)
        listed = [
            (
                s.id,
                0.0
                if s.coarse_location is None
                else travel_minutes(
                    1000 * distance_km(lat, lon, s.coarse_location.lat, s.coarse_location.lon),
                    TravelMode(mode),
                ),
            )
            for s in feed
        ]
        need_id = r.claim_choice(volunteer_id, listed, self.model)
        if need_id is None:
            return 0

        async def claim(tx: Tx) -> None:
            await open_calls.claim(tx, need_id)

        return int(await self._try("claim", subject, need_id, claim))
