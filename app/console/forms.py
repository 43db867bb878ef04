"""The "Post a need" form: its fields read into the API's own `NeedIn`, and every error,
the form's, msgspec's or the use case's, named by the form field it belongs to.

The form only turns text into the API's types (a date and a time into a window); the rules
are the API's: `msgspec.convert` into `NeedIn` (strict, as the API decodes a body), then
`app.needs.service.create`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec

from app.errors import FieldError
from app.needs.schemas import NeedIn

# Times are read and shown in the UK's time zone, the organisations' default (the
# organisation's own zone is a later step of issue 15).
CONSOLE_TZ = ZoneInfo("Europe/London")
TEXT_FIELDS = ("programme", "client", "title", "day", "month", "year", "time", "duration")
FIELD_IDS = {  # the API's field (path prefix) -> the form field showing its error
    "programme_id": "programme",
    "client_id": "client",
    "location": "client",  # in person: the client's address is the need's place
    "title": "title",
    "description": "notes",
    "windows": "when",
    "duration_minutes": "duration",
    "required_skills": "skills",
}
MESSAGES = {  # what each field wants, for the struct's own constraint errors
    "programme": "Select the programme",
    "client": "Select the client",
    "title": "Enter a title of up to 200 characters",
    "notes": "Notes must be 5,000 characters or fewer",
    "when": "Enter when the help is needed",
    "duration": "Enter a duration from 5 to 1,440 minutes",
    "skills": "Select up to 10 skills",
}
REWORDED = {  # the API's words for a window, as a person filling in "When" reads them
    "is in the past": "The date and time must be in the future",
    "more than a year ahead": "The date must be within a year from today",
}
_AT = re.compile(r" - at `\$\.?([A-Za-z_]+)")


@dataclass
class NeedForm:
    values: dict[str, str] = field(default_factory=dict)
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


def _when(form: NeedForm, errors: list[FieldError]) -> datetime | None:
    v = form.values
    try:
        day = date(int(v["year"]), int(v["month"]), int(v["day"]))
    except ValueError:
        errors.append(FieldError("when", "Enter a real date, like 27 3 2027"))
        return None
    try:
        at = time.fromisoformat(v["time"]) if re.fullmatch(r"\d{1,2}:\d{2}", v["time"]) else None
    except ValueError:
        at = None
    if at is None:
        errors.append(FieldError("when-time", "Enter a time on the 24-hour clock, like 14:30"))
        return None
    return datetime.combine(day, at.replace(second=0), tzinfo=CONSOLE_TZ)


def _payload(form: NeedForm) -> dict[str, Any]:
    errors: list[FieldError] = []
    for name in ("programme", "client"):
        if not form.values[name]:
            errors.append(FieldError(name, MESSAGES[name]))
    start = _when(form, errors)
    duration = form.values["duration"]
    if not duration.isdigit():
        errors.append(FieldError("duration", "Enter the duration in minutes, as a number"))
    if errors:
        raise FormErrors(errors)
    assert start is not None
    end = start + timedelta(minutes=int(duration))
    return {
        "programme_id": form.values["programme"],
        "client_id": form.values["client"],
        "title": form.values["title"],
        "description": form.notes.replace("\r\n", "\n") or None,
        "required_skills": form.skills,
        "windows": [{"start": start.isoformat(), "end": end.isoformat()}],
        "duration_minutes": int(duration),
    }


def need_in(form: NeedForm) -> NeedIn:
    """The API's input struct, or `FormErrors` naming form fields."""
    payload = _payload(form)
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
