"""Volunteers from the mobile app: sign-up, profile, joining organisations, duty, devices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support import World

pytestmark = pytest.mark.anyio

READING = {"lat": 51.4543, "lon": -0.9781}
SIGN_UP: dict[str, Any] = {
    "display_name": "Val Volunteer",
    "home": READING,
    "max_travel_km": 5,
    "travel_mode": "cycle",
    "skills": ["shopping", "befriending"],
    "languages": ["en", "pl"],
}


async def test_sign_up_then_read_and_change_the_profile(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.org("reading-council")
    me = world.headers("val")
    r = await client.post(
        "/v1/volunteers/me", headers=me, json={**SIGN_UP, "organisations": ["reading-council"]}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["home"] == READING
    assert body["max_hours_per_week"] == 6
    assert [(e["org_slug"], e["status"], e["vetting"]) for e in body["enrolments"]] == [
        ("reading-council", "pending", None)
    ]
    again = await client.post("/v1/volunteers/me", headers=me, json=SIGN_UP)
    assert again.status_code == 409
    r = await client.patch(
        "/v1/volunteers/me",
        headers=me,
        json={"max_travel_km": 12.5, "quiet_hours": {"start": "21:00:00", "end": "08:00:00"}},
    )
    assert r.status_code == 200, r.text
    assert r.json()["max_travel_km"] == 12.5
    assert r.json()["quiet_hours"] == {"start": "21:00:00", "end": "08:00:00"}
    assert (await client.get("/v1/volunteers/me", headers=me)).json()["skills"] == [
        "shopping",
        "befriending",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"home": {"lat": 91, "lon": 0}}, "home.lat"),
        ({"home": {"lat": 0, "lon": -181}}, "home.lon"),
        ({"home": {"lat": "north", "lon": 0}}, "home.lat"),
        ({"max_travel_km": 0}, "max_travel_km"),
        ({"max_travel_km": 20000}, "max_travel_km"),
        ({"travel_mode": "teleport"}, "travel_mode"),
        ({"skills": ["juggling"]}, "skills[0]"),
        ({"skills": ["shopping", "shopping"]}, "skills"),
        ({"languages": ["xx"]}, "languages[0]"),
        ({"languages": ["english"]}, "languages[0]"),
        ({"languages": []}, "languages"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"organisations": ["no-such-org"]}, "organisations[0]"),
        ({"display_name": "a\u0000b"}, "display_name"),
        ({"status": "approved"}, "status"),
        ({"vetting": {"level": "enhanced"}}, "vetting"),
        ({"max_hours_per_week": 1000}, "max_hours_per_week"),
        ({"time_zone": "Europe"}, "time_zone"),
        ({"quiet_hours": {"start": "21:00:00+05:00", "end": "08:00:00"}}, "quiet_hours"),
    ],
)
async def test_bad_sign_ups_name_the_field_and_write_nothing(
    client: httpx.AsyncClient, world: World, change: dict[str, Any], field: str
) -> None:
    r = await client.post(
        "/v1/volunteers/me", headers=world.headers("val"), json={**SIGN_UP, **change}
    )
    assert r.status_code == 422, r.text
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await world.count("volunteers") == 0
    assert await world.count("memberships") == 0


async def test_organisation_skills_extend_the_vocabulary(
    client: httpx.AsyncClient, world: World
) -> None:
    org = await world.org("reading-council")
    async with world.owner.begin() as conn:
        from sqlalchemy import text

        await conn.execute(
            text(
                "INSERT INTO skills (org_id, code, label) "
                "VALUES (:org, 'allotment_tools', 'Allotment tools')"
            ),
            {"org": org},
        )
    me = world.headers("val")
    body = {**SIGN_UP, "skills": ["allotment_tools"]}
    assert (await client.post("/v1/volunteers/me", headers=me, json=body)).status_code == 422
    body["organisations"] = ["reading-council"]
    r = await client.post("/v1/volunteers/me", headers=me, json=body)
    assert r.status_code == 201, r.text


async def test_duty_keeps_a_live_location_only_while_on_duty(
    client: httpx.AsyncClient, world: World
) -> None:
    me = world.headers("val")
    await client.post("/v1/volunteers/me", headers=me, json=SIGN_UP)
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    r = await client.post(
        "/v1/volunteers/me/duty",
        headers=me,
        json={"on_duty": True, "until": until, "location": READING},
    )
    assert r.status_code == 200, r.text
    assert r.json()["sharing_location"] is True
    assert await world.count("volunteers", "live_location IS NOT NULL") == 1
    r = await client.post("/v1/volunteers/me/duty", headers=me, json={"on_duty": False})
    assert r.json() == {"on_duty": False, "until": None, "sharing_location": False}
    assert await world.count("volunteers", "live_location IS NOT NULL") == 0
    for bad, field in (
        ({"on_duty": True, "until": "2020-01-01T00:00:00Z"}, "until"),
        ({"on_duty": True, "until": "2099-01-01T00:00:00Z"}, "until"),
        ({"on_duty": False, "location": READING}, "on_duty"),
        ({"on_duty": True, "location": {"lat": 0, "lon": 200}}, "location.lon"),
    ):
        r = await client.post("/v1/volunteers/me/duty", headers=me, json=bad)
        assert r.status_code == 422, bad
        assert r.json()["errors"][0]["field"] == field


async def test_lapsed_duty_ends_by_itself(client: httpx.AsyncClient, world: World) -> None:
    from app.volunteers.schedule import end_lapsed_duty

    me = world.headers("val")
    await client.post("/v1/volunteers/me", headers=me, json=SIGN_UP)
    await client.post(
        "/v1/volunteers/me/duty", headers=me, json={"on_duty": True, "location": READING}
    )
    async with world.owner.begin() as conn:
        from sqlalchemy import text

        await conn.execute(text("UPDATE volunteers SET on_duty_until = now() - interval '1s'"))
    assert (await client.get("/v1/volunteers/me", headers=me)).json()["on_duty"] is False
    await end_lapsed_duty(world.owner)
    assert await world.count("volunteers", "live_location IS NOT NULL OR on_duty") == 0


async def test_devices_register_move_and_are_forgotten(
    client: httpx.AsyncClient, world: World
) -> None:
    alice, bob = world.headers("alice"), world.headers("bob")
    token = "fcm-" + "x" * 150
    r = await client.post(
        "/v1/volunteers/me/devices",
        headers=alice,
        json={"token": token, "platform": "android", "app_version": "1.2.0"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["token_suffix"] == "xxxxxx"
    assert token not in r.text
    # The same phone, now signed in as Bob: the token moves to him.
    r = await client.post(
        "/v1/volunteers/me/devices", headers=bob, json={"token": token, "platform": "android"}
    )
    device_id = r.json()["id"]
    assert (await client.get("/v1/volunteers/me/devices", headers=alice)).json() == []
    assert len((await client.get("/v1/volunteers/me/devices", headers=bob)).json()) == 1
    assert (
        await client.delete(f"/v1/volunteers/me/devices/{device_id}", headers=alice)
    ).status_code == 404
    assert (
        await client.delete(f"/v1/volunteers/me/devices/{device_id}", headers=bob)
    ).status_code == 204
    assert await world.count("devices") == 0
    for bad in (
        {"token": "short", "platform": "ios"},
        {"token": token, "platform": "nokia"},
        {"token": "has space in it", "platform": "ios"},
        {"token": token, "platform": "ios", "user_id": "x"},
    ):
        assert (
            await client.post("/v1/volunteers/me/devices", headers=alice, json=bad)
        ).status_code == 422


async def test_a_profile_is_needed_first(client: httpx.AsyncClient, world: World) -> None:
    me = world.headers("newbie")
    for method, path, body in (
        ("GET", "/v1/volunteers/me", None),
        ("PATCH", "/v1/volunteers/me", {"max_travel_km": 3}),
        ("POST", "/v1/volunteers/me/enrolments", {"organisation": "no-org"}),
        ("GET", "/v1/volunteers/me/availability", None),
        ("POST", "/v1/volunteers/me/duty", {"on_duty": False}),
    ):
        r = await client.request(method, path, headers=me, json=body)
        assert r.status_code == 404, (path, r.text)


async def test_coordinators_extend_the_skills_vocabulary(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.org("reading-council")
    await world.org("other-org")
    coordinator = await world.person("coord", org="reading-council", role="coordinator")
    r = await client.post(
        "/v1/skills",
        headers=coordinator,
        json={"code": "allotment_tools", "label": "Allotment tools"},
    )
    assert r.status_code == 201, r.text
    for body in (
        {"code": "allotment_tools", "label": "again"},
        {"code": "shopping", "label": "platform skills are taken"},
    ):
        assert (await client.post("/v1/skills", headers=coordinator, json=body)).status_code == 409
    assert (
        await client.post(
            "/v1/skills", headers=coordinator, json={"code": "Bad Code", "label": "x"}
        )
    ).status_code == 422
    codes = {s["code"] for s in (await client.get("/v1/skills", headers=coordinator)).json()}
    assert {"allotment_tools", "shopping"} <= codes
    outsider = await world.person("coord-b", org="other-org", role="coordinator")
    theirs = {s["code"] for s in (await client.get("/v1/skills", headers=outsider)).json()}
    assert "allotment_tools" not in theirs
    volunteer = await world.person("vol", org="reading-council", role="volunteer")
    assert (
        await client.post("/v1/skills", headers=volunteer, json={"code": "x_y", "label": "x"})
    ).status_code == 403


async def test_a_platform_admin_adding_a_skill_to_an_unknown_organisation_is_422(
    client: httpx.AsyncClient, world: World
) -> None:
    admin = await world.person("root", platform_admin=True)
    r = await client.post(
        "/v1/skills",
        headers=admin,
        json={"code": "l6", "label": "x", "org_id": "619070f4-bfb6-2294-972e-285821acbbd0"},
    )
    assert r.status_code == 422, r.text
    assert await world.count("skills", "org_id IS NOT NULL") == 0


async def test_the_document_states_list_items_and_travel_bounds(
    client: httpx.AsyncClient,
) -> None:
    # Languages, skills and organisation slugs are checked item by item, and max_travel_km
    # must be above 0 in a patch too; the document used to say any string, and >= anything.
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    for name in ("SignUp", "ProfilePatch"):
        fields = schemas[name]["properties"]
        assert fields["languages"]["items"]["pattern"] == "^[a-z]{2}$"
        assert fields["skills"]["items"]["pattern"] == "^[a-z][a-z0-9_]{1,47}$"
        assert fields["max_travel_km"]["exclusiveMinimum"] == 0
        for unique in ("languages", "skills", "preferred_kinds"):
            assert fields[unique]["uniqueItems"] is True, (name, unique)
    organisations = schemas["SignUp"]["properties"]["organisations"]["items"]
    assert (organisations["minLength"], organisations["maxLength"]) == (2, 63)
    assert schemas["SignUp"]["properties"]["organisations"]["uniqueItems"] is True
