"""One clock, end to end: on a virtual clock set in 2031 the API and the worker decide at the
virtual instant, not at wall time; and no SQL function in the database reads the clock in a
deciding way (docs/decisions.md, "One clock")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from litestar import Litestar
from sqlalchemy import text

from app.clock import VirtualClock, register_clock
from app.needs import cascade
from matching.model import OfferPolicy
from tests.e2e.cascade_world import Casework, ctx, need, offers_of
from tests.support import World
from tests.unit.test_one_clock import CLOCK_READS

pytestmark = pytest.mark.anyio
__all__ = ["ctx"]  # the fixture, imported

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def _window(at: datetime, hours: int = 2) -> dict[str, str]:
    return {"start": at.isoformat(), "end": (at + timedelta(hours=hours)).isoformat()}


@pytest.fixture
async def clock(app: Litestar, world: World, ctx: Casework) -> VirtualClock:
    """The API's engine and the worker's on one virtual clock, the volunteers available
    around it (their spans were written around wall time)."""
    clock = VirtualClock(START)
    register_clock(app.state.engine, clock)
    register_clock(world.owner, clock)
    async with world.owner.begin() as conn:
        await conn.execute(
            text("UPDATE volunteer_availability SET span = tstzrange(:start, :end)"),
            {"start": START - timedelta(days=1), "end": START + timedelta(days=30)},
        )
    return clock


async def test_decisions_follow_the_virtual_clock_not_wall_time(
    client: httpx.AsyncClient, ctx: Casework, world: World, clock: VirtualClock
) -> None:
    # A window still ahead in wall time is in the past of the virtual clock: refused.
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    r = await client.post(
        "/v1/needs", headers=ctx.caseworker, json=need(ctx, windows=[_window(soon)])
    )
    assert r.status_code == 422, r.text
    assert "windows[0].end" in r.text

    r = await client.post(
        "/v1/needs",
        headers=ctx.caseworker,
        json=need(ctx, windows=[_window(START + timedelta(days=2))]),
    )
    assert r.status_code == 201, r.text
    need_id = r.json()["need"]["id"]
    first = await offers_of(client, ctx, need_id)
    assert len(first) == 2
    expires = {datetime.fromisoformat(o["expires_at"]) for o in first}
    timeout = timedelta(seconds=OfferPolicy().offer_timeout_s)  # the programme's default
    assert expires == {START + timeout}
    async with world.owner.connect() as conn:
        stamped = (
            await conn.execute(
                text(
                    "SELECT (SELECT min(next_attempt_at) FROM outbox),"
                    " (SELECT updated_at FROM needs WHERE id = :id)"
                ),
                {"id": need_id},
            )
        ).one()
    assert tuple(stamped) == (START, START)  # messages due, and the change recorded, then

    # The worker at the virtual instant: nothing has expired yet.
    await cascade.run_due(world.owner)
    assert {o["status"] for o in await offers_of(client, ctx, need_id)} == {"pending"}

    # The virtual clock passes the offers' expiry; wall time is years before it.
    lapsed = clock.advance(timeout + timedelta(seconds=1))
    assert datetime.now(UTC) < min(expires)
    vol = next(n for n, i in ctx.vols.items() if str(i) == first[0]["volunteer_id"])
    mine = await client.get("/v1/volunteers/me/offers", headers=world.headers(vol))
    assert mine.json()["items"] == []  # no longer waiting for their answer
    r = await client.post(f"/v1/offers/{first[0]['id']}/accept", headers=world.headers(vol))
    assert r.status_code == 409, r.text
    assert "expired" in r.text

    await cascade.run_due(world.owner)
    after = {o["id"]: o for o in await offers_of(client, ctx, need_id)}
    for o in first:
        assert after[o["id"]]["status"] == "expired"
        assert datetime.fromisoformat(after[o["id"]]["responded_at"]) == lapsed
    second = [o for o in after.values() if o["wave"] == 2]
    assert len(second) == 2
    assert all(o["status"] == "pending" for o in second)
    assert {datetime.fromisoformat(o["created_at"]) for o in second} <= {lapsed}


# SQL functions whose body reads the database clock, and why that is not a decision (or who
# is changing it). Each is checked as the migrations left it in the database.
FUNCTIONS_ALLOWED = {
    # Record-keeping of the login and of devices, outside the simulated world.
    "codeliver_claim_invitations": "invitations.claimed_at, when a login claimed it",
    "codeliver_register_device": "devices.last_seen_at, when the app last registered",
    # An operations figure (the metrics scrape): how old the snapshots are in real time.
    "codeliver_coverage_snapshot_ages": "metrics, not a decision",
    # Callers' rate limits across API processes: real time, as the per-process buckets'.
    "codeliver_rate_spend": "rate limits refill in real time, not the simulated world's",
    "codeliver_rate_prune": "forgetting idle rate limits, in real time",
}


async def test_no_sql_function_reads_the_clock(world: World) -> None:
    async with world.owner.connect() as conn:
        functions = (
            await conn.execute(
                text(
                    "SELECT p.proname, p.prosrc FROM pg_proc p"
                    " JOIN pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname = 'public' AND p.proname LIKE 'codeliver%'"
                )
            )
        ).all()
    assert functions
    reading = {f.proname for f in functions if CLOCK_READS.search(f.prosrc)}
    assert reading <= set(FUNCTIONS_ALLOWED), reading - set(FUNCTIONS_ALLOWED)
    assert set(FUNCTIONS_ALLOWED) <= reading, "stale entries: " + ", ".join(
        sorted(set(FUNCTIONS_ALLOWED) - reading)
    )
