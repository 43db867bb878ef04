"""The map shows a gap where help is missing (issue 13): supply comes only from volunteers who
could take the needs, each brings their capped hours once, and the response says how."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from app.coverage import supply
from app.db.tables import volunteers
from matching.coverage import PRIOR_ACCEPTANCE, PRIOR_OFFERS
from tests.scenario import NOW, Scenario
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
        "acceptance": PRIOR_ACCEPTANCE,  # no offers answered yet: the prior
        "acceptance_offers": 0,
    }
    share = PRIOR_ACCEPTANCE  # of their hours, those a volunteer is expected to give
    # The one volunteer in reach speaks no Polish: 10 hours in reach, none of them for these.
    assert cell | {"volunteers": 1, "demand_hours": 6.0} == cell
    assert cell["supply_hours"] == 0.0
    assert cell["gap_hours"] == 6.0

    async with s.owner.begin() as conn:
        await conn.execute(
            update(volunteers).where(volunteers.c.user_id == vol).values(languages=["en", "pl"])
        )
    _, cell = await _busy_cell(client, headers)
    assert cell["supply_hours"] == pytest.approx(10.0 * share)  # all, shared among these
    assert cell["gap_hours"] == pytest.approx(6.0 - 10.0 * share)

    async with s.owner.begin() as conn:  # now a 2-hour weekly cap
        await conn.execute(
            update(volunteers).where(volunteers.c.user_id == vol).values(max_hours_per_week=2)
        )
    _, cell = await _busy_cell(client, headers)
    assert cell["supply_hours"] == pytest.approx(2.0 * share)
    assert cell["gap_hours"] == pytest.approx(6.0 - 2.0 * share)

    await supply.refresh(s.owner, [org])  # the worker's snapshot says the same
    snapshot, snapped = await _busy_cell(client, headers)
    assert snapped == cell
    assert snapshot["method"] == body["method"]


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
    given = 5.0 * PRIOR_ACCEPTANCE  # the hours they are expected to give...
    assert sum(c["supply_hours"] for c in busy) == pytest.approx(given, abs=0.2)  # ...once
    assert sum(c["gap_hours"] for c in busy) == pytest.approx(9.0 - given, abs=0.2)


async def test_supply_is_the_hours_volunteers_are_expected_to_give_by_the_organisations_record(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org("reading-council")
    other = await world.org("berkshire-nhs")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    s = Scenario(world)
    programme = await s.programme(org)
    await s.volunteer("reading-council", "vol-a", km=3.0, hours=10)
    for _ in range(3):  # 3 clients x 2 slots x 1 h this week
        await s.need(org, programme, await s.client(org), slots=2)
    people = [await s.volunteer("reading-council", f"past-{n}", at=(52.0, -1.5)) for n in range(6)]
    past = NOW - timedelta(days=20)
    done = [await s.need(org, programme, window_start=past, status="filled") for _ in range(11)]
    # The last 8 weeks: 30 accepted, 10 declined, 10 lapsed of 50 answered...
    statuses = ["accepted"] * 30 + ["declined"] * 10 + ["expired"] * 10
    # ... and what says nothing of the volunteers: withdrawn (the need filled), still pending.
    statuses += ["withdrawn"] * 5 + ["pending"] * 5
    pairs = [(need, person) for need in done[:10] for person in people]
    for (need, person), status in zip(pairs, statuses, strict=True):
        await s.offer(org, need, person, NOW - timedelta(days=10), status=status)
    for person in people:  # older than 8 weeks: not counted
        await s.offer(org, done[10], person, NOW - timedelta(weeks=9), status="declined")
    theirs = await s.need(other, await s.programme(other), window_start=past, status="filled")
    for person in people:  # another organisation's offers: not counted
        await s.offer(other, theirs, person, NOW - timedelta(days=3), status="declined")

    body, cell = await _busy_cell(client, headers)
    share = (30 + PRIOR_ACCEPTANCE * PRIOR_OFFERS) / (50 + PRIOR_OFFERS)  # 0.45
    assert body["method"] == body["method"] | {"acceptance": share, "acceptance_offers": 50}
    assert (
        "50 answered offers in the 8 weeks before the period" in body["method"]["acceptance_basis"]
    )
    assert cell["supply_hours"] == pytest.approx(10.0 * share)
    assert cell["gap_hours"] == pytest.approx(6.0 - 10.0 * share)

    await supply.refresh(s.owner, [org])  # the snapshot keeps the share it was computed with
    snapshot, snapped = await _busy_cell(client, headers)
    assert snapshot["method"] == body["method"]
    assert snapped == cell
    tile = await client.get("/v1/coverage/tiles/13/4073/2725.mvt", headers=headers)
    assert tile.status_code == 200, tile.text
    assert f"acceptance={share}; acceptance_offers=50" in tile.headers["x-coverage-method"]
