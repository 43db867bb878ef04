"""The bulk (COPY) seed loads the same people as the small seed, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

import pytest
from rich.progress import Progress
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app import bulk_seed
from app.bulk_seed import BULK_SPAN_HORIZON, bulk_volunteers
from app.demo_population import TOWN_CENTRE, volunteer
from app.seed import ORGS, ensure_member, ensure_user, seed
from tests.support import Db

pytestmark = pytest.mark.anyio

PEOPLE = 3000
# Everything the small seed writes about a volunteer, ids left out.
PEOPLE_SQL = """
SELECT u.subject, u.display_name, u.email, v.display_name AS profile_name,
       ST_AsEWKT(v.home) AS home, v.max_travel_km, v.travel_mode, v.skills, v.languages,
       v.max_hours_per_week, v.max_active_assignments, v.time_zone, v.availability,
       (SELECT array_agg(concat_ws(':', o.slug, m.role, m.status) ORDER BY o.slug)
          FROM memberships m JOIN organisations o ON o.id = m.org_id
         WHERE m.user_id = u.id) AS memberships,
       (SELECT array_agg(concat_ws(':', o.slug, c.level, c.checked_on, c.expires_on,
                                   c.id_verified) ORDER BY o.slug)
          FROM vetting_checks c JOIN organisations o ON o.id = c.org_id
         WHERE c.user_id = u.id) AS vetting
FROM users u JOIN volunteers v ON v.user_id = u.id
WHERE u.subject LIKE 'demo-volunteer-%'
ORDER BY u.subject
"""
COUNTS_SQL = """
SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM volunteers),
       (SELECT count(*) FROM memberships), (SELECT count(*) FROM vetting_checks),
       (SELECT count(*) FROM volunteer_availability)
"""


@pytest.fixture
async def owner(db: Db) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(db.owner_url)
    yield engine
    await engine.dispose()


async def rows(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql))).all())


async def org_ids(engine: AsyncEngine) -> list[UUID]:
    async with engine.connect() as conn:
        ids = dict((await conn.execute(text("SELECT slug, id FROM organisations"))).all())
    return [ids[org.slug] for org in ORGS]


async def test_bulk_loads_the_small_seeds_people(
    db: Db, owner: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(db.owner_url, volunteers=PEOPLE, progress=False)  # the small path
    small = await rows(owner, PEOPLE_SQL)
    async with owner.begin() as conn:
        await conn.execute(
            text(
                "CREATE TABLE small_spans AS SELECT u.subject, a.span FROM users u"
                " JOIN volunteer_availability a ON a.user_id = u.id"
            )
        )
        await conn.execute(text("DELETE FROM users WHERE subject LIKE 'demo-volunteer-%'"))
    monkeypatch.setattr(bulk_seed, "CHUNK", 1000)  # several chunks, worker processes
    started = datetime.now(UTC)
    added = await bulk_volunteers(db.owner_url, range(PEOPLE), await org_ids(owner), None)
    finished = datetime.now(UTC)

    assert added == PEOPLE
    bulk = await rows(owner, PEOPLE_SQL)
    assert len(bulk) == len(small) == PEOPLE
    assert bulk == small
    assert {row.vetting[0].split(":")[1] for row in bulk} >= {"none", "basic", "enhanced_both"}
    assert {m.split(":")[2] for row in bulk for m in row.memberships} == {
        "approved",
        "pending",
        "suspended",
    }
    await assert_spans_agree(owner, started, finished)


async def assert_spans_agree(owner: AsyncEngine, started: datetime, finished: datetime) -> None:
    """Bulk spans are the small seed's, cut to the shorter horizon from when bulk ran."""
    spans = """
        SELECT u.subject, a.span FROM users u JOIN volunteer_availability a ON a.user_id = u.id
    """
    [(total, people, stray, missing)] = await rows(
        owner,
        f"""
        WITH bulk AS ({spans})
        SELECT (SELECT count(*) FROM bulk), (SELECT count(DISTINCT subject) FROM bulk),
            (SELECT count(*) FROM bulk b WHERE NOT EXISTS (
                SELECT FROM small_spans s WHERE s.subject = b.subject AND s.span @> b.span)),
            (SELECT count(*) FROM small_spans s
              WHERE lower(s.span) >= '{finished.isoformat()}'
                AND upper(s.span) <= '{(started + BULK_SPAN_HORIZON).isoformat()}'
                AND NOT EXISTS (SELECT FROM bulk b WHERE b.subject = s.subject
                                AND b.span = s.span))
        """,  # noqa: S608 - timestamps we made
    )
    # Not vacuous. From a Friday evening the 2-day horizon holds only the weekend: the
    # weekend, flexible and one-day-at-the-weekend patterns, about 46 % of the people
    # (1,367 of 3,000 at 20:19 UTC); every other start holds more.
    assert total > PEOPLE / 3
    assert people > PEOPLE / 3
    assert stray == 0
    assert missing == 0


async def test_a_second_run_adds_nothing(db: Db, owner: AsyncEngine) -> None:
    await seed(db.owner_url, volunteers=0, progress=False)
    [(users, _, memberships, _, _)] = await rows(owner, COUNTS_SQL)  # staff and admin
    orgs = await org_ids(owner)
    with Progress(disable=True) as bar:
        assert await bulk_volunteers(db.owner_url, range(500), orgs, bar) == 500
        first = await rows(owner, COUNTS_SQL)
        assert await bulk_volunteers(db.owner_url, range(500), orgs, bar) == 0
        assert await rows(owner, COUNTS_SQL) == first
        # A larger run adds only the people it did not have.
        assert await bulk_volunteers(db.owner_url, range(800), orgs, None) == 300
    expected = [
        volunteer(n, centre=TOWN_CENTRE, orgs=len(ORGS), today=date.today()) for n in range(800)
    ]
    joined = sum(len(p.orgs) for p in expected)
    [counts] = await rows(owner, COUNTS_SQL)
    assert counts[:4] == (users + 800, 800, memberships + joined, joined)
    assert counts[4] > 400  # spans


async def test_people_who_signed_in_before_keep_their_user(db: Db, owner: AsyncEngine) -> None:
    await seed(db.owner_url, volunteers=0, progress=False)
    async with owner.begin() as conn:
        alone = await ensure_user(conn, "demo-volunteer-0003", "Early bird")
        await ensure_member(conn, "demo-volunteer-0005", "Member", "reading-council", "volunteer")
    added = await bulk_volunteers(db.owner_url, range(10), await org_ids(owner), None)

    assert added == 10
    people = {row.subject: row for row in await rows(owner, PEOPLE_SQL)}
    assert len(people) == 10
    [(same_id,)] = await rows(
        owner,
        "SELECT u.id FROM users u JOIN volunteers v ON v.user_id = u.id"
        " WHERE u.subject = 'demo-volunteer-0003'",
    )
    assert same_id == alone
    assert "reading-council" in {m.split(":")[0] for m in people["demo-volunteer-0005"].memberships}


async def test_unknown_organisations_are_refused(db: Db) -> None:
    with pytest.raises(LookupError, match="no organisations"):
        await bulk_volunteers(db.owner_url, range(5), [UUID(int=1)], None)
