"""Request parameters shared by several controllers."""

from __future__ import annotations

from typing import Annotated

from litestar.params import HeaderParameter

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
