"""HTTP for coverage maps: hexagons and need points as GeoJSON, and Mapbox vector tiles."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

from litestar import Controller, Response, get
from litestar.params import FromPath, FromQuery, Parameter, QueryParameter

from app.conditional import NOT_MODIFIED, matches
from app.coverage import cells, report, report_csv, report_pdf, service
from app.coverage.schemas import (
    CELL_PATTERN,
    CellNeeds,
    HexCollection,
    MetricsReport,
    NeedCollection,
    parse_bbox,
    parse_cell,
)
from app.db.tenancy import Db, tenant_transaction
from app.errors import InvalidInput
from app.http_params import AccessReason, instant, instant_query
from app.identity.tokens import Caller
from app.problems import problem_responses
from app.settings import Settings
from geo.coverage import MAX_RESOLUTION, MIN_RESOLUTION

GEOJSON = "application/geo+json"
MVT = "application/vnd.mapbox-vector-tile"
CSV = "text/csv; charset=utf-8"
PDF = "application/pdf"
TILE_CACHE = "private, max-age=60"
# Spaces only, not `\s`: Python's float() and ECMA-262 (the document's) read `\s` differently.
_NUMBER = r" *[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)? *"
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
At = Annotated[str | None, instant_query("start of the 7-day period (now)")]
# A report's period: the summary's, its CSV's and its PDF's.
PeriodFrom = Annotated[str | None, instant_query("start (30 days before to)", name="from")]
PeriodTo = Annotated[str | None, instant_query("end, exclusive (now)")]
Cell = Annotated[
    str,
    Parameter(
        max_length=20,
        pattern=CELL_PATTERN,
        description="a hexagon's `cell` (i,j) from GET /v1/coverage/hexes at `resolution`",
    ),
]


def _settings(request: Caller) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _k_min(request: Caller) -> int:
    return _settings(request).coverage_k_min


def _max_age(request: Caller, at: str | None) -> timedelta | None:
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
        operation_id="getCoverageHexes",
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
        """A GeoJSON FeatureCollection of the hexagons in `bbox`: the volunteers whose travel radius
        reaches each, the demand of the 7-day period, its accessible supply (each volunteer's
        capped hours shared among the needs they could take, weighted by distance: `method`)
        and the unmet demand (`gap_hours`); a cell describing fewer than `k_min` clients
        shows none of these figures."""
        box = parse_bbox(bbox)
        async with tenant_transaction(db, request.user) as tx:
            scope = await service.scope_for(
                tx, programme, instant(at, "at"), _settings(request).coverage_k_min
            )
            return await service.hexes(tx, scope, box, resolution, _max_age(request, at))

    @get(
        "/needs",
        media_type=GEOJSON,
        summary="Unfilled needs at coarse locations, grouped (GeoJSON)",
        responses=problem_responses(403, 404),
        operation_id="getCoverageNeeds",
    )
    async def needs(
        self,
        request: Caller,
        db: Db,
        bbox: FromQuery[BBoxParam],
        programme: FromQuery[Programme] = None,
        at: FromQuery[At] = None,
    ) -> NeedCollection:
        """GeoJSON points of unfilled needs, grouped at coarse locations, never exact addresses;
        small groups are suppressed."""
        box = parse_bbox(bbox)
        async with tenant_transaction(db, request.user) as tx:
            scope = await service.scope_for(
                tx, programme, instant(at, "at"), _settings(request).coverage_k_min
            )
            return await service.need_points(tx, scope, box)

    @get(
        "/cells/{cell:str}/needs",
        summary="One hexagon's unfilled needs, coarse, with status and escalation",
        responses=problem_responses(403, 404),
        operation_id="listCellNeeds",
    )
    async def cell_needs(
        self,
        request: Caller,
        db: Db,
        cell: FromPath[Cell],
        resolution: FromQuery[Resolution] = 13,
        programme: FromQuery[Programme] = None,
        at: FromQuery[At] = None,
        access_reason: AccessReason = None,
    ) -> CellNeeds:
        """The open and partially filled needs the map counts in the hexagon `cell` (as the
        hexagons name it, at the same `resolution`, `programme` and `at`): escalated first, each
        at its coarse location (never the address) with its status, escalation reason and
        its part of the cell's gap. A cell describing fewer than `k_min` clients lists none
        (`suppressed`). The read is audited as a read of the needs' clients, with
        `X-Access-Reason` as its reason."""
        where = parse_cell(cell)
        async with tenant_transaction(db, request.user) as tx:
            scope = await service.scope_for(
                tx, programme, instant(at, "at"), _settings(request).coverage_k_min
            )
            return await cells.needs_in(
                tx, scope, resolution, where, _max_age(request, at), access_reason
            )

    @get(
        "/tiles/{z:int}/{x:int}/{tile_y:str}",
        media_type=MVT,
        summary="Vector tile: hexes, needs and service_areas layers",
        responses={**problem_responses(403, 404), **NOT_MODIFIED},
        operation_id="getCoverageTile",
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
        """A Mapbox vector tile with the layers `hexes`, `needs` and `service_areas`, under the
        privacy rules of the GeoJSON maps. Carries an `ETag` (an empty 304 answers a matching
        `If-None-Match`), `Cache-Control: private, max-age=60`, `X-Supply-As-Of` and
        `X-Coverage-Method` (how supply and gap were computed, as in the GeoJSON `method`)."""
        y_text, dot, ext = tile_y.partition(".")
        if dot != "." or ext != "mvt" or not y_text.isdigit() or len(y_text) > 8:
            raise InvalidInput.field("y", "the tile row then .mvt, e.g. 10.mvt")
        async with tenant_transaction(db, request.user) as tx:
            scope = await service.scope_for(
                tx, programme, instant(at, "at"), _settings(request).coverage_k_min
            )
            tile = await service.tile(tx, scope, z, x, int(y_text), _max_age(request, at))
        headers = {
            "Cache-Control": TILE_CACHE,
            "ETag": tile.etag,
            "Vary": "Authorization",
            "X-Supply-As-Of": tile.supply_as_of.isoformat(),
            "X-Coverage-Method": tile.method,
        }
        if matches(request.headers.get("if-none-match"), tile.etag):
            return Response(b"", status_code=304, headers=headers, media_type=MVT)
        return Response(tile.body, headers=headers, media_type=MVT)


class CoordinatorMetricsController(Controller):
    path = "/v1/metrics"
    tags = ["metrics"]

    @get(
        "/summary",
        summary="Fill rate, speed, fairness, no-shows, hours, outcomes; previous period; areas",
        responses=problem_responses(403, 404),
        operation_id="getMetrics",
    )
    async def summary(
        self,
        request: Caller,
        db: Db,
        from_: PeriodFrom = None,
        to: PeriodTo = None,
        programme: FromQuery[Programme] = None,
    ) -> MetricsReport:
        """Fill rate, time to first offer, to accept and to fill, alerts per filled slot, fairness
        of offers (Gini), no-show rate, hours given, active volunteers and outcomes (recorded,
        and counted per category: every category is present, 0 when none), overall and per
        programme, for a period (the last 30 days by default).

        `previous` holds the overall figures of the period of the same length just before
        `from`, for comparison. `service_areas` breaks the period's needs down by the service
        area their coarse location lies in (areas may overlap; a need outside every area is in
        none); an area whose needs describe fewer than `k_min` clients shows no figures
        (`suppressed`), as on the map."""
        async with tenant_transaction(db, request.user) as tx:
            return await report.metrics_report(
                tx, programme, instant(from_, "from"), instant(to, "to"), _k_min(request)
            )

    @get(
        "/needs.csv",
        media_type=CSV,
        summary="One row per need of the summary (CSV), for an analyst",
        responses=problem_responses(403, 404),
        operation_id="getMetricsNeedsCsv",
    )
    async def needs_csv(
        self,
        request: Caller,
        db: Db,
        from_: PeriodFrom = None,
        to: PeriodTo = None,
        programme: FromQuery[Programme] = None,
    ) -> Response[bytes]:
        """The needs `GET /v1/metrics/summary` counts for the same `from`, `to` and
        `programme`, one row each (RFC 4180, UTF-8, a header row): ids, programme, when
        created, first offered and filled, status, urgency, mode, slots and filled, duration,
        completed assignments, no-shows, minutes and hours given, seconds to first offer and
        to fill, outcome, and the service areas the need's coarse location lies in (none
        named where the summary suppresses the area). Never the client's name, address,
        phone or the need's title. Its sums are the summary's figures. Audited as a read of
        the report (`report.read`)."""
        async with tenant_transaction(db, request.user) as tx:
            body, name = await report_csv.needs_csv(
                tx, programme, instant(from_, "from"), instant(to, "to"), _k_min(request)
            )
        disposition = f'attachment; filename="{name}"'
        return Response(body, media_type=CSV, headers={"Content-Disposition": disposition})

    @get(
        "/report.pdf",
        media_type=PDF,
        summary="The summary's key figures, outcomes and areas as a PDF for printing",
        responses=problem_responses(403, 404),
        operation_id="getMetricsReportPdf",
    )
    async def report_pdf(
        self,
        request: Caller,
        db: Db,
        from_: PeriodFrom = None,
        to: PeriodTo = None,
        programme: FromQuery[Programme] = None,
    ) -> Response[bytes]:
        """`GET /v1/metrics/summary` for the same `from`, `to` and `programme` as an A4 PDF
        (in English): the key figures beside the previous period's, the outcomes per category
        with a chart, the service areas (hidden below `k_min` clients, as on the map) and the
        programmes. Audited as a read of the report (`report.read`)."""
        async with tenant_transaction(db, request.user) as tx:
            page = await report_pdf.prepare(
                tx, programme, instant(from_, "from"), instant(to, "to"), _k_min(request), str, "en"
            )
        disposition = f'attachment; filename="{page.filename}"'
        body = await report_pdf.render(page)
        return Response(body, media_type=PDF, headers={"Content-Disposition": disposition})
