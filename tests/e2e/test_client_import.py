"""Bulk import of clients over HTTP and by the use case the command line runs: who may
import (as who may record a client), dry run verdicts, apply, the same file again, bad
uploads, privacy of the report, tenants, and an edit racing an import."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import create_engine
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.imports import client_service
from app.imports.client_columns import NAMES
from app.settings import Environment, Settings
from tests.support import Db, World

pytestmark = pytest.mark.anyio
CSV = {"Content-Type": "text/csv"}
ADDRESS = "14 Secret Lane, Reading"


def row(**cells: str) -> dict[str, str]:
    return {"name": "Ada Jones", "lat": "51.4543", "lon": "-0.9781"} | cells


def csv_of(*rows: dict[str, str], columns: tuple[str, ...] = NAMES) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


MIXED = csv_of(
    row(external_id="C-1", address=ADDRESS, phone="0118 496 0000",
        safeguarding_flags="lives_alone;hearing_impairment", preferred_language="cy"),
    row(external_id="C-2", name="Bob Smith", lat="", lon="", postcode="rg1 7aa",
        uprn="990000000001"),  # placed by the gazetteer
    row(external_id="C-1", name="Ada again"),  # line 4: a duplicate
    row(external_id="C-3", lat="95"),  # line 5: off the globe
    row(external_id="C-4", phone="call me"),  # line 6
    row(external_id="C-5", safeguarding_flags="lives_alone;lives_alone"),  # line 7
    row(external_id="", name="No Reference"),  # line 8
    row(external_id="C-6", lat="", lon="", postcode="not a postcode"),  # line 9
    row(external_id="C-7", name="", address=ADDRESS),  # line 10
)  # fmt: skip


@pytest.fixture
def settings(state_dir: Path) -> Settings:  # the demo gazetteer places rows by postcode
    return Settings(
        env=Environment.TEST,
        state_dir=state_dir,
        rate_limit_per_minute=0,
        log_level="WARNING",
        geocoder="gazetteer",
    )


@pytest.fixture
async def setup(world: World) -> dict[str, Any]:
    org_a, org_b = await world.org("org-a"), await world.org("org-b")
    return {
        "org_a": org_a,
        "org_b": org_b,
        "caseworker": await world.person("case-a", org="org-a", role="caseworker"),
        "coordinator": await world.person("coord-a", org="org-a", role="coordinator"),
        "volunteer": await world.person("vol-a", org="org-a", role="volunteer"),
        "outsider": await world.person("case-b", org="org-b", role="caseworker"),
        "base": f"/v1/orgs/{org_a}/imports/clients",
        "base_b": f"/v1/orgs/{org_b}/imports/clients",
    }


@pytest.fixture
async def engine(db: Db, settings: Settings) -> AsyncIterator[AsyncEngine]:
    e = create_engine(db.app_url, settings)
    yield e
    await e.dispose()


def verdicts(report: dict[str, Any]) -> dict[int, tuple[str, list[tuple[str, str]]]]:
    return {
        r["line"]: (r["verdict"], [(e["field"], e["message"]) for e in r["errors"]])
        for r in report["results"]
    }


async def _clients(world: World) -> list[tuple[Any, ...]]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT org_id, external_id, name, address, uprn, updated_at::text FROM clients"
                " ORDER BY org_id, external_id"
            )
        )
        return [tuple(r) for r in rows.all()]


async def test_who_may_import_clients_is_who_may_record_one(
    client: httpx.AsyncClient, setup: dict[str, Any]
) -> None:
    base, body = setup["base"], csv_of(row(external_id="C-1"))
    one = {"name": "Ada Jones", "org_id": str(setup["org_a"])}
    for who, expected in (("caseworker", 201), ("coordinator", 201), ("volunteer", 403),
                          ("outsider", 404)):  # fmt: skip
        created = await client.post("/v1/clients", headers=setup[who], json=one)
        assert created.status_code == expected, (who, created.text)
        r = await client.post(base, headers=setup[who] | CSV, content=body)
        assert r.status_code == expected, (who, r.text)
        r = await client.get(f"{base}/template.csv", headers=setup[who])
        assert r.status_code == (200 if expected == 201 else expected), who
    template = (await client.get(f"{base}/template.csv", headers=setup["caseworker"])).text
    assert template.splitlines()[0].split(",") == list(NAMES)


async def test_dry_run_apply_and_the_same_file_again_changes_nothing(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World
) -> None:
    caseworker, base = setup["caseworker"], setup["base"]
    r = await client.post(f"{base}?file_name=clients.csv", headers=caseworker | CSV, content=MIXED)
    assert r.status_code == 201, r.text
    dry = r.json()
    assert r.headers["location"].endswith(f"/imports/clients/{dry['id']}")
    assert r.headers["cache-control"] == "no-store"
    assert dry["counts"] == {"created": 2, "updated": 0, "unchanged": 0, "refused": 7}
    found = verdicts(dry)
    assert found[2][0] == found[3][0] == "created"
    assert found[4] == ("refused", [("external_id", "repeats line 2")])
    assert found[5][1][0][0] == "lat"
    assert found[6][1][0][0] == "phone"
    assert found[7] == ("refused", [("safeguarding_flags", "each flag may appear only once")])
    assert found[8][1][0][0] == "external_id"
    assert found[9] == ("refused", [("postcode", "Enter a real postcode, like RG1 1AA")])
    assert found[10][1][0][0] == "name"
    # The report names columns and reasons; it never repeats what the file holds.
    assert "Secret" not in r.text
    assert "0118" not in r.text
    assert "OXFORD" not in r.text
    assert await _clients(world) == []  # a dry run writes no client
    status = (await client.get(f"{base}/{dry['id']}", headers=caseworker)).json()
    assert status["status"] == "dry_run"
    assert status["file_name"] == "clients.csv"

    applied = (await client.post(f"{base}/{dry['id']}/apply", headers=caseworker)).json()
    assert applied["counts"] == dry["counts"]
    ids = {r["line"]: r["client_id"] for r in applied["results"] if r["client_id"]}
    ada = (await client.get(f"/v1/clients/{ids[2]}", headers=caseworker)).json()
    assert ada["external_id"] == "C-1"
    assert ada["address"] == ADDRESS
    assert ada["safeguarding_flags"] == [
        "lives_alone",
        "hearing_impairment",
    ]
    bob = (await client.get(f"/v1/clients/{ids[3]}", headers=caseworker)).json()
    assert bob["uprn"] == "990000000001"
    assert bob["address"] == "1 OXFORD ROAD, READING, RG1 7AA"
    assert bob["location"] == {"lat": 51.459825, "lon": -0.9781}
    again = await client.post(f"{base}/{dry['id']}/apply", headers=caseworker)
    assert again.status_code == 409

    before = await _clients(world)
    dry2 = (await client.post(base, headers=caseworker | CSV, content=MIXED)).json()
    assert dry2["counts"] == {"created": 0, "updated": 0, "unchanged": 2, "refused": 7}
    applied2 = (await client.post(f"{base}/{dry2['id']}/apply", headers=caseworker)).json()
    assert applied2["counts"] == dry2["counts"]
    assert await _clients(world) == before  # not even updated_at moved

    async with world.owner.connect() as conn:
        actions = dict(
            (
                await conn.execute(text("SELECT action, count(*) FROM audit_log GROUP BY action"))
            ).all()
        )
    assert actions["client.created"] == 2
    assert actions["client_import.dry_run"] == 2
    assert actions["client_import.applied"] == 2
    assert "client.updated" not in actions


async def test_an_update_writes_only_the_columns_the_file_has(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World
) -> None:
    caseworker, base = setup["caseworker"], setup["base"]
    first = csv_of(row(external_id="C-1", phone="0118 496 0000", notes="keys with neighbour"))
    dry = (await client.post(base, headers=caseworker | CSV, content=first)).json()
    applied = (await client.post(f"{base}/{dry['id']}/apply", headers=caseworker)).json()
    client_id = applied["results"][0]["client_id"]
    # A file with only the reference, the name and the phone: the notes and place stay.
    second = csv_of(
        {"external_id": "C-1", "name": "Ada Jones", "phone": "0118 496 0001"},
        columns=("external_id", "name", "phone"),
    )
    dry = (await client.post(base, headers=caseworker | CSV, content=second)).json()
    assert [(r["verdict"], r["changes"]) for r in dry["results"]] == [("updated", ["phone"])]
    await client.post(f"{base}/{dry['id']}/apply", headers=caseworker)
    record = (await client.get(f"/v1/clients/{client_id}", headers=caseworker)).json()
    assert record["phone"] == "0118 496 0001"
    assert record["notes"] == "keys with neighbour"
    assert record["location"] == {"lat": 51.4543, "lon": -0.9781}
    async with world.owner.connect() as conn:
        details = (
            await conn.execute(
                text("SELECT details FROM audit_log WHERE action = 'client.updated'")
            )
        ).scalar_one()
    assert details == {"fields": ["phone"], "via": "import"}
    # An erased client is not brought back by the file that named them.
    r = await client.post(
        f"/v1/clients/{client_id}/erase", headers=caseworker, json={"reason": "asked to"}
    )
    assert r.status_code == 200
    dry = (await client.post(base, headers=caseworker | CSV, content=first)).json()
    assert dry["counts"]["created"] == 1  # the reference went with the erasure: a new record


async def test_bad_uploads_are_refused_whole_naming_the_field(
    client: httpx.AsyncClient, setup: dict[str, Any]
) -> None:
    caseworker, base = setup["caseworker"], setup["base"]
    cases = [
        ({"Content-Type": "application/json"}, b"{}", 415, "file"),
        (CSV, b"PK\x03\x04rest", 422, "file"),
        (CSV, b"", 422, "header"),
        (CSV, b"external_id,name,favourite_colour\nC-1,Ada,blue\n", 422, "header"),
        (CSV, b"name\nAda\n", 422, "header"),
    ]
    for headers, body, status, field in cases:
        r = await client.post(base, headers=caseworker | headers, content=body)
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in r.json()["errors"]] == [field]


async def test_tenants_never_see_or_touch_each_others_clients(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World
) -> None:
    body = csv_of(row(external_id="C-1", address=ADDRESS))
    for who, base in (("caseworker", setup["base"]), ("outsider", setup["base_b"])):
        dry = (await client.post(base, headers=setup[who] | CSV, content=body)).json()
        assert dry["counts"]["created"] == 1, who  # B learns nothing of A's C-1
        await client.post(f"{base}/{dry['id']}/apply", headers=setup[who])
    rows = await _clients(world)
    assert {(r[0], r[1]) for r in rows} == {(setup["org_a"], "C-1"), (setup["org_b"], "C-1")}
    # B's file naming C-1 again, renamed, changes B's client only.
    renamed = csv_of(row(external_id="C-1", name="Someone Else", address=ADDRESS))
    dry = await client.post(setup["base_b"], headers=setup["outsider"] | CSV, content=renamed)
    await client.post(f"{setup['base_b']}/{dry.json()['id']}/apply", headers=setup["outsider"])
    names = {r[0]: r[2] for r in await _clients(world)}
    assert names == {setup["org_a"]: "Ada Jones", setup["org_b"]: "Someone Else"}
    # Nor can one organisation's staff read or apply the other's dry run.
    r = await client.get(f"{setup['base']}/{dry.json()['id']}", headers=setup["caseworker"])
    assert r.status_code == 404


async def test_an_edit_racing_an_import_is_never_lost(
    client: httpx.AsyncClient, setup: dict[str, Any], engine: AsyncEngine
) -> None:
    caseworker, base = setup["caseworker"], setup["base"]
    first = csv_of(row(external_id="C-1", phone="0118 496 0000"))
    dry = (await client.post(base, headers=caseworker | CSV, content=first)).json()
    applied = (await client.post(f"{base}/{dry['id']}/apply", headers=caseworker)).json()
    client_id = applied["results"][0]["client_id"]
    # A dry run, then a caseworker's edit, then the apply: the row is refused, the edit stands.
    second = csv_of(row(external_id="C-1", phone="0118 496 0002"))
    dry = (await client.post(base, headers=caseworker | CSV, content=second)).json()
    assert dry["counts"]["updated"] == 1
    r = await client.patch(f"/v1/clients/{client_id}", headers=caseworker, json={"phone": "999"})
    assert r.status_code == 200, r.text
    applied = (await client.post(f"{base}/{dry['id']}/apply", headers=caseworker)).json()
    assert verdicts(applied)[2] == (
        "refused",
        [("row", "the client changed since the dry run: run a new dry run")],
    )
    record = (await client.get(f"/v1/clients/{client_id}", headers=caseworker)).json()
    assert record["phone"] == "999"
    # The command line's way at the same moment as an edit of another field: each waits for
    # the other's lock, neither fails, both land.
    identity = TokenIdentity(issuer=DEV_ISSUER, subject="case-a")
    third = csv_of(  # no notes column: the file leaves the notes alone
        row(external_id="C-1", phone="0118 496 0003"),
        columns=("external_id", "name", "phone", "lat", "lon"),
    )
    report, edited = await asyncio.gather(
        client_service.apply(engine, identity, setup["org_a"], geocoder=None, content=third),
        client.patch(f"/v1/clients/{client_id}", headers=caseworker, json={"notes": "gate code"}),
    )
    assert report.counts.updated == 1
    assert edited.status_code == 200
    record = (await client.get(f"/v1/clients/{client_id}", headers=caseworker)).json()
    assert record["phone"] == "0118 496 0003"
    assert record["notes"] == "gate code"
    assert msgspec.json.decode(msgspec.json.encode(report))["counts"]["refused"] == 0
