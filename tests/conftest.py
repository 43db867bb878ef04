"""The test harness: one private PostGIS cluster per session, a migrated template database,
a fresh clone of it per test, the app in-process over ASGI, and no network but loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from app.db.migrate import upgrade
from app.factory import create_app
from app.identity.tokens import DevIssuer
from app.settings import Environment, Settings
from infra.localdb import ClusterState, LocalCluster
from tests.support import Db, World, serving

ROOT = Path(__file__).resolve().parent.parent
# One template per test session, so two sessions on one checkout do not clobber each other.
TEMPLATE = f"codeliver_template_{os.getpid()}"


# -- no network but loopback ------------------------------------------------------------------
class NetworkAccessError(RuntimeError):
    pass


def _loopback(host: object) -> bool:
    if host is None:
        return True
    text = host.decode() if isinstance(host, bytes) else str(host)
    if text in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(text.split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(scope="session", autouse=True)
def loopback_only() -> Iterator[None]:
    """Fail any test that resolves or connects to a non-loopback host."""
    real_getaddrinfo, real_connect = socket.getaddrinfo, socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def getaddrinfo(host: Any, *args: Any, **kw: Any) -> Any:
        if not _loopback(host):
            raise NetworkAccessError(f"test tried to resolve {host!r}")
        return real_getaddrinfo(host, *args, **kw)

    def check(address: Any) -> None:
        if isinstance(address, tuple) and not _loopback(address[0]):
            raise NetworkAccessError(f"test tried to connect to {address!r}")

    def connect(self: socket.socket, address: Any) -> Any:
        check(address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> Any:
        check(address)
        return real_connect_ex(self, address)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    yield
    socket.getaddrinfo = real_getaddrinfo
    socket.socket.connect = real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = real_connect_ex  # type: ignore[method-assign]


# -- async plumbing -------------------------------------------------------------------------
@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


# -- the database ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def cluster() -> Iterator[ClusterState]:
    local = LocalCluster(ROOT / ".state" / "test-pg", durable=False)
    already_running = local.state() is not None and local.status() == "running"
    state = local.start()
    local.drop_database(TEMPLATE)
    local.create_database(TEMPLATE)
    upgrade(state.url(owner=True, database=TEMPLATE))
    yield state
    local.drop_database(TEMPLATE)
    if not already_running:  # another session may still be using it
        local.stop()


@pytest.fixture
def db(cluster: ClusterState) -> Iterator[Db]:
    """A fresh database cloned from the migrated template (~0.1 s), dropped afterwards."""
    local = LocalCluster(ROOT / ".state" / "test-pg")
    name = f"t_{uuid.uuid4().hex[:16]}"
    local.create_database(name, template=TEMPLATE)
    yield Db(cluster.url(database=name), cluster.url(owner=True, database=name), name)
    local.drop_database(name)


# -- the app --------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture
def settings(state_dir: Path) -> Settings:
    return Settings(
        env=Environment.TEST, state_dir=state_dir, rate_limit_per_minute=0, log_level="WARNING"
    )


@pytest.fixture
def app(settings: Settings, db: Db) -> Litestar:
    return create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(app) as c:
        yield c


@pytest.fixture
async def world(db: Db, settings: Settings) -> AsyncIterator[World]:
    w = World(db, DevIssuer(settings.state_dir / "dev-issuer.pem"))
    yield w
    await w.close()
