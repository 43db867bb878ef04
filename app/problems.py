"""The one place errors become HTTP: RFC 9457 problem+json for every failure."""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi import ResponseSpec
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from app.errors import CodeliverError, FieldError, RateLimited, Unauthenticated, Unavailable

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


# What any authenticated /v1 operation may answer besides its own errors.
_COMMON = (400, 401, 413, 422, 429, 503)


def problem_responses(*statuses: int, common: bool = True) -> dict[int, ResponseSpec]:
    """OpenAPI entries for an operation's error statuses (plus the common ones)."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_JSON,
            description=HTTPStatus(status).phrase,
            generate_examples=False,
        )
        for status in sorted({*(_COMMON if common else ()), *statuses})
    }


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_errors(extra: Any) -> list[FieldError]:
    errors = []
    for item in extra if isinstance(extra, list) else []:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "invalid"))
        key = str(item.get("key") or "")
        named = _NAMED_FIELD.search(message)
        if key == "data":  # the body root, as Litestar names it
            key = ""
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
        headers = {"WWW-Authenticate": 'Bearer realm="codeliver"'}
    errors = getattr(exc, "errors", None)
    return problem(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        errors=errors,
        headers=headers,
        instance=request.url.path,
    )


def _on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _field_errors(exc.extra)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
    return problem(
        422, "invalid-input", "Invalid input", detail, errors=errors, instance=request.url.path
    )


def _on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    detail = str(exc.detail)
    if status == 400 and type(exc.__cause__).__name__ == "SerializationException":
        return problem(
            400,
            "malformed-json",
            "Malformed JSON",
            f"Malformed JSON body: {detail}",
            errors=[FieldError("body", detail)],
            instance=request.url.path,
        )
    return problem(
        status,
        _HTTP_CODES.get(status, "http-error"),
        HTTPStatus(status).phrase,
        detail,
        headers=dict(exc.headers or {}) or None,
        instance=request.url.path,
    )


def _on_database_down(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("database unavailable", error=(str(exc) or repr(exc)).splitlines()[0][:200])
    return problem(
        503,
        "unavailable",
        "Service unavailable",
        "The database is unavailable; retry shortly.",
        headers={"Retry-After": "5"},
        instance=request.url.path,
    )


# PostgreSQL error classes (SQLSTATE) that are the caller's or the moment's, not a bug.
_RETRY_LATER = {"40001", "40P01", "53300", "53400", "55P03", "57014", "57P01", "57P02", "57P03"}
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
        return problem(
            409,
            "conflict",
            "Conflict with the current state",
            "That already exists.",
            instance=request.url.path,
        )
    if state == "42501":  # a write outside the caller's row-level security scope
        log.info("write refused by row-level security", error=str(getattr(exc, "orig", exc)))
        return problem(
            403,
            "forbidden",
            "Not allowed",
            "That is outside what you may change.",
            instance=request.url.path,
        )
    if state[:2] in _BAD_INPUT_CLASSES:
        return problem(
            422,
            "invalid-input",
            "Invalid input",
            "A value was rejected by the database (out of range, malformed, or "
            "referring to something that does not exist).",
            instance=request.url.path,
        )
    if state in _RETRY_LATER or state.startswith("08") or _is_connection_failure(exc):
        return _on_database_down(request, exc)
    return _on_unexpected(request, exc)


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if _is_connection_failure(exc):
        return _on_database_down(request, exc)
    log.exception("unhandled error", path=request.url.path, method=request.method)
    return problem(
        500,
        "internal-error",
        "Internal error",
        "An unexpected error occurred; it has been logged.",
        instance=request.url.path,
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

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "Problem", "problem", "problem_responses"]
