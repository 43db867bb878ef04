"""The report as CSV: one row per need the summary counts, whose sums are the summary's
figures; nothing of the client; no area the summary suppresses; audited; never another
organisation's."""

from __future__ import annotations

import csv
import io
from collections import Counter

import httpx
import numpy as np
import pytest

from app.coverage.report_csv import COLUMNS
from tests.e2e.report_world import PERIOD, build
from tests.support import World

pytestmark = pytest.mark.anyio


async def _csv(
    client: httpx.AsyncClient, headers: dict[str, str], **extra: str
) -> list[dict[str, str]]:
    response = await client.get("/v1/metrics/needs.csv", params=PERIOD | extra, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="needs-')
    reader = csv.DictReader(io.StringIO(response.text))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    return list(reader)


def _p(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


async def test_the_csvs_sums_are_the_summarys_figures(
    client: httpx.AsyncClient, world: World
) -> None:
    w = await build(client, world)
    rows = await _csv(client, w.headers, programme=str(w.programme_id))
    summary = (
        await client.get(
            "/v1/metrics/summary",
            params=PERIOD | {"programme": str(w.programme_id)},
            headers=w.headers,
        )
    ).json()
    overall = summary["overall"]
    assert sorted(r["need_id"] for r in rows) == sorted(str(i) for i in w.need_ids)
    assert len(rows) == overall["needs"]
    assert sum(1 for r in rows if r["filled_at"]) == overall["filled"]
    assert sum(int(r["filled"]) for r in rows) == overall["filled_slots"]
    assert round(sum(int(r["minutes_given"]) for r in rows) / 60, 2) == overall["completed_hours"]
    assert sum(1 for r in rows if r["outcome"]) == overall["outcomes_recorded"]
    counted = Counter(r["outcome"] for r in rows if r["outcome"])
    assert {k: counted.get(k, 0) for k in overall["outcomes"]} == overall["outcomes"]
    fills = [float(r["time_to_fill_s"]) for r in rows if r["time_to_fill_s"]]
    assert {"p50": _p(fills, 50), "p90": _p(fills, 90)} == overall["time_to_fill_s"]
    for area in summary["service_areas"]:
        named = [r for r in rows if area["name"] in r["service_areas"].split("; ")]
        if area["suppressed"]:
            assert named == []  # the k rule: the CSV names no area the summary hides
        else:
            assert len(named) == area["needs"]
            assert sum(int(r["minutes_given"]) for r in named) / 60 == area["completed_hours"]
    assert {r["service_areas"] for r in rows} == {"Centre", ""}


async def test_the_csv_carries_nothing_of_the_client_and_is_audited(
    client: httpx.AsyncClient, world: World
) -> None:
    w = await build(client, world)
    where = "action = 'report.read' AND details->>'format' = 'csv'"
    assert await world.count("audit_log", where) == 0
    response = await client.get("/v1/metrics/needs.csv", params=PERIOD, headers=w.headers)
    assert response.status_code == 200
    for private in ("A Client", "Prescription run", "51.4", "-0.97"):
        assert private not in response.text
    assert await world.count("audit_log", where + " AND (details->>'needs')::int = 5") == 1


async def test_another_organisations_needs_never_appear(
    client: httpx.AsyncClient, world: World
) -> None:
    ours = await build(client, world)
    theirs = await build(client, world, org="berkshire-nhs")
    rows = await _csv(client, ours.headers)
    assert {r["org_id"] for r in rows} == {str(ours.org_id)}
    assert not {r["need_id"] for r in rows} & {str(i) for i in theirs.need_ids}
    response = await client.get(
        "/v1/metrics/needs.csv",
        params=PERIOD | {"programme": str(theirs.programme_id)},
        headers=ours.headers,
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00Z"}, "from"),
        ({"programme": "not-a-uuid"}, "programme"),
    ],
)
async def test_bad_filters_are_problems_naming_the_field(
    client: httpx.AsyncClient, world: World, params: dict[str, str], field: str
) -> None:
    await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    response = await client.get("/v1/metrics/needs.csv", params=params, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"].startswith(field) for e in response.json().get("errors", []))


async def test_volunteers_get_no_report(client: httpx.AsyncClient, world: World) -> None:
    await world.org("reading-council")
    headers = await world.person("vol", org="reading-council", role="volunteer")
    response = await client.get("/v1/metrics/needs.csv", params=PERIOD, headers=headers)
    assert response.status_code == 403
