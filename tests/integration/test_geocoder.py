"""The real adapter (`app/geocoder.py`, httpx) against a fake OS Places and a fake
postcodes.io on 127.0.0.1: addresses with UPRNs and points, and each failure a reason a
caseworker can read, never the key."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest

from app.geocoder import geocoder_for
from app.settings import Settings, load_settings
from geo.geocoding import LookupFailed
from tests.fake_os_places import KEY, POSTCODE, FakeOsPlaces, point_of, serving

pytestmark = pytest.mark.anyio


@pytest.fixture
def fake() -> Iterator[FakeOsPlaces]:
    with serving(FakeOsPlaces()) as running:
        yield running


def _settings(fake: FakeOsPlaces, **changes: object) -> Settings:
    base = load_settings(
        {
            "CODELIVER_GEOCODER": "os_places",
            "CODELIVER_GEOCODER_URL": fake.url,
            "CODELIVER_OS_PLACES_KEY": KEY,
            "CODELIVER_GEOCODER_TIMEOUT_S": "1",
        }
    )
    return msgspec.structs.replace(base, **changes)


async def test_os_places_gives_each_address_its_uprn_and_point(fake: FakeOsPlaces) -> None:
    geocoder = geocoder_for(_settings(fake))
    assert geocoder is not None
    assert geocoder.gives_uprns
    found = await geocoder.look_up(POSTCODE)
    assert [a.line for a in found] == [
        "2, FRIAR STREET, READING, RG1 1AA",
        "10, FRIAR STREET, READING, RG1 1AA",  # numbers as numbers
        "FLAT 1, 4, FRIAR STREET, READING, RG1 1AA",
    ]
    assert found[0].uprn == "310012345602"
    assert (found[0].lat, found[0].lon) == point_of(2)
    asked = fake.calls[-1]
    assert asked["path"] == ["/postcode"]
    assert asked["postcode"] == [POSTCODE]
    assert asked["output_srs"] == ["WGS84"]
    assert await geocoder.look_up("SW1A 1AA") == []


@pytest.mark.parametrize(
    ("mode", "changes", "reason"),
    [
        ("down", {}, "OS Places had a problem (HTTP 500)"),
        ("ok", {"os_places_key": "wrong"}, "OS Places refused this service's key (HTTP 401)"),
        ("slow", {"geocoder_timeout_s": 0.3}, "OS Places did not answer within 0.3 seconds"),
    ],
)
async def test_each_failure_is_a_reason_without_the_key(
    fake: FakeOsPlaces, mode: str, changes: dict[str, object], reason: str
) -> None:
    fake.mode = mode
    geocoder = geocoder_for(_settings(fake, **changes))
    assert geocoder is not None
    with pytest.raises(LookupFailed) as failed:
        await geocoder.look_up(POSTCODE)
    assert failed.value.reason == reason
    assert KEY not in failed.value.reason
    assert "127.0.0.1" not in failed.value.reason


async def test_a_server_that_is_not_there_could_not_be_reached() -> None:
    unused = FakeOsPlaces()  # its port, never served
    geocoder = geocoder_for(_settings(unused))
    assert geocoder is not None
    with pytest.raises(LookupFailed, match="OS Places could not be reached"):
        await geocoder.look_up(POSTCODE)


async def test_a_postcodes_io_server_gives_the_postcodes_centre(fake: FakeOsPlaces) -> None:
    geocoder = geocoder_for(_settings(fake, geocoder="postcodes_io"))
    assert geocoder is not None
    assert not geocoder.gives_uprns
    (centre,) = await geocoder.look_up(POSTCODE)
    assert centre.uprn is None
    assert (centre.lat, centre.lon) == point_of(0)
    assert fake.calls[-1]["path"] == ["/postcodes/RG11AA"]
    assert await geocoder.look_up("SW1A 1AA") == []  # its 404 "Postcode not found"


def test_no_provider_is_no_geocoder() -> None:
    assert geocoder_for(load_settings({})) is None
