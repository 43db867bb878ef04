"""axe-core in the pages' own browsers: the file from `npm ci`, and one check of a page
against WCAG 2.2 AA, shared by the map's and the console's Chromium tests."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from playwright.async_api import Page, Route

from tests.conftest import ROOT

AXE = ROOT / "web" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


async def check(page: Page, script_url: str, state: str) -> None:
    """No axe-core violation at WCAG 2.2 AA on the page as it is. The script comes from
    `script_url`, which the test's browser routes to `AXE` (the pages' CSP allows only
    scripts of their own origin, and Playwright runs it with no eval in the page); it is
    added once per loaded page."""
    if not await page.locator("script[data-axe]").count():
        await page.add_script_tag(url=script_url)
        await page.locator(f"script[src='{script_url}']").evaluate("s => s.dataset.axe = '1'")
    found = await page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return { violations: r.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) })),
              passes: r.passes.length };
        }""",
        AXE_TAGS,
    )
    assert found["violations"] == [], (state, json.dumps(found["violations"], indent=1))
    assert found["passes"] > 10, state


async def checker(page: Page, script_url: str) -> Callable[[str], Awaitable[None]]:
    """`check` for this page: routes `script_url` to `AXE` in the page's browser, and returns
    the check of the page as it is, named by its state."""

    async def axe_file(route: Route) -> None:
        await route.fulfill(path=AXE, content_type="text/javascript")

    await page.route(script_url, axe_file)

    async def axe(state: str) -> None:
        await check(page, script_url, state)

    return axe
