"""The coordinator's map page in a real headless Chromium (Debian's), over real HTTP: it
loads, draws hexagons, a programme filter changes the layer; Firebase Auth sign-in (against a
fake Auth emulator) draws, refreshes its token an hour later and signs out; screenshots are
saved."""

from __future__ import annotations

import os
import shutil

import httpx
import msgspec
import pytest
from playwright.async_api import Page, Request, async_playwright

from app.factory import create_app
from app.settings import Settings
from tests.conftest import ROOT
from tests.fake_firebase_auth import REFRESH, Account, FakeFirebaseAuth
from tests.fake_firebase_auth import serving as serving_auth
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

# The page's Content-Security-Policy forbids eval, so waits use selectors, not JS strings.
READY = "body[data-state='ready']"


async def _town(world: World) -> dict[str, str]:
    """A coordinator (their headers), two programmes, volunteers, and needs in one cell."""
    org = await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    s = Scenario(world)
    errands = await s.programme(org, "Errands")
    await s.programme(org, "Befriending")
    for n in range(4):
        await s.volunteer("reading-council", f"vol-{n}", km=1.5 + n, on_duty=n % 2 == 0, hours=3)
    for _ in range(4):
        await s.need(org, errands, await s.client(org), slots=3, duration_minutes=120)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return headers


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
    token = (await _town(world))["Authorization"].split()[1]

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
            await page.wait_for_selector(READY)
            assert await page.locator("path.hex").count() > 10
            assert await page.locator("path.hex-demand").count() == 1
            assert await page.locator("path.need").count() == 1
            assert "Fill rate" in await page.inner_text("#metrics")
            assert "volunteers as of" in await page.inner_text("#status")
            await page.screenshot(path=str(SCREENSHOTS / "coverage-all.png"))

            await page.select_option("#programme", label="Befriending")
            await page.wait_for_selector(f"{READY}[data-demand-hexes='0']")
            assert await page.locator("path.hex-demand").count() == 0
            assert await page.locator("path.hex").count() > 10  # supply is still there
            await page.screenshot(path=str(SCREENSHOTS / "coverage-befriending.png"))
            await browser.close()
    assert not failures
    assert (SCREENSHOTS / "coverage-all.png").stat().st_size > 10_000


COORD = Account(uid="coord", email="coord@example.org", password="correct horse battery")


async def _bearers(api_calls: list[Request]) -> list[str]:
    return [(await r.all_headers())["authorization"].split()[1] for r in api_calls]


async def _sign_in(page: Page, password: str) -> None:
    await page.fill("#email", COORD.email)
    await page.fill("#password", password)
    await page.click("#firebase-submit")


async def test_firebase_sign_in_draws_refreshes_and_signs_out(
    world: World, settings: Settings, db: Db, chromium: str
) -> None:
    await _town(world)
    # The fake emulator hands out development-issuer tokens: the API accepts them as is.
    auth = FakeFirebaseAuth(
        api_key="fake-web-api-key",
        issue=lambda subject: world.issuer.issue(subject, ttl_s=3600),
        accounts=[COORD],
    )
    configured = msgspec.structs.replace(
        settings,
        firebase_project_id="demo-codeliver",
        firebase_web_api_key=auth.api_key,
        firebase_auth_emulator_url=auth.url,
    )
    with serving_auth(auth), serving(create_app(configured, database_url=db.app_url)) as url:
        async with httpx.AsyncClient(base_url=url) as plain:
            page_html = await plain.get("/coverage")
            policy = page_html.headers["content-security-policy"]
            assert "script-src 'self';" in policy
            assert f"connect-src 'self' {auth.url};" in policy
            assert (await plain.get("/static/dist/signin.js")).status_code == 200
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.clock.install()  # to close the laptop lid for an hour, below
            requests: list[Request] = []
            failures: list[str] = []
            refused: list[str] = []
            page.on("request", lambda r: requests.append(r))
            page.on("requestfailed", lambda r: failures.append(r.url))
            page.on(
                "console", lambda m: refused.append(m.text) if "Security Policy" in m.text else None
            )
            await page.goto(f"{url}/coverage")
            assert await page.is_visible("#firebase-signin")
            assert await page.is_visible("#token")  # outside production, pasting still works

            await _sign_in(page, "not the password")
            await page.wait_for_selector("#signin-error:has-text('Wrong e-mail or password.')")
            assert not auth.issued
            assert await page.locator("path.hex").count() == 0

            await _sign_in(page, COORD.password)
            await page.wait_for_selector(READY)
            assert await page.locator("path.hex").count() > 10
            assert await page.locator("path.hex-demand").count() == 1
            assert await page.is_hidden("#firebase-signin")
            assert COORD.email in await page.inner_text("#signed-in")
            api_calls = [r for r in requests if r.url.startswith(f"{url}/v1/")]
            assert len(api_calls) >= 4
            assert all(auth.issued.get(t) for t in await _bearers(api_calls))
            await page.screenshot(path=str(SCREENSHOTS / "coverage-signed-in.png"))

            # An hour later the ID token has expired: the SDK refreshes it before the call.
            await page.clock.fast_forward("01:00:00")
            seen = len(requests)
            await page.select_option("#programme", label="Befriending")
            await page.wait_for_selector(f"{READY}[data-demand-hexes='0']")
            later = [r for r in requests[seen:] if r.url.startswith(f"{url}/v1/")]
            assert later
            assert {auth.issued.get(t) for t in await _bearers(later)} == {"refresh"}
            assert REFRESH in auth.calls

            await page.click("#signout")
            await page.wait_for_selector("body[data-state='signed-out']")
            assert await page.locator("path.hex").count() == 0
            assert await page.locator("path.need").count() == 0
            assert await page.inner_text("#metrics") == ""
            assert await page.locator("#programme option").count() == 1
            assert await page.is_visible("#firebase-signin")
            await page.screenshot(path=str(SCREENSHOTS / "coverage-signed-out.png"))
            await browser.close()
    assert not failures
    assert not refused
    assert all(r.url.startswith((url, auth.url)) for r in requests)  # nothing from elsewhere
    assert (SCREENSHOTS / "coverage-signed-in.png").stat().st_size > 10_000
