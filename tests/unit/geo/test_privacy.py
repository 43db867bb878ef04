from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.privacy import METRES_PER_DEGREE, coarsen_location, distance_m

READING = (51.4543, -0.9781)
HALF_DIAGONAL = math.sqrt(2) / 2 * 1.01  # of a cell, in cells, with 1% slack

lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
temperate_lats = st.floats(min_value=-85, max_value=85, allow_nan=False)
cells = st.floats(min_value=50, max_value=5_000, allow_nan=False)


@given(lats, lons, cells)
def test_coarsening_twice_is_the_same_as_once(lat: float, lon: float, cell_m: float) -> None:
    once = coarsen_location(lat, lon, cell_m)
    assert coarsen_location(*once, cell_m) == once


@given(lats, lons)
def test_repeated_reads_of_one_point_return_the_same_point(lat: float, lon: float) -> None:
    assert coarsen_location(lat, lon) == coarsen_location(lat, lon)


@given(lats, lons, cells)
def test_the_snapped_point_is_a_valid_coordinate(lat: float, lon: float, cell_m: float) -> None:
    snapped_lat, snapped_lon = coarsen_location(lat, lon, cell_m)
    assert -90 < snapped_lat < 90
    assert -180 < snapped_lon < 180


@given(temperate_lats, lons, cells)
def test_the_snapped_point_is_within_half_a_cell_diagonal(
    lat: float, lon: float, cell_m: float
) -> None:
    snapped = coarsen_location(lat, lon, cell_m)
    assert distance_m(lat, lon, *snapped) <= HALF_DIAGONAL * cell_m


@given(
    temperate_lats,
    lons,
    st.floats(min_value=-0.3, max_value=0.3),
    st.floats(min_value=-0.3, max_value=0.3),
)
def test_points_in_the_same_cell_collapse_to_one_point(
    lat: float, lon: float, north: float, east: float
) -> None:
    centre_lat, centre_lon = coarsen_location(lat, lon)
    dlat = 500 / METRES_PER_DEGREE
    dlon = dlat / math.cos(math.radians(centre_lat))
    neighbour = coarsen_location(centre_lat + north * dlat, centre_lon + east * dlon)
    assert neighbour == (centre_lat, centre_lon)


@given(temperate_lats, st.floats(min_value=-179, max_value=179), st.floats(0, 2 * math.pi))
def test_points_five_km_apart_snap_to_different_points(
    lat: float, lon: float, bearing: float
) -> None:
    north_m, east_m = 5_000 * math.cos(bearing), 5_000 * math.sin(bearing)
    other_lat = lat + north_m / METRES_PER_DEGREE
    other_lon = lon + east_m / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    other_lon = (other_lon + 180) % 360 - 180
    assert coarsen_location(lat, lon) != coarsen_location(other_lat, other_lon)


def test_a_reading_address_snaps_to_a_fixed_nearby_point() -> None:
    snapped = coarsen_location(*READING)
    # The grid is part of the privacy contract: if it moved, old and new points could be
    # averaged. Changing these numbers needs a deliberate decision.
    assert snapped == pytest.approx((51.45301832554797, -0.9802390533965877), abs=1e-12)
    assert 0 < distance_m(*READING, *snapped) <= HALF_DIAGONAL * 500


def test_neighbouring_reading_addresses_share_one_point() -> None:
    centre = coarsen_location(*READING)
    for north_m, east_m in [(100, 0), (-100, 50), (0, -150), (80, 120)]:
        lat = centre[0] + north_m / METRES_PER_DEGREE
        lon = centre[1] + east_m / (METRES_PER_DEGREE * math.cos(math.radians(centre[0])))
        assert coarsen_location(lat, lon) == centre


def test_reading_and_a_town_five_km_away_stay_apart() -> None:
    wokingham = (51.4112, -0.8339)
    assert distance_m(*READING, *wokingham) > 5_000
    assert coarsen_location(*READING) != coarsen_location(*wokingham)


def test_the_equator_and_the_prime_meridian_snap_near_the_origin() -> None:
    snapped = coarsen_location(0.0, 0.0)
    assert snapped == coarsen_location(-0.0, -0.0)
    assert distance_m(0.0, 0.0, *snapped) <= HALF_DIAGONAL * 500
    assert coarsen_location(-0.001, 0.0)[0] < 0 < snapped[0]


def test_both_sides_of_the_antimeridian_are_one_meridian() -> None:
    east = coarsen_location(10.0, 180.0)
    assert east == coarsen_location(10.0, -180.0)
    assert -180 < east[1] < 180
    assert distance_m(10.0, 180.0, *east) <= HALF_DIAGONAL * 500
    west = coarsen_location(10.0, 179.9999)
    assert west[1] > 179.99
    assert distance_m(10.0, 179.9999, *west) <= HALF_DIAGONAL * 500


def test_negative_coordinates_snap_nearby() -> None:
    for point in [(-33.8688, 151.2093), (-22.9068, -43.1729), (40.7128, -74.0060)]:
        snapped = coarsen_location(*point)
        assert distance_m(*point, *snapped) <= HALF_DIAGONAL * 500
        assert coarsen_location(*snapped) == snapped


def test_points_near_the_poles_are_clamped_below_the_pole() -> None:
    north = coarsen_location(90.0, 0.0)
    assert north == coarsen_location(89.95, 0.0)
    assert 89.89 < north[0] < 90
    assert coarsen_location(-90.0, 45.0)[0] == -north[0]


def test_a_larger_cell_gives_a_coarser_grid() -> None:
    small, large = coarsen_location(*READING, 100), coarsen_location(*READING, 2_000)
    assert distance_m(*READING, *small) <= HALF_DIAGONAL * 100
    assert distance_m(*READING, *large) <= HALF_DIAGONAL * 2_000
    assert small != large


@pytest.mark.parametrize(
    ("lat", "lon"),
    [
        (math.nan, 0.0),
        (0.0, math.nan),
        (math.inf, 0.0),
        (0.0, -math.inf),
        (90.0001, 0.0),
        (-91.0, 0.0),
        (0.0, 180.0001),
        (0.0, -181.0),
    ],
)
def test_invalid_coordinates_are_rejected(lat: float, lon: float) -> None:
    with pytest.raises(ValueError, match="must be"):
        coarsen_location(lat, lon)


@pytest.mark.parametrize("cell_m", [0.0, -500.0, 0.5, 20_001.0, math.nan, math.inf])
def test_an_unreasonable_cell_size_is_rejected(cell_m: float) -> None:
    with pytest.raises(ValueError, match="cell_m"):
        coarsen_location(*READING, cell_m)


def test_distance_matches_known_values() -> None:
    assert distance_m(*READING, *READING) == 0
    one_degree_of_meridian = distance_m(0, 0, 1, 0)
    assert one_degree_of_meridian == pytest.approx(2 * math.pi * 6_371_008.8 / 360)
    assert distance_m(0, 179.5, 0, -179.5) == pytest.approx(one_degree_of_meridian)
    assert distance_m(90, 0, -90, 0) == pytest.approx(math.pi * 6_371_008.8)
