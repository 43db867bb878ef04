"""The console's roster and volunteer pages over HTTP on the real PostGIS test database: the
filters narrow the list as the API does (a programme's needs, a check lapsing within 30, 60
or 90 days, lapsed, a level, status, no-shows); approving, suspending with a reason and
recording a renewed check change the record and write the audit log; bad form input is shown
on its field and writes nothing; another organisation's volunteer is a 404 and a caseworker
is refused."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
from sqlalchemy import text

from app.console import i18n
from tests.e2e.console_support import csrf_of, sign_in
from tests.e2e.test_console_language import _english_words, _wholly_welsh
from tests.scenario import Scenario
from tests.support import World

pytestmark = pytest.mark.anyio
ORG = "reading-council"


async def _town(world: World) -> dict[str, Any]:
    today = datetime.now(UTC).date()
    org = await world.org(ORG)
    await world.org("berkshire-nhs")
    coordinator = await world.person("coord", org=ORG, role="coordinator")
    caseworker = await world.person("case", org=ORG, role="caseworker")
    ids = {}
    for name, level, days in (
        ("v-children", "enhanced_children", 200),
        ("v-soon", "enhanced", 20),
        ("v-fifty", "basic", 50),
        ("v-eighty", "standard", 80),
        ("v-lapsed", "enhanced_children", -3),
    ):
        ids[name] = await world.volunteer(
            name, org=ORG, vetting=level, vetting_expires=today + timedelta(days=days)
        )
    ids["v-pending"] = await world.volunteer("v-pending", org=ORG, status="pending")
    ids["v-theirs"] = await world.volunteer(
        "v-theirs", org="berkshire-nhs", vetting="enhanced", vetting_expires=today + timedelta(9)
    )
    s = Scenario(world)
    family = await s.programme(org, "Family support")
    errands = await s.programme(org, "Errands")
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE programmes SET min_vetting = 'enhanced_children' WHERE id = :p"),
            {"p": family},
        )
    need = await s.need(org, errands, window_start=datetime.now(UTC) - timedelta(2))
    await s.assignment(org, need, ids["v-fifty"], status="no_show")
    return {
        "org": org,
        "ids": ids,
        "family": family,
        "coordinator": coordinator["Authorization"].split()[1],
        "caseworker": caseworker["Authorization"].split()[1],
    }


async def _names(client: httpx.AsyncClient, **params: Any) -> set[str]:
    page = await client.get("/console/volunteers", params=params)
    assert page.status_code == 200, page.text
    body = html.unescape(page.text)
    if 'id="roster"' not in body:
        return set()
    table = body.split('id="roster"')[1].split("</table>")[0]
    return {n for n in NAMES if f">{n}</a>" in table}


NAMES = ("V Children", "V Soon", "V Fifty", "V Eighty", "V Lapsed", "V Pending", "V Theirs")


async def _audit(world: World, action: str) -> list[tuple[str | None, dict[str, Any]]]:
    async with world.owner.connect() as conn:
        rows = await conn.execute(
            text("SELECT reason, details FROM audit_log WHERE action = :a ORDER BY at, id"),
            {"a": action},
        )
        return [(r.reason, dict(r.details or {})) for r in rows]


async def test_the_filters_narrow_the_roster_as_the_api_does(
    world: World, client: httpx.AsyncClient
) -> None:
    town = await _town(world)
    await sign_in(client, town["coordinator"])
    page = await client.get("/console/volunteers")
    assert 'href="/console/volunteers"' in page.text  # the menu's entry
    body = html.unescape(page.text)
    assert "Lapses in 20 days" in body
    assert "Lapsed" in body
    assert "No check" in body
    everyone = set(NAMES) - {"V Theirs"}
    assert await _names(client) == everyone
    assert await _names(client, programme=str(town["family"])) == {"V Children"}
    assert await _names(client, check="30") == {"V Soon"}
    assert await _names(client, check="60") == {"V Soon", "V Fifty"}
    assert await _names(client, check="90") == {"V Soon", "V Fifty", "V Eighty"}
    assert await _names(client, check="lapsed") == {"V Lapsed"}
    assert await _names(client, check="none") == {"V Pending"}
    assert await _names(client, level="standard") == {"V Children", "V Soon", "V Eighty"}
    assert await _names(client, status="pending") == {"V Pending"}
    assert await _names(client, no_shows="yes") == {"V Fifty"}
    assert await _names(client, no_shows="no") == everyone - {"V Fifty"}
    assert await _names(client, check="90", level="enhanced") == {"V Soon"}
    fifty = (await client.get("/console/volunteers", params={"no_shows": "yes"})).text
    assert 'data-no-shows="1"' in fifty

    for bad, field in (
        ({"status": "gold"}, "status"),
        ({"check": "45"}, "check"),
        ({"programme": "not-an-id"}, "programme"),
        ({"programme": str(UUID(int=7))}, "programme"),
        ({"level": "gold"}, "level"),
        ({"no_shows": "maybe"}, "no_shows"),
    ):
        refused = await client.get("/console/volunteers", params=bad)
        assert refused.status_code == 422, (bad, refused.text)
        assert "govuk-error-summary" in refused.text
        assert f'id="{field}-error"' in refused.text
        assert 'id="roster"' not in refused.text


async def test_the_roster_pages_by_the_api_cursor(
    world: World, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    town = await _town(world)
    monkeypatch.setattr("app.console.roster.PAGE_SIZE", 4)
    await sign_in(client, town["coordinator"])
    first = html.unescape((await client.get("/console/volunteers?status=approved")).text)
    link = first.split('id="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert "status=approved" in link
    assert "cursor=" in link
    second = await client.get(link)
    assert second.status_code == 200
    seen = {n for n in NAMES if f">{n}</a>" in first} | {
        n for n in NAMES if f">{n}</a>" in html.unescape(second.text)
    }
    assert seen == {"V Children", "V Soon", "V Fifty", "V Eighty", "V Lapsed"}
    assert 'id="next-page"' not in second.text


async def test_approve_suspend_and_a_renewed_check_change_the_record_and_are_audited(
    world: World, client: httpx.AsyncClient
) -> None:
    town = await _town(world)
    await sign_in(client, town["coordinator"])
    pending = town["ids"]["v-pending"]
    url = f"/console/volunteers/{pending}"
    read = f"action = 'volunteer.read' AND subject_id = '{pending}'"
    before = await world.count("audit_log", read)
    page = await client.get(url)
    assert page.status_code == 200
    assert await world.count("audit_log", read) == before + 1  # an audited read
    token = csrf_of(page.text)

    approved = await client.post(f"{url}/approve", data={"_csrf_token": token})
    assert approved.status_code == 303
    shown = html.unescape((await client.get(approved.headers["location"])).text)
    assert 'id="done"' in shown
    assert "Approved" in shown
    assert len(await _audit(world, "volunteer.approved")) == 1
    again = await client.post(f"{url}/approve", data={"_csrf_token": token})  # a stale form
    assert again.status_code == 409
    assert "It cannot be done" in html.unescape(again.text)
    assert len(await _audit(world, "volunteer.approved")) == 1

    short = await client.post(f"{url}/suspend", data={"reason": "no", "_csrf_token": token})
    assert short.status_code == 422
    assert 'id="reason-error"' in short.text
    assert await _audit(world, "volunteer.suspended") == []
    suspended = await client.post(
        f"{url}/suspend", data={"reason": "Complaint under review.", "_csrf_token": token}
    )
    assert suspended.status_code == 303
    shown = html.unescape((await client.get(suspended.headers["location"])).text)
    assert "Complaint under review." in shown
    assert "Suspended" in shown
    [(reason, _)] = await _audit(world, "volunteer.suspended")
    assert reason == "Complaint under review."

    today = datetime.now(UTC).date()
    checked = today - timedelta(days=10)
    form = {"level": "enhanced", "day": str(checked.day), "month": str(checked.month)}
    form |= {"year": str(checked.year), "id_verified": "yes", "update_service": "yes"}
    for bad, field in (
        ({"level": "gold"}, "level"),
        ({"day": "31", "month": "2"}, "checked_on"),
        ({"day": "", "month": "", "year": ""}, "checked_on"),
        ({"year": str(today.year + 1)}, "checked_on"),
        ({"day": "x"}, "checked_on"),
    ):
        refused = await client.post(f"{url}/vetting", data=form | bad | {"_csrf_token": token})
        assert refused.status_code == 422, (bad, refused.text)
        assert f'id="{field}-error"' in refused.text
        assert "govuk-error-summary" in refused.text
    assert await world.count("vetting_checks", f"user_id = '{pending}'") == 0
    assert await _audit(world, "volunteer.vetting_recorded") == []

    recorded = await client.post(f"{url}/vetting", data=form | {"_csrf_token": token})
    assert recorded.status_code == 303, recorded.text
    shown = html.unescape((await client.get(recorded.headers["location"])).text)
    assert 'id="history"' in shown
    assert "Subscribed" in shown
    async with world.owner.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT level, checked_on, update_service FROM vetting_checks"
                    " WHERE user_id = :u"
                ),
                {"u": pending},
            )
        ).one()
    assert (row.level, row.checked_on, row.update_service) == ("enhanced", checked, True)
    [(_, details)] = await _audit(world, "volunteer.vetting_recorded")
    assert details["level"] == "enhanced"


async def test_another_organisations_volunteer_is_not_found_and_a_caseworker_is_refused(
    world: World, client: httpx.AsyncClient
) -> None:
    town = await _town(world)
    theirs = town["ids"]["v-theirs"]
    await sign_in(client, town["coordinator"])
    page = await client.get("/console/volunteers")
    token = csrf_of(page.text)
    assert "V Theirs" not in page.text
    assert (await client.get(f"/console/volunteers/{theirs}")).status_code == 404
    for action, data in (("approve", {}), ("suspend", {"reason": "Not ours at all."})):
        answer = await client.post(
            f"/console/volunteers/{theirs}/{action}", data=data | {"_csrf_token": token}
        )
        assert answer.status_code == 404
    answer = await client.post(
        f"/console/volunteers/{theirs}/vetting",
        data={"level": "none", "_csrf_token": token},
    )
    assert answer.status_code == 404
    other_org = (await client.get("/console/volunteers?org=" + str(UUID(int=5)))).status_code
    assert other_org == 404
    assert await world.count("vetting_checks", f"user_id = '{theirs}'") == 1
    assert await _audit(world, "volunteer.suspended") == []

    client.cookies.clear()
    await sign_in(client, town["caseworker"])
    listed = await client.get("/console/volunteers")
    assert listed.status_code == 403
    assert 'href="/console/volunteers"' not in listed.text
    own = town["ids"]["v-soon"]
    assert (await client.get(f"/console/volunteers/{own}")).status_code == 403


async def test_the_roster_pages_are_wholly_welsh_errors_too(
    world: World, client: httpx.AsyncClient
) -> None:
    english = _english_words()
    town = await _town(world)
    client.cookies.set(i18n.COOKIE, "cy", path="/console")
    await sign_in(client, town["coordinator"])
    ids = town["ids"]
    for path in (
        "/console/volunteers",
        "/console/volunteers?check=90&no_shows=no",
        f"/console/volunteers/{ids['v-pending']}",
        f"/console/volunteers/{ids['v-soon']}",
        f"/console/volunteers/{ids['v-lapsed']}",
    ):
        _wholly_welsh(await client.get(path), english)
    listed = html.unescape((await client.get("/console/volunteers")).text)
    assert "Yn dod i ben ymhen 20 diwrnod" in listed
    refused = await client.get("/console/volunteers", params={"check": "45"})
    assert refused.status_code == 422
    assert "Dewiswch un o'r dewisiadau yn y rhestr" in html.unescape(refused.text)
    page = await client.get(f"/console/volunteers/{ids['v-soon']}")
    bad = await client.post(
        f"/console/volunteers/{ids['v-soon']}/vetting",
        data={"level": "basic", "day": "40", "month": "1", "year": "2026"}
        | {"_csrf_token": csrf_of(page.text)},
    )
    assert bad.status_code == 422
    assert "Rhowch ddyddiad y dystysgrif" in html.unescape(bad.text)
