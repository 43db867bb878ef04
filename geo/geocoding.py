"""Addresses by postcode, the pure half: UK postcodes read and normalised, and each
provider's answer (OS Places, a postcodes.io-compatible server) turned into `Address`es.
The HTTP is `app/geocoder.py`'s; nothing here does I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Outward code (area letters, district digit, an optional digit or letter), then the
# inward code (sector digit, unit letters). GIR 0AA is Girobank's, still valid.
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_UPRN = re.compile(r"^[0-9]{1,12}$")
POSTCODE_HELP = "Enter a real postcode, like RG1 1AA"


class InvalidPostcode(ValueError):
    """Not a UK postcode; the message says what to enter."""


class LookupFailed(Exception):
    """No addresses could be looked up; `reason` says why, in words for a caseworker."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Address:
    """One address (or, without a UPRN, one postcode's centre) and its exact point."""

    uprn: str | None  # Unique Property Reference Number: up to 12 digits
    line: str  # one line, as the provider writes it ("" for a postcode's centre)
    postcode: str
    lat: float
    lon: float

    @property
    def key(self) -> str:
        """What a form posts for this choice: the UPRN, else the postcode's centre."""
        return self.uprn or f"centre:{self.postcode}"


def normalise_postcode(text: str) -> str:
    """`"rg1  1aa"` -> `"RG1 1AA"`, or `InvalidPostcode`."""
    squeezed = re.sub(r"[ \t\u00a0-]+", "", text).upper()
    if not squeezed:
        raise InvalidPostcode("Enter a postcode")
    found = _POSTCODE.match(squeezed)
    if found is None and squeezed != "GIR0AA":
        raise InvalidPostcode(POSTCODE_HELP)
    return f"{squeezed[:-3]} {squeezed[-3:]}"


def valid_uprn(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text if _UPRN.match(text) else None


def _point(lat: Any, lon: Any) -> tuple[float, float] | None:
    if isinstance(lat, bool) or isinstance(lon, bool):
        return None
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return float(lat), float(lon)


def parse_os_places(payload: Any, postcode: str) -> list[Address]:
    """OS Places' `/postcode` answer (`output_srs=WGS84`): `results[].DPA` with `UPRN`,
    `ADDRESS`, `LAT`, `LNG`. A postcode with no addresses has no `results` at all.
    Entries without a UPRN or a point are left out (they cannot be stored or placed)."""
    if not isinstance(payload, dict):
        raise LookupFailed("The address service sent an answer that could not be read")
    found: list[Address] = []
    for result in payload.get("results") or []:
        dpa = result.get("DPA") if isinstance(result, dict) else None
        if not isinstance(dpa, dict):
            continue
        uprn = valid_uprn(dpa.get("UPRN"))
        point = _point(dpa.get("LAT"), dpa.get("LNG"))
        line = str(dpa.get("ADDRESS") or "").strip()
        if uprn is None or point is None or not line:
            continue
        found.append(Address(uprn, line[:500], str(dpa.get("POSTCODE") or postcode), *point))
    return sorted(found, key=_reading_order)


def parse_postcodes_io(payload: Any, postcode: str) -> list[Address]:
    """A postcodes.io-compatible `/postcodes/{postcode}` answer: the postcode's centroid
    (`result.latitude`, `result.longitude`), no addresses and no UPRN. A postcode without
    coordinates (`null`, as for some terminated or offshore ones) gives none."""
    result = payload.get("result") if isinstance(payload, dict) else None
    if not isinstance(result, dict):
        raise LookupFailed("The postcode service sent an answer that could not be read")
    point = _point(result.get("latitude"), result.get("longitude"))
    if point is None:
        return []
    return [Address(None, "", str(result.get("postcode") or postcode), *point)]


_NUMBER = re.compile(r"[0-9]+")


def _reading_order(address: Address) -> str:
    """Numbers as numbers: 2 before 10, as on the street."""
    return _NUMBER.sub(lambda m: m.group().zfill(8), address.line)
