"""Use cases for offers: a volunteer's answers, and a caseworker's candidates and offers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import bindparam, select, update

from app import audit, sync
from app.assignments.schemas import Assignment, to_assignment
from app.db.rows import AnyRow
from app.db.tables import memberships, needs, offers, programmes, volunteers
from app.db.tenancy import Tx
from app.errors import InvalidInput, NotEligible, NotFound, OfferClosed, SlotTaken
from app.identity.principal import STAFF
from app.needs import cascade, facts, slots
from app.needs.facts import NeedRow
from app.needs.slots import one_at_a_time
from app.needs.summary import NEED_COLUMNS, SummaryRow, need_summary
from app.offers.schemas import (
    Factor,
    RankedCandidate,
    StaffOffer,
    VolunteerOffer,
    explanations,
)
from geo import candidates
from matching import eligibility, scoring
from matching import offers as rules
from matching.eligibility import ON_ACCEPT
from matching.model import Candidate, OfferSource, OfferStatus, Ranked, Reason
from notifications.outbox import Kind, Message, enqueue

MATCHING_REASON = "matching volunteers to a need"

_MINE = (
    select(*offers.c, *NEED_COLUMNS)
    .select_from(
        offers.join(needs, needs.c.id == offers.c.need_id).join(
            programmes, programmes.c.id == needs.c.programme_id
        )
    )
    .order_by(offers.c.expires_at, offers.c.id)
)
# The caller's offers, every one (a delta sync) or the open ones (a poll): constants, so
# that app.sync builds each page once (the caller and the instant are bound parameters).
_ALL_MINE = _MINE.where(offers.c.volunteer_id == bindparam("me"))
_OPEN_MINE = _ALL_MINE.where(
    offers.c.status == OfferStatus.PENDING, offers.c.expires_at > bindparam("now")
)


@dataclass(frozen=True, slots=True)
class MyOffer:
    """One of the caller's offers with what they may see of its need (a `_MINE` row)."""

    id: UUID
    need_id: UUID
    org_id: UUID
    status: OfferStatus
    series_id: UUID | None
    created_at: datetime
    expires_at: datetime
    responded_at: datetime | None
    explanation: Any  # JSONB: the score's factors, read by `explanations`
    need: SummaryRow

    @classmethod
    def of(cls, row: AnyRow) -> MyOffer:
        return cls(
            id=row.id,
            need_id=row.need_id,
            org_id=row.org_id,
            status=OfferStatus(row.status),
            series_id=row.series_id,
            created_at=row.created_at,
            expires_at=row.expires_at,
            responded_at=row.responded_at,
            explanation=row.explanation,
            need=SummaryRow.of(row),
        )


def _volunteer_offer(offer: MyOffer) -> VolunteerOffer:
    return VolunteerOffer(
        id=offer.id,
        status=offer.status,
        series=offer.series_id is not None,
        created_at=offer.created_at,
        expires_at=offer.expires_at,
        responded_at=offer.responded_at,
        factors=[
            Factor(e.factor, round(e.points, 2))
            for e in explanations(offer.explanation)
            if rules.shown_to_volunteer(e.factor)
        ],
        need=need_summary(offer.need, offer.need_id),
    )


async def my_offers(
    tx: Tx, *, since: str | None, cursor: str | None, limit: int
) -> tuple[list[VolunteerOffer], str | None]:
    """Without `since`: the caller's open offers, what the app shows as "waiting for your
    answer". With `since`: every offer of theirs that changed after that cursor, whatever its
    status now, for offline-first sync, in commit order (app.sync)."""
    rows, next_cursor = await sync.page(
        tx.conn,
        _OPEN_MINE if since is None else _ALL_MINE,
        offers.c.sync_xid,
        offers.c.id,
        cursor or since,
        limit,
        field="cursor" if cursor else "since",
        settled_only=since is not None,
        params={"me": tx.principal.user_id, "now": tx.now},
    )
    return [_volunteer_offer(MyOffer.of(r)) for r in rows], next_cursor


async def _mine(tx: Tx, offer_id: UUID) -> MyOffer:
    stmt = _MINE.where(offers.c.id == offer_id, offers.c.volunteer_id == tx.principal.user_id)
    row = (await tx.conn.execute(stmt)).one_or_none()
    if row is None:
        raise NotFound("Offer not found")
    return MyOffer.of(row)


async def _close(
    tx: Tx, offer: MyOffer, status: OfferStatus, now: datetime, reason: str | None
) -> None:
    """Answer the offer, guarded by its state; the need's row is already locked."""
    answered = await tx.conn.execute(
        update(offers)
        .where(
            offers.c.id == offer.id,
            offers.c.status == OfferStatus.PENDING,
            offers.c.expires_at > now,
        )
        .values(status=status, responded_at=now, decline_reason=reason)
    )
    if answered.rowcount != 1:
        raise OfferClosed("this offer has expired" if offer.status == OfferStatus.PENDING else None)


