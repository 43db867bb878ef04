"""Service areas: CRUD with validation and repair, summaries, and the gap alert's cycle."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from shapely.geometry import shape
from sqlalchemy import select, update

from app.db.tables import needs, outbox
from app.service_areas.alerts import KIND, check_gap_alerts
from tests.scenario import NOW, READING, Scenario
from tests.support import World

pytestmark = pytest.mark.anyio


def square(lat: float = READING[0], lon: float = READING[1], d: float = 0.02) -> dict[str, Any]:
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


async def _coordinator(world: World) -> dict[str, str]:
    await world.org("reading-council")
    return await world.person("coord", org="reading-council", role="coordinator")


async def test_draw_read_change_delete(client: httpx.AsyncClient, world: World) -> None:
    headers = await _coordinator(world)
    created = await client.post(
        "/v1/service-areas", json={"name": "Centre", "boundary": square()}, headers=headers
    )
    assert created.status_code == 201, created.text
    area = created.json()
    assert area["repair"] is None
    assert area["boundary"]["type"] == "MultiPolygon"
    assert shape(area["boundary"]).geoms[0].exterior.is_ccw
    one = (await client.get(f"/v1/service-areas/{area['id']}", headers=headers)).json()
    assert one["summary"]["area_km2"] == pytest.approx(4 * 0.02 * 0.02 * 111.32**2 * 0.6235, 0.02)
    listed = (await client.get("/v1/service-areas", headers=headers)).json()
    assert [a["name"] for a in listed["items"]] == ["Centre"]
    changed = await client.patch(
        f"/v1/service-areas/{area['id']}", json={"alert_threshold_hours": 2}, headers=headers
    )
    assert changed.json()["alert_threshold_hours"] == 2
    assert (
        await client.delete(f"/v1/service-areas/{area['id']}", headers=headers)
    ).status_code == 204
    assert (await client.get(f"/v1/service-areas/{area['id']}", headers=headers)).status_code == 404


async def test_a_bow_tie_is_repaired_and_reported(client: httpx.AsyncClient, world: World) -> None:
    headers = await _coordinator(world)
    lon, lat = READING[1], READING[0]
    bow_tie = [
        [lon, lat],
        [lon + 0.02, lat + 0.02],
        [lon + 0.02, lat],
        [lon, lat + 0.02],
        [lon, lat],
    ]
    response = await client.post(
        "/v1/service-areas",
        json={"name": "Bow tie", "boundary": {"type": "Polygon", "coordinates": [bow_tie]}},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert "make_valid" in body["repair"]
    assert len(body["boundary"]["coordinates"]) == 2  # two triangles
    assert shape(body["boundary"]).is_valid


@pytest.mark.parametrize(
    "boundary",
    [
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},  # not closed
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]},  # too few positions
        {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]},  # beyond WGS 84
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]},  # no area
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 0, 5], [1, 1], [0, 0]]]},  # 2D and 3D
        square(d=1.0),  # far larger than a county
        {"type": "Point", "coordinates": [0, 0]},
    ],
)
async def test_unusable_polygons_are_refused(
    client: httpx.AsyncClient, world: World, boundary: dict[str, Any]
) -> None:
    headers = await _coordinator(world)
    response = await client.post(
        "/v1/service-areas", json={"name": "Bad", "boundary": boundary}, headers=headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert any(e["field"].startswith("boundary") for e in response.json()["errors"])


async def test_too_many_vertices_are_refused(client: httpx.AsyncClient, world: World) -> None:
    headers = await _coordinator(world)
    ring = [[READING[1] + i * 1e-6, READING[0] + (i % 2) * 1e-3] for i in range(5001)]
    ring.append(ring[0])
    response = await client.post(
        "/v1/service-areas",
        json={"name": "Spiky", "boundary": {"type": "Polygon", "coordinates": [ring]}},
        headers=headers,
    )
    assert response.status_code in (413, 422)


async def test_caseworkers_read_but_do_not_draw(client: httpx.AsyncClient, world: World) -> None:
    await world.org("reading-council")
    headers = await world.person("cw", org="reading-council", role="caseworker")
    response = await client.post(
        "/v1/service-areas", json={"name": "Mine", "boundary": square()}, headers=headers
    )
    assert response.status_code == 403
    assert (await client.get("/v1/service-areas", headers=headers)).status_code == 200


async def _set(world: World, need_id: Any, status: str, filled: int) -> None:
    async with world.owner.begin() as conn:
        await conn.execute(
            update(needs).where(needs.c.id == need_id).values(status=status, filled=filled)
        )


async def test_gap_alert_fires_once_and_re_arms(client: httpx.AsyncClient, world: World) -> None:
    headers = await _coordinator(world)
    await world.person("coord-2", org="reading-council", role="coordinator")
    org = await world.org("reading-council")
    area = (
        await client.post(
            "/v1/service-areas",
            json={"name": "Centre", "boundary": square(), "alert_threshold_hours": 2},
            headers=headers,
        )
    ).json()
    s = Scenario(world)
    programme = await s.programme(org)
    needs = [
        await s.need(org, programme, await s.client(org), duration_minutes=60) for _ in range(3)
    ]

    def at(minutes: int) -> Any:
        return NOW + timedelta(minutes=minutes)

    alerts = f"kind = '{KIND}'"
    assert await check_gap_alerts(world.owner, at(0)) == 0  # 3 h > 2 h: the gap starts
    assert await check_gap_alerts(world.owner, at(30)) == 0  # not long enough yet
    assert await check_gap_alerts(world.owner, at(61)) == 2  # one per coordinator
    assert await check_gap_alerts(world.owner, at(120)) == 0  # once
    assert await world.count("outbox", alerts) == 2
    async with world.owner.connect() as conn:
        payload = await conn.scalar(select(outbox.c.payload).where(outbox.c.kind == KIND).limit(1))
    await _set(world, needs[0], "filled", 1)
    assert payload["area_id"] == area["id"]
    assert payload["unfilled_hours"] == 3.0
    assert not {"client", "client_id", "address", "name"} & set(payload)
    assert await check_gap_alerts(world.owner, at(130)) == 0  # 2 h: recovered, re-armed
    await _set(world, needs[0], "open", 0)
    assert await check_gap_alerts(world.owner, at(140)) == 0
    assert await check_gap_alerts(world.owner, at(201)) == 2  # again, after recovering
    assert await world.count("outbox", alerts) == 4


async def test_the_document_states_the_rings_and_thresholds_bounds(
    client: httpx.AsyncClient,
) -> None:
    # A ring of fewer than 4 positions, or a negative threshold in a patch, is a 422; the
    # document used to allow both (Litestar drops nested lists' and UNSET fields' zero bounds).
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    ring = schemas["PolygonIn"]["properties"]["coordinates"]["items"]
    assert (ring["minItems"], ring["maxItems"]) == (4, 5000)
    assert (ring["items"]["minItems"], ring["items"]["maxItems"]) == (2, 3)
    rings = schemas["MultiPolygonIn"]["properties"]["coordinates"]["items"]
    assert rings["items"]["minItems"] == 4
    patch = schemas["ServiceAreaPatch"]["properties"]
    assert patch["alert_threshold_hours"]["minimum"] == 0
    assert patch["alert_after_minutes"]["minimum"] == 0
