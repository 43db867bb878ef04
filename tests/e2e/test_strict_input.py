"""Input is read as the document says, on every operation: a query string `null` is not
"absent", a header's declared length holds and is named as the header, a body's JSON types
are not converted (0 is not false, "2" is not 2; 2.0 is an integer to JSON Schema, 2.5 is
not). Each refusal is a 4xx problem+json naming the field (defects the sweep found,
tests/e2e/sweep_hooks.py)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from app.errors import InvalidInput
from app.http_request import integral_floats_as_ints
from app.wire import INSTANT_PATTERN, parse_instant
from tests.e2e.test_volunteers import SIGN_UP
from tests.support import World

pytestmark = pytest.mark.anyio

ORG = "strict-council"


def named(r: httpx.Response, field: str) -> bool:
    body: dict[str, Any] = r.json()
    return (
        400 <= r.status_code < 500
        and r.headers["content-type"].startswith("application/problem+json")
        and any(e["field"] == field for e in body.get("errors", []))
    )


@pytest.fixture
async def staff(world: World) -> dict[str, str]:
    await world.org(ORG)
    return await world.person("strict-caseworker", org=ORG, role="caseworker")


@pytest.fixture
async def val(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    headers = world.headers("strict-val")
    r = await client.post("/v1/volunteers/me", headers=headers, json=SIGN_UP)
    assert r.status_code == 201, r.text
    return headers


@pytest.mark.parametrize(
    "query",
    ["/v1/programmes?org_id=null", "/v1/clients?org_id=null", "/v1/needs?escalated=null"],
)
async def test_a_query_string_null_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, staff: dict[str, str], query: str
) -> None:
    r = await client.get(query, headers=staff)
    field = query.split("?")[1].split("=")[0]
    assert named(r, field), (r.status_code, r.text)


async def test_a_string_parameter_keeps_the_string_null(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    r = await client.get("/v1/clients", headers={**staff, "X-Access-Reason": "null"})
    assert r.status_code == 200, r.text


async def test_an_access_reason_over_200_characters_is_refused(
    client: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    r = await client.get("/v1/clients", headers={**staff, "X-Access-Reason": "x" * 201})
    assert named(r, "X-Access-Reason"), (r.status_code, r.text)
    r = await client.get("/v1/clients", headers={**staff, "X-Access-Reason": "x" * 200})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weekly": [{"day": 2.5, "start": "09:00:00", "end": "12:00:00"}]}, "weekly[0].day"),
        (
            {"exceptions": [{"date": "2099-01-01", "available": 0}]},
            "exceptions[0].available",
        ),
        ({"weekly": [{"day": "2", "start": "09:00:00", "end": "12:00:00"}]}, "weekly[0].day"),
    ],
)
async def test_a_body_is_read_strictly(
    client: httpx.AsyncClient, val: dict[str, str], body: dict[str, Any], field: str
) -> None:
    r = await client.put(
        "/v1/volunteers/me/availability",
        headers=val,
        json={"time_zone": "Europe/London", **body},
    )
    assert named(r, field), (r.status_code, r.text)


async def test_an_integral_number_is_an_integer_as_json_schema_says(
    client: httpx.AsyncClient, val: dict[str, str]
) -> None:
    weekly = [{"day": 2.0, "start": "09:00:00", "end": "12:00:00"}]
    r = await client.put(
        "/v1/volunteers/me/availability",
        headers=val,
        json={"time_zone": "Europe/London", "weekly": weekly},
    )
    assert r.status_code == 200, r.text
    assert r.json()["declared"]["weekly"][0]["day"] == 2


def test_integral_floats_become_ints_and_nothing_else_changes() -> None:
    body = {"a": 2.0, "b": [1.5, {"c": -0.0, "d": True, "e": "2.0"}], "f": None}
    assert integral_floats_as_ints(body) == {
        "a": 2,
        "b": [1.5, {"c": 0, "d": True, "e": "2.0"}],
        "f": None,
    }
    assert type(body["a"]) is int
    assert integral_floats_as_ints(3.0) == 3
    assert integral_floats_as_ints("x") == "x"


@pytest.mark.parametrize(
    "written", ["2000-01-01T00:20:51+01:32", "2100-12-31T15:10:54-16:59", "2100-12-31t23:59:59Z"]
)
def test_an_instant_is_bounded_by_its_years_as_written(written: str) -> None:
    # INSTANT_PATTERN admits these; their UTC instant lies a few hours outside 2000..2100.
    assert re.match(INSTANT_PATTERN, written)
    assert parse_instant(written, "from").isoformat()[:4] in {"2000", "2100"}
    with pytest.raises(InvalidInput):
        parse_instant("1999-12-31T23:59:59-01:00", "from")
