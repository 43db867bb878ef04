"""A need's page, live (`WS /console/needs/{id}/live`), on a real API process: the signed-in
caseworker hears of their need's offers and acceptance as they happen, through the API's
own events; the socket is refused without a session, from another origin, for another
organisation's need and for a volunteer, and never carries another need's events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar
from playwright.async_api import Route, async_playwright
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from app.db.tables import offers, users
from app.factory import create_app
from app.identity.sessions import COOKIE
from app.settings import Settings
from notifications.outbox import LIVE
from tests.e2e import axe_support
from tests.e2e.console_support import csrf_of, sign_in, town
from tests.e2e.live_servers import api_replica, frame, synced
from tests.e2e.openapi_support import tool
from tests.e2e.test_console_browser import AXE_URL, READY
from tests.e2e.test_map_page import QUIET, SCREENSHOTS, chromium  # noqa: F401
from tests.live import serving
from tests.scenario import NOW, Scenario
from tests.support import Db, World

pytestmark = pytest.mark.anyio


@asynccontextmanager
async def _live(
    base: str, need_id: UUID, cookie: str | None, origin: str | None = None, query: str = ""
) -> AsyncIterator[ClientConnection]:
    headers = {"Origin": origin or base.replace("ws://", "http://")}
    if cookie is not None:
        headers["Cookie"] = f"{COOKIE}={cookie}"
    url = f"{base}/console/needs/{need_id}/live{query}"
    async with connect(url, additional_headers=headers) as ws:
        yield ws


async def _refused(base: str, need_id: UUID, cookie: str | None, **kw: Any) -> None:
    async with _live(base, need_id, cookie, **kw) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4403
    assert "Secret" not in closed.value.rcvd.reason


async def _user(world: World, subject: str) -> UUID:
    async with world.owner.connect() as conn:
        found = await conn.scalar(select(users.c.id).where(users.c.subject == subject))
    assert isinstance(found, UUID)
    return found


async def test_the_need_page_hears_its_offers_and_acceptance_live(
    world: World, app: Litestar, client: httpx.AsyncClient, settings: Settings, db: Db
) -> None:
    t = await town(world)
    s = Scenario(world)
    case = await _user(world, "case")
    soon = NOW + timedelta(hours=2)
    mine = await s.need(
        t.org, t.programme, t.client, title="Soon", window_start=soon, created_by=case
    )
    other = await s.need(
        t.org, t.programme, t.client, title="Another", window_start=soon, created_by=case
    )
    ann = await s.volunteer("reading-council", "ann", hours=6)
    await s.volunteer("reading-council", "bob", hours=6)
    await sign_in(client, t.token)
    cookie = client.cookies[COOKIE]
    page = await client.get(f"/console/needs/{mine}")
    assert 'id="live" role="status"' in page.text
    assert "/static/app/console-live.js" in page.text
    token = csrf_of(page.text)

    async with api_replica(settings, db) as base:
        # Refused, each before any frame: no session, a forged one, another site's page,
        # another organisation's need, and a volunteer's session.
        await _refused(base, mine, None)
        await _refused(base, mine, "forged.session.cookie")
        await _refused(base, mine, cookie, origin="https://evil.example")
        await _refused(base, t.other_need, cookie)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as volunteer:
            await sign_in(volunteer, world.headers("ann")["Authorization"].split()[1])
            await _refused(base, mine, volunteer.cookies[COOKIE])

        async with _live(base, mine, cookie) as ws:
            assert (await synced(ws))["last_id"] is None
            # Another need of the same caseworker: its wave is not this page's business.
            wave = await client.post(
                f"/console/needs/{other}/offers", data={"volunteer": str(ann), "_csrf_token": token}
            )
            assert wave.status_code == 303
            made = await client.post(
                f"/console/needs/{mine}/offers", data={"volunteer": str(ann), "_csrf_token": token}
            )
            assert made.status_code == 303
            offered = await frame(ws)
            assert offered["type"] == "event"
            assert offered["kind"] == "need.offered"
            assert offered["payload"] == {
                "kind": "need.offered",
                "need_id": str(mine),
                "wave": 1,
                "offered": 1,
            }
            async with world.owner.connect() as conn:
                offer_id = await conn.scalar(select(offers.c.id).where(offers.c.need_id == mine))
            accepted = await client.post(
                f"/v1/offers/{offer_id}/accept", headers=world.headers("ann")
            )
            assert accepted.status_code == 200, accepted.text
            kinds = [(await frame(ws))["kind"] for _ in range(2)]
            assert kinds == ["need.claimed", "need.filled"]
            assert "Ann" not in str(kinds)

        # A page rendered before all this resumes from its cursor: what it missed is
        # replayed (this need's only), then `synced`.
        since = page.text.split('data-since="')[1].split('"')[0]
        assert since == "0"  # the caseworker had no events when the page was rendered
        async with _live(base, mine, cookie, query=f"?since={since}") as ws:
            replayed = [await frame(ws) for _ in range(4)]
        assert [f.get("kind") for f in replayed] == [
            "need.offered",
            "need.claimed",
            "need.filled",
            None,
        ]
        assert replayed[-1]["type"] == "synced"
        assert {f["payload"]["need_id"] for f in replayed[:3]} == {str(mine)}

    # Live only: written as sent on the live channel, never pushed to the caseworker's phone.
    assert await world.count("outbox", "kind = 'need.offered' AND status = 'pending'") == 0
    assert await world.count("outbox", f"kind = 'need.offered' AND channel = '{LIVE}'") == 2
    page = await client.get(f"/console/needs/{mine}")
    assert "ann accepted and is assigned" in page.text


async def test_the_need_page_updates_itself_in_chromium(
    world: World,
    settings: Settings,
    db: Db,
    chromium: str,  # noqa: F811
) -> None:
    """The page open in Chromium while the next wave goes out and a volunteer accepts
    through the API: its timeline, summary and status region change without a reload,
    the caseworker's focus stays where it was, and axe-core finds nothing on the result."""
    tool(axe_support.AXE)
    t = await town(world)
    s = Scenario(world)
    case = await _user(world, "case")
    mine = await s.need(
        t.org,
        t.programme,
        t.client,
        title="Soon",
        window_start=NOW + timedelta(hours=2),
        created_by=case,
        dispatch="manual",
    )
    await s.volunteer("reading-council", "ann", hours=6)
    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:
        async with (
            async_playwright() as pw,
            httpx.AsyncClient(base_url=url) as api,
        ):
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await browser.new_page(viewport={"width": 1280, "height": 900})

            async def axe_file(route: Route) -> None:
                await route.fulfill(path=axe_support.AXE, content_type="text/javascript")

            await page.route(f"{url}{AXE_URL}", axe_file)
            reports: list[str] = []
            page.on("console", lambda m: reports.append(m.text) if m.type == "error" else None)
            await page.goto(f"{url}/console/sign-in")
            await page.fill("#id_token", t.token)
            await page.click("#session-form button[type=submit]")
            await page.wait_for_selector("#needs")
            await page.goto(f"{url}/console/needs/{mine}")
            await page.wait_for_selector("#live[data-listening]", state="attached")
            assert "Offered" not in await page.inner_text("#timeline")
            await page.focus("#next-wave button")

            wave = await api.post(
                f"/v1/needs/{mine}/offers", json={}, headers={"Authorization": f"Bearer {t.token}"}
            )
            assert wave.status_code == 201, wave.text
            await page.wait_for_function(
                "() => document.querySelector('#timeline').innerText.includes('Offered to 1')"
            )
            assert "Updated: Offered to 1 volunteer" in await page.inner_text("#live")
            # The caseworker was on the button: that part stays (and keeps their focus).
            assert await page.evaluate(
                "() => document.activeElement.closest('#next-wave') !== null"
            )

            async with world.owner.connect() as conn:
                offer_id = await conn.scalar(select(offers.c.id).where(offers.c.need_id == mine))
            accepted = await api.post(f"/v1/offers/{offer_id}/accept", headers=world.headers("ann"))
            assert accepted.status_code == 200, accepted.text
            await page.wait_for_function(
                "() => document.querySelector('#summary').innerText.includes('1 of 1')"
            )
            assert "ann accepted and is assigned" in await page.inner_text("#timeline")
            assert "Updated: ann accepted and is assigned" in await page.inner_text("#live")
            assert page.url.endswith(f"/console/needs/{mine}")  # never reloaded
            await page.screenshot(path=str(SCREENSHOTS / "console-need-live.png"))
            await page.wait_for_selector(READY)
            await axe_support.check(page, f"{url}{AXE_URL}", "a need, updated live")
            assert not reports, reports
            await browser.close()
