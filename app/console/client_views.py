"""What the client pages show and do, through the API's own use cases (`app.clients.service`)
in the caller's tenant transaction: row-level security and the audit trail are the API's,
every read of a record audited with the reason "case management". No SQL here.

Adding a client is three question pages, posted in turn to one address: the postcode, then
the address picked from the lookup, then the details. Each step carries what the previous
ones chose in hidden fields, so nothing is stored before the last one: nothing is half
written. When there is no lookup, or it fails, or finds nothing, the details page asks for
the address and a pin on the map instead, and says why."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from app.clients import exclusions
from app.clients import service as clients
from app.console.client_forms import (
    FLAG_LABELS,
    ClientForm,
    client_in,
    client_patch,
    from_api,
)
from app.console.forms import LANGUAGES, FormErrors
from app.console.i18n import N_, Phrase
from app.console.views import zones
from app.db.tenancy import Tx, tenant_transaction
from app.demo_gazetteer import POSTCODES
from app.demo_population import TOWN_CENTRE
from app.errors import FieldError, InvalidInput
from app.geocoder import geocoder_for
from app.identity.principal import STAFF
from app.identity.tokens import TokenIdentity
from app.offers import service as offers
from app.settings import Settings
from geo.geocoding import Address, InvalidPostcode, LookupFailed, normalise_postcode
from geo.privacy import coarsen_location

PAGE_SIZE = 20
REASON = "case management"  # the API's default reason for a client read, said explicitly
POSTCODE_PAGE = "client_postcode.html.j2"
PICK_PAGE = "client_address.html.j2"
DETAILS_PAGE = "client_details.html.j2"
# geo.geocoding's words for what is not a postcode (InvalidPostcode), marked for the catalogue:
# the postcode page shows its error translated.
POSTCODE_ERRORS = (N_("Enter a postcode"), N_("Enter a real postcode, like RG1 1AA"))


@dataclass(frozen=True)
class Step:
    """A page to show (`template` with `context`), or a client's page to go to."""

    template: str = ""
    context: dict[str, Any] | None = None
    status: int = 200
    client_id: UUID | None = None


def _errors(errors: list[FieldError]) -> dict[str, Any]:
    return {"errors": errors, "by_field": {e.field: e.message for e in errors}}


async def clients_page(
    db: AsyncEngine, identity: TokenIdentity, name: str | None, cursor: str | None
) -> dict[str, Any]:
    name = (name or "").strip()[:200] or None
    async with tenant_transaction(db, identity) as tx:
        items, next_cursor = await clients.list_clients(
            tx,
            org_id=None,
            include_erased=False,
            limit=PAGE_SIZE,
            cursor=cursor,
            reason=REASON,
            name=name,
        )
    return {"clients": items, "next_cursor": next_cursor, "name": name or ""}


def area(lat: float, lon: float) -> Phrase:
    clat, clon = coarsen_location(lat, lon)
    where = {"lat": f"{clat:.3f}", "lon": f"{clon:.3f}"}
    return Phrase(N_("Within about 500 m of %(lat)s, %(lon)s"), where)


async def client_page(db: AsyncEngine, identity: TokenIdentity, client_id: UUID) -> dict[str, Any]:
    async with tenant_transaction(db, identity) as tx:
        client = await clients.get(tx, client_id, reason=REASON)  # another org's: NotFound
        away = await kept_away(tx, client_id)
        zoned = await zones(tx)
    point = client.location
    return away | {
        "zones": zoned,
        "chosen": {"volunteer": "", "reason": ""},
        "client": client,
        "flags": [FLAG_LABELS[f] for f in client.safeguarding_flags],  # words, for `t`
        # the list's name for the client's language (not `language`: the page's own)
        "known_language": LANGUAGES.get(client.preferred_language or ""),
        "area": area(point.lat, point.lon) if point else N_("None: helped remotely"),
    }


