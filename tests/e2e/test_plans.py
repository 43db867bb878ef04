"""Batch plans over HTTP on real PostGIS: the proposal is the brute-force optimum where greedy
falls short, each choice explained; committing makes exactly the plan's offers, once."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from app.needs import cascade, facts
from matching.batch import cost_of
from matching.model import Weights
from matching.scoring import best_score
from tests.e2e.cascade_world import Casework
from tests.support import World

pytestmark = pytest.mark.anyio

HOME = (51.4551, -0.9712)


def north(metres: float) -> tuple[float, float]:
    return HOME[0] + metres / 111_320, HOME[1]


def window(days: float = 2, hours: int = 2) -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


def period(days: int = 7) -> dict[str, str]:
    start = datetime.now(UTC).replace(microsecond=0)
    return {"from": start.isoformat(), "to": (start + timedelta(days=days)).isoformat()}


@pytest.fixture
async def ctx(client: httpx.AsyncClient, world: World) -> Casework:
    """Two one-slot needs, 1 km apart. `near` lives between them but takes one assignment
    only; `south` reaches the first need only (2 km radius). Greedy gives `near` the first
    need (its cheapest edge) and leaves the second unfilled; the optimum fills both."""
    await world.org("org-a")
    await world.org("org-b")
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    caseworker = await world.person("case-a", org="org-a", role="caseworker")
    programme = (
        await client.post(
            "/v1/programmes",
            headers=coordinator,
            json={"name": "Prescriptions", "kind": "community_support"},
        )
    ).json()
    person = (
        await client.post(
            "/v1/clients",
            headers=caseworker,
            json={
                "name": "Ada Client",
                "address": "1 Secret Road",
                "location": {"lat": HOME[0], "lon": HOME[1]},
            },
        )
    ).json()
    vols = {
        "near": await world.volunteer(
            "vol-near", org="org-a", at=north(300), max_active_assignments=1
        ),
        "south": await world.volunteer("vol-south", org="org-a", at=north(-1500), max_travel_km=2),
        "pending": await world.volunteer("vol-pending", org="org-a", at=north(0), status="pending"),
    }
    needs = []
    for metres in (0, 1000):
        lat, lon = north(metres)
        r = await client.post(
            "/v1/needs",
            headers=caseworker,
            json={
                "programme_id": programme["id"],
                "client_id": person["id"],
                "title": "Collect a prescription",
                "location": {"lat": lat, "lon": lon},
                "windows": [window()],
                "duration_minutes": 60,
                "dispatch": "manual",
            },
        )
        assert r.status_code == 201, r.text
        needs.append(UUID(r.json()["need"]["id"]))
    return Casework(coordinator, caseworker, programme, person, vols=vols, needs=needs)


async def brute_force(world: World, needs: Sequence[UUID], capacity: dict[UUID, int]) -> Any:
    """(filled, cost) of the best plan over every subset of edges, edges costed by the
    per-need ranking the candidates endpoint uses (not the plan's batch statement)."""
    best = best_score(Weights())
    edges: list[tuple[UUID, UUID, int]] = []
    async with world.owner.connect() as conn:
        for need_id in needs:
            row = await facts.load(conn, need_id)
            for r in await cascade.rank(conn, row, 50, datetime.now(UTC)):
                edges.append((need_id, r.volunteer_id, cost_of(r.score, best)))
    top = (0, 0)
    for chosen in itertools.product((False, True), repeat=len(edges)):
        picked = [e for e, on in zip(edges, chosen, strict=True) if on]
        per_need = [sum(1 for e in picked if e[0] == n) for n in needs]
        per_vol = {v: sum(1 for e in picked if e[1] == v) for v in capacity}
        if max(per_need) <= 1 and all(per_vol[v] <= c for v, c in capacity.items()):
            top = max(top, (len(picked), -sum(e[2] for e in picked)))
    return top[0], -top[1], len(edges)


async def propose(client: httpx.AsyncClient, ctx: Casework) -> dict[str, Any]:
    r = await client.post(
        "/v1/plans",
        headers=ctx.coordinator,
        json={"programme_id": ctx.programme["id"], **period()},
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_the_plan_is_optimal_explained_and_commits_once(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    plan = await propose(client, ctx)
    vols, (first, second) = ctx.vols, ctx.needs
    totals = plan["totals"]
    filled, cost, edges = await brute_force(world, ctx.needs, {vols["near"]: 1, vols["south"]: 5})
    assert (totals["filled_slots"], totals["total_cost"]) == (filled, cost) == (2, cost)
    assert totals["candidate_edges"] == edges == 3  # the pending volunteer is no candidate
    assert (totals["greedy_filled"], totals["unfilled_needs"]) == (1, 0)
    assert totals["open_slots"] == 2
    assert totals["needs"] == 2
    assert totals["volunteers_used"] == 2
    assert totals["max_per_volunteer"] == 1
    assert totals["history_used"] is True
    pairs = {(c["need_id"], c["volunteer_id"]) for c in plan["choices"]}
    assert pairs == {(str(first), str(vols["south"])), (str(second), str(vols["near"]))}
    assert sum(c["cost"] for c in plan["choices"]) == cost
    for c in plan["choices"]:
        factors = {e["factor"] for e in c["explanation"]}
        assert factors >= {"distance", "fairness", "reliability"}
        assert all(e["note"] for e in c["explanation"])
        assert c["distance_km"] > 0
        assert c["travel_minutes"] > 0
    assert totals["travel_km"] == pytest.approx(sum(c["distance_km"] for c in plan["choices"]))

    # a second proposal over the same needs, before anything is offered
    stale = await propose(client, ctx)
    r = await client.get(f"/v1/plans/{plan['id']}", headers=ctx.caseworker)
    assert r.status_code == 200
    assert r.json() == plan
    assert await world.count("offers") == 0  # proposing offers nobody anything

    r = await client.post(f"/v1/plans/{plan['id']}/commit", headers=ctx.coordinator)
    assert r.status_code == 200, r.text
    assert r.json() == {"plan_id": plan["id"], "offered": 2, "skipped": 0, "reasons": {}}
    async with world.owner.connect() as conn:
        made = {
            (str(t), str(v))
            for t, v in await conn.execute(
                text("SELECT need_id, volunteer_id FROM offers WHERE source = 'plan'")
            )
        }
    assert made == pairs
    assert await world.count("offers") == 2
    assert await world.count("outbox", "kind = 'offer.created'") == 2
    assert await world.count("audit_log", "action IN ('plan.proposed', 'plan.committed')") == 3
    r = await client.get(f"/v1/plans/{plan['id']}", headers=ctx.coordinator)
    assert r.json()["status"] == "committed"
    assert r.json()["committed_at"]

    r = await client.post(f"/v1/plans/{plan['id']}/commit", headers=ctx.coordinator)
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert await world.count("offers") == 2

    # the stale plan's choices were offered meanwhile: skipped, nothing doubled
    r = await client.post(f"/v1/plans/{stale['id']}/commit", headers=ctx.coordinator)
    assert r.status_code == 200, r.text
    assert r.json()["offered"] == 0
    assert r.json()["reasons"] == {"already_offered": 2}
    assert await world.count("offers") == 2
    assert await world.count("outbox", "kind = 'offer.created'") == 2


async def test_concurrent_commits_make_the_offers_once(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    plan = await propose(client, ctx)
    url = f"/v1/plans/{plan['id']}/commit"
    results = await asyncio.gather(*(client.post(url, headers=ctx.coordinator) for _ in range(4)))
    assert sorted(r.status_code for r in results) == [200, 409, 409, 409]
    assert await world.count("offers") == 2
    assert await world.count("outbox", "kind = 'offer.created'") == 2


async def test_needs_with_pending_offers_or_open_calls_are_left_to_others(
    client: httpx.AsyncClient, ctx: Casework
) -> None:
    first = ctx.needs[0]
    r = await client.post(
        f"/v1/needs/{first}/offers",
        headers=ctx.caseworker,
        json={"volunteer_ids": [str(ctx.vols["south"])]},
    )
    assert r.status_code == 201, r.text
    totals = (await propose(client, ctx))["totals"]
    assert (totals["needs"], totals["open_slots"], totals["filled_slots"]) == (2, 1, 1)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"to": "2020-01-01T00:00:00Z", "from": "2020-01-02T00:00:00Z"}, "to"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2020-01-01T00:00:00Z"}, "to"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2020-03-01T00:00:00Z"}, "to"),
        ({"from": "2020-01-01T00:00:00"}, "from"),  # no offset
        # Year 1 was stored as -infinity and came back without an offset.
        ({"from": "0001-01-01T00:00:00Z", "to": "0001-01-05T00:00:00Z"}, "from"),
        ({"from": "9999-12-30T00:00:00Z", "to": "9999-12-31T00:00:00Z"}, "from"),
        ({"to": "tomorrow"}, "to"),
        ({"programme_id": "nope"}, "programme_id"),
        ({"org_id": "00000000-0000-0000-0000-000000000000"}, "org_id"),
        ({"status": "committed"}, "status"),
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient,
    ctx: Casework,
    world: World,
    change: dict[str, Any],
    field: str,
) -> None:
    body = {"programme_id": ctx.programme["id"], **period(), **change}
    r = await client.post("/v1/plans", headers=ctx.coordinator, json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in str(r.json()), r.json()
    assert await world.count("plans") == 0


async def test_roles_and_tenants(client: httpx.AsyncClient, ctx: Casework, world: World) -> None:
    body = {"programme_id": ctx.programme["id"], **period()}
    r = await client.post("/v1/plans", headers=ctx.caseworker, json=body)
    assert r.status_code == 403, r.text
    outsider = await world.person("coord-b", org="org-b", role="coordinator")
    r = await client.post("/v1/plans", headers=outsider, json=body)
    assert r.status_code == 404, r.text
    unknown = {**body, "programme_id": "00000000-0000-4000-8000-000000000000"}
    assert (
        await client.post("/v1/plans", headers=ctx.coordinator, json=unknown)
    ).status_code == 404
    plan = await propose(client, ctx)
    volunteer = world.headers("vol-near")
    for headers in (outsider, volunteer):
        assert (await client.get(f"/v1/plans/{plan['id']}", headers=headers)).status_code == 404
        r = await client.post(f"/v1/plans/{plan['id']}/commit", headers=headers)
        assert r.status_code == 404, r.text
        assert "Secret" not in r.text
        assert str(ctx.needs[0]) not in r.text
    r = await client.post(f"/v1/plans/{plan['id']}/commit", headers=ctx.caseworker)
    assert r.status_code == 403
    for path in ("/v1/plans/not-a-uuid", f"/v1/plans/{ctx.needs[0]}"):
        r = await client.get(path, headers=ctx.coordinator)
        assert r.status_code in (400, 404), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    json_type = {"Content-Type": "application/json"}
    r = await client.post("/v1/plans", headers=ctx.coordinator | json_type, content=b"{not")
    assert r.status_code in (400, 422)
    assert await world.count("offers") == 0
