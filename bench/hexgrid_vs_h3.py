"""Coverage supply on our ST_HexagonGrid lattice (geo.hexgrid) vs on H3, at comparable cell
sizes, for the demo population around Reading. No database.

    .venv/bin/python -m bench.hexgrid_vs_h3 [--volunteers 2000,100000] [--repeat 3]
                                            [--h3-extra 9]

Supply layer: for each cell, how many approved volunteers' travel radius reaches the cell's
centre.
  lattice  geo.hexgrid.supply(hex_size(r), Volunteers.from_degrees(...)), r = 13, 14, 15:
           a run of rows per grid column and volunteer on a difference grid (the radius in
           Web Mercator metres at the volunteer's latitude, as the app does).
  h3       for each volunteer grid_disk(origin, k) with k large enough to hold every cell
           whose centre is within the radius (the k-disk's inscribed radius is ~1.5 edge k),
           the cells' centres looked up once per distinct cell, filtered by great-circle
           distance (as a dot product of unit vectors) and counted with numpy. The
           h3.api.numpy_int API (disks come back as uint64 arrays). H3 resolutions: the one
           whose ground edge at Reading is closest (log scale) to each lattice resolution's.
Reach check: sum over cells of count x ground cell area should be close to the sum of the
volunteers' disc areas (pi r^2) for both; printed as a ratio.
Cell polygons for a view: ours come from ST_Hexagon in SQL (ST_AsMVT / ST_AsGeoJSON, not timed
here); H3 needs cell_to_boundary in Python, timed for 2,000 cells.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any

import h3
import h3.api.numpy_int as h3n
import numpy as np

from app.demo_population import TOWN_CENTRE, volunteer
from geo.hexgrid import EARTH_RADIUS, Supply, Volunteers, centres, hex_size, supply

Floats = np.ndarray[Any, np.dtype[np.float64]]
H3_RADIUS = 6_371_007.180918475  # H3's sphere (EARTH_RADIUS_KM in its C library)
LATTICE = (13, 14, 15)
HEX_AREA = 3 * math.sqrt(3) / 2  # area of a regular hexagon of edge 1
POLYGONS = 2_000
CHUNK = 2_000  # volunteers per batch of disks


@dataclass(frozen=True)
class Population:
    lat: Floats
    lon: Floats
    km: Floats

    def __len__(self) -> int:
        return len(self.lat)

    def disc_area(self) -> float:
        return float(np.sum(np.pi * (self.km * 1000.0) ** 2))


def population(size: int) -> Population:
    today = date(2026, 1, 5)
    people = [volunteer(n, centre=TOWN_CENTRE, orgs=3, today=today) for n in range(size)]
    ok = [p for p in people if p.status == "approved"]
    return Population(
        np.array([p.lat for p in ok]),
        np.array([p.lon for p in ok]),
        np.array([p.max_travel_km for p in ok]),
    )


# --- ours --------------------------------------------------------------------------------


def lattice_supply(resolution: int, pop: Population) -> Supply:
    n = len(pop)
    v = Volunteers.from_degrees(
        pop.lon, pop.lat, pop.km, np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.float64)
    )
    return supply(hex_size(resolution), v)


def lattice_edge(resolution: int, lat: float) -> float:
    """Ground edge of a lattice cell at a latitude (Web Mercator's scale is 1 / cos lat)."""
    return hex_size(resolution) * math.cos(math.radians(lat))


def lattice_reach(resolution: int, cells: Supply) -> float:
    """Sum of count x ground area, each cell's area at its own latitude."""
    size = hex_size(resolution)
    _, y = centres(size, cells.i, cells.j)
    lat = 2 * np.arctan(np.exp(y / EARTH_RADIUS)) - np.pi / 2
    return float(np.sum(cells.volunteers * HEX_AREA * (size * np.cos(lat)) ** 2))


# --- H3 ----------------------------------------------------------------------------------


def h3_edge(resolution: int) -> float:
    """Ground edge at Reading: the edge of the regular hexagon with the local cell's area."""
    cell = h3.latlng_to_cell(*TOWN_CENTRE, resolution)
    return math.sqrt(h3.cell_area(cell, unit="m^2") / HEX_AREA)


def unit(lat: Floats, lon: Floats) -> Floats:
    """Points on the unit sphere, one row each: great-circle distance <= d exactly when the
    dot product >= cos(d / R), which spares the haversine's trigonometry per pair."""
    p, q = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(p) * np.cos(q), np.cos(p) * np.sin(q), np.sin(p)], axis=1)


