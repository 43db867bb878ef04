"""Wire shapes for service areas: GeoJSON (RFC 7946) polygons in, MultiPolygons out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.wire import TEXT_PATTERN

Position = Annotated[list[float], msgspec.Meta(min_length=2, max_length=3)]
Ring = Annotated[list[Position], msgspec.Meta(min_length=4, max_length=5000)]
# Litestar's OpenAPI keeps a list field's own bounds but drops those of the lists inside it:
# the rings' and positions' bounds, stated again so the document says what we check.
_POSITION = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 3}
_RING = {"type": "array", "items": _POSITION, "minItems": 4, "maxItems": 5000}
_RINGS = {"type": "array", "items": _RING, "minItems": 1, "maxItems": 100}


class PolygonIn(msgspec.Struct, tag_field="type", tag="Polygon", forbid_unknown_fields=True):
    coordinates: Annotated[
        list[Ring],
        msgspec.Meta(min_length=1, max_length=100, extra_json_schema={"extra": {"items": _RING}}),
    ]


class MultiPolygonIn(
    msgspec.Struct, tag_field="type", tag="MultiPolygon", forbid_unknown_fields=True
):
    coordinates: Annotated[
        list[Annotated[list[Ring], msgspec.Meta(min_length=1, max_length=100)]],
        msgspec.Meta(min_length=1, max_length=100, extra_json_schema={"extra": {"items": _RINGS}}),
    ]


class MultiPolygon(msgspec.Struct, tag_field="type", tag="MultiPolygon"):
    coordinates: list[list[list[list[float]]]]


AreaName = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=TEXT_PATTERN)]
# Litestar drops a zero lower bound on a field that may be UNSET (ServiceAreaPatch): restated.
_AT_LEAST_0 = {"extra": {"minimum": 0}}
Threshold = Annotated[
    float,
    msgspec.Meta(
        ge=0,
        le=10_000,
        description="unfilled volunteer-hours above which it alerts",
        extra_json_schema=_AT_LEAST_0,
    ),
]
AlertAfter = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=10_080,
        description="minutes the gap must last before alerting",
        extra_json_schema=_AT_LEAST_0,
    ),
]


class ServiceAreaIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: AreaName
    boundary: PolygonIn | MultiPolygonIn
    alert_threshold_hours: Threshold = 8.0
    alert_after_minutes: AlertAfter = 60
    org_id: UUID | None = None  # needed only by staff of several organisations


class ServiceAreaPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: AreaName | msgspec.UnsetType = msgspec.UNSET
    boundary: PolygonIn | MultiPolygonIn | msgspec.UnsetType = msgspec.UNSET
    alert_threshold_hours: Threshold | msgspec.UnsetType = msgspec.UNSET
    alert_after_minutes: AlertAfter | msgspec.UnsetType = msgspec.UNSET


class AreaSummary(msgspec.Struct, kw_only=True):
    area_km2: float
    volunteers: int  # approved volunteers whose travel radius reaches the area
    on_duty: int
    needs: int | None  # open and partially filled needs in the next 7 days (None: < k clients)
    open_slots: int | None
    demand_hours: float | None
    suppressed: bool


class ServiceArea(msgspec.Struct, kw_only=True):
    id: UUID
    org_id: UUID
    name: str
    boundary: MultiPolygon
    alert_threshold_hours: float
    alert_after_minutes: int
    gap_since: datetime | None
    alerted_at: datetime | None
    created_at: datetime
    updated_at: datetime
    repair: str | None = None  # set when the boundary sent was invalid and was repaired
    summary: AreaSummary | None = None
