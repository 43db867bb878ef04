"""Benchmark-scale demo volunteers by COPY: the small seed's people, a million in minutes."""

from __future__ import annotations

import asyncio
import io
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import msgspec
from rich.progress import Progress

from app.demo_population import TOWN_CENTRE, DemoVolunteer, volunteer
from app.identity.tokens import DEV_ISSUER
from app.volunteers.availability import Availability, expand
from geo.points import geography_point

CHUNK = 50_000  # people per transaction: memory stays flat and the progress bar moves
# Spans for the next 2 days, not SPAN_HORIZON's 8 weeks: every span is a GiST insert (the
# slowest row here) and the demo people have ~0.6 a day each. Measured for 200k people:
# 2 days 0.2M spans 19 s, 14 days 1.6M spans 31 s, so 14 days would put 1M at ~2.5 minutes
# and 8 weeks (~35M spans) far beyond. The worker's roll_spans_forward job extends everyone
# to SPAN_HORIZON later; pass span_horizon= to load more up front.
BULK_SPAN_HORIZON = timedelta(days=2)
# demo_population.volunteer is pure Python (~50 us a person): worker processes build chunks
# while PostgreSQL inserts earlier ones over LOADERS connections, so both cores stay busy;
# up to WORKERS + LOADERS chunks are in flight (~8 MB each).
WORKERS = 2
LOADERS = 2

# Per loader connection, emptied at each commit. Homes travel as lon/lat floats and become
# geography in SQL: measured cheaper overall than EWKT text or binary EWKB (shapely) COPY.
# New users get their id from the column default (gen_random_uuid), as in `users`.
STAGING = """
CREATE TEMP TABLE bulk_people (
    subject text NOT NULL, display_name text NOT NULL, known_id uuid,
    lon float8, lat float8, max_travel_km float8, travel_mode text, skills text[],
    languages text[], max_hours_per_week int2, max_active_assignments int2, pattern int2,
    orgs int2[], status text, vetting_level text, checked_on date,
    new_id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid GENERATED ALWAYS AS (coalesce(known_id, new_id)) STORED
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE bulk_patterns (pattern int2 PRIMARY KEY, availability jsonb NOT NULL)
    ON COMMIT DELETE ROWS;
CREATE TEMP TABLE bulk_spans (pattern int2 NOT NULL, span tstzrange NOT NULL)
    ON COMMIT DELETE ROWS;
"""
COPIED = (  # noqa: SIM905 - the columns COPY fills, in order; the ids come from SQL
    "subject display_name known_id lon lat max_travel_km travel_mode skills languages"
    " max_hours_per_week max_active_assignments pattern orgs status vetting_level checked_on"
).split()
# jit: compiling costs more than it saves on these statements. synchronous_commit: a crash
# loses the last chunks at most, and a re-run adds them. temp_buffers: a chunk's staging.
SETTINGS = {"jit": "off", "synchronous_commit": "off", "temp_buffers": "64MB"}
PREFIX = "demo-volunteer-"
ANY_PRESENT = "SELECT EXISTS (SELECT FROM users WHERE issuer = $1 AND subject LIKE $2 || '%')"
EXISTING = """
SELECT u.subject, u.id, EXISTS (SELECT FROM volunteers v WHERE v.user_id = u.id)
FROM users u WHERE u.issuer = $1 AND u.subject = ANY($2::text[])
"""
# Plain INSERTs: people already present were left out when the chunk was built, so a
# concurrent seed of the same people fails on a unique key instead of adding duplicates.
# In key order: each index is touched page by page (measured ~15% less server time at 1M).
USERS = """
INSERT INTO users (id, issuer, subject, display_name)
SELECT user_id, $1, subject, display_name FROM bulk_people WHERE known_id IS NULL
ORDER BY user_id
"""
VOLUNTEERS = f"""
INSERT INTO volunteers (user_id, display_name, home, max_travel_km, travel_mode, skills,
                        languages, max_hours_per_week, max_active_assignments, availability)
SELECT p.user_id, p.display_name, {geography_point("p.lat", "p.lon")},
       p.max_travel_km, p.travel_mode, p.skills, p.languages, p.max_hours_per_week,
       p.max_active_assignments, a.availability
FROM bulk_people p JOIN bulk_patterns a USING (pattern)
ORDER BY p.user_id
"""  # noqa: S608 (a geo SQL constant, no input)
MEMBERSHIPS = """
INSERT INTO memberships (org_id, user_id, role, status)
SELECT ($1::uuid[])[o.i + 1], p.user_id, 'volunteer', p.status
FROM bulk_people p CROSS JOIN unnest(p.orgs) AS o(i)
ORDER BY 1, 2
"""
# A user who was there before (`codeliver token --org ...`) may hold a membership already.
MEMBERSHIPS_OF_KNOWN = MEMBERSHIPS + "ON CONFLICT DO NOTHING"
VETTING = """
INSERT INTO vetting_checks (org_id, user_id, level, checked_on, id_verified, expires_on)
SELECT ($1::uuid[])[o.i + 1], p.user_id, p.vetting_level, p.checked_on,
       p.vetting_level <> 'none', (p.checked_on + interval '36 months')::date  -- as app.seed
FROM bulk_people p CROSS JOIN unnest(p.orgs) AS o(i)
ORDER BY 1, 2
"""
SPANS = """
INSERT INTO volunteer_availability (user_id, span)
SELECT p.user_id, s.span FROM bulk_people p JOIN bulk_spans s USING (pattern)
ORDER BY 1, 2
"""


