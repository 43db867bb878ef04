"""Postcodes read as a caseworker types them, and each provider's answer read into
addresses: OS Places' DPA records, a postcodes.io centroid, the demo gazetteer."""

from __future__ import annotations

from typing import Any

import pytest

from app import demo_gazetteer
from geo.geocoding import (
    POSTCODE_HELP,
    Address,
    InvalidPostcode,
    LookupFailed,
    normalise_postcode,
    parse_os_places,
    parse_postcodes_io,
    valid_uprn,
)


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("rg1 1aa", "RG1 1AA"),
        ("RG11AA", "RG1 1AA"),
        ("  rg1   1aa ", "RG1 1AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("m1 1ae", "M1 1AE"),
        ("b33 8th", "B33 8TH"),
        ("cr2 6xh", "CR2 6XH"),
        ("dn55 1pt", "DN55 1PT"),
        ("w1a 0ax", "W1A 0AX"),
        ("ec1a 1bb", "EC1A 1BB"),
        ("gir 0aa", "GIR 0AA"),
        ("rg1\u00a01aa", "RG1 1AA"),
    ],
)
def test_postcodes_are_normalised(typed: str, normal: str) -> None:
    assert normalise_postcode(typed) == normal


@pytest.mark.parametrize(
    "typed", ["RG1", "RG1 1A", "1RG 1AA", "RG1 AAA", "RGX 1AA", "RG1 1AA1", "ABC1 1AA", "RG1-1A!"]
)
def test_what_is_not_a_postcode_says_what_to_enter(typed: str) -> None:
    with pytest.raises(InvalidPostcode, match=POSTCODE_HELP):
        normalise_postcode(typed)


def test_an_empty_postcode_asks_for_one() -> None:
    with pytest.raises(InvalidPostcode, match="Enter a postcode"):
        normalise_postcode("   ")


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("100021234567", "100021234567"),
        (310012345, "310012345"),
        ("1234567890123", None),
        ("12a", None),
        ("", None),
        (None, None),
        (" 42 ", "42"),
    ],
)
def test_uprns_are_up_to_12_digits(value: Any, valid: str | None) -> None:
    assert valid_uprn(value) == valid


def _dpa(uprn: Any, address: str, lat: Any = 51.45, lng: Any = -0.97) -> dict[str, Any]:
    return {
        "DPA": {"UPRN": uprn, "ADDRESS": address, "LAT": lat, "LNG": lng, "POSTCODE": "RG1 1AA"}
    }


def test_os_places_results_become_addresses_in_street_order() -> None:
    payload = {
        "header": {"totalresults": 4},
        "results": [
            _dpa("310000000010", "10, FRIAR STREET, READING, RG1 1AA", 51.4561, -0.9721),
            _dpa("310000000002", "2, FRIAR STREET, READING, RG1 1AA"),
            _dpa("not-a-uprn", "3, FRIAR STREET, READING, RG1 1AA"),  # cannot be stored
            _dpa("310000000005", "5, FRIAR STREET, READING, RG1 1AA", lat=None),  # no point
            {"LPI": {"UPRN": "310000000009"}},  # another dataset's record
        ],
    }
    found = parse_os_places(payload, "RG1 1AA")
    assert [a.uprn for a in found] == ["310000000002", "310000000010"]
    assert found[1] == Address(
        "310000000010", "10, FRIAR STREET, READING, RG1 1AA", "RG1 1AA", 51.4561, -0.9721
    )
    assert found[0].key == "310000000002"


def test_os_places_without_results_is_no_addresses() -> None:
    assert parse_os_places({"header": {"totalresults": 0}}, "RG1 1AA") == []


def test_an_unreadable_os_places_answer_is_a_failure() -> None:
    with pytest.raises(LookupFailed, match="could not be read"):
        parse_os_places(["not", "an", "object"], "RG1 1AA")


def test_a_postcodes_io_answer_is_the_postcodes_centre_without_a_uprn() -> None:
    payload = {
        "status": 200,
        "result": {"postcode": "RG1 1AA", "latitude": 51.45, "longitude": -0.97},
    }
    found = parse_postcodes_io(payload, "RG1 1AA")
    assert found == [Address(None, "", "RG1 1AA", 51.45, -0.97)]
    assert found[0].key == "centre:RG1 1AA"
    no_point = {
        "status": 200,
        "result": {"postcode": "RG1 1AA", "latitude": None, "longitude": None},
    }
    assert parse_postcodes_io(no_point, "RG1 1AA") == []
    with pytest.raises(LookupFailed):
        parse_postcodes_io({"status": 200}, "RG1 1AA")


def test_the_demo_gazetteer_is_deterministic_and_near_the_demo_town() -> None:
    assert len(demo_gazetteer.POSTCODES) == 16
    first = demo_gazetteer.POSTCODES[0]
    houses = demo_gazetteer.look_up(first)
    assert len(houses) == demo_gazetteer.HOUSES_PER_POSTCODE
    assert houses == demo_gazetteer.look_up(first)
    uprns = [a.uprn for pc in demo_gazetteer.POSTCODES for a in demo_gazetteer.look_up(pc)]
    assert len(set(uprns)) == len(uprns)
    assert all(u is not None and valid_uprn(u) == u and u.startswith("99") for u in uprns)
    for postcode in demo_gazetteer.POSTCODES:
        assert normalise_postcode(postcode) == postcode
        for a in demo_gazetteer.look_up(postcode):
            assert abs(a.lat - 51.4543) < 0.02
            assert abs(a.lon + 0.9781) < 0.03
            assert a.line.endswith(postcode)
    assert demo_gazetteer.look_up("SW1A 1AA") == []
