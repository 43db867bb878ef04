"""Report generation for a year of a 10,000-need programme (issue 16, part 4).

    .venv/bin/python -m bench.reports [--rounds 10]

Creates a scratch database in the cluster under .state/bench-pg and writes, as the owner, in
a few set-based statements: an organisation (`bench-reports`) with a coordinator, one
programme, 2,000 clients spread over Reading, 200 approved volunteers, four service areas
(three adjoining quarters of the borough and one small one about a single street, which the
k rule hides), and 10,000 needs created evenly through the year before now. 85% are filled
and completed, each with one completed assignment (30 to 120 minutes) and an outcome
(cycling through the six categories); the rest expired. Each need has three offers, one
accepted where it was filled. The year before it holds nothing: the previous period is
computed all the same.

Through `codeliver serve` (uvicorn, the app's pool and system login) in its own process on
127.0.0.1, with the coordinator's bearer token, for the whole year (365 days) of the
programme, each round in turn, warm-up discarded:
  summary  GET /v1/metrics/summary  (overall, per programme, previous period, areas)
  csv      GET /v1/metrics/needs.csv (10,000 rows)
  pdf      GET /v1/metrics/report.pdf
Every answer is checked: 200, the summary's 10,000 needs, the CSV's 10,001 lines, a PDF.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.tables import organisations, programmes, users
from app.seed import ensure_member
from bench.common import fresh_database, p50, pct, served, start_cluster, token

DATABASE = "bench_reports"
ORG = "bench-reports"
COORDINATOR = "bench-reports-coordinator"
NEEDS = 10_000
CLIENTS = 2_000
VOLUNTEERS = 200
YEAR = timedelta(days=365)

CLIENTS_SQL = text("""
INSERT INTO clients (org_id, name, location)
SELECT :org, 'Bench client ' || g,
       ST_SetSRID(ST_MakePoint(-1.02 + (g % 50) * 0.0016, 51.42 + (g / 50) * 0.0015), 4326)
  FROM generate_series(0, :n - 1) g
""")

AREAS_SQL = text("""
INSERT INTO service_areas (org_id, name, boundary)
VALUES (:org, 'West', ST_Multi(ST_MakeEnvelope(-1.03, 51.41, -0.98, 51.44, 4326))),
       (:org, 'East', ST_Multi(ST_MakeEnvelope(-0.98, 51.41, -0.93, 51.44, 4326))),
       (:org, 'North', ST_Multi(ST_MakeEnvelope(-1.03, 51.44, -0.93, 51.49, 4326))),
       (:org, 'One street', ST_Multi(ST_MakeEnvelope(-1.0201, 51.4199, -1.0199, 51.4201, 4326)))
""")

NEEDS_SQL = text("""
WITH c AS (SELECT id, location, row_number() OVER (ORDER BY name) - 1 AS n
             FROM clients WHERE org_id = :org),
s AS (SELECT g, CAST(:start AS timestamptz) + g * (CAST(:span AS interval) / CAST(:needs AS int))
               AS t, g % 100 < 85 AS filled
        FROM generate_series(0, CAST(:needs AS int) - 1) g)
INSERT INTO needs (org_id, programme_id, client_id, title, mode, location, coarse_location,
                   min_vetting, windows, duration_minutes, slots, filled, dispatch, status,
                   created_at, first_offer_at, filled_at, outcome, outcome_at)
SELECT :org, :programme, c.id, 'Bench need ' || s.g, 'in_person', c.location, c.location,
       'none', tstzmultirange(tstzrange(s.t + interval '1 day', s.t + interval '25 hours')),
       60, 1, s.filled::int, 'auto', CASE WHEN s.filled THEN 'completed' ELSE 'expired' END,
       s.t, s.t + interval '2 minutes',
       CASE WHEN s.filled THEN s.t + (s.g % 240) * interval '1 minute' END,
       CASE WHEN s.filled THEN (ARRAY['done', 'partly_done', 'not_home', 'not_needed',
                                      'referred', 'safeguarding_concern'])[1 + s.g % 6] END,
       CASE WHEN s.filled THEN s.t + interval '26 hours' END
  FROM s JOIN c ON c.n = s.g % :clients
""")

OFFERS_SQL = text("""
INSERT INTO offers (org_id, need_id, volunteer_id, wave, source, status, created_at, expires_at)
SELECT n.org_id, n.id, v.ids[1 + (k + (extract(epoch FROM n.created_at)::bigint / 60)) % :vols],
       1, 'cascade',
       CASE WHEN k = 0 AND n.filled = 1 THEN 'accepted' ELSE 'expired' END,
       n.first_offer_at, n.first_offer_at + interval '15 minutes'
  FROM needs n, generate_series(0, 2) k,
       (SELECT array_agg(user_id ORDER BY user_id) AS ids FROM volunteers) v
 WHERE n.org_id = :org
