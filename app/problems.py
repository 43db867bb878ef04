"""The one place errors become HTTP: RFC 9457 problem+json for every failure.

A problem's `type` is an absolute URL, `<base>/problems/<code>`, served by
`app.ops.problem_pages` as a short page describing the code. The base is the configured
public URL (`CODELIVER_PUBLIC_URL`, the address clients know behind proxies) when set, else
the request's own base URL, which is how this client reached us, so the link resolves
either way. (`openapi_server` is not used: without a public URL it is the bind address.)
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, NamedTuple

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.errors import (
    CodeliverError,
    Conflict,
    CorsRefused,
    FieldError,
    Forbidden,
    InvalidInput,
    MalformedBody,
    NotEligible,
    NotFound,
    OfferClosed,
    PreconditionFailed,
    RateLimited,
    SlotTaken,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
)

log = structlog.get_logger(__name__)
PROBLEM_JSON = "application/problem+json"
_NAMED_FIELD = re.compile(r"(?:unknown|missing required) field `([^`]+)`")
_HTTP_CODES = {
    400: "bad-request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
}
GENERIC = "http-error"  # any other HTTP status: the title is the status's phrase


class ProblemType(NamedTuple):
    status: int
    title: str
    description: str


def _phrase(status: int) -> str:
    return HTTPStatus(status).phrase


def _of(error: type[CodeliverError], description: str) -> tuple[str, ProblemType]:
    return error.code, ProblemType(error.status, error.title, description)


# Every problem code the API answers with: its status, its one title, and what it means.
PROBLEM_TYPES: dict[str, ProblemType] = dict(
    [
        ("bad-request", ProblemType(400, _phrase(400), "The request could not be understood.")),
        _of(
            MalformedBody,
            "The body is not valid JSON, or nests deeper than it can be decoded; `errors` "
            "names the member at fault.",
        ),
        _of(
            CorsRefused,
            "A browser's CORS preflight asked for an origin, method or request header that "
            "the API does not allow; `errors` names which.",
        ),
        _of(
            Unauthenticated,
            "No bearer token, or one that is malformed, forged, expired or not for this API. "
            'WWW-Authenticate carries error="invalid_token" when a token was sent and refused.',
        ),
        _of(Forbidden, "You are signed in, but your roles do not allow this."),
        _of(
            NotFound,
            "No such resource, or not one of yours: another organisation's ids look exactly "
            "like unknown ones.",
        ),
        (
            "method-not-allowed",
            ProblemType(405, _phrase(405), "The path exists; `Allow` lists its methods."),
        ),
        _of(Conflict, "The request conflicts with the resource's current state."),
        _of(SlotTaken, "Every slot of the need is taken, or it no longer wants volunteers."),
        _of(OfferClosed, "The offer was already answered, withdrawn, or has expired."),
        _of(
            NotEligible,
            "The volunteer no longer meets the need: vetting lapsed, at their cap, or a clash.",
        ),
        _of(
            PreconditionFailed,
            "`If-Match` names an `ETag` that is no longer current: the resource changed since "
            "it was read. Read it again, and send the change with its new `ETag`.",
        ),
        (
            "payload-too-large",
            ProblemType(413, _phrase(413), "The body is larger than the API accepts."),
        ),
        _of(
            UnsupportedMediaType,
            "A request body must be JSON, sent with `Content-Type: application/json` (an "
            "import's file: CSV, with `Content-Type: text/csv`).",
        ),
        _of(
            InvalidInput,
            "A value is missing, malformed or out of range; `errors` lists each field and why.",
        ),
        _of(RateLimited, "Too many requests; `Retry-After` says how many seconds to wait."),
        _of(CodeliverError, "An unexpected error; it has been logged. Retrying may not help."),
        _of(Unavailable, "The database is unavailable for a moment; retry after `Retry-After`."),
        (
            "not-ready",
            ProblemType(
                503, "Not ready", "The database is unreachable or not migrated to the code's head."
            ),
        ),
        (GENERIC, ProblemType(0, "HTTP error", "Another HTTP error: the status says which.")),
    ]
)


class ProblemField(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, as every error response carries them."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[ProblemField] | None = None


# ResponseSpec cannot declare headers: the ones that come with a status are named here.
_DESCRIPTIONS = {
    401: 'Unauthorized; WWW-Authenticate: Bearer realm="codeliver", with error="invalid_token" '
    "when a token was sent and refused",
    429: "Too Many Requests; Retry-After says how many seconds to wait",
    503: "Service Unavailable; Retry-After says how many seconds to wait",
}

# What any authenticated /v1 operation may answer besides its own errors.
_COMMON = (400, 401, 413, 422, 429, 503)


def problem_responses(*statuses: int, common: bool = True) -> dict[int, ResponseSpec]:
    """OpenAPI entries for an operation's error statuses (plus the common ones)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=_DESCRIPTIONS.get(status, HTTPStatus(status).phrase),
            generate_examples=False,
        )
        for status in sorted({*(_COMMON if common else ()), *statuses})
    }


def problem_base(request: Request[Any, Any, Any]) -> str:
    """Where the problem pages live: the public URL if configured, else the request's base."""
    public_url = getattr(request.app.state.settings, "public_url", None)
    return str(public_url or request.base_url).rstrip("/") + "/problems"