async def kept_away(tx: Tx, client_id: UUID) -> dict[str, Any]:
    """The client's exclusions with the volunteers' names, and the volunteers who could be
    kept away: those offered or assigned one of the client's needs, not yet excluded."""
    held = await exclusions.list_for(tx, client_id)
    met = await exclusions.acquainted(tx, client_id)
    names = await offers.volunteer_names(tx, [e.volunteer_id for e in held] + met)
    excluded = {e.volunteer_id for e in held}
    return {
        "exclusions": [(e, names.get(e.volunteer_id)) for e in held],  # None: "A volunteer"
        "keep_away_choices": [(v, names[v]) for v in met if v not in excluded and names.get(v)],
    }


async def require_staff(db: AsyncEngine, identity: TokenIdentity) -> None:
    """Staff of one organisation (`Forbidden` otherwise), as `clients.create` will require."""
    async with tenant_transaction(db, identity) as tx:
        tx.principal.acting_org(None, *STAFF)


async def new_client_page(settings: Settings, db: AsyncEngine, identity: TokenIdentity) -> Step:
    await require_staff(db, identity)
    return postcode_page(settings)


def postcode_page(settings: Settings, postcode: str = "", error: str | None = None) -> Step:
    errors = [FieldError("postcode", error)] if error else []
    context = {
        "postcode": postcode,
        "lookup": settings.geocoder != "none",
        "demo_postcodes": POSTCODES if settings.geocoder == "gazetteer" else (),
    } | _errors(errors)
    return Step(POSTCODE_PAGE, context, 422 if error else 200)


def details_page(
    settings: Settings,
    form: ClientForm,
    *,
    notice: str | Phrase | None = None,
    errors: list[FieldError] | None = None,
    client_id: UUID | None = None,
) -> Step:
    """The details form, for a new client (`client_id` None) or a change."""
    lat, lon = form.get("lat"), form.get("lon")
    centre = [float(lat), float(lon)] if _is_point(lat, lon) else list(TOWN_CENTRE)
    pin = {
        "centre": centre,
        "zoom": 17 if _is_point(lat, lon) else 13,
        "tile_url": settings.map_tile_url,
        "tile_attribution": settings.map_tile_attribution,
    }
    context = {
        "form": form,
        "notice": notice,
        "client_id": client_id,
        "flag_labels": FLAG_LABELS,
        "languages": LANGUAGES,
        "pin": json.dumps(pin),
    } | _errors(errors or [])
    return Step(DETAILS_PAGE, context, 422 if errors else 200)


def _is_point(lat: str, lon: str) -> bool:
    try:
        return -90 <= float(lat) <= 90 and -180 <= float(lon) <= 180
    except ValueError:
        return False


def _manual(
    settings: Settings, postcode: str, notice: str | Phrase, centre: Address | None = None
) -> Step:
    values = {"mode": "manual", "postcode": postcode}
    if centre is not None:
        values |= {"lat": f"{centre.lat:.6f}", "lon": f"{centre.lon:.6f}"}
    return details_page(settings, ClientForm(values), notice=notice)


async def _look_up(settings: Settings, postcode: str) -> list[Address] | Step:
    """The addresses at the postcode, or the manual details page saying why there are none."""
    geocoder = geocoder_for(settings)
    if geocoder is None:  # app.geocoder.NOT_SET_UP's words, then what to do
        unset = N_(
            "Looking up addresses by postcode is not set up for this service "
            "(CODELIVER_GEOCODER). Enter the address and put a pin on it."
        )
        return _manual(settings, postcode, unset)
    try:
        found = await geocoder.look_up(postcode)
    except LookupFailed as exc:
        failed = N_("The address could not be looked up: %(reason)s. Enter it and put a pin on it.")
        return _manual(settings, postcode, Phrase(failed, {"reason": exc.reason}))
    if not found:
        none = N_(
            "No addresses were found for %(postcode)s. Enter the address and put a pin on it."
        )
        return _manual(settings, postcode, Phrase(none, {"postcode": postcode}))
    if not geocoder.gives_uprns:
        centre = N_(
            "The postcode service gives only the centre of %(postcode)s, not each address: "
            "enter the address, and move the pin to the home if you can."
        )
        return _manual(settings, postcode, Phrase(centre, {"postcode": postcode}), found[0])
    return found


