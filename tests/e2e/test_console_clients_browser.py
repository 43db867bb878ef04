"""Adding a client in a real headless Chromium (Debian's), over real HTTP, on the real
database, with the real geocoder adapter calling a fake OS Places on 127.0.0.1: postcode
(a bad one first: the error summary links to the field), address, details, the client's
page; axe-core on every page at WCAG 2.2 AA. Then with no lookup configured: the page says
why and the pin is put by a click on the map. And both with JavaScript off, where the
latitude and longitude fields are the pin. Last, the client's data rights: a volunteer
kept away (the error first), the subject-access file downloaded, the record erased."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID

import anyio
import msgspec
import pytest
from playwright.async_api import Page, Route, async_playwright
from sqlalchemy import text

from app.factory import create_app
from app.settings import Settings
from tests.e2e import axe_support
from tests.e2e.console_support import town
from tests.e2e.openapi_support import tool
from tests.e2e.test_map_page import QUIET, SCREENSHOTS, chromium  # noqa: F401
from tests.fake_os_places import KEY, FakeOsPlaces, point_of
from tests.fake_os_places import serving as serving_os_places
from tests.live import serving
from tests.scenario import NOW, Scenario
from tests.support import Db, World

pytestmark = pytest.mark.anyio
READY = "body.govuk-frontend-supported"
AXE_URL = "/console/axe.min.js"  # routed by the test's browser only, to web/node_modules


async def _axe(page: Page, url: str, state: str, *, js: bool) -> None:
    if js:
        await axe_support.check(page, f"{url}{AXE_URL}", state)


async def _sign_in(page: Page, url: str, token: str) -> None:
    await page.goto(f"{url}/console/clients")
    await page.wait_for_selector("#session-form")
    await page.fill("#id_token", token)  # `codeliver token`'s development token
    await page.click("#session-form button[type=submit]")
    await page.wait_for_selector("#needs")
    await page.goto(f"{url}/console/clients")
    await page.wait_for_selector("#clients")


async def _details(page: Page, name: str) -> None:
    await page.fill("#name", name)
    await page.fill("#phone", "0118 496 0123")
    await page.check("#flags")  # the first flag: lives alone
    await page.select_option("#language", label="Polish")
    await page.fill("#notes", "Knock loudly.")


async def _by_postcode(page: Page, url: str, *, js: bool) -> None:
    await _axe(page, url, "your clients", js=js)
    await page.click("#add-client")
    await page.wait_for_selector("#postcode-form")
    await _axe(page, url, "the client's postcode", js=js)
    await page.fill("#postcode", "RG1")
    await page.click("#postcode-form button[type=submit]")
    await page.wait_for_selector(".govuk-error-summary")
    assert await page.get_attribute(".govuk-error-summary__list a", "href") == "#postcode"
    assert "Enter a real postcode" in await page.inner_text("#postcode-error")
    assert (await page.title()).startswith("Error: ")
    await _axe(page, url, "the client's postcode, with an error", js=js)
    if js:
        await page.wait_for_selector(READY)
        await page.click(".govuk-error-summary__list a")
        assert await page.evaluate("() => document.activeElement.id") == "postcode"
    await page.fill("#postcode", "rg1 1aa")
    await page.click("#postcode-form button[type=submit]")
    await page.wait_for_selector("#addresses")
    assert "3 addresses found for RG1 1AA" in await page.inner_text("#choice-hint")
    await _axe(page, url, "select the address", js=js)
    await page.click("#address-form button[type=submit]")  # none chosen
    await page.wait_for_selector("#choice-error")
    await _axe(page, url, "select the address, with an error", js=js)
    await page.check("label:has-text('2, FRIAR STREET, READING, RG1 1AA')")
    await page.click("#address-form button[type=submit]")
    await page.wait_for_selector("#picked")
    assert "310012345602" in await page.inner_text("#picked")
    await _axe(page, url, "the client's details, address picked", js=js)
    await _details(page, f"Bea Okafor {js}")
    await page.click("#client-form button[type=submit]")
    await page.wait_for_selector(".govuk-notification-banner--success")
    assert page.url.endswith("?done=added")
    summary = await page.inner_text("#summary")
    assert "2, FRIAR STREET, READING, RG1 1AA" in summary
    assert "310012345602" in summary
    assert "Within about 500 m of" in summary
    assert "Lives alone" in summary
    await page.screenshot(path=str(SCREENSHOTS / f"console-client-added-js-{js}.png"))
    await _axe(page, url, "a client, just added", js=js)
    await page.click("#change-client")
    await page.wait_for_selector("#client-form")
    assert await page.input_value("#address") == "2, FRIAR STREET, READING, RG1 1AA"
    await _axe(page, url, "change the client's details", js=js)
    await page.fill("#email", "not an email")
    await page.click("#client-form button[type=submit]")
    await page.wait_for_selector("#email-error")
    await _axe(page, url, "change the client's details, with an error", js=js)
    await page.fill("#email", "bea@example.org")
    await page.click("#client-form button[type=submit]")
    await page.wait_for_selector(".govuk-notification-banner--success")
    assert page.url.endswith("?done=changed")
    assert "bea@example.org" in await page.inner_text("#summary")
    assert "310012345602" in await page.inner_text("#summary")  # the address did not move
    await page.goto(f"{url}/console/clients?name=okafor")
    await page.wait_for_selector("#clients")
    await _axe(page, url, "your clients, found by name", js=js)


async def _by_pin(page: Page, url: str, *, js: bool) -> None:
    await page.goto(f"{url}/console/clients/new")
    await page.wait_for_selector("#no-lookup")
    await _axe(page, url, "the client's postcode, no lookup", js=js)
    await page.fill("#postcode", "RG1 1AA")
    await page.click("#postcode-form button[type=submit]")
    await page.wait_for_selector("#notice")
    assert "not set up for this service" in await page.inner_text("#notice")
    await page.fill("#address", "7 Friar Street, Reading")
    if js:
        await page.wait_for_selector("#pin-map.leaflet-container .leaflet-control-zoom")
        await page.click("#pin-map", position={"x": 200, "y": 150})
        assert await page.input_value("#lat") != ""
        assert "Pin put at latitude" in await page.inner_text("#pin-status")
        await page.screenshot(path=str(SCREENSHOTS / "console-client-pin.png"))
    else:
        assert await page.is_hidden("#pin-map")
        await page.fill("#lat", "51.4561")
        await page.fill("#lon", "-0.9712")
    await _axe(page, url, "the client's details, with the pin map", js=js)
    await _details(page, f"Cai Evans {js}")
    await page.click("#client-form button[type=submit]")
    await page.wait_for_selector(".govuk-notification-banner--success")
    assert "7 Friar Street, Reading" in await page.inner_text("#summary")


async def _data_rights(page: Page, url: str, client_id: UUID, *, js: bool) -> None:
    await page.goto(f"{url}/console/clients/{client_id}")
    await page.wait_for_selector("#keep-away")
    await _axe(page, url, "a client with a volunteer to keep away", js=js)
    await page.select_option("#volunteer", label="Ann Able")
    await page.click("#keep-away button[type=submit]")
    await page.wait_for_selector("#reason-error")
    assert await page.get_attribute(".govuk-error-summary__list a", "href") == "#reason"
    await _axe(page, url, "keep a volunteer away, with an error", js=js)
    await page.fill("#reason", "The client asked for someone else.")
    await page.click("#keep-away button[type=submit]")
    await page.wait_for_selector(".govuk-notification-banner--success")
    assert "Ann Able" in await page.inner_text("#exclusions")
    await _axe(page, url, "a client with a volunteer kept away", js=js)
    await page.click("#export-link")
    await page.wait_for_selector("#export-form")
    await _axe(page, url, "download what is held", js=js)
    await page.fill("#reason", "Subject-access request by letter")
    async with page.expect_download() as downloading:
        await page.click("#export-form button[type=submit]")
    download = await downloading.value
    assert download.suggested_filename == f"client-{client_id}-subject-access.json"
    exported = json.loads(await anyio.Path(await download.path()).read_text(encoding="utf-8"))
    assert exported["client"]["name"] == "A Client"
    await page.goto(f"{url}/console/clients/{client_id}")
    await page.click("#erase-link")
    await page.wait_for_selector("#erase-form")
    await _axe(page, url, "erase the client's personal data", js=js)
    await page.click("#erase-form button[type=submit]")
    await page.wait_for_selector("#reason-error")
    await _axe(page, url, "erase, with an error", js=js)
    await page.fill("#reason", "Erasure request by letter.")
    await page.click("#erase-form button[type=submit]")
    await page.wait_for_selector(".govuk-notification-banner--success")
    assert "erased" in await page.inner_text(".govuk-notification-banner__heading")
    await page.screenshot(path=str(SCREENSHOTS / f"console-client-erased-js-{js}.png"))
    await _axe(page, url, "an erased client", js=js)


async def _stored(world: World, name: str) -> Any:
    async with world.owner.connect() as conn:
        found = await conn.execute(
            text(
                "SELECT uprn, ST_Y(location::geometry) AS lat, ST_X(location::geometry) AS lon"
                " FROM clients WHERE name = :name"
            ),
            {"name": name},
        )
        return found.one()


@pytest.mark.parametrize("js", [True, False], ids=["javascript", "no-javascript"])
async def test_a_caseworker_adds_clients_by_postcode_and_by_pin_in_chromium(
    world: World,
    settings: Settings,
    db: Db,
    chromium: str,  # noqa: F811
    js: bool,
) -> None:
    tool(axe_support.AXE)
    t = await town(world)
    s = Scenario(world)
    ann = await s.volunteer("reading-council", "Ann Able", hours=6)
    await s.offer(t.org, t.need, ann, NOW - timedelta(minutes=5))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    fake = FakeOsPlaces()
    lookup = msgspec.structs.replace(
        settings, geocoder="os_places", geocoder_url=fake.url, os_places_key=KEY
    )
    with_lookup = create_app(lookup, database_url=db.app_url, system_database_url=db.owner_url)
    without = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving_os_places(fake), serving(with_lookup) as url, serving(without) as plain:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            context = await browser.new_context(
                java_script_enabled=js, viewport={"width": 1280, "height": 900}
            )
            failures: list[str] = []
            refused: list[str] = []

            async def axe_file(route: Route) -> None:
                await route.fulfill(path=axe_support.AXE, content_type="text/javascript")

            for base in (url, plain):
                await context.route(f"{base}{AXE_URL}", axe_file)
            page = await context.new_page()
            # a navigation cancels what the page was still loading (ERR_ABORTED): no fault
            page.on(
                "requestfailed",
                lambda r: (
                    None
                    if r.failure == "net::ERR_ABORTED"
                    else failures.append(f"{r.url} {r.failure}")
                ),
            )
            page.on(
                "console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None
            )
            await _sign_in(page, url, t.token)
            await _by_postcode(page, url, js=js)
            # Cookies belong to a host, not a port: the session holds on the second server.
            await _by_pin(page, plain, js=js)
            await _data_rights(page, url, t.client, js=js)
            await browser.close()
    assert [f for f in failures if "ERR_ABORTED" not in f] == []
    assert refused == []
    by_postcode = await _stored(world, f"Bea Okafor {js}")
    assert by_postcode.uprn == "310012345602"
    assert (round(by_postcode.lat, 6), round(by_postcode.lon, 6)) == point_of(2)
    assert await world.count("clients", f"id = '{t.client}' AND erased_at IS NOT NULL") == 1
    by_pin = await _stored(world, f"Cai Evans {js}")
    assert by_pin.uprn is None
    if not js:
        assert (round(by_pin.lat, 4), round(by_pin.lon, 4)) == (51.4561, -0.9712)
    else:  # a click near the demo town's centre, where the map opens
        assert abs(by_pin.lat - 51.4543) < 0.05
        assert abs(by_pin.lon + 0.9781) < 0.05