def problem(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """The problem response; its title is the code's (PROBLEM_TYPES), so one code has one."""
    known = PROBLEM_TYPES.get(code)
    body: dict[str, Any] = {
        "type": f"{problem_base(request)}/{code}",
        "title": known.title if known and code != GENERIC else _phrase(status),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _wire_names(request: Request[Any, Any, Any]) -> dict[str, str]:
    """The handler's parameters by Python name -> the name the caller sent (a header's, an
    aliased query parameter's: `X-Access-Reason`, not `access_reason`)."""
    handler = request.scope.get("route_handler")
    parameters = getattr(getattr(handler, "parsed_fn_signature", None), "parameters", {})
    return {
        name: alias
        for name, parameter in parameters.items()
        if (alias := getattr(parameter.kwarg_definition, "name", None))
    }


def _field_errors(extra: Any, wire_names: dict[str, str]) -> list[FieldError]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        key = str(item.get("key") or "")
        named = _NAMED_FIELD.search(message)
        if key == "data":  # the body root, as Litestar names it
            key = ""
        elif item.get("source") != "body":
            key = wire_names.get(key, key)
        if named:
            key = f"{key}.{named.group(1)}" if key else named.group(1)
        errors.append(FieldError(key or "body", message))
    return errors


def _on_domain_error(request: Request[Any, Any, Any], exc: CodeliverError) -> Response[Any]:
    headers: dict[str, str] | None = None
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    elif isinstance(exc, Unavailable):
        headers = {"Retry-After": "5"}
    elif isinstance(exc, Unauthenticated):
        challenge = 'Bearer realm="codeliver"'
        if exc.bearer_error:  # RFC 6750 3.1; none when no token was sent at all
            challenge += f', error="{exc.bearer_error}"'
        headers = {"WWW-Authenticate": challenge}
    errors = getattr(exc, "errors", None)
    return problem(request, exc.status, exc.code, exc.detail, errors=errors, headers=headers)


def render(request: Request[Any, Any, Any], exc: CodeliverError) -> Response[Any]:
    """A domain error as its problem response, for code outside Litestar's handlers."""
    return _on_domain_error(request, exc)


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _field_errors(exc.extra, _wire_names(request))
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
    return problem(request, 422, "invalid-input", detail, errors=errors)


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = str(exc.detail)
    if status == 400 and type(exc.__cause__).__name__ == "SerializationException":
        return problem(
            request,
            400,
            "malformed-json",
            f"Malformed JSON body: {detail}",
            errors=[FieldError("body", detail)],
        )
    return problem(
        request,
        status,
        _HTTP_CODES.get(status, GENERIC),
        detail,
        headers=dict(exc.headers or {}) or None,
    )


def _on_database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("database unavailable", error=(str(exc) or repr(exc)).splitlines()[0][:200])
    return problem(
        request,
        503,
        "unavailable",
        "The database is unavailable; retry shortly.",
        headers={"Retry-After": "5"},
    )


# PostgreSQL error classes (SQLSTATE) that are the caller's or the moment's, not a bug;
# 25006 (read-only transaction): a write reached a primary being demoted in a failover.
_RETRY_LATER = {
    *("25006", "40001", "40P01", "53300", "53400", "55P03", "57014", "57P01", "57P02", "57P03")
}
_BAD_INPUT_CLASSES = {"22", "23"}


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (
        getattr(exc, "orig", None),
        getattr(getattr(exc, "orig", None), "__cause__", None),
    ):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def _on_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    state = _sqlstate(exc) or ""
    if state == "23505":
        return problem(request, 409, "conflict", "That already exists.")
    if state == "42501":  # a write outside the caller's row-level security scope
        log.info("write refused by row-level security", error=str(getattr(exc, "orig", exc)))
        return problem(request, 403, "forbidden", "That is outside what you may change.")
    if state[:2] in _BAD_INPUT_CLASSES:
        return problem(
            request,
            422,
            "invalid-input",
            "A value was rejected by the database (out of range, malformed, or "
            "referring to something that does not exist).",
        )
    if state in _RETRY_LATER or state.startswith("08") or _is_connection_failure(exc):
        return _on_database_down(request, exc)
    return _on_unexpected(request, exc)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _is_connection_failure(exc):
        return _on_database_down(request, exc)
    log.exception("unhandled error", path=request.url.path, method=request.method)
    return problem(
        request, 500, "internal-error", "An unexpected error occurred; it has been logged."
    )


def _is_connection_failure(exc: BaseException) -> bool:
    if isinstance(exc, (InterfaceError, PoolTimeout)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError) and _sqlstate(exc) is None:
        return True
    return isinstance(exc, (ConnectionError, OSError)) and not isinstance(exc, FileNotFoundError)


EXCEPTION_HANDLERS: dict[Any, Any] = {
    CodeliverError: _on_domain_error,
    DBAPIError: _on_database_error,
    PoolTimeout: _on_database_down,
    ValidationException: _on_validation,
    HTTPException: _on_http,
    Exception: _on_unexpected,
}

__all__ = [
    "EXCEPTION_HANDLERS",
    "PROBLEM_JSON",
    "PROBLEM_TYPES",
    "Problem",
    "problem",
    "problem_responses",
    "render",
]
