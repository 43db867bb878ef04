"""The coordinator's map page in a real headless Chromium (Debian's), over real HTTP: it
loads, draws hexagons, a programme filter changes the layer; a screenshot is saved."""

from __future__ import annotations

import os
import shutil

import httpx
import pytest
from playwright.async_api import async_playwright

from app.factory import create_app
from app.settings import Settings
from tests.conftest import ROOT
from tests.live import serving
from tests.scenario import Scenario
from tests.support import Db, World

pytestmark = pytest.mark.anyio
CHROMIUM = shutil.which("chromium")
SCREENSHOTS = ROOT / ".state" / "screenshots"
# Nothing but our server: no updates, no sync, no metrics, no safe-browsing look-ups.
QUIET = [
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: `make test` installs it as root")
        pytest.skip("install Debian's chromium (make test does, as root)")
    return CHROMIUM


async def test_the_map_page_draws_and_filters(
    world: World, settings: Settings, db: Db, chromium: str
) -> None:
    org = await world.org("reading-council")
    token = (await world.person("coord", org="reading-council", role="coordinator"))[
        "Authorization"
    ].split()[1]
    s = Scenario(world)
    errands = await s.programme(org, "Errands")
    await s.programme(org, "Befriending")
    for n in range(4):
        await s.volunteer("reading-council", f"vol-{n}", km=1.5 + n, on_duty=n % 2 == 0, hours=3)
    for _ in range(4):
        await s.need(org, errands, await s.client(org), slots=3, duration_minutes=120)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with serving(create_app(settings, database_url=db.app_url)) as url:
        async with httpx.AsyncClient(base_url=url) as plain:
            page_html = await plain.get("/coverage")
            assert page_html.status_code == 200
            assert "/static/leaflet/leaflet.js" in page_html.text
            assert (await plain.get("/static/leaflet/leaflet.js")).status_code == 200
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            failures: list[str] = []
            page.on("requestfailed", lambda r: failures.append(r.url))
            await page.goto(f"{url}/coverage")
            await page.fill("#token", token)
            await page.click("#signin")
            await page.wait_for_function("document.body.dataset.state === 'ready'")
            assert await page.locator("path.hex").count() > 10
            assert await page.locator("path.hex-demand").count() == 1
            assert await page.locator("path.need").count() == 1
            assert "Fill rate" in await page.inner_text("#metrics")
            await page.screenshot(path=str(SCREENSHOTS / "coverage-all.png"))

            await page.select_option("#programme", label="Befriending")
            await page.wait_for_function(
                "document.body.dataset.state === 'ready'"
                " && document.body.dataset.demandHexes === '0'"
            )
            assert await page.locator("path.hex-demand").count() == 0
            assert await page.locator("path.hex").count() > 10  # supply is still there
            await page.screenshot(path=str(SCREENSHOTS / "coverage-befriending.png"))
            await browser.close()
    assert not failures
    assert (SCREENSHOTS / "coverage-all.png").stat().st_size > 10_000
