"""HTTP for programmes."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.db.tenancy import Db, tenant_transaction
from app.http_responses import LOCATION, created
from app.identity.tokens import Caller
from app.pagination import Cursor, Limit, Page
from app.problems import problem_responses
from app.programmes import service
from app.programmes.schemas import Programme, ProgrammeIn, ProgrammePatch


class ProgrammeController(Controller):
    path = "/v1/programmes"
    tags = ["programmes"]

    @post(
        "/",
        summary="Create a programme with its offer policy (coordinator)",
        responses=problem_responses(403, 404, 409),
        operation_id="createProgramme",
        response_headers=LOCATION,
    )
    async def create(
        self, request: Caller, db: Db, data: JSONBody[ProgrammeIn]
    ) -> Response[Programme]:
        """A programme groups needs of one kind under an offer policy: minimum vetting, wave size,
        offer timeout, alert cap, waves, check-in radius and stale-claim timeout. Coordinators
        only."""
        async with tenant_transaction(db, request.user) as tx:
            programme = await service.create(tx, data)
        return created(programme, f"{self.path}/{programme.id}")

    @get(
        "/",
        summary="Programmes of my organisations",
        responses=problem_responses(),
        operation_id="listProgrammes",
    )
    async def list_all(
        self,
        request: Caller,
        db: Db,
        org_id: FromQuery[UUID | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[Programme]:
        """A page of the programmes of the caller's organisations, or of one with `org_id`."""
        async with tenant_transaction(db, request.user) as tx:
            items, next_cursor = await service.list_programmes(
                tx, org_id=org_id, limit=limit, cursor=cursor
            )
        return Page(items=items, next_cursor=next_cursor)

    @get(
        "/{programme_id:uuid}",
        summary="One programme",
        responses=problem_responses(404),
        operation_id="getProgramme",
    )
    async def get_one(self, request: Caller, db: Db, programme_id: FromPath[UUID]) -> Programme:
        """One programme of the caller's organisations, with its offer policy."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.get(tx, programme_id)

    @patch(
        "/{programme_id:uuid}",
        summary="Change a programme's policy (coordinator)",
        responses=problem_responses(403, 404, 409),
        operation_id="updateProgramme",
    )
    async def update(
        self,
        request: Caller,
        db: Db,
        programme_id: FromPath[UUID],
        data: JSONBody[ProgrammePatch],
    ) -> Programme:
        """Changes the fields sent (at least one); the others stay. Coordinators only."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.update_programme(tx, programme_id, data)
