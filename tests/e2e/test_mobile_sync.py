"""Offline-first mobile sync: my offers by cursor and `since`, a conditional profile GET, and
Idempotency-Key on every mobile POST."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.needs import cascade
from tests.e2e.cascade_world import Casework, ctx, need, window
from tests.e2e.test_volunteers import READING, SIGN_UP
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["ctx"]  # the fixture, imported

OFFERS = "/v1/volunteers/me/offers"


async def test_my_offers_page_by_cursor_and_sync_since(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    vol0, vol1 = world.headers("vol-0"), world.headers("vol-1")
    need_ids = []
    for days in (2, 3):
        r = await client.post(
            "/v1/needs", headers=ctx.caseworker, json=need(ctx, windows=[window(days)])
        )
        need_ids.append(r.json()["need"]["id"])
    first = (await client.get(OFFERS, headers=vol0, params={"limit": 1})).json()
    assert [o["need"]["id"] for o in first["items"]] == need_ids[:1]
    second = (
        await client.get(OFFERS, headers=vol0, params={"limit": 1, "cursor": first["next_cursor"]})
    ).json()
    assert [o["need"]["id"] for o in second["items"]] == need_ids[1:]
    sync_point = second["next_cursor"]
    assert (await client.get(OFFERS, headers=vol0, params={"since": sync_point})).json() == {
        "items": [],
        "next_cursor": None,
    }

    # vol-1 takes the first need's only slot: vol-0's offer for it is withdrawn
    offer1 = (await client.get(OFFERS, headers=vol1)).json()["items"][0]["id"]
    assert (await client.post(f"/v1/offers/{offer1}/accept", headers=vol1)).status_code == 200
    await cascade.run_due(world.owner)
    # no longer open, so gone from the open list, but the sync reports the change
    open_now = (await client.get(OFFERS, headers=vol0)).json()["items"]
    assert [o["need"]["id"] for o in open_now] == need_ids[1:]
    changed = (await client.get(OFFERS, headers=vol0, params={"since": sync_point})).json()
    assert [(o["need"]["id"], o["status"]) for o in changed["items"]] == [
        (need_ids[0], "withdrawn")
    ]
    later = await client.get(OFFERS, headers=vol0, params={"since": changed["next_cursor"]})
    assert later.json()["items"] == []
    for bad in ({"since": "nonsense"}, {"cursor": "bm9wZQ"}, {"limit": 0}):
        r = await client.get(OFFERS, headers=vol0, params=bad)
        assert r.status_code in (400, 422), (bad, r.text)


async def test_profile_etag_gives_304_until_it_changes(
    client: httpx.AsyncClient, world: World
) -> None:
    me = world.headers("val")
    assert (await client.post("/v1/volunteers/me", headers=me, json=SIGN_UP)).status_code == 201
    r = await client.get("/v1/volunteers/me", headers=me)
    tag = r.headers["etag"]
    assert r.status_code == 200
    assert r.json()["display_name"] == "Val Volunteer"
    r = await client.get("/v1/volunteers/me", headers={**me, "If-None-Match": tag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == tag
    r = await client.get("/v1/volunteers/me", headers={**me, "If-None-Match": f'"x", W/{tag}'})
    assert r.status_code == 304
    await client.patch("/v1/volunteers/me", headers=me, json={"display_name": "Val V"})
    r = await client.get("/v1/volunteers/me", headers={**me, "If-None-Match": tag})
    assert r.status_code == 200
    assert r.headers["etag"] != tag
    # another volunteer's tag is just a different tag
    await client.post("/v1/volunteers/me", headers=world.headers("bob"), json=SIGN_UP)
    r = await client.get(
        "/v1/volunteers/me", headers={**world.headers("bob"), "If-None-Match": tag}
    )
    assert r.status_code == 200


async def test_mobile_posts_replay_with_an_idempotency_key(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.org("reading-council")
    me = world.headers("val")

    async def twice(path: str, body: dict[str, Any], key: str) -> httpx.Response:
        headers = {**me, "Idempotency-Key": key}
        first = await client.post(path, headers=headers, json=body)
        again = await client.post(path, headers=headers, json=body)
        assert first.status_code == again.status_code, (path, first.text, again.text)
        assert first.json() == again.json()
        return first

    r = await twice("/v1/volunteers/me", SIGN_UP, "sign-up-1")
    assert r.status_code == 201, r.text  # the retry is not a 409 "already signed up"
    r = await twice("/v1/volunteers/me/enrolments", {"organisation": "reading-council"}, "enrol-1")
    assert r.status_code == 201, r.text
    r = await twice("/v1/volunteers/me/duty", {"on_duty": True, "location": READING}, "duty-1")
    assert r.status_code == 200, r.text
    device = {"token": "fcm-token-" + "x" * 40, "platform": "android"}
    r = await twice("/v1/volunteers/me/devices", device, "device-1")
    assert r.status_code == 201, r.text
    assert await world.count("devices") == 1
    assert await world.count("idempotency_keys") == 4
    # the same key for a different request is refused, naming the header
    r = await client.post(
        "/v1/volunteers/me/duty",
        headers={**me, "Idempotency-Key": "duty-1"},
        json={"on_duty": False},
    )
    assert r.status_code == 422
    assert "Idempotency-Key" in r.text


async def test_a_change_committed_after_a_sync_is_never_behind_its_cursor(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    """A transaction that began before a sync and commits after it: with a timestamp cursor
    its change would land behind the cursor already handed out, and be lost to the phone."""
    vol0 = world.headers("vol-0")
    for days in (2, 3):
        r = await client.post(
            "/v1/needs", headers=ctx.caseworker, json=need(ctx, windows=[window(days)])
        )
        assert r.status_code == 201, r.text
    start = (await client.get(OFFERS, headers=vol0)).json()
    first, second = (o["id"] for o in start["items"])

    async with world.owner.connect() as slow:
        slow_tx = await slow.begin()  # a long transaction changes the first offer, and waits
        await slow.execute(
            text("UPDATE offers SET decline_reason = 'slow', responded_at = now() WHERE id = :id"),
            {"id": first},
        )
        async with world.owner.begin() as quick:  # a later one changes the second, commits
            await quick.execute(
                text(
                    "UPDATE offers SET decline_reason = 'quick', responded_at = now()"
                    " WHERE id = :id"
                ),
                {"id": second},
            )
        during = (
            await client.get(OFFERS, headers=vol0, params={"since": start["next_cursor"]})
        ).json()
        # the open list (a first load) shows what is committed now, newer than the slow one
        open_now = (await client.get(OFFERS, headers=vol0)).json()["items"]
        await slow_tx.commit()

    # the quick change waits behind the slow one: the cursor never passes an open transaction
    assert during["items"] == []
    assert {o["id"] for o in open_now} == {first, second}
    after = (await client.get(OFFERS, headers=vol0, params={"since": start["next_cursor"]})).json()
    assert {o["id"] for o in after["items"]} == {first, second}
    assert (await client.get(OFFERS, headers=vol0, params={"since": after["next_cursor"]})).json()[
        "items"
    ] == []
