"""The client forms ("Add a client", "Change a client"): fields read into the API's own
`ClientIn` and `ClientPatch`, and every error, the form's, msgspec's or the use case's, on
the form field it belongs to.

The form only turns text into the API's types (a latitude typed as text into a number, an
empty field into "not given"); the rules are the API's. msgspec reports one broken
constraint a struct, so each field is also converted alone, against the same struct, and
every field's error shows at once."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import msgspec

from app.clients.schemas import Client, ClientIn, ClientPatch, SafeguardingFlag
from app.console.forms import FormErrors
from app.console.i18n import N_
from app.errors import FieldError

TEXT_FIELDS = (
    "name",
    "phone",
    "email",
    "address",
    "postcode",
    "uprn",
    "lat",
    "lon",
    "language",
    "mode",  # picked (from the lookup, shown as a summary) or manual (typed, a pin)
    "was_address",  # on a change: the address, point and UPRN as they were
    "was_lat",
    "was_lon",
)
FLAG_LABELS = {
    SafeguardingFlag.LIVES_ALONE: N_("Lives alone"),
    SafeguardingFlag.COGNITIVE_IMPAIRMENT: N_("Cognitive impairment"),
    SafeguardingFlag.HEARING_IMPAIRMENT: N_("Hearing impairment"),
    SafeguardingFlag.VISUAL_IMPAIRMENT: N_("Visual impairment"),
    SafeguardingFlag.MOBILITY_IMPAIRMENT: N_("Mobility impairment"),
    SafeguardingFlag.NEEDS_INTERPRETER: N_("Needs an interpreter"),
    SafeguardingFlag.CHILD_PROTECTION_PLAN: N_("Child protection plan"),
    SafeguardingFlag.DOMESTIC_ABUSE_RISK: N_("Domestic abuse risk"),
    SafeguardingFlag.ANIMAL_ON_PREMISES: N_("Animal on the premises"),
    SafeguardingFlag.LONE_WORKER_RISK: N_("Lone worker risk"),
}
FIELD_IDS = {  # the API's field (path head) -> the form field showing its error
    "name": "name",
    "phone": "phone",
    "email": "email",
    "address": "address",
    "uprn": "address",
    "location": "lat",
    "notes": "notes",
    "safeguarding_flags": "flags",
    "preferred_language": "language",
}
MESSAGES = {
    "name": N_("Enter the client's name, up to 200 characters"),
    "phone": N_("Enter a phone number using digits, spaces and + ( ) -, like 0118 496 0000"),
    "email": N_("Enter an email address in the correct format, like name@example.com"),
    "address": N_("Enter the address, up to 500 characters"),
    "notes": N_("Notes must be 5,000 characters or fewer"),
    "flags": N_("Select only the safeguarding flags listed, each once"),
    "language": N_("Select the client's language from the list"),
    "lat": N_("Enter the latitude as a number from -90 to 90, like 51.4543"),
    "lon": N_("Enter the longitude as a number from -180 to 180, like -0.9781"),
}
_AT = re.compile(r" - at `\$\.?([A-Za-z_]+)")
_NUMBER = re.compile(r"^-?[0-9]{1,3}(\.[0-9]{1,12})?$")


@dataclass
class ClientForm:
    values: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)
    notes: str = ""

    @classmethod
    def read(cls, form: Any) -> ClientForm:
        """From the posted form (a Litestar FormMultiDict)."""
        values = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
        flags = [str(f) for f in form.getall("flags", [])] if "flags" in form else []
        return cls(values=values, flags=flags, notes=str(form.get("notes", "")))

    @classmethod
    def of(cls, client: Client) -> ClientForm:
        """A client's record as the change form shows it."""
        point = client.location
        lat, lon = (f"{point.lat:.6f}", f"{point.lon:.6f}") if point else ("", "")
        values = {
            "name": client.name,
            "phone": client.phone or "",
            "email": client.email or "",
            "address": client.address or "",
            "uprn": client.uprn or "",
            "lat": lat,
            "lon": lon,
            "language": client.preferred_language or "",
            "mode": "manual",
            "was_address": client.address or "",
            "was_lat": lat,
            "was_lon": lon,
        }
        return cls(values, [f.value for f in client.safeguarding_flags], client.notes or "")

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    @property
    def moved(self) -> bool:
        """The address or the point was changed by hand: the UPRN no longer names it."""
        v = self.values
        return (v.get("address"), v.get("lat"), v.get("lon")) != (
            v.get("was_address"),
            v.get("was_lat"),
            v.get("was_lon"),
        )


