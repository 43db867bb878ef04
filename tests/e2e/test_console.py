"""The caseworker's console over HTTP, in-process, on the real PostGIS test database: the
session (sign-in, every page checked, sign-out revokes), CSRF on every form post, another
organisation's need, the needs list with its filter and pages, and posting a need with the
API's own validation, nothing half-written on error."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import httpx
import msgspec
import pytest
from litestar import Litestar
from sqlalchemy import text

from app.factory import create_app
from app.identity.sessions import COOKIE
from app.settings import Settings
from tests.e2e.console_support import csrf_of, need_form, sign_in, town
from tests.scenario import NOW
from tests.support import Db, World

pytestmark = pytest.mark.anyio


def _browser(app: Litestar, cookies: dict[str, str]) -> httpx.AsyncClient:
    """Another browser of the running app, holding only these cookies."""
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://test", cookies=cookies)


async def test_a_page_without_a_session_redirects_to_sign_in(
    app: Litestar, client: httpx.AsyncClient
) -> None:
    page = await client.get("/console/sign-in")
    assert page.status_code == 200
    assert "Development token" in page.text
    assert "default-src 'none'" in page.headers["content-security-policy"]
    csrf = page.headers["set-cookie"]
    assert "codeliver_csrf=" in csrf
    assert "HttpOnly" in csrf
    assert "Path=/console" in csrf
    for path in ("/console/needs", "/console/needs/new", f"/console/needs/{uuid4()}"):
        answer = await client.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"] == "/console/sign-in"
    async with _browser(app, {COOKIE: "forged.session.cookie"}) as forged:
        answer = await forged.get("/console/needs")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/sign-in"


async def test_sign_in_opens_a_session_and_sign_out_revokes_it(
    world: World, app: Litestar, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    bad = await sign_in(client, "not-a-token")
    assert bad.status_code == 401
    assert "There is a problem" in bad.text
    assert 'href="#id_token"' in bad.text
    assert COOKIE not in client.cookies

    answer = await sign_in(client, t.token)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/needs"
    cookie = answer.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=lax", "Path=/console"):
        assert attribute in cookie, attribute
    assert "Secure" not in cookie  # plain HTTP outside production
    session = client.cookies[COOKIE]
    page = await client.get("/console/needs")
    assert page.status_code == 200
    assert "Shopping run 0" in page.text

    out = await client.post("/console/sign-out", data={"_csrf_token": csrf_of(page.text)})
    assert out.status_code == 303
    assert out.headers["location"] == "/console/sign-in"
    assert COOKIE not in client.cookies
    # The cookie kept from before sign-out is refused: revoked, not just forgotten.
    async with _browser(app, {COOKIE: session}) as kept:
        again = await kept.get("/console/needs")
    assert again.status_code == 303
    assert again.headers["location"] == "/console/sign-in"


async def test_a_form_post_without_a_valid_csrf_token_is_refused_and_writes_nothing(
    world: World, app: Litestar, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    await sign_in(client, t.token)
    page = await client.get("/console/needs/new")
    token = csrf_of(page.text)
    before = await world.count("needs")
    form = need_form(t.programme, t.client)
    for sent in (
        form,
        form | {"_csrf_token": "0" * 128},
        form | {"_csrf_token": token[:-2] + "00"},
    ):
        refused = await client.post("/console/needs/new", data=sent)
        assert refused.status_code == 403
        assert "did not come from this service" in refused.text
    # The right token, but without the cookie it belongs to (another site's post).
    async with _browser(app, {COOKIE: client.cookies[COOKIE]}) as elsewhere:
        refused = await elsewhere.post("/console/needs/new", data=form | {"_csrf_token": token})
        assert refused.status_code == 403
    assert await world.count("needs") == before
    assert await world.count("audit_log", "action = 'need.created'") == 0
    signed_out = await client.post("/console/sign-out")
    assert signed_out.status_code == 403  # sign-out is a form post too


async def test_another_organisations_need_is_a_404_page_without_its_data(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    await sign_in(client, t.token)
    mine = await client.get(f"/console/needs/{t.need}")
    assert mine.status_code == 200
    assert "Shopping run 0" in mine.text
    theirs = await client.get(f"/console/needs/{t.other_need}")
    assert theirs.status_code == 404
    assert "Page not found" in theirs.text
    assert "Secret lift" not in theirs.text
    assert str(t.other_need) not in theirs.text
    listed = await client.get("/console/needs")
    assert "Secret lift" not in listed.text


async def test_the_needs_list_filters_by_status_and_pages(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world, needs=23)
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE needs SET status = 'cancelled' WHERE title = 'Shopping run 3'")
        )
    await sign_in(client, t.token)
    first = await client.get("/console/needs")
    table = first.text.split('id="needs"', 1)[1].split("</table>", 1)[0]
    assert table.count('href="/console/needs/') == 20  # the work queue above is not the page
    assert 'rel="next"' in first.text
    cursor = first.text.split("cursor=", 1)[1].split('"', 1)[0]
    second = await client.get(f"/console/needs?cursor={cursor}")
    assert second.status_code == 200
    assert "Shopping run 22" in second.text
    assert 'rel="next"' not in second.text
    cancelled = await client.get("/console/needs", params={"status": "cancelled"})
    assert "Shopping run 3" in cancelled.text
    assert "Shopping run 4" not in cancelled.text
    assert '<option value="cancelled" selected>' in cancelled.text
    nothing = await client.get("/console/needs", params={"status": "completed"})
    assert 'id="no-needs"' in nothing.text
    bogus = await client.get("/console/needs", params={"status": "bogus"})
    assert bogus.status_code == 422
    assert "govuk-template" in bogus.text  # a page, not problem+json


async def test_posting_a_need_validates_as_the_api_and_lands_on_its_page(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    await sign_in(client, t.token)
    page = await client.get("/console/needs/new")
    assert page.status_code == 200
    assert "A Client" in page.text
    assert "Errands" in page.text
    token = csrf_of(page.text)
    before = await world.count("needs")
    past = (NOW - timedelta(days=3)).date()
    cases = {  # form changes -> the field whose error the summary links to, and its words
        "duration": ({"duration": "3"}, "Enter a duration from 5 to 1,440 minutes"),
        "title": ({"title": ""}, "Enter a title of up to 200 characters"),
        "when-day": ({"day": "31", "month": "2"}, "Enter a real date"),
        "when-time": ({"time": "25:99"}, "Enter a time on the 24-hour clock"),
        "client": ({"client": ""}, "Select the client"),
        # The use case's own rules: in the past, an unknown skill, another organisation's client.
        "when": (
            {"day": str(past.day), "month": str(past.month), "year": str(past.year)},
            "The date and time must be in the future",
        ),
        "skills": ({"skills": ["juggling"]}, "juggling"),
    }
    for anchor, (changes, words) in cases.items():
        sent = need_form(t.programme, t.client, **changes) | {"_csrf_token": token}
        answer = await client.post("/console/needs/new", data=sent)
        assert answer.status_code == 422, anchor
        assert answer.text.count("govuk-error-summary__list") == 1, anchor
        target = "when-day" if anchor == "when" else anchor
        assert f'href="#{target}"' in answer.text, (anchor, answer.text[:3000])
        assert words in answer.text, anchor
        assert answer.text.startswith("<!DOCTYPE html>")
        assert "<title>Error: " in answer.text
    # Another organisation's client: the use case refuses it, in the API's words.
    async with world.owner.connect() as conn:
        theirs = await conn.scalar(
            text("SELECT client_id FROM needs WHERE id = :id"), {"id": t.other_need}
        )
    sent = need_form(t.programme, theirs) | {"_csrf_token": token}
    answer = await client.post("/console/needs/new", data=sent)
    assert answer.status_code == 422
    assert 'href="#client"' in answer.text
    assert "No such client in this organisation" in answer.text
    # Nothing half-written: no need, no audit of the client read that came before the error.
    assert await world.count("needs") == before
    assert await world.count("audit_log", "action = 'need.created'") == 0
    assert await world.count("audit_log", "reason = 'location for a need'") == 0

    sent = need_form(t.programme, t.client) | {"_csrf_token": token}
    done = await client.post("/console/needs/new", data=sent)
    assert done.status_code == 303
    location = done.headers["location"]
    assert location.startswith("/console/needs/")
    assert location.endswith("?done=posted")
    shown = await client.get(location)
    assert shown.status_code == 200
    assert "govuk-notification-banner--success" in shown.text
    assert "Collect a prescription from Boots, Broad Street" in shown.text
    assert "45 minutes" in shown.text
    assert "10:30 to 11:15" in shown.text
    assert "0 of 1" in shown.text
    assert "Within about 500 m of" in shown.text
    assert await world.count("needs") == before + 1

    # The same need through the JSON API, for the same caseworker: one data path.
    need_id = location.split("/")[-1].split("?")[0]
    api = await client.get(f"/v1/needs/{need_id}", headers={"Authorization": f"Bearer {t.token}"})
    assert api.status_code == 200
    assert api.json()["duration_minutes"] == 45
    assert api.json()["description"] == "Ring the bell twice."


async def test_a_volunteer_signed_in_to_the_console_sees_no_needs_and_may_post_none(
    world: World, client: httpx.AsyncClient
) -> None:
    t = await town(world)
    headers = await world.person("vol", org="reading-council", role="volunteer")
    await sign_in(client, headers["Authorization"].split()[1])
    listed = await client.get("/console/needs")
    assert listed.status_code == 200
    assert "Shopping run 0" not in listed.text
    assert 'id="no-needs"' in listed.text
    form = await client.get("/console/needs/new")
    assert form.status_code == 403
    assert "You cannot do that" in form.text
    assert "A Client" not in form.text
    need = await client.get(f"/console/needs/{t.need}")
    assert need.status_code == 404
    assert "Shopping run 0" not in need.text


async def test_every_kind_of_need_the_api_takes_can_be_posted_from_the_form(
    world: World, client: httpx.AsyncClient
) -> None:
    """A weekly series for a group, urgent, in Welsh, the same volunteer each week; a remote
    need without a client; and each new field's errors, nothing written on any of them."""
    t = await town(world)
    await sign_in(client, t.token)
    page = await client.get("/console/needs/new")
    for field in ('id="mode-remote"', 'id="visits"', 'id="slots"', 'id="urgency-low"'):
        assert field in page.text, field
    token = csrf_of(page.text)
    auth = {"Authorization": f"Bearer {t.token}"}
    before = await world.count("needs")
    cases = {  # form changes -> the field whose error the summary links to, and its words
        "visits": ({"visits": "0"}, "Enter the number of visits, one a week, from 1 to"),
        "slots": ({"slots": "x"}, "Enter how many volunteers are needed at once"),
        "urgency": ({"urgency": "whenever"}, "Select how urgent it is"),
        "mode": ({"mode": "by-pigeon"}, "Select where the help is given"),
        "language": ({"language": "xx"}, "Select a language from the list"),
        "client": ({"client": ""}, "help at home is given at the client"),
    }
    extra = {"visits": ({"visits": "105"}, "visits"), "visits-x": ({"visits": "x"}, "visits")}
    extra |= {"slots-0": ({"slots": "0"}, "slots"), "slots-big": ({"slots": "501"}, "slots")}
    for name, (changes, words) in cases.items():
        sent = need_form(t.programme, t.client, **changes) | {"_csrf_token": token}
        answer = await client.post("/console/needs/new", data=sent)
        assert answer.status_code == 422, name
        assert f'href="#{name}"' in answer.text, name
        assert words in html.unescape(answer.text), name
    for name, (changes, anchor) in extra.items():
        sent = need_form(t.programme, t.client, **changes) | {"_csrf_token": token}
        answer = await client.post("/console/needs/new", data=sent)
        assert answer.status_code == 422, name
        assert f'href="#{anchor}"' in answer.text, name
    assert await world.count("needs") == before

    series = need_form(
        t.programme,
        t.client,
        visits="4",
        same_volunteer="yes",
        slots="3",
        urgency="urgent",
        language="cy",
    )
    done = await client.post("/console/needs/new", data=series | {"_csrf_token": token})
    assert done.status_code == 303, done.text[:2000]
    need_id = done.headers["location"].split("/")[-1].split("?")[0]
    first = (await client.get(f"/v1/needs/{need_id}", headers=auth)).json()
    assert first["recurrence"] == "FREQ=WEEKLY;COUNT=4"
    assert first["series_index"] == 0
    assert first["slots"] == 3
    assert first["urgency"] == "urgent"
    assert first["languages"] == ["cy"]
    assert first["continuity"]["same_as_last"] is True
    assert await world.count("needs", f"series_id = '{first['series_id']}'") == 4
    shown = await client.get(f"/console/needs/{need_id}")
    for words in ("Every week, 4 times; this is visit 1", "Urgent", "Welsh", "0 of 3"):
        assert words in shown.text, words

    remote = need_form(t.programme, t.client, mode="remote", client="", title="A phone call")
    done = await client.post("/console/needs/new", data=remote | {"_csrf_token": token})
    assert done.status_code == 303, done.text[:2000]
    need_id = done.headers["location"].split("/")[-1].split("?")[0]
    call = (await client.get(f"/v1/needs/{need_id}", headers=auth)).json()
    assert call["mode"] == "remote"
    assert call["client_id"] is None
    assert call["location"] is None
    assert call["recurrence"] is None
    shown = await client.get(f"/console/needs/{need_id}")
    assert "Once" in shown.text
    assert await world.count("needs") == before + 5


