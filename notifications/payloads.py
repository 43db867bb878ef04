"""What a push carries: ids, a kind and a short summary, never personal data.

Pushes travel through Google and Apple. Whatever an outbox row's payload holds, only the
whitelisted keys below leave, each a short id-like or enumerated value; the summary is
fixed text per kind. So no client name, contact, address or exact location can be sent by
mistake (a property test feeds it arbitrary payloads).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

MAX_BYTES = 4096  # FCM's limit for a data message

# Keys a push may carry, each with the shape its value must have.
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_INSTANT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)$")
_WORD = re.compile(r"^[a-z_]{1,40}$")
ALLOWED: Mapping[str, re.Pattern[str]] = {
    "offer_id": _UUID,
    "need_id": _UUID,
    "assignment_id": _UUID,
    "area_id": _UUID,
    "org_id": _UUID,  # whose vetting a reminder is about
    "expires_at": _INSTANT,
    "reason": _WORD,
    "why": _WORD,
    "series": re.compile(r"^(true|false)$"),
    "expires_on": re.compile(r"^\d{4}-\d\d-\d\d$"),  # the day a DBS check stops counting
    "days": re.compile(r"^\d{1,3}$"),
}

SUMMARIES: Mapping[str, str] = {
    "offer.created": "Someone nearby needs a hand. Can you help?",
    "offer.withdrawn": "That request no longer needs you. Thank you!",
    "offer.expired": "That request has gone to someone else.",
    "assignment.confirmed": "You're confirmed. Open the app for the details.",
    "assignment.cancelled": "A visit you were booked for is cancelled.",
    "assignment.released": "We freed up a request you had not started.",
    "assignment.reminder": "Reminder: you're helping soon. Open the app for the details.",
    "need.claimed": "A volunteer has taken one of your requests.",
    "need.filled": "One of your requests is fully covered.",
    "need.volunteer_left": "A volunteer left one of your requests; we are finding another.",
    "need.escalated": "A request needs your attention: no volunteer yet.",
    "need.completed": "One of your requests is done.",
    "coverage.gap_alert": "An area you coordinate is short of volunteers.",
    "staff.digest": "Your daily Codeliver summary: what happened to your requests.",
    "vetting.lapsing": "Your DBS check needs renewing soon. Open the app for the details.",
    "vetting.summary": "This week's DBS checks: some lapse soon or have lapsed.",
}
DEFAULT_SUMMARY = "There is an update in Codeliver."


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def data_for(message_id: str, kind: str, payload: Mapping[str, Any]) -> dict[str, str]:
    """The data of a push for one outbox row: whitelisted, well-formed, at most 4 KB."""
    data = {
        "message_id": message_id,
        "kind": kind if kind in SUMMARIES else "update",
        "summary": SUMMARIES.get(kind, DEFAULT_SUMMARY),
    }
    for key, shape in ALLOWED.items():
        if key in payload:
            value = _text(payload[key])
            if shape.match(value):
                data[key] = value
    assert len(json.dumps(data).encode()) <= MAX_BYTES  # whitelisted shapes cannot exceed it
    return data
