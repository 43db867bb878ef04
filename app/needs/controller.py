"""HTTP for needs (caseworkers and coordinators)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.db.tenancy import Db, tenant_transaction
from app.http_params import AccessReason
from app.http_responses import LOCATION, created
from app.identity.tokens import Caller
from app.needs import service
from app.needs.queue import WorkQueue, work_queue
from app.needs.schemas import CancelIn, Created, Need, NeedIn, NeedPatch
from app.needs.status import NeedStatus
from app.pagination import Cursor, Limit, Page
from app.problems import problem_responses


class NeedController(Controller):
    path = "/v1/needs"
    tags = ["needs"]

    @post(
        "/",
        summary="Post a need, one-off or a weekly series",
        responses=problem_responses(403, 404),
        operation_id="postNeed",
        response_headers=LOCATION,
    )
    async def create(self, request: Caller, db: Db, data: JSONBody[NeedIn]) -> Response[Created]:
        """A need of a programme; with `recurrence` (an RRULE) a series whose occurrences are
        created at once. `dispatch` says how it is filled: a timed cascade of offers, an open
        call, or offers a caseworker makes. A draft is offered to no one until opened."""
        async with tenant_transaction(db, request.user) as tx:
            made = await service.create(tx, data)
        return created(made, f"{self.path}/{made.need.id}")  # the first of a series

    @get(
        "/",
        summary="Needs of my organisations",
        responses=problem_responses(),
        operation_id="listNeeds",
    )
    async def list_all(
        self,
        request: Caller,
        db: Db,
        status: FromQuery[NeedStatus | None] = None,
        programme_id: FromQuery[UUID | None] = None,
        escalated: FromQuery[bool | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
        access_reason: AccessReason = None,
    ) -> Page[Need]:
        """A page of the needs of the caller's organisations, by status, programme or escalation."""
        async with tenant_transaction(db, request.user) as tx:
            items, next_cursor = await service.list_needs(
                tx,
                status=status,
                programme_id=programme_id,
                escalated=escalated,
                limit=limit,
                cursor=cursor,
                reason=access_reason,
            )
        return Page(items=items, next_cursor=next_cursor)

    @get(
        "/attention",
        summary="My work queue: the needs that want a person now",
        responses=problem_responses(),
        operation_id="listNeedsWantingAttention",
    )
    async def attention(
        self, request: Caller, db: Db, limit: Limit = 50, access_reason: AccessReason = None
    ) -> WorkQueue:
        """The needs of the caller's organisations whose offers ran out, then those starting
        within 24 hours with slots still to fill, soonest first: what the console's needs
        page shows at its top. Each returned need is an audited read."""
        async with tenant_transaction(db, request.user) as tx:
            items, more = await work_queue(tx, limit=limit, reason=access_reason)
        return WorkQueue(items=items, more=more)

    @get(
        "/{need_id:uuid}",
        summary="One need",
        responses=problem_responses(403, 404),
        operation_id="getNeed",
    )
    async def get_one(
        self, request: Caller, db: Db, need_id: FromPath[UUID], access_reason: AccessReason = None
    ) -> Need:
        """One need in the staff view, exact location included; the read is audited, with
        `X-Access-Reason` as its reason."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.read(tx, need_id, access_reason)

    @patch(
        "/{need_id:uuid}",
        summary="Change a need (or open a draft)",
        responses=problem_responses(403, 404, 409),
        operation_id="updateNeed",
    )
    async def change(
        self,
        request: Caller,
        db: Db,
        need_id: FromPath[UUID],
        data: JSONBody[NeedPatch],
        access_reason: AccessReason = None,
    ) -> Need:
        """Changes the fields sent (at least one); `status: open` opens a draft."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.change(tx, need_id, data, access_reason)

    @post(
        "/{need_id:uuid}/cancel",
        status_code=200,
        summary="Cancel a need",
        responses=problem_responses(403, 404, 409),
        operation_id="cancelNeed",
    )
    async def cancel(
        self, request: Caller, db: Db, need_id: FromPath[UUID], data: JSONBody[CancelIn]
    ) -> Need:
        """Cancels the need with a reason: its open offers are withdrawn and assigned volunteers are
        told."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.cancel(tx, need_id, data.reason)
