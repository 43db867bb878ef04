"""The caseworker's console in a real headless Chromium (Debian's), over real HTTP, on the
real database: Firebase sign-in in the browser (against the fake Auth emulator) exchanged
for a session, the needs list, a need posted with a bad field (the error summary links to
it) then a good one, landing on its page; axe-core on every page at WCAG 2.2 AA. And the
same post flow with JavaScript off, signed in with the development token form."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest
from playwright.async_api import Page, Route, async_playwright

from app.console.forms import CONSOLE_TZ
from app.factory import create_app
from app.settings import Settings
from tests.e2e import axe_support
from tests.e2e.console_support import town
from tests.e2e.openapi_support import tool
from tests.e2e.test_map_page import QUIET, SCREENSHOTS, chromium  # noqa: F401
from tests.fake_firebase_auth import Account, FakeFirebaseAuth
from tests.fake_firebase_auth import serving as serving_auth
from tests.live import serving
from tests.scenario import NOW, Scenario
from tests.support import Db, World

pytestmark = pytest.mark.anyio
CASE = Account(uid="case", email="case@example.org", password="correct horse battery")
# console.js adds the class, then starts GOV.UK Frontend's components in the same task.
READY = "body.govuk-frontend-supported"
AXE_URL = "/console/axe.min.js"  # routed by the test's browser only, to web/node_modules


async def _fill_need(page: Page, duration: str) -> None:
    day = (NOW + timedelta(days=2)).astimezone(CONSOLE_TZ)
    await page.select_option("#programme", label="Errands (community support)")
    await page.select_option("#client", label="A Client")
    await page.fill("#title", "Collect a prescription from Boots, Broad Street")
    await page.fill("#when-day", str(day.day))
    await page.fill("#when-month", str(day.month))
    await page.fill("#when-year", str(day.year))
    await page.fill("#when-time", "10:30")
    await page.fill("#duration", duration)


async def _post_bad_then_good(page: Page, url: str, *, axe: bool) -> None:
    await page.goto(f"{url}/console/needs/new")
    await page.wait_for_selector("#need-form")
    if axe:
        await axe_support.check(page, f"{url}{AXE_URL}", "post a need")
    await _fill_need(page, duration="2")
    await page.click("#need-form button[type=submit]")
    await page.wait_for_selector(".govuk-error-summary")
    link = page.locator(".govuk-error-summary__list a")
    assert await link.count() == 1
    assert await link.get_attribute("href") == "#duration"
    assert "Enter a duration from 5 to 1,440 minutes" in await page.inner_text("#duration-error")
    assert (await page.title()).startswith("Error: ")
    assert await page.input_value("#title") == "Collect a prescription from Boots, Broad Street"
    await page.screenshot(path=str(SCREENSHOTS / f"console-error-js-{axe}.png"))
    if axe:
        await axe_support.check(page, f"{url}{AXE_URL}", "post a need, with an error")
    if axe:
        await page.wait_for_selector(READY)  # GOV.UK Frontend has started (console.js)
    await link.click()
    if axe:  # GOV.UK Frontend moves focus to the field itself
        assert await page.evaluate("() => document.activeElement.id") == "duration"
    await page.fill("#duration", "45")
    await page.click("#need-form button[type=submit]")
    await page.wait_for_selector(".govuk-notification-banner--success")
    assert "/console/needs/" in page.url
    assert page.url.endswith("?done=posted")
    summary = await page.inner_text("#summary")
    assert "45 minutes" in summary
    assert "0 of 1" in summary
    assert "10:30 to 11:15" in summary
    await page.screenshot(path=str(SCREENSHOTS / f"console-posted-js-{axe}.png"))
    if axe:
        await axe_support.check(page, f"{url}{AXE_URL}", "a need, just posted")


async def test_a_caseworker_signs_in_and_posts_a_need_in_chromium(
    world: World,
    settings: Settings,
    db: Db,
    chromium: str,  # noqa: F811
) -> None:
    tool(axe_support.AXE)
    await town(world)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    auth = FakeFirebaseAuth(
        api_key="fake-web-api-key",
        issue=lambda subject: world.issuer.issue(subject, ttl_s=3600),
        accounts=[CASE],
    )
    configured = msgspec.structs.replace(
        settings,
        firebase_project_id="demo-codeliver",
        firebase_web_api_key=auth.api_key,
        firebase_auth_emulator_url=auth.url,
    )
    app = create_app(configured, database_url=db.app_url, system_database_url=db.owner_url)
    with serving_auth(auth), serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            failures: list[str] = []
            refused: list[str] = []
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

            async def axe_file(route: Route) -> None:
                await route.fulfill(path=axe_support.AXE, content_type="text/javascript")

            await page.route(f"{url}{AXE_URL}", axe_file)

            await page.goto(f"{url}/console/needs")  # no session: to sign-in
            await page.wait_for_selector("#firebase-signin:not([hidden])")
            assert page.url == f"{url}/console/sign-in"
            assert await page.is_hidden("#needs-js")
            await page.wait_for_selector(READY)
            await axe_support.check(page, f"{url}{AXE_URL}", "sign in")

            await page.fill("#email", CASE.email)
            await page.fill("#password", "not the password")
            await page.click("#firebase-submit")
            await page.wait_for_selector("#signin-error:has-text('Wrong email address')")
            await page.fill("#password", CASE.password)
            await page.click("#firebase-submit")
            await page.wait_for_selector("#needs")
            assert page.url == f"{url}/console/needs"
            assert "Shopping run 0" in await page.inner_text("#needs")
            assert "Secret lift" not in await page.content()
            cookies = {c["name"]: c for c in await page.context.cookies()}
            assert cookies["codeliver_session"]["httpOnly"]
            assert cookies["codeliver_session"]["sameSite"] == "Lax"
            assert cookies["codeliver_session"]["path"] == "/console"
            await page.screenshot(path=str(SCREENSHOTS / "console-needs.png"))
            await axe_support.check(page, f"{url}{AXE_URL}", "your needs")

            await page.select_option("#status", "cancelled")
            await page.click("#filter button")
            await page.wait_for_selector("#no-needs")
            assert page.url.endswith("status=cancelled")
            await axe_support.check(page, f"{url}{AXE_URL}", "your needs, filtered to none")

            await _post_bad_then_good(page, url, axe=True)

            await page.click("#sign-out button")
            await page.wait_for_selector("#firebase-signin:not([hidden])")
            await page.goto(f"{url}/console/needs")
            await page.wait_for_selector("#firebase-signin")
            assert page.url == f"{url}/console/sign-in"

            # In Welsh, by the switch: the page, the script's words and axe-core's verdict
            await page.click("#language-switch a[lang='cy']")
            await page.wait_for_selector("h1:has-text('Mewngofnodi i Codeliver')")
            assert page.url == f"{url}/console/sign-in"
            assert await page.get_attribute("html", "lang") == "cy"
            await page.wait_for_selector("#firebase-signin:not([hidden])")
            await page.fill("#email", CASE.email)
            await page.fill("#password", "not the password")
            await page.click("#firebase-submit")
            await page.wait_for_selector("#signin-error:has-text('gyfrinair anghywir')")
            await axe_support.check(page, f"{url}{AXE_URL}", "sign in, in Welsh")
            await page.fill("#password", CASE.password)
            await page.click("#firebase-submit")
            await page.wait_for_selector("#needs")
            assert "Eich anghenion" in await page.inner_text("h1")
            await page.screenshot(path=str(SCREENSHOTS / "console-needs-cy.png"))
            await axe_support.check(page, f"{url}{AXE_URL}", "your needs, in Welsh")
            await browser.close()
    assert not failures
    assert not refused
    assert "/identitytoolkit.googleapis.com/v1/accounts:signInWithPassword" in auth.calls


async def test_the_post_flow_works_without_javascript(
    world: World,
    settings: Settings,
    db: Db,
    chromium: str,  # noqa: F811
) -> None:
    t = await town(world)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            context = await browser.new_context(java_script_enabled=False)
            page = await context.new_page()
            await page.goto(f"{url}/console/needs/new")
            await page.wait_for_selector("#session-form")
            assert page.url == f"{url}/console/sign-in"
            await page.fill("#id_token", t.token)  # `codeliver token`'s development token
            await page.click("#session-form button[type=submit]")
            await page.wait_for_selector("#needs")
            assert "Shopping run 0" in await page.inner_text("#needs")
            await _post_bad_then_good(page, url, axe=False)
            await browser.close()


async def _focused(page: Page) -> str:
    return str(
        await page.evaluate("() => document.activeElement.id || document.activeElement.className")
    )


async def _tab_to(page: Page, element_id: str, most: int = 40) -> None:
    """Tab (only) until the element has focus: it is reachable by keyboard, in order."""
    for _ in range(most):
        await page.keyboard.press("Tab")
        if await _focused(page) == element_id:
            return
    raise AssertionError(f"#{element_id} is not reachable with Tab")


async def test_the_post_flow_works_by_keyboard_alone(
    world: World,
    settings: Settings,
    db: Db,
    chromium: str,  # noqa: F811
) -> None:
    t = await town(world)
    day = (NOW + timedelta(days=2)).astimezone(CONSOLE_TZ)
    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.goto(f"{url}/console/sign-in")
            await page.wait_for_selector(READY)
            await page.keyboard.press("Tab")
            assert "govuk-skip-link" in await _focused(page)  # the first stop skips to main
            await _tab_to(page, "id_token")
            await page.keyboard.type(t.token)
            await page.keyboard.press("Enter")
            await page.wait_for_selector("#needs")

            await _tab_to(page, "post-need")
            await page.keyboard.press("Enter")
            await page.wait_for_selector("#need-form")
            typed = {
                "programme": "Errands",
                "client": "A Client",
                "title": "Collect a prescription",
                "when-day": str(day.day),
                "when-month": str(day.month),
                "when-year": str(day.year),
                "when-time": "10:30",
                "duration": "2",
            }
            for element_id, text in typed.items():
                await _tab_to(page, element_id)
                await page.keyboard.type(text)
            await page.keyboard.press("Enter")  # in a text field: submits the form
            await page.wait_for_selector(".govuk-error-summary")
            await page.wait_for_selector(READY)  # GOV.UK Frontend has started (console.js)
            # GOV.UK Frontend focuses the summary; the next Tab is its link to the field.
            assert "govuk-error-summary" in await _focused(page)
            await page.keyboard.press("Tab")
            assert await page.evaluate("() => document.activeElement.hash") == "#duration"
            await page.keyboard.press("Enter")
            assert await _focused(page) == "duration"
            await page.keyboard.press("ControlOrMeta+A")
            await page.keyboard.type("45")
            await page.keyboard.press("Enter")
            await page.wait_for_selector(".govuk-notification-banner--success")
            assert "45 minutes" in await page.inner_text("#summary")
            await browser.close()


async def test_a_need_page_its_offer_and_its_forms_in_chromium(
    world: World,
    settings: Settings,
    db: Db,
    chromium: str,  # noqa: F811
) -> None:
    """The need page with its candidates and timeline, an offer by name, then the cancel and
    outcome forms with and without an error: each checked by axe-core."""
    tool(axe_support.AXE)
    t = await town(world)
    s = Scenario(world)
    soon = await s.need(
        t.org, t.programme, t.client, title="Soon", window_start=NOW + timedelta(hours=2)
    )
    await s.volunteer("reading-council", "Ann Able", hours=6)
    done = await s.need(t.org, t.programme, t.client, title="Done", status="completed", filled=1)
    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await browser.new_page(viewport={"width": 1280, "height": 900})

            async def axe_file(route: Route) -> None:
                await route.fulfill(path=axe_support.AXE, content_type="text/javascript")

            async def check(state: str) -> None:
                await page.wait_for_selector(READY)
                await axe_support.check(page, f"{url}{AXE_URL}", state)

            await page.route(f"{url}{AXE_URL}", axe_file)
            await page.goto(f"{url}/console/sign-in")
            await page.fill("#id_token", t.token)
            await page.click("#session-form button[type=submit]")
            await page.wait_for_selector("#needs")

            await page.goto(f"{url}/console/needs/{soon}")
            await page.wait_for_selector("#candidates table")
            await check("a need, with its candidates")
            await page.click("#candidates button:has-text('Offer')")
            await page.wait_for_selector("#done")
            assert "Ann Able" in await page.inner_text("#timeline")
            await page.screenshot(path=str(SCREENSHOTS / "console-need-offered.png"))
            await check("a need, just offered")

            await page.click("#actions a:has-text('Cancel this need')")
            await page.wait_for_selector("#reason")
            await check("cancel a need")
            await page.click("#cancel-form button")
            await page.wait_for_selector(".govuk-error-summary")
            await check("cancel a need, with an error")
            await page.fill("#reason", "The family will take her.")
            await page.click("#cancel-form button")
            await page.wait_for_selector("#done")
            assert "The family will take her." in await page.inner_text("#summary")

            await page.goto(f"{url}/console/needs/{done}/outcome")
            await check("record an outcome")
            await page.click("#outcome-form button")
            await page.wait_for_selector(".govuk-error-summary")
            await check("record an outcome, with an error")
            await page.click(".govuk-error-summary a")
            assert await _focused(page) == "outcome-done"
            await page.check("#outcome-referred")
            await page.click("#outcome-form button")
            await page.wait_for_selector("#done")
            assert "Referred" in await page.inner_text("#summary")
            await browser.close()