@dataclass(frozen=True)
class H3Supply:
    cells: np.ndarray[Any, np.dtype[np.uint64]]
    volunteers: np.ndarray[Any, np.dtype[np.int64]]

    def __len__(self) -> int:
        return len(self.cells)


def h3_supply(resolution: int, pop: Population, *, spare: int = 1) -> H3Supply:
    # Smallest local edge: cells shrink and grow a little across the lattice; 10% below the
    # local one keeps the disk large enough (checked against a larger disk in main()).
    edge = 0.9 * h3_edge(resolution)
    ks = (np.ceil(pop.km * 1000.0 / (1.5 * edge)).astype(np.int64) + spare).tolist()
    origins = [h3n.latlng_to_cell(a, o, resolution) for a, o in zip(pop.lat, pop.lon, strict=True)]
    home = unit(pop.lat, pop.lon)
    reach = np.cos(pop.km * 1000.0 / H3_RADIUS)
    centre: dict[int, tuple[float, float]] = {}
    found, counted = [], []
    for start in range(0, len(pop), CHUNK):
        stop = min(start + CHUNK, len(pop))
        disks = [h3n.grid_disk(origins[n], ks[n]) for n in range(start, stop)]
        who = np.repeat(np.arange(start, stop), [len(d) for d in disks])
        uniq, inv = np.unique(np.concatenate(disks), return_inverse=True)
        at = []
        for cell in uniq.tolist():
            c = centre.get(cell)
            if c is None:
                c = centre[cell] = h3n.cell_to_latlng(cell)
            at.append(c)
        clat, clon = np.array(at).T
        cell = unit(clat, clon)[inv]
        near = np.einsum("ij,ij->i", home[who], cell) >= reach[who]
        count = np.bincount(inv[near], minlength=len(uniq))
        found.append(uniq[count > 0])
        counted.append(count[count > 0])
    cells, inv = np.unique(np.concatenate(found), return_inverse=True)
    return H3Supply(cells, np.bincount(inv, weights=np.concatenate(counted)).astype(np.int64))


def h3_reach(cells: H3Supply) -> float:
    area = np.array([h3n.cell_area(c, unit="m^2") for c in cells.cells.tolist()])
    return float(np.sum(cells.volunteers * area))


def h3_boundaries(cells: list[str]) -> list[tuple[tuple[float, float], ...]]:
    return [h3.cell_to_boundary(c) for c in cells]


# --- the report --------------------------------------------------------------------------


def check_h3(resolution: int, pop: Population) -> None:
    """On the first 500 volunteers: two more rings find nothing more (the disks are large
    enough), and every count equals a brute-force haversine count over all 500."""
    head = Population(pop.lat[:500], pop.lon[:500], pop.km[:500])
    found, wider = h3_supply(resolution, head), h3_supply(resolution, head, spare=3)
    assert np.array_equal(found.cells, wider.cells)
    assert np.array_equal(found.volunteers, wider.volunteers)
    clat, clon = np.array([h3n.cell_to_latlng(c) for c in found.cells.tolist()]).T
    p1, p2 = np.radians(head.lat)[None, :], np.radians(clat)[:, None]
    dlon = np.radians(clon[:, None] - head.lon[None, :])
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    metres = 2 * H3_RADIUS * np.arcsin(np.sqrt(a))
    assert np.array_equal((metres <= head.km[None, :] * 1000.0).sum(axis=1), found.volunteers)


