"""Failover under load: the API through PgBouncer on the HA formation (infra/formation.py)
while volunteers sign up, a caseworker posts needs, volunteers race for slots and the worker
drains pushes; then a fault, and the figures.

    .venv/bin/python -m bench.failover [--fault failover|kill] [--seconds 20] [--racers 40]

The faults: `failover` (`pg_autoctl perform failover`: a secondary promoted, the primary
demoted) and `kill` (SIGKILL to the primary's postmaster). The app runs in-process over ASGI
(as tests/integration/test_database_restart.py), its embedded worker pushing through the log
transport. Checked during the load: the node PgBouncer sends writes to always names a
synchronous standby (sampled every 0.2 s). Checked after it: every write answered 2xx is in
the database, no need has more volunteers than slots, every committed outbox row was sent,
and clients saw only 2xx, 409, or 503s with Retry-After answered fast. Reported: the answers
by status, the slowest 503, and the recovery time (the fault's start to the first 2xx write
after it). The test suite runs a short version (tests/formation/test_failover.py).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg  # type: ignore[import-untyped]
import httpx
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.db.migrate import upgrade
from app.db.tables import (
    needs,
    offers,
    users,
    volunteers,
)
from app.factory import create_app
from app.identity.tokens import DevIssuer
from app.settings import Environment, Settings
from bench.failover_world import make_world
from infra import pooler
from infra.formation import Formation, FormationState
from infra.localdb import DATABASE

FAST_503_S = 10.0  # a 503 slower than this is a hang, not a fast refusal


@dataclass
class Figures:
    statuses: Counter[int] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)  # answers other than 2xx, 409, fast 503
    slowest_503_s: float = 0.0
    fault_at: float | None = None
    failed_at: float | None = None  # the first 503 after the fault began
    recovered_at: float | None = None  # the end of the first 2xx write begun after it
    signed_up: list[str] = field(default_factory=list)
    posted: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    overfilled: list[str] = field(default_factory=list)
    undelivered: int = 0
    scheduled: int = 0  # pending rows not yet due (reminders before an assignment starts)
    outbox_rows: int = 0
    # moments (sampled every 0.2 s) PgBouncer's primary had no synchronous standby named:
    # commits then return on one copy (pg_auto_failover's `wait_primary`)
    alone: list[str] = field(default_factory=list)

    @property
    def recovery_s(self) -> float | None:
        """The outage: the first failed write after the fault to the first 2xx after it."""
        if self.failed_at is None:
            return 0.0 if self.fault_at is not None else None
        return None if self.recovered_at is None else self.recovered_at - self.failed_at

    def problems(self) -> list[str]:
        found = [*self.bad, *(f"lost: {w}" for w in self.lost), *self.overfilled]
        found += [f"acknowledging alone: {a}" for a in self.alone[:3]]
        if self.undelivered:
            found.append(f"{self.undelivered} outbox rows never sent")
        if self.recovery_s is None:
            found.append("no 2xx write after the fault")
        return found

    def report(self) -> str:
        recovery = f"{self.recovery_s:.2f} s" if self.recovery_s is not None else "never"
        failed = (
            f"{self.failed_at - self.fault_at:.2f} s"
            if self.failed_at is not None and self.fault_at is not None
            else "never"
        )
        return (
            f"answers by status: {dict(sorted(self.statuses.items()))}\n"
            f"writes answered 2xx: {len(self.signed_up)} sign-ups, {len(self.posted)} needs, "
            f"{len(self.accepted)} accepts; lost: {len(self.lost)}\n"
            f"over-filled needs: {len(self.overfilled)}; outbox rows {self.outbox_rows} "
            f"(not due yet {self.scheduled}), due and never sent {self.undelivered}\n"
            f"slowest 503: {self.slowest_503_s:.2f} s; other answers: {len(self.bad)}\n"
            f"samples of PgBouncer's primary with no synchronous standby: {len(self.alone)}\n"
            f"first failure {failed} after the fault began; recovery (first failure to "
            f"first 2xx write): {recovery}"
        )


def app_settings(state_dir: Path, state: FormationState, database: str = DATABASE) -> Settings:
    return Settings(
        env=Environment.TEST,
        state_dir=state_dir,
        rate_limit_per_minute=0,
        log_level="ERROR",
        database_pooled=True,
        live_database_url=state.direct_url(database=database),
        db_pool_timeout_s=2.0,
        push_transport="log",
        push_poll_s=0.1,
    )


class Load:
    def __init__(self, client: httpx.AsyncClient, issuer: DevIssuer, figures: Figures) -> None:
        self.client, self.issuer, self.figures = client, issuer, figures
        self.stop = asyncio.Event()
        self.rng = random.Random(17)

    def headers(self, subject: str, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.issuer.issue(subject, ttl_s=900)}"}
        return headers | ({"Idempotency-Key": key} if key else {})

    async def call(self, method: str, path: str, **kw: Any) -> httpx.Response | None:
        """One request, retried while 503 (as a phone would, with its key); the answer."""
        while True:
            began = time.monotonic()
            try:
                r = await self.client.request(method, path, timeout=30, **kw)
            except httpx.TimeoutException:
                self.figures.bad.append(f"{method} {path}: no answer in 30 s")
                return None
            took = time.monotonic() - began
            self.figures.statuses[r.status_code] += 1
            if r.status_code == 503:
                f = self.figures
                if f.fault_at is not None and f.failed_at is None and began > f.fault_at:
                    f.failed_at = began
                self.figures.slowest_503_s = max(self.figures.slowest_503_s, took)
                if took > FAST_503_S or not r.headers.get("retry-after"):
                    self.figures.bad.append(f"{method} {path}: 503 in {took:.1f} s")
                await asyncio.sleep(0.2)
                continue
            if r.status_code not in {200, 201, 409}:
                self.figures.bad.append(f"{method} {path}: {r.status_code} {r.text[:200]}")
            elif r.status_code < 300 and self._first_after_failure(began):
                self.figures.recovered_at = time.monotonic()
            return r

    def _first_after_failure(self, began: float) -> bool:
        f = self.figures
        return f.failed_at is not None and f.recovered_at is None and began > f.failed_at

    async def signups(self, lane: int) -> None:
        n = 0
        while not self.stop.is_set():
            subject = f"signup-{lane}-{n}"
            body = {
                "display_name": subject,
                "home": {"lat": 51.45, "lon": -0.97},
                "max_travel_km": 5,
                "travel_mode": "walk",
            }
            headers = self.headers(subject, f"sign-up-{subject}")
            r = await self.call("POST", "/v1/volunteers/me", json=body, headers=headers)
            if r is not None and r.status_code == 201:
                self.figures.signed_up.append(subject)
            n += 1

    async def post_needs(self, world: dict[str, Any]) -> None:
        n = 0
        while not self.stop.is_set():
            day = world["start"] + timedelta(days=2, hours=n)
            body = {
                "programme_id": world["programme_id"],
                "title": f"Posted {n}",
                "mode": "remote",
                "windows": [
                    {"start": day.isoformat(), "end": (day + timedelta(hours=1)).isoformat()}
                ],
                "duration_minutes": 30,
            }
            headers = self.headers("case-a", f"need-{n}")
            r = await self.call("POST", "/v1/needs", json=body, headers=headers)
            if r is not None and r.status_code == 201:
                self.figures.posted.append(r.json()["need"]["id"])
            n += 1
            await asyncio.sleep(0.05)

    async def race(self, subject: str, offer_ids: list[UUID]) -> None:
        for offer_id in offer_ids:
            if self.stop.is_set():
                return
            await asyncio.sleep(self.rng.uniform(0, 0.3))
            r = await self.call(
                "POST", f"/v1/offers/{offer_id}/accept", headers=self.headers(subject)
            )
            if r is not None and r.status_code == 200:
                self.figures.accepted.append(str(offer_id))


async def watch_sync(formation: Formation, figures: Figures, stop: asyncio.Event) -> None:
    """Every 0.2 s: the synchronous_standby_names of the node PgBouncer sends the app's
    writes to, if it takes writes; empty is a problem (a commit returns on one copy)."""
    state = formation.state()
    assert state is not None
    ini = Path(state.data_root) / "pooler" / "pgbouncer.ini"
    began = time.monotonic()
    while not stop.is_set():
        port = pooler.target(ini)
        names = port and await asyncio.to_thread(
            pooler.psql,
            port,
            "SELECT current_setting('synchronous_standby_names') WHERE NOT pg_is_in_recovery()",
            user="postgres",
        )
        if names == "" and port is not None:  # None: not answering; "": in recovery or alone
            standby = await asyncio.to_thread(
                pooler.psql, port, "SELECT pg_is_in_recovery()", user="postgres"
            )
            if standby == "f":
                figures.alone.append(f"port {port} at {time.monotonic() - began:.1f} s")
        await asyncio.sleep(0.2)


_UNSENT = text(
    "SELECT count(*) FROM outbox WHERE status = 'dead'"
    " OR (status = 'pending' AND next_attempt_at <= now())"
)
_SCHEDULED = text(
    "SELECT count(*) FROM outbox WHERE status = 'pending' AND next_attempt_at > now()"
)


async def _check(owner: AsyncEngine, figures: Figures, drain_s: float = 30.0) -> None:
    async with owner.connect() as conn:
        present = set((await conn.execute(select(users.c.subject).join(volunteers))).scalars())
        figures.lost += [f"sign-up {s}" for s in figures.signed_up if s not in present]
        have = {str(i) for i in (await conn.execute(select(needs.c.id))).scalars()}
        figures.lost += [f"need {n}" for n in figures.posted if n not in have]
        taken = {
            str(i)
            for i in (
                await conn.execute(select(offers.c.id).where(offers.c.status == "accepted"))
            ).scalars()
        }
        figures.lost += [f"accept {o}" for o in figures.accepted if o not in taken]
        over = await conn.execute(
            text(
                "SELECT n.id, n.slots, n.filled, count(a.*) FROM needs n LEFT JOIN assignments a"
                " ON a.need_id = n.id AND a.status IN ('accepted', 'checked_in')"
                " GROUP BY n.id HAVING n.filled > n.slots OR count(a.*) > n.slots"
            )
        )
        figures.overfilled += [f"need {r[0]}: {r[3]} of {r[1]} slots" for r in over]
    end = time.monotonic() + drain_s
    while True:
        async with owner.connect() as conn:
            figures.outbox_rows = (
                await conn.scalar(select(func.count()).select_from(text("outbox"))) or 0
            )
            figures.undelivered = await conn.scalar(_UNSENT) or 0
            figures.scheduled = await conn.scalar(_SCHEDULED) or 0
        if not figures.undelivered or time.monotonic() > end:
            return
        await asyncio.sleep(0.5)


async def under_load(
    formation: Formation,
    state_dir: Path,
    *,
    fault: Callable[[], Awaitable[object]],
    seconds: float,
    racers: int,
    lanes: int = 4,
    database: str = DATABASE,
) -> Figures:
    """Load for `seconds`, the fault a third of the way in; the figures after the drain."""
    state = formation.state()
    primary = formation.primary(state)
    assert state is not None
    assert primary is not None
    if database != DATABASE and not formation.create_database(database):
        raise RuntimeError(f"cannot create the database {database}")
    await asyncio.to_thread(upgrade, state.node_url(primary, database=database))
    # The owner's checks go to whichever node is primary (several hosts: asyncpg's own URL).
    owner_dsn = state.direct_url(owner=True, database=database)
    owner = create_async_engine(
        "postgresql+asyncpg://",
        async_creator=lambda: asyncpg.connect(owner_dsn),
        pool_pre_ping=True,  # its connections to the old primary die in the fault
    )
    settings = app_settings(state_dir, state, database)
    figures = Figures()
    try:
        world = await make_world(owner, racers, need_count=12)
        app = create_app(
            settings,
            database_url=state.pooled_url(database=database),
            system_database_url=state.pooled_url(owner=True, database=database),
            embed_worker=True,
        )
        async with (
            app.lifespan(),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://f"
            ) as client,
        ):
            load = Load(client, DevIssuer(settings.state_dir / "dev-issuer.pem"), figures)

            async def run_fault() -> None:
                await asyncio.sleep(seconds / 3)
                figures.fault_at = time.monotonic()
                await fault()
                await asyncio.sleep(seconds * 2 / 3)
                load.stop.set()

            await asyncio.gather(
                run_fault(),
                watch_sync(formation, figures, load.stop),
                *(load.signups(lane) for lane in range(lanes)),
                load.post_needs(world),
                *(load.race(s, o) for s, o in world["offers"].items()),
            )
            await _check(owner, figures)
    finally:
        await owner.dispose()
    return figures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--fault", choices=["failover", "kill"], default="failover")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--racers", type=int, default=40)
    args = p.parse_args()
    root = Path(__file__).resolve().parent.parent / ".state" / "bench-formation"
    formation = Formation(root / "formation")
    began = time.monotonic()
    try:
        formation.up()
        print(f"formation up in {time.monotonic() - began:.1f} s", file=sys.stderr)
        action = formation.failover if args.fault == "failover" else formation.kill_primary
        figures = asyncio.run(
            under_load(
                formation,
                root / "app",
                fault=lambda: asyncio.to_thread(action),
                seconds=args.seconds,
                racers=args.racers,
            )
        )
    finally:
        formation.destroy()
    print(f"fault: {args.fault}\n{figures.report()}")
    for problem in figures.problems()[:20]:
        print(f"PROBLEM: {problem}")
    return 1 if figures.problems() else 0


if __name__ == "__main__":
    sys.exit(main())
