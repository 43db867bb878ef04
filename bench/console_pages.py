"""Server time per console page beside the JSON endpoints it mirrors (issue 15).

    .venv/bin/python -m bench.console_pages [--requests 200]

Creates a scratch database in the cluster under .state/bench-pg, seeds the demo borough (for
its volunteers), and adds an organisation of its own, `bench-console`, with a caseworker,
one programme, one client, 400 of the demo volunteers as approved members and exactly 500
needs. Two of them have a long history, written as the owner the way tests/scenario.py
writes one: 18 cascade waves of 10 offers (180), 179 answered (every third declined with a
reason, the rest expired), the last accepted and held as an assignment. Their timelines
have 199 entries (posted, 18 "offered to 10", 179 answers, the assignment); their window
is the hour from tomorrow on at which most members' availability starts:
  filled   1 slot, filled: takes no offers, so the page lists no candidates
  open     2 slots, 1 filled: the page also ranks and lists 10 candidates

Everything goes through `codeliver serve` (uvicorn, uvloop, httptools, the app's pool and
its system login) in its own process on 127.0.0.1, console and API alike, from one httpx
keep-alive client: the console signed in as a browser is (the sign-in form's CSRF token,
a development token posted to /console/sign-in, the `codeliver_session` cookie), the API
with the same caseworker's bearer token and `X-Access-Reason: caseworker console` (the
console's audit reason). In one loop, warm-up discarded, the order rotating each round, for
each pair the page and then the JSON calls that return what the page reads (their sum per
round is "JSON sum"; its p50 is what the page is held to, within 1.5x):
  need (filled)  GET /console/needs/{id} beside the sum of GET /v1/needs/{id},
                 /v1/programmes/{programme_id}, /v1/needs/{id}/offers and
                 /v1/needs/{id}/assignments (need_views._need_context's reads; its
                 volunteer_names for the assignments has no twin: the offers carry names)
  need (open)    the same, plus GET /v1/needs/{id}/candidates?limit=10 (the page's 10)
  needs list     GET /console/needs (20 needs a page, views.PAGE_SIZE, under the work queue
                 of up to 10) beside GET /v1/needs?limit=20, /v1/programmes?limit=200
                 (the page's programme names) and /v1/needs/attention?limit=10 (its queue)
  list, open     GET /console/needs?status=open (no work queue) beside
                 GET /v1/needs?status=open&limit=20 plus /v1/programmes?limit=200
Every response is checked: 200, and the page's title, timeline entries, candidate rows or
table rows (the same ids as the JSON's page), the JSON's counts. For where a page's time
goes, the same round also times, in this process on its own engine, the page's use case
(`need_views.need_page`, `views.needs_page`: one tenant transaction) and rendering its
template with the app's Jinja environment (no HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import Range, insert
from sqlalchemy.dialects.postgresql.ranges import MultiRange
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from app.console import need_views, views
from app.console.templating import template_config
from app.db.engine import create_engine
from app.db.tables import (
    assignments,
    clients,
    memberships,
    needs,
    offers,
    organisations,
    programmes,
    volunteer_availability,
    volunteers,
)
from app.db.tenancy import register_system
from app.identity.sessions import COOKIE
from app.identity.tokens import DEV_ISSUER, TokenIdentity
from app.needs.status import NeedStatus
from app.seed import ensure_member
from app.seed import seed as seed_demo
from bench.common import fresh_database, p50, pct, served, settings, start_cluster, token
from geo.privacy import coarsen_location

DATABASE = "bench_console"
ORG = "bench-console"
CASEWORKER = "bench-console-caseworker"
REASON = need_views.REASON  # the console's audit reason, sent by the JSON side too
DEMO_VOLUNTEERS = 1000
MEMBERS = 400  # demo volunteers made approved members of the bench organisation
WAVES, PER_WAVE = 18, 10
OFFERS = WAVES * PER_WAVE
ENTRIES = 1 + WAVES + (OFFERS - 1) + 1  # posted, waves, answers, the assignment
LIST_NEEDS = 500
PAGE = views.PAGE_SIZE
QUEUE = views.QUEUE_SIZE
TARGET = 1.5
READING = (51.4543, -0.9781)
CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
LIST_ROW = re.compile(
    r'<td class="govuk-table__cell"><a class="govuk-link" href="/console/needs/([0-9a-f-]{36})"'
)


def point(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon} {lat})"


# --- the data -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Town:
    programme: uuid.UUID
    filled: uuid.UUID  # the two needs with a long history
    open: uuid.UUID


async def _organisation(conn: AsyncConnection) -> tuple[Any, Any, Any]:
    """The bench organisation, its caseworker, programme and client; (org, programme, client)."""
    org = await conn.scalar(
        insert(organisations)
        .values(slug=ORG, name="Bench console (synthetic)", kind="council")
        .returning(organisations.c.id)
    )
    await ensure_member(conn, CASEWORKER, "Bench Caseworker", ORG, "caseworker")
    programme = await conn.scalar(
        insert(programmes)
        .values(org_id=org, name="Errands", kind="community_support")
        .returning(programmes.c.id)
    )
    client = await conn.scalar(
        insert(clients)
        .values(org_id=org, name="A Client", location=point(*READING))
        .returning(clients.c.id)
    )
    people = (
        await conn.execute(
            select(volunteers.c.user_id).order_by(volunteers.c.user_id).limit(MEMBERS)
        )
    ).scalars()
    await conn.execute(
        insert(memberships),
        [{"org_id": org, "user_id": p, "role": "volunteer", "status": "approved"} for p in people],
    )
    return org, programme, client


def _need_row(
    org: Any, programme: Any, client: Any, start: datetime, **values: Any
) -> dict[str, Any]:
    return {
        "org_id": org,
        "programme_id": programme,
        "client_id": client,
        "title": "Bench: a need",
        "mode": "in_person",
        "location": point(*READING),
        "coarse_location": point(*coarsen_location(*READING)),
        "min_vetting": "none",
        "windows": MultiRange([Range(start, start + timedelta(hours=4))]),
        "duration_minutes": 60,
        "slots": 1,
        "filled": 0,
        "dispatch": "auto",
        "status": "open",
    } | values


async def _busiest_hour(conn: AsyncConnection, org: Any) -> datetime:
    """The hour, from tomorrow on, at which most of the organisation's volunteers start being
    available: the open need's window, so that its page has candidates to list."""
    starts = func.date_trunc("hour", func.lower(volunteer_availability.c.span))
    stmt = (
        select(starts)
        .join(memberships, memberships.c.user_id == volunteer_availability.c.user_id)
        .where(
            memberships.c.org_id == org,
            memberships.c.role == "volunteer",
            func.lower(volunteer_availability.c.span) > func.now() + timedelta(days=1),
        )
        .group_by(starts)
        .order_by(func.count().desc(), starts)
        .limit(1)
    )
    found: datetime = (await conn.execute(stmt)).scalar_one()
    return found


