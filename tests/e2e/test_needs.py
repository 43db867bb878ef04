"""Needs: caseworkers post them (one-off, group, remote, weekly series); the status machine;
privacy of the exact location; tenancy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from geo.privacy import distance_m
from tests.e2e.cascade_world import Casework
from tests.support import World

pytestmark = pytest.mark.anyio

HOME = {"lat": 51.4551, "lon": -0.9712}


def _window(days: int, hours: int = 2, start_hour: int = 10) -> dict[str, str]:
    day = datetime.now(UTC).date() + timedelta(days=days)
    start = datetime(day.year, day.month, day.day, start_hour, tzinfo=UTC)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()}


@pytest.fixture
async def ctx(client: httpx.AsyncClient, world: World) -> Casework:
    await world.org("org-a")
    await world.org("org-b")
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    caseworker = await world.person("case-a", org="org-a", role="caseworker")
    programme = (
        await client.post(
            "/v1/programmes",
            headers=coordinator,
            json={
                "name": "Family mentoring",
                "kind": "family_intervention",
                "min_vetting": "enhanced_children",
            },
        )
    ).json()
    client_row = (
        await client.post(
            "/v1/clients",
            headers=caseworker,
            json={"name": "Ada Client", "address": "1 Secret Road", "location": HOME},
        )
    ).json()
    return Casework(coordinator, caseworker, programme, client_row)


def _need(ctx: Casework, **extra: Any) -> dict[str, Any]:
    return {
        "programme_id": ctx.programme["id"],
        "client_id": ctx.client["id"],
        "title": "Weekly mentoring visit",
        "windows": [_window(3)],
        "duration_minutes": 60,
        **extra,
    }


async def test_an_in_person_need_takes_the_clients_address(
    client: httpx.AsyncClient, ctx: Casework
) -> None:
    r = await client.post(
        "/v1/needs", headers=ctx.caseworker, json=_need(ctx, min_vetting="enhanced_adults")
    )
    assert r.status_code == 201, r.text
    need = r.json()["need"]
    assert need["location"] == HOME
    assert need["status"] == "open"
    assert need["min_vetting"] == "enhanced_both"  # stricter of programme and need
    coarse = need["coarse_location"]
    assert coarse != HOME
    assert distance_m(HOME["lat"], HOME["lon"], coarse["lat"], coarse["lon"]) < 400
    again = (await client.get(f"/v1/needs/{need['id']}", headers=ctx.coordinator)).json()
    assert again["coarse_location"] == coarse  # the same cell on every read


async def test_remote_group_and_series(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    remote = await client.post(
        "/v1/needs",
        headers=ctx.caseworker,
        json={
            **_need(ctx),
            "client_id": None,
            "mode": "remote",
            "slots": 200,
            "title": "Classify survey answers",
            "dispatch": "open_call",
        },
    )
    assert remote.status_code == 201, remote.text
    assert remote.json()["need"]["location"] is None
    series = await client.post(
        "/v1/needs",
        headers=ctx.caseworker,
        json=_need(ctx, recurrence="FREQ=WEEKLY;COUNT=6", slots=1),
    )
    assert series.status_code == 201, series.text
    assert series.json()["occurrences"] == 6
    assert await world.count("needs", "series_id IS NOT NULL") == 6
    assert await world.count("needs", "series_index = 5") == 1


async def test_the_status_machine(client: httpx.AsyncClient, ctx: Casework) -> None:
    need = (
        await client.post("/v1/needs", headers=ctx.caseworker, json=_need(ctx, draft=True))
    ).json()["need"]
    assert need["status"] == "draft"
    tid = need["id"]
    r = await client.patch(f"/v1/needs/{tid}", headers=ctx.caseworker, json={"status": "completed"})
    assert r.status_code == 409
    assert "draft" in r.json()["detail"]
    r = await client.patch(f"/v1/needs/{tid}", headers=ctx.caseworker, json={"status": "open"})
    assert r.json()["status"] == "open"
    r = await client.post(
        f"/v1/needs/{tid}/cancel", headers=ctx.caseworker, json={"reason": "client moved away"}
    )
    assert r.json()["status"] == "cancelled"
    assert r.json()["cancel_reason"] == "client moved away"
    assert (
        await client.patch(f"/v1/needs/{tid}", headers=ctx.caseworker, json={"status": "open"})
    ).status_code == 409
    assert (
        await client.post(
            f"/v1/needs/{tid}/cancel", headers=ctx.caseworker, json={"reason": "again"}
        )
    ).status_code == 409


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"windows": []}, "windows"),
        (
            {"windows": [{"start": "2030-01-01T10:00:00Z", "end": "2030-01-01T09:00:00Z"}]},
            "windows[0].end",
        ),
        ({"windows": [_window(2, hours=1, start_hour=10)], "duration_minutes": 90}, "windows[0]"),
        (
            {"windows": [{"start": "2020-01-01T10:00:00Z", "end": "2020-01-01T12:00:00Z"}]},
            "windows[0].end",
        ),
        ({"windows": [_window(2, hours=24 * 20)]}, "windows[0]"),
        ({"windows": [_window(2), _window(2)]}, "windows[1]"),
        (
            {"windows": [{"start": "2030-01-01T10:00:00", "end": "2030-01-01T12:00:00"}]},
            "windows[0]",
        ),
        ({"slots": 0}, "slots"),
        ({"slots": 501}, "slots"),
        ({"duration_minutes": 2}, "duration_minutes"),
        ({"required_skills": ["astrophysics"]}, "required_skills[0]"),
        ({"languages": ["zz"]}, "languages[0]"),
        ({"recurrence": "FREQ=WEEKLY"}, "recurrence"),
        ({"recurrence": "FREQ=WEEKLY;COUNT=500"}, "recurrence"),
        ({"recurrence": "FREQ=HOURLY;COUNT=3"}, "recurrence"),
        ({"mode": "remote", "location": HOME}, "location"),
        ({"location": {"lat": 95, "lon": 0}}, "location.lat"),
        ({"programme_id": "00000000-0000-0000-0000-000000000000"}, "programme_id"),
        ({"client_id": "00000000-0000-0000-0000-000000000000"}, "client_id"),
        (
            {"continuity": {"volunteer_id": "00000000-0000-0000-0000-000000000000"}},
            "continuity.volunteer_id",
        ),
        ({"status": "filled"}, "status"),
        ({"org_id": "00000000-0000-0000-0000-000000000000"}, "org_id"),
        ({"title": ""}, "title"),
    ],
)
async def test_bad_needs_are_422_and_write_nothing(
    client: httpx.AsyncClient, ctx: Casework, world: World, change: dict[str, Any], field: str
) -> None:
    r = await client.post("/v1/needs", headers=ctx.caseworker, json={**_need(ctx), **change})
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]], r.json()
    assert await world.count("needs") == 0


async def test_other_tenants_and_volunteers(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    need = (await client.post("/v1/needs", headers=ctx.caseworker, json=_need(ctx))).json()["need"]
    outsider = await world.person("coord-b", org="org-b", role="coordinator")
    for method, path, body in (
        ("GET", f"/v1/needs/{need['id']}", None),
        ("PATCH", f"/v1/needs/{need['id']}", {"urgency": "low"}),
        ("POST", f"/v1/needs/{need['id']}/cancel", {"reason": "spite"}),
    ):
        r = await client.request(method, path, headers=outsider, json=body)
        assert r.status_code == 404, (path, r.text)
        assert "Secret" not in r.text
        assert "mentoring" not in r.text
    assert (await client.get("/v1/needs", headers=outsider)).json()["items"] == []
    # Posting against another organisation's programme or client is refused too.
    other_programme = (
        await client.post("/v1/programmes", headers=outsider, json={"name": "B", "kind": "other"})
    ).json()
    r = await client.post(
        "/v1/needs", headers=outsider, json={**_need(ctx), "programme_id": other_programme["id"]}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "client_id"
    volunteer = await world.person("vol-a", org="org-a", role="volunteer")
    assert (await client.get(f"/v1/needs/{need['id']}", headers=volunteer)).status_code == 404


async def test_erasing_a_client_strips_their_needs(
    client: httpx.AsyncClient, ctx: Casework
) -> None:
    need = (
        await client.post(
            "/v1/needs",
            headers=ctx.caseworker,
            json=_need(ctx, description="Ada needs help after her operation"),
        )
    ).json()["need"]
    r = await client.post(
        f"/v1/clients/{ctx.client['id']}/erase",
        headers=ctx.caseworker,
        json={"reason": "subject's erasure request"},
    )
    assert r.status_code == 200, r.text
    after = (await client.get(f"/v1/needs/{need['id']}", headers=ctx.caseworker)).json()
    assert after["description"] is None
    assert "mentoring" not in after["title"]
    assert after["location"] == after["coarse_location"]


async def test_a_client_is_always_checked_even_with_a_location(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    outsider = await world.person("coord-b", org="org-b", role="coordinator")
    theirs = (
        await client.post("/v1/programmes", headers=outsider, json={"name": "B", "kind": "other"})
    ).json()
    r = await client.post(
        "/v1/needs",
        headers=outsider,
        json={**_need(ctx), "programme_id": theirs["id"], "location": HOME},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "client_id"
    await client.post(
        f"/v1/clients/{ctx.client['id']}/erase",
        headers=ctx.caseworker,
        json={"reason": "erasure request"},
    )
    r = await client.post(
        "/v1/needs", headers=ctx.caseworker, json={**_need(ctx), "location": HOME}
    )
    assert r.status_code == 422
    assert await world.count("needs") == 0


async def test_erasure_cancels_the_clients_open_needs(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    await client.post(
        "/v1/needs", headers=ctx.caseworker, json=_need(ctx, recurrence="FREQ=WEEKLY;COUNT=3")
    )
    await client.post(
        f"/v1/clients/{ctx.client['id']}/erase",
        headers=ctx.caseworker,
        json={"reason": "erasure request"},
    )
    assert await world.count("needs", "status = 'cancelled'") == 3


async def test_reading_needs_is_reading_the_client(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    need = (await client.post("/v1/needs", headers=ctx.caseworker, json=_need(ctx))).json()["need"]
    where = f"action = 'client.read' AND subject_id = '{ctx.client['id']}'"
    before = await world.count("audit_log", where)
    await client.get(f"/v1/needs/{need['id']}", headers=ctx.coordinator)
    await client.get("/v1/needs", headers={**ctx.coordinator, "X-Access-Reason": "weekly review"})
    assert await world.count("audit_log", where) == before + 2
    assert await world.count("audit_log", where + " AND reason = 'weekly review'") == 1


async def test_a_stricter_programme_reaches_posted_needs(
    client: httpx.AsyncClient, ctx: Casework
) -> None:
    need = (await client.post("/v1/needs", headers=ctx.caseworker, json=_need(ctx))).json()["need"]
    assert need["min_vetting"] == "enhanced_children"
    await client.patch(
        f"/v1/programmes/{ctx.programme['id']}",
        headers=ctx.coordinator,
        json={"min_vetting": "enhanced_adults"},
    )
    after = (await client.get(f"/v1/needs/{need['id']}", headers=ctx.caseworker)).json()
    assert after["min_vetting"] == "enhanced_both"


async def test_fill_states_follow_assignments_not_edits(
    client: httpx.AsyncClient, ctx: Casework
) -> None:
    need = (
        await client.post("/v1/needs", headers=ctx.caseworker, json=_need(ctx, slots=2))
    ).json()["need"]
    tid = need["id"]
    for status in ("filled", "partially_filled", "completed"):
        r = await client.patch(f"/v1/needs/{tid}", headers=ctx.caseworker, json={"status": status})
        assert r.status_code == 409, status
    assert (
        await client.patch(f"/v1/needs/{tid}", headers=ctx.caseworker, json={"slots": 1})
    ).json()["status"] == "open"
    await client.post(
        f"/v1/needs/{tid}/cancel", headers=ctx.caseworker, json={"reason": "not needed"}
    )
    r = await client.patch(f"/v1/needs/{tid}", headers=ctx.caseworker, json={"urgency": "low"})
    assert r.status_code == 409


async def test_a_series_keeps_local_times_across_the_clock_change(
    client: httpx.AsyncClient, ctx: Casework
) -> None:
    from zoneinfo import ZoneInfo

    from app.needs.schemas import NeedIn, Window
    from app.needs.windows import occurrence_windows

    london = ZoneInfo("Europe/London")
    saturday = datetime(2027, 10, 23, 10, tzinfo=london)  # BST; clocks go back on the 31st
    monday = datetime(2027, 10, 25, 10, tzinfo=london)
    need = NeedIn(
        programme_id=ctx.programme["id"],
        title="x",
        duration_minutes=60,
        windows=[
            Window(saturday, saturday + timedelta(hours=2)),
            Window(monday, monday + timedelta(hours=2)),
        ],
        recurrence="FREQ=WEEKLY;COUNT=3",
    )
    series = occurrence_windows(need, "Europe/London", datetime(2027, 10, 1, tzinfo=UTC))
    for windows in series:
        for w in windows:
            local = w.start.astimezone(london)
            assert (local.hour, local.minute) == (10, 0)
            assert w.end - w.start == timedelta(hours=2)
    assert series[1][1].start.astimezone(UTC).hour == 10  # Mon 1 Nov, GMT
    assert series[0][0].start.astimezone(UTC).hour == 9  # Sat 23 Oct, BST


async def test_a_series_may_not_run_past_a_year(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.post(
        "/v1/needs",
        headers=ctx.caseworker,
        json=_need(ctx, recurrence="FREQ=WEEKLY;INTERVAL=52;COUNT=3"),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "recurrence"
    assert await world.count("needs") == 0


async def test_the_document_states_list_items(client: httpx.AsyncClient) -> None:
    # Each language and skill of a need is checked; the document used to say any string.
    fields = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]["NeedIn"]
    assert fields["properties"]["languages"]["items"]["pattern"] == "^[a-z]{2}$"
    assert fields["properties"]["required_skills"]["items"]["pattern"].startswith("^[a-z]")
    assert fields["properties"]["languages"]["uniqueItems"] is True
