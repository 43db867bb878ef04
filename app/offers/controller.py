"""HTTP for offers: volunteers answer them; caseworkers see candidates and make offers."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app import idempotency
from app.assignments.schemas import Assignment
from app.db.tenancy import Db, tenant_transaction
from app.http_params import IdempotencyKey
from app.http_responses import LOCATION, created
from app.identity.tokens import Caller
from app.offers import admission, service
from app.offers.admission import AcceptAdmission
from app.offers.schemas import DeclineIn, OffersIn, RankedCandidate, StaffOffer, VolunteerOffer
from app.pagination import Cursor, Limit, Page
from app.problems import problem_responses

CandidateLimit = Annotated[int, QueryParameter(ge=1, le=100, description="How many, 1..100")]


class OfferController(Controller):
    path = "/v1"
    tags = ["offers"]

    @get(
        "/volunteers/me/offers",
        summary="My open offers; or, with `since`, every offer of mine that changed (delta sync)",
        description="Ordered by when each offer last changed (made, then answered, expired or "
        "withdrawn). `next_cursor` is always the resume point: pass it as `cursor` for the next "
        "page of the same list, or later as `since` to get only what changed after it.",
        responses=problem_responses(),
        operation_id="listMyOffers",
    )
    async def mine(
        self,
        request: Caller,
        db: Db,
        since: Cursor = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Page[VolunteerOffer]:
        async with tenant_transaction(db, request.user) as tx:
            items, next_cursor = await service.my_offers(
                tx, since=since, cursor=cursor, limit=limit
            )
        return Page(items=items, next_cursor=next_cursor)

    @post(
        "/offers/{offer_id:uuid}/accept",
        status_code=200,
        summary="Accept an offer: take a slot of the need",
        description="Exactly one volunteer wins each slot, however many accept at once; the "
        "others get a 409 `need-filled`. An expired, withdrawn or answered offer is a 409 "
        "`offer-closed`; vetting that lapsed since the offer is a 409 `not-eligible`.",
        responses=problem_responses(404, 409),
        operation_id="acceptOffer",
    )
    async def accept(
        self,
        request: Caller,
        db: Db,
        offer_id: FromPath[UUID],
        idempotency_key: IdempotencyKey = None,
    ) -> Assignment:
        gate: AcceptAdmission = request.app.state.accept_admission
        return await admission.accept(gate, request, db, offer_id, idempotency_key)

    @post(
        "/offers/{offer_id:uuid}/decline",
        status_code=200,
        summary="Decline an offer, optionally saying why",
        responses=problem_responses(404, 409),
        operation_id="declineOffer",
    )
    async def decline(
        self,
        request: Caller,
        db: Db,
        offer_id: FromPath[UUID],
        data: JSONBody[DeclineIn | None] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> VolunteerOffer:
        """Declines an open offer, optionally saying why; an offer already answered or closed is a
        409."""
        reason = data.reason if data else None
        return await idempotency.run_once(
            request,
            db,
            idempotency_key,
            VolunteerOffer,
            lambda tx: service.decline(tx, offer_id, reason),
        )

    @get(
        "/needs/{need_id:uuid}/candidates",
        summary="Ranked eligible volunteers for a need, with the reasons for each score",
        description="With `volunteer_id`, that one volunteer: their score, or every reason "
        "they cannot take the need.",
        responses=problem_responses(403, 404),
        operation_id="listCandidates",
    )
    async def candidates(
        self,
        request: Caller,
        db: Db,
        need_id: FromPath[UUID],
        limit: CandidateLimit = 20,
        volunteer_id: FromQuery[UUID | None] = None,
    ) -> list[RankedCandidate]:
        async with tenant_transaction(db, request.user) as tx:
            if volunteer_id is not None:
                return [await service.explain(tx, need_id, volunteer_id)]
            return await service.ranked_candidates(tx, need_id, limit)

    @get(
        "/needs/{need_id:uuid}/offers",
        summary="A need's offers and their answers",
        responses=problem_responses(403, 404),
        operation_id="listNeedOffers",
    )
    async def need_offers(
        self, request: Caller, db: Db, need_id: FromPath[UUID]
    ) -> list[StaffOffer]:
        """Every offer made for the need, with its status and answer (staff)."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.need_offers(tx, need_id)

    @post(
        "/needs/{need_id:uuid}/offers",
        summary="Offer a need to named volunteers, or send its next wave now",
        description="`Location` is the need's offers, where the new ones are listed.",
        responses=problem_responses(403, 404, 409),
        operation_id="makeOffers",
        response_headers=LOCATION,
    )
    async def make_offers(
        self, request: Caller, db: Db, need_id: FromPath[UUID], data: JSONBody[OffersIn]
    ) -> Response[list[StaffOffer]]:
        """With `volunteer_ids`, offers the need to those volunteers; without, sends the need's next
        wave now (staff)."""
        async with tenant_transaction(db, request.user) as tx:
            made = await service.offer(tx, need_id, data.volunteer_ids)
        return created(made, request.url.path)
