"""Delta sync in commit order, for the volunteer app's offline-first lists.

A timestamp cursor misses changes: `updated_at` is when a transaction started, so one that
started before a sync and committed after it lands behind a cursor already handed out. Rows
here carry `sync_xid`, the id of the transaction that last wrote them (a trigger keeps it),
and a page holds only rows written by transactions older than every transaction still running
when the page was read (`pg_snapshot_xmin` of the statement's own snapshot): those are all
committed or gone, so nothing can ever appear behind the cursor. Newer rows wait for the next
sync, usually milliseconds later. The cursor is (transaction id, row id); when a page catches
up, it moves to just below the watermark; an empty page has none (keep the one you had).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    Text,
    Uuid,
    bindparam,
    cast,
    func,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from app.errors import InvalidInput

MAX_ID = UUID(int=2**128 - 1)
WATERMARK = cast(cast(func.pg_snapshot_xmin(func.pg_current_snapshot()), Text), BigInteger)


class _Key(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    xid: int
    id: UUID


def encode(xid: int, id_: UUID) -> str:
    raw = b"s" + msgspec.json.encode(_Key(xid, id_))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, field: str = "since") -> tuple[int, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        if not raw.startswith(b"s"):
            raise ValueError("not a sync cursor")
        key = msgspec.json.decode(raw[1:], type=_Key)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise InvalidInput.field(
            field, "not a sync cursor this API issued: sync again without it"
        ) from exc
    if not 0 <= key.xid < 2**63:
        raise InvalidInput.field(field, "not a sync cursor this API issued")
    return key.xid, key.id


# The paged statement of each (statement, settled only, resuming) kind, built once: composing
# the lateral page per request (its column proxies and cache key) cost the volunteers' offer
# poll about a third of its Python time (bench/README.md, "The load mix").
_PAGED: dict[tuple[int, bool, bool], tuple[Select[Any], Select[Any]]] = {}
_AFTER_XID = bindparam("sync_after_xid", type_=BigInteger)
_AFTER_ID = bindparam("sync_after_id", type_=Uuid)
_LIMIT = bindparam("sync_limit", type_=Integer)


def _paged(
    stmt: Select[Any],
    xid: ColumnElement[int],
    id_: ColumnElement[UUID],
    settled: bool,
    resumes: bool,
) -> Select[Any]:
    key = (id(stmt), settled, resumes)
    if key not in _PAGED:  # stmt is kept with its page: its id stays its own
        watermark = select(WATERMARK.label("watermark")).subquery("watermark")
        inner = stmt.order_by(None).order_by(xid, id_).limit(_LIMIT)
        if settled:
            inner = inner.where(xid < watermark.c.watermark)
        if resumes:
            inner = inner.where(tuple_(xid, id_) > tuple_(_AFTER_XID, _AFTER_ID))
        rows_of = inner.lateral("changed")
        outer = select(watermark.c.watermark, rows_of).select_from(
            watermark.outerjoin(rows_of, true())
        )
        _PAGED[key] = (stmt, outer)
    return _PAGED[key][1]


async def page(
    conn: AsyncConnection,
    stmt: Select[Any],
    xid: ColumnElement[int],
    id_: ColumnElement[UUID],
    since: str | None,
    limit: int,
    field: str = "since",
    *,
    settled_only: bool = True,
    params: dict[str, Any] | None = None,
) -> tuple[list[Any], str | None]:
    """Up to `limit` rows of `stmt` changed after `since`, in commit-safe order, and the
    cursor to resume from: None only for an empty page (keep the one you have).

    `stmt` is a module constant (its page is built once per kind and kept): the caller's
    values go in as bound parameters, `params`.

    Without `settled_only` (a first load: what is there now, including rows of transactions
    newer than the oldest one running) every visible row comes, and the last page's cursor
    still resumes below the watermark: a later sync may repeat a row, never miss one."""
    after = decode(since, field) if since else None
    values = {**(params or {}), "sync_limit": limit + 1}
    if after is not None:
        values |= {"sync_after_xid": after[0], "sync_after_id": after[1]}
    paged = _paged(stmt, xid, id_, settled_only, after is not None)
    result = await conn.execute(paged, values)
    rows = result.all()
    seen_below = int(rows[0].watermark) - 1
    rows = [r for r in rows if r.sync_xid is not None]
    if not rows:
        return rows, None
    if len(rows) > limit:
        rows = rows[:limit]
        return rows, encode(rows[-1].sync_xid, rows[-1].id)
    caught_up = (seen_below, MAX_ID)
    if after is not None and settled_only:
        caught_up = max(after, caught_up)
    return rows, encode(*caught_up)
