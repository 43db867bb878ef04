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
