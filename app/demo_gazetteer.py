"""The demo borough's own gazetteer, for local runs (`CODELIVER_GEOCODER=gazetteer`): the
streets the demo seed gives its clients (`app/demo_casework.py: STREETS`), each with two
postcodes of 12 houses, at points around the town centre the seed scatters them over.
Deterministic: the same postcode gives the same addresses, UPRNs and points every run.
The UPRNs are in a made-up range (`99...`, 12 digits): they name no real property."""

from __future__ import annotations

import math

from app.demo_casework import STREETS
from app.demo_population import TOWN_CENTRE
from geo.geocoding import Address

HOUSES_PER_POSTCODE = 12
# One postcode pair per street, in the order of STREETS: made up, in Reading's RG1/RG2 form.
_POSTCODES = (
    ("RG1 7AA", "RG1 7AB"),
    ("RG1 4AA", "RG1 4AB"),
    ("RG2 0AA", "RG2 0AB"),
    ("RG2 0BA", "RG2 0BB"),
    ("RG1 8AA", "RG1 8AB"),
    ("RG1 7BA", "RG1 7BB"),
    ("RG6 1AA", "RG6 1AB"),
    ("RG1 5AA", "RG1 5AB"),
)
_METRES_PER_DEGREE = 111_320.0


def _street_start(n: int) -> tuple[float, float]:
    """Streets radiate from the centre: street n starts 600 m out, at n eighths of a turn."""
    angle = 2 * math.pi * n / len(STREETS)
    lat = TOWN_CENTRE[0] + 600 * math.cos(angle) / _METRES_PER_DEGREE
    scale = _METRES_PER_DEGREE * math.cos(math.radians(TOWN_CENTRE[0]))
    return lat, TOWN_CENTRE[1] + 600 * math.sin(angle) / scale


def _build() -> dict[str, list[Address]]:
    book: dict[str, list[Address]] = {}
    for n, (street, pair) in enumerate(zip(STREETS, _POSTCODES, strict=True)):
        lat0, lon0 = _street_start(n)
        angle = 2 * math.pi * n / len(STREETS)
        for half, postcode in enumerate(pair):
            houses = []
            for h in range(HOUSES_PER_POSTCODE):
                number = half * HOUSES_PER_POSTCODE + h + 1
                out = 15.0 * number  # 15 m a house, outwards along the street
                lat = lat0 + out * math.cos(angle) / _METRES_PER_DEGREE
                lon = lon0 + out * math.sin(angle) / (
                    _METRES_PER_DEGREE * math.cos(math.radians(lat0))
                )
                uprn = f"99{n:02d}{half:02d}{number:06d}"
                line = f"{number} {street.upper()}, READING, {postcode}"
                houses.append(Address(uprn, line, postcode, round(lat, 6), round(lon, 6)))
            book[postcode] = houses
    return book


GAZETTEER = _build()
POSTCODES = tuple(GAZETTEER)


def look_up(postcode: str) -> list[Address]:
    """The demo addresses at a normalised postcode (none for a postcode not in the demo)."""
    return list(GAZETTEER.get(postcode, ()))
