"""The coordinator's map page: static HTML and scripts (Leaflet from npm), data from the API.

The page and its assets are public (they hold no data); every figure is fetched with the
coordinator's bearer token, pasted in development or handed over by a hosted sign-in."""

from __future__ import annotations

import html
import json
from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from app.seed import TOWN_CENTRE
from app.settings import PROJECT_ROOT, Settings

WEB = PROJECT_ROOT / "web"
LEAFLET = WEB / "node_modules" / "leaflet" / "dist"

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coverage - Codeliver</title>
<link rel="stylesheet" href="/static/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/app/coverage.css">
<script type="application/json" id="config">{config}</script>
</head><body>
<aside id="panel">
  <h1>Coverage</h1>
  <label for="token">Bearer token</label>
  <input id="token" type="password" autocomplete="off" placeholder="codeliver token --user ...">
  <button id="signin" type="button">Sign in</button>
  <label for="programme">Programme</label>
  <select id="programme"><option value="">All programmes</option></select>
  <label for="at">Week from</label><input id="at" type="date">
  <label for="resolution">Cell size</label>
  <select id="resolution">
    <option value="12">large</option><option value="13">medium</option>
    <option value="14" selected>small</option><option value="15">very small</option>
  </select>
  <h2>Metrics</h2>
  <label for="from">From</label><input id="from" type="date">
  <label for="to">To</label><input id="to" type="date">
  <div id="metrics"></div>
  <p id="status"></p>
</aside>
<main id="map"></main>
<script src="/static/leaflet/leaflet.js"></script>
<script src="/static/app/coverage.js"></script>
</body></html>
"""


class CoveragePageController(Controller):
    path = "/coverage"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def page(self, request: Request[Any, Any, Any]) -> Response[str]:
        settings: Settings = request.app.state.settings
        config = {
            "centre": list(TOWN_CENTRE),
            "zoom": 13,
            "k_min": settings.coverage_k_min,
            "tile_url": settings.map_tile_url,
            "tile_attribution": settings.map_tile_attribution,
        }
        body = _PAGE.format(config=html.escape(json.dumps(config), quote=False))
        return Response(body, media_type=MediaType.HTML, headers={"Cache-Control": "no-store"})


def static_routers() -> list[ControllerRouterHandler]:
    """Our scripts, and Leaflet as `npm ci` installed it (no CDN)."""
    return [
        create_static_files_router(
            path="/static/app", directories=[WEB / "src"], include_in_schema=False
        ),
        create_static_files_router(
            path="/static/leaflet", directories=[LEAFLET], include_in_schema=False
        ),
    ]