def _coordinate(text: str, name: str, limit: float, errors: list[FieldError]) -> float | None:
    value = float(text) if _NUMBER.match(text) else math.nan
    if not -limit <= value <= limit:  # NaN fails too
        errors.append(FieldError(name, MESSAGES[name]))
        return None
    return value


def _location(form: ClientForm, errors: list[FieldError]) -> dict[str, float] | None:
    lat_text, lon_text = form.get("lat"), form.get("lon")
    if not lat_text and not lon_text:
        return None  # a client helped only by telephone or online
    lat = _coordinate(lat_text, "lat", 90, errors)
    lon = _coordinate(lon_text, "lon", 180, errors)
    return {"lat": lat, "lon": lon} if lat is not None and lon is not None else None


def _payload(form: ClientForm, errors: list[FieldError]) -> dict[str, Any]:
    v = form.get
    return {
        "name": v("name"),
        "phone": v("phone") or None,
        "email": v("email") or None,
        "address": v("address") or None,
        "location": _location(form, errors),
        "uprn": v("uprn") or None,
        "notes": form.notes.replace("\r\n", "\n") or None,
        "safeguarding_flags": form.flags,
        "preferred_language": v("language") or None,
    }


def form_field(api_field: str) -> str:
    """The form field an API field's error belongs to (`safeguarding_flags[1]` -> `flags`)."""
    head = re.split(r"[.\[]", api_field, maxsplit=1)[0]
    return FIELD_IDS.get(head, "name")


def _field_errors(payload: dict[str, Any], struct: type[Any]) -> list[FieldError]:
    """Each field converted alone (beside a valid name), so every field's error is found."""
    found: dict[str, FieldError] = {}
    for key, value in payload.items():
        probe = {key: value} if key == "name" else {"name": "x", key: value}
        try:
            msgspec.convert(probe, struct, strict=True)
        except msgspec.ValidationError as exc:
            at = _AT.search(str(exc))
            target = form_field(at.group(1) if at else key)
            found.setdefault(target, FieldError(target, MESSAGES.get(target, str(exc))))
    return list(found.values())


def _convert(form: ClientForm, struct: type[Any]) -> Any:
    errors: list[FieldError] = []
    payload = _payload(form, errors)
    errors += _field_errors(payload, struct)
    if errors:
        order = ["name", "phone", "email", "address", "lat", "lon", "flags", "language", "notes"]
        raise FormErrors(sorted(errors, key=lambda e: order.index(e.field)))
    return msgspec.convert(payload, struct, strict=True)


def client_in(form: ClientForm) -> ClientIn:
    """The API's input struct for a new client, or `FormErrors` naming form fields."""
    data: ClientIn = _convert(form, ClientIn)
    return data


def client_patch(form: ClientForm) -> ClientPatch:
    """Every field of the change form, sent as the API's patch; the UPRN is cleared when
    the address or the point was changed by hand."""
    if form.moved:
        form.values["uprn"] = ""
    patch: ClientPatch = _convert(form, ClientPatch)
    return patch


def from_api(errors: list[FieldError]) -> list[FieldError]:
    """The use case's errors, each on its form field, in the API's own words."""
    mapped: dict[str, FieldError] = {}
    for error in errors:
        target = form_field(error.field)
        message = error.message[:1].upper() + error.message[1:]
        mapped.setdefault(target, FieldError(target, message))
    return list(mapped.values())
