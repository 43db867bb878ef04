"""One-time codes: a channel's verification code (6 digits, hashed at rest) and an offer's
reply code (4 digits, random, unique among the volunteer's live codes)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from uuid import UUID

VERIFY_TTL = timedelta(minutes=15)
VERIFY_ATTEMPTS = 5  # wrong codes before a new one must be asked for


def new_verification_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def new_reply_code() -> str:
    return f"{secrets.randbelow(10_000):04d}"


def code_hash(user_id: UUID, channel: str, code: str) -> str:
    """What is kept of a verification code: bound to the person and the channel."""
    return hashlib.sha256(f"{user_id}:{channel}:{code}".encode()).hexdigest()


def matches(stored: str | None, user_id: UUID, channel: str, code: str) -> bool:
    return stored is not None and hmac.compare_digest(stored, code_hash(user_id, channel, code))
