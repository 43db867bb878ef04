"""The offer cascade over HTTP: a posted need gets its first wave at once, one volunteer wins
the slot, the other offers are withdrawn, a withdrawal re-offers, and the waves escalate."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from app.needs import cascade
from tests.e2e.cascade_world import (
    HOME,
    Casework,
    ctx,
    lapse_pending_offers,
    need,
    offers_of,
    window,
)
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["ctx"]  # the fixture, imported


async def test_first_wave_accept_fill_and_withdrawal(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    assert r.status_code == 201, r.text
    need_id = r.json()["need"]["id"]
    first = await offers_of(client, ctx, need_id)
    names = {str(ctx.vols[f"vol-{i}"]): f"vol-{i}" for i in range(6)}
    assert sorted(names[o["volunteer_id"]] for o in first) == ["vol-0", "vol-1"]
    assert all(o["status"] == "pending" and o["wave"] == 1 for o in first)
    assert all(o["explanation"] for o in first)
    assert await world.count("outbox", "kind = 'offer.created'") == 2

    mine = (await client.get("/v1/volunteers/me/offers", headers=world.headers("vol-0"))).json()[
        "items"
    ]
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
    statuses = {o["id"]: o["status"] for o in await offers_of(client, ctx, need_id)}
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
    after = await offers_of(client, ctx, need_id)
    wave2 = sorted(names[o["volunteer_id"]] for o in after if o["wave"] == 2)
    assert wave2 == ["vol-2", "vol-3"]  # never re-offered to vol-0 or vol-1


async def test_waves_expire_and_escalate_across_worker_restarts(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    need_id = r.json()["need"]["id"]
    # each run_due is a fresh worker pass: nothing is carried in memory between them
    await lapse_pending_offers(world)
    await cascade.run_due(world.owner)
    offers = await offers_of(client, ctx, need_id)
    assert sorted(o["wave"] for o in offers) == [1, 1, 2, 2]
    assert {o["status"] for o in offers if o["wave"] == 1} == {"expired"}
    # the alert cap (4 per slot) is reached: the next step escalates to people
    await lapse_pending_offers(world)
    await cascade.run_due(world.owner)
    assert len(await offers_of(client, ctx, need_id)) == 4
    assert await world.count("needs", "escalation_reason = 'alert_cap'") == 1
    assert await world.count("outbox", "kind = 'need.escalated'") == 2  # caseworker, coordinator
    assert await world.count("outbox", "kind = 'need.escalated' AND NOT urgent") == 2
    assert await world.count("outbox", "kind = 'offer.expired'") == 4
    # the caseworker decides to try once more: a manual wave past the cap, escalation cleared
    r = await client.post(f"/v1/needs/{need_id}/offers", headers=ctx.caseworker, json={})
    assert r.status_code == 201, r.text
    assert len(r.json()) == 2
    assert await world.count("needs", "escalated_at IS NULL") == 1


async def test_an_urgent_needs_escalation_is_urgent_so_no_digest_holds_it(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, urgency="high"))
    assert r.status_code == 201, r.text
    for _ in range(2):  # two waves, then the alert cap
        await lapse_pending_offers(world)
        await cascade.run_due(world.owner)
    assert await world.count("outbox", "kind = 'need.escalated'") == 2
    assert await world.count("outbox", "kind = 'need.escalated' AND urgent") == 2


async def _quiet(world: World, *subjects: str) -> None:
    """These volunteers' quiet hours started an hour ago and end in three (offers: 15 min)."""
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "UPDATE volunteers v SET"
                " quiet_hours_start = (now() AT TIME ZONE time_zone - interval '1 h')::time,"
                " quiet_hours_end = (now() AT TIME ZONE time_zone + interval '3 h')::time"
                " FROM users u WHERE u.id = v.user_id AND u.subject = ANY (:subjects)"
            ),
            {"subjects": list(subjects)},
        )


async def test_waves_pass_over_volunteers_who_would_sleep_through_the_offer(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    names = {str(ctx.vols[f"vol-{i}"]): f"vol-{i}" for i in range(6)}
    await _quiet(world, "vol-0", "vol-1")
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    calm = r.json()["need"]["id"]
    assert sorted(names[o["volunteer_id"]] for o in await offers_of(client, ctx, calm)) == [
        "vol-2",
        "vol-3",
    ]
    # high-urgency offers are pushed through quiet hours: the nearest are asked first as ever
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, urgency="high"))
    urgent = r.json()["need"]["id"]
    assert sorted(names[o["volunteer_id"]] for o in await offers_of(client, ctx, urgent)) == [
        "vol-0",
        "vol-1",
    ]


async def test_a_need_waits_for_morning_when_everyone_is_asleep(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    await _quiet(world, *(f"vol-{i}" for i in range(6)))
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    need_id = r.json()["need"]["id"]
    assert await offers_of(client, ctx, need_id) == []
    async with world.owner.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT escalated_at, next_step_at - now() AS wait FROM needs WHERE id = :id"),
                {"id": need_id},
            )
        ).one()
    assert row.escalated_at is None, "not escalated at night"
    assert timedelta(hours=2, minutes=50) < row.wait <= timedelta(hours=3)


async def test_a_need_starting_before_anyone_wakes_goes_to_a_person(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    await _quiet(world, *(f"vol-{i}" for i in range(6)))
    soon = need(ctx, windows=[window(days=0.05)])  # in about an hour
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=soon)
    assert r.status_code == 201, r.text
    escalated = (
        await client.get("/v1/needs", headers=ctx.caseworker, params={"escalated": "true"})
    ).json()["items"]
    assert [(t["id"], t["escalation_reason"]) for t in escalated] == [
        (r.json()["need"]["id"], "all_asleep")
    ]
