"""Demo casework for the synthetic borough: programmes of every kind, about 300 clients
and their needs (one-off, remote, group, crowd and weekly series). Deterministic ids make
re-running add nothing."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import Range, insert
from sqlalchemy.dialects.postgresql.ranges import MultiRange
from sqlalchemy.ext.asyncio import AsyncConnection

from app.db.tables import clients, needs, programmes
from app.needs.recurrence import occurrences
from geo.privacy import coarsen_location
from matching.cascade import first_step_at

NAMESPACE = uuid.UUID("5f0c6a8e-7d4b-4c1a-9a55-0c0de11ea5e5")
PROGRAMMES = {
    "council": [
        ("Prescription runs", "community_support", "basic"),
        ("Telephone befriending", "community_support", "none"),
        ("Youth court jury", "co_production", "standard"),
        ("Library redesign workshop", "co_design", "none"),
    ],
    "nhs_trust": [
        ("Home from hospital", "community_support", "enhanced_adults"),
        ("Patient records review", "co_production", "basic"),
    ],
    "charity": [
        ("Family mentoring", "family_intervention", "enhanced_children"),
        ("Dog walking for patients", "other", "none"),
    ],
}
FIRST = (
    "Ada",
    "Bilal",
    "Cerys",
    "Dorota",
    "Ewan",
    "Farah",
    "George",
    "Harpreet",
    "Iris",
    "Jonah",
    "Kofi",
    "Lena",
    "Mehmet",
    "Nia",
    "Owen",
    "Priya",
    "Rosa",
    "Sunil",
)
LAST = (
    "Ahmed",
    "Brown",
    "Clarke",
    "Dabrowski",
    "Evans",
    "Fraser",
    "Gill",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Murphy",
    "Nowak",
    "Okafor",
    "Patel",
    "Singh",
)
STREETS = (
    "Oxford Road",
    "London Street",
    "Basingstoke Road",
    "Whitley Street",
    "Caversham Road",
    "Tilehurst Road",
    "Wokingham Road",
    "Erleigh Road",
)
FLAGS = (
    "lives_alone",
    "mobility_impairment",
    "hearing_impairment",
    "animal_on_premises",
    "needs_interpreter",
)
CLIENTS_PER_ORG = 100
DEMO_OFFER_TIMEOUT_S = 900


def _id(*parts: object) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, "/".join(map(str, parts)))


async def ensure_programmes(conn: AsyncConnection, org_id: Any, kind: str) -> list[Any]:
    await conn.execute(
        insert(programmes).on_conflict_do_nothing(),
        [
            # The demo's volunteers answer ten times faster (CODELIVER_DEMO_RESPONDERS_SPEEDUP)
            # but offers lapse in real time: at 15 minutes its needs move within a visit.
            {
                "org_id": org_id,
                "name": name,
                "kind": pkind,
                "min_vetting": vetting,
                "offer_timeout_s": DEMO_OFFER_TIMEOUT_S,
            }
            for name, pkind, vetting in PROGRAMMES[kind]
        ],
    )
    return list(
        (
            await conn.execute(
                select(programmes).where(programmes.c.org_id == org_id).order_by(programmes.c.name)
            )
        ).all()
    )


def _client(
    rng: random.Random, org_slug: str, n: int, centre: tuple[float, float]
) -> dict[str, Any]:
    lat = round(centre[0] + rng.gauss(0, 0.02), 6)
    lon = round(centre[1] + rng.gauss(0, 0.03), 6)
    return {
        "id": _id(org_slug, "client", n),
        "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
        "phone": f"0118 496 {rng.randint(0, 9999):04d}",
        "address": f"{rng.randint(1, 240)} {rng.choice(STREETS)}, Reading",
        "location": f"SRID=4326;POINT({lon} {lat})",
        "safeguarding_flags": sorted(set(rng.sample(FLAGS, rng.randint(0, 2)))),
        "_lat": lat,
        "_lon": lon,
    }


def _window(rng: random.Random, today: date, hours: int = 3) -> tuple[datetime, datetime]:
    day = today + timedelta(days=rng.randint(1, 21))
    start = datetime(day.year, day.month, day.day, rng.choice((9, 10, 13, 15)), tzinfo=UTC)
    return start, start + timedelta(hours=hours)


def _need(
    programme: Any,
    client: dict[str, Any] | None,
    n: int,
    start: datetime,
    end: datetime,
    **extra: Any,
) -> dict[str, Any]:
    remote = client is None or extra.get("mode") == "remote"
    lat, lon = (client["_lat"], client["_lon"]) if client else (0.0, 0.0)
    clat, clon = coarsen_location(lat, lon)
    return {
        "id": _id(programme.id, "need", n, extra.get("series_index")),
        "org_id": programme.org_id,
        "programme_id": programme.id,
        "client_id": client["id"] if client else None,
        "title": programme.name,
        "mode": "remote" if remote else "in_person",
        "location": None if remote else f"SRID=4326;POINT({lon} {lat})",
        "coarse_location": None if remote else f"SRID=4326;POINT({clon} {clat})",
        "min_vetting": programme.min_vetting,
        "windows": MultiRange([Range(start, end)]),
        "duration_minutes": 60,
        "slots": 1,
        "dispatch": "auto",
        "status": "open",
        # every row carries every key: one executemany needs one shape
        "urgency": "normal",
        "series_id": None,
        "series_index": None,
        "recurrence": None,
        "continuity_same_as_last": False,
        # the embedded worker starts each cascade when its offers are due
        "next_step_at": first_step_at(start, datetime.now(UTC)),
        **extra,
    }


def needs_for(
    programme: Any, client: dict[str, Any], n: int, rng: random.Random, today: date
) -> list[dict[str, Any]]:
    """One client's needs under one programme, shaped by the programme's kind."""
    start, end = _window(rng, today)
    if programme.kind == "family_intervention" or "befriending" in programme.name.lower():
        rule = "FREQ=WEEKLY;COUNT=6"
        series = _id(programme.id, "series", n)
        mode = "remote" if "Telephone" in programme.name else "in_person"
        return [
            _need(
                programme,
                client,
                n,
                when,
                when + (end - start),
                mode=mode,
                series_id=series,
                series_index=i,
                recurrence=rule,
                continuity_same_as_last=True,
            )
            for i, when in enumerate(occurrences(rule, start, "Europe/London"))
        ]
    urgency = rng.choices(("normal", "high", "urgent"), weights=(7, 2, 1))[0]
    return [_need(programme, client, n, start, end, urgency=urgency)]


def group_needs(programme: Any, rng: random.Random, today: date) -> list[dict[str, Any]]:
    """Needs with no single client: a jury of 12, a workshop, a crowd need of 200."""
    start, end = _window(rng, today, hours=4)
    slots = {"co_production": 12, "co_design": 8}.get(programme.kind, 1)
    rows = [
        _need(
            programme, None, 0, start, end, slots=slots, dispatch="open_call", duration_minutes=180
        )
    ]
    if programme.kind == "co_production":
        rows.append(
            _need(
                programme,
                None,
                1,
                start,
                start + timedelta(days=7),
                slots=200,
                dispatch="open_call",
                title=f"{programme.name}: online needs",
            )
        )
    return rows


async def seed_casework(
    conn: AsyncConnection, org_id: Any, org_slug: str, kind: str, centre: tuple[float, float]
) -> None:
    rng = random.Random(org_slug)  # noqa: S311 - deterministic synthetic data
    today = datetime.now(UTC).date()
    progs = await ensure_programmes(conn, org_id, kind)
    people = [_client(rng, org_slug, n, centre) for n in range(CLIENTS_PER_ORG)]
    await conn.execute(
        insert(clients).on_conflict_do_nothing(),
        [
            {k: v for k, v in p.items() if not k.startswith("_")} | {"org_id": org_id}
            for p in people
        ],
    )
    casework = [p for p in progs if p.kind in ("community_support", "family_intervention", "other")]
    rows: list[dict[str, Any]] = []
    for n, person in enumerate(people):
        rows += needs_for(casework[n % len(casework)], person, n, rng, today)
    for programme in progs:
        if programme.kind in ("co_production", "co_design"):
            rows += group_needs(programme, rng, today)
    await conn.execute(insert(needs).on_conflict_do_nothing(), rows)
