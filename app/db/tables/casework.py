"""Clients (0003) and their needs (0004)."""

from __future__ import annotations

from geoalchemy2 import Geography
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, TSTZMULTIRANGE, UUID

from app.db.tables.base import (
    DBS_LEVELS,
    created_at,
    id_column,
    metadata,
    one_of,
    org_id_column,
    updated_at,
    user_ref,
)
from matching.model import Dispatch, Mode, Urgency
from matching.status import NeedStatus

# -- clients (0003) --------------------------------------------------------------------------
# The people a caseworker's organisation helps: personal (often special-category) data, so
# staff only, every read audited, and erasure anonymises the row in place rather than
# deleting it, keeping a coarse location for area statistics.
clients = Table(
    "clients",
    metadata,
    id_column(),
    org_id_column(),
    Column("name", Text, nullable=False),
    Column("phone", Text),
    Column("email", Text),
    Column("address", Text),
    Column("location", Geography("POINT", srid=4326)),  # NULL: a remote-only client
    Column("uprn", Text),  # from the address lookup by postcode (0024); NULL otherwise
    Column("notes", Text),
    Column("safeguarding_flags", ARRAY(Text), nullable=False, server_default="{}"),
    Column("preferred_language", Text),  # ISO 639-1
    Column("external_id", Text),  # the organisation's own reference, an import's key (0035)
    user_ref("created_by"),
    created_at(),
    updated_at(),
    Column("erased_at", DateTime(timezone=True)),
    CheckConstraint(
        "erased_at IS NULL OR (phone IS NULL AND email IS NULL AND address IS NULL"
        " AND notes IS NULL AND safeguarding_flags = '{}' AND uprn IS NULL)",
        name="erased_holds_no_personal_data",
    ),
    CheckConstraint("uprn ~ '^[0-9]{1,12}$'", name="uprn_digits"),
)
Index("ix_clients_org_created", clients.c.org_id, clients.c.created_at, clients.c.id)
Index(
    "ix_clients_external_id",
    clients.c.org_id,
    clients.c.external_id,
    unique=True,
    postgresql_where=clients.c.external_id.is_not(None),
)

# -- needs (0004) ----------------------------------------------------------------------------
needs = Table(
    "needs",
    metadata,
    id_column(),
    org_id_column(),
    Column("programme_id", UUID(as_uuid=True), ForeignKey("programmes.id"), nullable=False),
    Column("client_id", UUID(as_uuid=True), ForeignKey("clients.id")),
    Column("title", Text, nullable=False),
    Column("description", Text),
    Column("mode", Text, nullable=False),
    # Exact: for the assigned volunteer only. Coarse: a fixed ~500 m grid cell for everyone
    # else, the same on every read so it cannot be averaged back to the address.
    Column("location", Geography("POINT", srid=4326)),
    Column("coarse_location", Geography("POINT", srid=4326)),
    Column("required_skills", ARRAY(Text), nullable=False, server_default="{}"),
    Column("languages", ARRAY(Text), nullable=False, server_default="{}"),
    Column("min_vetting", Text, nullable=False),
    Column("windows", TSTZMULTIRANGE, nullable=False),
    Column("duration_minutes", SmallInteger, nullable=False),
    Column("slots", SmallInteger, nullable=False),
    Column("filled", SmallInteger, nullable=False, server_default="0"),
    Column("urgency", Text, nullable=False, server_default="normal"),
    Column("dispatch", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("series_id", UUID(as_uuid=True)),
    Column("series_index", SmallInteger),
    Column("recurrence", Text),
    Column(
        "continuity_volunteer_id", UUID(as_uuid=True), ForeignKey("users.id", ondelete="SET NULL")
    ),
    Column("continuity_same_as_last", Boolean, nullable=False, server_default=text("false")),
    Column("cancel_reason", Text),
    # The offer cascade (0005): when its next step is due (a wave, an expiry, closing the
    # offers of a filled need), how many waves went out, and whether a person was called in.
    Column("next_step_at", DateTime(timezone=True)),
    Column("waves_sent", SmallInteger, nullable=False, server_default="0"),
    Column("first_offer_at", DateTime(timezone=True)),
    Column("filled_at", DateTime(timezone=True)),
    Column("escalated_at", DateTime(timezone=True)),
    Column("escalation_reason", Text),
    Column("outcome", Text),
    Column("outcome_note", Text),
    Column("outcome_at", DateTime(timezone=True)),
    user_ref("created_by"),
    created_at(),
    updated_at(),
    Column("status_changed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint(f"mode IN {one_of(Mode)}", name="mode"),
    CheckConstraint("(mode = 'remote') = (location IS NULL)", name="location_by_mode"),
    CheckConstraint(f"min_vetting IN {one_of(DBS_LEVELS)}", name="min_vetting"),
    CheckConstraint(f"status IN {one_of(NeedStatus)}", name="status"),
    CheckConstraint(f"urgency IN {one_of(Urgency)}", name="urgency"),
    CheckConstraint(f"dispatch IN {one_of(Dispatch)}", name="dispatch"),
    CheckConstraint("slots BETWEEN 1 AND 500 AND filled BETWEEN 0 AND slots", name="slots"),
    CheckConstraint("duration_minutes BETWEEN 5 AND 1440", name="duration"),
    CheckConstraint("NOT isempty(windows)", name="has_windows"),
)
Index("ix_needs_org_created", needs.c.org_id, needs.c.created_at, needs.c.id)
Index("ix_needs_org_status", needs.c.org_id, needs.c.status)
Index("ix_needs_windows", needs.c.windows, postgresql_using="gist")
Index("ix_needs_series", needs.c.series_id, needs.c.series_index)
Index("ix_needs_client", needs.c.client_id)
Index("ix_needs_next_step", needs.c.next_step_at, postgresql_where=needs.c.next_step_at.isnot(None))
