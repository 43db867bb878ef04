"""Wire shapes for map layers: GeoJSON (RFC 7946) feature collections, and the bbox rule."""

from __future__ import annotations

import math
import re
from datetime import datetime
from uuid import UUID

import msgspec

from app.errors import InvalidInput
from app.locations import Location
from app.needs.status import NeedStatus
from geo.coverage import hex_area
from matching.model import Dispatch, Escalation, Urgency

MAX_BBOX_DEG = 2.0  # a borough or a county, not a country
MAX_CELLS = 6000
MERCATOR_MAX_LAT = 85.05112878

BBox = tuple[float, float, float, float]


class Polygon(msgspec.Struct, tag_field="type", tag="Polygon"):
    coordinates: list[list[list[float]]]


class Point(msgspec.Struct, tag_field="type", tag="Point"):
    coordinates: list[float]


class HexProperties(msgspec.Struct, kw_only=True):
    cell: str  # "i,j" in the fixed grid of this resolution
    volunteers: int  # approved volunteers with hours to give whose travel radius reaches it
    on_duty: int  # ... of whom on duty now
    # The accessible supply of the cell's needs (None: suppressed): each volunteer's capped
    # hours shared among the needs they could take, distance-weighted (`method`).
    supply_hours: float | None
    needs: int | None  # open and partially filled needs (None: suppressed, fewer than k)
    open_slots: int | None
    demand_hours: float | None  # unfilled volunteer-hours
    # Unmet demand: each need's demand hours less its accessible supply, floored at 0,
    # summed over the cell's needs. Above zero, help is missing.
    gap_hours: float | None
    suppressed: bool


class CoverageMethod(msgspec.Struct, kw_only=True):
    """What produced the supply and gap figures."""

    name: str  # "e2sfca": enhanced two-step floating catchment area (Luo & Qi 2009)
    decay: str  # "gaussian": weight exp(-(d / d0)^2 / 2) within d0, 0 beyond
    catchment: str  # "travel_radius": d0 is each volunteer's own travel radius
    remote_weight: float  # a remote need is reached from anywhere at this weight
    capped_hours: str  # what each volunteer could bring
    # The share of offers expected to be accepted: each volunteer's capped hours times this
    # are the hours they bring. The organisations' accepted offers over answered ones in the
    # weeks before the period, with a prior (`acceptance_basis`).
    acceptance: float
    acceptance_offers: int  # the answered offers it rests on
    acceptance_basis: str


class HexFeature(msgspec.Struct, tag_field="type", tag="Feature"):
    id: str
    geometry: Polygon
    properties: HexProperties


class HexCollection(msgspec.Struct, tag_field="type", tag="FeatureCollection"):
    features: list[HexFeature]
    resolution: int
    period_start: str
    period_end: str
    k_min: int
    supply_as_of: str  # when the supply figures were computed (the worker's snapshot, or now)
    method: CoverageMethod


class NeedProperties(msgspec.Struct, kw_only=True):
    needs: int
    open_slots: int
    demand_hours: float


class NeedFeature(msgspec.Struct, tag_field="type", tag="Feature"):
    geometry: Point
    properties: NeedProperties


class NeedCollection(msgspec.Struct, tag_field="type", tag="FeatureCollection"):
    features: list[NeedFeature]


CELL_PATTERN = r"^-?[0-9]{1,9},-?[0-9]{1,9}$"


class CellNeed(msgspec.Struct, kw_only=True):
    """An unfilled need as the map counts it: its coarse location only, never the address."""

    id: UUID
    org_id: UUID
    programme_id: UUID
    title: str
    status: NeedStatus  # open or partially_filled
    urgency: Urgency
    dispatch: Dispatch
    slots: int
    filled: int
    duration_minutes: int
    starts_at: datetime  # its first window's start
    ends_at: datetime  # its last window's end
    waves_sent: int
    escalated_at: datetime | None  # the cascade ran out: a person must decide
    escalation_reason: Escalation | None  # why the cascade stopped
    coarse_location: Location  # the fixed ~500 m cell centre the map places it at
    demand_hours: float  # open slots x duration
    supply_hours: float  # its accessible supply (`method` of the map)
    unmet_hours: float  # demand less supply, floored at 0: its part of the cell's gap


