"""A volunteer's answer to an offer, and what of its explanation they are shown."""

from __future__ import annotations

from datetime import datetime

from matching.model import OfferStatus

# Factors a volunteer does not see on their own offers: both are functions of the distance to
# the exact address, which they could invert to narrow the coarse cell down.
PLACE_FACTORS = frozenset({"distance", "urgency"})


def answer_refusal(status: OfferStatus, expires_at: datetime, now: datetime) -> str | None:
    """Why an offer can no longer be accepted or declined, or None while it is open."""
    if status is not OfferStatus.PENDING:
        return f"this offer was {status}"
    if expires_at <= now:
        return "this offer has expired"
    return None


def shown_to_volunteer(factor: str) -> bool:
    return factor not in PLACE_FACTORS
