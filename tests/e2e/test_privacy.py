"""Privacy as a property: whatever a volunteer asks for, with whatever ids they know or
guess, no client name, contact, address or exact coordinates come back. New endpoints are
covered automatically: the walk is driven by the served OpenAPI document."""

from __future__ import annotations

import itertools
import re
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.test_needs import HOME, _window
from tests.e2e.test_volunteers import SIGN_UP
from tests.support import World

pytestmark = pytest.mark.anyio

SECRETS = (
    "Zebedee Quill",
    "07700 900123",
    "zeb@example.org",
    "17 Hidden Lane",
    "Lives with a large dog",
)


@pytest.fixture
async def scene(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    await world.org("org-a")
    coordinator = await world.person("coord-a", org="org-a", role="coordinator")
    caseworker = await world.person("case-a", org="org-a", role="caseworker")
    programme = (
        await client.post(
            "/v1/programmes",
            headers=coordinator,
            json={"name": "Shopping", "kind": "community_support"},
        )
    ).json()
    person = (
        await client.post(
            "/v1/clients",
            headers=caseworker,
            json={
                "name": SECRETS[0],
                "phone": SECRETS[1],
                "email": SECRETS[2],
                "address": SECRETS[3],
                "notes": SECRETS[4],
                "location": HOME,
            },
        )
    ).json()
    # offered the need by its first wave (so the walk covers offer views), never assigned
    await world.volunteer("vol-offered", org="org-a", at=(HOME["lat"] + 0.003, HOME["lon"] + 0.002))
    need = (
        await client.post(
            "/v1/needs",
            headers=caseworker,
            json={
                "programme_id": programme["id"],
                "client_id": person["id"],
                "title": "Weekly shop",
                "windows": [_window(2)],
                "duration_minutes": 60,
            },
        )
    ).json()["need"]
    volunteer = world.headers("vol-a")
    await client.post(
        "/v1/volunteers/me", headers=volunteer, json={**SIGN_UP, "organisations": ["org-a"]}
    )
    spec = (await client.get("/schema/openapi.json")).json()
    gets = sorted(path for path, item in spec["paths"].items() if "get" in item)
    offers = (await client.get(f"/v1/needs/{need['id']}/offers", headers=caseworker)).json()
    assert len(offers) == 1
    ids = [person["id"], need["id"], programme["id"], offers[0]["id"], str(uuid.uuid4())]
    return {
        "volunteers": [volunteer, world.headers("vol-offered")],
        "caseworker": caseworker,
        "gets": gets,
        "ids": ids,
        "client_id": person["id"],
        "need_id": need["id"],
    }


NEARBY = f"?lat={HOME['lat'] + 0.01:.3f}&lon={HOME['lon']:.3f}&radius_km=50"  # feeds


def _leaks(text: str) -> list[str]:
    found = [s for s in SECRETS if s in text]
    # Exact coordinates, in any rounding down to 4 decimals.
    for value in (HOME["lat"], HOME["lon"]):
        if re.search(re.escape(f"{value:.4f}"), text):
            found.append(str(value))
    return found


async def test_no_volunteer_facing_answer_reveals_the_client(
    client: httpx.AsyncClient, scene: dict[str, Any]
) -> None:
    # The whole space, not a sample: every GET operation in our own OpenAPI document, with
    # every id the scene knows (and a random one), under each listing query.
    assert len(scene["gets"]) >= 12
    urls = {
        re.sub(r"\{[^}]+\}", id_, path) + query
        for path, id_, query in itertools.product(
            scene["gets"],
            scene["ids"],
            ["", "?limit=200", "?include_erased=true", "?status=open", NEARBY],
        )
    }
    for url, volunteer in itertools.product(sorted(urls), scene["volunteers"]):
        r = await client.get(url, headers=volunteer)
        assert r.status_code < 500, (url, r.text)
        assert not _leaks(r.text), (url, r.status_code, _leaks(r.text))


async def test_the_leak_detector_sees_what_staff_may_see(
    client: httpx.AsyncClient, scene: dict[str, Any]
) -> None:
    staff = scene["caseworker"]
    person = await client.get(f"/v1/clients/{scene['client_id']}", headers=staff)
    need = await client.get(f"/v1/needs/{scene['need_id']}", headers=staff)
    assert set(SECRETS) <= set(_leaks(person.text))
    assert str(HOME["lat"]) in _leaks(need.text)
