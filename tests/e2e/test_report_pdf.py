"""The report as PDF: opened with poppler's pdftotext, its text holds the summary's figures
for the same filters; A4; audited; never another organisation's."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.report_world import PERIOD, build
from tests.support import World

pytestmark = pytest.mark.anyio


def pdf_text(body: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(body)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def pdf_pages(body: bytes, tmp_path: Path) -> str:
    path = tmp_path / "info.pdf"
    path.write_bytes(body)
    return subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout


def has_row(text: str, *cells: str) -> bool:
    """A line of the text with these cells in order, apart by spaces only."""
    pattern = r"\s+".join(re.escape(c) for c in cells)
    return any(re.search(rf"(^|\s){pattern}(\s|$)", line) for line in text.splitlines())


async def test_the_pdfs_text_holds_the_summarys_figures(
    client: httpx.AsyncClient, world: World, tmp_path: Path
) -> None:
    w = await build(client, world)
    params = PERIOD | {"programme": str(w.programme_id)}
    summary = (await client.get("/v1/metrics/summary", params=params, headers=w.headers)).json()
    response = await client.get("/v1/metrics/report.pdf", params=params, headers=w.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"].startswith('attachment; filename="report-')
    assert response.content.startswith(b"%PDF-")
    assert "(A4)" in pdf_pages(response.content, tmp_path)
    text = pdf_text(response.content, tmp_path)
    now, before = summary["overall"], summary["previous"]["overall"]
    assert "Report: Errands" in text
    assert has_row(text, "Needs posted", str(now["needs"]), str(before["needs"]))
    assert has_row(text, "Needs filled", str(now["filled"]), str(before["filled"]))
    assert has_row(
        text, "Fill rate", f"{now['fill_rate'] * 100:.1f}%", f"{before['fill_rate'] * 100:.1f}%"
    )
    assert has_row(
        text, "Hours given", f"{now['completed_hours']:.2f}", f"{before['completed_hours']:.2f}"
    )
    assert has_row(
        text, "Volunteers active", str(now["active_volunteers"]), str(before["active_volunteers"])
    )
    assert has_row(
        text, "Time to fill, median (hours)", f"{now['time_to_fill_s']['p50'] / 3600:.1f}"
    )
    for key, label in {
        "done": "Helped as planned",
        "referred": "Referred to a professional service",
        "not_home": "The person was not at home",
        "safeguarding_concern": "A safeguarding concern was raised",
    }.items():
        assert has_row(text, label, str(now["outcomes"][key]), str(before["outcomes"][key]))
    centre = next(a for a in summary["service_areas"] if a["name"] == "Centre")
    assert has_row(
        text,
        "Centre",
        str(centre["needs"]),
        str(centre["filled"]),
        f"{centre['completed_hours']:.2f}",
        str(centre["outcomes_recorded"]),
    )
    assert has_row(text, "North", "Hidden: fewer than 3 people helped")
    for private in ("A Client", "Prescription run"):
        assert private not in text
    where = "action = 'report.read' AND details->>'format' = 'pdf'"
    assert await world.count("audit_log", where) == 1


async def test_another_organisations_report_is_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    ours = await build(client, world)
    theirs = await build(client, world, org="berkshire-nhs")
    response = await client.get(
        "/v1/metrics/report.pdf",
        params=PERIOD | {"programme": str(theirs.programme_id)},
        headers=ours.headers,
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    volunteer = await world.person("vol", org="reading-council", role="volunteer")
    refused = await client.get("/v1/metrics/report.pdf", params=PERIOD, headers=volunteer)
    assert refused.status_code == 403
