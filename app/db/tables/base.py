"""The shared metadata, naming convention, vocabularies and column helpers."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    MetaData,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID

from matching.model import ProgrammeKind, TravelMode
from matching.vetting import DbsLevel

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

ORG_KINDS = ("council", "nhs_trust", "charity", "other")
ROLES = ("volunteer", "caseworker", "coordinator", "org_admin")
MEMBERSHIP_STATUSES = ("pending", "approved", "suspended")
TRAVEL_MODES = tuple(m.value for m in TravelMode)
PROGRAMME_KINDS = tuple(k.value for k in ProgrammeKind)
DBS_LEVELS = tuple(level.value for level in DbsLevel)


def one_of(values: Iterable[str]) -> str:
    """A CHECK constraint's `IN` list, from an enum (StrEnum members are strings) or a
    vocabulary: `one_of(OfferStatus)` is `('pending', 'accepted', ...)`."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


def id_column() -> Column[object]:
    return Column(
        "id", UUID(as_uuid=True), primary_key=True, server_default=text("gen_random_uuid()")
    )


def created_at() -> Column[object]:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def updated_at() -> Column[object]:
    return Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now())


def org_id_column() -> Column[object]:
    return Column(
        "org_id",
        UUID(as_uuid=True),
        ForeignKey("organisations.id", ondelete="CASCADE"),
        nullable=False,
    )


def user_ref(name: str) -> Column[object]:
    return Column(name, UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL"))
