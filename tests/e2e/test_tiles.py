"""Vector tiles: decoded with mapbox-vector-tile; layers, the k rule, caching, bad z/x/y."""

from __future__ import annotations

import math

import httpx
import mapbox_vector_tile
import pytest

from tests.scenario import READING, Scenario
from tests.support import World

pytestmark = pytest.mark.anyio


def tile_of(lat: float, lon: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


async def test_a_tile_has_hexes_needs_and_service_areas(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    org = await world.org("reading-council")
    s = Scenario(world)
    programme = await s.programme(org)
    await s.volunteer("reading-council", "vol-a", km=2.0, hours=4)
    for _ in range(3):
        await s.need(org, programme, await s.client(org))
    lonely = (READING[0] + 0.01, READING[1] + 0.01)
    await s.need(org, programme, await s.client(org, lonely), at=lonely)
    lon, lat, d = READING[1], READING[0], 0.02
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    area = {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}
    created = await client.post(
        "/v1/service-areas", json={"name": "Centre", "boundary": area}, headers=headers
    )
    assert created.status_code == 201

    x, y = tile_of(*READING, 11)
    response = await client.get(f"/v1/coverage/tiles/11/{x}/{y}.mvt", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    assert response.headers["cache-control"] == "private, max-age=60"
    tile = mapbox_vector_tile.decode(response.content)
    assert set(tile) == {"hexes", "needs", "service_areas"}
    hexes = [f["properties"] for f in tile["hexes"]["features"]]
    assert max(h["volunteers"] for h in hexes) == 1
    assert sum(h.get("needs", 0) for h in hexes) == 3  # the lonely client's cell: no figures
    assert any(h["suppressed"] for h in hexes)
    assert [f["properties"]["needs"] for f in tile["needs"]["features"]] == [3]
    assert tile["service_areas"]["features"][0]["properties"]["name"] == "Centre"
    for feature in tile["hexes"]["features"]:
        assert feature["geometry"]["type"] == "Polygon"

    again = await client.get(
        f"/v1/coverage/tiles/11/{x}/{y}.mvt",
        headers=headers | {"If-None-Match": response.headers["etag"]},
    )
    assert again.status_code == 304
    assert again.content == b""
    etag = response.headers["etag"]
    for if_none_match in (f"W/{etag}", f'"other", {etag}', '"a", W/"b",  W/' + etag, "*"):
        r = await client.get(
            f"/v1/coverage/tiles/11/{x}/{y}.mvt", headers=headers | {"If-None-Match": if_none_match}
        )
        assert r.status_code == 304, if_none_match
    r = await client.get(
        f"/v1/coverage/tiles/11/{x}/{y}.mvt", headers=headers | {"If-None-Match": '"other"'}
    )
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/v1/coverage/tiles/21/0/0.mvt", "z"),
        ("/v1/coverage/tiles/-1/0/0.mvt", "z"),
        ("/v1/coverage/tiles/3/8/0.mvt", "x"),
        ("/v1/coverage/tiles/3/0/8.mvt", "y"),
        ("/v1/coverage/tiles/3/0/1.png", "y"),
        ("/v1/coverage/tiles/3/0/-1.mvt", "y"),
    ],
)
async def test_tiles_out_of_range(
    client: httpx.AsyncClient, world: World, path: str, field: str
) -> None:
    await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    response = await client.get(path, headers=headers)
    assert response.status_code in (400, 404, 422), response.text
    assert response.headers["content-type"] == "application/problem+json"
    if response.status_code == 422:
        assert field in [e["field"] for e in response.json()["errors"]]
