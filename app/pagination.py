"""Cursor pagination: opaque, tamper-evident-enough cursors over a keyset."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import msgspec
from litestar.params import QueryParameter

from app.errors import InvalidInput

T = TypeVar("T")
MAX_LIMIT = 200

Limit = Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT, description=f"Page size, 1..{MAX_LIMIT}")]
Cursor = Annotated[
    str | None,
    QueryParameter(max_length=512, description="`next_cursor` from the previous page"),
]


class Page(msgspec.Struct, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class _Key(msgspec.Struct, array_like=True, forbid_unknown_fields=True):
    at: datetime
    id: UUID
    extra: str = ""


def encode_cursor(at: datetime, id_: UUID, extra: str = "") -> str:
    raw = msgspec.json.encode(_Key(at, id_, extra))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = msgspec.json.decode(raw, type=_Key)
    except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
        raise InvalidInput.field("cursor", "not a cursor this API issued") from exc
    sane = (
        key.at.tzinfo is not None
        and 1970 <= key.at.year <= 9000
        and len(key.extra) <= 64
        and "\x00" not in key.extra
    )
    if not sane:
        raise InvalidInput.field("cursor", "not a cursor this API issued")
    return key.at, key.id, key.extra


def page_of(items: list[Any], limit: int, key: Any) -> tuple[list[Any], str | None]:
    """Items were fetched with limit + 1; the extra one tells whether a next page exists."""
    if len(items) <= limit:
        return items, None
    items = items[:limit]
    return items, encode_cursor(*key(items[-1]))
