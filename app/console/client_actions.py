"""What a caseworker does from a client's page, through the API's own use cases in the
caller's tenant transaction: keep a volunteer away from the client (and lift it), hand the
client their subject-access export, erase their personal data. Each asks for the reason the
audit log records; a refused write comes back as the page with the error on its field,
nothing half-written. No SQL here."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from app.clients import exclusions
from app.clients import service as clients
from app.clients.exclusions import ExclusionIn
from app.clients.schemas import ErasureIn
from app.console.client_views import REASON, Step, client_page
from app.console.i18n import N_, Phrase, Problem
from app.console.views import zones
from app.db.tenancy import tenant_transaction
from app.errors import Conflict, InvalidInput
from app.http_params import ACCESS_REASON_MAX
from app.identity.tokens import TokenIdentity

CLIENT_PAGE = "client.html.j2"
EXPORT_PAGE = "client_export.html.j2"
ERASE_PAGE = "client_erase.html.j2"
MESSAGES: dict[str, str | Phrase] = {
    "reason": N_("Enter the reason, in 3 to 500 characters"),
    "volunteer": N_("Select the volunteer to keep away"),
    "export-reason": Phrase(
        N_("Enter who asked for it and how, in 3 to %(most)s characters"),
        {"most": ACCESS_REASON_MAX},
    ),
}


def _errors(errors: list[Problem]) -> dict[str, Any]:
    return {"errors": errors, "by_field": {e.field: e.message for e in errors}}


def _text(form: Any, name: str) -> str:
    return str(form.get(name, "")).strip().replace("\r\n", "\n")


async def _client_again(
    db: AsyncEngine, identity: TokenIdentity, client_id: UUID, form: Any, error: Problem
) -> Step:
    context = await client_page(db, identity, client_id)
    chosen = {"volunteer": _text(form, "volunteer"), "reason": _text(form, "reason")}
    return Step(CLIENT_PAGE, context | {"chosen": chosen} | _errors([error]), 422)


async def keep_away(db: AsyncEngine, identity: TokenIdentity, client_id: UUID, form: Any) -> Step:
    """The API's add-exclusion: the volunteer's live offers for the client are withdrawn and
    any assignment with them ended, as on the API."""
    try:
        volunteer_id = UUID(_text(form, "volunteer"))
    except ValueError:
        error = Problem("volunteer", MESSAGES["volunteer"])
        return await _client_again(db, identity, client_id, form, error)
    try:
        data = msgspec.convert(
            {"volunteer_id": str(volunteer_id), "reason": _text(form, "reason")},
            ExclusionIn,
            strict=False,
        )
        async with tenant_transaction(db, identity) as tx:
            await exclusions.add(tx, client_id, data)
    except msgspec.ValidationError:
        error = Problem("reason", MESSAGES["reason"])
    except InvalidInput as exc:
        message = exc.errors[0].message if exc.errors else str(exc.detail)
        refused = N_("That volunteer cannot be kept away: %(reason)s")  # the API's words
        error = Problem("volunteer", Phrase(refused, {"reason": message}))
    else:
        return Step(client_id=client_id)
    return await _client_again(db, identity, client_id, form, error)


async def lift(
    db: AsyncEngine, identity: TokenIdentity, client_id: UUID, volunteer_id: UUID
) -> Step:
    """The API's lift-exclusion; one already lifted (a second click) is a 404 as on the API."""
    async with tenant_transaction(db, identity) as tx:
        await exclusions.remove(tx, client_id, volunteer_id)
    return Step(client_id=client_id)


async def _client(db: AsyncEngine, identity: TokenIdentity, client_id: UUID) -> dict[str, Any]:
    async with tenant_transaction(db, identity) as tx:
        return {"client": await clients.get(tx, client_id, reason=REASON), "zones": await zones(tx)}


async def export_page(db: AsyncEngine, identity: TokenIdentity, client_id: UUID) -> Step:
    context = await _client(db, identity, client_id)
    return Step(EXPORT_PAGE, context | {"reason": ""} | _errors([]))


async def export(
    db: AsyncEngine, identity: TokenIdentity, client_id: UUID, form: Any
) -> bytes | Step:
    """The API's subject-access export as the JSON file it answers, audited with the reason
    given; or the page again, asking for the reason."""
    reason = _text(form, "reason")
    if not 3 <= len(reason) <= ACCESS_REASON_MAX:
        page = await export_page(db, identity, client_id)
        error = Problem("reason", MESSAGES["export-reason"])
        context = (page.context or {}) | {"reason": reason} | _errors([error])
        return Step(EXPORT_PAGE, context, 422)
    async with tenant_transaction(db, identity) as tx:
        found = await clients.export(tx, client_id, reason=reason)
    return msgspec.json.format(msgspec.json.encode(found), indent=2)


async def erase_page(db: AsyncEngine, identity: TokenIdentity, client_id: UUID) -> Step:
    context = await _client(db, identity, client_id)
    return Step(ERASE_PAGE, context | {"reason": ""} | _errors([]))


async def erase(db: AsyncEngine, identity: TokenIdentity, client_id: UUID, form: Any) -> Step:
    """The API's erasure: anonymised in place, the needs' personal details with it."""
    reason = _text(form, "reason")
    try:
        data = msgspec.convert({"reason": reason}, ErasureIn, strict=True)
        async with tenant_transaction(db, identity) as tx:
            await clients.erase(tx, client_id, data)
    except msgspec.ValidationError:
        error, status = Problem("reason", MESSAGES["reason"]), 422
    except Conflict as exc:  # the API's words for why
        refused = Phrase(N_("It cannot be erased: %(reason)s"), {"reason": exc.detail})
        error, status = Problem("reason", refused), 409
    else:
        return Step(client_id=client_id)
    page = await erase_page(db, identity, client_id)
    context = (page.context or {}) | {"reason": reason} | _errors([error])
    return Step(ERASE_PAGE, context, status)
