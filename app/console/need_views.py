"""One need's page and what a caseworker does from it: offer it to a named volunteer or send
the next wave now, cancel it with a reason, record its outcome. Every read and write is the
API's own use case in the caller's tenant transaction (row-level security, the audit trail,
the one-winner rules are the API's); a refused write comes back as the page with the
API's words on its field, nothing half-written. No SQL here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from app.assignments import service as assignments
from app.assignments.schemas import NeedOutcomeIn, Outcome
from app.console.i18n import N_, Phrase, Problem
from app.console.timeline import OUTCOMES, timeline
from app.console.views import zones
from app.db.tenancy import Tx, tenant_transaction
from app.errors import Conflict, InvalidInput
from app.identity.tokens import TokenIdentity
from app.needs import service as needs
from app.needs.schemas import CancelIn, Need
from app.needs.status import WANTING, NeedStatus, can_transition
from app.offers import service as offers
from app.programmes import service as programmes
from matching.assignments import outcome_refusal
from notifications import events

REASON = "caseworker console"
CANDIDATES = 10  # shown on the page, best first, each with an "offer" button
MESSAGES = {
    "reason": N_("Enter why the need is cancelled, in 3 to 500 characters"),
    "outcome": N_("Select how it went for the person"),
    "note": N_("The note must be 2,000 characters or fewer"),
}


@dataclass(frozen=True)
class Done:
    """Where to go after a post: the need's page with a banner, or a page to show again."""

    banner: str | None = None  # the need's page, with this banner
    template: str = ""
    context: dict[str, Any] | None = None
    status: int = 200


def _errors(errors: list[Problem]) -> dict[str, Any]:
    return {"errors": errors, "by_field": {e.field: e.message for e in errors}}


def takes_offers(need: Need) -> bool:
    return need.status in WANTING and need.filled < need.slots


async def _history(tx: Tx, need: Need) -> list[Any]:
    made = await offers.need_offers(tx, need.id)
    held = await assignments.of_need(tx, need.id)
    found = await offers.volunteer_names(tx, [a.volunteer_id for a in held])
    names = {v: name for v, name in found.items() if name}
    return timeline(need, made, held, names)


async def _need_context(tx: Tx, need_id: UUID) -> dict[str, Any]:
    need = await needs.read(tx, need_id, REASON)  # another organisation's: NotFound
    ranked = await offers.ranked_candidates(tx, need_id, CANDIDATES) if takes_offers(need) else []
    return {
        "zones": await zones(tx),
        "live_since": await events.last_id(tx.conn, tx.principal.user_id),
        "need": need,
        "programme": await programmes.get(tx, need.programme_id),
        "timeline": await _history(tx, need),
        "candidates": ranked,
        "takes_offers": takes_offers(need),
        "can_cancel": can_transition(need.status, NeedStatus.CANCELLED),
        "can_record_outcome": outcome_refusal(need.status) is None,
        "outcomes": OUTCOMES,
    }


async def need_page(db: AsyncEngine, identity: TokenIdentity, need_id: UUID) -> dict[str, Any]:
    async with tenant_transaction(db, identity) as tx:
        return await _need_context(tx, need_id)


async def _need_again(
    db: AsyncEngine, identity: TokenIdentity, need_id: UUID, errors: list[Problem], status: int
) -> Done:
    context = await need_page(db, identity, need_id)
    return Done(template="need.html.j2", context=context | _errors(errors), status=status)


def _uuid(value: str) -> UUID | None:
    try:
        return UUID(value)
    except ValueError:
        return None


async def offer(db: AsyncEngine, identity: TokenIdentity, need_id: UUID, form: Any) -> Done:
    """The API's make-offers: to the volunteer the form names, or (none) the next wave now."""
    named = str(form.get("volunteer", "")).strip()
    volunteer_id = _uuid(named) if named else None
    if named and volunteer_id is None:
        errors = [Problem("candidates", N_("Choose a volunteer from the list"))]
        return await _need_again(db, identity, need_id, errors, 422)
    try:
        async with tenant_transaction(db, identity) as tx:
            made = await offers.offer(tx, need_id, [volunteer_id] if volunteer_id else None)
    except InvalidInput as exc:
        message = exc.errors[0].message if exc.errors else str(exc.detail)
        why = Phrase(N_("That volunteer cannot be offered it: %(reason)s"), {"reason": message})
        errors = [Problem("candidates", why)]
        return await _need_again(db, identity, need_id, errors, 422)
    except Conflict as exc:
        return await _need_again(db, identity, need_id, [Problem("actions", exc.detail)], 409)
    if volunteer_id is not None:
        return Done(banner="offered")
    return Done(banner="wave" if made else "nobody")


async def cancel_page(db: AsyncEngine, identity: TokenIdentity, need_id: UUID) -> dict[str, Any]:
    async with tenant_transaction(db, identity) as tx:
        need = await needs.read(tx, need_id, REASON)
    return {"need": need, "reason": "", **_errors([])}


async def cancel(db: AsyncEngine, identity: TokenIdentity, need_id: UUID, form: Any) -> Done:
    reason = str(form.get("reason", "")).strip().replace("\r\n", "\n")
    try:
        data = msgspec.convert({"reason": reason}, CancelIn, strict=True)
        async with tenant_transaction(db, identity) as tx:
            await needs.cancel(tx, need_id, data.reason)
    except msgspec.ValidationError:
        error, status = Problem("reason", MESSAGES["reason"]), 422
    except Conflict as exc:
        why = Phrase(N_("It cannot be cancelled now: %(reason)s"), {"reason": exc.detail})
        error, status = Problem("reason", why), 409
    else:
        return Done(banner="cancelled")
    context = await cancel_page(db, identity, need_id)
    return Done(
        template="need_cancel.html.j2",
        context=context | {"reason": reason} | _errors([error]),
        status=status,
    )


async def outcome_page(db: AsyncEngine, identity: TokenIdentity, need_id: UUID) -> dict[str, Any]:
    async with tenant_transaction(db, identity) as tx:
        need = await needs.read(tx, need_id, REASON)
    return {
        "need": need,
        "outcomes": OUTCOMES,
        "chosen": need.outcome or "",
        "note": need.outcome_note or "",
        **_errors([]),
    }


async def record_outcome(
    db: AsyncEngine, identity: TokenIdentity, need_id: UUID, form: Any
) -> Done:
    chosen = str(form.get("outcome", "")).strip()
    note = str(form.get("note", "")).strip().replace("\r\n", "\n")
    errors: list[Problem] = []
    if chosen not in {o.value for o in Outcome}:
        errors.append(Problem("outcome", MESSAGES["outcome"]))
    status = 422
    if not errors:
        try:
            data = msgspec.convert({"outcome": chosen, "note": note or None}, NeedOutcomeIn)
            async with tenant_transaction(db, identity) as tx:
                await assignments.record_outcome(tx, need_id, data)
        except msgspec.ValidationError:
            errors.append(Problem("note", MESSAGES["note"]))
        except Conflict as exc:
            why = Phrase(N_("It cannot have an outcome yet: %(reason)s"), {"reason": exc.detail})
            errors.append(Problem("outcome", why))
            status = 409
        else:
            return Done(banner="outcome")
    context = await outcome_page(db, identity, need_id)
    return Done(
        template="need_outcome.html.j2",
        context=context | {"chosen": chosen, "note": note} | _errors(errors),
        status=status,
    )
