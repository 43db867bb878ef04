"""Service areas: coordinators' polygons, with the state of their gap alert (0006); the
worker's supply snapshots behind the coverage maps (0008, 0017)."""

from __future__ import annotations

from geoalchemy2 import Geography, Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSTZRANGE, UUID

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


# A scope's supply on the hexagon grid, for the period starting at `period_start` (a scope:
# one organisation, or the set one member of staff works across, 0020; `scope_id` names it,
# app/coverage/supply.py: scope_id): every resolution, recomputed whole by the worker and
# swapped in one transaction. Tiles and hexagons for the current week read it instead of
# recomputing.
# `volunteers`: those with hours to give whose radius reaches the cell; `supply_hours`: the sum
# of their capped hours (what could reach it; the map shows coverage_need_supply's shares).
def _scope_id_column() -> Column[object]:
    return Column(
        "scope_id",
        UUID(as_uuid=True),
        ForeignKey("coverage_snapshots.scope_id", ondelete="CASCADE"),
        nullable=False,
    )


coverage_snapshots = Table(
    "coverage_snapshots",
    metadata,
    Column("scope_id", UUID(as_uuid=True), primary_key=True),
    Column("org_ids", ARRAY(UUID(as_uuid=True)), nullable=False),
    Column("period_start", DateTime(timezone=True), nullable=False),
    Column("period_end", DateTime(timezone=True), nullable=False),
    Column("refreshed_at", DateTime(timezone=True), nullable=False),
    Column("volunteers", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    # The expected share of offers accepted its supply was computed with (0028), and the
    # answered offers it rests on.
    Column("acceptance", Float, nullable=False, server_default="1"),
    Column("acceptance_offers", Integer, nullable=False, server_default="0"),
)

coverage_supply = Table(
    "coverage_supply",
    metadata,
    _scope_id_column(),
    Column("resolution", SmallInteger, nullable=False),
    Column("i", Integer, nullable=False),
    Column("j", Integer, nullable=False),
    Column("volunteers", Integer, nullable=False),
    Column("on_duty", Integer, nullable=False),
    Column("supply_hours", Float, nullable=False),
    PrimaryKeyConstraint("scope_id", "resolution", "i", "j"),
)

# Each open need's accessible supply hours (E2SFCA, matching/coverage.py) at the same refresh:
# a cell's supply on the map is the sum over its needs (0017).
coverage_need_supply = Table(
    "coverage_need_supply",
    metadata,
    _scope_id_column(),
    Column("need_id", UUID(as_uuid=True), nullable=False),
    Column("supply_hours", Float, nullable=False),
    PrimaryKeyConstraint("scope_id", "need_id"),
)

# The coverage measure's facts per volunteer, kept by the worker (0033, geo/volunteer_facts.py):
# one row per approved volunteer membership that is not barred. Whatever depends on the
# period (hours available and committed in it, whether the vetting lasts through it, duty
# at the instant) is decided per view from these columns: `level_until` is the expiry of an
# identity-verified check (NULL: none holds), `spans` the volunteer's availability, `words`
# their skills and `lang:` languages. `person` numbers the user (their rows share it).
coverage_volunteer_facts = Table(
    "coverage_volunteer_facts",
    metadata,
    org_id_column(),
    Column(
        "user_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    ),
    Column("person", BigInteger, nullable=False),
    Column("home", Geography("POINT", srid=4326), nullable=False),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("km", Float, nullable=False),
    Column("cap", Float, nullable=False),
    Column("on_duty", Boolean, nullable=False),
    Column("on_duty_until", DateTime(timezone=True)),
    Column("level", Text, nullable=False),
    Column("level_until", Date),
    Column("words", ARRAY(Text), nullable=False),
    Column("spans", ARRAY(TSTZRANGE), nullable=False),
    PrimaryKeyConstraint("org_id", "user_id"),
)
Index("ix_coverage_volunteer_facts_user", coverage_volunteer_facts.c.user_id)

# When the facts were last brought up to date (`refreshed_at`: every queued change applied)
# and last rebuilt whole; one row.
coverage_volunteer_facts_state = Table(
    "coverage_volunteer_facts_state",
    metadata,
    Column("id", SmallInteger, primary_key=True),
    Column("refreshed_at", DateTime(timezone=True), nullable=False),
    Column("rebuilt_at", DateTime(timezone=True), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("seconds", Float, nullable=False),
    # A new random id whenever any row was rewritten (decisions.md, 66: in-process copies).
    Column("version", UUID(as_uuid=True), nullable=False, server_default=text("gen_random_uuid()")),
    CheckConstraint("id = 1", name="one_row"),
)

# Users whose facts changed since the job last ran (statement triggers on volunteers,
# memberships, vetting_checks and volunteer_availability).
coverage_volunteer_changes = Table(
    "coverage_volunteer_changes",
    metadata,
    Column("user_id", UUID(as_uuid=True), primary_key=True),
)

__all__ = [
    "coverage_need_supply",
    "coverage_snapshots",
    "coverage_supply",
    "coverage_volunteer_changes",
    "coverage_volunteer_facts",
    "coverage_volunteer_facts_state",
    "service_areas",
]