async def find_addresses(settings: Settings, typed: str) -> Step:
    """Step 1 posted: the postcode checked, then looked up."""
    try:
        postcode = normalise_postcode(typed)
    except InvalidPostcode as exc:
        return postcode_page(settings, typed, str(exc))
    found = await _look_up(settings, postcode)
    if isinstance(found, Step):
        return found
    return Step(PICK_PAGE, {"postcode": postcode, "addresses": found} | _errors([]))


async def pick_address(settings: Settings, postcode: str, choice: str) -> Step:
    """Step 2 posted: the address chosen, looked up again so its UPRN and point are the
    provider's, not the form's."""
    try:
        postcode = normalise_postcode(postcode)
    except InvalidPostcode as exc:
        return postcode_page(settings, postcode, str(exc))
    if choice == "none":
        return _manual(settings, postcode, N_("Enter the address and put a pin on it."))
    found = await _look_up(settings, postcode)
    if isinstance(found, Step):
        return found
    chosen = next((a for a in found if a.key == choice), None)
    if chosen is None:
        errors = [FieldError("choice", N_("Select the address, or that it is not listed"))]
        context = {"postcode": postcode, "addresses": found} | _errors(errors)
        return Step(PICK_PAGE, context, 422)
    values = {
        "mode": "picked",
        "postcode": postcode,
        "address": chosen.line,
        "uprn": chosen.uprn or "",
        "lat": f"{chosen.lat:.6f}",
        "lon": f"{chosen.lon:.6f}",
    }
    return details_page(settings, ClientForm(values))


async def add_client(
    settings: Settings, db: AsyncEngine, identity: TokenIdentity, form: ClientForm
) -> Step:
    """Step 3 posted: the API's create, in its own transaction (on any error it rolls back
    whole); the form comes back with each error on its field."""
    try:
        data = client_in(form)
        async with tenant_transaction(db, identity) as tx:
            made = await clients.create(tx, data)
    except FormErrors as exc:
        return details_page(settings, form, errors=exc.errors)
    except InvalidInput as exc:
        errors = from_api(exc.errors) or [FieldError("name", str(exc.detail))]
        return details_page(settings, form, errors=errors)
    return Step(client_id=made.id)


async def change_form(
    settings: Settings, db: AsyncEngine, identity: TokenIdentity, client_id: UUID
) -> Step:
    async with tenant_transaction(db, identity) as tx:
        client = await clients.get(tx, client_id, reason=REASON)
    return details_page(settings, ClientForm.of(client), client_id=client_id)


async def change_client(
    settings: Settings,
    db: AsyncEngine,
    identity: TokenIdentity,
    client_id: UUID,
    form: ClientForm,
) -> Step:
    """The API's update (every field of the form), in its own transaction."""
    try:
        patch = client_patch(form)
        async with tenant_transaction(db, identity) as tx:
            await clients.update_client(tx, client_id, patch, reason=REASON)
    except FormErrors as exc:
        return details_page(settings, form, errors=exc.errors, client_id=client_id)
    except InvalidInput as exc:
        errors = from_api(exc.errors) or [FieldError("name", str(exc.detail))]
        return details_page(settings, form, errors=errors, client_id=client_id)
    return Step(client_id=client_id)


async def post_new(
    settings: Settings, db: AsyncEngine, identity: TokenIdentity, posted: Any
) -> Step:
    """One of the three steps of "Add a client", by its `step` field."""
    step = str(posted.get("step", ""))
    if step in ("postcode", "address"):
        await require_staff(db, identity)  # a lookup is staff's too, before it is made
    if step == "postcode":
        return await find_addresses(settings, str(posted.get("postcode", "")))
    if step == "address":
        postcode, choice = str(posted.get("postcode", "")), str(posted.get("choice", ""))
        return await pick_address(settings, postcode, choice)
    return await add_client(settings, db, identity, ClientForm.read(posted))
