"""The hexagon grid of the coverage maps, and supply on it, in plain arithmetic (numpy).

The grid is PostGIS's ST_HexagonGrid in Web Mercator (EPSG:3857), anchored at the origin: cell
(i, j) of edge `size` is centred at x = 1.5 size i, y = sqrt(3) size j, odd columns shifted up
by half a row (tests/integration/test_hexgrid_postgis.py holds this against PostGIS).

Supply: a volunteer reaches a cell when the cell's centre lies within their travel radius,
which is what matching asks of a need placed there. Instead of testing every cell against
every volunteer, each volunteer's disc is cut into one run of cells per grid column (a chord
of the disc), the runs are added to a difference grid and summed along the columns: the work
grows with volunteers x columns per disc, never with cells x volunteers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

EARTH_RADIUS = 6_378_137.0  # the sphere behind EPSG:3857
MERCATOR_HALF = math.pi * EARTH_RADIUS
MAX_LATITUDE = 85.05112878  # where Web Mercator's square ends
SQRT3 = math.sqrt(3)

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


def hex_size(resolution: int) -> float:
    """Edge length (= circumradius) of a cell, in Web Mercator metres: halves per level."""
    return float(MERCATOR_HALF / 2**resolution)


def centres(size: float, i: Ints, j: Ints) -> tuple[Floats, Floats]:
    x = np.asarray(1.5 * size * i, dtype=np.float64)
    return x, np.asarray(SQRT3 * size * (j + 0.5 * (i % 2 != 0)), dtype=np.float64)


def mercator(lon: Floats, lat: Floats) -> tuple[Floats, Floats]:
    x = np.radians(lon) * EARTH_RADIUS
    y = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2)) * EARTH_RADIUS
    return x, y


def mercator_radius(km: Floats, lat: Floats) -> Floats:
    """A ground distance as Web Mercator metres at a latitude (the projection's scale)."""
    return np.asarray(km * 1000.0 / np.cos(np.radians(lat)), dtype=np.float64)


@dataclass(frozen=True)
class Window:
    """Columns i0..i1 and rows j0..j1 (inclusive) holding every cell that meets a box."""

    i0: int
    i1: int
    j0: int
    j1: int

    @classmethod
    def around(cls, size: float, west: float, south: float, east: float, north: float) -> Window:
        """The box's corners in EPSG:3857 metres; one spare cell each side."""
        dx, dy = 1.5 * size, SQRT3 * size
        return cls(
            math.floor(west / dx) - 1,
            math.ceil(east / dx) + 1,
            math.floor(south / dy) - 1,
            math.ceil(north / dy) + 1,
        )


@dataclass(frozen=True)
class Supply:
    """Cells with at least one volunteer in reach, and the sums over those volunteers."""

    i: Ints
    j: Ints
    volunteers: Ints
    on_duty: Ints
    hours: Floats

    @classmethod
    def empty(cls) -> Supply:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, none, none, np.zeros(0, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.i)

    @classmethod
    def concat(cls, parts: list[Supply]) -> Supply:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


_FIELDS = ("i", "j", "volunteers", "on_duty", "hours")


@dataclass(frozen=True)
class Volunteers:
    """Homes and radii in EPSG:3857 metres, with what each volunteer adds to a cell."""

    x: Floats
    y: Floats
    r: Floats
    on_duty: Ints
    hours: Floats

    @classmethod
    def from_degrees(
        cls, lon: Floats, lat: Floats, km: Floats, on_duty: Ints, hours: Floats
    ) -> Volunteers:
        """Homes beyond Web Mercator's latitudes are off every map, and near a pole a disc
        would span the world (the projection's scale grows without bound): left out."""
        on_map = np.abs(lat) <= MAX_LATITUDE
        x, y = mercator(lon[on_map], lat[on_map])
        r = mercator_radius(km[on_map], lat[on_map])
        return cls(x, y, r, on_duty[on_map], hours[on_map])

    def take(self, index: Ints) -> Volunteers:
        return Volunteers(
            self.x[index], self.y[index], self.r[index], self.on_duty[index], self.hours[index]
        )

    def __len__(self) -> int:
        return len(self.x)


def supply(
    size: float,
    volunteers: Volunteers,
    *,
    window: Window | None = None,
    max_grid_cells: int = 4_000_000,
    chunk_cells: int = 2_000_000,
) -> Supply:
    """Every cell whose centre is within some volunteer's radius (within `window`, if given:
    the work then grows with the window's columns, not the discs'), with the volunteers'
    count, how many are on duty and their hours. Memory stays under `max_grid_cells` per
    grid: the columns are taken in strips narrow enough for the rows the volunteers span."""
    dx, dy = 1.5 * size, SQRT3 * size
    v = volunteers
    col_lo = np.ceil((v.x - v.r) / dx).astype(np.int64)
    col_hi = np.floor((v.x + v.r) / dx).astype(np.int64)
    if window is not None:
        col_lo, col_hi = np.maximum(col_lo, window.i0), np.minimum(col_hi, window.i1)
        (inside,) = np.nonzero(col_lo <= col_hi)
        v, col_lo, col_hi = v.take(inside), col_lo[inside], col_hi[inside]
    if len(v) == 0:
        return Supply.empty()
    if window is None:
        row_lo = math.floor(float(np.min(v.y - v.r)) / dy) - 1
        rows = math.ceil(float(np.max(v.y + v.r)) / dy) + 2 - row_lo  # one spare for run ends
        clip = None
    else:
        row_lo, rows, clip = window.j0, window.j1 + 2 - window.j0, (window.j0, window.j1)
    lowest, highest = int(col_lo.min()), int(col_hi.max())
    width = max(1, min(max_grid_cells // rows, highest - lowest + 1))
    parts: list[Supply] = []
    for first in range(lowest, highest + 1, width):
        last = first + width - 1
        (members,) = np.nonzero((col_lo <= last) & (col_hi >= first))
        if len(members) == 0:
            continue
        grid = np.zeros((3, width * rows), dtype=np.float64)
        lows = np.maximum(col_lo[members], first)
        highs = np.minimum(col_hi[members], last)
        # Volunteers x columns per chunk stays under `chunk_cells`: wide discs, fewer at once.
        chunk = max(1, chunk_cells // max(1, int((highs - lows).max()) + 1))
        for start in range(0, len(members), chunk):
            part = v.take(members[start : start + chunk])
            lo, hi = lows[start : start + chunk], highs[start : start + chunk]
            cols, rows_at, weights = _runs(size, part, lo, hi, clip)
            flat = (cols - first) * rows + (rows_at - row_lo)
            for k in range(3):
                grid[k] += np.bincount(flat, weights=weights[k], minlength=width * rows)
        parts.append(_cells(grid.reshape(3, width, rows).cumsum(axis=2), first, row_lo))
    return Supply.concat(parts)


def _runs(
    size: float, v: Volunteers, lo: Ints, hi: Ints, clip: tuple[int, int] | None
) -> tuple[Ints, Ints, list[Floats]]:
    """For columns lo..hi of each volunteer, the run of rows whose centres are in the disc
    (cut to the rows `clip`, if given), as difference-grid events: +weights at the run's
    first row, -weights just past its last."""
    dx, dy = 1.5 * size, SQRT3 * size
    span = max(0, int((hi - lo).max(initial=-1)) + 1)
    col = lo[:, None] + np.arange(span)[None, :]
    off = col * dx - v.x[:, None]
    chord2 = v.r[:, None] ** 2 - off**2
    half = np.sqrt(np.maximum(chord2, 0.0))
    shift = 0.5 * (col % 2 != 0)
    first = np.ceil((v.y[:, None] - half) / dy - shift).astype(np.int64)
    last = np.floor((v.y[:, None] + half) / dy - shift).astype(np.int64)
    if clip is not None:
        first, last = np.maximum(first, clip[0]), np.minimum(last, clip[1])
    ok = (col <= hi[:, None]) & (chord2 >= 0) & (last >= first)
    who, _ = np.nonzero(ok)
    add = [np.ones(len(who)), v.on_duty[who].astype(np.float64), v.hours[who]]
    return (
        np.concatenate([col[ok], col[ok]]),
        np.concatenate([first[ok], last[ok] + 1]),
        [np.concatenate([w, -w]) for w in add],
    )


def _cells(sums: Floats, first_col: int, first_row: int) -> Supply:
    count = np.rint(sums[0]).astype(np.int64)
    di, dj = np.nonzero(count > 0)
    return Supply(
        di.astype(np.int64) + first_col,
        dj.astype(np.int64) + first_row,
        count[di, dj],
        np.rint(sums[1][di, dj]).astype(np.int64),
        np.maximum(sums[2][di, dj], 0.0),
    )