@dataclass(frozen=True)
class Encoded:
    """One chunk of people as text-format COPY rows, built in a worker process."""

    rows: bytes
    count: int
    known: int  # people whose user row was there before
    patterns: list[bytes]  # availability JSON; a row's `pattern` column indexes this


def subject(n: int) -> str:
    return f"{PREFIX}{n:04d}"  # as demo_population.volunteer names them (checked in encode)


def encode(
    numbers: Sequence[int],
    known: dict[int, UUID],
    centre: tuple[float, float],
    orgs: int,
    today: date,
) -> Encoded:
    """Build the people and write them as COPY text: one f-string each, and no escaping
    needed (numbers, dates and demo_population's fixed vocabularies; checked below)."""
    patterns: dict[bytes, int] = {}
    lines = []
    for n in numbers:
        p = volunteer(n, centre=centre, orgs=orgs, today=today)
        if p.subject != subject(n):
            raise ValueError(f"demo_population names volunteer {n} {p.subject!r}")
        key = msgspec.json.encode(p.availability)
        lines.append(_line(p, known.get(n), patterns.setdefault(key, len(patterns))))
    text = "".join(lines)
    if "\\" in text:
        raise ValueError("a demo value needs COPY escaping, which bulk_seed does not do")
    return Encoded(text.encode(), len(lines), len(known), list(patterns))


def _line(p: DemoVolunteer, known: UUID | None, pattern: int) -> str:
    # An empty field is NULL (COPY ... NULL ''): only known_id and checked_on can be.
    return (
        f"{p.subject}\t{p.display_name}\t{known or ''}\t{p.lon}\t{p.lat}\t{p.max_travel_km}\t"
        f"{p.travel_mode}\t{{{','.join(p.skills)}}}\t{{{','.join(p.languages)}}}\t"
        f"{p.max_hours_per_week}\t{p.max_active_assignments}\t{pattern}\t"
        f"{{{','.join(map(str, p.orgs))}}}\t{p.status}\t{p.vetting_level}\t"
        f"{p.checked_on.isoformat() if p.checked_on is not None else ''}\n"
    )


async def bulk_volunteers(
    owner_url: str,
    numbers: range,
    org_ids: list[UUID],
    progress: Progress | None,
    *,
    centre: tuple[float, float] = TOWN_CENTRE,
    span_horizon: timedelta = BULK_SPAN_HORIZON,
) -> int:
    """Load the volunteers in `numbers` not yet present, with their memberships, vetting
    checks and availability spans, a chunk per transaction; returns how many were added.

    Worker processes are spawned: a script calling this needs `if __name__ == "__main__"`."""
    dsn = owner_url.replace("+asyncpg", "")
    conns: list[Any] = []
    try:
        for _ in range(1 + LOADERS):
            conns.append(await asyncpg.connect(dsn, server_settings=SETTINGS))
        await _check_organisations(conns[0], org_ids)
        for conn in conns[1:]:
            await _stage(conn)
        spans = _span_maker(datetime.now(UTC), span_horizon)
        load = _Loader(conns[1:], org_ids, spans, _advancer(progress, len(numbers)))
        added = await _load_all(conns[0], load, numbers, centre)
        if added:
            await conns[0].execute(
                "ANALYZE users, volunteers, memberships, vetting_checks, volunteer_availability"
            )
        return added
    finally:
        for conn in conns:
            await conn.close()


async def _check_organisations(conn: Any, org_ids: list[UUID]) -> None:
    found = await conn.fetch("SELECT id FROM organisations WHERE id = ANY($1::uuid[])", org_ids)
    if missing := set(org_ids) - {row[0] for row in found}:
        raise LookupError(f"no organisations with ids {sorted(map(str, missing))}")


async def _stage(conn: Any) -> None:
    await conn.execute(STAGING)
    if await conn.fetchval("SELECT current_setting('is_superuser') = 'on'"):
        # Foreign keys go unchecked, as in pg_restore: every row they reference is one the
        # same transaction inserts or an organisation checked above. Measured: checking
        # them made 200k people take 27 s instead of 16 s.
        await conn.execute("SET session_replication_role = replica")


