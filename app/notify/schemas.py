"""Wire shapes for a person's channels: push, text message, email, in their order."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from app.wire import UNIQUE


class ChannelName(StrEnum):
    PUSH = "push"
    SMS = "sms"
    EMAIL = "email"


class TextChannelName(StrEnum):
    SMS = "sms"
    EMAIL = "email"


# The server reads exactly these (app/notify/channels.py: phone_number, EMAIL), so every
# string the document allows is a number or address it accepts.
PHONE_PATTERN = r"^(0 *7( *[0-9]){9}|\+?[1-9]( *[0-9]){7,14})$"
EMAIL_PATTERN = (
    r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})*\.[A-Za-z]{2,24}$"
)
PhoneNumber = Annotated[
    str,
    msgspec.Meta(
        pattern=PHONE_PATTERN,
        max_length=32,
        examples=["07700 900123", "+447700900123"],
        description="a UK mobile (07...) or an international number (+...)",
    ),
]
EmailAddress = Annotated[
    str, msgspec.Meta(pattern=EMAIL_PATTERN, max_length=254, examples=["me@example.org"])
]
VerificationCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", examples=["042917"])]


class PhoneIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    number: PhoneNumber


class EmailIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    address: EmailAddress


class VerifyIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    code: VerificationCode


class OrderIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    order: Annotated[
        list[ChannelName], msgspec.Meta(min_length=1, max_length=3, extra_json_schema=UNIQUE)
    ]


class ContactChannel(msgspec.Struct, frozen=True):
    channel: ChannelName
    address: str | None  # the caller's own; none for push (their devices)
    position: int
    verified: bool
    healthy: bool
    health_note: str | None
    verified_at: datetime | None


class DigestIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Hear of one's needs once a day at `hour` local time instead of one message each."""

    hour: Annotated[int, msgspec.Meta(ge=0, le=23, examples=[8])] = 8
    time_zone: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=64, examples=["Europe/London"])] | None
    ) = None  # an IANA name; by default the zone of the caller's organisations


class Digest(msgspec.Struct, frozen=True):
    hour: int
    time_zone: str
    last_sent_on: date | None  # the local day of the last digest (or of its first chance)
    next_at: datetime  # when the next goes, if anything is held by then
    held: int  # messages waiting for it
