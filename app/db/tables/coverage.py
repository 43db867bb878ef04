"""Service areas: coordinators' polygons, with the state of their gap alert (0006)."""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Integer,
    Table,
    Text,
    UniqueConstraint,
)

from app.db.tables.base import created_at, id_column, metadata, org_id_column, updated_at, user_ref

# `boundary` is planar WGS 84 (geometry, not geography): tiles and hexagons are cut from it in
# Web Mercator. The alert columns are the worker's state machine: `gap_since` is set while the
# unfilled demand is above the threshold, `alerted_at` once the coordinators were told; both
# clear when the area recovers, which re-arms the alert.
service_areas = Table(
    "service_areas",
    metadata,
    id_column(),
    org_id_column(),
    Column("name", Text, nullable=False),
    Column("boundary", Geometry("MULTIPOLYGON", srid=4326), nullable=False),
    Column("alert_threshold_hours", Float, nullable=False, server_default="8"),
    Column("alert_after_minutes", Integer, nullable=False, server_default="60"),
    Column("gap_since", DateTime(timezone=True)),
    Column("alerted_at", DateTime(timezone=True)),
    Column("last_demand_hours", Float),
    Column("checked_at", DateTime(timezone=True)),
    user_ref("created_by"),
    created_at(),
    updated_at(),
    UniqueConstraint("org_id", "name", name="uq_service_areas_org_name"),
    CheckConstraint("alert_threshold_hours >= 0", name="threshold"),
    CheckConstraint("alert_after_minutes BETWEEN 0 AND 10080", name="alert_after"),
    CheckConstraint("alerted_at IS NULL OR gap_since IS NOT NULL", name="alert_needs_gap"),
)

__all__ = ["service_areas"]
