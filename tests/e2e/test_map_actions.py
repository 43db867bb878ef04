"""A map a coordinator can act on (issue 13, part 4): the cell endpoint, then the page in a real
headless Chromium (Debian's) over real HTTP: signed out it shows the base map and says why
it is empty; signed in, a legend, the cells by gap, a gap cell's escalated needs with their
reasons (by click and by keyboard), and the coordinator's actions through the API: the next
wave now and a named offer take effect in the database, a refused offer says why in words.
axe-core (web/node_modules, pinned in web/package.json) reports no WCAG 2.2 AA violation in
each state, run under the page's own Content-Security-Policy; screenshots are saved."""

from __future__ import annotations

import struct
import zlib
from datetime import timedelta
from typing import Any

import httpx
import msgspec
import pytest
from playwright.async_api import Route, async_playwright
from sqlalchemy import text as sql

from app.factory import create_app
from app.settings import Settings
from tests.e2e import axe_support as axe
from tests.e2e.openapi_support import tool
from tests.e2e.test_map_page import QUIET, READY, SCREENSHOTS, chromium  # noqa: F401
from tests.live import serving
from tests.scenario import NOW, READING, Scenario
from tests.support import Db, World

pytestmark = pytest.mark.anyio
GAP = (51.4700, -0.9300)  # 3.9 km east-north-east of the town centre
BBOX = "-1.1,51.40,-0.85,51.52"
TILES = "https://tiles.example.test"
OPEN = "body[data-panel='open']"  # the cell panel is shown and no action is under way


async def _gap_world(world: World) -> dict[str, Any]:
    """Three clients' needs in one cell, escalated with nobody in reach; volunteers elsewhere."""
    org = await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    s = Scenario(world)
    programme = await s.programme(org, "Errands")
    needs = []
    for n in range(3):
        needs.append(
            await s.need(
                org,
                programme,
                await s.client(org, GAP),
                at=GAP,
                title=f"Prescription run {n + 1}",
                window_start=NOW + timedelta(days=1, hours=n),
                escalated_at=NOW - timedelta(hours=1),
                escalation_reason="no_candidates",
                next_step_at=None,
            )
        )
    for name in ("far-fay", "far-finn"):  # at the town centre, 1 km radius: not to the gap
        await world.volunteer(name, org="reading-council", at=READING, max_travel_km=1.0)
    return {"org": org, "headers": headers, "needs": needs}


def _cell_of(body: dict[str, Any]) -> dict[str, Any]:
    busy = [f["properties"] for f in body["features"] if f["properties"]["needs"]]
    assert len(busy) == 1, busy
    return busy[0]


