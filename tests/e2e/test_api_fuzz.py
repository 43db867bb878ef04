"""The sweeping check: Schemathesis generates requests from our own OpenAPI document and
sends them to a real server on 127.0.0.1; no 5xx, and every answer matches the document."""

from __future__ import annotations

import asyncio
import math
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from app.factory import create_app
from app.identity.tokens import DevIssuer
from app.seed import PLATFORM_ADMIN, seed
from app.settings import Environment, Settings
from infra.localdb import ClusterState, LocalCluster
from tests.conftest import ROOT, TEMPLATE
from tests.live import serving


@pytest.fixture(scope="module")
def live_server(
    cluster: ClusterState, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    local = LocalCluster(ROOT / ".state" / "test-pg")
    name = f"t_fuzz_{uuid.uuid4().hex[:12]}"
    local.create_database(name, template=TEMPLATE)
    asyncio.run(seed(cluster.url(owner=True, database=name), volunteers=3, progress=False))
    org_id = local.psql(
        "SELECT id FROM organisations WHERE slug = 'reading-council'", database=name
    )
    state_dir = Path(tmp_path_factory.mktemp("fuzz"))
    config = Settings(
        env=Environment.TEST, state_dir=state_dir, rate_limit_per_minute=0, log_level="CRITICAL"
    )
    with serving(create_app(config, database_url=cluster.url(database=name))) as url:
        token = DevIssuer(state_dir / "dev-issuer.pem").issue(PLATFORM_ADMIN, ttl_s=3600)
        yield {
            "url": url,
            "org_id": org_id,
            "headers": {"Authorization": f"Bearer {token}"},
        }
    local.drop_database(name)


def test_the_api_honours_its_own_document(live_server: dict[str, Any]) -> None:
    # Driven through Hypothesis directly: Schemathesis' pytest plugin does not support
    # pytest 9 yet.
    api = schemathesis.openapi.from_url(f"{live_server['url']}/schema/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) >= 6

    for operation in operations:

        @given(case=operation.as_strategy())
        # Random locally, to keep finding new cases; fixed in CI, so a merge is judged on
        # the code it brings rather than on the luck of the draw.
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            derandomize=os.environ.get("CI") == "true",
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: Any) -> None:
            if case.path_parameters and "org_id" in case.path_parameters:
                case.path_parameters["org_id"] = live_server["org_id"]  # reach past the 404
            case.call_and_validate(
                base_url=live_server["url"],
                headers=live_server["headers"],
                excluded_checks=[checks.positive_data_acceptance],
            )

        exercise()

    # The sweep reached real work, not only the validation layer.
    import re

    import httpx

    metrics = httpx.get(f"{live_server['url']}/metrics").text
    succeeded = set(re.findall(r'route="([^"]+)",status="2\d\d"', metrics))
    assert len(succeeded) >= 6, succeeded


# Date-times at, inside and past the documented range, naive ones, impossible ones, and
# bare numbers (which a lax decoder would take as Unix times).
EDGE_DATE_TIMES = [
    "2000-01-01T00:00:00Z",
    "2100-12-31T23:59:59Z",
    "2100-12-31T23:59:59-23:59",
    "1999-12-31T23:59:59Z",
    "2101-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-05T00:00:00Z",
    "9999-12-31T00:00:00Z",
    "9999-12-31T23:59:59.999999+00:00",
    "2025-05-01T09:00:00",
    "2025-02-30T09:00:00Z",
    "0",
    "0.5",
    "-1",
    "1e308",
    "99999999999999999999",
]
EDGE_NUMBERS = ["0", "-1", "0.5", "1e308", "-1e308", "nan", "inf", str(2**63), str(-(2**63) - 1)]


def _fill_path(path: str, parameters: list[dict[str, Any]], org_id: str) -> str:
    for p in parameters:
        if p["in"] != "path":
            continue
        schema = p.get("schema", {})
        if p["name"] == "org_id":
            value = org_id
        elif schema.get("format") == "uuid":
            value = str(uuid.uuid4())
        else:  # integers (the tile's z, x and y) and free text alike
            value = "0"
        path = path.replace("{" + p["name"] + "}", value)
    return path


def _kinds(schema: dict[str, Any]) -> set[str]:
    branches = schema.get("oneOf") or schema.get("anyOf") or [schema]
    found: set[Any] = set()
    for b in branches:
        kind = b.get("type") if isinstance(b, dict) else None
        found |= set(kind) if isinstance(kind, list) else {kind}
    if schema.get("format") == "date-time" or any(b.get("format") == "date-time" for b in branches):
        found.add("date-time")
    return {k for k in found if isinstance(k, str)}


def _edges(schema: dict[str, Any]) -> list[str]:
    kinds = _kinds(schema)
    if "date-time" in kinds:
        return EDGE_DATE_TIMES
    values = list(EDGE_NUMBERS)
    for bound in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(schema.get(bound), int | float) and math.isfinite(schema[bound]):
            b = schema[bound]
            values += [repr(b), repr(b - 1), repr(b + 1)]
    return values


def test_every_date_time_and_number_query_parameter_at_its_edges(
    live_server: dict[str, Any],
) -> None:
    """Each operation's date-time, integer and number query parameters at their bounds and
    far past them, one at a time with the others valid: never a 5xx, a 4xx is a problem."""
    import httpx

    spec = httpx.get(f"{live_server['url']}/schema/openapi.json").json()
    required_defaults = {"bbox": "-0.99,51.44,-0.95,51.47", "lat": "51.45", "lon": "-0.97"}
    probed: set[str] = set()
    with httpx.Client(base_url=live_server["url"], headers=live_server["headers"]) as http:
        for template, item in spec["paths"].items():
            for method, operation in item.items():
                if method not in {"get", "post", "put", "patch", "delete"}:
                    continue
                parameters = operation.get("parameters", [])
                path = _fill_path(template, parameters, live_server["org_id"])
                base = {
                    p["name"]: required_defaults.get(p["name"], "x")
                    for p in parameters
                    if p["in"] == "query" and p.get("required")
                }
                for p in parameters:
                    schema = p.get("schema", {})
                    if p["in"] != "query" or not _kinds(schema) & {
                        "date-time",
                        "integer",
                        "number",
                    }:
                        continue
                    probed.add(f"{method.upper()} {template} {p['name']}")
                    for value in _edges(schema):
                        r = http.request(method, path, params={**base, p["name"]: value})
                        where = f"{method.upper()} {path}?{p['name']}={value}"
                        assert r.status_code < 500, f"{where}: {r.status_code} {r.text[:300]}"
                        if r.status_code >= 400:
                            assert r.headers["content-type"].startswith(
                                "application/problem+json"
                            ), where
                            if r.status_code == 422:  # names a field (this one, or `to`)
                                assert r.json()["errors"][0]["field"], (where, r.text)
    # The parameters that broke before: still probed, so the sweep cannot silently shrink.
    assert {
        "GET /v1/coverage/hexes at",
        "GET /v1/coverage/needs at",
        "GET /v1/coverage/tiles/{z}/{x}/{y}.mvt at",
        "GET /v1/metrics/summary from",
        "GET /v1/metrics/summary to",
        "GET /v1/coverage/hexes resolution",
    } <= probed, probed
