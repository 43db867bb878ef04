"""The map page served from a web folder anywhere (CODELIVER_WEB_DIR), as an installed
package needs; missing assets are a 503 that says how to build them; the sign-in it shows
and the Content-Security-Policy it sends follow the settings."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.datastructures import State

from app.coverage.page import CoveragePageController, content_security_policy, render_page
from app.coverage.web_assets import static_routers
from app.problems import EXCEPTION_HANDLERS
from app.settings import PROJECT_ROOT, Environment, Settings

pytestmark = pytest.mark.anyio
FIREBASE = {"firebase_project_id": "my-project", "firebase_web_api_key": "web-key"}


@pytest.fixture
def web_dir(tmp_path: Path) -> Path:
    """Our scripts, plus stand-ins for what npm builds and installs."""
    web = tmp_path / "elsewhere" / "web"
    shutil.copytree(PROJECT_ROOT / "web" / "src", web / "src")
    (web / "dist").mkdir()
    (web / "dist" / "signin.js").write_text("/* the sign-in bundle */")
    leaflet = web / "node_modules" / "leaflet" / "dist"
    leaflet.mkdir(parents=True)
    (leaflet / "leaflet.js").write_text("/* leaflet, copied */")
    return web


async def _client(settings: Settings) -> httpx.AsyncClient:
    app = Litestar(
        route_handlers=[CoveragePageController, *static_routers(settings.web_dir)],
        exception_handlers=EXCEPTION_HANDLERS,
        state=State({"settings": settings}),
        logging_config=None,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client(web_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(env=Environment.TEST, web_dir=web_dir, **FIREBASE)
    async with await _client(settings) as c:
        yield c


async def test_the_page_and_its_assets_come_from_the_web_folder(
    client: httpx.AsyncClient, web_dir: Path
) -> None:
    page = await client.get("/coverage")
    assert page.status_code == 200
    assert 'id="firebase-signin"' in page.text
    assert '<script src="/static/dist/signin.js">' in page.text
    for path, file in [
        ("/static/app/coverage.js", web_dir / "src" / "coverage.js"),
        ("/static/dist/signin.js", web_dir / "dist" / "signin.js"),
        ("/static/leaflet/leaflet.js", web_dir / "node_modules/leaflet/dist/leaflet.js"),
    ]:
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.content == file.read_bytes()


@pytest.mark.parametrize(
    ("remove", "firebase"),
    [("node_modules", False), ("src", False), ("dist", True)],
)
async def test_missing_assets_are_a_503_saying_how_to_build_them(
    web_dir: Path, remove: str, firebase: bool
) -> None:
    shutil.rmtree(web_dir / remove)
    settings = Settings(env=Environment.TEST, web_dir=web_dir, **(FIREBASE if firebase else {}))
    async with await _client(settings) as c:
        r = await c.get("/coverage")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert str(web_dir / remove) in r.json()["detail"]
    assert "npm run build" in r.json()["detail"]


async def test_without_firebase_the_bundle_is_not_needed(web_dir: Path) -> None:
    shutil.rmtree(web_dir / "dist")
    async with await _client(Settings(env=Environment.TEST, web_dir=web_dir)) as c:
        r = await c.get("/coverage")
    assert r.status_code == 200
    assert "signin.js" not in r.text
    assert 'id="token"' in r.text


def test_the_token_box_is_only_there_with_the_dev_issuer() -> None:
    development = Settings(**FIREBASE)
    production = msgspec.structs.replace(development, env=Environment.PRODUCTION)
    assert 'id="token"' in render_page(development)
    assert 'id="token"' not in render_page(production)
    assert 'id="firebase-signin"' in render_page(production)
    assert "not configured" in render_page(Settings(env=Environment.PRODUCTION))


def test_the_policy_admits_firebase_auth_or_its_emulator_and_the_tiles() -> None:
    hosted = Settings(**FIREBASE, map_tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    policy = content_security_policy(hosted)
    assert "script-src 'self';" in policy
    assert "img-src 'self' data: https://*.tile.example.org;" in policy
    assert "https://identitytoolkit.googleapis.com https://securetoken.googleapis.com" in policy
    emulated = msgspec.structs.replace(hosted, firebase_auth_emulator_url="http://127.0.0.1:9099")
    assert "connect-src 'self' http://127.0.0.1:9099;" in content_security_policy(emulated)
    assert "connect-src 'self';" in content_security_policy(Settings())
