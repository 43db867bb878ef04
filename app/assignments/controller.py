"""HTTP for assignments: the volunteer's check-in, completion and withdrawal, open calls,
and the caseworker's no-shows and outcomes."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from app import idempotency
from app.assignments import open_calls, service
from app.assignments.schemas import (
    Assignment,
    CheckInIn,
    CompleteIn,
    NeedOutcomeIn,
    NoShowIn,
    WithdrawIn,
)
from app.db.tenancy import Db, tenant_transaction
from app.http_params import AccessReason, IdempotencyKey, LatitudeQuery, LongitudeQuery
from app.identity.tokens import Caller
from app.needs.schemas import NeedSummary
from app.pagination import Cursor, Limit, Page
from app.problems import problem_responses

RadiusKm = Annotated[float, QueryParameter(gt=0, le=100, description="Search radius, km")]
FeedLimit = Annotated[int, QueryParameter(ge=1, le=100, description="How many, 1..100")]


class AssignmentController(Controller):
    path = "/v1"

    @get(
        "/volunteers/me/assignments",
        summary="My assignments, in the order they changed (delta sync with `since`)",
        responses=problem_responses(),
        operation_id="listMyAssignments",
        tags=["assignments"],
    )
    async def mine(
        self,
        request: Caller,
        db: Db,
        since: Cursor = None,
        active: FromQuery[bool] = False,
        limit: Limit = 50,
    ) -> Page[Assignment]:
        """The caller's assignments in the order they changed; `active` keeps those not ended.
        `next_cursor` is the resume point: pass it later as `since` to get only what changed."""
        async with tenant_transaction(db, request.user) as tx:
            items, cursor = await service.list_mine(
                tx, since=since, active_only=active, limit=limit
            )
        return Page(items=items, next_cursor=cursor)

    @get(
        "/volunteers/me/assignments/{assignment_id:uuid}",
        summary="One of my assignments: the exact place and the person's contact while active",
        responses=problem_responses(404),
        operation_id="getMyAssignment",
        tags=["assignments"],
    )
    async def one(
        self,
        request: Caller,
        db: Db,
        assignment_id: FromPath[UUID],
        access_reason: AccessReason = None,
    ) -> Assignment:
        """One of the caller's assignments; the exact place and the client's contact are shown only
        while it is active."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.mine(tx, assignment_id, access_reason)

    @get(
        "/volunteers/me/feed",
        summary="Open calls near a place that I could take (coarse locations only)",
        responses=problem_responses(),
        operation_id="listOpenCalls",
        tags=["open calls"],
    )
    async def feed(
        self,
        request: Caller,
        db: Db,
        lat: LatitudeQuery,
        lon: LongitudeQuery,
        radius_km: RadiusKm = 10,
        limit: FeedLimit = 50,
    ) -> list[NeedSummary]:
        """Open calls within `radius_km` of a place that the caller could take, at coarse locations
        only."""
        async with tenant_transaction(db, request.user) as tx:
            return await open_calls.feed(tx, lat, lon, radius_km, limit)

    @post(
        "/needs/{need_id:uuid}/claim",
        status_code=200,
        summary="Claim a slot of an open call",
        responses=problem_responses(404, 409),
        operation_id="claimNeed",
        tags=["open calls"],
    )
    async def claim(
        self,
        request: Caller,
        db: Db,
        need_id: FromPath[UUID],
        idempotency_key: IdempotencyKey = None,
    ) -> Assignment:
        """Takes a slot of an open call, first come first served; a call that is full or closed is a
        409."""
        return await idempotency.run_once(
            request, db, idempotency_key, Assignment, lambda tx: open_calls.claim(tx, need_id)
        )

    @post(
        "/assignments/{assignment_id:uuid}/check-in",
        status_code=200,
        summary="Check in on arrival (within the programme's radius of the need)",
        responses=problem_responses(404, 409),
        operation_id="checkIn",
        tags=["assignments"],
    )
    async def check_in(
        self,
        request: Caller,
        db: Db,
        assignment_id: FromPath[UUID],
        data: JSONBody[CheckInIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Assignment:
        """Records arrival; the location sent must be within the programme's check-in radius of the
        need."""
        return await idempotency.run_once(
            request,
            db,
            idempotency_key,
            Assignment,
            lambda tx: service.check_in(tx, assignment_id, data),
        )

    @post(
        "/assignments/{assignment_id:uuid}/complete",
        status_code=200,
        summary="Complete: minutes given, outcome, a note",
        responses=problem_responses(404, 409),
        operation_id="completeAssignment",
        tags=["assignments"],
    )
    async def complete(
        self,
        request: Caller,
        db: Db,
        assignment_id: FromPath[UUID],
        data: JSONBody[CompleteIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Assignment:
        """Records that the visit is done, with the minutes given, the outcome and a note."""
        return await idempotency.run_once(
            request,
            db,
            idempotency_key,
            Assignment,
            lambda tx: service.complete(tx, assignment_id, data),
        )

    @post(
        "/assignments/{assignment_id:uuid}/withdraw",
        status_code=200,
        summary="Give the slot back before starting; it is offered to someone else",
        responses=problem_responses(404, 409),
        operation_id="withdrawAssignment",
        tags=["assignments"],
    )
    async def withdraw(
        self,
        request: Caller,
        db: Db,
        assignment_id: FromPath[UUID],
        data: JSONBody[WithdrawIn],
        idempotency_key: IdempotencyKey = None,
    ) -> Assignment:
        """Gives the slot back before the start, with a reason; the need is offered to another."""
        return await idempotency.run_once(
            request,
            db,
            idempotency_key,
            Assignment,
            lambda tx: service.withdraw(tx, assignment_id, data.reason),
        )

    @post(
        "/assignments/{assignment_id:uuid}/no-show",
        status_code=200,
        summary="Record that the volunteer did not come (staff)",
        responses=problem_responses(403, 404, 409),
        operation_id="recordNoShow",
        tags=["assignments"],
    )
    async def no_show(
        self,
        request: Caller,
        db: Db,
        assignment_id: FromPath[UUID],
        data: JSONBody[NoShowIn],
    ) -> Assignment:
        """Records that the volunteer did not come (staff)."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.no_show(tx, assignment_id, data.note)

    @get(
        "/needs/{need_id:uuid}/assignments",
        summary="A need's assignments (staff)",
        responses=problem_responses(403, 404),
        operation_id="listNeedAssignments",
        tags=["assignments"],
    )
    async def of_need(self, request: Caller, db: Db, need_id: FromPath[UUID]) -> list[Assignment]:
        """Every assignment of the need (staff)."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.of_need(tx, need_id)

    @post(
        "/needs/{need_id:uuid}/outcome",
        status_code=204,
        summary="Record how it went for the person helped (staff)",
        responses=problem_responses(403, 404, 409),
        operation_id="recordOutcome",
        tags=["assignments"],
    )
    async def outcome(
        self,
        request: Caller,
        db: Db,
        need_id: FromPath[UUID],
        data: JSONBody[NeedOutcomeIn],
    ) -> None:
        """Records how it went for the person helped (staff)."""
        async with tenant_transaction(db, request.user) as tx:
            await service.record_outcome(tx, need_id, data)
