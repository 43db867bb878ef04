"""Locations on the wire: `{"lat": .., "lon": ..}` in WGS 84, validated at decoding."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import to_shape

Latitude = Annotated[
    float, msgspec.Meta(ge=-90, le=90, description="WGS 84 latitude", examples=[51.4543])
]
Longitude = Annotated[
    float, msgspec.Meta(ge=-180, le=180, description="WGS 84 longitude", examples=[-0.9781])
]


class Location(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    lat: Latitude
    lon: Longitude

    def to_geography(self) -> WKTElement:
        """A value for a Geography(POINT, 4326) column."""
        return WKTElement(f"POINT({self.lon!r} {self.lat!r})", srid=4326)

    @classmethod
    def from_geography(cls, value: Any) -> Location:
        point = to_shape(value)  # WKBElement from the database
        return cls(lat=point.y, lon=point.x)
