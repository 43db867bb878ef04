"""One policy's week, event by event, through the real use cases and worker steps.

A heap of events at virtual instants: needs posted by the caseworker, volunteers' answers
after their delays, attendance at the window, feed visits (open calls), nightly plans,
daily duty. Between events the worker's cascade steps run when due, at the virtual instant.
After every event that wrote something the invariants are checked.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from app.assignments import open_calls
from app.assignments import service as assignments
from app.assignments.schemas import CheckInIn, CompleteIn
from app.clock import VirtualClock
from app.db.tenancy import Tx, tenant_transaction
from app.errors import CodeliverError
from app.locations import Location
from app.needs import cascade
from app.needs import service as needs
from app.needs.schemas import NeedIn, Window
from app.offers import service as offers
from app.plans import service as plans
from app.plans.schemas import PlanIn
from app.simulation import invariants as inv
from app.simulation import looks
from app.simulation.build import AT_ONCE, CASEWORKER, COORDINATOR, Built, identity
from app.simulation.policies import Policy
from app.simulation.record import CapturingTransport, Event, Tally
from app.simulation.response import Answer, CaseworkerModel, ResponseModel
from app.simulation.world import PATTERNS, NeedSpec, VolunteerSpec, World, distance_km
from app.volunteers import schedule as volunteers_schedule
from app.volunteers import service as volunteers
from app.volunteers.schemas import DutyIn
from matching.model import Dispatch, Mode, TravelMode, Urgency
from matching.scoring import travel_minutes
from matching.vetting import DbsLevel
from notifications.backoff import Policy as PushPolicy
from notifications.dispatcher import Dispatcher

READ_ONLY = object()  # an event's answer when it wrote nothing (a look at the feed)
SERIES_RULE = "FREQ=WEEKLY;COUNT={count}"


class Week:
    def __init__(
        self,
        engine: AsyncEngine,
        system: AsyncEngine,
        clock: VirtualClock,
        world: World,
        built: Built,
        policy: Policy,
        response: ResponseModel,
        caseworker: CaseworkerModel,
    ) -> None:
        self.engine, self.system, self.clock = engine, system, clock
        self.world, self.built, self.policy, self.response = world, built, policy, response
        self.caseworker = caseworker
        self.start = clock.now()
        self.origin = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        self.end = self.start + timedelta(days=world.model.days + 1)  # a day to settle
        self.heap: list[Event] = []
        self.seq = itertools.count()
        self.tally = Tally()
        self.transport = CapturingTransport(clock)
        self.push = Dispatcher(
            system, self.transport, PushPolicy(lease=timedelta(seconds=60)), clock=clock.now
        )
        self.seen_offers: set[UUID] = set()
        self.seen_assignments: set[UUID] = set()
        self.seen_escalations: set[tuple[UUID, datetime]] = set()
        self.offers_xid = self.assignments_xid = 0
        self.watermark = 0  # where the next invariant check starts (inv.WATERMARK)
        self.due: datetime | None = None  # the next cascade step, read after each step
        self.pushes_checked = 0
        self.words = [w for words in built.client_words for w in words]
        self.tokens = {f"sim-device-{v.n:05d}-token": v for v in world.volunteers}

    def at(self, when: datetime, kind: str, data: Any = None) -> None:
        heapq.heappush(self.heap, Event(when, next(self.seq), kind, data))

    @asynccontextmanager
    async def acting(self, subject: str) -> AsyncIterator[Tx]:
        """A use case as `subject`, in its own tenant transaction at the virtual instant
        (its after-commit work, the cascade's next step, runs as in production)."""
        async with tenant_transaction(self.engine, identity(subject)) as tx:
            yield tx

    # -- the schedule ------------------------------------------------------------------------
    def posting(self, spec: NeedSpec) -> datetime:
        """When `spec` is posted: its time of day on its day of the week that began at the
        clock's midnight, wrapped round to the end if that is before the clock's start."""
        at = self.origin + timedelta(seconds=spec.posted_s)
        return at if at >= self.start else at + timedelta(days=self.world.model.days)

    def plan_events(self) -> None:
        for spec in self.world.needs:
            self.at(self.posting(spec), "post", spec)
        for hour in range(int((self.end - self.start) / timedelta(hours=1))):
            self.at(self.start + timedelta(hours=hour, minutes=30), "jobs")
        for day in range(self.world.model.days + 1):
            midnight = self.origin + timedelta(days=day)
            self.at(max(self.start, midnight + timedelta(hours=7)), "duty")
            if self.policy.nightly_plan:
                self.at(max(self.start, midnight + timedelta(hours=2)), "plan")
        if self.policy.dispatch is Dispatch.OPEN_CALL:
            self._plan_browsing()

    def _plan_browsing(self) -> None:
        rng = random.Random(f"{self.world.seed}:browse")
        for v in self.world.volunteers:
            days, first, last = PATTERNS[v.pattern]
            for day in range(self.world.model.days + 1):
                midnight = self.origin + timedelta(days=day)
                if midnight.isoweekday() not in days:
                    continue
                for _ in range(self.response.visits(rng)):
                    when = midnight + timedelta(hours=rng.uniform(first, last))
                    if self.start <= when < self.end:
                        self.at(when, "browse", v)

    # -- the loop ----------------------------------------------------------------------------
    async def run(self) -> Tally:
        self.plan_events()
        self.due = await self._next_due()
        while True:
            due = self.due
            instants = [t for t in (due, self.heap[0].at if self.heap else None) if t]
            if not instants or min(instants) >= self.end:
                break
            when = min(instants)
            if when > self.clock.now():
                self.clock.set(when)
            if due is not None and due <= when:
                await self.worker_steps()
            else:
                event = heapq.heappop(self.heap)
                if await getattr(self, f"on_{event.kind}")(event.data) is READ_ONLY:
                    continue  # wrote nothing: nothing to look at
            await self.after_step()
        async with self.system.connect() as conn:  # the backstop: every rule, everywhere
            for found in await inv.load_breaks(conn):
                self.tally.note(found)
        return self.tally

    async def _next_due(self) -> datetime | None:
        async with self.system.connect() as conn:
            return self._due(await conn.scalar(looks.NEXT_DUE))

    def _due(self, at: datetime | None) -> datetime | None:
        return None if at is None else max(at, self.clock.now())

    async def worker_steps(self) -> None:
        """The worker's `offer-cascade` job (`run_due`), at the engine's virtual clock."""
        self.tally.steps += await cascade.run_due(self.system)

    async def on_jobs(self, _: None) -> None:
        """The worker's other jobs that move assignments and duty, hourly."""
        await open_calls.release_stale(self.system)
        await volunteers_schedule.end_lapsed_duty(self.system)

    async def after_step(self) -> None:
        """One look at what the step wrote, on one connection: new offers and assignments,
        the load rules where rows were written, the outbox, the next cascade step, and new
        escalations for the caseworker."""
        async with self.system.connect() as conn:
            push_due = await conn.scalar(looks.PUSH_DUE, {"now": self.clock.now()})
            fresh = (await conn.execute(looks.NEW_OFFERS, {"xid": self.offers_xid})).all()
            made = (await conn.execute(looks.NEW_ASSIGNMENTS, {"xid": self.assignments_xid})).all()
            watermark = int(await conn.scalar(inv.WATERMARK) or 0)
            for found in await inv.load_breaks(conn, since=self.watermark):
                self.tally.note(found)
            next_at = await conn.scalar(looks.NEXT_DUE)
            escalated = (await conn.execute(looks.ESCALATED)).all()
        self.watermark, self.due = (
            watermark,
            None if next_at is None else max(next_at, self.clock.now()),
        )
        if push_due:
            await self.push.run_once()
        self.offers_xid = max([self.offers_xid, *(r.sync_xid for r in fresh)])
        self.assignments_xid = max([self.assignments_xid, *(r.sync_xid for r in made)])
        for offer_id, need_id, volunteer_id, _xid, busy in fresh:
            if offer_id in self.seen_offers:
                continue
            self.seen_offers.add(offer_id)
            self._check_eligible("ineligible_offer", need_id, volunteer_id)
            self._schedule_answer(offer_id, need_id, volunteer_id, busy)
        for assignment_id, need_id, volunteer_id, _xid in made:
            if assignment_id in self.seen_assignments:
                continue
            self.seen_assignments.add(assignment_id)
            self._check_eligible("ineligible_assignment", need_id, volunteer_id)
            self.tally.taken.setdefault(need_id, []).append(self.clock.now())
            self._schedule_attendance(assignment_id, need_id, volunteer_id)
        for at, p in self.transport.sent[self.pushes_checked :]:
            v = self.tokens.get(p.token)
            for rule in inv.push_breaks(v, at, p.urgent, p.data, self.words):
                detail = f"{p.data.get('kind')} to {p.token} at {at:%a %H:%M}"
                who = None if v is None else self.built.volunteers.get(v.n)
                self.tally.note(inv.Violation(rule, None, who, detail))
        self.pushes_checked = len(self.transport.sent)
        for need_id, escalated_at in escalated:
            self._schedule_follow_up(need_id, escalated_at)

    def _check_eligible(self, rule: str, need_id: UUID, volunteer_id: UUID) -> None:
        occ, v = self.tally.rows.get(need_id), self.built.by_user.get(volunteer_id)
        if occ is None or v is None:
            return
        broken = inv.eligibility_breaks(v, occ, on_duty_rule=rule == "ineligible_offer")
        if broken:
            self.tally.note(inv.Violation(rule, need_id, volunteer_id, ", ".join(broken)))

    def minutes(self, v: VolunteerSpec, occ: inv.Occurrence) -> float:
        if occ.kind.remote:
            return 0.0
        metres = 1000 * distance_km(v.lat, v.lon, occ.spec.lat, occ.spec.lon)
        return travel_minutes(metres, TravelMode(v.mode))

    def would_accept(self, occ: inv.Occurrence, v: VolunteerSpec) -> bool:
        """Whether `v` says yes to `occ` when asked and free (their seeded answer, any delay)."""
        answer, _ = self.response.answer(self._rng(occ, v), self.minutes(v, occ), busy=False)
        return answer is Answer.ACCEPT

    def _rng(self, occ: inv.Occurrence, v: VolunteerSpec) -> random.Random:
        """The same volunteer answers the same need alike under every policy."""
        return random.Random(f"{self.world.seed}:{occ.spec.n}:{v.n}")

    def _schedule_answer(
        self, offer_id: UUID, need_id: UUID, volunteer_id: UUID, busy: bool
    ) -> None:
        occ, v = self.tally.rows.get(need_id), self.built.by_user.get(volunteer_id)
        if occ is None or v is None:
            return
        answer, delay = self.response.answer(self._rng(occ, v), self.minutes(v, occ), busy=busy)
        if answer is not Answer.SILENT:
            self.at(self.clock.now() + timedelta(seconds=delay), "answer", (offer_id, v, answer))

    def _schedule_follow_up(self, need_id: UUID, escalated_at: datetime) -> None:
        """The caseworker reads a new escalation and will send the next wave (at most
        `follow_ups` times a need)."""
        if (need_id, escalated_at) in self.seen_escalations:
            return
        self.seen_escalations.add((need_id, escalated_at))
        occ, done = self.tally.rows.get(need_id), self.tally.follow_ups.get(need_id, 0)
        if occ is None or done >= self.caseworker.follow_ups:
            return
        rng = random.Random(f"{self.world.seed}:{occ.spec.n}:{occ.index}:follow-up:{done}")
        when = self.caseworker.acts_at(rng, escalated_at)
        if when < occ.start:
            self.tally.follow_ups[need_id] = done + 1
            self.at(max(when, self.clock.now()), "follow_up", need_id)

    def _schedule_attendance(self, assignment_id: UUID, need_id: UUID, volunteer_id: UUID) -> None:
        occ, v = self.tally.rows.get(need_id), self.built.by_user.get(volunteer_id)
        if occ is None or v is None or occ.start >= self.end:
            return
        attends = self.response.attends(random.Random(f"{self.world.seed}:{occ.spec.n}:{v.n}:go"))
        when = occ.start + timedelta(minutes=occ.minutes)
        self.at(max(when, self.clock.now()), "attend", (assignment_id, occ, v, attends))

    # -- the events --------------------------------------------------------------------------
    async def on_post(self, spec: NeedSpec) -> None:
        kind = self.world.model.kinds[spec.kind]
        start = self.clock.now() + timedelta(seconds=spec.start_s - spec.posted_s)
        minutes = kind.minutes
        end = start + max(timedelta(hours=2), timedelta(minutes=minutes + 30))
        data = NeedIn(
            programme_id=self.built.programmes[kind.programme],
            client_id=self.built.clients[spec.client],
            title=spec.kind.replace("_", " ").capitalize(),
            mode=Mode.REMOTE if kind.remote else Mode.IN_PERSON,
            location=None if kind.remote else _location(spec),
            required_skills=list(kind.skills),
            languages=list(spec.languages),
            min_vetting=DbsLevel(kind.vetting),
            windows=[Window(start=start, end=end)],
            duration_minutes=minutes,
            slots=kind.slots,
            urgency=Urgency(spec.urgency),
            recurrence=SERIES_RULE.format(count=kind.weekly_series) if kind.weekly_series else None,
            dispatch=self.policy.dispatch,
        )
        try:
            async with self.acting(CASEWORKER) as tx:
                created = await needs.create(tx, data)
        except CodeliverError as exc:
            self.tally.refuse("post", exc)
            return
        async with self.system.connect() as conn:
            rows = (await conn.execute(looks.ROWS_OF, {"id": created.need.id})).all()
        for need_id, index in rows:
            shift = timedelta(weeks=int(index))
            self.tally.posted[need_id] = self.clock.now()
            self.tally.rows[need_id] = inv.Occurrence(
                spec, kind, start + shift, end + shift, minutes, int(index)
            )

    async def on_answer(self, data: tuple[UUID, VolunteerSpec, Answer]) -> object:
        """The volunteer answers if the offer is still in their app's list (`my_offers`)."""
        offer_id, v, answer = data
        async with self.system.connect() as conn:
            now = self.clock.now()
            listed = await conn.scalar(looks.STILL_OFFERED, {"id": offer_id, "now": now})
        if not listed:  # withdrawn or lapsed: gone from the app, nothing to answer
            self.tally.gone(str(answer))
            return READ_ONLY
        try:
            async with self.acting(v.subject) as tx:
                if answer is Answer.ACCEPT:
                    await offers.accept(tx, offer_id)
                else:
                    await offers.decline(tx, offer_id, "not this time")
        except CodeliverError as exc:
            self.tally.refuse(str(answer), exc)
        return None

    async def on_follow_up(self, need_id: UUID) -> None:
        """The caseworker sends the next wave now (`POST /v1/needs/{id}/offers`, no names)."""
        try:
            async with self.acting(CASEWORKER) as tx:
                await offers.offer(tx, need_id, None)
        except CodeliverError as exc:
            self.tally.refuse("follow_up", exc)

    async def on_attend(self, data: tuple[UUID, inv.Occurrence, VolunteerSpec, bool]) -> None:
        assignment_id, occ, v, attends = data
        try:
            if not attends:
                async with self.acting(CASEWORKER) as tx:
                    await assignments.no_show(tx, assignment_id, "did not come")
                return
            async with self.acting(v.subject) as tx:
                at = None if occ.kind.remote else _location(occ.spec)
                where = CheckInIn() if at is None else CheckInIn(lat=at.lat, lon=at.lon)
                await assignments.check_in(tx, assignment_id, where)
            async with self.acting(v.subject) as tx:
                await assignments.complete(tx, assignment_id, CompleteIn(minutes=occ.minutes))
        except CodeliverError as exc:
            self.tally.refuse("attend" if attends else "no_show", exc)

    async def on_browse(self, v: VolunteerSpec) -> object:
        """A volunteer opens the open-call feed at home and claims the first need they
        would accept (first come, first served)."""
        async with self.acting(v.subject) as tx:
            feed = await open_calls.feed(tx, v.lat, v.lon, v.radius_km, 20)
        for summary in feed:
            occ = self.tally.rows.get(summary.id)
            if occ is None:
                continue
            if not self.would_accept(occ, v):
                continue
            try:
                async with self.acting(v.subject) as tx:
                    await open_calls.claim(tx, summary.id)
                return None
            except CodeliverError as exc:
                self.tally.refuse("claim", exc)
        return READ_ONLY  # only looked at the feed, or every claim was refused (rolled back)

    async def on_plan(self, _: None) -> None:
        """The coordinator's nightly batch: plan the next three days, commit the plan."""
        now = self.clock.now()
        for programme_id in self.built.programmes.values():
            period = PlanIn(programme_id=programme_id, from_=now, to=now + timedelta(days=3))
            try:
                async with self.acting(COORDINATOR) as tx:
                    plan = await plans.propose(tx, period)
                async with self.acting(COORDINATOR) as tx:
                    await plans.commit(tx, plan.id)
            except CodeliverError as exc:
                self.tally.refuse("plan", exc)

    async def on_duty(self, _: None) -> None:
        """On-duty volunteers renew their duty each morning (it lasts at most a day)."""
        gate = asyncio.Semaphore(AT_ONCE)  # they write only their own rows: side by side

        async def renew(v: VolunteerSpec) -> None:
            async with gate, self.acting(v.subject) as tx:
                await volunteers.set_duty(tx, DutyIn(on_duty=True))

        await asyncio.gather(*(renew(v) for v in self.world.volunteers if v.on_duty))


def _location(spec: NeedSpec) -> Location:
    return Location(lat=spec.lat, lon=spec.lon)
