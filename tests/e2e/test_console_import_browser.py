"""The import page in a real headless Chromium (Debian's): a coordinator opens it from the
menu, uploads an empty file (the error on its field), then a file of good, duplicate and
bad rows through the form, sees every verdict with its line, imports the rows (the page's
script shows the progress and swaps in the answer) and sees the result; the same file
again changes nothing. axe-core at WCAG 2.2 AA on the page in each state, and in Welsh."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Route, async_playwright

from app.factory import create_app
from app.settings import Settings
from tests.e2e import axe_support
from tests.e2e.console_support import signed_in_browser
from tests.e2e.openapi_support import tool
from tests.e2e.test_console_browser import AXE_URL, READY
from tests.e2e.test_map_page import QUIET, SCREENSHOTS, chromium  # noqa: F401
from tests.e2e.test_volunteer_import import MIXED, _state, setup  # noqa: F401
from tests.live import serving
from tests.support import Db, World

pytestmark = pytest.mark.anyio


async def test_a_coordinator_checks_and_imports_a_file_in_chromium(
    world: World,
    settings: Settings,
    db: Db,
    setup: dict[str, object],  # noqa: F811
    chromium: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    tool(axe_support.AXE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(MIXED)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    token = setup["coordinator"]["Authorization"].split()[1]  # type: ignore[index]
    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            page = await (await browser.new_context()).new_page()
            reports: list[str] = []
            page.on("console", lambda m: reports.append(m.text) if m.type == "error" else None)

            axe = await axe_support.checker(page, f"{url}{AXE_URL}")

            await signed_in_browser(page, url, token)

            await page.click("a[href='/console/import']")
            await page.wait_for_selector("#upload-form")
            await page.wait_for_selector(READY)
            assert "dbs_checked_on" in await page.inner_text("#columns")
            await axe("import")

            # An empty file: the error on the field, nothing kept.
            await page.set_input_files("#file", str(empty))
            await page.click("#upload-form button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            assert (await page.title()).startswith("Error: ")
            assert "The selected file is empty" in await page.inner_text("#file-error")
            await axe("import, with an error")

            # The mixed file: every verdict with its line; nothing written yet.
            before = await _state(world)
            await page.set_input_files("#file", str(mixed))
            await page.click("#upload-form button[type=submit]")
            await page.wait_for_selector("#verdicts")
            await page.wait_for_selector(READY)
            assert await _state(world) == before
            duplicate = page.locator("#verdicts tr[data-line='4']")
            assert "Refused" in await duplicate.inner_text()
            assert "repeats line 2" in await duplicate.inner_text()
            assert "Will be created" in await page.inner_text("#verdicts tr[data-line='2']")
            assert "Will be updated" in await page.inner_text("#verdicts tr[data-line='7']")
            counts = await page.inner_text("#counts")
            assert "Will be created\t2" in counts
            assert "Refused\t6" in counts
            await axe("import, the dry run")
            await page.screenshot(path=str(SCREENSHOTS / "console-import.png"), full_page=True)

            # Import: the script posts the form, shows the progress, then the answer. The
            # apply is held back until the page has shown the progress the server reports.
            shown = asyncio.Event()

            async def held(route: Route) -> None:
                await asyncio.wait_for(shown.wait(), timeout=15)
                await route.continue_()

            await page.route("**/apply?*", held)
            await page.click("#apply-form button[type=submit]")
            await page.wait_for_selector("#progress-bar", state="visible")
            words = page.locator("#progress-words", has_text="0 of 9 rows imported")
            await words.wait_for()  # what the progress route said: no batch done yet
            assert await page.get_attribute("#progress-bar", "max") == "9"
            assert await page.is_disabled("#apply-form button[type=submit]")
            await axe("import, applying")
            shown.set()
            await page.wait_for_selector("#done")
            assert await page.is_visible("#result-heading")
            assert "/apply" not in page.url  # the script's fetch, not the form's own post
            assert "Created\t2" in await page.inner_text("#counts")
            assert "Created" in await page.inner_text("#verdicts tr[data-line='3']")
            people, members, checks, _ = await _state(world)
            assert (people, members, checks) == (before[0] + 2, before[1] + 2, before[2] + 2)
            await axe("import, applied")

            # The same file again: nothing to import.
            await page.click("#main-content a[href^='/console/import?org=']")
            await page.wait_for_selector("#upload-form")
            await page.set_input_files("#file", str(mixed))
            await page.click("#upload-form button[type=submit]")
            await page.wait_for_selector("#nothing-to-do")
            assert "Unchanged\t3" in await page.inner_text("#counts")
            await axe("import, the same file again")

            # In Welsh, still without a violation.
            await page.click("#language-switch a[lang='cy']")
            await page.wait_for_selector("h1:has-text('Mewnforio gwirfoddolwyr')")
            await page.wait_for_selector(READY)
            await axe("import, in Welsh")
            await page.set_input_files("#file", str(mixed))
            await page.click("#upload-form button[type=submit]")
            await page.wait_for_selector("#verdicts")
            await axe("import, the dry run, in Welsh")
            assert not [r for r in reports if "Content Security Policy" in r], reports
            await browser.close()
