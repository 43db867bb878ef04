"""Reports: the summary's outcome breakdown, the previous period and the service areas under
k-suppression; never another organisation's."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.e2e.report_world import PERIOD, build
from tests.scenario import NOW
from tests.support import World

pytestmark = pytest.mark.anyio
NO_OUTCOMES = {
    "done": 0,
    "partly_done": 0,
    "not_home": 0,
    "not_needed": 0,
    "referred": 0,
    "safeguarding_concern": 0,
}


async def _summary(client: httpx.AsyncClient, headers: dict[str, str], **extra: str) -> dict:
    response = await client.get("/v1/metrics/summary", params=PERIOD | extra, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_outcomes_by_category_previous_period_and_areas(
    client: httpx.AsyncClient, world: World
) -> None:
    w = await build(client, world)
    report = await _summary(client, w.headers)
    overall = report["overall"]
    assert overall["needs"] == 5
    assert overall["filled"] == 2
    assert overall["completed_hours"] == 2.0
    assert overall["active_volunteers"] == 2
    assert overall["outcomes_recorded"] == 2
    assert overall["outcomes"] == NO_OUTCOMES | {"done": 1, "referred": 1}
    previous = report["previous"]
    assert previous["period_end"] == report["period_start"]
    assert previous["overall"]["needs"] == 2
    assert previous["overall"]["filled"] == 1
    assert previous["overall"]["outcomes"] == NO_OUTCOMES | {"not_home": 1}
    assert previous["overall"]["active_volunteers"] == 0
    assert report["k_min"] == 3
    areas = {a["name"]: a for a in report["service_areas"]}
    assert areas["Centre"] == {
        "service_area_id": w.centre_id,
        "name": "Centre",
        "suppressed": False,
        "needs": 3,
        "filled": 1,
        "filled_slots": 1,
        "completed_hours": 1.5,
        "outcomes_recorded": 2,
    }
    assert areas["North"] == {
        "service_area_id": w.north_id,
        "name": "North",
        "suppressed": True,
        "needs": None,
        "filled": None,
        "filled_slots": None,
        "completed_hours": None,
        "outcomes_recorded": None,
    }


async def test_a_quiet_period_has_every_outcome_at_zero_and_every_area(
    client: httpx.AsyncClient, world: World
) -> None:
    w = await build(client, world)
    quiet = {
        "from": (NOW - timedelta(days=60)).isoformat(),
        "to": (NOW - timedelta(days=50)).isoformat(),
    }
    report = await _summary(client, w.headers, programme=str(w.programme_id), **quiet)
    assert report["overall"]["needs"] == 0
    assert report["overall"]["outcomes"] == NO_OUTCOMES
    assert report["previous"]["overall"]["outcomes"] == NO_OUTCOMES
    assert [(a["name"], a["needs"], a["suppressed"]) for a in report["service_areas"]] == [
        ("Centre", 0, False),
        ("North", 0, False),
    ]


async def test_another_organisations_figures_never_show(
    client: httpx.AsyncClient, world: World
) -> None:
    ours = await build(client, world)
    theirs = await build(client, world, org="berkshire-nhs")
    report = await _summary(client, ours.headers)
    assert report["overall"]["needs"] == 5
    assert {a["service_area_id"] for a in report["service_areas"]} == {
        ours.centre_id,
        ours.north_id,
    }
    assert [p["programme_id"] for p in report["programmes"]] == [str(ours.programme_id)]
    response = await client.get(
        "/v1/metrics/summary",
        params=PERIOD | {"programme": str(theirs.programme_id)},
        headers=ours.headers,
    )
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
