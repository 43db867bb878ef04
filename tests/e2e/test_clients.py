"""Clients: staff-only personal data, every read audited, tenants isolated, erasure that
anonymises in place and keeps only a coarse location."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.tenancy import tenant_transaction
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from geo.privacy import distance_m
from tests.support import Db, World

pytestmark = pytest.mark.anyio

ADA = {
    "name": "Ada Jones",
    "phone": "+44 (0)118 496 0000",
    "email": "ada.jones@example.org",
    "address": "12 Castle Street, Reading RG1 7RD",
    "location": {"lat": 51.4543, "lon": -0.9781},
    "uprn": "310012345678",
    "notes": "Prefers calls after 10am; key safe by the back door.",
    "safeguarding_flags": ["lives_alone", "hearing_impairment"],
    "preferred_language": "pl",
}
PERSONAL = (
    "Ada Jones",
    "496 0000",
    "ada.jones@",
    "Castle Street",
    "key safe",
    "51.4543",
    "310012345678",
)


@pytest.fixture
async def caseworker(world: World) -> dict[str, str]:
    await world.org("org-a")
    await world.org("org-b")
    return await world.person("caseworker-a", org="org-a", role="caseworker")


async def _create(
    client: httpx.AsyncClient, headers: dict[str, str], **change: Any
) -> dict[str, Any]:
    r = await client.post("/v1/clients", json={**ADA, **change}, headers=headers)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _reads(world: World, client_id: str | None = None) -> int:
    where = "action = 'client.read'"
    return await world.count(
        "audit_log", f"{where} AND subject_id = '{client_id}'" if client_id else where
    )


async def test_create_read_update(
    client: httpx.AsyncClient, caseworker: dict[str, str], world: World
) -> None:
    created = await _create(client, caseworker)
    assert {k: created[k] for k in ADA} == ADA
    assert created["erased_at"] is None
    got = await client.get(f"/v1/clients/{created['id']}", headers=caseworker)
    assert got.status_code == 200
    assert got.json() == created
    assert got.headers["cache-control"] == "no-store"
    r = await client.patch(
        f"/v1/clients/{created['id']}",
        headers=caseworker,
        json={"name": "  Ada M. Jones ", "phone": None, "location": None},
    )
    assert r.status_code == 200, r.text
    changed = r.json()
    assert (changed["name"], changed["phone"], changed["location"]) == ("Ada M. Jones", None, None)
    assert changed["email"] == ADA["email"]
    assert _at(changed["updated_at"]) > _at(created["updated_at"])
    # The update is audited by field name; values never reach the audit log.
    async with world.owner.connect() as conn:
        details = await conn.scalar(
            text("SELECT details FROM audit_log WHERE action = 'client.updated'")
        )
        dump = str((await conn.execute(text("SELECT * FROM audit_log"))).all())
    assert details == {"fields": ["location", "name", "phone"]}
    assert not any(value in dump for value in PERSONAL)
    assert await world.count("audit_log", "action = 'client.created'") == 1


async def test_an_empty_patch_is_422(client: httpx.AsyncClient, caseworker: dict[str, str]) -> None:
    created = await _create(client, caseworker)
    r = await client.patch(f"/v1/clients/{created['id']}", json={}, headers=caseworker)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body"


async def test_every_read_is_audited(
    client: httpx.AsyncClient, caseworker: dict[str, str], world: World
) -> None:
    ids = [(await _create(client, caseworker, name=f"Client {n}"))["id"] for n in range(3)]
    assert await _reads(world) == 0
    assert (await client.get(f"/v1/clients/{ids[0]}", headers=caseworker)).status_code == 200
    assert await _reads(world) == 1
    listed = await client.get("/v1/clients", headers=caseworker)
    assert [c["id"] for c in listed.json()["items"]] == ids
    assert await _reads(world) == 4
    assert [await _reads(world, i) for i in ids] == [2, 1, 1]
    reason = {"X-Access-Reason": "Safeguarding review with GP"}
    r = await client.get(f"/v1/clients/{ids[1]}", headers={**caseworker, **reason})
    assert r.status_code == 200
    assert await world.count("audit_log", "reason = 'Safeguarding review with GP'") == 1
    assert await world.count("audit_log", "reason = 'case management'") == 4
    await client.patch(f"/v1/clients/{ids[2]}", json={"notes": "x"}, headers=caseworker)
    await client.get(f"/v1/clients/{ids[2]}/export", headers=caseworker)
    assert await _reads(world, ids[2]) == 3  # listed, the PATCH response, the export
    too_long = {"X-Access-Reason": "x" * 201}
    r = await client.get(f"/v1/clients/{ids[0]}", headers={**caseworker, **too_long})
    assert r.status_code == 422
    assert await _reads(world) == 7


async def test_other_organisations_see_nothing(
    client: httpx.AsyncClient, caseworker: dict[str, str], world: World
) -> None:
    created = await _create(client, caseworker)
    org_a = await world.org("org-a")
    for role in ("coordinator", "caseworker"):
        outsider = await world.person(f"{role}-b", org="org-b", role=role)
        url = f"/v1/clients/{created['id']}"
        for r in (
            await client.get(url, headers=outsider),
            await client.patch(url, json={"name": "Mine now"}, headers=outsider),
            await client.post(f"{url}/erase", json={"reason": "tidy up"}, headers=outsider),
            await client.get(f"{url}/export", headers=outsider),
            await client.get(f"/v1/clients/{uuid.uuid4()}", headers=outsider),
            await client.post("/v1/clients", json={**ADA, "org_id": str(org_a)}, headers=outsider),
        ):
            assert r.status_code == 404, r.text
            assert not any(value in r.text for value in PERSONAL)
            assert created["org_id"] not in r.text
        for query in ("", "?include_erased=true", f"?org_id={org_a}"):
            listed = await client.get(f"/v1/clients{query}", headers=outsider)
            assert listed.status_code == 200
            assert listed.json()["items"] == []
    unchanged = await client.get(f"/v1/clients/{created['id']}", headers=caseworker)
    assert unchanged.json() == created
    assert await world.count("clients") == 1


async def test_volunteers_are_refused_and_see_no_rows(
    client: httpx.AsyncClient, caseworker: dict[str, str], world: World, db: Db
) -> None:
    created = await _create(client, caseworker)
    volunteer = await world.person("volunteer-a", org="org-a", role="volunteer")
    url = f"/v1/clients/{created['id']}"
    for r in (
        await client.post("/v1/clients", json=ADA, headers=volunteer),
        await client.get("/v1/clients", headers=volunteer),
        await client.get(url, headers=volunteer),
        await client.patch(url, json={"name": "x"}, headers=volunteer),
        await client.post(f"{url}/erase", json={"reason": "tidy up"}, headers=volunteer),
        await client.get(f"{url}/export", headers=volunteer),
    ):
        assert r.status_code == 403, r.text
        assert not any(value in r.text for value in PERSONAL)
    # Another organisation is unknown to them, as to anyone outside it.
    org_b = await world.org("org-b")
    r = await client.post("/v1/clients", json={**ADA, "org_id": str(org_b)}, headers=volunteer)
    assert r.status_code == 404
    assert await world.count("audit_log", "action = 'client.read'") == 0
    # Even a query that forgets every filter finds nothing: row-level security, not the code.
    engine = create_async_engine(db.app_url)
    try:
        for subject, expected in (("volunteer-a", 0), ("caseworker-a", 1)):
            async with tenant_transaction(engine, TokenIdentity(DEV_ISSUER, subject)) as tx:
                assert await tx.conn.scalar(text("SELECT count(*) FROM clients")) == expected
    finally:
        await engine.dispose()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"location": {"lat": 91, "lon": 0}}, "location.lat"),
        ({"location": {"lat": 0, "lon": -181}}, "location.lon"),
        ({"location": {"lat": "north", "lon": 0}}, "location.lat"),
        ({"location": "here"}, "location"),
        ({"org": "org-b"}, "org"),
        ({"erased_at": "2026-01-01T00:00:00Z"}, "erased_at"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "Ada\u0000Jones"}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": 5}, "name"),
        ({"notes": "x" * 10_000}, "notes"),
        ({"notes": "fine\u0000"}, "notes"),
        ({"address": "12 Castle St\u0000"}, "address"),
        ({"email": "ada\u0000@example.org"}, "email"),
        ({"email": "not an e-mail"}, "email"),
        ({"safeguarding_flags": ["lives_alone", "has_a_dragon"]}, "safeguarding_flags[1]"),
        ({"safeguarding_flags": ["lives_alone", "lives_alone"]}, "safeguarding_flags"),
        ({"safeguarding_flags": "lives_alone"}, "safeguarding_flags"),
        ({"safeguarding_flags": ["lives_alone"] * 21}, "safeguarding_flags"),
        ({"phone": "abc"}, "phone"),
        ({"phone": "12"}, "phone"),
        ({"preferred_language": "eng"}, "preferred_language"),
        ({"preferred_language": "EN"}, "preferred_language"),
        ({"org_id": "not-a-uuid"}, "org_id"),
        ({"uprn": "1234567890123"}, "uprn"),
        ({"uprn": "12a"}, "uprn"),
        ({"uprn": ""}, "uprn"),
        ({"uprn": 310012345678}, "uprn"),
        ({"uprn": "١٢"}, "uprn"),  # Arabic-Indic digits are not [0-9]
    ],
)
async def test_bad_input_is_422_naming_the_field(
    client: httpx.AsyncClient,
    caseworker: dict[str, str],
    world: World,
    change: dict[str, object],
    field: str,
) -> None:
    r = await client.post("/v1/clients", json={**ADA, **change}, headers=caseworker)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in r.json()["errors"]]
    assert await world.count("clients") == 0
    assert await world.count("audit_log") == 0


async def test_bad_patches_change_nothing(
    client: httpx.AsyncClient, caseworker: dict[str, str]
) -> None:
    created = await _create(client, caseworker)
    url = f"/v1/clients/{created['id']}"
    for body, field in (
        ({"name": "\u0000"}, "name"),
        ({"org_id": str(uuid.uuid4())}, "org_id"),
        ({"safeguarding_flags": ["needs_interpreter", "needs_interpreter"]}, "safeguarding_flags"),
        ({"location": {"lat": 51.5, "lon": 200}}, "location.lon"),
        ({"uprn": "x"}, "uprn"),
    ):
        r = await client.patch(url, json=body, headers=caseworker)
        assert r.status_code == 422, r.text
        assert field in [e["field"] for e in r.json()["errors"]]
    assert (await client.get(url, headers=caseworker)).json() == created


async def test_erasure_anonymises_in_place(
    client: httpx.AsyncClient, caseworker: dict[str, str], world: World
) -> None:
    created = await _create(client, caseworker)
    url = f"/v1/clients/{created['id']}"
    assert (
        await client.post(f"{url}/erase", json={"reason": "  "}, headers=caseworker)
    ).status_code == 422
    reason = {"reason": "Subject erasure request, ticket 4411"}
    r = await client.post(f"{url}/erase", json=reason, headers=caseworker)
    assert r.status_code == 200, r.text
    erased = r.json()
    assert erased["name"] == "Erased client"
    assert erased["erased_at"] is not None
    for gone in ("phone", "email", "address", "uprn", "notes", "preferred_language"):
        assert erased[gone] is None, gone
    assert erased["safeguarding_flags"] == []
    exact, coarse = ADA["location"], erased["location"]
    assert coarse != exact
    assert 0 < distance_m(exact["lat"], exact["lon"], coarse["lat"], coarse["lon"]) < 400
    async with world.owner.connect() as conn:
        stored = str((await conn.execute(text("SELECT * FROM clients"))).all())
    assert not any(value in stored for value in PERSONAL)
    assert (
        await world.count(
            "audit_log", f"action = 'client.erased' AND reason = '{reason['reason']}'"
        )
        == 1
    )
    assert (await client.post(f"{url}/erase", json=reason, headers=caseworker)).status_code == 409
    assert (await client.patch(url, json={"name": "Back"}, headers=caseworker)).status_code == 409
    export = await client.get(f"{url}/export", headers=caseworker)
    assert export.status_code == 200
    assert export.json()["client"] == erased
    assert [e["action"] for e in export.json()["audit"]] == [
        "client.created",
        "client.erased",
        "client.read",
    ]
    assert (await client.get("/v1/clients", headers=caseworker)).json()["items"] == []
    listed = await client.get("/v1/clients?include_erased=true", headers=caseworker)
    assert [c["id"] for c in listed.json()["items"]] == [created["id"]]


async def test_a_remote_only_client_is_erased_without_a_location(
    client: httpx.AsyncClient, caseworker: dict[str, str]
) -> None:
    created = await _create(client, caseworker, location=None, address=None)
    r = await client.post(
        f"/v1/clients/{created['id']}/erase", json={"reason": "Moved away"}, headers=caseworker
    )
    assert r.status_code == 200
    assert r.json()["location"] is None


async def test_the_export_holds_the_record_and_its_audit_trail(
    client: httpx.AsyncClient, caseworker: dict[str, str], world: World
) -> None:
    created = await _create(client, caseworker)
    coordinator = await world.person("coordinator-a", org="org-a", role="coordinator")
    await client.get(
        f"/v1/clients/{created['id']}",
        headers={**coordinator, "X-Access-Reason": "Planning a visit"},
    )
    r = await client.get(f"/v1/clients/{created['id']}/export", headers=caseworker)
    assert r.status_code == 200
    export = r.json()
    assert export["client"] == created
    assert [(e["action"], e["actor"], e["reason"]) for e in export["audit"]] == [
        ("client.created", "Caseworker A", None),
        ("client.read", "Coordinator A", "Planning a visit"),
        ("client.read", "Caseworker A", "case management"),  # the export itself
    ]


async def test_staff_of_two_organisations_must_name_one(
    client: httpx.AsyncClient, world: World
) -> None:
    await world.org("org-a")
    b = await world.org("org-b")
    await world.person("busy", org="org-a", role="caseworker")
    headers = await world.person("busy", org="org-b", role="coordinator")
    r = await client.post("/v1/clients", json=ADA, headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "org_id"
    created = await _create(client, headers, org_id=str(b))
    assert created["org_id"] == str(b)


async def test_pagination(client: httpx.AsyncClient, caseworker: dict[str, str]) -> None:
    ids = [(await _create(client, caseworker, name=f"Client {n}"))["id"] for n in range(5)]
    page = (await client.get("/v1/clients?limit=2", headers=caseworker)).json()
    seen = [c["id"] for c in page["items"]]
    while page["next_cursor"]:
        r = await client.get(
            f"/v1/clients?limit=2&cursor={page['next_cursor']}", headers=caseworker
        )
        assert r.status_code == 200
        page = r.json()
        seen += [c["id"] for c in page["items"]]
    assert seen == ids
    for bad in ("?cursor=nonsense", "?limit=0", "?limit=201", "?include_erased=maybe"):
        r = await client.get(f"/v1/clients{bad}", headers=caseworker)
        assert r.status_code in (400, 422), bad


async def test_a_body_nested_too_deeply_is_a_400_naming_the_field(
    client: httpx.AsyncClient, caseworker: dict[str, str], world: World
) -> None:
    """~10 KB, well under the body cap, but deeper than the JSON decoder recurses."""
    import json

    head = json.dumps({k: v for k, v in ADA.items() if k != "notes"})[:-1]
    body = (head + ', "notes": ' + "[" * 5000 + "]" * 5000 + "}").encode()
    assert len(body) < 12_000
    headers = caseworker | {"Content-Type": "application/json"}
    r = await client.post("/v1/clients", content=body, headers=headers)
    assert r.status_code == 400, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"field": "notes", "message": "nested too deeply to decode"}]
    assert await world.count("clients") == 0


@pytest.mark.parametrize("content_type", ["text/plain", None, "application/x-www-form-urlencoded"])
async def test_a_body_not_declared_as_json_is_415(
    client: httpx.AsyncClient, caseworker: dict[str, str], content_type: str | None
) -> None:
    import json

    headers = caseworker | ({"Content-Type": content_type} if content_type else {})
    r = await client.post("/v1/clients", content=json.dumps(ADA).encode(), headers=headers)
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"
    ok = await client.post(
        "/v1/clients",
        content=json.dumps(ADA).encode(),
        headers=caseworker | {"Content-Type": "application/json; charset=utf-8"},
    )
    assert ok.status_code == 201, ok.text
    # Requests without a body are unaffected, whatever they say their type is.
    url = f"/v1/clients/{ok.json()['id']}"
    assert (await client.get(url, headers=headers)).status_code == 200


async def test_the_document_says_flags_are_unique(client: httpx.AsyncClient) -> None:
    # The use case refuses duplicate flags (422); the document said any list of flags would do.
    schemas = (await client.get("/schema/openapi.json")).json()["components"]["schemas"]
    assert schemas["ClientIn"]["properties"]["safeguarding_flags"]["uniqueItems"] is True
    assert schemas["ClientPatch"]["properties"]["safeguarding_flags"]["uniqueItems"] is True
