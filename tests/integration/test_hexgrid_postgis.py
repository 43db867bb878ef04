"""geo.hexgrid against PostGIS itself: the same cells as ST_HexagonGrid, the same centres as
ST_Hexagon, and supply equal to a brute force with ST_DWithin on every cell of every disc."""

from __future__ import annotations

import random

import numpy as np
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from geo.coverage import float8_array, tile_bounds
from geo.hexgrid import Volunteers, Window, centres, hex_size, supply
from tests.support import Db

pytestmark = pytest.mark.anyio

CENTRES = text("""
SELECT i, j, ST_X(ST_Centroid(ST_Hexagon(:size, i, j))) AS x,
       ST_Y(ST_Centroid(ST_Hexagon(:size, i, j))) AS y
  FROM unnest(CAST(:i AS int[]), CAST(:j AS int[])) AS c(i, j)
""")

BRUTE = text("""
WITH v AS (
  SELECT ST_Transform(ST_SetSRID(ST_Point(lon, lat), 4326), 3857) AS p,
         km * 1000 / cos(radians(lat)) AS r
    FROM unnest(CAST(:lon AS float8[]), CAST(:lat AS float8[]), CAST(:km AS float8[]))
         AS t(lon, lat, km)
)
SELECT h.i, h.j, count(*) AS volunteers
  FROM v CROSS JOIN LATERAL ST_HexagonGrid(:size, ST_Expand(v.p, v.r + :size)) AS h
 WHERE ST_DWithin(ST_Centroid(h.geom), v.p, v.r)
 GROUP BY h.i, h.j
""")

GRID = text("SELECT i, j FROM ST_HexagonGrid(:size, ST_TileEnvelope(:z, :x, :y))")


async def test_centres_match_st_hexagon(db: Db) -> None:
    rng = random.Random(7)
    cells = [(rng.randint(-9000, 9000), rng.randint(-9000, 9000)) for _ in range(200)]
    size = hex_size(13)
    engine = create_async_engine(db.owner_url)
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                CENTRES, {"size": size, "i": [c[0] for c in cells], "j": [c[1] for c in cells]}
            )
        ).all()
    await engine.dispose()
    i = np.array([r.i for r in rows])
    j = np.array([r.j for r in rows])
    x, y = centres(size, i, j)
    assert np.allclose(x, [r.x for r in rows], atol=1e-6)
    assert np.allclose(y, [r.y for r in rows], atol=1e-6)


async def test_a_tiles_window_holds_every_cell_postgis_draws_in_it(db: Db) -> None:
    engine = create_async_engine(db.owner_url)
    async with engine.connect() as conn:
        for z, x, y in ((13, 4073, 2725), (9, 254, 170), (15, 16294, 10902)):
            size = hex_size(z + 3)
            window = Window.around(size, *tile_bounds(z, x, y))
            for row in (await conn.execute(GRID, {"size": size, "z": z, "x": x, "y": y})).all():
                assert window.i0 <= row.i <= window.i1
                assert window.j0 <= row.j <= window.j1
    await engine.dispose()


@pytest.mark.parametrize("resolution", [12, 14, 15])
async def test_supply_matches_st_dwithin_on_every_cell(db: Db, resolution: int) -> None:
    rng = random.Random(resolution)
    n = 60
    lon = [-0.98 + rng.gauss(0, 0.05) for _ in range(n)]
    lat = [51.45 + rng.gauss(0, 0.03) for _ in range(n)]
    km = [rng.uniform(0.5, 12) for _ in range(n)]
    size = hex_size(resolution)
    engine = create_async_engine(db.owner_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(BRUTE, {"size": size, "lon": lon, "lat": lat, "km": km})).all()
    await engine.dispose()
    expected = {(r.i, r.j): r.volunteers for r in rows}
    ours = supply(
        size,
        Volunteers.from_degrees(
            np.array(lon), np.array(lat), np.array(km), np.zeros(n, np.int64), np.zeros(n)
        ),
    )
    got = dict(
        zip(
            zip(ours.i.tolist(), ours.j.tolist(), strict=True),
            ours.volunteers.tolist(),
            strict=True,
        )
    )
    assert expected
    assert got == expected


async def test_float8_arrays_come_back_exactly_from_array_send(db: Db) -> None:
    values = [0.0, -0.9781, 51.4543, 1e-300, -1.5e300, 200.0]
    engine = create_async_engine(db.owner_url)
    async with engine.connect() as conn:
        sent = await conn.scalar(text("SELECT array_send(CAST(:v AS float8[]))"), {"v": values})
        empty = await conn.scalar(text("SELECT array_send(CAST('{}' AS float8[]))"))
        with_null = await conn.scalar(text("SELECT array_send(ARRAY[1.0, NULL]::float8[])"))
    await engine.dispose()
    assert float8_array(bytes(sent)).tolist() == values
    assert float8_array(bytes(empty)).tolist() == []
    with pytest.raises(ValueError, match="NULLs"):
        float8_array(bytes(with_null))