def _check_open(offer: MyOffer, now: datetime) -> None:
    if refusal := rules.answer_refusal(offer.status, offer.expires_at, now):
        raise OfferClosed(refusal)


async def _check_still_eligible(tx: Tx, row: NeedRow) -> None:
    me = await candidates.named(tx.conn, facts.query_of(row, tx.now), [tx.principal.user_id])
    refusal = eligibility.refusal(facts.need_of(row), me[0] if me else None, ON_ACCEPT)
    if refusal:
        raise NotEligible(refusal)


async def accept(tx: Tx, offer_id: UUID) -> Assignment:
    now = tx.now
    await one_at_a_time(tx)
    offer = await _mine(tx, offer_id)
    _check_open(offer, now)
    # Unlocked checks first: once a need is full, the losers of a race answer at once
    # instead of queueing for its lock.
    row = await facts.load(tx.conn, offer.need_id)
    if row is None:  # pragma: no cover - the offer makes the need visible
        raise NotFound("Need not found")
    if not slots.has_room(row):
        raise SlotTaken(f"all {row.slots} slots of this need are taken")
    await _check_still_eligible(tx, row)
    row = await facts.load(tx.conn, offer.need_id, lock=True)  # need first, then the offer
    if row is None:  # pragma: no cover - as above
        raise NotFound("Need not found")
    assignment = await slots.take(tx.conn, row, tx.principal.user_id, offer.id, now)
    await _close(tx, offer, OfferStatus.ACCEPTED, now, None)
    filled = row.filled + 1 == row.slots
    payload = {"need_id": str(row.id), "assignment_id": str(assignment.id)}
    await enqueue(
        tx.conn,
        [
            Message(tx.principal.user_id, Kind.ASSIGNMENT_CONFIRMED, payload, org_id=row.org_id),
            *(
                Message(row.created_by, kind, payload, org_id=row.org_id)
                for kind in (
                    (Kind.NEED_CLAIMED, Kind.NEED_FILLED) if filled else (Kind.NEED_CLAIMED,)
                )
                if row.created_by is not None
            ),
        ],
        now=tx.now,
    )
    await audit.record(tx, "offer.accepted", "offer", offer.id, org_id=row.org_id)
    return to_assignment(assignment, need_summary(row, row.id))


async def decline(tx: Tx, offer_id: UUID, reason: str | None) -> VolunteerOffer:
    now = tx.now
    offer = await _mine(tx, offer_id)
    _check_open(offer, now)
    await facts.load(tx.conn, offer.need_id, lock=True)
    await _close(tx, offer, OfferStatus.DECLINED, now, reason)
    # The next wave is the worker's: it may read other volunteers, the caller may not.
    await tx.conn.execute(update(needs).where(needs.c.id == offer.need_id).values(next_step_at=now))
    await audit.record(tx, "offer.declined", "offer", offer.id, org_id=offer.org_id)
    return _volunteer_offer(await _mine(tx, offer_id))


async def every_offer_of_mine(tx: Tx) -> list[VolunteerOffer]:
    """Every offer ever made to the caller, as they see it (their export)."""
    stmt = _MINE.where(offers.c.volunteer_id == tx.principal.user_id)
    return [_volunteer_offer(MyOffer.of(r)) for r in await tx.conn.execute(stmt)]


# -- caseworkers ------------------------------------------------------------------------------
async def _staff_need(tx: Tx, need_id: UUID, *, lock: bool = False) -> NeedRow:
    row = await facts.load(tx.conn, need_id, lock=lock)
    if row is None:
        raise NotFound("Need not found")
    tx.principal.require_role(row.org_id, *STAFF)
    return row


def _ranked_out(r: Ranked, name: str | None) -> RankedCandidate:
    return RankedCandidate(
        volunteer_id=r.volunteer_id,
        display_name=name,
        eligible=True,
        reasons=[],
        score=round(r.score, 4),
        distance_km=None if r.distance_m is None else round(r.distance_m / 1000, 2),
        travel_minutes=None if r.travel_minutes is None else round(r.travel_minutes, 1),
        explanation=explanations(cascade.explanation(r)),
    )


async def volunteer_names(tx: Tx, ids: Sequence[UUID]) -> dict[UUID, str]:
    """Display names of the organisation's volunteers (as staff see them on an offer): an
    audited read of each one's record, for each of the caller's organisations they belong to."""
    stmt = (
        select(volunteers.c.user_id, volunteers.c.display_name, memberships.c.org_id)
        .join(memberships, memberships.c.user_id == volunteers.c.user_id)
        .where(volunteers.c.user_id.in_(ids), memberships.c.role == "volunteer")
    )
    if not tx.principal.platform_admin:
        stmt = stmt.where(memberships.c.org_id.in_(tx.principal.orgs_with(*STAFF)))
    rows = (await tx.conn.execute(stmt)).all()
    await audit.record_volunteer_reads(
        tx, ((r.user_id, r.org_id) for r in rows), None, MATCHING_REASON
    )
    return {r.user_id: r.display_name for r in rows}


