"""Table definitions (SQLAlchemy Core). Migrations must agree with these: a test checks.

Every tenant-owned table carries `org_id` and has row-level security enabled in its
migration; a test fails if a table with `org_id` lacks it.
"""

from app.db.tables.base import metadata
from app.db.tables.casework import clients, needs
from app.db.tables.coverage import (
    coverage_need_supply,
    coverage_snapshots,
    coverage_supply,
    coverage_volunteer_changes,
    coverage_volunteer_facts,
    coverage_volunteer_facts_state,
    service_areas,
)
from app.db.tables.identity import (
    audit_log,
    invitations,
    memberships,
    organisations,
    rate_buckets,
    users,
)
from app.db.tables.imports import volunteer_imports
from app.db.tables.matching import (
    assignments,
    client_exclusions,
    idempotency_keys,
    offers,
    outbox,
    plans,
)
from app.db.tables.notify import (
    contact_channels,
    notify_rate,
    notify_replies,
    reply_codes,
    staff_digests,
)
from app.db.tables.volunteering import (
    devices,
    programmes,
    skills,
    vetting_checks,
    vetting_reminders,
    vetting_summaries,
    volunteer_availability,
    volunteers,
)

__all__ = [
    "assignments",
    "audit_log",
    "client_exclusions",
    "clients",
    "contact_channels",
    "coverage_need_supply",
    "coverage_snapshots",
    "coverage_supply",
    "coverage_volunteer_changes",
    "coverage_volunteer_facts",
    "coverage_volunteer_facts_state",
    "devices",
    "idempotency_keys",
    "invitations",
    "memberships",
    "metadata",
    "needs",
    "notify_rate",
    "notify_replies",
    "offers",
    "organisations",
    "outbox",
    "plans",
    "programmes",
    "rate_buckets",
    "reply_codes",
    "service_areas",
    "skills",
    "staff_digests",
    "users",
    "vetting_checks",
    "vetting_reminders",
    "vetting_summaries",
    "volunteer_availability",
    "volunteer_imports",
    "volunteers",
]
