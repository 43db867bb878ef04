"""Service-area polygons from GeoJSON: checked, repaired when invalid, bounded. Pure shapely."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from shapely import make_valid
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

MAX_VERTICES = 5_000
MAX_AREA_KM2 = 5_000.0  # a large county
KM_PER_DEGREE = 111.32


class BoundaryError(ValueError):
    """The polygon cannot be used; the message says why."""


@dataclass(frozen=True)
class Boundary:
    geometry: MultiPolygon
    repair: str | None  # what make_valid changed, when it had to


def _rings(geojson: dict[str, Any]) -> list[list[list[float]]]:
    polygons = geojson["coordinates"]
    if geojson["type"] == "Polygon":
        polygons = [polygons]
    return [ring for polygon in polygons for ring in polygon]


def _check_rings(geojson: dict[str, Any]) -> int:
    vertices = 0
    rings = _rings(geojson)
    if len({len(position) for ring in rings for position in ring}) > 1:
        raise BoundaryError("positions are all [lon, lat] or all [lon, lat, altitude]")
    for ring in rings:
        if len(ring) < 4:
            raise BoundaryError("every ring needs at least 4 positions")
        if ring[0] != ring[-1]:
            raise BoundaryError("every ring must be closed (last position = first)")
        for position in ring:
            if len(position) < 2 or not all(math.isfinite(c) for c in position[:2]):
                raise BoundaryError("positions are [lon, lat] numbers")
            lon, lat = position[0], position[1]
            if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                raise BoundaryError("positions must be within WGS 84 bounds [lon, lat]")
        vertices += len(ring)
    if vertices > MAX_VERTICES:
        raise BoundaryError(f"more than {MAX_VERTICES} vertices: simplify the boundary")
    return vertices


def area_km2(geometry: BaseGeometry) -> float:
    """Area on a local equirectangular approximation: fine for a cap, not for reporting."""
    lat = geometry.centroid.y
    return float(geometry.area * KM_PER_DEGREE**2 * math.cos(math.radians(lat)))


def _polygons(geometry: BaseGeometry) -> list[Polygon]:
    if isinstance(geometry, Polygon):
        return [geometry]
    return [p for g in getattr(geometry, "geoms", []) for p in _polygons(g)]


def parse_boundary(geojson: dict[str, Any]) -> Boundary:
    """A right-hand-wound MultiPolygon from a GeoJSON Polygon or MultiPolygon."""
    _check_rings(geojson)
    geometry = shape(geojson)
    repair = None
    if not geometry.is_valid:
        from shapely.validation import explain_validity

        repair = f"repaired with make_valid: {explain_validity(geometry)}"
        geometry = make_valid(geometry)
    polygons = [orient(p) for p in _polygons(geometry) if not p.is_empty and p.area > 0]
    if not polygons:
        raise BoundaryError("the polygon has no area")
    result = MultiPolygon(polygons)
    if area_km2(result) > MAX_AREA_KM2:
        raise BoundaryError(f"larger than {MAX_AREA_KM2:.0f} km2")
    return Boundary(result, repair)
