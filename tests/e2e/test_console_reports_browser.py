"""The reports page in a real headless Chromium (Debian's): signed in, a programme and a
period chosen in the form, the CSV and the PDF downloaded as a person would, and axe-core
at WCAG 2.2 AA on the page in English, with a form error, and in Welsh."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Route, async_playwright

from app.factory import create_app
from app.settings import Settings
from tests.e2e import axe_support
from tests.e2e.openapi_support import tool
from tests.e2e.report_world import build
from tests.e2e.test_console_browser import AXE_URL, READY
from tests.e2e.test_console_reports import FIRST, LAST
from tests.e2e.test_map_page import QUIET, SCREENSHOTS, chromium  # noqa: F401
from tests.e2e.test_report_pdf import pdf_text
from tests.live import serving
from tests.support import Db, World

pytestmark = pytest.mark.anyio


async def test_a_coordinator_downloads_a_report_in_chromium(
    world: World,
    settings: Settings,
    db: Db,
    client: httpx.AsyncClient,
    tmp_path: Path,
    chromium: str,  # noqa: F811
) -> None:
    tool(axe_support.AXE)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    w = await build(client, world)  # its service areas through the API
    token = w.headers["Authorization"].split()[1]
    with serving(app) as url:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=QUIET)
            context = await browser.new_context(accept_downloads=True)
            page = await context.new_page()

            async def axe_file(route: Route) -> None:
                await route.fulfill(path=axe_support.AXE, content_type="text/javascript")

            await page.route(f"{url}{AXE_URL}", axe_file)
            await page.goto(f"{url}/console/sign-in")
            await page.wait_for_selector("#session-form")
            await page.fill("#id_token", token)
            await page.click("#session-form button[type=submit]")
            await page.wait_for_selector("#needs")

            await page.click("a[href='/console/reports']")
            await page.wait_for_selector("#report-filter")
            await page.wait_for_selector(READY)
            await axe_support.check(page, f"{url}{AXE_URL}", "reports")
            await page.fill("#from", LAST)
            await page.fill("#to", FIRST)
            await page.click("#report-filter button[type=submit]")
            await page.wait_for_selector(".govuk-error-summary")
            assert (await page.title()).startswith("Error: ")
            await axe_support.check(page, f"{url}{AXE_URL}", "reports, with an error")

            await page.select_option("#programme", label="Errands")
            await page.fill("#from", FIRST)
            await page.fill("#to", LAST)
            await page.click("#report-filter button[type=submit]")
            await page.wait_for_selector("#figures")
            assert "Needs posted" in await page.inner_text("#figures")
            await page.screenshot(path=str(SCREENSHOTS / "console-reports.png"), full_page=True)
            await axe_support.check(page, f"{url}{AXE_URL}", "a report")

            async with page.expect_download() as csv_download:
                await page.click("#download-csv")
            saved = tmp_path / (await csv_download.value).suggested_filename
            await (await csv_download.value).save_as(saved)
            assert saved.name.startswith("needs-")
            assert saved.suffix == ".csv"
            rows = list(csv.DictReader(io.StringIO(saved.read_text())))
            assert sorted(r["need_id"] for r in rows) == sorted(str(i) for i in w.need_ids)

            async with page.expect_download() as pdf_download:
                await page.click("#download-pdf")
            pdf = tmp_path / (await pdf_download.value).suggested_filename
            await (await pdf_download.value).save_as(pdf)
            assert pdf.suffix == ".pdf"
            text = pdf_text(pdf.read_bytes(), tmp_path)
            assert "Report: Errands" in text
            assert "Hidden: fewer than 3 people helped" in text

            await page.click("#language-switch a[lang='cy']")
            await page.wait_for_selector("h1:has-text('Adroddiadau')")
            await page.wait_for_selector("#figures")
            await axe_support.check(page, f"{url}{AXE_URL}", "a report, in Welsh")
            await browser.close()
