"""Supply on the hexagon grid against a brute force over every cell and every volunteer."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.hexgrid import Supply, Volunteers, Window, centres, hex_size, supply

SIZE = 1000.0
homes = st.lists(
    st.tuples(
        st.floats(-20_000, 20_000),  # x
        st.floats(-20_000, 20_000),  # y
        st.floats(10, 9_000),  # radius
        st.booleans(),  # on duty
        st.floats(0, 40),  # hours
    ),
    min_size=0,
    max_size=25,
)


def _volunteers(rows: list[tuple[float, float, float, bool, float]]) -> Volunteers:
    if not rows:
        return Volunteers(*(np.zeros(0) for _ in range(3)), np.zeros(0, np.int64), np.zeros(0))
    x, y, r, duty, hours = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    return Volunteers(x, y, r, duty.astype(np.int64), hours)


def _brute(
    rows: list[tuple[float, float, float, bool, float]], slack: float
) -> dict[tuple[int, int], tuple[int, int, float]]:
    """Every cell centre against every disc (radius scaled by 1 + slack)."""
    i, j = np.meshgrid(np.arange(-25, 26), np.arange(-25, 26), indexing="ij")
    i, j = i.ravel(), j.ravel()
    cx, cy = centres(SIZE, i, j)
    out: dict[tuple[int, int], list[float]] = {}
    for x, y, r, duty, hours in rows:
        inside = (cx - x) ** 2 + (cy - y) ** 2 <= (r * (1 + slack)) ** 2
        for a, b in zip(i[inside], j[inside], strict=True):
            cell = out.setdefault((int(a), int(b)), [0, 0, 0.0])
            cell[0] += 1
            cell[1] += int(duty)
            cell[2] += hours
    return {k: (int(v[0]), int(v[1]), round(v[2], 6)) for k, v in out.items()}


def _as_dict(result: Supply) -> dict[tuple[int, int], tuple[int, int, float]]:
    return {
        (int(a), int(b)): (int(n), int(d), round(float(h), 6))
        for a, b, n, d, h in zip(
            result.i, result.j, result.volunteers, result.on_duty, result.hours, strict=True
        )
    }


@settings(max_examples=150, deadline=None)
@given(homes, st.sampled_from([4_000_000, 60, 7]))
def test_supply_equals_brute_force(rows: list, max_grid_cells: int) -> None:
    """Whatever the strips (a tiny memory cap forces one column at a time). A centre within a
    billionth of a radius of the circle may fall either way: floating point, not a rule."""
    got = _as_dict(supply(SIZE, _volunteers(rows), max_grid_cells=max_grid_cells, chunk_cells=7))
    strict, loose = _brute(rows, -1e-9), _brute(rows, 1e-9)
    assert set(strict) <= set(got) <= set(loose)
    for cell, figures in got.items():
        low = strict.get(cell, (0, 0, 0.0))
        assert low[0] <= figures[0] <= loose[cell][0]
        if low == loose[cell]:
            assert figures == low


def test_cells_are_unique_and_sorted_within_a_strip() -> None:
    rows = [(0.0, 0.0, 5_000.0, True, 2.0), (3_000.0, 1_000.0, 2_500.0, False, 1.5)]
    result = supply(SIZE, _volunteers(rows))
    keys = list(zip(result.i.tolist(), result.j.tolist(), strict=True))
    assert len(keys) == len(set(keys))
    assert result.volunteers.max() == 2
    assert result.on_duty.max() == 1


def test_a_radius_smaller_than_the_grid_can_reach_no_centre() -> None:
    """A volunteer whose disc holds no cell centre supplies nothing, rather than a wrong cell."""
    result = supply(SIZE, _volunteers([(750.0, 433.0, 10.0, True, 1.0)]))
    assert len(result) == 0


def test_window_holds_every_cell_meeting_the_box() -> None:
    size = hex_size(14)
    window = Window.around(size, -100_000.0, 6_600_000.0, -90_000.0, 6_610_000.0)
    cx, cy = centres(size, np.array([window.i0, window.i1]), np.array([window.j0, window.j1]))
    assert cx[0] < -100_000 - size
    assert cx[1] > -90_000 + size
    assert cy[0] < 6_600_000 - size
    assert cy[1] > 6_610_000 + size


def test_a_window_keeps_its_cells() -> None:
    rows = [(0.0, 0.0, 9_000.0, True, 2.0)]
    part = supply(SIZE, _volunteers(rows), window=Window(0, 2, 0, 2))
    assert set(zip(part.i.tolist(), part.j.tolist(), strict=True)) == {
        (a, b) for a in range(3) for b in range(3)
    }


windows = st.tuples(
    st.integers(-20, 20), st.integers(0, 12), st.integers(-20, 20), st.integers(0, 12)
).map(lambda w: Window(w[0], w[0] + w[1], w[2], w[2] + w[3]))


@settings(max_examples=150, deadline=None)
@given(homes, windows, st.sampled_from([4_000_000, 7]))
def test_a_window_computes_exactly_its_part(rows: list, window: Window, cap: int) -> None:
    volunteers = _volunteers(rows)
    whole = {
        (i, j): figures
        for (i, j), figures in _as_dict(supply(SIZE, volunteers)).items()
        if window.i0 <= i <= window.i1 and window.j0 <= j <= window.j1
    }
    assert _as_dict(supply(SIZE, volunteers, window=window, max_grid_cells=cap)) == whole


def test_homes_off_the_map_are_left_out() -> None:
    """Near a pole the projection's scale has no bound: one disc would span the world."""
    lat = np.array([51.45, 89.99, -90.0])
    v = Volunteers.from_degrees(
        np.zeros(3), lat, np.full(3, 5.0), np.zeros(3, np.int64), np.zeros(3)
    )
    assert len(v) == 1
    assert len(supply(hex_size(16), v)) > 0
