"""The request class: JSON bodies must say they are JSON, and a body too deeply nested for
the decoder is the caller's error (a 400 naming the field), not a RecursionError's 500."""

from __future__ import annotations

from typing import Any

from litestar import Request

from app.errors import FieldError, MalformedBody, UnsupportedMediaType

# How deep a body may nest before we name the field that goes deeper (only looked for after
# the decoder gave up, so ordinary bodies pay nothing for it).
_REPORT_DEPTH = 64


def is_json(content_type: str | None) -> bool:
    """application/json, or any application/*+json (e.g. merge-patch+json)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


def too_deep_field(body: bytes) -> str:
    """The top-level member whose value nests past `_REPORT_DEPTH` ("body" if none)."""
    depth, key, last, in_string, escaped, start = 0, "", "", False, False, 0
    for i, byte in enumerate(body):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
                last = body[start:i].decode("utf-8", "replace")
        elif byte == 0x22:
            in_string, start = True, i + 1
        elif byte in b"[{":
            depth += 1
            if depth > _REPORT_DEPTH:
                break
        elif byte in b"]}":
            depth -= 1
        elif byte == 0x3A and depth == 1:  # a colon in the root object: `last` is a key
            key = last
    return key or "body"


class ApiRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        if not is_json(self.headers.get("content-type")):
            raise UnsupportedMediaType(
                "The body must be JSON, sent with Content-Type: application/json"
            )
        try:
            return await super().json()
        except RecursionError:
            field = too_deep_field(await self.body())
            message = "nested too deeply to decode"
            raise MalformedBody(
                f"Malformed JSON body: {field} is {message}", [FieldError(field, message)]
            ) from None
