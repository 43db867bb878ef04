"""The served OpenAPI document (/schema/openapi.json), made truthful in one place.

Litestar writes the document from the handlers; this module finishes it before it is
served. Request and response bodies are msgspec Structs, and msgspec decodes and encodes
them, so their schemas are msgspec's own (`msgspec.json.schema_components`): every
constraint the server enforces is declared, on list items too, and a Struct that forbids
unknown fields says `additionalProperties: false`. A Struct whose fields are all optional
(`UNSET` by default: a PATCH body) needs at least one of them (`minProperties: 1`). The rest
is HTTP that no schema shows: optional parameters as their plain type, the tile path's
`.mvt` suffix, and the headers of 304, 401, 429 and 503 answers.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from collections.abc import Iterator
from enum import Enum
from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    ScalarRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.openapi.spec import Components, SecurityScheme, Server, Tag
from litestar.response import Response
from litestar.routes import HTTPRoute
from msgspec import inspect as mi

from app.problems import Problem

ASYNCAPI = "docs/asyncapi.yaml"
REF = "#/components/schemas/{name}"

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
    Tag(name="programmes", description="Programmes and their offer policies."),
    Tag(name="skills", description="The skills vocabulary: the platform's and an organisation's."),
    Tag(name="service areas", description="Areas a coordinator draws, with coverage alerts."),
    Tag(name="coverage", description="Maps of supply and demand: GeoJSON and vector tiles."),
    Tag(name="metrics", description="Coordinators' figures: fill rate, speed, fairness, hours."),
    Tag(name="organisations", description="Organisations and their members."),
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
        {"tile_y": ("y", "tile row", {"type": "integer", "minimum": 0})},
    ),
}
_TILE_PARAMS = {
    "z": ("zoom level", {"type": "integer", "minimum": 0, "maximum": 20}),
    "x": ("tile column", {"type": "integer", "minimum": 0}),
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
        render_plugins=[_Json(), _Scalar(), _Swagger()],
        servers=[Server(url=server_url)],
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")
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
        _bodies_from_msgspec(app, done)
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


# -- bodies ---------------------------------------------------------------------------------
def _strip(annotation: Any, drop: tuple[Any, ...]) -> Any:
    """`annotation` less the union members in `drop` (None, UnsetType)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kept = [a for a in typing.get_args(annotation) if a not in drop]
        if len(kept) == 1:
            return kept[0]
        return typing.Union[tuple(kept)]  # noqa: UP007 - built at run time
    return annotation


def _body_type(annotation: Any) -> Any:
    """The body a handler's return annotation describes (`Response[T]` is T)."""
    origin = typing.get_origin(annotation)
    if isinstance(origin, type) and issubclass(origin, Response):
        return typing.get_args(annotation)[0]
    return annotation


def _named_types(annotation: Any) -> Iterator[type]:
    """Structs and enums named in a parameter's annotation (for `$ref`s to them)."""
    if isinstance(annotation, type) and issubclass(annotation, (msgspec.Struct, Enum)):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _named_types(arg)


