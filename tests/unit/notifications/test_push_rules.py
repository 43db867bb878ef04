"""Pure rules of push delivery: backoff, quiet hours, and payloads that never carry
personal data whatever the outbox row holds."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from notifications.backoff import Policy, backoff
from notifications.fcm import Outcome, Result
from notifications.outbox import Kind
from notifications.payloads import ALLOWED, MAX_BYTES, SUMMARIES, data_for
from notifications.quiet import quiet_until

POLICY = Policy()


def test_backoff_grows_caps_and_honours_fcm() -> None:
    rng = random.Random(7)
    ceilings = [POLICY.base_backoff * 2 ** (n - 1) for n in range(1, 6)]
    for attempt, ceiling in enumerate(ceilings, start=1):
        for _ in range(50):
            assert timedelta(0) <= backoff(attempt, None, POLICY, rng) <= ceiling
    assert backoff(40, None, POLICY, rng) <= POLICY.max_backoff
    quota = Outcome(Result.QUOTA)
    assert all(backoff(1, quota, POLICY, rng) >= timedelta(seconds=60) for _ in range(50))
    later = Outcome(Result.UNAVAILABLE, retry_after_s=30)
    assert all(backoff(1, later, POLICY, rng) >= timedelta(seconds=30) for _ in range(50))


def person(start: time | None, end: time | None) -> SimpleNamespace:
    return SimpleNamespace(quiet_hours_start=start, quiet_hours_end=end, time_zone="Europe/London")


def test_quiet_hours_across_midnight_and_dst() -> None:
    night = person(time(22), time(7))
    # 23:30 London in winter (UTC+0): quiet until 07:00 the next morning
    at = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert quiet_until(night, at) == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    # 06:00 London in summer (UTC+1) is 05:00 UTC: quiet until 07:00 BST = 06:00 UTC
    at = datetime(2026, 7, 1, 5, 0, tzinfo=UTC)
    assert quiet_until(night, at) == datetime(2026, 7, 1, 6, 0, tzinfo=UTC)
    assert quiet_until(night, datetime(2026, 7, 1, 12, 0, tzinfo=UTC)) is None
    assert quiet_until(person(None, None), at) is None
    lunch = person(time(12), time(13))
    assert quiet_until(lunch, datetime(2026, 12, 1, 12, 30, tzinfo=UTC)) == datetime(
        2026, 12, 1, 13, 0, tzinfo=UTC
    )


SECRET = st.sampled_from(
    ["Ada Lovelace", "07700 900123", "ada@example.org", "1 Secret Road", "51.4551,-0.9712"]
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from([k.value for k in Kind] + ["something.else"]),
    payload=st.dictionaries(
        st.sampled_from([*ALLOWED, "name", "address", "phone", "location", "note"]),
        st.one_of(SECRET, st.text(max_size=300), st.booleans(), st.integers()),
        max_size=12,
    ),
)
def test_no_push_ever_carries_personal_data(kind: str, payload: dict[str, object]) -> None:
    data = data_for("5b0c5d7e-4a4e-4e8f-9d51-0c1d2e3f4a5b", kind, payload)
    encoded = json.dumps(data)
    assert len(encoded.encode()) <= MAX_BYTES
    assert set(data) <= {"message_id", "kind", "summary", *ALLOWED}
    assert data["summary"] in {*SUMMARIES.values(), "There is an update in Codeliver."}
    for secret in ("Ada", "07700", "example.org", "Secret", "51.4551", "-0.9712"):
        assert secret not in encoded
