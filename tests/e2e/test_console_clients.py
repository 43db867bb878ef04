"""The console's client pages over HTTP, in-process, on the real PostGIS test database, with
the real geocoder adapter calling a fake OS Places on 127.0.0.1: a client added by postcode
(UPRN and exact point stored, the coarse area shown), the pin fallback when there is no
provider or it fails (the page says why), every field's error at once and nothing written,
find and change, and another organisation's client a 404 without its data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import httpx
import msgspec
import pytest
from sqlalchemy import text

from app.factory import create_app
from app.settings import Settings
from tests.e2e.console_support import Town, csrf_of, sign_in, town
from tests.fake_os_places import KEY, FakeOsPlaces, point_of, serving
from tests.support import Db, World

pytestmark = pytest.mark.anyio
DETAILS = {
    "step": "details",
    "name": "Bea Okafor",
    "phone": "0118 496 0123",
    "email": "bea@example.org",
    "flags": ["lives_alone", "hearing_impairment"],
    "language": "pl",
    "notes": "Knock loudly.",
}


@pytest.fixture
def os_places() -> Iterator[FakeOsPlaces]:
    with serving(FakeOsPlaces()) as fake:
        yield fake


def _with(settings: Settings, fake: FakeOsPlaces | None) -> Settings:
    if fake is None:
        return settings
    return msgspec.structs.replace(
        settings,
        geocoder="os_places",
        geocoder_url=fake.url,
        os_places_key=KEY,
        geocoder_timeout_s=2.0,
    )


@asynccontextmanager
async def _console(
    settings: Settings, db: Db, fake: FakeOsPlaces | None
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        _with(settings, fake), database_url=db.app_url, system_database_url=db.owner_url
    )
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def _post(c: httpx.AsyncClient, path: str, data: dict[str, Any]) -> httpx.Response:
    page = await c.get("/console/clients/new")
    return await c.post(path, data=data | {"_csrf_token": csrf_of(page.text)})


async def _stored(world: World, client_id: str) -> Any:
    async with world.owner.connect() as conn:
        row = await conn.execute(
            text(
                "SELECT uprn, address, ST_Y(location::geometry) AS lat,"
                " ST_X(location::geometry) AS lon FROM clients WHERE id = :id"
            ),
            {"id": client_id},
        )
        return row.one()


async def _theirs(world: World, t: Town) -> UUID:
    async with world.owner.connect() as conn:
        found = await conn.scalar(
            text("SELECT client_id FROM needs WHERE id = :id"), {"id": t.other_need}
        )
    assert found is not None
    return UUID(str(found))


async def test_a_client_added_by_postcode_keeps_the_uprn_and_the_exact_point(
    world: World, settings: Settings, db: Db, os_places: FakeOsPlaces
) -> None:
    t = await town(world)
    async with _console(settings, db, os_places) as c:
        await sign_in(c, t.token)
        first = await c.get("/console/clients/new")
        assert first.status_code == 200
        assert "What is the client's postcode?" in first.text
        assert 'id="no-lookup"' not in first.text

        bad = await _post(c, "/console/clients/new", {"step": "postcode", "postcode": "RG1"})
        assert bad.status_code == 422
        assert 'href="#postcode"' in bad.text
        assert "Enter a real postcode, like RG1 1AA" in bad.text

        listed = await _post(c, "/console/clients/new", {"step": "postcode", "postcode": "rg1 1aa"})
        assert listed.status_code == 200, listed.text
        assert os_places.calls[-1]["postcode"] == ["RG1 1AA"]  # normalised before asking
        assert "3 addresses found for RG1 1AA" in listed.text
        assert listed.text.index("2, FRIAR STREET") < listed.text.index("10, FRIAR STREET")
        assert KEY not in listed.text

        unpicked = await _post(
            c, "/console/clients/new", {"step": "address", "postcode": "RG1 1AA"}
        )
        assert unpicked.status_code == 422
        assert 'href="#choice"' in unpicked.text

        picked = await _post(
            c,
            "/console/clients/new",
            {"step": "address", "postcode": "RG1 1AA", "choice": "310012345602"},
        )
        assert picked.status_code == 200
        assert 'id="picked"' in picked.text
        assert "310012345602" in picked.text
        assert 'id="pin-map"' not in picked.text
        hidden = dict(
            (name, value)
            for name, value in (
                (p.split('"', 1)[0], p.split('value="', 1)[1].split('"', 1)[0])
                for p in picked.text.split('type="hidden" name="')[1:]
            )
        )
        assert hidden["uprn"] == "310012345602"
        assert hidden["mode"] == "picked"

        before = await world.count("clients")
        form = {k: hidden[k] for k in ("mode", "postcode", "uprn", "address", "lat", "lon")}
        done = await _post(c, "/console/clients/new", DETAILS | form)
        assert done.status_code == 303, done.text
        location = done.headers["location"]
        assert location.endswith("?done=added")
        client_id = location.split("/")[-1].split("?")[0]
        assert await world.count("clients") == before + 1

        stored = await _stored(world, client_id)
        assert stored.uprn == "310012345602"
        assert stored.address == "2, FRIAR STREET, READING, RG1 1AA"
        assert (round(stored.lat, 6), round(stored.lon, 6)) == point_of(2)

        shown = await c.get(location)
        assert shown.status_code == 200
        assert "The client was added." in shown.text
        assert "Bea Okafor" in shown.text
        assert "310012345602" in shown.text
        assert "Within about 500 m of" in shown.text
        # One data path: the API reads the same record, for the same caseworker.
        api = await c.get(
            f"/v1/clients/{client_id}", headers={"Authorization": f"Bearer {t.token}"}
        )
        assert api.json()["uprn"] == "310012345602"
        assert api.json()["safeguarding_flags"] == ["lives_alone", "hearing_impairment"]
    assert (
        await world.count("audit_log", f"action = 'client.created' AND subject_id = '{client_id}'")
        == 1
    )
    reads = f"action = 'client.read' AND subject_id = '{client_id}' AND reason = 'case management'"
    assert await world.count("audit_log", reads) >= 1


@pytest.mark.parametrize("provider", ["none", "down"])
async def test_without_a_working_lookup_the_page_says_why_and_takes_a_pin(
    world: World, settings: Settings, db: Db, os_places: FakeOsPlaces, provider: str
) -> None:
    t = await town(world)
    os_places.mode = "down"
    async with _console(settings, db, os_places if provider == "down" else None) as c:
        await sign_in(c, t.token)
        first = await c.get("/console/clients/new")
        assert ('id="no-lookup"' in first.text) is (provider == "none")
        manual = await _post(c, "/console/clients/new", {"step": "postcode", "postcode": "RG1 1AA"})
        assert manual.status_code == 200
        assert 'id="notice"' in manual.text
        why = {
            "none": "Looking up addresses by postcode is not set up for this service",
            "down": "The address could not be looked up: OS Places had a problem (HTTP 500)",
        }[provider]
        assert why in manual.text
        for field in ('id="address"', 'id="lat"', 'id="lon"', 'id="pin-map"'):
            assert field in manual.text, field
        pin = {"mode": "manual", "postcode": "RG1 1AA", "address": "7 Friar Street, Reading"}
        done = await _post(
            c, "/console/clients/new", DETAILS | pin | {"lat": "51.4561", "lon": "-0.9712"}
        )
        assert done.status_code == 303, done.text
        stored = await _stored(world, done.headers["location"].split("/")[-1].split("?")[0])
        assert stored.uprn is None
        assert (round(stored.lat, 4), round(stored.lon, 4)) == (51.4561, -0.9712)


async def test_bad_details_show_every_fields_error_and_write_nothing(
    world: World, settings: Settings, db: Db
) -> None:
    t = await town(world)
    async with _console(settings, db, None) as c:
        await sign_in(c, t.token)
        before = await world.count("clients")
        bad = {
            "mode": "manual",
            "name": "",
            "phone": "abc",
            "email": "not an email",
            "address": "7 Friar Street",
            "lat": "north",
            "lon": "200",
            "flags": ["lives_alone", "has_a_dragon"],
            "language": "EN1",
            "notes": "x" * 5001,
        }
        answer = await _post(c, "/console/clients/new", DETAILS | bad)
        assert answer.status_code == 422
        assert "<title>Error: " in answer.text
        assert answer.text.count("govuk-error-summary__list") == 1
        for field in ("name", "phone", "email", "lat", "lon", "flags", "language", "notes"):
            assert f'href="#{field}"' in answer.text, field
            assert f'id="{field}-error"' in answer.text, field
        assert "Enter the latitude as a number from -90 to 90" in answer.text
        assert 'value="7 Friar Street"' in answer.text  # what was typed stays
        half = await _post(c, "/console/clients/new", DETAILS | {"mode": "manual", "lat": "51.4"})
        assert half.status_code == 422
        assert 'href="#lon"' in half.text
    assert await world.count("clients") == before
    assert await world.count("audit_log", "action = 'client.created'") == 0


async def test_find_and_change_a_client_through_the_api_s_use_cases(
    world: World, settings: Settings, db: Db, os_places: FakeOsPlaces
) -> None:
    t = await town(world)
    theirs = await _theirs(world, t)
    async with _console(settings, db, os_places) as c:
        await sign_in(c, t.token)
        listed = await c.get("/console/clients")
        assert listed.status_code == 200
        assert f'href="/console/clients/{t.client}"' in listed.text
        assert str(theirs) not in listed.text
        found = await c.get("/console/clients", params={"name": "cLiEnT"})
        assert f'href="/console/clients/{t.client}"' in found.text
        none = await c.get("/console/clients", params={"name": "100%_"})
        assert 'id="no-clients"' in none.text

        form = await c.get(f"/console/clients/{t.client}/change")
        assert form.status_code == 200
        assert 'value="A Client"' in form.text
        assert 'id="pin-map"' in form.text
        assert "style-src 'self';" in form.headers["content-security-policy"]
        token = csrf_of(form.text)
        lat = form.text.split('id="lat" name="lat"', 1)[1].split('value="', 1)[1].split('"')[0]
        lon = form.text.split('id="lon" name="lon"', 1)[1].split('value="', 1)[1].split('"')[0]
        same = {"name": "A Client", "lat": lat, "lon": lon, "mode": "manual"}
        same |= {"was_lat": lat, "was_lon": lon, "uprn": "310012345602"}
        changed = await c.post(
            f"/console/clients/{t.client}/change",
            data=same | {"phone": "0118 496 0999", "step": "details", "_csrf_token": token},
        )
        assert changed.status_code == 303, changed.text
        assert changed.headers["location"] == f"/console/clients/{t.client}?done=changed"
        stored = await _stored(world, str(t.client))
        assert stored.uprn == "310012345602"  # the point unchanged: the UPRN stays
        moved = await c.post(
            f"/console/clients/{t.client}/change",
            data=same | {"lat": "51.46", "step": "details", "_csrf_token": token},
        )
        assert moved.status_code == 303
        assert (await _stored(world, str(t.client))).uprn is None  # moved by hand: no UPRN
        page = await c.get(f"/console/clients/{t.client}?done=changed")
        assert "The client's details were changed." in page.text
        api = await c.get(f"/v1/clients/{t.client}", headers={"Authorization": f"Bearer {t.token}"})
        assert api.json()["phone"] is None  # every field of the form is sent: empty clears
    assert await world.count("audit_log", "action = 'client.updated'") == 2


async def test_another_organisations_client_is_a_404_page_without_its_data(
    world: World, settings: Settings, db: Db
) -> None:
    t = await town(world)
    theirs = await _theirs(world, t)
    async with world.owner.begin() as conn:
        await conn.execute(
            text(
                "UPDATE clients SET name = 'Secret Person', address = '1 Hidden Lane'"
                " WHERE id = :id"
            ),
            {"id": theirs},
        )
    async with _console(settings, db, None) as c:
        await sign_in(c, t.token)
        for path in (f"/console/clients/{theirs}", f"/console/clients/{theirs}/change"):
            answer = await c.get(path)
            assert answer.status_code == 404, path
            assert "Page not found" in answer.text
            assert "Secret Person" not in answer.text
            assert "Hidden Lane" not in answer.text
        form = await c.get("/console/clients/new")
        posted = await c.post(
            f"/console/clients/{theirs}/change",
            data={"step": "details", "name": "Taken over", "_csrf_token": csrf_of(form.text)},
        )
        assert posted.status_code == 404
    async with world.owner.connect() as conn:
        name = await conn.scalar(text("SELECT name FROM clients WHERE id = :id"), {"id": theirs})
    assert name == "Secret Person"


async def test_volunteers_and_forged_posts_reach_no_client(
    world: World, settings: Settings, db: Db
) -> None:
    t = await town(world)
    async with _console(settings, db, None) as c:
        await sign_in(c, t.token)
        before = await world.count("clients")
        forged = await c.post("/console/clients/new", data=DETAILS | {"mode": "manual"})
        assert forged.status_code == 403
        assert "did not come from this service" in forged.text
        assert await world.count("clients") == before
    headers = await world.person("vol", org="reading-council", role="volunteer")
    async with _console(settings, db, None) as c:
        await sign_in(c, headers["Authorization"].split()[1])
        listed = await c.get("/console/clients")
        assert listed.status_code == 403
        assert "A Client" not in listed.text
        assert (await c.get(f"/console/clients/{t.client}")).status_code == 403
        assert (await c.get("/console/clients/new")).status_code == 403
        token = csrf_of((await c.get("/console/needs")).text)
        for step in ({"step": "postcode", "postcode": "RG1 1AA"}, DETAILS | {"mode": "manual"}):
            added = await c.post("/console/clients/new", data=step | {"_csrf_token": token})
            assert added.status_code == 403, step
    assert await world.count("clients") == before


async def test_the_demo_gazetteer_and_a_postcodes_io_server_are_providers_too(
    world: World, settings: Settings, db: Db, os_places: FakeOsPlaces
) -> None:
    t = await town(world)
    demo = msgspec.structs.replace(settings, geocoder="gazetteer")
    async with _console(demo, db, None) as c:
        await sign_in(c, t.token)
        first = await c.get("/console/clients/new")
        assert "The demo borough's gazetteer knows RG1 7AA" in first.text
        listed = await _post(c, "/console/clients/new", {"step": "postcode", "postcode": "rg17aa"})
        assert "12 addresses found for RG1 7AA" in listed.text
        assert "1 OXFORD ROAD, READING, RG1 7AA" in listed.text
    centre = msgspec.structs.replace(settings, geocoder="postcodes_io", geocoder_url=os_places.url)
    async with _console(centre, db, None) as c:
        await sign_in(c, t.token)
        page = await _post(c, "/console/clients/new", {"step": "postcode", "postcode": "RG1 1AA"})
        assert "gives only the centre of RG1 1AA" in page.text
        lat, lon = point_of(0)
        assert f'value="{lat:.6f}"' in page.text
        assert f'value="{lon:.6f}"' in page.text
        assert 'id="address"' in page.text
