"""Wire shapes for service areas: GeoJSON (RFC 7946) polygons in, MultiPolygons out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from app.wire import TEXT_PATTERN

Position = Annotated[list[float], msgspec.Meta(min_length=2, max_length=3)]
Ring = Annotated[list[Position], msgspec.Meta(min_length=4, max_length=5000)]


class PolygonIn(msgspec.Struct, tag_field="type", tag="Polygon", forbid_unknown_fields=True):
    coordinates: Annotated[list[Ring], msgspec.Meta(min_length=1, max_length=100)]


class MultiPolygonIn(
    msgspec.Struct, tag_field="type", tag="MultiPolygon", forbid_unknown_fields=True
):
    coordinates: Annotated[
        list[Annotated[list[Ring], msgspec.Meta(min_length=1, max_length=100)]],
        msgspec.Meta(min_length=1, max_length=100),
    ]


class MultiPolygon(msgspec.Struct, tag_field="type", tag="MultiPolygon"):
    coordinates: list[list[list[list[float]]]]


AreaName = Annotated[str, msgspec.Meta(min_length=1, max_length=120, pattern=TEXT_PATTERN)]
Threshold = Annotated[
    float,
    msgspec.Meta(ge=0, le=10_000, description="unfilled volunteer-hours above which it alerts"),
]
AlertAfter = Annotated[
    int, msgspec.Meta(ge=0, le=10_080, description="minutes the gap must last before alerting")
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
