"""The rules an accept and a claim owe a volunteer's limits (issue #12), through the HTTP API:
weekly hours on every accept (one-off and whole-series offers), an offer's every rule on an
open-call claim, a series as one commitment, micro-tasks held to their own limit, and a feed
that lists only what the caller could claim."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.needs import cascade
from matching.eligibility import MAX_OPEN_MICRO_TASKS
from tests.e2e.cascade_world import HOME, Casework, ctx, need, offers_of, window
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["ctx"]
# Needs only the test's own volunteer can take (cascade_world's six have no skills), so
# offers go to them whatever the ranking.
DRIVING: dict[str, Any] = {"required_skills": ["driving"]}
DRIVER: dict[str, Any] = {"at": (HOME["lat"], HOME["lon"]), "skills": ["driving"]}


def next_week(day: int, hours: int = 5) -> dict[str, str]:
    """A window at 10:00 UTC on `day` (0 Monday) of next week: one calendar week for all."""
    today = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
    start = today + timedelta(days=7 - today.weekday() + day)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


async def post(client: httpx.AsyncClient, ctx: Casework, **extra: Any) -> str:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, **extra))
    assert r.status_code == 201, r.text
    return str(r.json()["need"]["id"])


async def offer_of(client: httpx.AsyncClient, ctx: Casework, need_id: str, name: str) -> str:
    mine = [o for o in await offers_of(client, ctx, need_id) if o["volunteer_name"] == name]
    assert len(mine) == 1, mine
    return str(mine[0]["id"])


async def accept(client: httpx.AsyncClient, world: World, offer_id: str, who: str) -> Any:
    return await client.post(f"/v1/offers/{offer_id}/accept", headers=world.headers(who))


def refused(r: httpx.Response, reason: str) -> None:
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("not-eligible"), r.json()
    assert reason in r.json()["detail"], r.json()


async def reasons(
    client: httpx.AsyncClient, ctx: Casework, need_id: str, volunteer: Any
) -> list[str]:
    r = await client.get(
        f"/v1/needs/{need_id}/candidates",
        headers=ctx.caseworker,
        params={"volunteer_id": str(volunteer)},
    )
    assert r.status_code == 200, r.text
    return list(r.json()[0]["reasons"])


async def test_a_second_accept_past_the_weekly_hours_is_refused(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    """Defect 1: 6 h a week, two 4-hour offers in one week: the second accept is a 409."""
    six = await world.volunteer("six", org="org-a", max_hours_per_week=6, **DRIVER)
    first = await post(client, ctx, windows=[next_week(1)], duration_minutes=240, **DRIVING)
    second = await post(client, ctx, windows=[next_week(2)], duration_minutes=240, **DRIVING)
    offer1, offer2 = [await offer_of(client, ctx, n, "Six") for n in (first, second)]
    r = await accept(client, world, offer1, "six")
    assert r.status_code == 200, r.text
    r = await accept(client, world, offer2, "six")
    refused(r, "hours_cap")
    assert "8 h that week, over your 6 h" in r.json()["detail"]
    assert await world.count("assignments", f"volunteer_id = '{six}'") == 1
    # a caseworker's offer is held to the same rule
    r = await client.post(
        f"/v1/needs/{second}/offers", headers=ctx.caseworker, json={"volunteer_ids": [str(six)]}
    )
    assert r.status_code == 422, r.text
    assert "hours_cap" in r.text


async def test_hours_already_worked_that_week_count_against_the_cap(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    """Found by the simulated week: a completed visit gave its hours back for the rest of the
    week (165 minutes on a 2-hour cap). Done work counts towards its week (migration 0016)."""
    six = await world.volunteer("six", org="org-a", max_hours_per_week=6, **DRIVER)
    first = await post(client, ctx, windows=[next_week(1)], duration_minutes=240, **DRIVING)
    second = await post(client, ctx, windows=[next_week(2)], duration_minutes=240, **DRIVING)
    offer1, offer2 = [await offer_of(client, ctx, n, "Six") for n in (first, second)]
    r = await accept(client, world, offer1, "six")
    assert r.status_code == 200, r.text
    async with world.owner.begin() as conn:  # the visit took place (check-in and completion
        await conn.execute(  # are tested elsewhere; here only its hours matter)
            text(
                "UPDATE assignments SET status = 'completed', checked_in_at = now(),"
                " completed_at = now(), ended_at = now() WHERE volunteer_id = :v"
            ),
            {"v": six},
        )
    refused(await accept(client, world, offer2, "six"), "hours_cap")
    assert await world.count("assignments", f"volunteer_id = '{six}'") == 1


async def test_accepting_a_whole_series_past_the_weekly_hours_is_refused(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    """Defect 1, the whole-series offer: its accept checks the hours like any other."""
    await world.volunteer("six", org="org-a", max_hours_per_week=6, **DRIVER)
    series = await post(
        client,
        ctx,
        windows=[next_week(1)],
        duration_minutes=240,
        recurrence="FREQ=WEEKLY;COUNT=2",
        **DRIVING,
    )
    shown = await offers_of(client, ctx, series)
    assert [(o["volunteer_name"], o["series"]) for o in shown] == [("Six", True)]
    one_off = await post(client, ctx, windows=[next_week(3)], duration_minutes=240, **DRIVING)
    r = await accept(client, world, await offer_of(client, ctx, one_off, "Six"), "six")
    assert r.status_code == 200, r.text
    refused(await accept(client, world, shown[0]["id"], "six"), "hours_cap")


async def test_a_series_is_one_commitment_against_the_active_cap(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    """Defect 8: with a cap of 2, one other need and a series of three visits all fit."""
    two = await world.volunteer("two", org="org-a", max_active_assignments=2, **DRIVER)
    other = await post(client, ctx, windows=[window(days=5)], **DRIVING)
    r = await accept(client, world, await offer_of(client, ctx, other, "Two"), "two")
    assert r.status_code == 200, r.text
    series = await post(
        client, ctx, windows=[window(days=1)], recurrence="FREQ=DAILY;COUNT=3", **DRIVING
    )
    shown = await offers_of(client, ctx, series)
    assert [(o["volunteer_name"], o["series"]) for o in shown] == [("Two", True)]
    r = await accept(client, world, shown[0]["id"], "two")
    assert r.status_code == 200, r.text
    async with world.owner.begin() as conn:  # the waiting occurrences' steps fall due
        await conn.execute(text("UPDATE needs SET next_step_at = now()"))
    await cascade.run_due(world.owner)
    assert await world.count("assignments", f"volunteer_id = '{two}'") == 4  # 1 + 3 visits
    # the series counts once, not zero: a third commitment is over the cap
    third = await post(client, ctx, windows=[window(days=9)])
    assert "assignments_cap" in await reasons(client, ctx, third, two)


async def crowd_programme(client: httpx.AsyncClient, ctx: Casework) -> str:
    r = await client.post(
        "/v1/programmes",
        headers=ctx.coordinator,
        json={"name": "Online survey", "kind": "co_production"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def feed(client: httpx.AsyncClient, world: World, who: str, **where: Any) -> list[str]:
    params = {"lat": HOME["lat"], "lon": HOME["lon"], "radius_km": 5, **where}
    r = await client.get("/v1/volunteers/me/feed", headers=world.headers(who), params=params)
    assert r.status_code == 200, r.text
    return [n["id"] for n in r.json()]


async def claim(client: httpx.AsyncClient, world: World, need_id: str, who: str) -> Any:
    return await client.post(f"/v1/needs/{need_id}/claim", headers=world.headers(who))


async def test_crowd_claims_skip_the_active_cap_and_have_their_own_limit(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    """Defects 8 and 9: at their active cap a volunteer still takes micro-tasks, up to
    MAX_OPEN_MICRO_TASKS; then the feed stops listing them and a claim says why."""
    one = await world.volunteer("one", org="org-a", max_active_assignments=1, **DRIVER)
    busy = await post(client, ctx, windows=[window(days=5)], **DRIVING)
    r = await accept(client, world, await offer_of(client, ctx, busy, "One"), "one")
    assert r.status_code == 200, r.text
    crowd = await crowd_programme(client, ctx)
    tasks = [
        await post(
            client,
            ctx,
            programme_id=crowd,
            client_id=None,
            mode="remote",
            dispatch="open_call",
            slots=50,
            windows=[window(days=1 + i / 10, hours=1)],
            duration_minutes=15,
        )
        for i in range(MAX_OPEN_MICRO_TASKS + 1)
    ]
    ordinary = await post(client, ctx, dispatch="open_call", windows=[window(days=6)])
    assert set(await feed(client, world, "one")) == {*tasks}  # at the active cap: not ordinary
    refused(await claim(client, world, ordinary, "one"), "assignments_cap")
    for task in tasks[:-1]:
        r = await claim(client, world, task, "one")
        assert r.status_code == 200, r.text
    assert await feed(client, world, "one") == []
    r = await claim(client, world, tasks[-1], "one")
    refused(r, "micro_task_cap")
    assert f"{MAX_OPEN_MICRO_TASKS} of {MAX_OPEN_MICRO_TASKS} open" in r.json()["detail"]
    assert await world.count("assignments", f"volunteer_id = '{one}'") == MAX_OPEN_MICRO_TASKS + 1


async def test_a_claim_applies_an_offers_rules_and_the_feed_agrees(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    """Defects 7 and 9: radius, availability and hours hold on a claim, and the feed lists
    only what the caller could claim."""
    far_away = (HOME["lat"] + 33_000 / 111_320, HOME["lon"])  # 33 km north
    await world.volunteer("near", org="org-a")
    await world.volunteer("five-km", org="org-a", at=far_away, max_travel_km=5)
    await world.volunteer("busy", org="org-a", available_days=0)
    await world.volunteer("one-hour", org="org-a", max_hours_per_week=1)
    need_id = await post(client, ctx, dispatch="open_call", duration_minutes=90)
    where = {"radius_km": 50}
    for who, reason in (("five-km", "too_far"), ("busy", "unavailable"), ("one-hour", "hours_cap")):
        assert await feed(client, world, who, **where) == [], who
        refused(await claim(client, world, need_id, who), reason)
    assert await feed(client, world, "near", **where) == [need_id]
    r = await claim(client, world, need_id, "near")
    assert r.status_code == 200, r.text
    assert await world.count("assignments") == 1


async def test_offers_from_a_committed_plan_are_accepted_within_the_weekly_hours(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    """Defect 1, the plan path: a plan keeps the weekly hours (it offers one of two 4-hour
    needs to a 6-hour volunteer), and its offer's accept still keeps them when the volunteer
    took other work of that week after the plan was committed."""
    await world.volunteer("six", org="org-a", max_hours_per_week=6, **DRIVER)
    manual = {"dispatch": "manual", "duration_minutes": 240, **DRIVING}
    needs = [await post(client, ctx, windows=[next_week(d)], **manual) for d in (1, 2)]
    start = datetime.now(UTC).replace(microsecond=0)
    body = {
        "programme_id": ctx.programme["id"],
        "from": start.isoformat(),
        "to": (start + timedelta(days=21)).isoformat(),
    }
    r = await client.post("/v1/plans", headers=ctx.coordinator, json=body)
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/plans/{r.json()['id']}/commit", headers=ctx.coordinator)
    assert r.status_code == 200, r.text
    planned = [
        o for n in needs for o in await offers_of(client, ctx, n) if o["volunteer_name"] == "Six"
    ]
    assert len(planned) == 1, planned  # 8 h of needs, 6 h a week: one of the two
    later = await post(client, ctx, windows=[next_week(3)], duration_minutes=240, **DRIVING)
    r = await accept(client, world, await offer_of(client, ctx, later, "Six"), "six")
    assert r.status_code == 200, r.text
    refused(await accept(client, world, planned[0]["id"], "six"), "hours_cap")


async def test_a_page_of_the_feed_is_exactly_what_the_caller_could_claim(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    """The feed decides a whole page at once (three statements a visit): each need on it is
    one a claim accepts, each left off one a claim refuses, whatever the reason."""
    await world.volunteer("me", org="org-a", max_hours_per_week=2)
    await world.volunteer("other", org="org-a")
    fits = [await post(client, ctx, dispatch="open_call", windows=[window(days=d)]) for d in (1, 2)]
    too_long = await post(
        client, ctx, dispatch="open_call", duration_minutes=180, windows=[window(hours=4)]
    )
    unskilled = await post(client, ctx, dispatch="open_call", **DRIVING)
    full = await post(client, ctx, dispatch="open_call", slots=1, windows=[window(days=3)])
    assert (await claim(client, world, full, "other")).status_code == 200
    listed = await feed(client, world, "me")
    assert sorted(listed) == sorted(fits)
    assert await feed(client, world, "me", limit=1) == listed[:1]
    refused(await claim(client, world, too_long, "me"), "hours_cap")
    assert (await claim(client, world, unskilled, "me")).status_code == 409
    assert (await claim(client, world, full, "me")).status_code == 409
    for need_id in listed:
        r = await claim(client, world, need_id, "me")
        assert r.status_code == 200, r.text
    assert await feed(client, world, "me") == []
