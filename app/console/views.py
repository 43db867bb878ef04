"""What each console page shows, read through the API's own use cases in the caller's
tenant transaction (row-level security as for the API): no SQL here, no second data path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from app.clients import service as clients
from app.console import i18n
from app.console.forms import (
    CONSOLE_TZ,
    LANGUAGES,
    URGENCIES,
    FormErrors,
    NeedForm,
    from_api,
    need_in,
)
from app.console.timeline import ESCALATIONS
from app.db.tenancy import Tx, tenant_transaction
from app.errors import FieldError, InvalidInput
from app.identity.principal import STAFF
from app.identity.tokens import TokenIdentity
from app.needs import service as needs
from app.needs.queue import work_queue
from app.needs.schemas import Need
from app.needs.status import NeedStatus
from app.orgs import service as orgs
from app.programmes import service as programmes
from app.volunteers import skills
from matching.model import ProgrammeKind

PAGE_SIZE = 20
QUEUE_SIZE = 10  # the work queue above the list: its first needs, then "and more"
REASON = "caseworker console"
MAX_CHOICES = 200  # clients and programmes offered in a select


async def zones(tx: Tx) -> dict[UUID, ZoneInfo]:
    """The time zones of the caller's organisations: every page that shows or reads a time
    puts them in its context (`zones`), and the templates' `when` and `moment` use them."""
    return {org: ZoneInfo(name) for org, name in (await orgs.time_zones(tx)).items()}


def zone_of(zones: Mapping[UUID, ZoneInfo], org_id: UUID | None = None) -> ZoneInfo:
    """The organisation's zone; with none named, the zone all the caller's organisations
    share; else the organisations' default."""
    if org_id is not None and org_id in zones:
        return zones[org_id]
    shared = set(zones.values())
    return shared.pop() if len(shared) == 1 else CONSOLE_TZ


def when(need: Need, zone: ZoneInfo, language: str = i18n.DEFAULT) -> str:
    """The first window, in `zone`: `Tue 9 March 2027, 10:00 to 11:00`."""
    if not need.windows:
        return ""
    first = need.windows[0]
    start, end = first.start.astimezone(zone), first.end.astimezone(zone)
    values = {"day": i18n.date_words(start, language), "start": f"{start:%H:%M}"}
    phrase = i18n.Phrase(i18n.N_("%(day)s, %(start)s to %(end)s"), values | {"end": f"{end:%H:%M}"})
    return i18n.translate(language, phrase)


STATUSES = {
    NeedStatus.DRAFT: i18n.N_("Draft"),
    NeedStatus.OPEN: i18n.N_("Open"),
    NeedStatus.PARTIALLY_FILLED: i18n.N_("Partially filled"),
    NeedStatus.FILLED: i18n.N_("Filled"),
    NeedStatus.IN_PROGRESS: i18n.N_("In progress"),
    NeedStatus.COMPLETED: i18n.N_("Completed"),
    NeedStatus.CANCELLED: i18n.N_("Cancelled"),
    NeedStatus.EXPIRED: i18n.N_("Expired"),
}
KINDS = {
    ProgrammeKind.COMMUNITY_SUPPORT: i18n.N_("Community support"),
    ProgrammeKind.FAMILY_INTERVENTION: i18n.N_("Family intervention"),
    ProgrammeKind.CO_PRODUCTION: i18n.N_("Co production"),
    ProgrammeKind.CO_DESIGN: i18n.N_("Co design"),
    ProgrammeKind.OTHER: i18n.N_("Other"),
}
# the words `status_label` shows, translated where the page shows them (`| t`)
LABELS: dict[str, str] = (
    STATUSES | KINDS | {u.value: label for u, label, _hint in URGENCIES} | ESCALATIONS
)


def status_label(status: str) -> str:
    """A need's status, urgency or escalation, or a programme's kind, in words (marked for
    the catalogue: the page translates them, `| t`)."""
    return LABELS.get(status) or status.replace("_", " ").capitalize()


async def _programme_names(tx: Tx) -> dict[UUID, Any]:
    items, _ = await programmes.list_programmes(tx, org_id=None, limit=MAX_CHOICES, cursor=None)
    return {p.id: p for p in items}


async def needs_page(
    db: AsyncEngine, identity: TokenIdentity, status: NeedStatus | None, cursor: str | None
) -> dict[str, Any]:
    async with tenant_transaction(db, identity) as tx:
        unfiltered = cursor is None and status is None  # the queue heads the whole list
        queue, more = (
            await work_queue(tx, limit=QUEUE_SIZE, reason=REASON) if unfiltered else ([], False)
        )
        items, next_cursor = await needs.list_needs(
            tx,
            status=status,
            programme_id=None,
            limit=PAGE_SIZE,
            cursor=cursor,
            reason=REASON,
        )
        names = await _programme_names(tx)
        zoned = await zones(tx)
    return {
        "zones": zoned,
        "needs": items,
        "queue": queue,
        "queue_more": more,
        "programmes": names,
        "next_cursor": next_cursor,
        "status": status.value if status else "",
        "statuses": [s.value for s in NeedStatus],
    }


async def _choices(tx: Tx) -> dict[str, Any]:
    org_id = tx.principal.acting_org(None, *STAFF)
    found, _ = await clients.list_clients(
        tx,
        org_id=org_id,
        include_erased=False,
        limit=MAX_CHOICES,
        cursor=None,
        reason="choosing the client of a need",
    )
    listed, _ = await programmes.list_programmes(tx, org_id=org_id, limit=MAX_CHOICES, cursor=None)
    zone = zone_of(await zones(tx), org_id)
    return {
        "zones": {org_id: zone},
        "zone_label": i18n.N_("UK time")
        if zone.key == CONSOLE_TZ.key
        else i18n.Phrase(i18n.N_("%(zone)s time"), {"zone": zone.key}),
        "clients": found,
        "programme_choices": listed,
        "skill_choices": await skills.vocabulary(tx, org_id),
    }


async def new_need_page(
    db: AsyncEngine,
    identity: TokenIdentity,
    form: NeedForm | None = None,
    errors: list[FieldError] | None = None,
) -> dict[str, Any]:
    async with tenant_transaction(db, identity) as tx:
        choices = await _choices(tx)
    errors = errors or []
    by_field = {e.field: e.message for e in errors}
    return choices | {
        "form": form or NeedForm(),
        "urgencies": [(u.value, label, hint) for u, label, hint in URGENCIES],
        "language_choices": LANGUAGES,
        "errors": errors,
        "by_field": by_field,
    }


@dataclass(frozen=True)
class Posted:
    need_id: UUID | None  # the need's page to go to, or the form again with its errors
    page: dict[str, Any] | None = None


async def post_need(db: AsyncEngine, identity: TokenIdentity, form: NeedForm) -> Posted:
    """The API's create, in its own transaction: on any error it rolls back whole (nothing
    half-written), and the form comes back with each error on its field."""
    try:
        async with tenant_transaction(db, identity) as tx:
            zone = zone_of(await zones(tx), tx.principal.acting_org(None, *STAFF))
            made = await needs.create(tx, need_in(form, zone))
    except FormErrors as exc:
        return Posted(None, await new_need_page(db, identity, form, exc.errors))
    except InvalidInput as exc:
        errors = from_api(exc.errors) or [FieldError("title", str(exc.detail))]
        return Posted(None, await new_need_page(db, identity, form, errors))
    return Posted(made.need.id)
