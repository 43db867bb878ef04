"""The coordinator's map page: static HTML and scripts (Leaflet from npm), data from the API.

The page and its assets are public (they hold no data); every figure is fetched with the
coordinator's bearer token: from Firebase Auth sign-in when configured, or pasted in
development. A Content-Security-Policy keeps everything but the sign-in API on our origin."""

from __future__ import annotations

import html
import json
from typing import Any
from urllib.parse import urlsplit

from litestar import Controller, MediaType, Request, Response, get

from app.coverage.web_assets import check_assets
from app.demo_population import TOWN_CENTRE
from app.settings import Settings

# Where the Firebase JS SDK signs in and refreshes tokens (unless an emulator is set).
FIREBASE_AUTH_APIS = (
    "https://identitytoolkit.googleapis.com",
    "https://securetoken.googleapis.com",
)

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Coverage - Codeliver</title>
<link rel="stylesheet" href="/static/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/app/coverage.css">
<script type="application/json" id="config">{config}</script>
</head><body data-state="signed-out">
<svg class="defs" aria-hidden="true" focusable="false"><defs>
  <pattern id="hatch" width="8" height="8" patternUnits="userSpaceOnUse"
    patternTransform="rotate(45)"><rect width="8" height="8" fill="#ffffff"/>
    <line x1="0" y1="0" x2="0" y2="8" stroke="#333333" stroke-width="3"/></pattern>
</defs></svg>
<aside id="panel" aria-label="Sign-in, filters and metrics">
  <h1>Coverage</h1>
{sign_in}
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
<main id="map" aria-label="Map of coverage gaps">
  <div id="signed-out-note" class="map-note">
    <strong>You are signed out.</strong>
    Sign in (on the left) to see where help is missing and act on it.
  </div>
</main>
<aside id="work" aria-label="Cells and their needs">
  <p id="announce" class="visually-hidden" role="status" aria-live="polite"></p>
  <section id="legend" aria-labelledby="legend-title">
    <h2 id="legend-title">Legend: unmet hours this week</h2>
    <ul id="legend-items"></ul>
  </section>
  <section id="cell-panel" aria-labelledby="cell-title" tabindex="-1" hidden>
    <h2 id="cell-title"></h2>
    <button id="cell-close" type="button">Back to the list of cells</button>
    <p id="cell-summary"></p>
    <ul id="cell-needs"></ul>
  </section>
  <section id="cell-list" aria-labelledby="cells-title">
    <h2 id="cells-title">Cells with unfilled needs, largest gap first</h2>
    <p id="cells-empty">Sign in to list the cells.</p>
    <table id="cells" hidden>
      <caption class="visually-hidden">
        Each cell with unfilled needs: its gap, its needs and the hours they want
      </caption>
      <thead><tr><th scope="col">Cell</th><th scope="col">Gap</th>
        <th scope="col">Needs</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</aside>
<script src="/static/leaflet/leaflet.js"></script>
<script src="/static/app/cells.js"></script>
<script src="/static/app/coverage.js"></script>
{scripts}</body></html>
"""

_FIREBASE_FORM = """  <form id="firebase-signin">
    <label for="email">E-mail</label>
    <input id="email" type="email" autocomplete="username" required>
    <label for="password">Password</label>
    <input id="password" type="password" autocomplete="current-password" required>
    <button id="firebase-submit" type="submit">Sign in</button>
    <p id="signin-error" role="alert"></p>
  </form>
  <p id="signed-in" hidden>
    <span id="who"></span> <button id="signout" type="button">Sign out</button>
  </p>
"""

# Pasting a token only makes sense where the development issuer hands them out.
_DEV_PASTE_BOX = """  <div id="dev-token">
    <label for="token">Bearer token (development)</label>
    <input id="token" type="password" autocomplete="off" placeholder="codeliver token --user ...">
    <button id="signin" type="button">Use token</button>
  </div>
"""


def page_config(settings: Settings) -> dict[str, Any]:
    """What the page's scripts need; nothing secret (a Firebase web API key is public)."""
    firebase = None
    if settings.firebase_sign_in:
        project = settings.firebase_project_id
        firebase = {
            "apiKey": settings.firebase_web_api_key,
            "authDomain": settings.firebase_auth_domain or f"{project}.firebaseapp.com",
            "projectId": project,
            "emulatorUrl": settings.firebase_auth_emulator_url,
        }
    return {
        "centre": list(TOWN_CENTRE),
        "zoom": 13,
        "k_min": settings.coverage_k_min,
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
        "firebase": firebase,
    }


def _origin_source(url: str) -> str:
    """A CSP source for a URL or tile template (`https://{s}.tile.example/...`)."""
    parts = urlsplit(url)
    host = parts.netloc
    if "{" in host:
        first, _, rest = host.partition(".")
        if "{" in rest or not rest:
            return f"{parts.scheme}:"  # no narrower source fits the template
        host = f"*.{rest}" if "{" in first else host
    return f"{parts.scheme}://{host}"


def content_security_policy(settings: Settings) -> str:
    images = ["'self'", "data:"]
    if settings.map_tile_url:
        images.append(_origin_source(settings.map_tile_url))
    connect = ["'self'"]
    if settings.firebase_auth_emulator_url:
        connect.append(_origin_source(settings.firebase_auth_emulator_url))
    elif settings.firebase_sign_in:
        connect.extend(FIREBASE_AUTH_APIS)
    # Leaflet positions everything with inline styles, hence 'unsafe-inline' for styles only.
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {' '.join(images)}",
            f"connect-src {' '.join(connect)}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


_NO_SIGN_IN = """  <p id="no-signin">
    Sign-in is not configured: set CODELIVER_FIREBASE_WEB_API_KEY.
  </p>
"""


def render_page(settings: Settings) -> str:
    sign_in = _FIREBASE_FORM if settings.firebase_sign_in else ""
    if settings.dev_issuer_enabled:
        sign_in += _DEV_PASTE_BOX
    sign_in = sign_in or _NO_SIGN_IN
    scripts = (
        '<script src="/static/dist/signin.js"></script>\n' if settings.firebase_sign_in else ""
    )
    config = html.escape(json.dumps(page_config(settings)), quote=False)
    return _PAGE.format(config=config, sign_in=sign_in, scripts=scripts)


class CoveragePageController(Controller):
    path = "/coverage"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def page(self, request: Request[Any, Any, Any]) -> Response[str]:
        settings: Settings = request.app.state.settings
        check_assets(settings.web_dir, firebase_sign_in=settings.firebase_sign_in)
        headers = {
            "Cache-Control": "no-store",
            "Content-Security-Policy": content_security_policy(settings),
        }
        return Response(render_page(settings), media_type=MediaType.HTML, headers=headers)
