"""The request class: JSON bodies must say they are JSON, are read strictly into the handler's
`data` type (JSON `0` is not `false` nor `"2"` an integer: Litestar's own conversion is lax),
and a body too deeply nested for the decoder is the caller's error (a 400 naming the field),
not a RecursionError's 500."""

from __future__ import annotations

import re
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import ValidationException

from app.errors import FieldError, MalformedBody, UnsupportedMediaType

# How deep a body may nest before we name the field that goes deeper (only looked for after
# the decoder gave up, so ordinary bodies pay nothing for it).
_REPORT_DEPTH = 64
_AT = re.compile(r" - at `\$\.?(.*)`$")


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


def integral_floats_as_ints(value: Any) -> Any:
    """`value` with every float that has no fractional part as an int: JSON Schema's
    `integer` is any number with a zero fractional part (`2.0` is one), and msgspec's strict
    mode wants an int for it. A float field takes an int as it is. Iterative, because the
    body may nest as deep as the decoder went."""
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    stack = [value] if isinstance(value, dict | list) else []
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, item in list(items):
            if isinstance(item, float) and item.is_integer():
                node[key] = int(item)
            elif isinstance(item, dict | list):
                stack.append(item)
    return value


class ApiRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        if not is_json(self.headers.get("content-type")):
            raise UnsupportedMediaType(
                "The body must be JSON, sent with Content-Type: application/json"
            )
        try:
            value = await super().json()
        except RecursionError:
            field = too_deep_field(await self.body())
            message = "nested too deeply to decode"
            raise MalformedBody(
                f"Malformed JSON body: {field} is {message}", [FieldError(field, message)]
            ) from None
        return self._strictly(value)

    def _strictly(self, value: Any) -> Any:
        """The body as the handler's `data` type, converted strictly (the JSON types as the
        document states them, JSON Schema's integers included). Litestar then passes the
        converted value through unchanged.
        A mismatch is Litestar's own ValidationException, so `app.problems` names the field
        as it does for every other body error."""
        data = self.route_handler.parsed_fn_signature.parameters.get("data")
        if data is None:
            return value
        try:
            return msgspec.convert(
                integral_floats_as_ints(value),
                data.annotation,
                strict=True,
                str_keys=True,
                dec_hook=self.route_handler.default_deserializer,
            )
        except msgspec.ValidationError as exc:
            message, at = str(exc), _AT.search(str(exc))
            key = (at.group(1) if at else "") or "data"  # "data": the body root
            message = message[: at.start()] if at else message
            raise ValidationException(
                "Invalid body", extra=[{"message": message, "key": key, "source": "body"}]
            ) from None
