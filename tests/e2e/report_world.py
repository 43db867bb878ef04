"""A programme's worked period for the report tests: needs in two service areas (one with
fewer than k clients) and none, recorded outcomes, completed hours, and a period before."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import update

from app.db.tables import needs
from tests.scenario import NOW, READING, Scenario
from tests.support import World

NORTH = (READING[0] + 0.05, READING[1])
FROM = NOW - timedelta(days=10)
PERIOD = {"from": FROM.isoformat(), "to": NOW.isoformat()}


def square(at: tuple[float, float], d: float = 0.02) -> dict[str, Any]:
    lat, lon = at
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


@dataclass
class ReportWorld:
    org_id: UUID
    programme_id: UUID
    headers: dict[str, str]
    centre_id: str
    north_id: str
    need_ids: list[UUID]


async def area(client: httpx.AsyncClient, headers: dict[str, str], name: str, at: Any) -> str:
    made = await client.post(
        "/v1/service-areas", json={"name": name, "boundary": square(at)}, headers=headers
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


async def build(client: httpx.AsyncClient, world: World, org: str = "reading-council") -> Any:
    """In the period (the last 10 days): 3 needs of 3 clients in Centre (one filled and done,
    one referred, one open), 1 in North (1 client: suppressed, filled, completed 30 min), 1
    remote. Completed: 90 min on Centre's filled need by v1, 30 min in North by v2. Before it
    (10 to 20 days ago): 2 needs, one filled and not_home."""
    org_id = await world.org(org)
    headers = await world.person(f"coord-{org}", org=org, role="coordinator")
    s = Scenario(world)
    programme = await s.programme(org_id, "Errands")
    v1 = await s.volunteer(org, f"v1-{org}")
    v2 = await s.volunteer(org, f"v2-{org}")
    centre = await area(client, headers, "Centre", READING)
    north = await area(client, headers, "North", NORTH)
    created = NOW - timedelta(days=5)

    async def need(at: Any = READING, **values: Any) -> Any:
        client_id = await s.client(org_id, at or READING)
        return await s.need(org_id, programme, client_id, at, created_at=created, **values)

    done = await need(filled=1, filled_at=created + timedelta(hours=2), status="completed")
    await _outcome(s, done, "done")
    referred = await need(status="open")
    await _outcome(s, referred, "referred")
    still_open = await need()
    north_need = await need(
        NORTH, filled=1, filled_at=created + timedelta(hours=4), status="filled"
    )
    remote = await need(None, status="open")
    await s.assignment(org_id, done, v1, status="completed", minutes=90, accepted_at=created)
    await s.assignment(org_id, north_need, v2, status="completed", minutes=30, accepted_at=created)
    await need(status="cancelled")  # never counted
    before = NOW - timedelta(days=15)
    earlier = await s.need(
        org_id,
        programme,
        None,
        READING,
        created_at=before,
        filled=1,
        filled_at=before,
        status="filled",
    )
    await _outcome(s, earlier, "not_home")
    await s.need(org_id, programme, None, READING, created_at=before)
    ids = [done, referred, still_open, north_need, remote]
    return ReportWorld(org_id, programme, headers, centre, north, ids)


async def _outcome(s: Scenario, need_id: UUID, outcome: str) -> None:
    async with s.owner.begin() as conn:
        await conn.execute(
            update(needs).where(needs.c.id == need_id).values(outcome=outcome, outcome_at=NOW)
        )
