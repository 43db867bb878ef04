"""The console's page of one volunteer: their profile with their check history (an audited
read, as the API's `GET /v1/volunteers/{id}` is), and what a coordinator does there through
the API's own use cases (`app/volunteers/coordination.py`): approve, suspend with a reason,
record a renewed DBS check. A refusal comes back as the page with the error on its field
and nothing written. Another organisation's volunteer is a 404; caseworkers see the
console's forbidden page. No SQL here."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from app.console.i18n import N_, Phrase, Problem
from app.console.members import Step, managed_org
from app.console.org_settings import LEVELS
from app.console.roster import STATUS_TAGS, STATUSES, check_state, org_today
from app.console.views import zones
from app.db.tenancy import tenant_transaction
from app.errors import Conflict, InvalidInput
from app.identity.tokens import TokenIdentity
from app.volunteers import coordination
from app.volunteers.coordination import StatusChange, SuspendIn, VettingIn
from matching.vetting import DbsLevel

PAGE = "volunteer.html.j2"
DONE = {"approve": "approved", "suspend": "suspended"}
BANNERS = frozenset({"approved", "suspended", "vetted"})
BOXES = ("id_verified", "update_service", "barred_children", "barred_adults")
MESSAGES = {
    "reason": N_("Enter the reason, in 3 to 500 characters"),
    "level": N_("Select the level of the check"),
    "checked_on": N_("Enter the certificate's date as a real day, month and year"),
    "checked_on-required": N_("Enter the date on the certificate"),
    "checked_on-future": N_("The certificate's date must be today or in the past"),
}
BLANK_CHECK = {"level": "", "day": "", "month": "", "year": ""}


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "")).strip().replace("\r\n", "\n")


def _errors(errors: list[Problem]) -> dict[str, Any]:
    return {"errors": errors, "by_field": {e.field: e.message for e in errors}}


def to_record(org_id: UUID, volunteer_id: UUID, done: str) -> str:
    return f"/console/volunteers/{volunteer_id}?org={org_id}&done={done}"


async def _context(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, volunteer_id: UUID
) -> dict[str, Any]:
    """The volunteer's record (404 unless enrolled in the organisation): an audited read."""
    async with tenant_transaction(db, identity) as tx:
        org_id, managed = await managed_org(tx, org)
        found = await coordination.record(tx, volunteer_id, org_id)
        zoned = await zones(tx)
        today = org_today(tx, zoned, org_id)
        me = tx.principal.user_id
    current = found.vetting
    renewal = {
        "id_verified": bool(current and current.id_verified),
        "update_service": bool(current and current.update_service),
        "barred_children": False,
        "barred_adults": False,
    }
    return {
        "nav": "volunteers",
        "org_id": org_id,
        "org_name": dict(managed).get(org_id, ""),
        "zones": zoned,
        "v": found,
        "yourself": found.user_id == me,
        "check": check_state(current, today),
        "history": [(h, check_state(h, today)) for h in found.vetting_history],
        "statuses": STATUSES,
        "status_tags": STATUS_TAGS,
        "levels": LEVELS,
        "chosen": {"reason": ""},
        "renewal": BLANK_CHECK | renewal,
    }


async def record_page(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, volunteer_id: UUID
) -> Step:
    return Step(PAGE, await _context(db, identity, org, volunteer_id) | _errors([]))


def _cannot(exc: Conflict, field: str) -> Problem:
    return Problem(field, Phrase(N_("It cannot be done: %(reason)s"), {"reason": exc.detail}))


async def change_status(
    db: AsyncEngine,
    identity: TokenIdentity,
    org: str | None,
    volunteer_id: UUID,
    action: str,
    form: Any,
) -> Step:
    """The API's approve or suspend (a suspension with its reason, required)."""
    context = await _context(db, identity, org, volunteer_id)
    chosen = {"reason": _text(form, "reason")}
    org_id = context["org_id"]
    field = "reason" if action == "suspend" else "approve"
    try:
        if action == "suspend":
            data: StatusChange | SuspendIn = msgspec.convert(
                {"reason": chosen["reason"], "org_id": org_id}, SuspendIn, strict=True
            )
        else:
            data = StatusChange(org_id=org_id)
        async with tenant_transaction(db, identity) as tx:
            await coordination.change_status(tx, volunteer_id, action, data)
    except (msgspec.ValidationError, InvalidInput):
        error, status = Problem("reason", MESSAGES["reason"]), 422
    except Conflict as exc:
        error, status = _cannot(exc, field), 409
    else:
        return Step(to=to_record(org_id, volunteer_id, DONE[action]))
    return Step(PAGE, context | {"chosen": chosen} | _errors([error]), status)


def read_check(form: Any, org_id: UUID) -> tuple[dict[str, Any], VettingIn | None, Problem | None]:
    """The renewed-check form as the API's body; the first field in error, if any."""
    chosen: dict[str, Any] = {k: _text(form, k) for k in BLANK_CHECK}
    for box in BOXES:
        chosen[box] = _text(form, box) == "yes"
    if chosen["level"] not in LEVELS:
        return chosen, None, Problem("level", MESSAGES["level"])
    level = DbsLevel(chosen["level"])
    checked_on = None
    if any(chosen[part] for part in ("day", "month", "year")):
        try:
            checked_on = date(int(chosen["year"]), int(chosen["month"]), int(chosen["day"]))
        except ValueError:
            return chosen, None, Problem("checked_on", MESSAGES["checked_on"])
        if checked_on.year < 1990:
            return chosen, None, Problem("checked_on", MESSAGES["checked_on"])
    body = VettingIn(
        level=level,
        checked_on=checked_on,
        id_verified=chosen["id_verified"],
        update_service=chosen["update_service"],
        barred_children=chosen["barred_children"],
        barred_adults=chosen["barred_adults"],
        org_id=org_id,
    )
    return chosen, body, None


async def record_check(
    db: AsyncEngine, identity: TokenIdentity, org: str | None, volunteer_id: UUID, form: Any
) -> Step:
    """The API's record-vetting: a new current check; the earlier ones stay as history."""
    context = await _context(db, identity, org, volunteer_id)
    org_id = context["org_id"]
    chosen, body, error = read_check(form, org_id)
    status = 422
    if body is not None:
        try:
            async with tenant_transaction(db, identity) as tx:
                await coordination.record_vetting(tx, volunteer_id, body)
        except InvalidInput as exc:
            key = "checked_on-future" if "future" in exc.detail else "checked_on-required"
            error = Problem("checked_on", MESSAGES[key])
        except Conflict as exc:
            error, status = _cannot(exc, "level"), 409
        else:
            return Step(to=to_record(org_id, volunteer_id, "vetted"))
    assert error is not None
    renewal = context["renewal"] | chosen
    return Step(PAGE, context | {"renewal": renewal} | _errors([error]), status)
