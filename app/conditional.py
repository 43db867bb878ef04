"""Conditional GETs: an `ETag` on a representation, and 304 Not Modified when the client's
`If-None-Match` already names it, so a phone re-checking its profile costs no body."""

from __future__ import annotations

import hashlib
from typing import Any, TypeVar

import msgspec
from litestar import Request, Response
from litestar.openapi import ResponseSpec

T = TypeVar("T")

# The OpenAPI entry of a conditional GET's 304 (app.openapi adds `ETag` and `If-None-Match`).
NOT_MODIFIED = {
    304: ResponseSpec(
        data_container=None,
        description="Not Modified: `If-None-Match` names the current `ETag`; no body",
        generate_examples=False,
    )
}


def etag_of(value: object) -> str:
    return '"' + hashlib.sha256(msgspec.json.encode(value)).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """RFC 9110 13.1.2: `*`, or any listed tag equal to `tag` by weak comparison."""
    if not if_none_match:
        return False
    tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
    return "*" in tags or tag.removeprefix("W/") in tags


def conditional(request: Request[Any, Any, Any], value: T) -> Response[T]:
    """`value` with its ETag, or an empty 304 when the client has it already. The ETag is
    strong: it is a digest of the representation, which is private to the caller."""
    tag = etag_of(value)
    headers = {"ETag": tag, "Cache-Control": "private, no-cache"}
    if matches(request.headers.get("if-none-match"), tag):
        return Response(content=None, status_code=304, headers=headers)  # type: ignore[arg-type]
    return Response(content=value, headers=headers)


def tagged(value: T) -> Response[T]:
    """`value` with its ETag: what a change answers, to send back as `If-Match` next time."""
    return Response(content=value, headers={"ETag": etag_of(value)})


def if_match_holds(if_match: str | None, tag: str) -> bool:
    """RFC 9110 13.1.1: no `If-Match`, `*` (the resource exists), or a listed tag equal to
    `tag` by strong comparison (a weak tag never matches)."""
    if if_match is None:
        return True
    tags = {t.strip() for t in if_match.split(",")}
    return "*" in tags or tag in tags
