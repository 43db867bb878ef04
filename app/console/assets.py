"""govuk-frontend as npm installed it (`web/node_modules/govuk-frontend/dist/govuk`), served
by the app like Leaflet: its CSS and JS under `/static/govuk`, its fonts and images under
`/assets` (the precompiled CSS names them there). Nothing from a CDN."""

from __future__ import annotations

from pathlib import Path

from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from app.coverage.web_assets import BUILD_HINT
from app.errors import Unavailable


def govuk_dir(web_dir: Path) -> Path:
    return web_dir / "node_modules" / "govuk-frontend" / "dist" / "govuk"


def check_console_assets(web_dir: Path, *, firebase_sign_in: bool) -> None:
    """Raise `Unavailable` (a 503) naming what is missing and how to build it."""
    govuk = govuk_dir(web_dir)
    files = [govuk / "govuk-frontend.min.css", govuk / "govuk-frontend.min.js"]
    files.append(web_dir / "src" / "console.js")
    if firebase_sign_in:
        files.append(web_dir / "dist" / "console-signin.js")
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise Unavailable(f"The console's assets are missing ({', '.join(missing)}): {BUILD_HINT}")


def console_static_routers(web_dir: Path) -> list[ControllerRouterHandler]:
    folders = {"/static/govuk": govuk_dir(web_dir), "/assets": govuk_dir(web_dir) / "assets"}
    return [
        create_static_files_router(path=path, directories=[folder], include_in_schema=False)
        for path, folder in folders.items()
    ]
