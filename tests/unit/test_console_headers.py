"""The console's Content-Security-Policy: the pin map's pages add only the tile server's
images; styles and scripts stay the app's own everywhere."""

from __future__ import annotations

from app.console.session import page_headers
from app.settings import load_settings


def test_only_the_pin_maps_pages_allow_the_tile_servers_images() -> None:
    settings = load_settings(
        {"CODELIVER_MAP_TILE_URL": "https://{s}.tiles.example/{z}/{x}/{y}.png"}
    )
    plain = page_headers(settings)["Content-Security-Policy"]
    pin = page_headers(settings, pin_map=True)["Content-Security-Policy"]
    assert "img-src 'self';" in plain
    assert "img-src 'self' https://*.tiles.example;" in pin
    for policy in (plain, pin):
        assert "style-src 'self';" in policy
        assert "script-src 'self';" in policy
        assert "unsafe" not in policy
