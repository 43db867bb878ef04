"""The served OpenAPI document (/schema/openapi.json), made truthful in one place.

Litestar writes the document from the handlers; this module finishes it before it is
served. Request and response bodies are msgspec Structs, and msgspec decodes and encodes
them, so their schemas are msgspec's own (`bodies.py`). The rest
is HTTP that no schema shows: optional parameters as their plain type, the tile path's
`.mvt` suffix, and the headers of 304, 401, 429 and 503 answers.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from litestar import Litestar, Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    ScalarRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.openapi.spec import Components, SecurityScheme, Server, Tag

from app.openapi import bodies

ASYNCAPI = "docs/asyncapi.yaml"

TAGS = [
    Tag(name="needs", description="What a caseworker posts: help a client needs, once or weekly."),
    Tag(
        name="open calls",
        description="Needs dispatched as open calls: a volunteer's feed nearby, and claims.",
    ),
    Tag(
        name="offers",
        description="Ranked candidates for a need, the offers made to them, and their answers.",
    ),
    Tag(
        name="assignments",
        description="A volunteer's slot of a need: check-in, completion, withdrawal, no-shows "
        "and outcomes.",
    ),
    Tag(name="plans", description="Batch plans: the optimal assignment, proposed then committed."),
    Tag(
        name="volunteers",
        description="A volunteer's own profile, availability, duty and devices; coordinators' "
        "roster, approvals, suspensions and vetting.",
    ),
    Tag(name="clients", description="The people helped: records, exclusions, export, erasure."),
    Tag(name="channels", description="How offers and reminders reach me: push, text, email."),
    Tag(name="notify", description="GOV.UK Notify's callbacks: delivery receipts, replies."),
    Tag(name="programmes", description="Programmes and their offer policies."),
    Tag(name="skills", description="The skills vocabulary: the platform's and an organisation's."),
    Tag(name="service areas", description="Areas a coordinator draws, with coverage alerts."),
    Tag(name="coverage", description="Maps of supply and demand: GeoJSON and vector tiles."),
    Tag(name="metrics", description="Coordinators' figures: fill rate, speed, fairness, hours."),
    Tag(name="organisations", description="Organisations and their members."),
    Tag(name="imports", description="Bulk imports of volunteers from CSV: dry run, then apply."),
    Tag(name="identity", description="Who the caller is, and their roles."),
    Tag(name="operations", description="Probes for the platform: liveness and readiness."),
]

DESCRIPTION = (
    "Volunteer co-delivery of public services: matching, offers, push.\n\n"
    "Errors are RFC 9457 `application/problem+json`. Request bodies are strict: an unknown "
    "field is a 422. Live events (the same ones that go out as push) stream over the "
    f"websocket `/v1/events`, described as AsyncAPI 3 in `{ASYNCAPI}` (also `x-asyncapi`)."
)

# Litestar routes whole path segments only: the tile route takes "N.mvt" as one string,
# and the document names the parts as a tile client builds them.
_DOCUMENTED_PATHS = {
    "/v1/coverage/tiles/{z}/{x}/{tile_y}": (
        "/v1/coverage/tiles/{z}/{x}/{y}.mvt",
        {"tile_y": ("y", "tile row", {"type": "integer", "minimum": 0, "maximum": 2**20 - 1})},
    ),
}
_TILE_PARAMS = {
    "z": ("zoom level", {"type": "integer", "minimum": 0, "maximum": 20}),
    "x": ("tile column", {"type": "integer", "minimum": 0, "maximum": 2**20 - 1}),
}
_RESPONSE_HEADERS = {
    "401": {
        "WWW-Authenticate": {
            "description": "The scheme to authenticate with: `Bearer`",
            "schema": {"type": "string"},
        }
    },
    "429": {
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": {"type": "integer", "minimum": 0},
        }
    },
    "503": {
        "Retry-After": {
            "description": "Seconds to wait before retrying",
            "schema": {"type": "integer", "minimum": 0},
        }
    },
}
# Headers declared in a controller (app/http_responses.py) get their type here.
_HEADER_SCHEMAS = {"Location": {"type": "string", "format": "uri-reference"}}
_ETAG = {
    "description": "Strong validator of the representation: send it back as `If-None-Match`",
    "schema": {"type": "string"},
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": "An `ETag` received before: answered by an empty 304 while it still matches",
    "schema": {"type": "string"},
}


# Each renders the finished document, not Litestar's draft.
class _Json(JsonRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document(request.app))


class _Scalar(ScalarRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document(request.app))


class _Swagger(SwaggerRenderPlugin):
    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document(request.app))


def openapi_config(server_url: str) -> OpenAPIConfig:
    return OpenAPIConfig(
        title="Codeliver API",
        version="1.0.0",
        description=DESCRIPTION,
        path="/schema",
        render_plugins=[_Scalar(), _Swagger(), _Json()],  # the first serves /schema itself
        servers=[Server(url=server_url)],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
                # GOV.UK Notify's callbacks: the token set in the Notify service's settings
                "notifyCallbackToken": SecurityScheme(type="http", scheme="bearer"),
            }
        ),
        security=[{"bearer": []}],
        tags=TAGS,
        use_handler_docstrings=True,
        create_examples=False,
    )


def document(app: Litestar) -> dict[str, Any]:
    """The document as served: Litestar's, finished (built once per app)."""
    done: dict[str, Any] | None = app.state.get("openapi_document")
    if done is None:
        done = copy.deepcopy(app.openapi_schema.to_schema())
        bodies.from_msgspec(app, done)
        for operation in _operations(done):
            _plain_optional_parameters(operation)
            _http_headers(operation)
        _documented_paths(done)
        done["x-asyncapi"] = ASYNCAPI
        app.state["openapi_document"] = done
    return done


