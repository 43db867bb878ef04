"""Shared rules for strings on the wire."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated

import msgspec

from app.errors import InvalidInput

# Instants the API accepts: RFC 3339 with an offset, in the years 2000..2100. Far enough for
# any real plan or report, and well inside what period arithmetic (a week, 30 days) and the
# database can hold: year 1 is stored as -infinity, year 9999 plus a week overflows.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)  # exclusive
INSTANT_RANGE = "RFC 3339 with an offset, years 2000..2100, e.g. 2025-05-01T09:00:00Z"
INSTANT_PATTERN = (
    r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
_INSTANT = re.compile(INSTANT_PATTERN)

# Whitespace as both regex engines read it: `\s` differs between Python (which adds
# U+001C-U+001F and U+0085) and ECMA-262, which the document's readers use (it adds U+FEFF).
# Naming the difference makes the server and the document's patterns agree on every string.
_SPACE = r"\s\x1c-\x1f\x85\ufeff"

# An e-mail address, loosely: something@something.something, no spaces or control characters.
_ADDRESS_PART = rf"[^@{_SPACE}\x00-\x1f\x7f]+"
EMAIL_PATTERN = rf"^{_ADDRESS_PART}@{_ADDRESS_PART}\.{_ADDRESS_PART}$"
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=EMAIL_PATTERN)]

# A list the use case refuses with duplicates (vocabulary.check_unique): msgspec has no
# constraint for it, so the document states it (msgspec.Meta(extra_json_schema=UNIQUE)).
UNIQUE = {"uniqueItems": True}

# A local wall-clock time as msgspec decodes it into datetime.time, without an offset.
WALL_CLOCK_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?$"

# Free text: not blank, and no NUL characters (PostgreSQL text cannot store them).
# Written to match in linear time (no backtracking between two starred classes).
TEXT_PATTERN = rf"^[{_SPACE}]*[^\x00{_SPACE}][^\x00]*$"


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    """IANA zone names, minus the server-dependent "localtime"."""
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def check_time_zone(name: str, field: str = "time_zone") -> zoneinfo.ZoneInfo:
    if name not in time_zone_names():
        raise InvalidInput.field(field, f"unknown IANA time zone {name!r}")
    return zoneinfo.ZoneInfo(name)


def check_instant(value: datetime, field: str) -> datetime:
    """`value`, if it has an offset and lies in the accepted range; else a 422 naming `field`."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput.field(field, "needs a UTC offset (RFC 3339)")
    # The years as written, before the offset, as INSTANT_PATTERN states them:
    # 2000-01-01T00:20+01:32 is 1999 in UTC yet documented valid (a few hours either side
    # of the range cannot overflow anything).
    if not EARLIEST <= value.replace(tzinfo=UTC) < LATEST:
        raise InvalidInput.field(field, "must be within the years 2000..2100")
    return value


def parse_instant(text: str, field: str) -> datetime:
    """An instant from a string: RFC 3339 with an offset (no bare numbers, no naive times)."""
    if not _INSTANT.match(text):
        raise InvalidInput.field(field, f"must be {INSTANT_RANGE}")
    try:
        value = datetime.fromisoformat(text.upper())
    except ValueError as exc:
        raise InvalidInput.field(field, f"not a valid date-time: {exc}") from exc
    return check_instant(value, field)
