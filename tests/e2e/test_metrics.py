"""Metrics on a constructed scenario, checked against answers worked out by hand."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.scenario import NOW, Scenario
from tests.support import World

pytestmark = pytest.mark.anyio
T0 = NOW - timedelta(days=2)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)


async def test_summary_matches_the_hand_computed_answers(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    s = Scenario(world)
    p = await s.programme(org, "Errands")
    await s.programme(org, "Befriending")  # nothing happened there
    v1 = await s.volunteer("reading-council", "v1", on_duty=True)
    v2 = await s.volunteer("reading-council", "v2", on_duty=True)
    v3 = await s.volunteer("reading-council", "v3")
    await s.volunteer("reading-council", "v4", on_duty=True)  # on duty, never offered
    await s.volunteer("reading-council", "v5", on_duty=True, status="pending")  # not eligible

    def need(**values: object) -> object:
        return s.need(org, p, None, created_at=T0, **values)

    t1 = await need(
        first_offer_at=T0 + minutes(10),
        filled_at=T0 + minutes(60),
        filled=1,
        status="filled",
        outcome="done",
    )
    t2 = await need(
        first_offer_at=T0 + minutes(30),
        filled_at=T0 + minutes(120),
        slots=2,
        filled=2,
        status="completed",
    )
    t3 = await need(first_offer_at=T0 + minutes(50))
    await need(status="cancelled")  # left out
    await s.need(org, p, None, created_at=T0 - timedelta(days=5))  # before the period

    o11 = await s.offer(org, t1, v1, T0 + minutes(10), status="accepted")
    await s.offer(org, t1, v2, T0 + minutes(10), status="declined")
    await s.offer(org, t2, v1, T0 + minutes(30), status="expired")
    o22 = await s.offer(org, t2, v2, T0 + minutes(30), status="accepted")
    o23 = await s.offer(org, t2, v3, T0 + minutes(40), status="accepted")
    await s.offer(org, t3, v1, T0 + minutes(50))
    await s.assignment(
        org, t1, v1, offer_id=o11, accepted_at=T0 + minutes(15), status="completed", minutes=45
    )
    await s.assignment(
        org, t2, v2, offer_id=o22, accepted_at=T0 + minutes(40), status="completed", minutes=90
    )
    await s.assignment(org, t2, v3, offer_id=o23, accepted_at=T0 + minutes(60), status="no_show")

    params = {"from": (T0 - timedelta(hours=1)).isoformat(), "to": NOW.isoformat()}
    response = await client.get("/v1/metrics/summary", params=params, headers=headers)
    assert response.status_code == 200, response.text
    report = response.json()
    overall = report["overall"]
    assert overall == {
        "needs": 3,
        "filled": 2,
        "fill_rate": 0.6667,
        # first offers after 600, 1800, 3000 s; fills after 3600, 7200 s; accepts after
        # 300, 600, 1200 s; p90 interpolates linearly between the closest ranks
        "time_to_first_offer_s": {"p50": 1800.0, "p90": 2760.0},
        "time_to_accept_s": {"p50": 600.0, "p90": 1080.0},
        "time_to_fill_s": {"p50": 5400.0, "p90": 6840.0},
        "offers": 6,
        "filled_slots": 3,
        "alerts_per_filled_slot": 2.0,
        "on_duty_volunteers": 3,  # v1, v2, v4
        "on_duty_offered_share": 0.6667,  # v1, v2
        "offers_gini": 0.4167,  # offers 3, 2, 1, 0: sum |xi - xj| = 20 over 2 * 4^2 * 1.5
        "no_show_rate": 0.3333,
        "completed_hours": 2.25,
        "outcomes_recorded": 1,
        "outcomes": {
            "done": 1,
            "partly_done": 0,
            "not_home": 0,
            "not_needed": 0,
            "referred": 0,
            "safeguarding_concern": 0,
        },
        "active_volunteers": 2,  # v1 and v2 completed; v3 did not show
    }
    by_name = {p["name"]: p["metrics"] for p in report["programmes"]}
    assert by_name["Errands"] == overall
    assert by_name["Befriending"]["needs"] == 0
    assert by_name["Befriending"]["fill_rate"] is None
    assert by_name["Befriending"]["offers_gini"] is None


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"from": "2020-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from"),
        ({"from": "2026-01-01T00:00:00", "to": "2026-02-01T00:00:00Z"}, "from"),
        ({"from": "yesterday"}, "from"),
    ],
)
async def test_bad_periods_name_the_field(
    client: httpx.AsyncClient, world: World, params: dict[str, str], field: str
) -> None:
    await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    response = await client.get("/v1/metrics/summary", params=params, headers=headers)
    assert response.status_code in (400, 422), response.text
    assert any(e["field"].startswith(field) for e in response.json().get("errors", []))


async def test_another_organisations_programme_is_not_found(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.org("reading-council")
    headers = await world.person("coord", org="reading-council", role="coordinator")
    theirs = await Scenario(world).programme(await world.org("berkshire-nhs"))
    response = await client.get(
        "/v1/metrics/summary", params={"programme": str(theirs)}, headers=headers
    )
    assert response.status_code == 404
