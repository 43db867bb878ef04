"""The served OpenAPI document tells client developers the truth: what the server refuses is
declared, every operation has a short unique id, a summary, a description and a defined tag,
and schema names are plain words. The websocket is described by docs/asyncapi.yaml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from app import openapi
from app.wire import INSTANT_PATTERN, INSTANT_RANGE
from notifications.outbox import Kind
from tests.conftest import ROOT
from tests.e2e.openapi_support import operations, served_document

REF = "#/components/schemas/"


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return served_document(tmp_path_factory.mktemp("openapi"))


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].removeprefix(REF)]
    return schema


def _body(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    return _schema(document, operation["requestBody"]["content"]["application/json"]["schema"])


def test_operation_ids_are_short_verb_nouns_and_unique(document: dict[str, Any]) -> None:
    ids = [op.get("operationId", "") for _, _, op in operations(document)]
    assert all(re.fullmatch(r"^[a-z][a-zA-Z]+$", i) for i in ids), ids
    assert len(ids) == len(set(ids))
    for expected in ("postNeed", "listNeeds", "getNeed", "listCandidates", "acceptOffer"):
        assert expected in ids
    for expected in ("declineOffer", "claimNeed", "getMyVolunteer", "getCoverageTile"):
        assert expected in ids


def test_schema_names_are_plain_words(document: dict[str, Any]) -> None:
    names = list(document["components"]["schemas"])
    assert [n for n in names if "_" in n or "." in n] == []
    assert "NeedPage" in names


def test_every_operation_has_a_summary_a_description_and_a_defined_tag(
    document: dict[str, Any],
) -> None:
    tags = {t["name"]: t for t in document["tags"]}
    assert all(t.get("description") for t in tags.values())
    used = set()
    for path, method, op in operations(document):
        assert op.get("summary"), (method, path)
        assert op.get("description"), (method, path)
        assert len(op["tags"]) == 1, (method, path, op["tags"])
        assert op["tags"][0] in tags, (method, path, op["tags"])
        used.add(op["tags"][0])
    assert used == set(tags)  # one definition per tag in use, none left over
    tag_of = {op["operationId"]: op["tags"][0] for _, _, op in operations(document)}
    assert tag_of["listOpenCalls"] == tag_of["claimNeed"] == "open calls"


def test_request_bodies_refuse_unknown_fields_as_the_server_does(
    document: dict[str, Any],
) -> None:
    """Driven by the Structs: every one that forbids unknown fields says so."""
    schemas = document["components"]["schemas"]
    bodies = [op for _, _, op in operations(document) if "requestBody" in op]
    assert len(bodies) >= 20
    seen = 0
    for cls in _structs():
        name = cls.__name__
        if name in schemas and not schemas[name].get("title", name).endswith("Page"):
            forbids = cls.__struct_config__.forbid_unknown_fields
            assert (schemas[name].get("additionalProperties") is False) == forbids, name
            seen += forbids
    assert seen >= 20
    for op in bodies:
        assert _body(document, op)["additionalProperties"] is False, op["operationId"]


def _structs() -> list[type[msgspec.Struct]]:
    found: list[type[msgspec.Struct]] = []
    stack: list[type[msgspec.Struct]] = [msgspec.Struct]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub.__module__.startswith(("app.", "matching.", "notifications.")):
                found.append(sub)
            stack.append(sub)
    return found


def test_what_the_server_enforces_is_declared(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    patch = schemas["ProfilePatch"]["properties"]
    assert patch["max_travel_km"]["exclusiveMinimum"] == 0
    assert schemas["ServiceAreaPatch"]["properties"]["alert_after_minutes"]["minimum"] == 0
    assert schemas["SignUp"]["properties"]["languages"]["items"]["pattern"] == "^[a-z]{2}$"
    assert patch["languages"]["items"]["pattern"] == "^[a-z]{2}$"
    rings = schemas["PolygonIn"]["properties"]["coordinates"]["items"]
    assert rings["minItems"] == 4
    assert (rings["items"]["minItems"], rings["items"]["maxItems"]) == (2, 3)
    for path, method, op in operations(document):
        if method == "patch":
            assert _body(document, op)["minProperties"] == 1, path
    assert schemas["SuspendIn"]["required"] == ["reason"]
    upcoming = schemas["AvailabilityView"]["properties"]["upcoming"]["items"]
    instant = {"type": "string", "format": "date-time", "pattern": INSTANT_PATTERN}
    assert upcoming["items"] == {**instant, "description": INSTANT_RANGE}
    assert schemas["Need"]["properties"]["created_at"]["format"] == "date-time"
    # Body instants are bounded as the server bounds them (app/wire.py), as queries say.
    assert schemas["PlanIn"]["properties"]["from"]["pattern"] == INSTANT_PATTERN


def test_parameters_are_plain_types_and_bbox_has_a_pattern(document: dict[str, Any]) -> None:
    for path, method, op in operations(document):
        for parameter in op.get("parameters", []):
            text = msgspec.json.encode(parameter["schema"]).decode()
            assert "null" not in text, (method, path, parameter)
            assert "oneOf" not in text, (method, path, parameter)
            if parameter["name"] == "bbox":
                assert re.fullmatch(parameter["schema"]["pattern"], "-1.0,51.4,-0.9,51.5")
                assert not re.fullmatch(parameter["schema"]["pattern"], "1,2,3")


def _patterns(node: Any, where: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        found = [(where, node["pattern"])] if isinstance(node.get("pattern"), str) else []
        return found + [p for k, v in node.items() for p in _patterns(v, f"{where}/{k}")]
    if isinstance(node, list):
        return [p for i, v in enumerate(node) for p in _patterns(v, f"{where}/{i}")]
    return []


def test_every_pattern_reads_alike_in_python_and_ecma_262(document: dict[str, Any]) -> None:
    """The server checks patterns with Python's `re`, clients (and Schemathesis) with ECMA-262:
    `\\s`, `\\d`, `\\w` and `\\b` mean different characters in the two (Python's `\\d` takes
    Arabic-Indic digits, its `\\s` U+001C-U+001F but not U+FEFF). Each is refused, except `\\s`
    inside app.wire's class that names the difference (so both read the union)."""
    patterns = _patterns(document)
    assert len(patterns) > 20
    spelled = re.escape("\\s\\x1c-\\x1f\\x85\\ufeff")
    for where, pattern in patterns:
        rest = re.sub(spelled, "", pattern)
        assert not re.search(r"(?<!\\)\\[sdwbSDWB]", rest), (where, pattern)


