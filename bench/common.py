"""What every benchmark shares: a scratch cluster and database, the app's settings and tokens,
a real uvicorn serving the app on 127.0.0.1, and percentiles."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import ClauseElement
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg

from app.db.migrate import upgrade
from app.identity.tokens import DevIssuer
from app.settings import Environment, Settings
from infra.localdb import ClusterState, LocalCluster, free_port

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / ".state" / "bench-pg"
STATE = ROOT / ".state" / "bench"
CASEWORKER = "demo-caseworker-reading-council"
_ASYNCPG = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


def pct(samples: list[float], q: float) -> float:
    """The q-quantile of samples in seconds, in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def p50(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def settings() -> Settings:
    return Settings(
        env=Environment.TEST, state_dir=STATE, rate_limit_per_minute=0, log_level="WARNING"
    )


def token(subject: str) -> str:
    return DevIssuer(settings().state_dir / "dev-issuer.pem").issue(subject, ttl_s=3600)


def start_cluster() -> tuple[LocalCluster, ClusterState]:
    cluster = LocalCluster(CLUSTER, durable=False)
    return cluster, cluster.start()


async def fresh_database(cluster: LocalCluster, name: str) -> None:
    """An empty, migrated database `name` in the scratch cluster (dropped first if there)."""
    state = cluster.state()
    assert state is not None
    await asyncio.to_thread(cluster.drop_database, name)
    await asyncio.to_thread(cluster.create_database, name)
    url = state.url(owner=True, database=name)
    await asyncio.to_thread(upgrade, url)  # Alembic runs its own loop


def dsn(url: str) -> str:
    """A SQLAlchemy URL as asyncpg wants it."""
    return url.replace("+asyncpg", "")


@asynccontextmanager
async def served(database_url: str, system_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app as production runs it (`codeliver serve`: uvicorn, uvloop, httptools) in its
    own process on 127.0.0.1, with its system login but without the background worker; a
    keep-alive client for it."""
    async with served_process(database_url, system_url) as (client, _):
        yield client


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds the process `pid` has used so far (Linux's /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def served_process(
    database_url: str, system_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, int]]:
    """`served`, with the server's process id (to read the CPU it spends: `cpu_seconds`)."""
    port = free_port()
    env = {
        **os.environ,
        "CODELIVER_ENV": Environment.TEST.value,
        "CODELIVER_DATABASE_URL": database_url,
        "CODELIVER_MIGRATION_DATABASE_URL": system_url,
        "CODELIVER_STATE_DIR": str(STATE),
        "CODELIVER_RATE_LIMIT_PER_MINUTE": "0",
        "CODELIVER_LOG_LEVEL": "WARNING",
    }
    cmd = [sys.executable, "-m", "app", "serve", "--no-worker", "--host", "127.0.0.1"]
    with _process([*cmd, "--port", str(port)], env) as server:
        # Idle connections expire before uvicorn closes them (5 s): no reuse of a dead one.
        limits = httpx.Limits(
            max_connections=400, max_keepalive_connections=400, keepalive_expiry=2
        )
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30
        ) as client:
            await _wait_live(client, server)
            yield client, server.pid


@contextmanager
def _process(cmd: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    server = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        yield server
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


async def _wait_live(client: httpx.AsyncClient, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            if (await client.get("/health/live")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError("the server did not come up within 30 s")


async def timed(call: Callable[[], Awaitable[object]]) -> float:
    """Seconds one call takes."""
    t0 = time.perf_counter()
    await call()
    return time.perf_counter() - t0


def positional(statement: ClauseElement, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """The SQL text and positional arguments that SQLAlchemy's asyncpg dialect sends for
    `statement`: raw asyncpg runs byte for byte what the app runs."""
    compiled: Any = statement.compile(dialect=_ASYNCPG, compile_kwargs={"render_postcompile": True})
    values = compiled.construct_params(params)
    return compiled.string, [values[name] for name in compiled.positiontup or ()]
