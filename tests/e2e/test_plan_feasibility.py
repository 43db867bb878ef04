"""Batch plans are feasible as committed (issue #12, defect 2): a plan never gives one
volunteer two needs at the same hour, so every offer it makes can be accepted; and commit
re-checks each choice as it stands then, skipping (and naming) what no longer holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from tests.e2e.cascade_world import Casework
from tests.support import World

pytestmark = pytest.mark.anyio

HOME = (51.4551, -0.9712)
START = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)


def north(metres: float) -> tuple[float, float]:
    return HOME[0] + metres / 111_320, HOME[1]


def hour(offset_h: int = 0) -> dict[str, str]:
    start = START + timedelta(hours=offset_h)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}


@pytest.fixture
async def ctx(client: httpx.AsyncClient, world: World) -> Casework:
    """Two one-slot needs in the same hour, 200 m apart. `near` lives by both and is the
    cheapest for each: the plain flow gave her both. `far` lives 1.5 km away."""
    await world.org("org-a")
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    caseworker = await world.person("case-a", org="org-a", role="caseworker")
    programme = (
        await client.post(
            "/v1/programmes",
            headers=coordinator,
            json={"name": "Visits", "kind": "community_support"},
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
        "near": await world.volunteer("vol-near", org="org-a", at=north(100)),
        "far": await world.volunteer("vol-far", org="org-a", at=north(1500)),
    }

    case = Casework(coordinator, caseworker, programme, person, vols)
    case.needs.extend([await post_need(client, case, 0), await post_need(client, case, 200)])
    return case


async def post_need(
    client: httpx.AsyncClient, ctx: Casework, metres: float, offset_h: int = 0
) -> UUID:
    """A one-slot, one-hour need `metres` north of home, `offset_h` hours after START."""
    lat, lon = north(metres)
    r = await client.post(
        "/v1/needs",
        headers=ctx.caseworker,
        json={
            "programme_id": ctx.programme["id"],
            "client_id": ctx.client["id"],
            "title": "A visit",
            "location": {"lat": lat, "lon": lon},
            "windows": [hour(offset_h)],
            "duration_minutes": 60,
            "dispatch": "manual",
        },
    )
    assert r.status_code == 201, r.text
    return UUID(r.json()["need"]["id"])


async def propose(client: httpx.AsyncClient, ctx: Casework) -> dict[str, Any]:
    start = datetime.now(UTC).replace(microsecond=0)
    r = await client.post(
        "/v1/plans",
        headers=ctx.coordinator,
        json={
            "programme_id": ctx.programme["id"],
            "from": start.isoformat(),
            "to": (start + timedelta(days=7)).isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


async def offer_of(world: World, volunteer: UUID, need: UUID) -> UUID:
    async with world.owner.connect() as conn:
        return UUID(
            str(
                await conn.scalar(
                    text("SELECT id FROM offers WHERE volunteer_id = :v AND need_id = :n"),
                    {"v": volunteer, "n": need},
                )
            )
        )


async def test_two_needs_in_one_hour_go_to_two_volunteers_and_both_accept(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    plan = await propose(client, ctx)
    vols, needs = ctx.vols, ctx.needs
    by_volunteer = {c["volunteer_id"]: c["need_id"] for c in plan["choices"]}
    assert set(by_volunteer) == {str(vols["near"]), str(vols["far"])}
    assert set(by_volunteer.values()) == {str(n) for n in needs}
    solver = plan["totals"]["solver"]
    assert solver["status"] == "optimal"
    assert solver["gap"] == 0
    assert solver["best_bound"] == solver["objective"]
    assert solver["filled_bound"] == plan["totals"]["filled_slots"] == 2
    assert solver["flow_refused"] == {"conflict": 1}  # the old plan: both to `near`
    assert solver["time_limit_s"] > 0

    r = await client.post(f"/v1/plans/{plan['id']}/commit", headers=ctx.coordinator)
    assert r.status_code == 200, r.text
    assert r.json()["offered"] == 2
    for name, subject in (("near", "vol-near"), ("far", "vol-far")):
        offer = await offer_of(world, vols[name], UUID(by_volunteer[str(vols[name])]))
        r = await client.post(f"/v1/offers/{offer}/accept", headers=world.headers(subject))
        assert r.status_code == 200, r.text  # no 409 "conflict"
        assert r.json()["status"] == "accepted"
    assert await world.count("assignments", "status = 'accepted'") == 2


async def test_alone_a_volunteer_is_planned_one_of_two_needs_at_the_same_hour(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE memberships SET status = 'suspended' WHERE user_id = :v"),
            {"v": ctx.vols["far"]},
        )
    plan = await propose(client, ctx)
    assert [c["volunteer_id"] for c in plan["choices"]] == [str(ctx.vols["near"])]
    totals = plan["totals"]
    assert (totals["open_slots"], totals["filled_slots"]) == (2, 1)
    assert totals["solver"]["filled_bound"] == 1  # proved: she cannot do both
    r = await client.post(f"/v1/plans/{plan['id']}/commit", headers=ctx.coordinator)
    assert r.json()["offered"] == 1
    offer = await offer_of(world, ctx.vols["near"], UUID(plan["choices"][0]["need_id"]))
    r = await client.post(f"/v1/offers/{offer}/accept", headers=world.headers("vol-near"))
    assert r.status_code == 200, r.text


async def test_commit_skips_what_no_longer_holds_and_offers_the_rest(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    plan = await propose(client, ctx)
    vols = ctx.vols
    near_need = next(
        c["need_id"] for c in plan["choices"] if c["volunteer_id"] == str(vols["near"])
    )
    # Meanwhile `near` takes a third need in the same hour, and `far` is suspended.
    third = await post_need(client, ctx, 400)
    r = await client.post(
        f"/v1/needs/{third}/offers",
        headers=ctx.caseworker,
        json={"volunteer_ids": [str(vols["near"])]},
    )
    assert r.status_code == 201, r.text
    offer = await offer_of(world, vols["near"], third)
    r = await client.post(f"/v1/offers/{offer}/accept", headers=world.headers("vol-near"))
    assert r.status_code == 200, r.text
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE memberships SET status = 'suspended' WHERE user_id = :v"),
            {"v": vols["far"]},
        )
    r = await client.post(f"/v1/plans/{plan['id']}/commit", headers=ctx.coordinator)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "plan_id": plan["id"],
        "offered": 0,
        "skipped": 2,
        "reasons": {"conflict": 1, "not_approved": 1},
    }
    assert await world.count("offers", "source = 'plan'") == 0
    assert near_need != str(third)


async def test_commit_rechecks_hours_and_the_cap(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    plan = await propose(client, ctx)
    vols = ctx.vols
    # `near` takes another need two hours away (the same day, so the same week); then her
    # weekly hours drop to what she holds, and `far`'s cap to the one assignment he holds.
    offset = 2 if (START + timedelta(hours=2)).date() == START.date() else -2
    later = await post_need(client, ctx, 0, offset_h=offset)
    r = await client.post(
        f"/v1/needs/{later}/offers",
        headers=ctx.caseworker,
        json={"volunteer_ids": [str(vols["near"])]},
    )
    assert r.status_code == 201, r.text
    offer = await offer_of(world, vols["near"], later)
    r = await client.post(f"/v1/offers/{offer}/accept", headers=world.headers("vol-near"))
    assert r.status_code == 200, r.text
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE volunteers SET max_hours_per_week = 1 WHERE user_id = :v"),
            {"v": vols["near"]},
        )
        await conn.execute(
            text("UPDATE volunteers SET max_active_assignments = 1 WHERE user_id = :v"),
            {"v": vols["far"]},
        )
        await conn.execute(  # as if accepted meanwhile (the need's slot count aside)
            text(
                "INSERT INTO assignments (org_id, need_id, volunteer_id, accepted_at) "
                "SELECT org_id, id, :v, now() FROM needs WHERE id = :n"
            ),
            {"v": vols["far"], "n": later},
        )
    r = await client.post(f"/v1/plans/{plan['id']}/commit", headers=ctx.coordinator)
    assert r.status_code == 200, r.text
    assert r.json()["reasons"] == {"assignments_cap": 1, "hours_cap": 1}
    assert r.json()["offered"] == 0