def closest_h3(resolution: int) -> int:
    want = lattice_edge(resolution, TOWN_CENTRE[0])
    return min(range(16), key=lambda r: abs(math.log(h3_edge(r) / want)))


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = run()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples), result


def measure(size: int, repeat: int, extra: list[int]) -> None:
    t0 = time.perf_counter()
    pop = population(size)
    print(
        f"\n{size} volunteers generated, {len(pop)} approved ({time.perf_counter() - t0:.1f} s); "
        f"radius {pop.km.min():.1f}-{pop.km.max():.1f} km, mean {pop.km.mean():.1f} km"
    )
    rows: list[tuple[str, int, float, int, float]] = []
    reach: list[str] = []
    seen: set[int] = set()
    for r in LATTICE:
        seconds, cells = timed(partial(lattice_supply, r, pop), repeat)
        rows.append(("lattice", r, lattice_edge(r, TOWN_CENTRE[0]), len(cells), seconds))
        reach.append(f"lattice r{r}: {lattice_reach(r, cells) / pop.disc_area():.4f}")
        res = closest_h3(r)
        if res in seen:
            continue
        seen.add(res)
        seconds, hcells = timed(partial(h3_supply, res, pop), repeat)
        rows.append(("h3", res, h3_edge(res), len(hcells), seconds))
        reach.append(f"h3 res {res}: {h3_reach(hcells) / pop.disc_area():.4f}")
        check_h3(res, pop)
    for res in extra:
        seconds, hcells = timed(partial(h3_supply, res, pop), repeat)
        rows.append(("h3", res, h3_edge(res), len(hcells), seconds))
        reach.append(f"h3 res {res}: {h3_reach(hcells) / pop.disc_area():.4f}")
    print(f"{'method':8} {'res':>4} {'edge m':>8} {'cells':>8} {'seconds':>9} {'us/vol':>8}")
    for method, res, edge, cells_n, seconds in rows:
        print(
            f"{method:8} {res:>4} {edge:>8.0f} {cells_n:>8} {seconds:>9.3f} "
            f"{seconds / len(pop) * 1e6:>8.1f}"
        )
    print("reach (sum count x cell area) / (sum of disc areas): " + ", ".join(reach))


def polygons(repeat: int) -> None:
    res = closest_h3(14)
    origin = h3.latlng_to_cell(*TOWN_CENTRE, res)
    k = 1
    while 3 * k * (k + 1) + 1 < POLYGONS:
        k += 1
    cells = sorted(h3.grid_disk(origin, k))[:POLYGONS]
    seconds, _ = timed(lambda: h3_boundaries(cells), repeat)
    print(
        f"\ncell polygons for a view: h3 cell_to_boundary x {len(cells)} (res {res}): "
        f"{seconds * 1000:.1f} ms ({seconds / len(cells) * 1e6:.2f} us a cell); "
        "lattice: ST_Hexagon(size, i, j) in the SQL that renders the layer (not timed here)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--volunteers", default="2000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--h3-extra", default="", help="more H3 resolutions, e.g. 9")
    args = parser.parse_args()
    print(f"h3 {h3.__version__}; ground edges at latitude {TOWN_CENTRE[0]}")
    for r in LATTICE:
        res = closest_h3(r)
        print(
            f"  lattice r{r}: {lattice_edge(r, TOWN_CENTRE[0]):.0f} m (Mercator "
            f"{hex_size(r):.0f} m) ~ h3 res {res}: {h3_edge(res):.0f} m at Reading, "
            f"{h3.average_hexagon_edge_length(res, unit='m'):.0f} m average"
        )
    for size in (int(s) for s in args.volunteers.split(",")):
        measure(size, args.repeat, [int(r) for r in args.h3_extra.split(",") if r])
    polygons(args.repeat)


if __name__ == "__main__":
    main()