async def ranked_candidates(tx: Tx, need_id: UUID, limit: int) -> list[RankedCandidate]:
    """Eligible volunteers for the need, best first, each with the reasons for its score."""
    row = await _staff_need(tx, need_id)
    async with tx.reads() as reader:
        ranked = (await facts.rank(reader, row, limit * cascade.POOL, tx.now))[:limit]
    names = await volunteer_names(tx, [r.volunteer_id for r in ranked])
    return [_ranked_out(r, names.get(r.volunteer_id)) for r in ranked]


def _not_eligible_out(c: Candidate, reasons: Sequence[Reason], name: str | None) -> RankedCandidate:
    return RankedCandidate(
        volunteer_id=c.volunteer_id,
        display_name=name,
        eligible=False,
        reasons=list(reasons),
        score=None,
        distance_km=None if c.distance_m is None else round(c.distance_m / 1000, 2),
        travel_minutes=None,
        explanation=[],
    )


async def explain(tx: Tx, need_id: UUID, volunteer_id: UUID) -> RankedCandidate:
    """One volunteer against the need: their score, or every reason they cannot take it."""
    row = await _staff_need(tx, need_id)
    found = await candidates.named(tx.conn, facts.query_of(row, tx.now), [volunteer_id])
    if not found:
        raise NotFound("Volunteer not found in this organisation")
    names = await volunteer_names(tx, [volunteer_id])
    verdict = eligibility.check(facts.need_of(row), found[0])
    if not verdict.eligible:
        return _not_eligible_out(found[0], verdict.reasons, names.get(volunteer_id))
    ranked = scoring.rank(facts.need_of(row), found, facts.policy_of(row))
    return _ranked_out(ranked[0], names.get(volunteer_id))


def _staff_offer(row: AnyRow) -> StaffOffer:
    return StaffOffer(
        id=row.id,
        need_id=row.need_id,
        volunteer_id=row.volunteer_id,
        volunteer_name=row.display_name,
        status=OfferStatus(row.status),
        wave=row.wave,
        source=OfferSource(row.source),
        series=row.series_id is not None,
        score=row.score,
        explanation=explanations(row.explanation),
        created_at=row.created_at,
        expires_at=row.expires_at,
        responded_at=row.responded_at,
        decline_reason=row.decline_reason,
    )


async def need_offers(tx: Tx, need_id: UUID) -> list[StaffOffer]:
    """The need's offers with each volunteer's name: an audited read of the named ones."""
    row = await _staff_need(tx, need_id)
    stmt = (
        select(*offers.c, volunteers.c.display_name)
        .select_from(offers.outerjoin(volunteers, volunteers.c.user_id == offers.c.volunteer_id))
        .where(offers.c.need_id == need_id)
        .order_by(offers.c.created_at, offers.c.id)
    )
    made = [_staff_offer(r) for r in await tx.conn.execute(stmt)]
    named = ((o.volunteer_id, row.org_id) for o in made if o.volunteer_name is not None)
    await audit.record_volunteer_reads(tx, named, None, MATCHING_REASON)
    return made


async def offer(tx: Tx, need_id: UUID, volunteer_ids: Sequence[UUID] | None) -> list[StaffOffer]:
    """A caseworker's offer to named volunteers (each must be eligible), or the next wave
    now (also after an escalation: people have decided to try again)."""
    now = tx.now
    row = await _staff_need(tx, need_id, lock=True)
    if not slots.has_room(row):
        raise OfferClosed(f"the need is {row.status}: it takes no more offers")
    if volunteer_ids is None:
        async with tx.reads() as reader:
            messages = await cascade.wave_now(tx.conn, reader, row, now)
    else:
        messages = await _named_offers(tx, row, volunteer_ids, now)
    await enqueue(tx.conn, messages, now=tx.now)
    made = {m.payload["offer_id"] for m in messages if m.kind is Kind.OFFER_CREATED}
    await audit.record(
        tx, "offers.made", "need", row.id, org_id=row.org_id, details={"count": len(made)}
    )
    return [o for o in await need_offers(tx, need_id) if str(o.id) in made]


async def _named_offers(
    tx: Tx, row: NeedRow, volunteer_ids: Sequence[UUID], now: datetime
) -> list[Message]:
    wanted = list(dict.fromkeys(volunteer_ids))
    found = {
        c.volunteer_id: c for c in await candidates.named(tx.conn, facts.query_of(row, now), wanted)
    }
    need = facts.need_of(row)
    for i, volunteer_id in enumerate(wanted):
        c = found.get(volunteer_id)
        reasons = eligibility.check(need, c).reasons if c else (Reason.NOT_APPROVED,)
        if reasons:
            raise InvalidInput.field(f"volunteer_ids[{i}]", f"not eligible: {', '.join(reasons)}")
    ranked = scoring.rank(need, list(found.values()), facts.policy_of(row))
    return await cascade.make_offers(
        tx.conn, row, ranked, now, source=OfferSource.MANUAL, created_by=tx.principal.user_id
    )