async def test_a_cells_needs_come_coarse_with_status_and_reason_and_are_audited(
    client: httpx.AsyncClient, world: World
) -> None:
    w = await _gap_world(world)
    headers = w["headers"]
    hexes = await client.get(
        "/v1/coverage/hexes", params={"bbox": BBOX, "resolution": 14}, headers=headers
    )
    cell = _cell_of(hexes.json())
    assert cell["gap_hours"] == 3.0

    url = f"/v1/coverage/cells/{cell['cell']}/needs"
    got = await client.get(url, params={"resolution": 14}, headers=headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body | {"cell": cell["cell"], "resolution": 14, "suppressed": False, "total": 3} == body
    assert [n["title"] for n in body["needs"]] == [f"Prescription run {n}" for n in (1, 2, 3)]
    first = body["needs"][0]
    assert first | {"status": "open", "escalation_reason": "no_candidates"} == first
    assert first | {"demand_hours": 1.0, "supply_hours": 0.0, "unmet_hours": 1.0} == first
    assert sum(n["unmet_hours"] for n in body["needs"]) == cell["gap_hours"]
    for need in body["needs"]:  # the coarse cell centre, never the address or the client
        assert not {"location", "client_id", "description"} & set(need)
        assert need["coarse_location"] != {"lat": GAP[0], "lon": GAP[1]}
    assert "A Client" not in got.text
    assert await world.count("audit_log", "action = 'client.read' AND reason = 'coverage map'") == 3

    # The same cell with larger cells is another cell; another number is no cell of ours.
    other = await client.get(url, params={"resolution": 13}, headers=headers)
    assert other.status_code == 200
    for bad in ("1,2,3", "a,b", "1;2", "99999999999,0"):
        refused = await client.get(f"/v1/coverage/cells/{bad}/needs", headers=headers)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["errors"][0]["field"] == "cell"
    off = await client.get(
        "/v1/coverage/cells/999999999,0/needs", params={"resolution": 8}, headers=headers
    )
    assert off.status_code == 200  # every i,j names a cell; beyond the map's square, empty
    assert off.json() | {"total": 0, "needs": [], "suppressed": False} == off.json()

    # Volunteers get no map; fewer than k clients: nothing listed, as the map shows nothing.
    volunteer = await world.volunteer("vol-v", org="reading-council")
    assert volunteer
    no = await client.get(url, params={"resolution": 14}, headers=world.headers("vol-v"))
    assert no.status_code == 403
    async with world.owner.begin() as conn:
        await conn.execute(sql("UPDATE needs SET status = 'cancelled' WHERE title LIKE '%1'"))
    thin = (await client.get(url, params={"resolution": 14}, headers=headers)).json()
    assert thin | {"suppressed": True, "total": None, "needs": []} == thin


def _tile_png() -> bytes:
    """A 256 x 256 stand-in base map tile: land, a park and a grid of streets."""
    rows = []
    for y in range(256):
        row = bytearray([0])
        for x in range(256):
            if x % 64 < 6 or y % 64 < 6:
                rgb = (255, 255, 255)
            elif 80 < x < 150 and 90 < y < 170:
                rgb = (200, 230, 201)
            else:
                rgb = (242, 239, 233)
            row += bytes(rgb)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 256, 256, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


async def test_a_coordinator_acts_on_a_gap_from_the_map(
    world: World,
    settings: Settings,
    db: Db,
    chromium: str,  # noqa: F811
) -> None:
    tool(axe.AXE)  # installed by `npm ci` (make test); a skip locally without it, a failure in CI
    w = await _gap_world(world)
    token = w["headers"]["Authorization"].split()[1]
    configured = msgspec.structs.replace(settings, map_tile_url=f"{TILES}/{{z}}/{{x}}/{{y}}.png")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tile = _tile_png()
    app = create_app(configured, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await browser.new_page(viewport={"width": 1400, "height": 900})
            failures: list[str] = []
            refused: list[str] = []
            tiles: list[str] = []
            page.on("requestfailed", lambda r: failures.append(r.url))
            page.on(
                "console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None
            )

            async def base_map(route: Route) -> None:
                tiles.append(route.request.url)
                await route.fulfill(body=tile, content_type="image/png")

            async def axe_file(route: Route) -> None:
                await route.fulfill(path=axe.AXE, content_type="text/javascript")

            await page.route(f"{TILES}/**", base_map)
            await page.route(f"{url}/static/app/axe.min.js", axe_file)

            # Signed out: the base map, a message saying why it is empty, the sign-in.
            await page.goto(f"{url}/coverage")
            await page.wait_for_selector("body[data-state='signed-out'] #signed-out-note")
            assert "signed out" in (await page.inner_text("#signed-out-note")).lower()
            await page.wait_for_selector("img.leaflet-tile-loaded")
            assert tiles
            assert await page.is_visible("#token")
            assert "short by 16 h or more" in await page.inner_text("#legend")
            await page.screenshot(path=str(SCREENSHOTS / "map-signed-out.png"))
            await axe.check(page, f"{url}/static/app/axe.min.js", "signed out")

            # Signed in: the legend, the gap cell first in the list, with its figures in words.
            await page.fill("#token", token)
            await page.click("#signin")
            await page.wait_for_selector(READY)
            assert await page.is_hidden("#signed-out-note")
            legend = await page.inner_text("#legend")
            for words in ("short by under 2 h", "no gap", "fewer than 3 clients", "no unfilled"):
                assert words in legend, words
            first_row = page.locator("#cells tbody tr").first
            assert "short by 3 h" in await first_row.inner_text()
            assert await page.locator("path.hex-gap").count() == 1
            await page.hover("path.hex-gap")  # the tooltip speaks the E2SFCA measure
            tip = await page.inner_text(".leaflet-tooltip")
            assert "3 h wanted; 0 h of volunteers' time could go to them; unmet 3 h" in tip
            assert "available" not in tip
            await page.screenshot(path=str(SCREENSHOTS / "map-legend.png"))
            await axe.check(page, f"{url}/static/app/axe.min.js", "signed in")

            # A click on the gap cell lists its needs, escalated, with the reason in words.
            await page.locator("path.hex-gap").click()
            await page.wait_for_selector("#cell-panel:not([hidden]) .need-item")
            items = page.locator("#cell-needs .need-item")
            assert await items.count() == 3
            panel = await page.inner_text("#cell-panel")
            assert "Prescription run 1" in panel
            assert "Escalated: no eligible volunteer can reach it" in panel
            assert "Unmet 1 h of 1 h wanted" in panel

            # Closing returns to the list; Enter on the cell's row opens it again, focused.
            await page.click("#cell-close")
            assert await page.is_hidden("#cell-panel")
            await page.focus("#cells tbody tr button")
            await page.keyboard.press("Enter")
            await page.wait_for_selector("#cell-panel:focus .need-item")
            need_1, need_2, need_3 = (str(n) for n in w["needs"])

            # Nobody in reach: the next wave now sends nothing, and says so.
            await page.click(f"#wave-{need_1}")
            await page.wait_for_selector(f"#msg-wave-{need_1}:has-text('No offer sent')")
            await page.wait_for_selector(OPEN)  # the panel has been read again

            # A volunteer joins near the gap: the candidates explain her, the wave reaches her.
            nell = await world.volunteer(
                "near-nell", org="reading-council", at=GAP, max_travel_km=5.0
            )
            await page.click(f"#cand-{need_2}")
            await page.wait_for_selector(f"#candidates-{need_2} li:has-text('Near Nell')")
            assert "distance" in await page.inner_text(f"#candidates-{need_2}")
            await page.focus(f"#wave-{need_1}")
            await page.keyboard.press("Enter")
            await page.wait_for_selector(f"#msg-wave-{need_1}:has-text('Sent 1 offer now')")
            await page.wait_for_selector("#announce:has-text('Sent 1 offer now: Near Nell')")
            assert await _offers(world, need_1, nell) == [("manual", "pending")]
            # The panel is read again: offered, no longer escalated, listed after the needs
            # still escalated; the focus is back on the control in the new panel.
            item_1 = f".need-item:has(#need-{need_1})"
            await page.wait_for_selector(f"{item_1}:has-text('1 wave sent')")
            assert "Escalated" not in await page.inner_text(item_1)
            await page.wait_for_selector(f"#wave-{need_1}:focus")
            last = await page.inner_text("#cell-needs .need-item >> nth=2")
            assert "Prescription run 1" in last

            # A named offer: typed, found on the roster, made through the API.
            await page.fill(f"#name-{need_2}", "Near Nell")
            await page.click(f"#named-{need_2}")
            await page.wait_for_selector(f"#msg-named-{need_2}:has-text('Offered to Near Nell')")
            await page.wait_for_selector(OPEN)
            assert await _offers(world, need_2, nell) == [("manual", "pending")]

            # Refused: a volunteer beyond reach; the API's reason, in words, by the control.
            await page.fill(f"#name-{need_3}", "Far Fay")
            await page.press(f"#name-{need_3}", "Enter")
            message = f"#msg-named-{need_3}"
            await page.wait_for_selector(f"{message}:has-text('Refused')")
            said = await page.inner_text(message)
            assert "not eligible: beyond their travel radius" in said, said
            assert await world.count("offers", f"need_id = '{need_3}'") == 0
            await page.locator("#cell-title").scroll_into_view_if_needed()
            await page.screenshot(path=str(SCREENSHOTS / "map-panel-open.png"))
            await axe.check(page, f"{url}/static/app/axe.min.js", "panel open")
            await browser.close()
    assert not failures
    assert not refused
    assert (SCREENSHOTS / "map-panel-open.png").stat().st_size > 10_000


async def _offers(world: World, need_id: str, volunteer_id: Any) -> list[tuple[str, str]]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            sql("SELECT source, status FROM offers WHERE need_id = :n AND volunteer_id = :v"),
            {"n": need_id, "v": volunteer_id},
        )
        return [(r.source, r.status) for r in rows]