def test_the_tile_is_documented_as_clients_fetch_it(document: dict[str, Any]) -> None:
    assert not [p for p in document["paths"] if "tile_y" in p]
    tile = document["paths"]["/v1/coverage/tiles/{z}/{x}/{y}.mvt"]["get"]
    names = [p["name"] for p in tile["parameters"] if p["in"] == "path"]
    assert names == ["z", "x", "y"]
    assert all(p["schema"]["type"] == "integer" for p in tile["parameters"] if p["in"] == "path")
    content = tile["responses"]["200"]["content"]
    assert content == {
        "application/vnd.mapbox-vector-tile": {"schema": {"type": "string", "format": "binary"}}
    }


def test_http_headers_are_declared_where_they_happen(document: dict[str, Any]) -> None:
    conditional = set()
    for path, _method, op in operations(document):
        responses = op["responses"]
        if "401" in responses:
            assert "WWW-Authenticate" in responses["401"]["headers"], path
        for status in ("429", "503"):
            if status in responses:
                assert "Retry-After" in responses[status]["headers"], (path, status)
        if "304" in responses:
            conditional.add(op["operationId"])
            assert "content" not in responses["304"]
            assert "ETag" in responses["304"]["headers"]
            assert "ETag" in responses["200"]["headers"]
            assert "If-None-Match" in [p["name"] for p in op["parameters"]]
    assert conditional == {"getMyVolunteer", "getCoverageTile", "getOrganisation"}
    change = document["paths"]["/v1/orgs/{org_id}"]["patch"]
    assert "If-Match" in [p["name"] for p in change["parameters"]]
    assert "412" in change["responses"]
    assert "ETag" in change["responses"]["200"]["headers"]


def test_the_websocket_is_described_by_asyncapi(document: dict[str, Any]) -> None:
    assert document["x-asyncapi"] == openapi.ASYNCAPI
    assert openapi.ASYNCAPI in document["info"]["description"]
    spec = yaml.safe_load(Path(ROOT / openapi.ASYNCAPI).read_text())
    assert spec["asyncapi"].startswith("3.")
    assert spec["channels"]["events"]["address"] == "/v1/events"
    schemas = spec["components"]["schemas"]
    assert set(schemas["Kind"]["enum"]) == {k.value for k in Kind}
    for kind in Kind:
        assert schemas[kind.value]["properties"]["kind"] == {"const": kind.value}
        # each names what it is about: a need, a service area (a gap alert) or the day's
        # counts (a digest), an organisation (its vetting)
        about = {
            Kind.COVERAGE_GAP_ALERT: "area_id",
            Kind.STAFF_DIGEST: "counts",
            Kind.VETTING_LAPSING: "org_id",
            Kind.VETTING_SUMMARY: "org_id",
        }.get(kind, "need_id")
        assert about in schemas[kind.value]["properties"]
