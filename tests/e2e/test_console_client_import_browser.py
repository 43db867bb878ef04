"""The clients' import page in a real headless Chromium (Debian's): a caseworker opens it
from the menu, uploads a file of good, duplicate and bad rows, sees every verdict with its
line, imports the rows (the page's script posts the apply and shows the answer), and the
same file again changes nothing. axe-core at WCAG 2.2 AA in each state, and in Welsh."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright

from app.factory import create_app
from app.settings import Settings
from tests.e2e import axe_support
from tests.e2e.console_support import signed_in_browser
from tests.e2e.openapi_support import tool
from tests.e2e.test_client_import import MIXED, _clients, settings, setup  # noqa: F401
from tests.e2e.test_console_browser import AXE_URL, READY
from tests.e2e.test_map_page import QUIET, SCREENSHOTS, chromium  # noqa: F401
from tests.live import serving
from tests.support import Db, World

pytestmark = pytest.mark.anyio


async def test_a_caseworker_checks_and_imports_clients_in_chromium(
    world: World,
    settings: Settings,  # noqa: F811
    db: Db,
    setup: dict[str, object],  # noqa: F811
    chromium: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    tool(axe_support.AXE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    mixed = tmp_path / "clients.csv"
    mixed.write_bytes(MIXED)
    token = setup["caseworker"]["Authorization"].split()[1]  # type: ignore[index]
    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await (await browser.new_context()).new_page()
            reports: list[str] = []
            page.on("console", lambda m: reports.append(m.text) if m.type == "error" else None)
            axe = await axe_support.checker(page, f"{url}{AXE_URL}")
            await signed_in_browser(page, url, token)

            await page.click("a[href='/console/import/clients']")
            await page.wait_for_selector("#upload-form")
            await page.wait_for_selector(READY)
            assert "safeguarding_flags" in await page.inner_text("#columns")
            await axe("client import")

            await page.set_input_files("#file", str(mixed))
            await page.click("#upload-form button[type=submit]")
            await page.wait_for_selector("#verdicts")
            await page.wait_for_selector(READY)
            assert await _clients(world) == []
            duplicate = await page.inner_text("#verdicts tr[data-line='4']")
            assert "repeats line 2" in duplicate
            assert "Will be created" in await page.inner_text("#verdicts tr[data-line='3']")
            assert "Refused\t7" in await page.inner_text("#counts")
            assert "Secret Lane" not in await page.content()
            await axe("client import, the dry run")
            await page.screenshot(
                path=str(SCREENSHOTS / "console-client-import.png"), full_page=True
            )

            await page.click("#apply-form button[type=submit]")
            await page.wait_for_selector("#done")
            assert "/apply" not in page.url  # the script's fetch, not the form's own post
            assert "Clients imported" in await page.inner_text("#result-heading")
            assert "Created\t2" in await page.inner_text("#counts")
            assert len(await _clients(world)) == 2
            await axe("client import, applied")

            await page.click("#main-content a[href^='/console/import/clients?org=']")
            await page.wait_for_selector("#upload-form")
            await page.set_input_files("#file", str(mixed))
            await page.click("#upload-form button[type=submit]")
            await page.wait_for_selector("#nothing-to-do")
            assert "Unchanged\t2" in await page.inner_text("#counts")

            await page.click("#language-switch a[lang='cy']")
            await page.wait_for_selector("h1:has-text('Mewnforio cleientiaid')")
            await page.wait_for_selector(READY)
            await axe("client import, in Welsh")
            await page.set_input_files("#file", str(mixed))
            await page.click("#upload-form button[type=submit]")
            await page.wait_for_selector("#verdicts")
            await axe("client import, the dry run, in Welsh")
            assert not [r for r in reports if "Content Security Policy" in r], reports
            await browser.close()
