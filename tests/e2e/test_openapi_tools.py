"""The tools client developers use read the served document cleanly, so the class of defect
cannot come back: Spectral's `spectral:oas` rules, openapi-typescript then `tsc`, and
openapi-python-client, whose generated client then drives the core loop against the app on
a real loopback port. Generated code goes to a temporary directory only."""

from __future__ import annotations

import importlib
import json
import math
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest

from app.factory import create_app
from app.settings import Settings
from tests.conftest import ROOT
from tests.e2e.openapi_support import NODE_BIN, served_document, tool
from tests.live import serving
from tests.support import Db, World

HOME = {"lat": 51.4551, "lon": -0.9712}  # Reading
PACKAGE = "codeliver_generated_client"
# Spectral warnings accepted, each with its reason; errors are never accepted.
ACCEPTED_WARNINGS = {
    "info-contact": "the project publishes no support contact yet (none to invent)",
}
# openapi-python-client knows no vector tiles: the tile is bytes to it, as to the server.
PYTHON_CLIENT_CONFIG = {
    "content_type_overrides": {  # binary bodies, read as bytes
        "application/vnd.mapbox-vector-tile": "application/octet-stream",
        "application/pdf": "application/octet-stream",
    },
    "post_hooks": [],  # no formatting of the generated code: it is thrown away
}


