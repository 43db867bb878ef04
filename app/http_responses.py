"""Responses shared by several controllers: 201 Created with the new resource's Location."""

from __future__ import annotations

from typing import TypeVar

from litestar import Response
from litestar.datastructures import ResponseHeader

T = TypeVar("T")

# For the OpenAPI document of every create operation (the value is set per response).
LOCATION = [
    ResponseHeader(
        name="Location",
        description="The URL of what was created (a path on this server)",
        documentation_only=True,
    )
]

# For a change that answers the new version's ETag (app/conditional.py: tagged).
ETAG = [
    ResponseHeader(
        name="ETag",
        description="Strong validator of the new version: send it back as `If-Match`",
        documentation_only=True,
    )
]


def created(value: T, location: str) -> Response[T]:
    """201 Created: `value`, with `location` the URL a GET (or DELETE) reaches it at."""
    return Response(value, status_code=201, headers={"Location": location})