def _operations(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in doc.get("paths", {}).values():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}:
                yield operation


# -- parameters and headers ----------------------------------------------------------------
def _plain_optional_parameters(operation: dict[str, Any]) -> None:
    """An optional parameter is its plain type, left out when not wanted: never `null`."""
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        for key in ("oneOf", "anyOf"):
            options = schema.get(key)
            if not options or {"type": "null"} not in options:
                continue
            rest = [o for o in options if o != {"type": "null"}]
            del schema[key]
            if len(rest) == 1:
                schema.update({k: v for k, v in rest[0].items() if k not in schema})
            else:
                schema[key] = rest
        if isinstance(schema.get("type"), list) and "null" in schema["type"]:
            kinds = [k for k in schema["type"] if k != "null"]
            schema["type"] = kinds[0] if len(kinds) == 1 else kinds
            if "enum" in schema:
                schema["enum"] = [v for v in schema["enum"] if v is not None]
        for noise in ("deprecated", "allowEmptyValue", "allowReserved"):
            if parameter.get(noise) is False:
                del parameter[noise]


def _http_headers(operation: dict[str, Any]) -> None:
    responses = operation.get("responses", {})
    for response in responses.values():
        for name, header in response.get("headers", {}).items():
            if "schema" not in header and "content" not in header:
                header["schema"] = _HEADER_SCHEMAS.get(name, {"type": "string"})
            for noise in ("required", "deprecated"):
                if header.get(noise) is False:
                    del header[noise]
    for status, headers in _RESPONSE_HEADERS.items():
        if status in responses:
            responses[status].setdefault("headers", {}).update(headers)
    if "304" in responses:
        responses["304"].pop("content", None)
        responses["304"].setdefault("headers", {})["ETag"] = _ETAG
        responses.get("200", {}).setdefault("headers", {})["ETag"] = _ETAG
        parameters = operation.setdefault("parameters", [])
        if not any(p["name"].lower() == "if-none-match" for p in parameters):
            parameters.append(_IF_NONE_MATCH)


def _documented_paths(doc: dict[str, Any]) -> None:
    paths = doc.get("paths", {})
    for route, (documented, renamed) in _DOCUMENTED_PATHS.items():
        item = paths.pop(route, None)
        if item is None:
            continue
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                if parameter["name"] in renamed:
                    name, description, schema = renamed[parameter["name"]]
                    parameter.update(name=name, description=description, schema=schema)
                elif parameter["in"] == "path" and parameter["name"] in _TILE_PARAMS:
                    description, schema = _TILE_PARAMS[parameter["name"]]
                    parameter.update(description=description, schema=schema)
        paths[documented] = item
