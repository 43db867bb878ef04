"""The map shows a gap where help is missing (issue 13): supply comes only from volunteers who
could take the needs, each brings their capped hours once, and the response says how."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.coverage import supply
from app.db.tables import volunteers
from tests.scenario import Scenario
from tests.support import World

pytestmark = pytest.mark.anyio
BBOX = "-1.1,51.40,-0.85,51.52"


async def _busy_cell(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[Any, Any]:
    response = await client.get(
        "/v1/coverage/hexes", params={"bbox": BBOX, "resolution": 14}, headers=headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    busy = [f["properties"] for f in body["features"] if f["properties"]["needs"]]
    assert len(busy) == 1
    return body, busy[0]


async def test_a_gap_shows_where_volunteers_cannot_take_the_needs_or_have_no_hours_left(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    s = Scenario(world)
    programme = await s.programme(org)
    vol = await s.volunteer("reading-council", "vol-a", km=3.0, hours=10)  # cap 10 h a week
    for _ in range(3):  # 3 clients x 2 slots x 1 h, each in Polish
        await s.need(org, programme, await s.client(org), slots=2, languages=["pl"])

    body, cell = await _busy_cell(client, headers)
    assert body["method"] == body["method"] | {
        "name": "e2sfca",
        "decay": "gaussian",
        "catchment": "travel_radius",
    }
    # The one volunteer in reach speaks no Polish: 10 hours in reach, none of them for these.
    assert cell | {"volunteers": 1, "demand_hours": 6.0} == cell
    assert cell["supply_hours"] == 0.0
    assert cell["gap_hours"] == 6.0

    async with s.owner.begin() as conn:
        await conn.execute(
            update(volunteers).where(volunteers.c.user_id == vol).values(languages=["en", "pl"])
        )
    _, cell = await _busy_cell(client, headers)
    assert cell["supply_hours"] == 10.0  # all of their hours, shared among these needs
    assert cell["gap_hours"] == 0.0

    async with s.owner.begin() as conn:  # now a 2-hour weekly cap
        await conn.execute(
            update(volunteers).where(volunteers.c.user_id == vol).values(max_hours_per_week=2)
        )
    _, cell = await _busy_cell(client, headers)
    assert cell["supply_hours"] == 2.0
    assert cell["gap_hours"] == 4.0

    await supply.refresh(s.owner, [org])  # the worker's snapshot says the same
    _, snapped = await _busy_cell(client, headers)
    assert snapped | {"supply_hours": 2.0, "gap_hours": 4.0} == snapped


async def test_one_volunteer_is_not_counted_in_every_cell_they_reach(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    s = Scenario(world)
    programme = await s.programme(org)
    await s.volunteer("reading-council", "vol-a", km=10.0, hours=5)
    for n in range(3):
        for _ in range(3):
            where = (51.4543 + 0.02 * n, -0.9781)
            await s.need(org, programme, await s.client(org, where), at=where, slots=1)
    response = await client.get(
        "/v1/coverage/hexes", params={"bbox": BBOX, "resolution": 14}, headers=headers
    )
    cells = [f["properties"] for f in response.json()["features"]]
    assert sum(c["volunteers"] for c in cells) > 3  # they reach many cells...
    busy = [c for c in cells if c["needs"]]
    assert len(busy) == 3
    assert sum(c["supply_hours"] for c in busy) == pytest.approx(5.0, abs=0.2)  # ...once
    assert sum(c["gap_hours"] for c in busy) == pytest.approx(4.0, abs=0.2)
