"""HTTP for service areas (coordinators draw them; staff read them with a summary)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, Response, delete, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody

from app.db.tenancy import Db, tenant_transaction
from app.http_responses import LOCATION, created
from app.identity.tokens import Caller
from app.pagination import Cursor, Limit, Page
from app.problems import problem_responses
from app.service_areas import service
from app.service_areas.schemas import ServiceArea, ServiceAreaIn, ServiceAreaPatch


class ServiceAreaController(Controller):
    path = "/v1/service-areas"
    tags = ["service areas"]

    @post(
        "/",
        summary="Draw a service area (coordinator); an invalid polygon is repaired and reported",
        responses=problem_responses(403, 404, 409),
        operation_id="createServiceArea",
        response_headers=LOCATION,
    )
    async def create(
        self, request: Caller, db: Db, data: JSONBody[ServiceAreaIn]
    ) -> Response[ServiceArea]:
        """A GeoJSON Polygon or MultiPolygon with its alert thresholds; an invalid polygon is
        repaired and `repair` says how. Coordinators only."""
        async with tenant_transaction(db, request.user) as tx:
            area = await service.create(tx, data)
        return created(area, f"{self.path}/{area.id}")

    @get(
        "/",
        summary="Service areas of my organisations",
        responses=problem_responses(),
        operation_id="listServiceAreas",
    )
    async def list_all(
        self,
        request: Caller,
        db: Db,
        org_id: FromQuery[UUID | None] = None,
        limit: Limit = 50,
        cursor: Cursor = None,
    ) -> Page[ServiceArea]:
        """A page of the service areas of the caller's organisations, or of one with `org_id`."""
        async with tenant_transaction(db, request.user) as tx:
            items, next_cursor = await service.list_areas(
                tx, org_id=org_id, limit=limit, cursor=cursor
            )
        return Page(items=items, next_cursor=next_cursor)

    @get(
        "/{area_id:uuid}",
        summary="One service area with its coverage summary",
        responses=problem_responses(403, 404),
        operation_id="getServiceArea",
    )
    async def get_one(self, request: Caller, db: Db, area_id: FromPath[UUID]) -> ServiceArea:
        """One service area, with a coverage summary of the next 7 days (small counts hidden)."""
        k_min = request.app.state.settings.coverage_k_min
        async with tenant_transaction(db, request.user) as tx:
            return await service.get(tx, area_id, with_summary=True, k_min=k_min)

    @patch(
        "/{area_id:uuid}",
        summary="Change a service area (coordinator)",
        responses=problem_responses(403, 404, 409),
        operation_id="updateServiceArea",
    )
    async def change(
        self, request: Caller, db: Db, area_id: FromPath[UUID], data: JSONBody[ServiceAreaPatch]
    ) -> ServiceArea:
        """Changes the fields sent (at least one). Coordinators only."""
        async with tenant_transaction(db, request.user) as tx:
            return await service.change(tx, area_id, data)

    @delete(
        "/{area_id:uuid}",
        summary="Delete a service area (coordinator)",
        responses=problem_responses(403, 404),
        operation_id="deleteServiceArea",
    )
    async def remove(self, request: Caller, db: Db, area_id: FromPath[UUID]) -> None:
        """Deletes the service area and its alerts. Coordinators only."""
        async with tenant_transaction(db, request.user) as tx:
            await service.remove(tx, area_id)
