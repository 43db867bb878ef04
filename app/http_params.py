"""Request parameters shared by several controllers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar.params import HeaderParameter, QueryParameter

from app.wire import INSTANT_PATTERN, INSTANT_RANGE, parse_instant

AccessReason = Annotated[
    str | None,
    HeaderParameter(
        name="X-Access-Reason",
        max_length=200,
        description='Why the personal data is read; audited (default "case management")',
    ),
]

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="A unique string (a UUID) per action: a retry with the same key replays "
        "the first response; the same key with a different request is a 422",
    ),
]

# Query-string coordinates: msgspec constraints do not reach query parameters, these do.
LatitudeQuery = Annotated[float, QueryParameter(ge=-90, le=90, description="WGS 84 latitude")]
LongitudeQuery = Annotated[float, QueryParameter(ge=-180, le=180, description="WGS 84 longitude")]


def instant_query(description: str, *, name: str | None = None) -> Any:
    """A date-time query parameter: declared as a string with the RFC 3339 pattern and the
    2000..2100 range, because Litestar would take `0.5` as a Unix time and naive or far-off
    times break period arithmetic. Pass the value through `instant()` in the handler."""
    return QueryParameter(
        name=name,
        description=f"{description}; {INSTANT_RANGE}",
        format="date-time",
        max_length=40,
        # Declared, and checked by `instant()`: its messages name the field and the range.
        schema_extra={"pattern": INSTANT_PATTERN},
    )


def instant(value: str | None, field: str) -> datetime | None:
    """A date-time query parameter's value, parsed and bounded (None when absent)."""
    return None if value is None else parse_instant(value, field)
