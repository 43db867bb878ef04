"""Where the map page's files live (`CODELIVER_WEB_DIR`), and the routers that serve them.

The folder holds our scripts (`src/`), the Firebase sign-in bundle (`dist/`, from
`npm run build`) and Leaflet as `npm ci` installed it; nothing is fetched from a CDN."""

from __future__ import annotations

from pathlib import Path

from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from app.errors import Unavailable

BUILD_HINT = (
    "build them with `cd web && npm ci && npm run build` (make run does), or point "
    "CODELIVER_WEB_DIR at a folder holding src/, dist/ and node_modules/leaflet/dist/"
)


def leaflet_dir(web_dir: Path) -> Path:
    return web_dir / "node_modules" / "leaflet" / "dist"


def required_files(web_dir: Path, *, firebase_sign_in: bool) -> list[Path]:
    scripts = [web_dir / "src" / name for name in ("cells.js", "coverage.js")]
    files = [*scripts, leaflet_dir(web_dir) / "leaflet.js"]
    if firebase_sign_in:
        files.append(web_dir / "dist" / "signin.js")
    return files


def check_assets(web_dir: Path, *, firebase_sign_in: bool) -> None:
    """Raise `Unavailable` (a 503) naming what is missing and how to build it."""
    required = required_files(web_dir, firebase_sign_in=firebase_sign_in)
    missing = [path for path in required if not path.is_file()]
    if missing:
        names = ", ".join(str(p) for p in missing)
        raise Unavailable(f"The map page's assets are missing ({names}): {BUILD_HINT}")


def static_routers(web_dir: Path) -> list[ControllerRouterHandler]:
    """Our scripts, the sign-in bundle, and Leaflet (no CDN)."""
    folders = {
        "/static/app": web_dir / "src",
        "/static/dist": web_dir / "dist",
        "/static/leaflet": leaflet_dir(web_dir),
    }
    return [
        create_static_files_router(path=path, directories=[folder], include_in_schema=False)
        for path, folder in folders.items()
    ]
