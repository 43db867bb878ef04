"""Coverage hexagons and need points: valid GeoJSON, the k rule, bounds and tenancy."""

from __future__ import annotations

import re
from typing import Any

import geojson
import httpx
import pytest
from shapely.geometry import shape

from matching.coverage import PRIOR_ACCEPTANCE
from tests.scenario import READING, Scenario
from tests.support import World

pytestmark = pytest.mark.anyio
BBOX = "-1.1,51.40,-0.85,51.52"


async def _coordinator(world: World, slug: str = "reading-council") -> dict[str, str]:
    await world.org(slug)
    return await world.person(f"coord-{slug}", org=slug, role="coordinator")


def _assert_rfc7946(body: dict[str, Any]) -> None:
    collection = geojson.loads(httpx.Response(200, json=body).text)
    assert collection.is_valid, collection.errors()
    for feature in body["features"]:
        geometry = shape(feature["geometry"])
        assert geometry.is_valid
        if geometry.geom_type == "Polygon":
            assert geometry.exterior.is_ccw, "RFC 7946: exterior rings counterclockwise"
        lon, lat = (
            feature["geometry"]["coordinates"][0][0]
            if geometry.geom_type == "Polygon"
            else feature["geometry"]["coordinates"]
        )
        assert -2 < lon < 0, "lon/lat order"
        assert 51 < lat < 52


async def test_hexes_show_supply_demand_and_gap(client: httpx.AsyncClient, world: World) -> None:
    headers = await _coordinator(world)
    org = await world.org("reading-council")
    s = Scenario(world)
    programme = await s.programme(org)
    await s.volunteer("reading-council", "vol-a", km=2.0, on_duty=True, hours=3)
    await s.volunteer("reading-council", "vol-b", km=2.0, hours=2)
    await s.volunteer("reading-council", "vol-pending", km=2.0, hours=5, status="pending")
    for n in range(3):
        await s.need(org, programme, await s.client(org), slots=2, filled=n % 2)

    response = await client.get(
        "/v1/coverage/hexes", params={"bbox": BBOX, "resolution": 14}, headers=headers
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    _assert_rfc7946(body)
    cells = [f["properties"] for f in body["features"]]
    assert cells
    assert max(c["volunteers"] for c in cells) == 2
    busy = [c for c in cells if c["needs"]]
    assert len(busy) == 1
    cell = busy[0]
    share = body["method"]["acceptance"]  # of their 5 hours, those they are expected to give
    assert share == PRIOR_ACCEPTANCE
    assert cell == cell | {"volunteers": 2, "on_duty": 1, "needs": 3}
    assert cell["supply_hours"] == pytest.approx(5.0 * share, abs=0.05)
    assert cell["open_slots"] == 5
    assert cell["demand_hours"] == 5.0
    assert cell["gap_hours"] == pytest.approx(5.0 - 5.0 * share, abs=0.05)
    assert not cell["suppressed"]


async def test_cells_and_points_with_fewer_than_k_clients_are_suppressed(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await _coordinator(world)
    org = await world.org("reading-council")
    s = Scenario(world)
    programme = await s.programme(org)
    lonely = await s.client(org)
    await s.need(org, programme, lonely)
    await s.need(org, programme, lonely)  # two needs, still one client
    away = (READING[0] + 0.05, READING[1] + 0.05)
    for _ in range(3):
        await s.need(org, programme, await s.client(org, away), at=away)

    params = {"bbox": BBOX, "resolution": 14}
    hexes = (await client.get("/v1/coverage/hexes", params=params, headers=headers)).json()
    cells = [f["properties"] for f in hexes["features"]]
    hidden = [c for c in cells if c["suppressed"]]
    shown = [c for c in cells if c["needs"]]
    assert len(hidden) == 1
    assert hidden[0]["needs"] is None
    assert hidden[0]["gap_hours"] is None
    assert len(shown) == 1
    assert shown[0]["needs"] == 3
    points = (await client.get("/v1/coverage/needs", params={"bbox": BBOX}, headers=headers)).json()
    _assert_rfc7946(points)
    assert [f["properties"]["needs"] for f in points["features"]] == [3]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "-0.9,51.5,-1.0,51.4"}, "bbox"),  # inverted
        ({"bbox": "-5,50,0,55"}, "bbox"),  # huge
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "nan,51,-0.9,51.5"}, "bbox"),
        ({"bbox": "-1,89,-0.9,89.5"}, "bbox"),  # beyond Web Mercator
        ({"bbox": BBOX, "resolution": 99}, "resolution"),
        ({"bbox": BBOX, "resolution": 7}, "resolution"),
        ({"bbox": "-2,50,0,52", "resolution": 16}, "resolution"),  # too many cells
        ({"bbox": BBOX, "at": "2026-01-01T10:00:00"}, "at"),
    ],
)
async def test_bad_map_requests_name_the_field(
    client: httpx.AsyncClient, world: World, params: dict[str, Any], field: str
) -> None:
    headers = await _coordinator(world)
    response = await client.get("/v1/coverage/hexes", params=params, headers=headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_another_organisations_programme_is_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    headers = await _coordinator(world)
    theirs = await Scenario(world).programme(await world.org("berkshire-nhs"))
    for path in ("/v1/coverage/hexes", "/v1/coverage/needs"):
        response = await client.get(
            path, params={"bbox": BBOX, "programme": str(theirs)}, headers=headers
        )
        assert response.status_code == 404, response.text
    tile = await client.get(
        "/v1/coverage/tiles/12/2036/1360.mvt", params={"programme": str(theirs)}, headers=headers
    )
    assert tile.status_code == 404


async def test_volunteers_get_no_map(client: httpx.AsyncClient, world: World) -> None:
    await world.org("reading-council")
    headers = await world.person("vol", org="reading-council", role="volunteer")
    response = await client.get("/v1/coverage/hexes", params={"bbox": BBOX}, headers=headers)
    assert response.status_code == 403


async def test_the_document_says_bbox_is_four_numbers(
    client: httpx.AsyncClient, world: World
) -> None:
    document = (await client.get("/schema/openapi.json")).json()
    for path in ("/v1/coverage/hexes", "/v1/coverage/needs"):
        (bbox,) = [p for p in document["paths"][path]["get"]["parameters"] if p["name"] == "bbox"]
        pattern = re.compile(bbox["schema"]["pattern"])
        assert pattern.match("-0.98,51.44,-0.94,51.47")
        assert pattern.match(" 1e-3, .5 ,+2,3.")
        for wrong in ("0", "1,2,3", "a,b,c,d"):
            assert not pattern.match(wrong), wrong
    await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    refused = await client.get("/v1/coverage/hexes", params={"bbox": "0"}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
