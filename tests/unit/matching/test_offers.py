"""A volunteer's answer to an offer, and which factors of its score they see."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from matching.model import OfferStatus
from matching.offers import answer_refusal, shown_to_volunteer

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def test_an_open_offer_can_be_answered_until_it_expires() -> None:
    assert answer_refusal(OfferStatus.PENDING, NOW + timedelta(seconds=1), NOW) is None
    assert answer_refusal(OfferStatus.PENDING, NOW, NOW) == "this offer has expired"


@pytest.mark.parametrize("status", [s for s in OfferStatus if s is not OfferStatus.PENDING])
def test_an_answered_or_withdrawn_offer_says_what_became_of_it(status: OfferStatus) -> None:
    assert answer_refusal(status, NOW + timedelta(hours=1), NOW) == f"this offer was {status}"


@pytest.mark.parametrize(
    ("factor", "shown"),
    [
        ("distance", False),  # invertible to the exact address
        ("urgency", False),  # scaled by distance too
        ("continuity", True),
        ("fairness", True),
        ("reliability", True),
        ("preference", True),
    ],
)
def test_a_volunteer_never_sees_the_factors_that_reveal_the_place(factor: str, shown: bool) -> None:
    assert shown_to_volunteer(factor) is shown
