"""A volunteer's own data rights: the export holds everything about them and is audited;
erasure declines, withdraws and deletes in one transaction and keeps only what safeguarding
needs, under a pseudonym; staff reads of volunteers are audited as client reads are."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from sqlalchemy import text

from app.worker import default_jobs
from tests.e2e.cascade_world import Casework, ctx, need, offers_of, window
from tests.e2e.test_assignments import accepted, offer_for
from tests.support import World

pytestmark = pytest.mark.anyio
__all__ = ["ctx"]

TOKEN = "fcm-token-of-vol-zero-0123456789"


async def _reads(world: World, subject_id: object, reason: str | None = None) -> int:
    where = f"action = 'volunteer.read' AND subject_id = '{subject_id}'"
    return await world.count("audit_log", where + (f" AND reason = '{reason}'" if reason else ""))


async def _vetted(client: httpx.AsyncClient, ctx: Casework, vid: object) -> None:
    checked = (date.today() - timedelta(days=10)).isoformat()
    body = {"level": "enhanced_adults", "checked_on": checked, "id_verified": True}
    r = await client.put(
        f"/v1/volunteers/{vid}/vetting",
        headers=ctx.coordinator,
        json={**body, "notes": "Certificate seen by Jo"},
    )
    assert r.status_code == 200, r.text


async def _export(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.get("/v1/volunteers/me/export", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_the_export_holds_everything_about_me_and_is_audited(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    vol, vid = world.headers("vol-0"), ctx.vols["vol-0"]
    await _vetted(client, ctx, vid)
    _, assignment = await accepted(client, ctx, world)
    r = await client.post(
        "/v1/volunteers/me/devices", headers=vol, json={"token": TOKEN, "platform": "android"}
    )
    assert r.status_code == 201, r.text
    r = await client.put(
        "/v1/volunteers/me/channels/sms", headers=vol, json={"number": "07700900123"}
    )
    assert r.status_code in (200, 201), r.text
    reason = {"X-Access-Reason": "checking references"}
    r = await client.get(f"/v1/volunteers/{vid}", headers={**ctx.coordinator, **reason})
    assert r.status_code == 200, r.text

    out = await _export(client, vol)
    assert out["account"]["user_id"] == str(vid)
    assert out["profile"]["display_name"] == "Vol 0"
    assert out["availability"]["upcoming"]
    assert [(m["role"], m["status"]) for m in out["memberships"]] == [("volunteer", "approved")]
    assert out["vetting_checks"][0]["notes"] == "Certificate seen by Jo"
    assert out["devices"][0]["token_suffix"] == TOKEN[-6:]
    assert [c["channel"] for c in out["channels"]] == ["sms"]
    assert [o["status"] for o in out["offers"]] == ["accepted"]
    assert [a["id"] for a in out["assignments"]] == [assignment["id"]]
    shown = out["assignments"][0]
    assert shown["location"] is None
    assert shown["client"] is None
    assert "location" not in shown["need"]
    assert {m["kind"] for m in out["messages"]} >= {"offer.created"}
    audit = {(a["action"], a["by"], a["reason"]) for a in out["audit"]}
    assert ("volunteer.read", "staff", "checking references") in audit
    assert ("volunteer.vetting_recorded", "staff", None) in audit
    assert ("volunteer.exported", "you", "subject access") in audit  # the export lists itself
    until = (date.today() + relativedelta(months=72)).isoformat()
    assert {k["until"] for k in out["kept_on_erasure"] if k["org_id"]} == {until}
    assert set(out["not_included"]) >= {
        "idempotency_keys.user_id",
        "client_exclusions.volunteer_id",
    }
    document = json.dumps(out)
    # never the client's name or address, nor a device's whole token
    assert "Ada Client" not in document
    assert "Secret Road" not in document
    assert TOKEN not in document
    assert (
        await world.count("audit_log", f"action = 'volunteer.exported' AND subject_id = '{vid}'")
        == 1
    )
    # another volunteer's export holds none of it
    other = await _export(client, world.headers("vol-5"))
    assert other["vetting_checks"] == []
    assert other["assignments"] == []
    assert other["audit"] == [a for a in other["audit"] if a["action"] == "volunteer.exported"]


async def test_erasure_reopens_declines_deletes_and_keeps_only_pseudonymous_records(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    vol, vid = world.headers("vol-0"), ctx.vols["vol-0"]
    await world.org("org-b")
    other_coord = await world.person("coord-b", org="org-b", role="coordinator")
    other = await world.volunteer("vol-b", org="org-b")
    await _vetted(client, ctx, vid)
    taken, _ = await accepted(client, ctx, world)
    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx, windows=[window(3)]))
    waiting = r.json()["need"]["id"]
    assert (await offer_for(client, world, "vol-0"))["status"] == "pending"
    r = await client.post(
        "/v1/volunteers/me/devices", headers=vol, json={"token": TOKEN, "platform": "ios"}
    )
    assert r.status_code == 201

    r = await client.post("/v1/volunteers/me/erasure", headers=vol)
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["reference"] == str(vid)
    assert done["erased_at"]
    assert done["withdrawn_from"] == [str(ctx.programme["org_id"])]
    assert (done["offers_declined"], done["assignments_withdrawn"]) == (1, 1)
    until = (date.today() + relativedelta(months=72)).isoformat()
    assert {k["until"] for k in done["kept"] if k["org_id"]} == {until}
    assert any("DBS" in k["what"] for k in done["kept"])

    # the need they had taken is open again; the one waiting for them goes on without them
    shown = (await client.get(f"/v1/needs/{taken}", headers=ctx.caseworker)).json()
    assert (shown["filled"], shown["status"]) == (0, "open")
    theirs = [o for o in await offers_of(client, ctx, waiting) if o["volunteer_id"] == str(vid)]
    assert [o["status"] for o in theirs] == ["declined"]
    assert all(o["volunteer_name"] is None for o in theirs)
    # coordinators no longer see them
    roster = (await client.get("/v1/volunteers", headers=ctx.coordinator)).json()["items"]
    assert str(vid) not in {v["user_id"] for v in roster}
    assert len(roster) == 5
    assert (await client.get(f"/v1/volunteers/{vid}", headers=ctx.coordinator)).status_code == 404
    # what is kept carries the pseudonym only
    async with world.owner.connect() as conn:
        user = (
            await conn.execute(text(f"SELECT * FROM users WHERE id = '{vid}'"))  # noqa: S608
        ).one()
        notes = await conn.scalar(text(f"SELECT notes FROM vetting_checks WHERE user_id = '{vid}'"))  # noqa: S608
    assert (user.issuer, user.subject, user.email, user.display_name) == (
        "erased",
        str(vid),
        None,
        None,
    )
    assert user.erased_at is not None
    assert notes is None
    mine = f"= '{vid}'"
    assert await world.count("vetting_checks", f"user_id {mine}") == 1
    assert await world.count("assignments", f"volunteer_id {mine} AND status = 'withdrawn'") == 1
    for table in ("volunteers", "volunteer_availability", "devices", "contact_channels", "outbox"):
        assert await world.count(table, f"user_id {mine}") == 0, table
    assert await world.count("memberships", f"user_id {mine}") == 0

    # signing in again is a new, empty account: the export shows nothing personal
    after = await _export(client, vol)
    assert after["account"]["user_id"] != str(vid)
    assert after["profile"] is None
    assert after["live_location"] is None
    for key in ("memberships", "vetting_checks", "devices", "channels", "offers", "assignments"):
        assert after[key] == [], key
    assert "Vol 0" not in json.dumps(after)
    assert str(vid) not in json.dumps(after)

    # a second request is a no-op
    erased = await world.count("audit_log", "action = 'volunteer.erased'")
    again = (await client.post("/v1/volunteers/me/erasure", headers=vol)).json()
    assert again["erased_at"] is None
    assert again["withdrawn_from"] == []
    assert again["kept"] == []
    assert await world.count("audit_log", "action = 'volunteer.erased'") == erased
    assert await world.count("users", "issuer = 'erased'") == 1

    # another tenant is untouched
    theirs_roster = (await client.get("/v1/volunteers", headers=other_coord)).json()["items"]
    assert [v["user_id"] for v in theirs_roster] == [str(other)]
    assert (await _export(client, world.headers("vol-b")))["profile"]["display_name"] == "Vol B"


async def test_erasure_is_refused_during_a_visit_and_for_staff_and_writes_nothing(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    r = await client.post("/v1/volunteers/me/erasure", headers=ctx.caseworker)
    assert r.status_code == 409
    assert "staff" in r.json()["detail"]
    _, a = await accepted(client, ctx, world, windows=[window(days=0.02)])
    async with world.owner.begin() as conn:
        started = "UPDATE assignments SET status = 'checked_in', checked_in_at = now()"
        await conn.execute(text(f"{started} WHERE id = '{a['id']}'"))
    r = await client.post("/v1/volunteers/me/erasure", headers=world.headers("vol-0"))
    assert r.status_code == 409
    assert "under way" in r.json()["detail"]
    vid = ctx.vols["vol-0"]
    assert await world.count("volunteers", f"user_id = '{vid}'") == 1
    assert await world.count("memberships", f"user_id = '{vid}'") == 1
    assert await world.count("audit_log", "action = 'volunteer.erased'") == 0


async def test_every_staff_read_of_a_volunteer_is_audited(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    vid = ctx.vols["vol-0"]
    reason = {"X-Access-Reason": "weekly rota"}
    r = await client.get("/v1/volunteers", headers={**ctx.coordinator, **reason})
    assert len(r.json()["items"]) == 6
    assert all([await _reads(world, v, "weekly rota") == 1 for v in ctx.vols.values()])

    r = await client.get(f"/v1/volunteers/{vid}", headers={**ctx.coordinator, **reason})
    assert r.status_code == 200
    assert await _reads(world, vid, "weekly rota") == 2
    await _vetted(client, ctx, vid)  # answers with the record: a read too
    assert await _reads(world, vid, "volunteer management") == 1

    r = await client.post("/v1/needs", headers=ctx.caseworker, json=need(ctx))
    need_id = r.json()["need"]["id"]
    before = await _reads(world, vid)
    named = await offers_of(client, ctx, need_id)
    assert str(vid) in {o["volunteer_id"] for o in named}
    assert await _reads(world, vid) == before + 1
    r = await client.get(f"/v1/needs/{need_id}/candidates", headers=ctx.caseworker)
    listed = {c["volunteer_id"] for c in r.json() if c["display_name"]}
    assert listed
    assert all([await _reads(world, v, "matching volunteers to a need") >= 1 for v in listed])

    org = ctx.programme["org_id"]
    before = await _reads(world, vid)
    r = await client.get(f"/v1/orgs/{org}/members", headers=ctx.coordinator)
    assert r.status_code == 200, r.text
    assert await _reads(world, vid, "membership management") == 1

    # a volunteer reading their own record writes no read of it
    before = await _reads(world, vid)
    assert (
        await client.get("/v1/volunteers/me", headers=world.headers("vol-0"))
    ).status_code == 200
    assert await _reads(world, vid) == before


async def test_kept_records_go_when_the_organisations_retention_has_run(
    client: httpx.AsyncClient, ctx: Casework, world: World
) -> None:
    (job,) = [j for j in default_jobs() if j.name == "end-kept-records"]
    vid, keeper = ctx.vols["vol-0"], ctx.vols["vol-1"]
    for v in (vid, keeper):
        await _vetted(client, ctx, v)
    await accepted(client, ctx, world)
    for subject in ("vol-0", "vol-1"):
        r = await client.post("/v1/volunteers/me/erasure", headers=world.headers(subject))
        assert r.status_code == 200, r.text
    kept = f"IN ('{vid}', '{keeper}')"
    assert await world.count("vetting_checks", f"user_id {kept}") == 2
    async with world.owner.begin() as conn:  # vol-0 was erased over six years ago
        await conn.execute(
            text("UPDATE users SET erased_at = now() - interval '2193 days' WHERE id = :id"),
            {"id": vid},
        )
    await job.run(world.owner)
    mine = f"= '{vid}'"
    for table, column in (("vetting_checks", "user_id"), ("offers", "volunteer_id")):
        assert await world.count(table, f"{column} {mine}") == 0, table
    assert await world.count("assignments", f"volunteer_id {mine}") == 0
    # one erased a moment ago keeps theirs; the audit log stays whole
    assert await world.count("vetting_checks", f"user_id = '{keeper}'") == 1
    assert await world.count("audit_log", f"subject_id = '{vid}'") > 0