""")

ASSIGNMENTS_SQL = text("""
INSERT INTO assignments (org_id, need_id, volunteer_id, offer_id, status, accepted_at,
                         completed_at, minutes, ended_at)
SELECT o.org_id, o.need_id, o.volunteer_id, o.id, 'completed', n.filled_at,
       n.filled_at + interval '1 day', 30 + (extract(epoch FROM n.created_at)::bigint % 91),
       n.filled_at + interval '1 day'
  FROM offers o JOIN needs n ON n.id = o.need_id
 WHERE o.org_id = :org AND o.status = 'accepted'
""")

VOLUNTEER_SQL = text("""
INSERT INTO volunteers (user_id, display_name, home, max_travel_km, travel_mode,
                        max_hours_per_week, max_active_assignments, on_duty)
SELECT id, subject, ST_SetSRID(ST_MakePoint(-0.98, 51.45), 4326), 5, 'car', 10, 2, true
  FROM users WHERE subject LIKE 'bench-reports-volunteer-%'
""")


async def build(owner_url: str, now: datetime) -> str:
    """The organisation, its year, and the programme's id."""
    engine = create_async_engine(owner_url)
    async with engine.begin() as conn:
        await conn.execute(
            organisations.insert().values(slug=ORG, name="Bench reports", kind="council")
        )
        await ensure_member(conn, COORDINATOR, "Coordinator", ORG, "coordinator")
        for n in range(VOLUNTEERS):
            await ensure_member(conn, f"bench-reports-volunteer-{n}", f"V{n}", ORG, "volunteer")
        await conn.execute(
            text("UPDATE memberships SET status = 'approved' WHERE role = 'volunteer'")
        )
        await conn.execute(VOLUNTEER_SQL)
        org = await conn.scalar(select(organisations.c.id).where(organisations.c.slug == ORG))
        programme = await conn.scalar(
            programmes.insert()
            .values(org_id=org, name="Errands", kind="community_support")
            .returning(programmes.c.id)
        )
        await conn.execute(CLIENTS_SQL, {"org": org, "n": CLIENTS})
        await conn.execute(AREAS_SQL, {"org": org})
        await conn.execute(
            NEEDS_SQL,
            {
                "org": org,
                "programme": programme,
                "start": now - YEAR,
                "span": YEAR,
                "needs": NEEDS,
                "clients": CLIENTS,
            },
        )
        await conn.execute(OFFERS_SQL, {"org": org, "vols": VOLUNTEERS})
        await conn.execute(ASSIGNMENTS_SQL, {"org": org})
        assert await conn.scalar(select(users.c.id).where(users.c.subject == COORDINATOR))
    async with engine.connect() as conn:
        await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return str(programme)


async def main(rounds: int) -> None:
    cluster, state = start_cluster()
    await fresh_database(cluster, DATABASE)
    owner_url, app_url = state.url(owner=True, database=DATABASE), state.url(database=DATABASE)
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = time.perf_counter()
    programme = await build(owner_url, now)
    print(f"built {NEEDS:,} needs, {NEEDS * 3:,} offers in {time.perf_counter() - t0:.1f} s")
    headers = {"Authorization": f"Bearer {token(COORDINATOR)}"}
    params = {"programme": programme, "from": (now - YEAR).isoformat(), "to": now.isoformat()}
    samples: dict[str, list[float]] = {"summary": [], "csv": [], "pdf": []}
    sizes: dict[str, int] = {}
    async with served(app_url, owner_url) as client:
        for n in range(rounds + 1):
            for name, path in (
                ("summary", "/v1/metrics/summary"),
                ("csv", "/v1/metrics/needs.csv"),
                ("pdf", "/v1/metrics/report.pdf"),
            ):
                t = time.perf_counter()
                response = await client.get(path, params=params, headers=headers, timeout=120)
                took = time.perf_counter() - t
                assert response.status_code == 200, response.text[:300]
                if name == "summary":
                    assert response.json()["overall"]["needs"] == NEEDS
                elif name == "csv":
                    assert response.text.count("\r\n") == NEEDS + 1
                else:
                    assert response.content.startswith(b"%PDF-")
                sizes[name] = len(response.content)
                if n:  # the first round warms up
                    samples[name].append(took)
    print(f"{rounds} rounds after warm-up; a year of {NEEDS:,} needs, one programme")
    print(f"{'what':10} {'p50 ms':>9} {'max ms':>9} {'bytes':>10}")
    for name, taken in samples.items():
        print(f"{name:10} {p50(taken):9.1f} {pct(taken, 1.0):9.1f} {sizes[name]:10,}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    asyncio.run(main(parser.parse_args().rounds))
