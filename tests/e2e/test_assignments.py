"""Assignments from accept to outcome, open calls, stale claims, series continuity, and the
refusals each step owes a client that asks for the wrong thing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.assignments import open_calls
from app.needs import cascade
from tests.e2e.cascade_world import HOME, Casework, ctx, need, offers_of, window
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["ctx"]


async def offer_for(client: httpx.AsyncClient, world: World, subject: str) -> dict[str, Any]:
    r = await client.get("/v1/volunteers/me/offers", headers=world.headers(subject))
    mine = r.json()["items"]
    assert len(mine) == 1, mine
    return dict(mine[0])


async def accepted(
    client: httpx.AsyncClient, ctx: Casework, world: World, **extra: Any
) -> tuple[str, dict[str, Any]]:
    """Post a need; vol-0 (nearest) accepts it. The need's id and the assignment."""
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, **extra))
    assert r.status_code == 201, r.text
    offer = await offer_for(client, world, "vol-0")
    r = await client.post(f"/v1/offers/{offer['id']}/accept", headers=world.headers("vol-0"))
    assert r.status_code == 200, r.text
    return r.json()["need_id"], r.json()


async def test_check_in_complete_and_outcome(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    need_id, a = await accepted(client, ctx, world, windows=[window(days=0.02)])
    vol = world.headers("vol-0")
    url = f"/v1/assignments/{a['id']}"
    r = await client.post(f"{url}/complete", headers=vol, json={"minutes": 30})
    assert r.status_code == 409  # check in first
    far = {"lat": HOME["lat"] + 0.05, "lon": HOME["lon"]}
    r = await client.post(f"{url}/check-in", headers=vol, json=far)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "lat"
    r = await client.post(f"{url}/check-in", headers=vol, json={})
    assert r.status_code == 422  # in person: a location is required
    r = await client.post(f"{url}/check-in", headers=vol, json={"lat": HOME["lat"], "lon": 200})
    assert r.status_code == 400 or r.status_code == 422
    r = await client.post(f"{url}/check-in", headers=world.headers("vol-1"), json=HOME)
    assert r.status_code == 404  # not theirs
    r = await client.post(f"{url}/check-in", headers=vol, json=HOME)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "checked_in"
    shown = (await client.get(f"/v1/needs/{need_id}", headers=ctx.caseworker)).json()
    assert shown["status"] == "in_progress"
    # The caseworker hears of it on the live channel only: written as sent, never pushed.
    live = "kind = 'need.checked_in' AND status = 'sent' AND channel = 'live'"
    assert await world.count("outbox", f"{live} AND payload->>'need_id' = '{need_id}'") == 1
    body = {"minutes": 45, "outcome": "done", "note": "Delivered, all well"}
    r = await client.post(f"{url}/complete", headers=vol, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["minutes"] == 45
    r = await client.post(f"{url}/complete", headers=vol, json=body)
    assert r.status_code == 409  # completing twice
    r = await client.post(f"{url}/withdraw", headers=vol, json={"reason": "Changed my mind"})
    assert r.status_code == 409
    shown = (await client.get(f"/v1/needs/{need_id}", headers=ctx.caseworker)).json()
    assert shown["status"] == "completed"
    assert await world.count("outbox", "kind = 'need.completed'") == 1
    r = await client.post(
        f"/v1/needs/{need_id}/outcome", headers=ctx.caseworker, json={"outcome": "done"}
    )
    assert r.status_code == 204, r.text
    r = await client.post(f"/v1/needs/{need_id}/outcome", headers=vol, json={"outcome": "done"})
    assert r.status_code == 403  # volunteers do not record outcomes
    r = await client.post(
        f"/v1/needs/{need_id}/outcome", headers=ctx.caseworker, json={"outcome": "great"}
    )
    assert r.status_code == 400 or r.status_code == 422


async def test_no_show_reopens_the_slot_and_counts_against_reliability(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    need_id, a = await accepted(client, ctx, world)
    url = f"/v1/assignments/{a['id']}/no-show"
    r = await client.post(url, headers=ctx.caseworker, json={})
    assert r.status_code == 409  # not started yet
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "UPDATE needs SET windows = tstzmultirange(tstzrange(now() - interval '10 min',"
                " now() + interval '2 h'))"
            )
        )
    r = await client.post(url, headers=world.headers("vol-0"), json={})
    assert r.status_code == 403 or r.status_code == 404
    r = await client.post(url, headers=ctx.caseworker, json={"note": "Did not arrive"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "no_show"
    shown = (await client.get(f"/v1/needs/{need_id}", headers=ctx.caseworker)).json()
    assert (shown["filled"], shown["status"]) == (0, "open")
    r = await client.get(
        f"/v1/needs/{need_id}/candidates",
        headers=ctx.caseworker,
        params={"volunteer_id": str(ctx.vols["vol-0"])},
    )
    assert r.json()[0]["reasons"] == ["already_offered", "already_assigned"]
    assert await world.count("outbox", "kind = 'assignment.cancelled'") == 1


async def test_open_call_feed_and_claim(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, dispatch="open_call"))
    need_id = r.json()["need"]["id"]
    assert await world.count("offers") == 0  # open calls are not pushed
    feed = await client.get(
        "/v1/volunteers/me/feed",
        headers=world.headers("vol-0"),
        params={"lat": HOME["lat"], "lon": HOME["lon"], "radius_km": 5},
    )
    assert feed.status_code == 200, feed.text
    assert [n["id"] for n in feed.json()] == [need_id]
    assert "location" not in feed.json()[0]
    assert feed.json()[0]["coarse_location"] != HOME
    r = await client.get(
        "/v1/volunteers/me/feed",
        headers=world.headers("vol-0"),
        params={"lat": 95, "lon": HOME["lon"]},
    )
    assert r.status_code == 422
    r = await client.post(f"/v1/needs/{need_id}/claim", headers=world.headers("vol-0"))
    assert r.status_code == 200, r.text
    r = await client.post(f"/v1/needs/{need_id}/claim", headers=world.headers("vol-0"))
    assert r.status_code == 409
    r = await client.post(f"/v1/needs/{need_id}/claim", headers=world.headers("vol-1"))
    assert r.status_code == 409
    assert r.json()["type"].endswith("need-filled")
    assert await world.count("outbox", "kind = 'need.claimed'") == 1


async def test_a_stale_claim_is_released_and_offered_again(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    need_id, _ = await accepted(client, ctx, world)
    await cascade.run_due(world.owner)  # the filled need's other offer is withdrawn
    async with world.owner.begin() as conn:
        await conn.execute(text("UPDATE programmes SET stale_claim_timeout_s = 60"))
        await conn.execute(text("UPDATE assignments SET accepted_at = now() - interval '5 min'"))
        # a window started 5 min ago, another comes tomorrow: they may still come then
        await conn.execute(
            text(
                "UPDATE needs SET windows = tstzmultirange("
                " tstzrange(now() - interval '5 min', now() + interval '2 h'),"
                " tstzrange(now() + interval '1 day', now() + interval '1 day 2 h'))"
            )
        )
    assert await open_calls.release_stale(world.owner) == 0
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "UPDATE needs SET windows = tstzmultirange(tstzrange(now() - interval '5 min',"
                " now() + interval '2 h'))"
            )
        )
    assert await open_calls.release_stale(world.owner) == 1
    assert await open_calls.release_stale(world.owner) == 0
    await cascade.run_due(world.owner)
    offers = await offers_of(client, ctx, need_id)
    assert {o["status"] for o in offers if o["wave"] == 1} == {"accepted", "withdrawn"}
    assert len([o for o in offers if o["wave"] == 2]) == 2
    assert await world.count("assignments", "status = 'released'") == 1
    assert await world.count("outbox", "kind = 'assignment.released'") == 1


async def test_vetting_that_lapses_after_the_offer_blocks_the_accept(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    await world.volunteer("vetted", org="org-a", at=(HOME["lat"], HOME["lon"]), vetting="enhanced")
    r = await client.post(
        "/v1/needs", headers=ctx.caseworker, json=need(ctx, min_vetting="enhanced")
    )
    need_id = r.json()["need"]["id"]
    offers = await offers_of(client, ctx, need_id)
    assert [o["volunteer_name"] for o in offers] == ["Vetted"]  # the unvetted: never offered
    async with world.owner.begin() as conn:
        await conn.execute(text("UPDATE vetting_checks SET expires_on = current_date"))
    offer = await offer_for(client, world, "vetted")
    r = await client.post(f"/v1/offers/{offer['id']}/accept", headers=world.headers("vetted"))
    assert r.status_code == 409
    assert r.json()["type"].endswith("not-eligible")
    assert "vetting_expired" in r.json()["detail"]


async def test_decline_then_the_worker_sends_the_next_wave(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    need_id = r.json()["need"]["id"]
    for subject in ("vol-0", "vol-1"):
        offer = await offer_for(client, world, subject)
        r = await client.post(
            f"/v1/offers/{offer['id']}/decline",
            headers=world.headers(subject),
            json={"reason": "Busy"},
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "declined"
    r = await client.post(f"/v1/offers/{offer['id']}/accept", headers=world.headers("vol-1"))
    assert r.status_code == 409
    assert r.json()["type"].endswith("offer-closed")
    await cascade.run_due(world.owner)
    offers = await offers_of(client, ctx, need_id)
    assert sorted(o["wave"] for o in offers) == [1, 1, 2, 2]


async def test_exclusions_and_cancellation(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    url = f"/v1/clients/{ctx.client['id']}/exclusions"
    body = {"volunteer_id": str(ctx.vols["vol-0"]), "reason": "Client asked"}
    r = await client.post(url, headers=ctx.caseworker, json=body)
    assert r.status_code == 201, r.text
    r = await client.post(url, headers=world.headers("vol-0"), json=body)
    assert r.status_code == 403
    r = await client.post(
        "/v1/needs", headers=ctx.caseworker, json=need(ctx, slots=2, dispatch="auto")
    )
    need_id = r.json()["need"]["id"]
    offered = {o["volunteer_name"] for o in await offers_of(client, ctx, need_id)}
    assert "Vol 0" not in offered
    assert len(offered) == 4  # wave size 2 per open slot
    offer = await offer_for(client, world, "vol-1")
    r = await client.post(f"/v1/offers/{offer['id']}/accept", headers=world.headers("vol-1"))
    assert r.status_code == 200
    r = await client.post(
        f"/v1/needs/{need_id}/cancel", headers=ctx.caseworker, json={"reason": "Not needed"}
    )
    assert r.status_code == 200, r.text
    statuses = {o["status"] for o in await offers_of(client, ctx, need_id)}
    assert statuses == {"accepted", "withdrawn"}
    assert await world.count("assignments", "status = 'cancelled'") == 1
    assert await world.count("outbox", "kind = 'assignment.cancelled'") == 1


async def test_a_series_is_offered_whole_to_one_volunteer_first(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.post(
        "/v1/needs",
        headers=ctx.caseworker,
        json=need(ctx, recurrence="FREQ=WEEKLY;COUNT=3", windows=[window(days=1)]),
    )
    assert r.status_code == 201, r.text
    assert await world.count("offers") == 1
    offer = await offer_for(client, world, "vol-0")
    assert offer["series"] is True
    r = await client.post(f"/v1/offers/{offer['id']}/accept", headers=world.headers("vol-0"))
    assert r.status_code == 200, r.text
    async with world.owner.begin() as conn:  # the waiting occurrences' steps fall due
        await conn.execute(text("UPDATE needs SET next_step_at = now()"))
    await cascade.run_due(world.owner)
    # the second occurrence (within the 14-day lead) is theirs too; the third waits its turn
    assert await world.count("assignments", "status = 'accepted'") == 2
    assert await world.count("needs", "filled = 1") == 2
    assert await world.count("offers") == 1  # nobody else was alerted


async def test_an_exclusion_withdraws_live_offers_and_ends_assignments(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, slots=2))
    need_id = r.json()["need"]["id"]
    offer0 = await offer_for(client, world, "vol-0")
    offer1 = await offer_for(client, world, "vol-1")
    r = await client.post(f"/v1/offers/{offer1['id']}/accept", headers=world.headers("vol-1"))
    assignment = r.json()["id"]
    url = f"/v1/clients/{ctx.client['id']}/exclusions"
    for name in ("vol-0", "vol-1"):
        body = {"volunteer_id": str(ctx.vols[name]), "reason": "Client asked"}
        assert (await client.post(url, headers=ctx.caseworker, json=body)).status_code == 201
    r = await client.post(f"/v1/offers/{offer0['id']}/accept", headers=world.headers("vol-0"))
    assert r.status_code == 409  # withdrawn: the excluded volunteer cannot take it
    r = await client.get(
        f"/v1/volunteers/me/assignments/{assignment}", headers=world.headers("vol-1")
    )
    assert r.json()["status"] == "cancelled"
    assert r.json()["client"] is None
    shown = (await client.get(f"/v1/needs/{need_id}", headers=ctx.caseworker)).json()
    assert shown["filled"] == 0
