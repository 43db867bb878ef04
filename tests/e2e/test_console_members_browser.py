"""The members and settings pages in a real headless Chromium (Debian's): an org admin changes
a member's role with a reason and sees it in the list and in the audit log, revokes an
invitation with a reason, changes the organisation's time zone; axe-core at WCAG 2.2 AA on
every new page as it first shows, with an error, and in Welsh."""

from __future__ import annotations

import html

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


async def _audit(world: World, action: str) -> list[tuple[str, dict[str, object]]]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text("SELECT reason, details FROM audit_log WHERE action = :a ORDER BY at, id"),
            {"a": action},
        )
        return [(r.reason, dict(r.details)) for r in rows]


async def _open(page: Page, url: str, selector: str) -> None:
    await page.goto(url)
    await page.wait_for_selector(selector)
    await page.wait_for_selector(READY)


async def test_an_admin_changes_a_role_revokes_an_invitation_and_the_time_zone_in_chromium(
    world: World,
    settings: Settings,
    db: Db,
    chromium: str,  # noqa: F811
) -> None:
    tool(axe_support.AXE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    org = await world.org("reading-council")
    admin = await world.person("ada-admin", org="reading-council", role="org_admin")
    await world.person("carl-case", org="reading-council", role="caseworker")
    await Scenario(world).programme(org, "Errands")
    token = admin["Authorization"].split()[1]
    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await (await browser.new_context()).new_page()

            axe = await axe_support.checker(page, f"{url}{AXE_URL}")

            await signed_in_browser(page, url, token)

            # Invite someone (an error first), from the menu's Members.
            await page.click("a[href='/console/members']")
            await page.wait_for_selector("#members")
            await page.wait_for_selector(READY)
            await axe("members")
            await page.fill("#email", "not an address")
            await page.select_option("#role", "caseworker")
            await page.click("#invite-form button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            assert (await page.title()).startswith("Error: ")
            await axe("members, with an error")
            await page.fill("#email", "wrong.person@example.org")
            await page.click("#invite-form button[type=submit]")
            await page.wait_for_selector("#invitations")
            assert "wrong.person@example.org" in await page.inner_text("#invitations")

            # Change Carl's role: without a reason first.
            row = page.locator("#members tr", has_text="Carl Case")
            await row.get_by_role("link", name="Change role").click()
            await page.wait_for_selector("#change-form")
            await page.wait_for_selector(READY)
            await axe("change a role")
            await page.check("#to-org_admin")
            await page.click("#change-form button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            assert "Enter the reason" in await page.inner_text(".govuk-error-summary")
            await axe("change a role, with an error")
            await page.check("#to-org_admin")
            await page.fill("#reason", "Runs the service from January.")
            await page.click("#change-form button[type=submit]")
            await page.wait_for_selector("#done")
            carl = page.locator("#members tr", has_text="Carl Case")
            assert "Organisation admin" in await carl.inner_text()
            [(reason, details)] = await _audit(world, "membership.changed")
            assert reason == "Runs the service from January."
            assert details == {"from": "caseworker", "to": "org_admin"}

            # The confirmation step of taking a role away (axe), then kept.
            await carl.get_by_role("link", name="Take the role away").click()
            await page.wait_for_selector("#remove-form")
            await page.wait_for_selector(READY)
            await axe("take a role away")
            await page.click("#remove-form button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            await axe("take a role away, with an error")
            await page.get_by_role("link", name="Keep it").click()
            await page.wait_for_selector("#members")

            # Revoke the invitation, with a reason.
            invitation = page.locator("#invitations tr", has_text="wrong.person@example.org")
            await invitation.get_by_role("link", name="Revoke").click()
            await page.wait_for_selector("#revoke-form")
            await page.wait_for_selector(READY)
            await axe("revoke an invitation")
            await page.click("#revoke-form button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            await axe("revoke an invitation, with an error")
            await page.fill("#reason", "Sent to the wrong address.")
            await page.click("#revoke-form button[type=submit]")
            await page.wait_for_selector("#no-invitations")
            assert [r for r, _ in await _audit(world, "invitation.revoked")] == [
                "Sent to the wrong address."
            ]

            # Settings: a bad retention first, then the time zone.
            await page.click("a[href='/console/settings']")
            await page.wait_for_selector("#settings-form")
            await page.wait_for_selector(READY)
            assert "their DBS check records" in await page.inner_text("#retention-explained")
            await axe("settings")
            await page.fill("#safeguarding_retention_months", "6")
            await page.click("#settings-form button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            assert "12 to 1200" in await page.inner_text(".govuk-error-summary")
            await axe("settings, with an error")
            await page.fill("#safeguarding_retention_months", "84")
            await page.select_option("#time_zone", "Europe/Dublin")
            await page.click("#settings-form button[type=submit]")
            await page.wait_for_selector("#done")
            assert await page.input_value("#time_zone") == "Europe/Dublin"
            [(_, changed)] = await _audit(world, "organisation.updated")
            assert changed["after"] == {
                "time_zone": "Europe/Dublin",
                "safeguarding_retention_months": 84,
            }
            await page.screenshot(path=str(SCREENSHOTS / "console-settings.png"), full_page=True)

            await page.locator("#programmes").get_by_role("link", name="Change").click()
            await page.wait_for_selector("#policy-form")
            await page.wait_for_selector(READY)
            await axe("a programme's policy")
            await page.fill("#wave_size", "0")
            await page.click("#policy-form button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            await axe("a programme's policy, with an error")

            # In Welsh: each page wholly so, and still without a violation.
            await page.click("#language-switch a[lang='cy']")
            await page.wait_for_selector("h1:has-text('Polisi cynnig y rhaglen')")
            await axe("a programme's policy, in Welsh")
            for path, heading in (
                ("/console/settings", "Gosodiadau"),
                ("/console/members", "Aelodau"),
            ):
                await _open(page, f"{url}{path}", f"h1:has-text('{heading}')")
                await axe(f"{path}, in Welsh")
            await page.select_option("#role", "caseworker")
            await page.fill("#email", "")
            await page.click("#invite-form button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            summary = html.unescape(await page.inner_text(".govuk-error-summary"))
            assert "Rhowch gyfeiriad e-bost" in summary
            await axe("members, with an error, in Welsh")
            await browser.close()
