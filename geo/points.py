"""Points as PostGIS geography, for SQL that other modules compose: longitude comes first."""

from __future__ import annotations


def geography_point(lat: str, lon: str) -> str:
    """SQL for a WGS 84 geography point from two SQL expressions (columns or parameters)."""
    return f"ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography"
