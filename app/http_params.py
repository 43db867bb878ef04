"""Request parameters shared by several controllers."""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter, QueryParameter

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
