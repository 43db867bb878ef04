"""Gap alerts reach coordinators live on WS /v1/events, like every other event, and carry no
figure the area's summary hides (the k rule)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from app.service_areas.alerts import KIND, check_gap_alerts
from app.settings import Settings
from tests.e2e.live_servers import api_replica, events_socket, frame, synced
from tests.scenario import NOW, READING, Scenario
from tests.support import Db, World

pytestmark = pytest.mark.anyio


def _square(d: float = 0.02) -> dict[str, Any]:
    lat, lon = READING
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


async def _area_in_a_gap(client: httpx.AsyncClient, world: World, clients: int) -> Any:
    """An area with three 1-hour needs of `clients` clients, above its 2-hour threshold."""
    org = await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    created = await client.post(
        "/v1/service-areas",
        json={"name": "Centre", "boundary": _square(), "alert_threshold_hours": 2},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    s = Scenario(world)
    programme = await s.programme(org)
    people = [await s.client(org) for _ in range(clients)]
    for n in range(3):
        await s.need(org, programme, people[n % clients], duration_minutes=60)
    return created.json(), headers


async def test_a_connected_coordinator_receives_the_gap_alert_live(
    client: httpx.AsyncClient, world: World, settings: Settings, db: Db
) -> None:
    area, headers = await _area_in_a_gap(client, world, clients=3)
    async with api_replica(settings, db) as base, events_socket(base, headers) as ws:
        await synced(ws)
        assert await check_gap_alerts(world.owner, NOW) == 0  # the gap starts
        assert await check_gap_alerts(world.owner, NOW + timedelta(minutes=61)) == 1
        got = await frame(ws)  # live: no reconnect, no replay
    assert got["type"] == "event"
    assert got["kind"] == KIND
    assert got["payload"] | {"area_id": area["id"], "unfilled_hours": 3.0} == got["payload"]
    assert got["payload"]["suppressed"] is False


async def test_an_area_hidden_by_the_k_rule_alerts_without_a_figure(
    client: httpx.AsyncClient, world: World, settings: Settings, db: Db
) -> None:
    area, headers = await _area_in_a_gap(client, world, clients=2)  # 2 < k = 3
    shown = await client.get(f"/v1/service-areas/{area['id']}", headers=headers)
    assert shown.status_code == 200, shown.text
    assert shown.json()["summary"]["demand_hours"] is None  # the summary hides it
    async with api_replica(settings, db) as base, events_socket(base, headers) as ws:
        await synced(ws)
        await check_gap_alerts(world.owner, NOW, k_min=3)
        assert await check_gap_alerts(world.owner, NOW + timedelta(minutes=61), k_min=3) == 1
        got = await frame(ws)
    payload = got["payload"]
    assert payload["area_id"] == area["id"]
    assert payload["suppressed"] is True
    assert "unfilled_hours" not in payload
    assert not {"client", "client_id", "address", "name"} & set(payload)
