"""Tenant-scoped transactions: the one way request code reaches the database.

`tenant_transaction` opens a transaction, resolves the caller with `codeliver_login()` (one
round trip) and leaves the caller's organisations in transaction-local settings that the
row-level security policies read. The app logs in as a non-superuser role, so a query that
forgets its organisation filter still sees only the caller's tenants: isolation holds by
construction, not by every query remembering a WHERE clause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID
from weakref import WeakKeyDictionary

import structlog
from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.clock import WALL, clock_of
from app.db.rows import AnyRow
from app.identity.principal import Membership, Principal, Role
from app.identity.tokens import TokenIdentity

Db = NamedDependency[AsyncEngine]  # the engine, as controllers receive it
log = structlog.get_logger(__name__)

_LOGIN = text(
    "SELECT user_id, display_name, email, is_platform_admin, memberships "
    "FROM codeliver_login(:issuer, :subject, :email, :name)"
)


@dataclass(frozen=True)
class Tx:
    """A transaction with its caller: what every use case receives.

    `system` is the system login's engine when the app has one: for the candidate search
    only, read-only, after the use case has authorised the caller (row-level security
    multiplies the cost of that KNN scan ~30x and can make the planner drop it). Work in
    `after_commit` runs once the transaction has committed (the cascade's next step).
    """

    conn: AsyncConnection
    principal: Principal
    identity: TokenIdentity
    system: AsyncEngine | None = None
    after_commit: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    # The transaction's instant, read once from the engine's clock (app/clock.py): every
    # decision in this transaction is taken at it.
    now: datetime = field(default_factory=WALL.now)

    async def refreshed(self) -> Tx:
        """The same caller after their memberships changed in this transaction (joining an
        organisation): re-reads them and resets the tenant context accordingly."""
        principal = await _login(self.conn, self.identity)
        return Tx(self.conn, principal, self.identity, self.system, self.after_commit, self.now)

    @asynccontextmanager
    async def reads(self) -> AsyncIterator[AsyncConnection]:
        """Where the candidate search runs: a read-only system transaction, or this one."""
        if self.system is None:
            yield self.conn
            return
        async with self.system.connect() as conn:
            await conn.execute(text("SET TRANSACTION READ ONLY"))
            yield conn
            await conn.rollback()


# The system engine of each app engine (set by the app factory when it has the login).
_SYSTEM: WeakKeyDictionary[AsyncEngine, AsyncEngine] = WeakKeyDictionary()


def register_system(engine: AsyncEngine, system: AsyncEngine) -> None:
    _SYSTEM[engine] = system


def system_of(engine: AsyncEngine) -> AsyncEngine | None:
    """The system login registered for the app's engine (None without one)."""
    return _SYSTEM.get(engine)


def _principal(row: AnyRow) -> Principal:
    return Principal(
        user_id=row.user_id,
        display_name=row.display_name,
        email=row.email,
        platform_admin=row.is_platform_admin,
        memberships=tuple(
            Membership(org_id=UUID(m["org_id"]), role=Role(m["role"]), status=m["status"])
            for m in row.memberships
        ),
    )


async def _login(conn: AsyncConnection, identity: TokenIdentity) -> Principal:
    params = {
        "issuer": identity.issuer,
        "subject": identity.subject,
        "email": identity.email,
        "name": identity.name,
    }
    return _principal((await conn.execute(_LOGIN, params)).one())


@asynccontextmanager
async def tenant_transaction(engine: AsyncEngine, identity: TokenIdentity) -> AsyncIterator[Tx]:
    async with engine.begin() as conn:
        now = clock_of(engine).now()
        tx = Tx(conn, await _login(conn, identity), identity, _SYSTEM.get(engine), now=now)
        yield tx
    for work in tx.after_commit:
        try:
            await work()
        except Exception:  # committed: the rows stay due, and the worker will do it
            log.exception("after-commit work failed; the worker will retry it")
