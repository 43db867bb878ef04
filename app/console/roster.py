"""The console's roster: an organisation's volunteers for its coordinators and org admins,
filtered as the API filters them (`GET /v1/volunteers`, `app/volunteers/coordination.py`:
status, a programme whose needs their check lets them take, a DBS level, a check lapsing
within 30, 60 or 90 days, lapsed or missing, no-shows), a page at a time by the API's
cursor. Every volunteer listed is an audited read, as the API's are. A filter that is not
one of the form's choices is shown on its field, nothing listed. Caseworkers see the
console's forbidden page. No SQL here."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from app.console.i18n import N_, Problem
from app.console.members import Step, managed_org
from app.console.org_settings import LEVELS
from app.console.views import zone_of, zones
from app.db.tenancy import Tx, tenant_transaction
from app.identity.tokens import TokenIdentity
from app.programmes import service as programmes
from app.volunteers import coordination
from app.volunteers.coordination import RosterEntry
from app.volunteers.roster_filters import RosterFilter, VettingFilter
from app.volunteers.schemas import VettingStatus
from matching.vetting import DbsLevel, days_left

PAGE = "volunteers.html.j2"
PAGE_SIZE = 50
MOST_PROGRAMMES = 200
FIELDS = ("status", "programme", "level", "check", "no_shows")
SOON = 90  # days: a check lapsing within this many is shown as "lapses in N days"
STATUSES = {
    "pending": N_("Pending"),
    "approved": N_("Approved"),
    "suspended": N_("Suspended"),
}
STATUS_TAGS = {"pending": "blue", "approved": "green", "suspended": "red"}
CHECKS = {
    "valid": N_("Valid today"),
    "30": N_("Lapses within 30 days"),
    "60": N_("Lapses within 60 days"),
    "90": N_("Lapses within 90 days"),
    "lapsed": N_("Lapsed"),
    "none": N_("No check recorded"),
}
NO_SHOWS = {"yes": N_("Has missed a visit"), "no": N_("Has never missed a visit")}
CHOOSE = N_("Select one of the choices in the list")


def _errors(errors: list[Problem]) -> dict[str, Any]:
    return {"errors": errors, "by_field": {e.field: e.message for e in errors}}


def read_filters(
    chosen: dict[str, str], programme_ids: set[UUID]
) -> tuple[RosterFilter, list[Problem]]:
    """The form's choices as the API's filter; a value not among them is an error on its
    field."""
    errors = [Problem(name, CHOOSE) for name in FIELDS if not _allowed(name, chosen[name])]
    programme = None
    if chosen["programme"] and "programme" not in {e.field for e in errors}:
        programme = UUID(chosen["programme"])
        if programme not in programme_ids:
            errors.append(Problem("programme", CHOOSE))
    check = chosen["check"]
    vetting = None
    within = 30
    if check in ("30", "60", "90"):
        vetting, within = VettingFilter.LAPSING, int(check)
    elif check in CHECKS:
        vetting = VettingFilter(check)
    filters = RosterFilter(
        status=chosen["status"] if chosen["status"] in STATUSES else None,
        vetting=vetting,
        within_days=within,
        level=DbsLevel(chosen["level"]) if chosen["level"] in LEVELS else None,
        no_shows={"yes": True, "no": False}.get(chosen["no_shows"]),
        programme=programme,
    )
    return filters, errors


def _allowed(name: str, value: str) -> bool:
    if not value:
        return True
    if name == "programme":
        try:
            UUID(value)
        except ValueError:
            return False
        return True
    choices: dict[str, set[str]] = {
        "status": set(STATUSES),
        "level": {level.value for level in LEVELS},
        "check": set(CHECKS),
        "no_shows": set(NO_SHOWS),
    }
    return value in choices[name]


def check_state(vetting: VettingStatus | None, today: date) -> dict[str, Any]:
    """A check as the page words it (never by colour alone): none, barred, lapsed, lapsing
    in N days, or valid until its day."""
    if vetting is None or vetting.level is DbsLevel.NONE or vetting.expires_on is None:
        return {"state": "none", "tag": "grey"}
    if vetting.barred:
        return {"state": "barred", "tag": "red"}
    left = days_left(vetting.expires_on, today)
    if left <= 0:
        return {"state": "lapsed", "tag": "red"}
    if left <= SOON:
        return {"state": "lapsing", "tag": "orange", "left": left}
    return {"state": "valid", "tag": "green"}


def org_today(tx: Tx, zoned: dict[UUID, Any], org_id: UUID) -> date:
    return tx.now.astimezone(zone_of(zoned, org_id)).date()


def row(entry: RosterEntry, today: date) -> dict[str, Any]:
    return {"v": entry, "check": check_state(entry.vetting, today)}


def query_of(org_id: UUID, chosen: dict[str, str], cursor: str | None = None) -> str:
    """The roster's address with these filters (and the next page's cursor)."""
    values = {"org": str(org_id)} | {k: v for k, v in chosen.items() if v}
    if cursor:
        values["cursor"] = cursor
    return "/console/volunteers?" + urlencode(values)


async def roster_page(
    db: AsyncEngine,
    identity: TokenIdentity,
    org: str | None,
    chosen: dict[str, str],
    cursor: str | None,
) -> Step:
    async with tenant_transaction(db, identity) as tx:
        org_id, managed = await managed_org(tx, org)
        found, _ = await programmes.list_programmes(
            tx, org_id=org_id, limit=MOST_PROGRAMMES, cursor=None
        )
        filters, errors = read_filters(chosen, {p.id for p in found})
        entries: list[RosterEntry] = []
        next_cursor = None
        if not errors:
            entries, next_cursor = await coordination.roster(
                tx, org_id=org_id, filters=filters, limit=PAGE_SIZE, cursor=cursor
            )
        zoned = await zones(tx)
        today = org_today(tx, zoned, org_id)
    context = {
        "nav": "volunteers",
        "org_id": org_id,
        "orgs": managed,
        "org_name": dict(managed).get(org_id, ""),
        "zones": zoned,
        "chosen": chosen,
        "programmes": [(p.id, p.name) for p in found],
        "statuses": STATUSES,
        "status_tags": STATUS_TAGS,
        "levels": LEVELS,
        "filter_levels": [(k.value, w) for k, w in LEVELS.items() if k is not DbsLevel.NONE],
        "checks": CHECKS,
        "no_show_choices": NO_SHOWS,
        "rows": [row(e, today) for e in entries],
        "filtered": any(chosen.values()),
        "next_page": query_of(org_id, chosen, next_cursor) if next_cursor else None,
        "first_page": query_of(org_id, chosen) if cursor else None,
    }
    return Step(PAGE, context | _errors(errors), 422 if errors else 200)