async def test_times_are_read_and_shown_in_the_organisations_time_zone(
    world: World, client: httpx.AsyncClient
) -> None:
    """An organisation in Asia/Kolkata (UTC+05:30, no summer time): the form's 10:30 is
    10:30 there, stored as 05:00 UTC, and every page shows it as 10:30 again."""
    t = await town(world)
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE organisations SET time_zone = 'Asia/Kolkata' WHERE id = :id"),
            {"id": t.org},
        )
    await sign_in(client, t.token)
    page = await client.get("/console/needs/new")
    assert "Asia/Kolkata time" in page.text
    day = (NOW + timedelta(days=2)).astimezone(ZoneInfo("Asia/Kolkata"))
    sent = need_form(
        t.programme, t.client, day=str(day.day), month=str(day.month), year=str(day.year)
    )
    done = await client.post("/console/needs/new", data=sent | {"_csrf_token": csrf_of(page.text)})
    assert done.status_code == 303, done.text[:2000]
    need_id = done.headers["location"].split("/")[-1].split("?")[0]
    auth = {"Authorization": f"Bearer {t.token}"}
    start = (await client.get(f"/v1/needs/{need_id}", headers=auth)).json()["windows"][0]["start"]
    assert datetime.fromisoformat(start).astimezone(UTC).strftime("%H:%M") == "05:00"
    shown = await client.get(f"/console/needs/{need_id}")
    assert "10:30 to 11:15" in shown.text
    posted = datetime.fromisoformat(
        (await client.get(f"/v1/needs/{need_id}", headers=auth)).json()["created_at"]
    ).astimezone(ZoneInfo("Asia/Kolkata"))
    assert f"at {posted:%H:%M}</time>" in shown.text  # the timeline's "Posted", there too
    listed = await client.get("/console/needs")
    assert "10:30 to 11:15" in listed.text


