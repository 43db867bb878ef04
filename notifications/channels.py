"""Which channel a message goes by: the rule, pure (no I/O); the dispatcher applies it.

Offers and reminders (of a visit, of a DBS check to renew), and what staff are told of
their needs (escalated, a volunteer gone, filled, completed; a coordinator's gap alert and
weekly count of lapsing checks), follow the person's order of channels (push,
text, email, as they chose): the first that can carry it now (push: a registered device;
text or email: verified and healthy, and a template for the kind set up) and was not
already tried for this message. A permanent failure on one moves the message to the next.
Everything else is a push, as before channels existed (the live channel carries it too).
A verification code goes by the channel it verifies; the answer to a text reply by text.
Staff who chose a daily digest hear of non-urgent staff kinds in it instead (held until
then, notifications/digest.py); the digest itself goes by their order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

PUSH, SMS, EMAIL = "push", "sms", "email"
CHANNELS = (PUSH, SMS, EMAIL)

OFFER = "offer.created"
REMINDER = "assignment.reminder"
VERIFY = "channel.verify"  # a one-time code for the channel it verifies
REPLY = "sms.reply"  # the answer to a text a volunteer sent us
# What staff hear by their own order (an escalation waits unseen if nobody watches the
# live channel): the kinds the outbox sends caseworkers and coordinators, but a claim.
STAFF = frozenset(
    {"need.escalated", "need.volunteer_left", "need.filled", "need.completed", "coverage.gap_alert"}
)
DIGEST = "staff.digest"  # once a day, what was held for a person who chose a digest
LAPSING = "vetting.lapsing"  # a volunteer's DBS check lapses soon
VETTING_SUMMARY = "vetting.summary"  # a coordinator's weekly count of lapsing checks
FOLLOW_ORDER = frozenset({OFFER, REMINDER, DIGEST, LAPSING, VETTING_SUMMARY}) | STAFF
TEXT_ONLY = frozenset({VERIFY, REPLY})  # never a push: nothing else may carry them


@dataclass(frozen=True, slots=True)
class Channel:
    """One of a person's channels (a contact_channels row)."""

    name: str
    address: str | None
    position: int
    verified: bool
    healthy: bool


@dataclass(frozen=True, slots=True)
class Route:
    channel: str  # push | sms | email
    address: str | None  # for sms and email
    fallback: bool  # another channel could carry it if this one fails for good


def held_for_digest(kind: str, urgent: bool, digest: bool) -> bool:
    """Whether a message waits for its person's daily digest: a staff kind, not urgent (an
    urgent need's escalation goes at once), for someone who chose a digest."""
    return digest and kind in STAFF and not urgent


def _usable(c: Channel, has_devices: bool) -> bool:
    if c.name == PUSH:
        return has_devices
    return c.verified and c.healthy and c.address is not None


def route(
    kind: str,
    payload: Mapping[str, Any],
    channels: Sequence[Channel],
    *,
    has_devices: bool,
    tried: Sequence[str] = (),
    carries: Callable[[str, str], bool] | None = None,
) -> Route | None:
    """The channel for this message now, or None if none is left to try. `carries(channel,
    kind)`: whether text or email can carry this kind at all (a template set up); the ones
    that cannot are passed over, so a staff message with no email template still goes by
    push."""
    if carries is not None:
        channels = [c for c in channels if c.name == PUSH or carries(c.name, kind)]
    by_name = {c.name: c for c in channels}
    if kind in TEXT_ONLY:
        name = str(payload.get("channel", "")) if kind == VERIFY else SMS
        c = by_name.get(name)
        ok = c is not None and c.address is not None and name not in tried
        if ok and kind == REPLY:
            ok = c is not None and c.verified
        return Route(name, c.address, False) if ok and c is not None else None
    if kind not in FOLLOW_ORDER:
        return None if PUSH in tried else Route(PUSH, None, False)
    order = sorted(channels, key=lambda c: c.position) or [Channel(PUSH, None, 0, True, True)]
    usable = [c for c in order if c.name not in tried and _usable(c, has_devices)]
    if not usable:
        return None
    first = usable[0]
    return Route(first.name, first.address, len(usable) > 1)
