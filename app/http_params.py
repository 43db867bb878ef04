"""Request parameters shared by several controllers."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar.enums import ParamType
from litestar.params import HeaderParameter, ParameterKwarg, QueryParameter

from app.errors import FieldError, InvalidInput
from app.wire import INSTANT_PATTERN, INSTANT_RANGE, parse_instant

ACCESS_REASON_MAX = 200  # characters of the reason an audited read records
AccessReason = Annotated[
    str | None,
    HeaderParameter(
        name="X-Access-Reason",
        max_length=ACCESS_REASON_MAX,
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

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        min_length=1,
        max_length=1000,
        description="The `ETag` the change was made against: if the resource changed since, "
        "the change is refused with 412 and nothing is written",
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


def _reads_null_as_none(annotation: Any) -> bool:
    """Whether Litestar's lax conversion turns the string `null` into None for this type (an
    optional uuid, number, boolean, enum or date-time; not an optional string)."""
    try:
        return _null_is_none(annotation)
    except TypeError:  # an unhashable annotation: not cached
        return _null_is_none.__wrapped__(annotation)


@cache
def _null_is_none(annotation: Any) -> bool:
    try:
        return msgspec.convert("null", annotation, strict=False) is None
    except (msgspec.ValidationError, TypeError):
        return False


async def refuse_null(request: Request[Any, Any, Any]) -> None:
    """The app's before-request hook: a query, header or cookie parameter sent as the string
    `null` is refused (422 naming it) where Litestar would read it as absent, so that
    `?org_id=null` is not "every organisation" while the document says a uuid. A coroutine:
    Litestar runs a plain function hook in a worker thread, a thread hop on every request
    (bench/README.md, "The load mix")."""
    refused = []
    for parameter in request.route_handler.parsed_fn_signature.parameters.values():
        kwarg = parameter.kwarg_definition
        if not isinstance(kwarg, ParameterKwarg) or kwarg.param_type is ParamType.PATH:
            continue
        name = kwarg.name or parameter.name
        if kwarg.param_type is ParamType.QUERY:
            values = request.query_params.getall(name, [])
        else:
            source = request.headers if kwarg.param_type is ParamType.HEADER else request.cookies
            values = [source[name]] if name in source else []
        if "null" in values and _reads_null_as_none(parameter.annotation):
            refused.append(FieldError(name, "must not be `null`: leave the parameter out for none"))
    if refused:
        raise InvalidInput("; ".join(f"{e.field}: {e.message}" for e in refused), refused)
