"""The console's settings page: an organisation's settings (name, time zone, how often DBS
checks are renewed, how long what outlives a volunteer's erasure is kept) through
`app/orgs/settings.py`, and its programmes with their offer policies through
`app/programmes/service.py`, in the caller's tenant transaction. Org admins change the
settings, coordinators read them; both change programmes' policies, as on the API. The form
carries the ETag it was read at: a change made meanwhile by someone else is not overwritten
(the form comes back with theirs and says so). No SQL here."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import msgspec
from sqlalchemy.ext.asyncio import AsyncEngine

from app.conditional import etag_of
from app.console.i18n import N_, Problem
from app.console.members import Step, managed_org
from app.db.tenancy import tenant_transaction
from app.errors import InvalidInput, PreconditionFailed
from app.identity.principal import MANAGERS, Role
from app.identity.tokens import TokenIdentity
from app.orgs import settings
from app.orgs.schemas import Organisation, OrganisationPatch
from app.programmes import service as programmes
from app.programmes.schemas import Programme, ProgrammePatch
from app.wire import time_zone_names
from matching.vetting import DbsLevel

PAGE = "settings.html.j2"
PROGRAMME_PAGE = "programme_policy.html.j2"
MOST = 200
ORG_FIELDS = ("name", "time_zone", "vetting_recheck_months", "safeguarding_retention_months")
# The programme form's fields: minutes on the page, seconds in the API.
MINUTES = {"offer_timeout_min": "offer_timeout_s", "stale_claim_min": "stale_claim_timeout_s"}
POLICY_FIELDS = ("min_vetting", "wave_size", "alert_cap", "max_waves", "checkin_radius_m")
NUMBERS = {
    "vetting_recheck_months",
    "safeguarding_retention_months",
    "wave_size",
    "alert_cap",
    "max_waves",
    "checkin_radius_m",
    *MINUTES,
}
MESSAGES = {
    "name": N_("Enter the name, in 1 to 200 characters"),
    "time_zone": N_("Select a time zone from the list"),
    "vetting_recheck_months": N_("Enter a whole number of months from 1 to 120"),
    "safeguarding_retention_months": N_("Enter a whole number of months from 12 to 1200"),
    "min_vetting": N_("Select a DBS level from the list"),
    "wave_size": N_("Enter a whole number from 1 to 50"),
    "offer_timeout_min": N_("Enter a whole number of minutes from 1 to 10080"),
    "alert_cap": N_("Enter a whole number from 1 to 500"),
    "max_waves": N_("Enter a whole number from 1 to 20"),
    "checkin_radius_m": N_("Enter a whole number of metres from 10 to 5000"),
    "stale_claim_min": N_("Enter a whole number of minutes from 10 to 43200"),
    "stale": N_(
        "Someone else changed these settings while you were editing them. Their changes are "
        "shown: check them, then save yours again."
    ),
    "body": N_("Change at least one setting"),
}
LEVELS = {
    DbsLevel.NONE: N_("No DBS check"),
    DbsLevel.BASIC: N_("Basic"),
    DbsLevel.STANDARD: N_("Standard"),
    DbsLevel.ENHANCED: N_("Enhanced"),
    DbsLevel.ENHANCED_CHILDREN: N_("Enhanced, with the children's barred list"),
    DbsLevel.ENHANCED_ADULTS: N_("Enhanced, with the adults' barred list"),
    DbsLevel.ENHANCED_BOTH: N_("Enhanced, with both barred lists"),
}


def _errors(errors: list[Problem]) -> dict[str, Any]:
    return {"errors": errors, "by_field": {e.field: e.message for e in errors}}


def _form_of(org: Organisation) -> dict[str, str]:
    return {k: str(getattr(org, k)) for k in ORG_FIELDS} | {"etag": etag_of(org)}


def _read(
    form: Any, names: tuple[str, ...]
) -> tuple[dict[str, str], dict[str, Any], list[Problem]]:
    """The fields as typed (to show again), as values (numbers read), and the errors."""
    typed = {k: str(form.get(k, "")).strip() for k in names}
    values: dict[str, Any] = {}
    errors = []
    for name, raw in typed.items():
        if name not in NUMBERS:
            values[name] = raw
            continue
        try:
            values[name] = int(raw)
        except ValueError:
            errors.append(Problem(name, MESSAGES[name]))
    return typed, values, errors


def _invalid(
    exc: msgspec.ValidationError, names: tuple[str, ...], renamed: dict[str, str]
) -> Problem:
    text = str(exc)
    by_api = {v: k for k, v in renamed.items()}
    found = next(
        (n for n in (*names, *by_api) if f"$.{n}`" in text or text.endswith(f"$.{n}")), None
    )
    where = by_api.get(found or "", found) or names[0]
    return Problem(where, MESSAGES[where])


async def settings_page(db: AsyncEngine, identity: TokenIdentity, org: str | None) -> Step:
    async with tenant_transaction(db, identity) as tx:
        org_id, managed = await managed_org(tx, org)
        found = await settings.get_organisation(tx, org_id)
        listed, _ = await programmes.list_programmes(tx, org_id=org_id, limit=MOST, cursor=None)
        context = {
            "nav": "settings",
            "org_id": org_id,
            "orgs": managed,
            "organisation": found,
            "may_change": Role.ORG_ADMIN in tx.principal.roles_in(org_id)
            or tx.principal.platform_admin,
            "programmes": listed,
            "levels": LEVELS,
            "time_zones": sorted(time_zone_names()),
            "chosen": _form_of(found),
        }
    return Step(PAGE, context | _errors([]))


async def save(db: AsyncEngine, identity: TokenIdentity, org: str | None, form: Any) -> Step:
    """The API's settings change, against the ETag the form was read at."""
    typed, values, errors = _read(form, ORG_FIELDS)
    etag = str(form.get("etag", "")) or None
    page = await settings_page(db, identity, org)
    org_id = page.context["org_id"]
    status = 422
    if not errors:
        try:
            patch = msgspec.convert(values, OrganisationPatch, strict=True)
            async with tenant_transaction(db, identity) as tx:
                await settings.update_organisation(tx, org_id, patch, etag)
        except msgspec.ValidationError as exc:
            errors = [_invalid(exc, ORG_FIELDS, {})]
        except InvalidInput as exc:
            where = exc.errors[0].field if exc.errors else "name"
            errors = [Problem(where, MESSAGES.get(where, MESSAGES["body"]))]
        except PreconditionFailed:  # theirs shown, with a new ETag to save against
            errors = [Problem("name", MESSAGES["stale"])]
            return Step(PAGE, page.context | _errors(errors), 412)
        else:
            return Step(to=f"/console/settings?org={org_id}&done=saved")
    chosen = typed | {"etag": etag or ""}
    return Step(PAGE, page.context | {"chosen": chosen} | _errors(errors), status)


