"""What a text message or email may carry: Notify personalisation, never personal data.

Texts travel through Notify and the phone networks. The wording is Notify's templates'; we
send only the whitelisted fields below, each of a fixed shape (no free text can pass), so
an offer carries the kind of help, the coarse area, the time and the reply code, and never
a client's name, contact or address (a property test feeds arbitrary facts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from notifications.digest import COUNTED
from notifications.payloads import DEFAULT_SUMMARY, SUMMARIES

_SUMMARIES: Mapping[str, str] = {
    **SUMMARIES,
    "offer.created": "Someone nearby needs a hand. Can you help?",
    "channel.verify": "Your Codeliver code.",
    "sms.reply": "Codeliver.",
}

# Fields a text may carry, each with the shape its value must have.
ALLOWED: Mapping[str, re.Pattern[str]] = {
    "help": re.compile(r"^[a-z][a-z ]{1,39}$"),  # the kind of help: "shopping", "befriending"
    "area": re.compile(r"^(about \d{1,3} km from home|less than 1 km from home|remote)$"),
    "when": re.compile(r"^[A-Z][a-z]{2} \d{1,2} [A-Z][a-z]{2} \d\d:\d\d$"),  # "Tue 8 Dec 14:00"
    "answer_by": re.compile(r"^\d\d:\d\d$"),
    "reply_code": re.compile(r"^\d{4}$"),
    "code": re.compile(r"^\d{6}$"),  # a channel's one-time verification code
    "answer": re.compile(r"^[a-z_]{1,40}$"),  # what became of a reply: accepted, declined, ...
    # why a need escalated (matching.model.Escalation, in words)
    "reason": re.compile(r"^(waves exhausted|alert cap|no candidates|all asleep)$"),
    # a console page or the map, by id: "https://codeliver.example.gov.uk/console/needs/<uuid>";
    # the work queue (`/console`) for a digest; for the weekly count of checks, the roster of
    # the organisation's checks lapsing within 30 days (`/console/volunteers?org=<uuid>&check=30`)
    "link": re.compile(
        r"^https?://[A-Za-z0-9.\-]+(:\d{1,5})?(/[A-Za-z0-9._\-]+)*"
        r"/(console(/needs/[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12})?|coverage"
        r"|console/volunteers\?org=[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}&check=30)$"
    ),
    # a DBS check's expiry ("8 Jan 2027") and the days left; a weekly count of checks
    "expires": re.compile(r"^\d{1,2} [A-Z][a-z]{2} \d{4}$"),
    "days": re.compile(r"^\d{1,3}$"),
    "lapsing": re.compile(r"^\d{1,6}$"),
    "lapsed": re.compile(r"^\d{1,6}$"),
    # a daily digest's counts (notifications/digest.py: COUNTED)
    **dict.fromkeys(COUNTED.values(), re.compile(r"^\d{1,4}$")),
}


def personalisation_for(kind: str, facts: Mapping[str, Any]) -> dict[str, str]:
    """Notify personalisation for one message: a fixed summary and the whitelisted facts."""
    out = {"summary": _SUMMARIES.get(kind, DEFAULT_SUMMARY)}
    for key, shape in ALLOWED.items():
        value = facts.get(key)
        if isinstance(value, str) and shape.match(value):
            out[key] = value
    return out
