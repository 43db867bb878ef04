"""Tenant-scoped transactions: the one way request code reaches the database.

`tenant_transaction` opens a transaction, resolves the caller with `codeliver_login()` (one
round trip) and leaves the caller's organisations in transaction-local settings that the
row-level security policies read. The app logs in as a non-superuser role, so a query that
forgets its organisation filter still sees only the caller's tenants: isolation holds by
construction, not by every query remembering a WHERE clause.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar.di import NamedDependency
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.identity.principal import Membership, Principal, Role
from app.identity.tokens import TokenIdentity

Db = NamedDependency[AsyncEngine]  # the engine, as controllers receive it

_LOGIN = text(
    "SELECT user_id, display_name, email, is_platform_admin, memberships "
    "FROM codeliver_login(:issuer, :subject, :email, :name)"
)


@dataclass(frozen=True)
class Tx:
    """A transaction with its caller: what every use case receives."""

    conn: AsyncConnection
    principal: Principal
    identity: TokenIdentity

    async def refreshed(self) -> Tx:
        """The same caller after their memberships changed in this transaction (joining an
        organisation): re-reads them and resets the tenant context accordingly."""
        return Tx(self.conn, await _login(self.conn, self.identity), self.identity)


def _principal(row: Any) -> Principal:
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
        yield Tx(conn=conn, principal=await _login(conn, identity), identity=identity)
