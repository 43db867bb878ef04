"""Wire shapes for a person's channels: push, text message, email, in their order."""

from __future__ import annotations

from datetime import datetime
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


Address = Annotated[
    str,
    msgspec.Meta(
        min_length=3,
        max_length=254,
        examples=["07700 900123", "me@example.org"],
        description="a UK mobile or +international number (sms), or an email address",
    ),
]
VerificationCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{6}$", examples=["042917"])]


class ChannelIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    address: Address


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
