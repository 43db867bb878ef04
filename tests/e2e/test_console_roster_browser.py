"""The roster pages in a real headless Chromium (Debian's): a coordinator narrows the roster
through the filter form (a programme's needs, a check lapsing within 30 days, lapsed), opens
a volunteer and suspends them with a reason (refused without one first), records a renewed
check; axe-core at WCAG 2.2 AA on both pages as they first show, with an error, and in
Welsh."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Page, async_playwright
from sqlalchemy import text

from app.factory import create_app
from app.settings import Settings
from tests.e2e import axe_support
from tests.e2e.console_support import signed_in_browser
from tests.e2e.openapi_support import tool
from tests.e2e.test_console_browser import AXE_URL, READY
from tests.e2e.test_map_page import QUIET, SCREENSHOTS, chromium  # noqa: F401
from tests.live import serving
from tests.scenario import Scenario
from tests.support import Db, World

pytestmark = pytest.mark.anyio
ORG = "reading-council"


async def _names(page: Page) -> set[str]:
    if not await page.locator("#roster").count():
        return set()
    return set(await page.locator("#roster tbody th a").all_inner_texts())


async def _filter(page: Page, **choices: str) -> None:
    for name in ("status", "programme", "level", "check", "no_shows"):
        await page.select_option(f"#{name}", choices.get(name, ""))
    await page.click("#filter-form button[type=submit]")
    await page.wait_for_selector("#roster, #no-volunteers, .govuk-error-summary")
    await page.wait_for_selector(READY)


async def test_a_coordinator_filters_the_roster_and_suspends_with_a_reason_in_chromium(
    world: World,
    settings: Settings,
    db: Db,
    chromium: str,  # noqa: F811
) -> None:
    tool(axe_support.AXE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    today = datetime.now(UTC).date()
    org = await world.org(ORG)
    coordinator = await world.person("coord", org=ORG, role="coordinator")
    for name, level, days in (
        ("v-children", "enhanced_children", 200),
        ("v-soon", "enhanced", 12),
        ("v-lapsed", "enhanced_children", -4),
    ):
        await world.volunteer(
            name, org=ORG, vetting=level, vetting_expires=today + timedelta(days=days)
        )
    await world.volunteer("v-pending", org=ORG, status="pending")
    family = await Scenario(world).programme(org, "Family support")
    await Scenario(world).programme(org, "Errands")
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE programmes SET min_vetting = 'enhanced_children' WHERE id = :p"),
            {"p": family},
        )
    token = coordinator["Authorization"].split()[1]
    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await (await browser.new_context()).new_page()

            axe = await axe_support.checker(page, f"{url}{AXE_URL}")

            await signed_in_browser(page, url, token)

            # The roster from the menu, then narrowed through the form.
            await page.click("a[href='/console/volunteers']")
            await page.wait_for_selector("#roster")
            await page.wait_for_selector(READY)
            assert await _names(page) == {"V Children", "V Soon", "V Lapsed", "V Pending"}
            soon = page.locator("#roster tr", has_text="V Soon")
            assert "Lapses in 12 days" in await soon.inner_text()
            await axe("the roster")
            await _filter(page, programme=str(family))
            assert await _names(page) == {"V Children"}
            await _filter(page, check="30")
            assert await _names(page) == {"V Soon"}
            await _filter(page, check="lapsed")
            assert await _names(page) == {"V Lapsed"}
            assert "Lapsed" in await page.inner_text("#roster")
            await _filter(page, status="pending", check="30")
            assert await _names(page) == set()
            assert await page.is_visible("#no-volunteers")
            await axe("the roster, nobody matching")
            await page.goto(f"{url}/console/volunteers?level=gold")
            await page.wait_for_selector(".govuk-error-summary")
            await page.wait_for_selector(READY)
            assert (await page.title()).startswith("Error: ")
            await axe("the roster, with an error")
            await page.click("#clear-filters")
            await page.wait_for_selector("#roster")
            await page.screenshot(path=str(SCREENSHOTS / "console-roster.png"), full_page=True)

            # A volunteer's page: suspend without a reason first, then with one.
            await page.locator("#roster").get_by_role("link", name="V Soon").click()
            await page.wait_for_selector("#suspend-form")
            await page.wait_for_selector(READY)
            await axe("a volunteer")
            await page.click("#suspend-form button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            assert "Enter the reason" in await page.inner_text(".govuk-error-summary")
            await axe("a volunteer, with an error")
            await page.fill("#reason", "Complaint under review.")
            await page.click("#suspend-form button[type=submit]")
            await page.wait_for_selector("#done")
            assert "Suspended" in await page.inner_text("#status")
            assert "Complaint under review." in await page.inner_text("#status")
            async with world.owner.connect() as conn:
                reasons = (
                    await conn.execute(
                        text("SELECT reason FROM audit_log WHERE action = 'volunteer.suspended'")
                    )
                ).scalars()
                assert list(reasons) == ["Complaint under review."]

            # A renewed check: the current one says when it lapses, in words.
            checked = today - timedelta(days=3)
            await page.select_option("#level", "enhanced")
            await page.fill("#checked_on-day", str(checked.day))
            await page.fill("#checked_on-month", str(checked.month))
            await page.fill("#checked_on-year", str(checked.year))
            await page.check("#id_verified")
            await page.check("#update_service")
            await page.click("#vetting-form button[type=submit]")
            await page.wait_for_selector("#done")
            assert "Valid" in await page.inner_text("#current-check")
            assert await page.locator("#history tbody tr").count() == 2
            await axe("a volunteer, a check recorded")
            await page.screenshot(path=str(SCREENSHOTS / "console-volunteer.png"), full_page=True)

            # In Welsh: both pages, still without a violation.
            await page.click("#language-switch a[lang='cy']")
            await page.wait_for_selector("h1")
            await page.wait_for_selector(READY)
            await axe("a volunteer, in Welsh")
            await page.goto(f"{url}/console/volunteers")
            await page.wait_for_selector("h1:has-text('Gwirfoddolwyr')")
            await page.wait_for_selector(READY)
            await axe("the roster, in Welsh")
            await browser.close()