async def _history(
    conn: AsyncConnection,
    org: Any,
    programme: Any,
    client: Any,
    *,
    slots: int,
    now: datetime,
    start: datetime,
) -> Any:
    """A need posted 6 hours ago, offered in 18 waves of 10, one accepted; its id."""
    posted = now - timedelta(hours=6)
    waves = [posted + timedelta(minutes=5 + 15 * w) for w in range(WAVES)]
    accepted_at = waves[-1] + timedelta(minutes=4)
    status = "filled" if slots == 1 else "partially_filled"
    title = f"Bench: a long history, {status.replace('_', ' ')}"
    row = _need_row(
        org,
        programme,
        client,
        start,
        title=title,
        slots=slots,
        filled=1,
        status=status,
        waves_sent=WAVES,
        first_offer_at=waves[0],
        filled_at=accepted_at if slots == 1 else None,
        created_at=posted,
        updated_at=accepted_at,
        status_changed_at=accepted_at,
    )
    need = await conn.scalar(insert(needs).values(**row).returning(needs.c.id))
    people = (
        await conn.execute(
            select(memberships.c.user_id)
            .where(memberships.c.org_id == org, memberships.c.role == "volunteer")
            .order_by(memberships.c.user_id)
            .limit(OFFERS)
        )
    ).scalars()
    rows = []
    for n, person in enumerate(people):
        made = waves[n // PER_WAVE]
        answer: dict[str, Any] = {"status": "expired", "responded_at": made + timedelta(minutes=15)}
        if n == OFFERS - 1:
            answer = {"status": "accepted", "responded_at": accepted_at}
        elif n % 3 == 0:
            answer = {
                "status": "declined",
                "responded_at": made + timedelta(minutes=1 + n % PER_WAVE),
                "decline_reason": "Not free that day, sorry",
            }
        rows.append(
            {
                "org_id": org,
                "need_id": need,
                "volunteer_id": person,
                "wave": n // PER_WAVE + 1,
                "source": "cascade",
                "score": 1.0 - n / OFFERS,
                "created_at": made,
                "expires_at": made + timedelta(minutes=15),
                "decline_reason": None,
            }
            | answer
        )
    assert len(rows) == OFFERS, f"only {len(rows)} volunteers to offer it to"
    await conn.execute(insert(offers), rows)
    taken = (
        await conn.execute(
            select(offers.c.id, offers.c.volunteer_id).where(
                offers.c.need_id == need, offers.c.status == "accepted"
            )
        )
    ).one()
    await conn.execute(
        insert(assignments).values(
            org_id=org,
            need_id=need,
            volunteer_id=taken.volunteer_id,
            offer_id=taken.id,
            accepted_at=accepted_at,
        )
    )
    return need


def _list_needs(org: Any, programme: Any, client: Any, now: datetime) -> list[dict[str, Any]]:
    """The other 498: open, open, filled, cancelled in turn, every 25th escalated, made over
    the last 30 days, their windows from 2 hours ahead on (so some start within the day and
    the work queue has more than it shows)."""
    rows = []
    for n in range(LIST_NEEDS - 2):
        kind = ("open", "open", "filled", "cancelled")[n % 4]
        values: dict[str, Any] = {
            "title": f"Bench: list need {n}",
            "status": kind,
            "filled": 1 if kind == "filled" else 0,
            "cancel_reason": "No longer needed" if kind == "cancelled" else None,
            "escalated_at": now - timedelta(hours=1) if n % 25 == 0 else None,
            "escalation_reason": "waves_exhausted" if n % 25 == 0 else None,
            "created_at": now - timedelta(days=30) + timedelta(minutes=10 * n),
        }
        at = now + timedelta(hours=2 + 1.5 * n)
        rows.append(_need_row(org, programme, client, at, **values))
    return rows


async def build(owner_url: str) -> Town:
    """The bench organisation with its 500 needs, two of them with long histories."""
    await seed_demo(owner_url, volunteers=DEMO_VOLUNTEERS, progress=False)
    engine = create_async_engine(owner_url)
    now = datetime.now(UTC)
    try:
        async with engine.begin() as conn:
            org, programme, client = await _organisation(conn)
            start = await _busiest_hour(conn, org)
            filled = await _history(conn, org, programme, client, slots=1, now=now, start=start)
            open_ = await _history(conn, org, programme, client, slots=2, now=now, start=start)
            await conn.execute(insert(needs), _list_needs(org, programme, client, now))
            count = await conn.scalar(select(func.count()).where(needs.c.org_id == org))
            assert count == LIST_NEEDS, count
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()
    return Town(programme, filled, open_)


# --- the measurement ------------------------------------------------------------------------

Check = Callable[[httpx.Response], None]


@dataclass(frozen=True)
class Call:
    label: str
    url: str
    check: Check
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Pair:
    """A console page and the JSON calls that mirror its reads; the in-process breakdown."""

    name: str
    page: Call
    json: list[Call]
    reads: Callable[[], Awaitable[dict[str, Any]]]  # the page's use case, in this process
    template: str


def ok(response: httpx.Response, kind: str) -> None:
    assert response.status_code == 200, (response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith(kind), response.headers["content-type"]


def need_page(title: str, candidates: int) -> Check:
    def check(response: httpx.Response) -> None:
        ok(response, "text/html")
        body = response.text
        assert f'<h1 class="govuk-heading-l">{html.escape(title)}</h1>' in body
        assert body.count('data-kind="') == ENTRIES, body.count('data-kind="')
        assert body.count('name="volunteer"') == candidates, body.count('name="volunteer"')

    return check


def list_page(ids: list[str], *, queue: bool) -> Check:
    def check(response: httpx.Response) -> None:
        ok(response, "text/html")
        assert ('id="queue"' in response.text) == queue, "the work queue (not) shown"
        assert LIST_ROW.findall(response.text) == ids, LIST_ROW.findall(response.text)

    return check


def json_len(count: int, key: str | None = None) -> Check:
    def check(response: httpx.Response) -> None:
        ok(response, "application/json")
        body = response.json()
        assert len(body[key] if key else body) == count, len(body[key] if key else body)

    return check


def json_id(expected: uuid.UUID) -> Check:
    def check(response: httpx.Response) -> None:
        ok(response, "application/json")
        assert response.json()["id"] == str(expected)

    return check


def json_queue(response: httpx.Response) -> None:
    ok(response, "application/json")
    assert len(response.json()["items"]) <= QUEUE, response.json()


def json_page(ids: list[str]) -> Check:
    def check(response: httpx.Response) -> None:
        ok(response, "application/json")
        assert [n["id"] for n in response.json()["items"]] == ids

    return check


async def sign_in(client: httpx.AsyncClient) -> None:
    """As a browser: the form (its CSRF cookie and field), then the development token."""
    form = await client.get("/console/sign-in")
    found = CSRF_FIELD.search(form.text)
    assert form.status_code == 200, form.status_code
    assert found, "no CSRF field on the sign-in form"
    data = {"id_token": token(CASEWORKER), "_csrf_token": found.group(1)}
    answer = await client.post("/console/sign-in", data=data)
    assert answer.status_code == 303, (answer.status_code, answer.text[:500])
    assert COOKIE in client.cookies, "no session cookie"


async def pairs(
    client: httpx.AsyncClient, headers: dict[str, str], town: Town, db: AsyncEngine
) -> list[Pair]:
    """What each page reads and its JSON twins, with the checks its answers must pass."""
    me = TokenIdentity(issuer=DEV_ISSUER, subject=CASEWORKER)
    ranked = await client.get(
        f"/v1/needs/{town.open}/candidates", params={"limit": 10}, headers=headers
    )
    ok(ranked, "application/json")
    shown = len(ranked.json())
    assert shown == 10, f"the open need has {shown} candidates, not 10"
    found = []
    for status in (None, "open"):
        params = {"limit": PAGE} | ({"status": status} if status else {})
        listed = await client.get("/v1/needs", params=params, headers=headers)
        json_len(PAGE, "items")(listed)
        assert listed.json()["next_cursor"], "500 needs fill more than one page"
        found.append([n["id"] for n in listed.json()["items"]])
    programme = Call(
        "/v1/programmes/{id}", f"/v1/programmes/{town.programme}", json_id(town.programme)
    )
    names = Call("/v1/programmes?limit=200", "/v1/programmes", json_len(1, "items"), {"limit": 200})

    def need_pair(name: str, need: uuid.UUID, title: str, candidates: int | None) -> Pair:
        """`candidates`: how many the page lists, or None when it ranks none (takes no offers)."""
        twins = [
            Call("/v1/needs/{id}", f"/v1/needs/{need}", json_id(need)),
            programme,
            Call("/v1/needs/{id}/offers", f"/v1/needs/{need}/offers", json_len(OFFERS)),
            Call("/v1/needs/{id}/assignments", f"/v1/needs/{need}/assignments", json_len(1)),
        ]
        if candidates is not None:
            url = f"/v1/needs/{need}/candidates"
            twins.append(
                Call("/v1/needs/{id}/candidates", url, json_len(candidates), {"limit": 10})
            )
        return Pair(
            name,
            Call("page", f"/console/needs/{need}", need_page(title, candidates or 0)),
            twins,
            lambda: need_views.need_page(db, me, need),
            "need.html.j2",
        )

    everything, opened = found
    return [
        need_pair("need (filled)", town.filled, "Bench: a long history, filled", None),
        need_pair("need (open)", town.open, "Bench: a long history, partially filled", shown),
        Pair(
            "needs list",
            Call("page", "/console/needs", list_page(everything, queue=True)),
            [
                Call("/v1/needs?limit=20", "/v1/needs", json_page(everything), {"limit": PAGE}),
                names,
                Call(
                    "/v1/needs/attention?limit=10",
                    "/v1/needs/attention",
                    json_queue,
                    {"limit": QUEUE},
                ),
            ],
            lambda: views.needs_page(db, me, None, None),
            "needs.html.j2",
        ),
        Pair(
            "list, open",
            Call("page", "/console/needs", list_page(opened, queue=False), {"status": "open"}),
            [
                Call(
                    "/v1/needs?status=open&limit=20",
                    "/v1/needs",
                    json_page(opened),
                    {"status": "open", "limit": PAGE},
                ),
                names,
            ],
            lambda: views.needs_page(db, me, NeedStatus.OPEN, None),
            "needs.html.j2",
        ),
    ]


Step = Callable[[], Awaitable[dict[str, float]]]


def steps(client: httpx.AsyncClient, headers: dict[str, str], pair: Pair) -> list[Step]:
    engine = template_config().instance
    assert engine is not None
    template = engine.get_template(pair.template)
    extra = {"done": None, "signed_in": True, "csrf_input": "", "request": None}

    async def get(call: Call, with_headers: dict[str, str]) -> float:
        t0 = time.perf_counter()
        response = await client.get(call.url, params=call.params, headers=with_headers)
        elapsed = time.perf_counter() - t0
        call.check(response)  # after the clock: the client's parsing is not the server's
        return elapsed

    async def page() -> dict[str, float]:
        return {f"{pair.name}: page": await get(pair.page, {})}

    async def twins() -> dict[str, float]:
        times = {f"{pair.name}:   {c.label}": await get(c, headers) for c in pair.json}
        return times | {f"{pair.name}: JSON sum": sum(times.values())}

    async def breakdown() -> dict[str, float]:
        t0 = time.perf_counter()
        context = await pair.reads()
        t1 = time.perf_counter()
        rendered = template.render(**context, **extra)
        t2 = time.perf_counter()
        assert "</html>" in rendered
        return {
            f"{pair.name}: use case, in process": t1 - t0,
            f"{pair.name}: render, in process": t2 - t1,
        }

    return [page, twins, breakdown]


async def measure(
    client: httpx.AsyncClient, headers: dict[str, str], found: list[Pair], requests: int
) -> dict[str, list[float]]:
    round_ = [step for pair in found for step in steps(client, headers, pair)]
    samples: dict[str, list[float]] = {}
    warmup = min(50, max(5, requests // 10))
    for i in range(requests + warmup):
        shift = i % len(round_)  # rotate who goes first
        for step in round_[shift:] + round_[:shift]:
            for name, seconds in (await step()).items():
                if i >= warmup:
                    samples.setdefault(name, []).append(seconds)
    return samples


def report(found: list[Pair], samples: dict[str, list[float]]) -> list[str]:
    width = max(len(name) for name in samples)
    lines = [f"{'what':<{width}} {'p50 ms':>8} {'p99 ms':>8}"]
    order = [
        f"{pair.name}: {row}"
        for pair in found
        for row in (
            "page",
            "JSON sum",
            *(f"  {c.label}" for c in pair.json),
            "use case, in process",
            "render, in process",
        )
    ]
    for name in order:
        values = samples[name]
        lines.append(f"{name:<{width}} {p50(values):8.2f} {pct(values, 0.99):8.2f}")
    lines.append("")
    for pair in found:
        ratio = p50(samples[f"{pair.name}: page"]) / p50(samples[f"{pair.name}: JSON sum"])
        verdict = "met" if ratio <= TARGET else "MISSED"
        lines.append(
            f"{pair.name:<14} page p50 / JSON sum p50 = {ratio:.2f} (target <= {TARGET}): {verdict}"
        )
    return lines


async def main(requests: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    owner_url, app_url = state.url(owner=True, database=DATABASE), state.url(database=DATABASE)
    town = await build(owner_url)
    db, system = create_engine(app_url, settings()), create_engine(owner_url, settings())
    register_system(db, system)  # as the app factory does: the candidate search's login
    headers = {"Authorization": f"Bearer {token(CASEWORKER)}", "X-Access-Reason": REASON}
    try:
        async with served(app_url, owner_url) as client:
            await sign_in(client)
            found = await pairs(client, headers, town, db)
            samples = await measure(client, headers, found, requests)
    finally:
        await db.dispose()
        await system.dispose()
    print(f"{requests} rounds after warm-up; {ENTRIES} timeline entries, {LIST_NEEDS} needs")
    print("\n".join(report(found, samples)), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(main(parser.parse_args().requests))
