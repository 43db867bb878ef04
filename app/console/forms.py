"""The "Post a need" form: its fields read into the API's own `NeedIn`, and every error,
the form's, msgspec's or the use case's, named by the form field it belongs to.

Every kind of need the API takes: one visit or a weekly series (an RRULE with a COUNT,
and whoever helped the client last time asked first), one volunteer or a group at once (slots),
at the client's home or remote (by phone or video, a client optional), an urgency and a
language. The form only turns text into the API's types (a date and a time into a window,
a number of visits into a rule); the rules are the API's: `msgspec.convert` into `NeedIn`
(strict, as the API decodes a body), then `app.needs.service.create`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from app.console.i18n import N_
from app.errors import FieldError
from app.needs.recurrence import MAX_OCCURRENCES
from app.needs.schemas import NeedIn
from matching.model import Mode, Urgency

# Times are read and shown in the organisation's time zone (`organisations.time_zone`);
# this one, the organisations' default, only where no organisation is known.
CONSOLE_TZ = ZoneInfo("Europe/London")
TEXT_FIELDS = (
    "programme",
    "mode",
    "client",
    "title",
    "visits",
    "same_volunteer",
    "day",
    "month",
    "year",
    "time",
    "duration",
    "slots",
    "urgency",
    "language",
)
DEFAULTS = {"mode": Mode.IN_PERSON.value, "visits": "1", "slots": "1", "urgency": "normal"}
FIELD_IDS = {  # the API's field (path prefix) -> the form field showing its error
    "programme_id": "programme",
    "mode": "mode",
    "client_id": "client",
    "location": "client",  # in person: the client's address is the need's place
    "title": "title",
    "description": "notes",
    "recurrence": "visits",
    "continuity": "visits",
    "windows": "when",
    "duration_minutes": "duration",
    "slots": "slots",
    "urgency": "urgency",
    "languages": "language",
    "required_skills": "skills",
}
MESSAGES = {  # what each field wants, for the struct's own constraint errors
    "programme": N_("Select the programme"),
    "mode": N_("Select where the help is given"),
    "client": N_("Select the client: help at home is given at the client's address"),
    "title": N_("Enter a title of up to 200 characters"),
    "notes": N_("Notes must be 5,000 characters or fewer"),
    "visits": N_("Enter the number of visits, one a week, from 1 to 104"),  # MAX_OCCURRENCES
    "when": N_("Enter when the help is needed"),
    "duration": N_("Enter a duration from 5 to 1,440 minutes"),
    "slots": N_("Enter how many volunteers are needed at once, from 1 to 500"),
    "urgency": N_("Select how urgent it is"),
    "language": N_("Select a language from the list"),
    "skills": N_("Select up to 10 skills"),
}
LANGUAGES = {  # ISO 639-1: the demo borough's most spoken, first English and Welsh
    "en": N_("English"),
    "cy": N_("Welsh"),
    "pl": N_("Polish"),
    "pa": N_("Punjabi"),
    "ur": N_("Urdu"),
    "ro": N_("Romanian"),
    "ar": N_("Arabic"),
    "bn": N_("Bengali"),
    "gu": N_("Gujarati"),
    "ne": N_("Nepali"),
    "so": N_("Somali"),
    "zh": N_("Chinese"),
}
URGENCIES = (  # the choices, with what each means for matching (matching/eligibility.py)
    (
        Urgency.URGENT,
        N_("Urgent"),
        N_(
            "Offered only to volunteers on duty now, measured from where they are; "
            "quiet hours do not hold it back"
        ),
    ),
    (
        Urgency.HIGH,
        N_("High"),
        N_("Volunteers on duty and close by are asked first; quiet hours do not hold it back"),
    ),
    (Urgency.NORMAL, N_("Normal"), N_("Offered in turn, sharing the work fairly")),
    (Urgency.LOW, N_("Low"), N_("Offered as a normal need is; it says the need can wait")),
)
REWORDED = {  # the API's words for a window, as a person filling in "When" reads them
    "is in the past": N_("The date and time must be in the future"),
    "more than a year ahead": N_("The date must be within a year from today"),
}
_AT = re.compile(r" - at `\$\.?([A-Za-z_]+)")


@dataclass
class NeedForm:
    values: dict[str, str] = field(default_factory=lambda: dict(DEFAULTS))
    skills: list[str] = field(default_factory=list)
    notes: str = ""

    @classmethod
    def read(cls, form: Any) -> NeedForm:
        """From the posted form (a Litestar FormMultiDict)."""
        values = {name: str(form.get(name, "")).strip() for name in TEXT_FIELDS}
        skills = [str(s) for s in form.getall("skills", [])] if "skills" in form else []
        return cls(values=values, skills=skills, notes=str(form.get("notes", "")))


class FormErrors(Exception):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(errors[0].message if errors else "invalid")
        self.errors = errors


def _when(form: NeedForm, zone: ZoneInfo, errors: list[FieldError]) -> datetime | None:
    v = form.values
    try:
        day = date(int(v["year"]), int(v["month"]), int(v["day"]))
    except ValueError:
        errors.append(FieldError("when", N_("Enter a real date, like 27 3 2027")))
        return None
    try:
        at = time.fromisoformat(v["time"]) if re.fullmatch(r"\d{1,2}:\d{2}", v["time"]) else None
    except ValueError:
        at = None
    if at is None:
        errors.append(FieldError("when-time", N_("Enter a time on the 24-hour clock, like 14:30")))
        return None
    return datetime.combine(day, at.replace(second=0), tzinfo=zone)


def _choice(form: NeedForm, name: str, allowed: set[str], errors: list[FieldError]) -> str:
    value = form.values[name]
    if value not in allowed:
        errors.append(FieldError(name, MESSAGES[name]))
    return value


def _series(form: NeedForm, errors: list[FieldError]) -> dict[str, Any]:
    """More than one visit is a weekly series, `FREQ=WEEKLY;COUNT=n`, from the first
    visit's weekday and time."""
    visits = form.values["visits"]
    if not visits.isdigit() or not 1 <= int(visits) <= MAX_OCCURRENCES:
        errors.append(FieldError("visits", MESSAGES["visits"]))
        return {}
    return {"recurrence": f"FREQ=WEEKLY;COUNT={int(visits)}"} if int(visits) > 1 else {}