def _policy_form(programme: Programme) -> dict[str, str]:
    form = {k: str(getattr(programme, k)) for k in POLICY_FIELDS}
    minutes = {k: str(round(getattr(programme, v) / 60)) for k, v in MINUTES.items()}
    return form | minutes


async def _programme(db: AsyncEngine, identity: TokenIdentity, programme_id: UUID) -> Programme:
    async with tenant_transaction(db, identity) as tx:
        found = await programmes.get(tx, programme_id)  # another organisation's: a 404
        tx.principal.require_role(found.org_id, *MANAGERS)
    return found


def _programme_context(found: Programme) -> dict[str, Any]:
    return {
        "nav": "settings",
        "programme": found,
        "levels": LEVELS,
        "chosen": _policy_form(found),
    } | _errors([])


async def programme_page(db: AsyncEngine, identity: TokenIdentity, programme_id: UUID) -> Step:
    return Step(PROGRAMME_PAGE, _programme_context(await _programme(db, identity, programme_id)))


async def save_programme(
    db: AsyncEngine, identity: TokenIdentity, programme_id: UUID, form: Any
) -> Step:
    """The API's programme change, with only the fields the form changed (minutes shown are
    rounded: an untouched one keeps its seconds)."""
    found = await _programme(db, identity, programme_id)
    names = (*POLICY_FIELDS, *MINUTES)
    typed, values, errors = _read(form, names)
    if not errors:
        shown = _policy_form(found)
        changed = {k: v for k, v in values.items() if typed[k] != shown[k]}
        body = {MINUTES.get(k, k): v * 60 if k in MINUTES else v for k, v in changed.items()}
        if not body:
            return Step(to=f"/console/settings?org={found.org_id}&done=unchanged")
        try:
            patch = msgspec.convert(body, ProgrammePatch, strict=True)
            async with tenant_transaction(db, identity) as tx:
                await programmes.update_programme(tx, programme_id, patch)
        except msgspec.ValidationError as exc:
            errors = [_invalid(exc, names, MINUTES)]
        else:
            return Step(to=f"/console/settings?org={found.org_id}&done=programme")
    context = _programme_context(found) | {"chosen": typed} | _errors(errors)
    return Step(PROGRAMME_PAGE, context, 422)
