"""Shared rules for strings on the wire."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache

from app.errors import InvalidInput

# Free text: not blank, and no NUL characters (PostgreSQL text cannot store them).
# Written to match in linear time (no backtracking between two starred classes).
TEXT_PATTERN = r"^\s*[^\x00\s][^\x00]*$"


@lru_cache(maxsize=1)
def time_zone_names() -> frozenset[str]:
    """IANA zone names, minus the server-dependent "localtime"."""
    return frozenset(zoneinfo.available_timezones() - {"localtime"})


def check_time_zone(name: str, field: str = "time_zone") -> zoneinfo.ZoneInfo:
    if name not in time_zone_names():
        raise InvalidInput.field(field, f"unknown IANA time zone {name!r}")
    return zoneinfo.ZoneInfo(name)
