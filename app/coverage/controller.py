"""HTTP for coverage maps: hexagons and need points as GeoJSON, and Mapbox vector tiles."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter

from app.coverage import service
from app.coverage.schemas import HexCollection, MetricsReport, NeedCollection, parse_bbox
from app.db.tenancy import Db, tenant_transaction
from app.errors import InvalidInput
from app.identity.tokens import Caller
from app.problems import problem_responses
from app.settings import Settings
from geo.coverage import MAX_RESOLUTION, MIN_RESOLUTION

GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
TILE_CACHE = "private, max-age=60"

_NUMBER = r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*"
BBOX_PATTERN = rf"^{_NUMBER}(?:,{_NUMBER}){{3}}$"  # four numbers, as parse_bbox reads them
BBoxParam = Annotated[
    str,
    QueryParameter(
        max_length=200,
        pattern=BBOX_PATTERN,
        description="west,south,east,north in WGS 84 degrees (at most 2 degrees each way)",
        examples=[],
    ),
]
Resolution = Annotated[
    int,
    QueryParameter(
        ge=MIN_RESOLUTION,
        le=MAX_RESOLUTION,
        description="hexagon level: each level halves the cell size (13: ~1.5 km in England)",
    ),
]
Programme = Annotated[UUID | None, QueryParameter(description="one programme's needs and org")]
At = Annotated[datetime | None, QueryParameter(description="start of the 7-day period (now)")]


def _settings(request: Caller) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _max_age(request: Caller, at: datetime | None) -> timedelta | None:
    """Maps of the current week may use the worker's supply snapshot; other weeks may not."""
    if at is not None:
        return None
    return timedelta(seconds=_settings(request).coverage_snapshot_max_age_s)


class CoverageController(Controller):
    path = "/v1/coverage"
    tags = ["coverage"]

    @get(
        "/hexes",
        media_type=GEOJSON,
        summary="Supply, demand and gap per hexagon (GeoJSON)",
        responses=problem_responses(403, 404),
    )
    async def hexes(
        self,
        request: Caller,
        db: Db,
        bbox: FromQuery[BBoxParam],
        resolution: FromQuery[Resolution] = 13,
        programme: FromQuery[Programme] = None,
        at: FromQuery[At] = None,
    ) -> HexCollection:
        box = parse_bbox(bbox)
        async with tenant_transaction(db, request.user) as tx:
            scope = await service.scope_for(tx, programme, at, _settings(request).coverage_k_min)
            return await service.hexes(tx, scope, box, resolution, _max_age(request, at))

    @get(
        "/needs",
        media_type=GEOJSON,
        summary="Unfilled needs at coarse locations, grouped (GeoJSON)",
        responses=problem_responses(403, 404),
    )
    async def needs(
        self,
        request: Caller,
        db: Db,
        bbox: FromQuery[BBoxParam],
        programme: FromQuery[Programme] = None,
        at: FromQuery[At] = None,
    ) -> NeedCollection:
        box = parse_bbox(bbox)
        async with tenant_transaction(db, request.user) as tx:
            scope = await service.scope_for(tx, programme, at, _settings(request).coverage_k_min)
            return await service.need_points(tx, scope, box)

    @get(
        "/tiles/{z:int}/{x:int}/{tile_y:str}",
        media_type=MVT,
        summary="Vector tile: hexes, needs and service_areas layers (y ends in .mvt)",
        responses=problem_responses(403, 404),
    )
    async def tile(
        self,
        request: Caller,
        db: Db,
        z: FromPath[int],
        x: FromPath[int],
        tile_y: FromPath[str],
        programme: FromQuery[Programme] = None,
        at: FromQuery[At] = None,
    ) -> Response[bytes]:
        y_text, dot, ext = tile_y.partition(".")
        if dot != "." or ext != "mvt" or not y_text.isdigit() or len(y_text) > 8:
            raise InvalidInput.field("y", "the tile row then .mvt, e.g. 10.mvt")
        async with tenant_transaction(db, request.user) as tx:
            scope = await service.scope_for(tx, programme, at, _settings(request).coverage_k_min)
            body, etag, as_of = await service.tile(
                tx, scope, z, x, int(y_text), _max_age(request, at)
            )
        headers = {
            "Cache-Control": TILE_CACHE,
            "ETag": etag,
            "Vary": "Authorization",
            "X-Supply-As-Of": as_of.isoformat(),
        }
        if request.headers.get("if-none-match") == etag:
            return Response(b"", status_code=304, headers=headers, media_type=MVT)
        return Response(body, headers=headers, media_type=MVT)


class CoordinatorMetricsController(Controller):
    path = "/v1/metrics"
    tags = ["coverage"]

    @get(
        "/summary",
        summary="Fill rate, speed, alert load, fairness, no-shows, hours, outcomes",
        responses=problem_responses(403, 404),
    )
    async def summary(
        self,
        request: Caller,
        db: Db,
        from_: Annotated[
            datetime | None, QueryParameter(name="from", description="start (30 days before to)")
        ] = None,
        to: Annotated[datetime | None, QueryParameter(description="end, exclusive (now)")] = None,
        programme: FromQuery[Programme] = None,
    ) -> MetricsReport:
        async with tenant_transaction(db, request.user) as tx:
            return await service.metrics_report(tx, programme, from_, to)
