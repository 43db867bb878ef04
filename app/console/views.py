"""What each console page shows, read through the API's own use cases in the caller's
tenant transaction (row-level security as for the API): no SQL here, no second data path."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from app.clients import service as clients
from app.console.forms import (
    CONSOLE_TZ,
    LANGUAGES,
    URGENCIES,
    FormErrors,
    NeedForm,
    from_api,
    need_in,
)
from app.db.tenancy import Tx, tenant_transaction
from app.errors import FieldError, InvalidInput
from app.identity.principal import STAFF
from app.identity.tokens import TokenIdentity
from app.needs import service as needs
from app.needs.queue import work_queue
from app.needs.schemas import Need
from app.needs.status import NeedStatus
from app.programmes import service as programmes
from app.volunteers import skills

PAGE_SIZE = 20
QUEUE_SIZE = 10  # the work queue above the list: its first needs, then "and more"
REASON = "caseworker console"
MAX_CHOICES = 200  # clients and programmes offered in a select


def when(need: Need) -> str:
    """The first window, in the console's time zone: `Tue 9 March 2027, 10:00 to 11:00`."""
    if not need.windows:
        return ""
    first = need.windows[0]
    start, end = first.start.astimezone(CONSOLE_TZ), first.end.astimezone(CONSOLE_TZ)
    day = f"{start:%a} {start.day} {start:%B %Y}"
    return f"{day}, {start:%H:%M} to {end:%H:%M}"


def status_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


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
    return {
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
    return {
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
        data = need_in(form)
        async with tenant_transaction(db, identity) as tx:
            made = await needs.create(tx, data)
    except FormErrors as exc:
        return Posted(None, await new_need_page(db, identity, form, exc.errors))
    except InvalidInput as exc:
        errors = from_api(exc.errors) or [FieldError("title", str(exc.detail))]
        return Posted(None, await new_need_page(db, identity, form, errors))
    return Posted(made.need.id)