def _run(*argv: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def document_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("openapi-tools")
    path = folder / "openapi.json"
    path.write_text(json.dumps(served_document(folder)))
    return path


def test_spectral_oas_ruleset_finds_no_errors(document_file: Path) -> None:
    spectral = tool(NODE_BIN / "spectral")
    result = _run(
        spectral, "lint", "-q", "-f", "json", "-r", ROOT / ".spectral.yaml", document_file
    )
    findings = json.loads(result.stdout or "[]")
    errors = [f for f in findings if f["severity"] == 0]
    assert errors == [], errors
    warnings = {f["code"] for f in findings if f["severity"] == 1}
    assert warnings <= set(ACCEPTED_WARNINGS), findings


def test_openapi_typescript_types_compile_cleanly(document_file: Path, tmp_path: Path) -> None:
    generate = tool(NODE_BIN / "openapi-typescript")
    tsc = tool(NODE_BIN / "tsc")
    types = tmp_path / "api.d.ts"
    result = _run(generate, document_file, "-o", types)
    assert result.returncode == 0, result.stderr + result.stdout
    said = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "openapi-typescript" not in line and "→" not in line
    ]
    assert said == [], said  # no warning, nothing but the banner and the file written
    assert "paths" in types.read_text()
    result = _run(tsc, "--noEmit", "--strict", "--pretty", "false", types, cwd=tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.fixture(scope="module")
def generated_client(
    document_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    generator = tool(Path(sys.executable).parent / "openapi-python-client")
    folder = tmp_path_factory.mktemp("python-client")
    config = folder / "config.json"
    config.write_text(json.dumps(PYTHON_CLIENT_CONFIG))
    result = _run(
        generator,
        "generate",
        "--path",
        document_file,
        "--meta",
        "none",
        "--config",
        config,
        "--output-path",
        folder / PACKAGE,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "warning" not in output.lower(), output
    sys.path.insert(0, str(folder))
    try:
        yield PACKAGE
    finally:
        sys.path.remove(str(folder))
        for name in [m for m in sys.modules if m.split(".")[0] == PACKAGE]:
            del sys.modules[name]


def test_openapi_python_client_generates_without_warnings(generated_client: str) -> None:
    api = importlib.import_module(f"{generated_client}.api.needs.post_need")
    assert callable(api.sync_detailed)
    models = importlib.import_module(f"{generated_client}.models")
    assert "additional_properties" not in vars(models.NeedIn)  # strict bodies, no extras bag


def _window() -> dict[str, str]:
    start = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    return {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()}


@pytest.mark.anyio
async def test_the_core_loop_through_the_generated_client(
    generated_client: str, settings: Settings, db: Db, world: World
) -> None:
    def op(tag: str, name: str) -> Any:
        return importlib.import_module(f"{generated_client}.api.{tag}.{name}").sync_detailed

    models = importlib.import_module(generated_client + ".models")
    client_type = importlib.import_module(generated_client).AuthenticatedClient

    await world.org("org-a")
    people = {
        "coordinator": await world.person("coord-a", org="org-a", role="coordinator"),
        "caseworker": await world.person("case-a", org="org-a", role="caseworker"),
    }
    await world.volunteer("vol-a", org="org-a", at=(HOME["lat"] + 0.002, HOME["lon"]))
    people["volunteer"] = world.headers("vol-a")

    app = create_app(settings, database_url=db.app_url, system_database_url=db.owner_url)
    with serving(app) as url:

        def as_(who: str) -> Any:
            token = people[who]["Authorization"].removeprefix("Bearer ")
            return client_type(base_url=url, token=token, raise_on_unexpected_status=True)

        def ok(response: Any, status: HTTPStatus = HTTPStatus.OK) -> Any:
            assert response.status_code == status, response.content
            return response.parsed

        programme = ok(
            op("programmes", "create_programme")(
                client=as_("coordinator"),
                body=models.ProgrammeIn.from_dict(
                    {"name": "Prescriptions", "kind": "community_support"}
                ),
            ),
            HTTPStatus.CREATED,
        )
        person = ok(
            op("clients", "create_client")(
                client=as_("caseworker"),
                body=models.ClientIn.from_dict(
                    {"name": "Ada Client", "address": "1 Secret Road", "location": HOME}
                ),
            ),
            HTTPStatus.CREATED,
        )
        created = ok(
            op("needs", "post_need")(
                client=as_("caseworker"),
                body=models.NeedIn.from_dict(
                    {
                        "programme_id": str(programme.id),
                        "client_id": str(person.id),
                        "title": "Collect a prescription",
                        "windows": [_window()],
                        "duration_minutes": 60,
                        "dispatch": "manual",  # the caseworker picks from the candidates
                    }
                ),
            ),
            HTTPStatus.CREATED,
        )
        need_id = created.need.id

        candidates = ok(op("offers", "list_candidates")(need_id, client=as_("caseworker")))
        assert len(candidates) == 1
        made = ok(
            op("offers", "make_offers")(
                need_id,
                client=as_("caseworker"),
                body=models.OffersIn.from_dict(
                    {"volunteer_ids": [str(candidates[0].volunteer_id)]}
                ),
            ),
            HTTPStatus.CREATED,
        )
        assert len(made) == 1

        offers = ok(op("offers", "list_my_offers")(client=as_("volunteer")))
        assert [o.need.id for o in offers.items] == [need_id]
        assignment = ok(op("offers", "accept_offer")(offers.items[0].id, client=as_("volunteer")))
        assert assignment.status.value == "accepted"

        me = op("volunteers", "get_my_volunteer")(client=as_("volunteer"))
        assert ok(me).display_name == "Vol A"
        again = op("volunteers", "get_my_volunteer")(
            client=as_("volunteer"), if_none_match=me.headers["etag"]
        )
        assert (again.status_code, again.content) == (HTTPStatus.NOT_MODIFIED, b"")

        # The documented tile URL, {z}/{x}/{y}.mvt, is the one the route answers.
        z, n = 12, 2**12
        x = int((HOME["lon"] + 180) / 360 * n)
        y = int((1 - math.asinh(math.tan(math.radians(HOME["lat"]))) / math.pi) / 2 * n)
        tile = op("coverage", "get_coverage_tile")(z, x, y, client=as_("coordinator"))
        assert tile.status_code == HTTPStatus.OK, tile.content
        assert tile.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        assert isinstance(tile.content, bytes)
        assert tile.content