class CellNeeds(msgspec.Struct, kw_only=True):
    cell: str  # "i,j" as in the hexagons' `cell`
    resolution: int
    period_start: str
    period_end: str
    k_min: int
    # The cell describes fewer than k clients: no need is listed (as the map shows no figure).
    suppressed: bool
    total: int | None  # needs in the cell (None: suppressed); at most 200 are listed
    needs: list[CellNeed]  # escalated first, then by start
    supply_as_of: str  # when the listed needs' supply was computed


def parse_cell(raw: str) -> tuple[int, int]:
    """`i,j`: a hexagon's column and row, as the hexagons' `cell` names it."""
    if not re.fullmatch(CELL_PATTERN, raw):
        raise InvalidInput.field("cell", "a hexagon's i,j as in the map's cells, e.g. 1234,-56")
    i, j = raw.split(",")
    return int(i), int(j)


def parse_bbox(raw: str) -> BBox:
    """`west,south,east,north` in WGS 84 degrees, small enough to map."""
    parts = raw.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InvalidInput.field("bbox", "four numbers: west,south,east,north") from None
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise InvalidInput.field("bbox", "four numbers: west,south,east,north")
    west, south, east, north = values
    if not all(-180 <= v <= 180 for v in (west, east)):
        raise InvalidInput.field("bbox", "longitudes must be within [-180, 180]")
    if not all(-MERCATOR_MAX_LAT <= v <= MERCATOR_MAX_LAT for v in (south, north)):
        raise InvalidInput.field("bbox", f"latitudes must be within +-{MERCATOR_MAX_LAT}")
    if west >= east or south >= north:
        raise InvalidInput.field("bbox", "inverted or empty: west < east and south < north")
    if east - west > MAX_BBOX_DEG or north - south > MAX_BBOX_DEG:
        raise InvalidInput.field("bbox", f"at most {MAX_BBOX_DEG} degrees wide and tall")
    return west, south, east, north


def check_cell_count(bbox: BBox, resolution: int) -> None:
    west, south, east, north = bbox
    width = math.radians(east - west) * 6_378_137
    height = 6_378_137 * (_mercator_y(north) - _mercator_y(south))
    if width * height / hex_area(resolution) > MAX_CELLS:
        raise InvalidInput.field(
            "resolution", f"too fine for this bbox (more than {MAX_CELLS} cells): zoom in"
        )


def _mercator_y(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


class Percentiles(msgspec.Struct):
    p50: float | None
    p90: float | None


class OutcomeCounts(msgspec.Struct, kw_only=True):
    """Needs of the period by the outcome recorded for the person helped (app.assignments
    Outcome): every category, 0 when none."""

    done: int
    partly_done: int
    not_home: int
    not_needed: int
    referred: int
    safeguarding_concern: int


class Metrics(msgspec.Struct, kw_only=True):
    needs: int  # created in the period, neither draft nor cancelled
    filled: int
    fill_rate: float | None
    time_to_first_offer_s: Percentiles
    time_to_accept_s: Percentiles  # offer made -> accepted
    time_to_fill_s: Percentiles
    offers: int  # made in the period ("alerts")
    filled_slots: int
    alerts_per_filled_slot: float | None
    on_duty_volunteers: int  # approved volunteers on duty now
    on_duty_offered_share: float | None  # ... of whom offered at least one need in the period
    offers_gini: float | None  # inequality of offers among approved volunteers (0: equal)
    no_show_rate: float | None  # no-shows / (completed + no-shows)
    completed_hours: float  # hours given: minutes of completed assignments / 60
    outcomes_recorded: int
    outcomes: OutcomeCounts  # outcomes_recorded by category
    active_volunteers: int  # distinct volunteers with a completed assignment on these needs


class ProgrammeMetrics(msgspec.Struct, kw_only=True):
    programme_id: str
    name: str
    metrics: Metrics


class AreaMetrics(msgspec.Struct, kw_only=True):
    """The period's needs whose coarse location lies in a service area (areas may overlap,
    and a need outside every area is in none). Needs of fewer than `k_min` clients show no
    figures (`suppressed`), as on the map."""

    service_area_id: str
    name: str
    suppressed: bool
    needs: int | None
    filled: int | None
    filled_slots: int | None
    completed_hours: float | None
    outcomes_recorded: int | None


class PreviousPeriod(msgspec.Struct, kw_only=True):
    """The period of the same length just before, for comparison."""

    period_start: str
    period_end: str
    overall: Metrics


class MetricsReport(msgspec.Struct, kw_only=True):
    period_start: str
    period_end: str
    overall: Metrics
    programmes: list[ProgrammeMetrics]
    previous: PreviousPeriod
    k_min: int
    service_areas: list[AreaMetrics]