async def _load_all(main: Any, load: _Loader, numbers: range, centre: tuple[float, float]) -> int:
    """Chunk by chunk: look up who is present, build the rest in a worker, then load it on
    the next free loader connection."""
    today, orgs = date.today(), len(load.org_ids)
    anyone = await main.fetchval(ANY_PRESENT, DEV_ISSUER, PREFIX)  # else skip the look-ups
    loads = []
    try:
        with _executor(len(numbers)) as pool:
            async with asyncio.TaskGroup() as group:
                for start in range(0, len(numbers), CHUNK):
                    await load.slots.acquire()
                    chunk = numbers[start : start + CHUNK]
                    todo, known = await _missing(main, chunk) if anyone else (chunk, {})
                    job = pool.submit(encode, todo, known, centre, orgs, today) if todo else None
                    loads.append(group.create_task(load(len(chunk), job)))
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from failed
    return sum(t.result() for t in loads)


async def _missing(conn: Any, chunk: range) -> tuple[list[int], dict[int, UUID]]:
    """The chunk's numbers without a volunteer yet, and the user ids of those who have one."""
    names = [subject(n) for n in chunk]
    rows = await conn.fetch(EXISTING, DEV_ISSUER, names)
    done = {name for name, _, is_volunteer in rows if is_volunteer}
    ids = {name: user_id for name, user_id, is_volunteer in rows if not is_volunteer}
    todo = [(n, name) for n, name in zip(chunk, names, strict=True) if name not in done]
    return [n for n, _ in todo], {n: ids[name] for n, name in todo if name in ids}


class _Loader:
    """Loads built chunks over a pool of connections, each holding the staging tables."""

    def __init__(
        self,
        conns: list[Any],
        org_ids: list[UUID],
        spans: Callable[[bytes], list[Any]],
        advance: Callable[[int], None],
    ) -> None:
        self.idle: asyncio.Queue[Any] = asyncio.Queue()
        for conn in conns:
            self.idle.put_nowait(conn)
        self.slots = asyncio.Semaphore(len(conns) + WORKERS)
        self.org_ids, self.spans, self.advance = org_ids, spans, advance

    async def __call__(self, size: int, job: Future[Encoded] | None) -> int:
        """Wait for the chunk to be built, load it, free its slot; returns people added."""
        try:
            added = await self._load(await asyncio.wrap_future(job)) if job else 0
        finally:
            self.slots.release()
        self.advance(size)
        return added

    async def _load(self, encoded: Encoded) -> int:
        conn = await self.idle.get()
        try:
            return await self._insert(conn, encoded)
        finally:
            self.idle.put_nowait(conn)

    async def _insert(self, conn: Any, encoded: Encoded) -> int:
        """Stage one chunk by COPY, then insert it into the real tables in one transaction."""
        async with conn.transaction():
            rows = io.BytesIO(encoded.rows)
            await conn.copy_to_table("bulk_people", source=rows, columns=COPIED, null="")
            patterns = list(enumerate(encoded.patterns))
            await conn.copy_records_to_table(
                "bulk_patterns", records=[(i, key.decode()) for i, key in patterns]
            )
            await conn.copy_records_to_table(
                "bulk_spans", records=[(i, s) for i, key in patterns for s in self.spans(key)]
            )
            await conn.execute(USERS, DEV_ISSUER)
            await conn.execute(VOLUNTEERS)
            await conn.execute(MEMBERSHIPS_OF_KNOWN if encoded.known else MEMBERSHIPS, self.org_ids)
            await conn.execute(VETTING, self.org_ids)
            await conn.execute(SPANS)
        return encoded.count


def _advancer(progress: Progress | None, total: int) -> Callable[[int], None]:
    if progress is None:
        return lambda _: None
    need = progress.add_task("Loading volunteers by COPY", total=total)
    return lambda people: progress.advance(need, people)


def _span_maker(now: datetime, horizon: timedelta) -> Callable[[bytes], list[Any]]:
    """Spans per availability pattern (the demo has a dozen), each expanded once."""

    @cache
    def spans(key: bytes) -> list[Any]:
        declared = msgspec.json.decode(key, type=Availability)
        return [asyncpg.Range(a, b) for a, b in expand(declared, now, now + horizon)]

    return spans


class _Inline(Executor):
    """Runs jobs right here: for loads too small to be worth starting worker processes."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except Exception as exc:
            done.set_exception(exc)
        return done


def _executor(people: int) -> Executor:
    if people <= CHUNK:
        return _Inline()
    # spawn, not fork: the children must not inherit this process's event loop or sockets.
    return ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"))
