"""Where a volunteer's data lives, what their export shows of it, and what erasure keeps.

Pure data and a pure rule: `tests/unit/rights/test_inventory.py` fails when a table gains a
column that points at a person (a foreign key to `users` or `volunteers`, or a `*user_id` /
`*volunteer_id` name) without it being exported, withheld with a reason, or named as the
person who acted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from uuid import UUID

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]

from app.rights.schemas import Kept

DEFAULT_RETENTION_MONTHS = 72

# "table.column" -> the export's field that holds those rows.
EXPORTED: dict[str, str] = {
    "users.id": "account",
    "volunteers.user_id": "profile, live_location",
    "volunteer_availability.user_id": "availability",
    "memberships.user_id": "memberships",
    "vetting_checks.user_id": "vetting_checks",
    "devices.user_id": "devices",
    "contact_channels.user_id": "channels",
    "offers.volunteer_id": "offers",
    "assignments.volunteer_id": "assignments",
    "outbox.user_id": "messages",
    "audit_log.subject_id": "audit",
}

# Held about them but not in the export, and why: shown in the export as `not_included`.
WITHHELD: dict[str, str] = {
    "idempotency_keys.user_id": "the app's retry keys, each with the first answer it got, kept "
    "24 hours: they repeat answers the app was given at the time",
    "reply_codes.volunteer_id": "the four-digit codes for answering an offer by text, gone "
    "with the offer",
    "client_exclusions.volunteer_id": "a decision keeping them away from a client is the "
    "client's own information or a safeguarding decision; ask the organisation, which "
    "decides what it can tell them",
    "needs.continuity_volunteer_id": "a client's wish to see the same volunteer again is the "
    "client's information",
    "staff_digests.user_id": "staff only: GET /v1/volunteers/me/channels/digest shows it",
    "plans.choices": "a coordinator's draft plan naming them among others, until it becomes "
    "offers (which are in `offers`)",
    "volunteer_imports.verdicts": "an organisation's uploaded file and its checks, held until "
    "it is applied; the result is in `profile` and `memberships`",
    "coverage_volunteer_facts.user_id": "a copy for the coverage maps of what `profile`, "
    "`memberships`, `vetting` and `availability` hold, rewritten from them by the worker "
    "(an erasure queues it: unread from then, gone at the job's next run)",
    "coverage_volunteer_changes.user_id": "only marks that their coverage facts are to be "
    "rewritten, until the worker's next run",
}

# Columns that name who did something (a member of staff, or the person themselves) on a
# record that is exported or withheld on its own account.
ACTORS: frozenset[str] = frozenset(
    {
        "audit_log.actor_user_id",
        "assignments.ended_by",
        "client_exclusions.created_by",
        "clients.created_by",
        "invitations.claimed_by",
        "invitations.invited_by",
        "memberships.created_by",
        "memberships.status_changed_by",
        "needs.created_by",
        "offers.created_by",
        "plans.created_by",
        "service_areas.created_by",
        "vetting_checks.recorded_by",
        "volunteer_imports.applied_by",
        "volunteer_imports.created_by",
    }
)

DELETED: tuple[str, ...] = (
    "your volunteer profile: name, home location, live location, travel, skills, languages, "
    "hours, quiet hours and preferences",
    "your availability",
    "your devices and their push tokens",
    "your phone numbers, e-mail addresses and channel order",
    "your enrolments in every organisation, with any reference the organisation gave you",
    "the staff's notes on your DBS checks, and your reasons for declining offers",
    "messages to you, sent or waiting, and your reply codes",
    "the name, e-mail and sign-in identity on your account",
)

SIGN_IN = (
    "Your sign-in account stays with the identity provider (Firebase), which Codeliver does "
    "not control; Codeliver no longer links it to you. Signing in again starts a new, empty "
    "account with no organisations and nothing of the old one."
)

_SAFEGUARDING = (
    "Safeguarding: an organisation must be able to show whom it checked and sent to "
    "vulnerable people, and a concern can come to light years later (UK GDPR Article "
    "17(3)(b) and (e))."
)


def kept(retention: Iterable[tuple[UUID, int | None]], erased_on: date) -> list[Kept]:
    """What erasure keeps, per organisation (its retention in months, counted from the
    erasure), under the pseudonym: never a name, contact detail or location."""
    out: list[Kept] = []
    for org_id, months in sorted(retention, key=lambda r: str(r[0])):
        until: date = erased_on + relativedelta(months=months or DEFAULT_RETENTION_MONTHS)
        out += [
            Kept(
                what="DBS check records: level, dates, whether identity was verified, any "
                "barring, and who recorded them (without the staff's notes)",
                why=_SAFEGUARDING,
                org_id=org_id,
                until=until,
            ),
            Kept(
                what="past assignments, no-shows included, with their times, outcome and the "
                "visit notes; decisions keeping you away from a client; offers made to you "
                "on each need's record",
                why=_SAFEGUARDING,
                org_id=org_id,
                until=until,
            ),
        ]
    out.append(
        Kept(
            what="the audit log's rows about you and by you",
            why="The log shows who read and changed personal data, and cannot be altered; "
            "it carries your reference, never your name or contact details.",
            org_id=None,
            until=None,
        )
    )
    return out