def _continuity(form: NeedForm) -> dict[str, Any]:
    """Whoever helped this client last time asked first (each week of a series too)."""
    return {"continuity": {"same_as_last": True}} if form.values["same_volunteer"] else {}


def _payload(form: NeedForm, zone: ZoneInfo) -> dict[str, Any]:
    errors: list[FieldError] = []
    if not form.values["programme"]:
        errors.append(FieldError("programme", MESSAGES["programme"]))
    mode = _choice(form, "mode", {m.value for m in Mode}, errors)
    client = form.values["client"] or None
    if mode == Mode.IN_PERSON and client is None:
        errors.append(FieldError("client", MESSAGES["client"]))
    series = _series(form, errors)
    start = _when(form, zone, errors)
    duration, slots = form.values["duration"], form.values["slots"]
    if not duration.isdigit():
        errors.append(FieldError("duration", N_("Enter the duration in minutes, as a number")))
    if not slots.isdigit():
        errors.append(FieldError("slots", MESSAGES["slots"]))
    urgency = _choice(form, "urgency", {u.value for u in Urgency}, errors)
    language = form.values["language"]
    if language and language not in LANGUAGES:
        errors.append(FieldError("language", MESSAGES["language"]))
    if errors:
        raise FormErrors(errors)
    assert start is not None
    end = start + timedelta(minutes=int(duration))
    return (
        {
            "programme_id": form.values["programme"],
            "mode": mode,
            "client_id": client,
            "title": form.values["title"],
            "description": form.notes.replace("\r\n", "\n") or None,
            "required_skills": form.skills,
            "languages": [language] if language else [],
            "windows": [{"start": start.isoformat(), "end": end.isoformat()}],
            "duration_minutes": int(duration),
            "slots": int(slots),
            "urgency": urgency,
        }
        | series
        | _continuity(form)
    )


def need_in(form: NeedForm, zone: ZoneInfo) -> NeedIn:
    """The API's input struct, the form's date and time read in `zone` (the
    organisation's), or `FormErrors` naming form fields."""
    payload = _payload(form, zone)
    try:
        return msgspec.convert(payload, NeedIn, strict=True)
    except msgspec.ValidationError as exc:
        found = _AT.search(str(exc))
        target = form_field(found.group(1) if found else "")
        raise FormErrors([FieldError(target, MESSAGES.get(target, str(exc)))]) from exc


def form_field(api_field: str) -> str:
    """The form field an API field's error belongs to (`windows[0].end` -> `when`)."""
    head = re.split(r"[.\[]", api_field, maxsplit=1)[0]
    return FIELD_IDS.get(head, "title")


def from_api(errors: list[FieldError]) -> list[FieldError]:
    """The use case's errors, each on its form field, in the API's own words."""
    mapped: dict[str, FieldError] = {}
    for error in errors:
        target = form_field(error.field)
        message = REWORDED.get(error.message, error.message[:1].upper() + error.message[1:])
        mapped.setdefault(target, FieldError(target, message))
    return list(mapped.values())