async def test_the_console_is_rate_limited_per_person_and_failures_per_address(
    world: World, settings: Settings, db: Db
) -> None:
    """A council office shares one address: a signed-in caseworker's pages count against
    their own bucket (once their session checks out), static files against nothing. A
    session cookie that does not check out is a failed sign-in for the address, cleared
    once; with none left, sign-in answers 429 before verifying anything, a good token too."""
    t = await town(world)
    limited = msgspec.structs.replace(settings, rate_limit_per_minute=60, rate_limit_burst=5)
    app = create_app(limited, database_url=db.app_url, system_database_url=db.owner_url)
    async with app.lifespan(), _browser(app, {}) as office, _browser(app, {}) as colleague:
        assert (await sign_in(office, t.token)).status_code == 303  # 2 of the address's 5
        css = "/static/govuk/govuk-frontend.min.css"
        assert {(await office.get(css)).status_code for _ in range(10)} == {200}
        pages = [(await office.get("/console/needs")).status_code for _ in range(6)]
        assert pages == [200, 200, 200, 200, 200, 429]  # the caseworker's own bucket

        codes = []
        for n in range(6):  # the same address, a fresh forged cookie each time
            colleague.cookies.set(COOKIE, f"forged-{n}", path="/console")
            answer = await colleague.get("/console/needs")
            codes.append(answer.status_code)
            if answer.status_code == 303:
                assert "codeliver_session=" in answer.headers["set-cookie"]  # cleared
                assert "Max-Age=0" in answer.headers["set-cookie"]
        assert codes == [303, 303, 303, 303, 303, 429]
        colleague.cookies.clear()
        form = await colleague.get("/console/sign-in")  # the address's third request
        assert form.status_code == 200
        refused = await colleague.post(
            "/console/sign-in", data={"id_token": t.token, "_csrf_token": csrf_of(form.text)}
        )
        assert refused.status_code == 429  # not verified, no session made
        assert int(refused.headers["retry-after"]) >= 1
        assert "Too many failed sign-ins from here" in refused.text
        assert 'href="#id_token"' in refused.text
        assert COOKIE not in colleague.cookies
