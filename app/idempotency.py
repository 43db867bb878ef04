"""Idempotency-Key for mobile POSTs: a retry gets the first response, not a second effect.

The key row is inserted in the same transaction as the effect. A concurrent retry's insert
waits on that row's lock until the first transaction ends: if it committed, the retry reads
and replays its response; if it rolled back (a 4xx), the retry runs afresh. The same key with
a different request (method, path or body) is a 422. Keys are kept for a day.

A replay takes a transaction id, so its commit waits for a synchronous standby as a write's
does: the stored response may be of a commit that the primary flushed but no standby had
yet (its client was cut off waiting, or the primary crashed and restarted), and a replay
that only read would acknowledge it on one copy (docs/decisions.md, 61).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import clock_of
from app.db.tables import idempotency_keys
from app.db.tenancy import Tx, tenant_transaction
from app.errors import InvalidInput
from app.identity.tokens import Caller

T = TypeVar("T")
KEEP = timedelta(days=1)


async def fingerprint(request: Caller) -> str:
    """What makes two requests "the same": method, path and body."""
    digest = hashlib.sha256(await request.body()).hexdigest()
    return f"{request.method} {request.url.path} {digest}"


async def once(
    tx: Tx,
    key: str | None,
    request_fingerprint: str,
    kind: type[T],
    run: Callable[[], Awaitable[T]],
) -> T:
    """`run()` once per (caller, key); later calls with that key return its stored result."""
    if key is None:
        return await run()
    user = tx.principal.user_id
    claimed = await tx.conn.execute(
        insert(idempotency_keys)
        .values(user_id=user, key=key, fingerprint=request_fingerprint, created_at=tx.now)
        .on_conflict_do_nothing()
        .returning(idempotency_keys.c.key)
    )
    if claimed.first() is None:
        stored = (
            await tx.conn.execute(
                select(idempotency_keys.c.fingerprint, idempotency_keys.c.body).where(
                    idempotency_keys.c.user_id == user, idempotency_keys.c.key == key
                )
            )
        ).one()
        if stored.fingerprint != request_fingerprint:
            raise InvalidInput.field("Idempotency-Key", "this key was used for a different request")
        await tx.conn.execute(select(func.pg_current_xact_id()))  # a commit that waits
        return msgspec.json.decode(stored.body, type=kind)
    result = await run()
    await tx.conn.execute(
        update(idempotency_keys)
        .where(idempotency_keys.c.user_id == user, idempotency_keys.c.key == key)
        .values(status_code=200, body=msgspec.json.encode(result))
    )
    return result


async def run_once(
    request: Caller,
    db: AsyncEngine,
    key: str | None,
    kind: type[T],
    use_case: Callable[[Tx], Awaitable[T]],
) -> T:
    """A mobile POST: the use case in the caller's transaction, once per Idempotency-Key."""
    request_fingerprint = await fingerprint(request)
    async with tenant_transaction(db, request.user) as tx:
        return await once(tx, key, request_fingerprint, kind, lambda: use_case(tx))


async def forget_old(engine: AsyncEngine) -> None:
    """Worker job: drop keys older than a day."""
    now = clock_of(engine).now()
    async with engine.begin() as conn:
        await conn.execute(
            delete(idempotency_keys).where(idempotency_keys.c.created_at < now - KEEP)
        )
