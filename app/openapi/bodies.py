"""Request and response bodies in the OpenAPI document, as msgspec decodes and encodes them.

msgspec.json.schema_components writes every constraint the server enforces (on list items
too) and `additionalProperties: false` for a Struct that forbids unknown fields; a Struct
whose fields all default to UNSET (a PATCH body) gets `minProperties: 1`. Generic schemas
get plain names (`Page[Need]` is `NeedPage`)."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from enum import Enum
from typing import Any

import msgspec
from litestar import Litestar
from litestar.response import Response
from litestar.routes import HTTPRoute
from msgspec import inspect as mi

from app.problems import Problem
from app.wire import INSTANT_PATTERN, INSTANT_RANGE, WALL_CLOCK_PATTERN

REF = "#/components/schemas/{name}"


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


def from_msgspec(app: Litestar, doc: dict[str, Any]) -> None:
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
    datetime this API takes or sends is RFC 3339 with an offset in the years 2000..2100
    (app/wire.py: INSTANT_PATTERN, as query parameters say too), and clients want to know it.
    A wall-clock time is HH:MM:SS, which the pattern says."""
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
        schema.setdefault("pattern", INSTANT_PATTERN)
        described = schema.get("description", "")
        if "2000..2100" not in described:
            schema["description"] = f"{described}; {INSTANT_RANGE}" if described else INSTANT_RANGE
    elif isinstance(t, mi.TimeType):
        schema.setdefault("pattern", WALL_CLOCK_PATTERN)
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