def _bodies_from_msgspec(app: Litestar, doc: dict[str, Any]) -> None:
    slots: list[tuple[dict[str, Any], Any]] = []  # (where a schema goes, its type)
    extra: list[Any] = [Problem]
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema():
                continue
            signature = handler.parsed_fn_signature
            for method in handler.http_methods:
                operation = doc["paths"].get(route.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                for name, field in signature.parameters.items():
                    if name == "data":
                        for media in operation["requestBody"]["content"].values():
                            slots.append((media, _strip(field.annotation, (type(None),))))
                    else:
                        extra.extend(_named_types(field.annotation))
                body = _body_type(signature.return_type.annotation)
                success = operation["responses"].get(str(handler.status_code), {})
                for media in success.get("content", {}).values():
                    if body is bytes:
                        media["schema"] = {"type": "string", "format": "binary"}
                    elif body is not None:
                        slots.append((media, body))

    all_types = [t for _, t in slots] + extra
    schemas, components = msgspec.json.schema_components(all_types, ref_template=REF)
    for (media, _), schema in zip(slots, schemas, strict=False):
        media["schema"] = schema
    for t, schema in zip(all_types, schemas, strict=True):
        _add_formats(mi.type_info(t), schema, components, set())
    _tuple_items(components)
    for info in _struct_infos(all_types):
        patch = _ref_name(info, components)
        fields = msgspec.structs.fields(info.cls)
        if patch and fields and all(f.default is msgspec.UNSET for f in fields):
            components[patch]["minProperties"] = 1
    doc.setdefault("components", {})["schemas"] = _clean_names(doc, components)


def _struct_infos(all_types: list[Any]) -> Iterator[mi.StructType]:
    seen: set[Any] = set()

    def walk(t: mi.Type) -> Iterator[mi.StructType]:
        if isinstance(t, mi.StructType):
            if t.cls in seen:
                return
            seen.add(t.cls)
            yield t
            for f in t.fields:
                yield from walk(f.type)
        elif isinstance(t, mi.Metadata):
            yield from walk(t.type)
        elif isinstance(t, mi.CollectionType):
            yield from walk(t.item_type)
        elif isinstance(t, mi.TupleType):
            for item in t.item_types:
                yield from walk(item)
        elif isinstance(t, mi.DictType):
            yield from walk(t.value_type)
        elif isinstance(t, mi.UnionType):
            for member in t.types:
                yield from walk(member)

    for t in all_types:
        yield from walk(mi.type_info(t))


def _ref_name(t: mi.StructType, components: dict[str, Any]) -> str | None:
    for name, schema in components.items():
        if schema.get("title") == _title(t.cls):
            return name
    return None


def _title(cls: Any) -> str:
    if hasattr(cls, "__origin__"):
        args = ", ".join(getattr(a, "__name__", repr(a)) for a in cls.__args__)
        return f"{cls.__origin__.__name__}[{args}]"
    return str(cls.__name__)


def _add_formats(
    t: mi.Type, schema: dict[str, Any], components: dict[str, Any], seen: set[str]
) -> None:
    """msgspec declares a datetime as a plain string (it also decodes naive ones); every
    datetime this API sends is RFC 3339 with an offset, and clients want to know it is one."""
    while isinstance(t, mi.Metadata):
        t = t.type
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen or name not in components:
            return
        seen.add(name)
        schema = components[name]
    if isinstance(t, mi.DateTimeType):
        schema.setdefault("format", "date-time")
    elif isinstance(t, mi.StructType):
        for f in t.fields:
            if f.encode_name in schema.get("properties", {}):
                _add_formats(f.type, schema["properties"][f.encode_name], components, seen)
    elif isinstance(t, mi.CollectionType) and isinstance(schema.get("items"), dict):
        _add_formats(t.item_type, schema["items"], components, seen)
    elif isinstance(t, mi.TupleType):
        for item, item_schema in zip(t.item_types, schema.get("prefixItems", []), strict=False):
            _add_formats(item, item_schema, components, seen)
    elif isinstance(t, mi.DictType) and isinstance(schema.get("additionalProperties"), dict):
        _add_formats(t.value_type, schema["additionalProperties"], components, seen)
    elif isinstance(t, mi.UnionType):
        # msgspec lists a union's other members first, in order, then structs, then null.
        def plain(m: mi.Type) -> mi.Type:
            while isinstance(m, mi.Metadata):
                m = m.type
            return m

        members = [plain(m) for m in t.types]
        others = [
            m
            for m in members
            if not isinstance(m, (mi.NoneType, mi.StructType))
            or (isinstance(m, mi.StructType) and m.array_like)
        ]
        options = schema.get("anyOf", [schema])
        for member, option in zip(others, options, strict=False):
            _add_formats(member, option, components, seen)
        for struct in members:
            if isinstance(struct, mi.StructType) and not struct.array_like:
                target = _ref_name(struct, components)
                if target:
                    _add_formats(struct, {"$ref": REF.format(name=target)}, components, seen)


def _tuple_items(node: Any) -> None:
    """A fixed-length tuple is `prefixItems` and `items: false` to msgspec; tools want an
    `items` schema (Spectral's array-items, generators), so it is the union of the members,
    which `maxItems` keeps from saying more."""
    if isinstance(node, dict):
        prefix = node.get("prefixItems") or []
        if node.get("items") is False and prefix and node.get("maxItems") == len(prefix):
            unique = [s for i, s in enumerate(prefix) if s not in prefix[:i]]
            node["items"] = unique[0] if len(unique) == 1 else {"anyOf": unique}
        for value in node.values():
            _tuple_items(value)
    elif isinstance(node, list):
        for item in node:
            _tuple_items(item)


_GENERIC = re.compile(r"^(\w+?)\[(\w+)\]$")


def _clean_names(doc: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    """`Page[Need]` is `NeedPage`: a name every client generator keeps as it is."""
    renames: dict[str, str] = {}
    for name, schema in components.items():
        match = _GENERIC.match(schema.get("title", ""))
        if match:
            renames[name] = match.group(2) + match.group(1)
            schema["title"] = renames[name]
        elif "_" in name or "." in name:
            renames[name] = str(schema.get("title", name)).replace("_", "").replace(".", "")
    prefix = REF.format(name="")

    def rename(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith(prefix):
                node["$ref"] = prefix + renames.get(ref[len(prefix) :], ref[len(prefix) :])
            for key, value in node.items():
                if key == "mapping" and isinstance(value, dict):
                    for tag, target in value.items():
                        name = target[len(prefix) :]
                        value[tag] = prefix + renames.get(name, name)
                else:
                    rename(value)
        elif isinstance(node, list):
            for item in node:
                rename(item)

    renamed = {renames.get(name, name): schema for name, schema in components.items()}
    rename(renamed)
    rename(doc.get("paths", {}))
    return dict(sorted(renamed.items()))


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
