"""The console's reports page: the summary's figures beside the previous period's, the
outcomes, the service areas with suppression in words, the CSV and PDF downloads (in the
page's language), form errors naming the field, and never another organisation's."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest

from app.console.forms import CONSOLE_TZ
from tests.e2e.console_support import sign_in
from tests.e2e.report_world import build
from tests.e2e.test_report_pdf import has_row, pdf_text
from tests.scenario import NOW
from tests.support import World

pytestmark = pytest.mark.anyio
FIRST = (NOW - timedelta(days=9)).astimezone(CONSOLE_TZ).date().isoformat()
LAST = NOW.astimezone(CONSOLE_TZ).date().isoformat()


def _text(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _row(page: str, table: str) -> list[str]:
    body = page.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return [" ".join(_text(r).split()) for r in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.S)]


def _instant(day: str, later: int = 0) -> str:
    return datetime.combine(
        date.fromisoformat(day) + timedelta(days=later), time(), CONSOLE_TZ
    ).isoformat()


async def test_the_page_shows_the_summarys_figures_beside_the_previous_period(
    client: httpx.AsyncClient, world: World
) -> None:
    w = await build(client, world)
    api = w.headers
    params = {"programme": str(w.programme_id), "from": FIRST, "to": LAST}
    token = api["Authorization"].split()[1]
    assert (await sign_in(client, token)).status_code == 303
    page = await client.get("/console/reports", params=params)
    assert page.status_code == 200, page.text
    summary = (
        await client.get(
            "/v1/metrics/summary",
            params={
                "programme": str(w.programme_id),
                "from": _instant(FIRST),
                "to": _instant(LAST, 1),
            },
            headers=api,
        )
    ).json()
    now, before = summary["overall"], summary["previous"]["overall"]
    rows = _row(page.text, "figures")
    assert f"Needs posted {now['needs']} {before['needs']}" in rows
    assert f"Hours given {now['completed_hours']:.2f} {before['completed_hours']:.2f}" in rows
    outcomes = _row(page.text, "outcomes")
    assert f"Helped as planned {now['outcomes']['done']} {before['outcomes']['done']}" in outcomes
    assert "The person was not at home 0 1" in outcomes
    areas = _row(page.text, "areas")
    assert "Centre 3 1 1.50 2" in areas
    assert "North Hidden: fewer than 3 people helped" in areas
    assert "<svg" in page.text
    assert "Prescription run" not in page.text
    assert "A Client" not in page.text

    csv_link = re.search(r'href="(/console/reports/needs\.csv\?[^"]+)"', page.text)
    assert csv_link
    download = await client.get(html.unescape(csv_link.group(1)))
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment;")
    rows_csv = list(csv.DictReader(io.StringIO(download.text)))
    assert len(rows_csv) == now["needs"]


async def test_the_pdf_comes_in_the_pages_language(
    client: httpx.AsyncClient, world: World, tmp_path: Path
) -> None:
    w = await build(client, world)
    assert (await sign_in(client, w.headers["Authorization"].split()[1])).status_code == 303
    client.cookies.set("codeliver_lang", "cy", path="/console")
    params = {"programme": str(w.programme_id), "from": FIRST, "to": LAST}
    page = await client.get("/console/reports", params=params)
    assert "Adroddiadau" in page.text
    assert "Lawrlwytho" in page.text
    pdf = await client.get("/console/reports/report.pdf", params=params)
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.content, tmp_path).replace("\u2019", "'")  # a typographic apostrophe
    assert "Canlyniadau i'r bobl a helpwyd" in text
    assert has_row(text, "Anghenion wedi'u postio", "5", "2")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "27/03/2027"}, "from"),
        ({"from": LAST, "to": FIRST}, "to"),
        ({"from": "2020-01-01", "to": LAST}, "from"),
        ({"programme": "errands"}, "programme"),
    ],
)
async def test_a_bad_filter_is_an_error_naming_the_field(
    client: httpx.AsyncClient, world: World, params: dict[str, str], field: str
) -> None:
    w = await build(client, world)
    assert (await sign_in(client, w.headers["Authorization"].split()[1])).status_code == 303
    page = await client.get("/console/reports", params=params)
    assert page.status_code == 422
    assert f'href="#{field}"' in page.text
    assert 'id="downloads"' not in page.text


async def test_another_organisations_reports_are_never_reachable(
    client: httpx.AsyncClient, world: World
) -> None:
    ours = await build(client, world)
    theirs = await build(client, world, org="berkshire-nhs")
    assert (await sign_in(client, ours.headers["Authorization"].split()[1])).status_code == 303
    params = {"programme": str(theirs.programme_id), "from": FIRST, "to": LAST}
    for path in ("/console/reports", "/console/reports/needs.csv", "/console/reports/report.pdf"):
        response = await client.get(path, params=params)
        assert response.status_code == 404, path
        assert "Hours given" not in response.text
    page = await client.get("/console/reports", params={"from": FIRST, "to": LAST})
    assert page.status_code == 200
    assert str(theirs.programme_id) not in page.text
    assert theirs.centre_id not in page.text
    assert _row(page.text, "figures")[1].startswith("Needs posted 5 ")


async def test_a_caseworker_reads_their_organisations_reports(
    client: httpx.AsyncClient, world: World
) -> None:
    await build(client, world)
    headers = await world.person("case", org="reading-council", role="caseworker")
    assert (await sign_in(client, headers["Authorization"].split()[1])).status_code == 303
    page = await client.get("/console/reports", params={"from": FIRST, "to": LAST})
    assert page.status_code == 200
    assert "Needs posted 5 2" in _row(page.text, "figures")
    assert 'href="/console/reports"' in page.text  # in the menu
