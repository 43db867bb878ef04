"""Location privacy: snap a need's point to the centre of a fixed grid cell before it is shown
to volunteers who are not assigned, so repeated reads cannot be averaged back to the address."""

from __future__ import annotations

import math

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE = 111_320.0
DEFAULT_CELL_M = 500.0
MIN_CELL_M = 1.0
MAX_CELL_M = 20_000.0
POLAR_LIMIT = 89.9


def coarsen_location(lat: float, lon: float, cell_m: float = DEFAULT_CELL_M) -> tuple[float, float]:
    """The centre of the ~cell_m x cell_m grid cell holding (lat, lon), as (lat, lon).

    Rows are cell_m / 111_320 degrees tall, counted from the equator. Each row is split into a
    whole number of equal columns starting at -180, as many as fit cell_m wide at the row's
    centre latitude, so no cell straddles the antimeridian and no sliver cell sits at its edge.
    Latitudes beyond +-89.9 are clamped to it. The grid is fixed: the result depends only on
    the cell, never on where inside it the input lies.
    """
    _check_point(lat, lon)
    _check_cell(cell_m)
    dlat = cell_m / METRES_PER_DEGREE
    row = math.floor(max(-POLAR_LIMIT, min(POLAR_LIMIT, lat)) / dlat)
    centre_lat = (row + 0.5) * dlat
    columns = _columns(centre_lat, cell_m)
    dlon = 360.0 / columns
    column = math.floor((lon + 180.0) / dlon) % columns
    centre_lon = -180.0 + (column + 0.5) * dlon
    return centre_lat, centre_lon


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle (haversine) distance in metres on a sphere of the mean Earth radius."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, max(0.0, h))))


def _columns(centre_lat: float, cell_m: float) -> int:
    """How many equal columns of at most about cell_m fit around the parallel at centre_lat."""
    parallel_m = 360.0 * METRES_PER_DEGREE * math.cos(math.radians(centre_lat))
    return max(1, math.ceil(parallel_m / cell_m))


def _check_point(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError(f"coordinates must be finite numbers, got ({lat}, {lon})")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude must be within [-90, 90], got {lat}")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude must be within [-180, 180], got {lon}")


def _check_cell(cell_m: float) -> None:
    if not (math.isfinite(cell_m) and MIN_CELL_M <= cell_m <= MAX_CELL_M):
        raise ValueError(f"cell_m must be within [{MIN_CELL_M}, {MAX_CELL_M}] metres, got {cell_m}")
