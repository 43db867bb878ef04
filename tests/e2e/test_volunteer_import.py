"""Bulk import of volunteers over HTTP and by the use case the command line runs: dry run
verdicts, apply, the same file again, bad uploads, tenants, and an edit racing an import."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import httpx
import msgspec
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db.engine import create_engine
from app.errors import NotFound
from app.factory import create_app
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.imports import service
from app.imports.columns import NAMES
from app.settings import Settings
from tests.e2e.test_volunteers import SIGN_UP
from tests.support import Db, World

pytestmark = pytest.mark.anyio
CSV = {"Content-Type": "text/csv"}
CHECKED = (date.today() - timedelta(days=90)).isoformat()
VETTED = {"dbs_checked_on": CHECKED, "dbs_id_verified": "true"}


def row(**cells: str) -> dict[str, str]:
    base = {
        "display_name": "Ada Lovelace",
        "home_lat": "51.4543",
        "home_lon": "-0.9781",
        "max_travel_km": "5",
        "travel_mode": "walk",
    }
    return base | cells


def csv_of(*rows: dict[str, str], columns: tuple[str, ...] = NAMES) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


MIXED = csv_of(
    row(email="ada@example.org", external_id="HR-1", dbs_level="enhanced_adults",
        dbs_checked_on=CHECKED, dbs_id_verified="true", dbs_update_service="true"),
    row(email="bob@example.org", display_name="Bob", skills="shopping;driving"),
    row(email="ADA@example.org", display_name="Ada again"),  # line 4: a duplicate
    row(email="cy@example.org", home_lat="95"),  # line 5: off the globe
    row(email="di@example.org", dbs_level="basic"),  # line 6: a check without its date
    row(email="val@example.org", external_id="HR-9", dbs_level="standard",
        dbs_checked_on=CHECKED, dbs_id_verified="true", display_name="Valerie"),
    row(email="ed@example.org", travel_mode="teleport"),  # line 8
    row(email="fay@example.org", skills="juggling"),  # line 9: not in the vocabulary
    row(email="not-an-email"),  # line 10
)  # fmt: skip


@pytest.fixture
async def setup(client: httpx.AsyncClient, world: World) -> dict[str, Any]:
    org_a, org_b = await world.org("org-a"), await world.org("org-b")
    val = world.headers("val", email="val@example.org")
    r = await client.post(
        "/v1/volunteers/me", headers=val, json={**SIGN_UP, "organisations": ["org-a"]}
    )
    assert r.status_code == 201, r.text
    return {
        "org_a": org_a,
        "org_b": org_b,
        "val_id": r.json()["user_id"],
        "coordinator": await world.person("coord-a", org="org-a", role="coordinator"),
        "caseworker": await world.person("case-a", org="org-a", role="caseworker"),
        "outsider": await world.person("coord-b", org="org-b", role="coordinator"),
        "base": f"/v1/orgs/{org_a}/imports/volunteers",
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


async def _state(world: World) -> tuple[int, int, int, str]:
    async with world.owner.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM users WHERE issuer = 'codeliver:import'),"
                    " (SELECT count(*) FROM memberships WHERE role = 'volunteer'),"
                    " (SELECT count(*) FROM vetting_checks),"
                    " (SELECT coalesce(max(updated_at)::text, '') FROM volunteers)"
                )
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2]), str(row[3])


async def test_dry_run_then_apply_then_the_same_file_changes_nothing(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World, engine: AsyncEngine
) -> None:
    coordinator, base = setup["coordinator"], setup["base"]
    before = await _state(world)
    r = await client.post(f"{base}?file_name=mixed.csv", headers=coordinator | CSV, content=MIXED)
    assert r.status_code == 201, r.text
    dry = r.json()
    assert dry["counts"] == {"created": 2, "updated": 1, "unchanged": 0, "refused": 6}
    got = verdicts(dry)
    assert got[2][0] == got[3][0] == "created"
    assert got[4] == ("refused", [("email", "repeats line 2")])
    assert got[5] == ("refused", [("home_lat", "Expected `float` <= 90.0")])
    assert got[6] == ("refused", [("dbs_checked_on", "required for a DBS check")])
    assert got[7][0] == "updated"
    assert got[8][0] == "refused"
    assert got[8][1][0][0] == "travel_mode"
    assert got[9] == ("refused", [("skills", "unknown skill 'juggling'")])
    assert got[10] == ("refused", [("email", "not an e-mail address")])
    val_row = next(x for x in dry["results"] if x["line"] == 7)
    assert val_row["changes"] == ["external_id", "vetting"]  # their profile stays theirs
    assert "display_name" in val_row["notes"][0]
    assert await _state(world) == before  # a dry run writes nothing but itself
    assert r.headers["location"] == f"{base}/{dry['id']}"

    r = await client.post(f"{base}/{dry['id']}/apply", headers=coordinator)
    assert r.status_code == 200, r.text
    applied = r.json()
    assert applied["counts"] == dry["counts"]
    assert verdicts(applied) == got
    people, members, checks, _ = await _state(world)
    assert (people, members, checks) == (before[0] + 2, before[1] + 2, before[2] + 2)
    status = (await client.get(f"{base}/{dry['id']}", headers=coordinator)).json()
    assert status["status"] == "applied"
    assert status["applied_rows"] == 9
    assert await world.count("volunteer_imports", "content IS NOT NULL") == 0  # file dropped
    roster = (await client.get("/v1/volunteers?status=approved", headers=coordinator)).json()
    names = {v["display_name"]: v for v in roster["items"]}
    assert names["Ada Lovelace"]["vetting"]["level"] == "enhanced_adults"
    assert names["Ada Lovelace"]["vetting"]["update_service"] is True
    assert names["Ada Lovelace"]["vetting"]["valid_today"] is True
    assert names["Bob"]["skills"] == ["shopping", "driving"]
    record = (await client.get(f"/v1/volunteers/{setup['val_id']}", headers=coordinator)).json()
    assert record["vetting"]["level"] == "standard"
    assert record["display_name"] == SIGN_UP["display_name"]
    audited = (
        "action = 'volunteer_import.applied' AND details->>'created' = '2'"
        " AND actor_user_id = (SELECT id FROM users WHERE subject = 'coord-a')"
        " AND details->>'file_sha256' = "
    )
    assert await world.count("audit_log", audited + f"'{dry['file_sha256']}'") == 1

    assert (await client.post(f"{base}/{dry['id']}/apply", headers=coordinator)).status_code == 409
    after = await _state(world)
    again = (await client.post(base, headers=coordinator | CSV, content=MIXED)).json()
    assert again["counts"] == {"created": 0, "updated": 0, "unchanged": 3, "refused": 6}
    r = await client.post(f"{base}/{again['id']}/apply", headers=coordinator)
    assert r.json()["counts"] == again["counts"]
    # The command line's way (no dry run kept) changes nothing either.
    identity = TokenIdentity(issuer=DEV_ISSUER, subject="coord-a")
    cli = await service.apply(engine, identity, setup["org_a"], content=MIXED)
    assert msgspec.structs.asdict(cli.counts) == again["counts"]
    assert await _state(world) == after


async def test_bad_uploads_are_refused_whole_naming_the_field(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World, settings: Settings, db: Db
) -> None:
    coordinator, base = setup["coordinator"], setup["base"]
    cases = [
        ({"Content-Type": "application/json"}, b"{}", 415, "file"),
        (CSV, b"", 422, "header"),
        (CSV, b"email,display_name,colour\n", 422, "header"),
        (CSV, csv_of(row(email="a@b.org"), columns=NAMES[:4]), 422, "header"),
        (CSV, b"PK\x03\x04" + b"\x00" * 40, 422, "file"),
        (CSV, "email\n".encode("utf-16"), 422, "file"),
    ]
    for headers, body, status, field in cases:
        r = await client.post(base, headers=coordinator | headers, content=body)
        assert r.status_code == status, (body[:20], r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["errors"][0]["field"] == field, r.text
    small = msgspec.structs.replace(settings, import_max_bytes=2048)
    app = create_app(small, database_url=db.app_url, system_database_url=db.owner_url)
    transport = httpx.ASGITransport(app=app)
    async with app.lifespan(), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        big = csv_of(*[row(email=f"p{i}@example.org") for i in range(40)])
        r = await c.post(base, headers=coordinator | CSV, content=big)
        assert r.status_code == 413, r.text
        assert r.json()["errors"] == [
            {"field": "file", "message": "larger than 2,048 bytes: split the file"}
        ]
    assert await world.count("volunteer_imports") == 0
    r = await client.get(f"{base}/template.csv", headers=coordinator)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    header, _example = list(csv.reader(io.StringIO(r.text)))
    assert tuple(header) == NAMES
    r = await client.post(base, headers=coordinator | CSV, content=r.text.encode())
    assert r.json()["counts"]["created"] == 1, r.text  # the template's example is a valid row


async def test_another_organisation_cannot_import_into_or_read_this_one(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World, engine: AsyncEngine
) -> None:
    coordinator, outsider, base = setup["coordinator"], setup["outsider"], setup["base"]
    dry = (await client.post(base, headers=coordinator | CSV, content=MIXED)).json()
    volunteer = world.headers("val", email="val@example.org")
    for who, status in ((outsider, 404), (volunteer, 403), (setup["caseworker"], 403)):
        calls = [
            client.get(f"{base}/template.csv", headers=who),
            client.post(base, headers=who | CSV, content=MIXED),
            client.get(f"{base}/{dry['id']}", headers=who),
            client.post(f"{base}/{dry['id']}/apply", headers=who),
        ]
        for r in await asyncio.gather(*calls):
            assert r.status_code == status, r.text
            assert "ada@example.org" not in r.text
    # Their own organisation's path does not reach this organisation's import either.
    other = f"/v1/orgs/{setup['org_b']}/imports/volunteers/{dry['id']}"
    assert (await client.get(other, headers=outsider)).status_code == 404
    assert (await client.post(f"{other}/apply", headers=outsider)).status_code == 404
    # Nor does the command line's way, as that coordinator.
    identity = TokenIdentity(issuer=DEV_ISSUER, subject="coord-b")
    with pytest.raises(NotFound):
        await service.apply(engine, identity, setup["org_a"], content=MIXED)
    assert await world.count("users", "issuer = 'codeliver:import'") == 0
    # The same person imported by both organisations is two records, neither seeing the other.
    b_file = csv_of(row(email="ada@example.org", display_name="Ada B", external_id="B-1"))
    r = await client.post(
        f"/v1/orgs/{setup['org_b']}/imports/volunteers", headers=outsider | CSV, content=b_file
    )
    assert r.json()["counts"]["created"] == 1
    applied = await client.post(
        f"/v1/orgs/{setup['org_b']}/imports/volunteers/{r.json()['id']}/apply", headers=outsider
    )
    assert applied.json()["counts"]["created"] == 1
    r = await client.post(f"{base}/{dry['id']}/apply", headers=coordinator)
    assert r.json()["counts"]["created"] == 2
    roster_b = (await client.get("/v1/volunteers", headers=outsider)).json()["items"]
    assert [v["display_name"] for v in roster_b] == ["Ada B"]


async def test_an_edit_racing_an_import_is_neither_lost_nor_an_error(
    client: httpx.AsyncClient, setup: dict[str, Any], world: World, engine: AsyncEngine
) -> None:
    coordinator, base = setup["coordinator"], setup["base"]
    first = csv_of(
        row(
            email="ada@example.org",
            dbs_level="basic",
            dbs_checked_on=CHECKED,
            dbs_id_verified="true",
        ),
        row(email="bob@example.org", display_name="Bob"),
    )
    dry = (await client.post(base, headers=coordinator | CSV, content=first)).json()
    await client.post(f"{base}/{dry['id']}/apply", headers=coordinator)
    roster = (await client.get("/v1/volunteers", headers=coordinator)).json()["items"]
    ada = next(v["user_id"] for v in roster if v["display_name"] == "Ada Lovelace")
    second = csv_of(
        row(
            email="ada@example.org",
            dbs_level="enhanced",
            dbs_checked_on=CHECKED,
            dbs_id_verified="true",
        ),
        row(email="bob@example.org", display_name="Robert"),
    )
    # A dry run, then a coordinator's edit of Ada, then the apply: her row is a conflict.
    dry = (await client.post(base, headers=coordinator | CSV, content=second)).json()
    assert dry["counts"]["updated"] == 2
    edit = {"level": "standard", "checked_on": CHECKED, "id_verified": True}
    r = await client.put(f"/v1/volunteers/{ada}/vetting", headers=coordinator, json=edit)
    assert r.status_code == 200, r.text
    applied = (await client.post(f"{base}/{dry['id']}/apply", headers=coordinator)).json()
    assert verdicts(applied)[2] == (
        "refused",
        [("row", "the volunteer changed since the dry run: run a new dry run")],
    )
    assert verdicts(applied)[3][0] == "updated"
    record = (await client.get(f"/v1/volunteers/{ada}", headers=coordinator)).json()
    assert record["vetting"]["level"] == "standard"  # the edit stands
    # The command line's way, at the same time as a suspension and a new check: each waits
    # for the other's lock, nobody gets an error, nothing is lost.
    identity = TokenIdentity(issuer=DEV_ISSUER, subject="coord-a")
    third = csv_of(
        row(
            email="ada@example.org",
            dbs_level="enhanced_both",
            dbs_checked_on=CHECKED,
            dbs_id_verified="true",
        ),
    )
    edit = {"level": "enhanced_adults", "checked_on": CHECKED, "id_verified": True}
    report, suspended, vetted = await asyncio.gather(
        service.apply(engine, identity, setup["org_a"], content=third),
        client.post(
            f"/v1/volunteers/{ada}/suspend", headers=coordinator, json={"reason": "a complaint"}
        ),
        client.put(f"/v1/volunteers/{ada}/vetting", headers=coordinator, json=edit),
    )
    assert report.counts.refused == 0
    assert report.counts.updated == 1
    assert suspended.status_code == 200
    assert vetted.status_code == 200
    record = (await client.get(f"/v1/volunteers/{ada}", headers=coordinator)).json()
    assert record["status"] == "suspended"  # an import never reinstates anyone
    levels = {h["level"] for h in record["vetting_history"]}
    assert {"basic", "standard", "enhanced_both", "enhanced_adults"} <= levels
