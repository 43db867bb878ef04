"""Addresses by postcode, the HTTP half: the provider chosen in settings (`CODELIVER_GEOCODER`)
asked with httpx, its answer read by `geo/geocoding.py`. Every way a lookup can fail (no
provider, a timeout, a refusal, a fault) is a `LookupFailed` whose reason a caseworker can
read; the caller then offers a pin on a map instead (docs/decisions.md, 43).

The reason never carries the provider's URL: OS Places takes its key in the query string."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from app import demo_gazetteer
from app.settings import Settings
from geo.geocoding import Address, LookupFailed, parse_os_places, parse_postcodes_io

OS_PLACES_URL = "https://api.os.uk/search/places/v1"
NOT_SET_UP = "Looking up addresses by postcode is not set up for this service (CODELIVER_GEOCODER)"
PROVIDERS = {
    "os_places": "OS Places",
    "postcodes_io": "the postcode service",
    "gazetteer": "the demo borough's gazetteer",
}


@dataclass(frozen=True)
class Geocoder:
    """One provider: `look_up(postcode)` gives its addresses, or raises `LookupFailed`."""

    provider: str  # a CODELIVER_GEOCODER value
    settings: Settings
    transport: httpx.AsyncBaseTransport | None = None  # tests only

    @property
    def gives_uprns(self) -> bool:
        return self.provider != "postcodes_io"

    async def look_up(self, postcode: str) -> list[Address]:
        """Addresses at a normalised postcode (`geo.geocoding.normalise_postcode`)."""
        if self.provider == "gazetteer":
            return demo_gazetteer.look_up(postcode)
        if self.provider == "os_places":
            base = (self.settings.geocoder_url or OS_PLACES_URL).rstrip("/")
            params = {
                "postcode": postcode,
                "key": self.settings.os_places_key or "",
                "output_srs": "WGS84",
                "dataset": "DPA",
            }
            return await self._get(f"{base}/postcode", params, postcode, parse_os_places)
        base = (self.settings.geocoder_url or "").rstrip("/")
        path = f"{base}/postcodes/{postcode.replace(' ', '')}"
        return await self._get(path, {}, postcode, parse_postcodes_io)

    async def _get(
        self,
        url: str,
        params: dict[str, str],
        postcode: str,
        parse: Callable[[Any, str], list[Address]],
    ) -> list[Address]:
        name = PROVIDERS[self.provider]
        timeout = self.settings.geocoder_timeout_s
        try:
            async with httpx.AsyncClient(timeout=timeout, transport=self.transport) as http:
                answer = await http.get(url, params=params, headers={"Accept": "application/json"})
        except httpx.TimeoutException as exc:
            raise LookupFailed(f"{_cap(name)} did not answer within {timeout:g} seconds") from exc
        except httpx.HTTPError as exc:
            raise LookupFailed(f"{_cap(name)} could not be reached") from exc
        if answer.status_code == 404 and self.provider == "postcodes_io":
            return []  # postcodes.io's "Postcode not found"
        if answer.status_code != 200:
            raise LookupFailed(_refusal(name, answer.status_code))
        try:
            payload = answer.json()
        except ValueError as exc:
            raise LookupFailed(f"{_cap(name)} sent an answer that could not be read") from exc
        return parse(payload, postcode)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _refusal(name: str, status: int) -> str:
    if status in (401, 403):
        return f"{_cap(name)} refused this service's key (HTTP {status})"
    if status == 429:
        return f"{_cap(name)} is busy: too many lookups (HTTP 429)"
    if status == 400:
        return f"{_cap(name)} did not accept the postcode (HTTP 400)"
    return f"{_cap(name)} had a problem (HTTP {status})"


def geocoder_for(settings: Settings) -> Geocoder | None:
    """The configured provider, or None (`CODELIVER_GEOCODER=none`)."""
    if settings.geocoder == "none":
        return None
    return Geocoder(settings.geocoder, settings)
