"""The E2SFCA arithmetic (matching/coverage.py: accessible) against its definition written
as plain loops over every pair, on random worlds with what the blocks exploit and must not
get wrong: needs sharing a coarse point, several eligibility classes, remote and urgent
needs, a person in two organisations, blocks of any size. And the plane distance it uses,
against the great circle."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from matching.coverage import (
    EARTH_RADIUS_M,
    Demand,
    Method,
    Supply,
    accessible,
    distance_m,
)

LAT0, LON0 = 51.45, -0.97  # Reading
GRID = 0.0045  # degrees: needs sit on a coarse grid, as coarse locations do


def _great_circle(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(h, 1.0)))


@settings(max_examples=300, deadline=None)
@given(
    st.floats(-60, 60),
    st.floats(-180, 180),
    st.floats(0, 2 * math.pi),
    st.floats(10, 100_000),
)
def test_the_plane_distance_is_within_a_thousandth_of_the_great_circle_to_100_km(
    lat: float, lon: float, bearing: float, metres: float
) -> None:
    lat2 = lat + math.degrees(metres * math.cos(bearing) / EARTH_RADIUS_M)
    lon2 = lon + math.degrees(
        metres * math.sin(bearing) / (EARTH_RADIUS_M * math.cos(math.radians(lat)))
    )
    exact = _great_circle(lon, lat, lon2, lat2)
    got = float(distance_m(*(np.array([v]) for v in (lon, lat, lon2, lat2)))[0])
    assert abs(got - exact) <= 1e-3 * exact


def _by_definition(s: Supply, d: Demand) -> list[float]:
    """A_n = D_n sum_v R_v W(d_vn), R_v = S_v / sum_n D_n W(d_vn), pair by pair."""

    def w(v: int, n: int) -> float:
        eligible = (
            s.org[v] == d.org[n]
            and s.level[v] & d.levels[n]
            and int(s.words[v]) & int(d.words[n]) == int(d.words[n])
            and not (
                d.urgent is not None and s.on_duty is not None and d.urgent[n] and not s.on_duty[v]
            )
        )
        if not eligible:
            return 0.0
        if math.isnan(d.lon[n]):
            return Method.remote_weight
        one = (np.array([x]) for x in (s.lon[v], s.lat[v], d.lon[n], d.lat[n]))
        dist = float(distance_m(*one)[0])
        r = s.radius_m[v]
        return math.exp(-0.5 * (dist / r) ** 2) if dist <= r else 0.0

    wanted: dict[int, float] = {}
    for v in range(len(s)):
        p = int(s.person[v])
        wanted[p] = wanted.get(p, 0.0) + sum(d.hours[n] * w(v, n) for n in range(len(d)))
    hours = {int(s.person[v]): float(s.hours[v]) for v in range(len(s))}
    ratio = {p: hours[p] / wanted[p] if wanted[p] > 0 else 0.0 for p in wanted}
    return [
        float(d.hours[n]) * sum(ratio[int(s.person[v])] * w(v, n) for v in range(len(s)))
        for n in range(len(d))
    ]


volunteer = st.tuples(
    st.floats(-0.08, 0.08),  # degrees from the centre
    st.floats(-0.05, 0.05),
    st.floats(500, 12_000),  # radius
    st.floats(0, 20),  # hours
    st.integers(0, 1),  # org
    st.sampled_from([1, 2, 4]),  # level bit
    st.integers(0, 3),  # words
    st.booleans(),  # on duty
)
need = st.tuples(
    st.one_of(st.none(), st.integers(-15, 15)),  # grid steps east (None: remote)
    st.integers(-10, 10),
    st.floats(0.5, 8),
    st.integers(0, 1),
    st.sampled_from([1, 3, 7, 6]),  # accepted levels
    st.integers(0, 3),
    st.booleans(),  # urgent
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(volunteer, min_size=1, max_size=30),
    st.lists(need, min_size=1, max_size=30),
    st.integers(1, 400),
    st.booleans(),
)
def test_the_blocks_compute_the_definition(
    vs: list[tuple[float, float, float, float, int, int, int, bool]],
    ns: list[tuple[int | None, int, float, int, int, int, bool]],
    block: int,
    two_orgs_one_person: bool,
) -> None:
    person = list(range(len(vs)))
    if two_orgs_one_person and len(vs) > 1:
        person[1] = 0  # the first two rows are one person, in (maybe) two organisations
    s = Supply(
        person=np.array(person, dtype=np.int64),
        org=np.array([v[4] for v in vs], dtype=np.int64),
        lon=np.array([LON0 + v[0] for v in vs]),
        lat=np.array([LAT0 + v[1] for v in vs]),
        radius_m=np.array([v[2] for v in vs]),
        hours=np.array([vs[0][3] if p == 0 else v[3] for p, v in zip(person, vs, strict=True)]),
        level=np.array([v[5] for v in vs], dtype=np.int64),
        words=np.array([v[6] for v in vs], dtype=np.float64),
        on_duty=np.array([v[7] for v in vs]),
    )
    d = Demand(
        org=np.array([n[3] for n in ns], dtype=np.int64),
        lon=np.array([math.nan if n[0] is None else LON0 + n[0] * GRID for n in ns]),
        lat=np.array([math.nan if n[0] is None else LAT0 + n[1] * GRID for n in ns]),
        levels=np.array([n[4] for n in ns], dtype=np.int64),
        words=np.array([n[5] for n in ns], dtype=np.float64),
        hours=np.array([n[2] for n in ns]),
        urgent=np.array([n[6] for n in ns]),
    )
    got = accessible(s, d, max_pairs=block)
    assert np.allclose(got, _by_definition(s, d), rtol=1e-9, atol=1e-9)
