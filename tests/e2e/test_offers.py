"""The offer cascade over HTTP: a posted need gets its first wave at once, one volunteer wins
the slot, the other offers are withdrawn, a withdrawal re-offers, and the waves escalate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.offers import cascade
from tests.support import World

pytestmark = pytest.mark.anyio

HOME = {"lat": 51.4551, "lon": -0.9712}


def window(days: float = 2, hours: int = 2) -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


def near(metres_north: float) -> tuple[float, float]:
    return HOME["lat"] + metres_north / 111_320, HOME["lon"]


@pytest.fixture
async def ctx(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    await world.org("org-a")
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    caseworker = await world.person("case-a", org="org-a", role="caseworker")
    programme = (
        await client.post(
            "/v1/programmes",
            headers=coordinator,
            json={
                "name": "Prescriptions",
                "kind": "community_support",
                "wave_size": 2,
                "alert_cap": 4,
                "max_waves": 3,
            },
        )
    ).json()
    person = (
        await client.post(
            "/v1/clients",
            headers=caseworker,
            json={"name": "Ada Client", "address": "1 Secret Road", "location": HOME},
        )
    ).json()
    ids = {}
    for i in range(6):  # vol-0 nearest ... vol-5 furthest, all within 2 km
        ids[f"vol-{i}"] = await world.volunteer(f"vol-{i}", org="org-a", at=near(200 + 300 * i))
    return {
        "coordinator": coordinator,
        "caseworker": caseworker,
        "programme": programme,
        "client": person,
        "vols": ids,
        "world": world,
    }


def need(ctx: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "programme_id": ctx["programme"]["id"],
        "client_id": ctx["client"]["id"],
        "title": "Collect a prescription",
        "windows": [window()],
        "duration_minutes": 60,
        **extra,
    }


async def offers_of(client: httpx.AsyncClient, ctx: dict[str, Any], task_id: str) -> list[Any]:
    r = await client.get(f"/v1/tasks/{task_id}/offers", headers=ctx["caseworker"])
    assert r.status_code == 200, r.text
    return list(r.json())


async def test_first_wave_accept_fill_and_withdrawal(
    client: httpx.AsyncClient, ctx: dict[str, Any], world: World
) -> None:
    r = await client.post("/v1/tasks", headers=ctx["caseworker"], json=need(ctx))
    assert r.status_code == 201, r.text
    task_id = r.json()["task"]["id"]
    first = await offers_of(client, ctx, task_id)
    names = {str(ctx["vols"][f"vol-{i}"]): f"vol-{i}" for i in range(6)}
    assert sorted(names[o["volunteer_id"]] for o in first) == ["vol-0", "vol-1"]
    assert all(o["status"] == "pending" and o["wave"] == 1 for o in first)
    assert all(o["explanation"] for o in first)
    assert await world.count("outbox", "kind = 'offer.created'") == 2

    mine = (await client.get("/v1/volunteers/me/offers", headers=world.headers("vol-0"))).json()
    assert len(mine) == 1
    assert "location" not in mine[0]["need"]
    assert mine[0]["need"]["coarse_location"] != HOME
    offer0 = mine[0]["id"]
    offer1 = next(o["id"] for o in first if o["id"] != offer0)

    r = await client.post(f"/v1/offers/{offer0}/accept", headers=world.headers("vol-0"))
    assert r.status_code == 200, r.text
    assignment = r.json()
    assert assignment["status"] == "accepted"
    r = await client.post(f"/v1/offers/{offer1}/accept", headers=world.headers("vol-1"))
    assert r.status_code == 409
    assert r.json()["type"].endswith("need-filled")
    # someone else's offer is unknown
    r = await client.post(f"/v1/offers/{offer1}/accept", headers=world.headers("vol-2"))
    assert r.status_code == 404

    await cascade.run_due(world.owner)
    statuses = {o["id"]: o["status"] for o in await offers_of(client, ctx, task_id)}
    assert statuses == {offer0: "accepted", offer1: "withdrawn"}
    assert await world.count("outbox", "kind = 'offer.withdrawn'") == 1

    # the assigned volunteer sees the exact place and the client's contact; audited
    r = await client.get(
        f"/v1/volunteers/me/assignments/{assignment['id']}", headers=world.headers("vol-0")
    )
    assert r.status_code == 200, r.text
    assert r.json()["location"] == HOME
    assert r.json()["client"]["address"] == "1 Secret Road"
    assert await world.count("audit_log", "reason = 'assigned volunteer'") == 1

    r = await client.post(
        f"/v1/assignments/{assignment['id']}/withdraw",
        headers=world.headers("vol-0"),
        json={"reason": "Unwell"},
    )
    assert r.status_code == 200, r.text
    # after withdrawing, no more address
    r = await client.get(
        f"/v1/volunteers/me/assignments/{assignment['id']}", headers=world.headers("vol-0")
    )
    assert r.json()["location"] is None
    assert r.json()["client"] is None

    await cascade.run_due(world.owner)
    after = await offers_of(client, ctx, task_id)
    wave2 = sorted(names[o["volunteer_id"]] for o in after if o["wave"] == 2)
    assert wave2 == ["vol-2", "vol-3"]  # never re-offered to vol-0 or vol-1


async def lapse_pending_offers(world: World) -> None:
    """Time passes: every pending offer lapses and its need's step falls due."""
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "UPDATE offers SET expires_at = now() - interval '1 s',"
                " created_at = now() - interval '1 h' WHERE status = 'pending'"
            )
        )
        await conn.execute(text("UPDATE tasks SET next_step_at = now()"))


async def test_waves_expire_and_escalate_across_worker_restarts(
    client: httpx.AsyncClient, ctx: dict[str, Any], world: World
) -> None:
    r = await client.post("/v1/tasks", headers=ctx["caseworker"], json=need(ctx))
    task_id = r.json()["task"]["id"]
    # each run_due is a fresh worker pass: nothing is carried in memory between them
    await lapse_pending_offers(world)
    await cascade.run_due(world.owner)
    offers = await offers_of(client, ctx, task_id)
    assert sorted(o["wave"] for o in offers) == [1, 1, 2, 2]
    assert {o["status"] for o in offers if o["wave"] == 1} == {"expired"}
    # the alert cap (4 per slot) is reached: the next step escalates to people
    await lapse_pending_offers(world)
    await cascade.run_due(world.owner)
    assert len(await offers_of(client, ctx, task_id)) == 4
    assert await world.count("tasks", "escalation_reason = 'alert_cap'") == 1
    assert await world.count("outbox", "kind = 'task.escalated'") == 2  # caseworker, coordinator
    assert await world.count("outbox", "kind = 'offer.expired'") == 4
    # the caseworker decides to try once more: a manual wave past the cap, escalation cleared
    r = await client.post(f"/v1/tasks/{task_id}/offers", headers=ctx["caseworker"], json={})
    assert r.status_code == 201, r.text
    assert len(r.json()) == 2
    assert await world.count("tasks", "escalated_at IS NULL") == 1
