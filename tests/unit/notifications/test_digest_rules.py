"""The daily digest's rules: when it is due (local hour, once a day, across a clock change),
what it counts, which messages wait for it, and the shapes its text may carry."""

from __future__ import annotations

from datetime import UTC, date, datetime

from notifications.channels import DIGEST, STAFF, VETTING_SUMMARY, held_for_digest
from notifications.digest import COUNTED, counts, is_due, last_due, next_at
from notifications.texts import personalisation_for

LONDON = "Europe/London"


def test_due_once_the_local_hour_has_passed_and_once_a_day() -> None:
    before = datetime(2026, 12, 8, 7, 59, tzinfo=UTC)  # 07:59 in London (GMT)
    after = datetime(2026, 12, 8, 8, 0, tzinfo=UTC)
    assert last_due(before, LONDON, 8) == date(2026, 12, 7)
    assert last_due(after, LONDON, 8) == date(2026, 12, 8)
    assert not is_due(before, LONDON, 8, date(2026, 12, 7))
    assert is_due(after, LONDON, 8, date(2026, 12, 7))
    assert not is_due(after, LONDON, 8, date(2026, 12, 8))  # sent today already
    assert is_due(after, LONDON, 8, None)
    late = datetime(2026, 12, 8, 15, 0, tzinfo=UTC)  # the worker was down at 08:00
    assert is_due(late, LONDON, 8, date(2026, 12, 7))


def test_the_hour_is_local_summer_or_winter_and_in_any_zone() -> None:
    summer = datetime(2026, 7, 1, 7, 0, tzinfo=UTC)  # 08:00 BST
    assert last_due(summer, LONDON, 8) == date(2026, 7, 1)
    assert last_due(summer, "Asia/Kolkata", 13) == date(2026, 6, 30)  # 12:30 IST: not yet
    assert last_due(summer, "Asia/Kolkata", 12) == date(2026, 7, 1)
    # the night the clocks go forward (29 March 2026, 01:00 GMT -> 02:00 BST)
    spring = datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # 08:00 BST
    assert next_at(spring, LONDON, 8, date(2026, 3, 29)) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_next_at_is_now_when_due_else_the_next_local_hour() -> None:
    now = datetime(2026, 12, 8, 9, 30, tzinfo=UTC)
    assert next_at(now, LONDON, 8, date(2026, 12, 7)) == now
    assert next_at(now, LONDON, 8, date(2026, 12, 8)) == datetime(2026, 12, 9, 8, 0, tzinfo=UTC)
    assert next_at(now, LONDON, 17, date(2026, 12, 7)) == datetime(2026, 12, 8, 17, 0, tzinfo=UTC)


def test_counts_name_every_word_and_ignore_other_kinds() -> None:
    got = counts(["need.filled", "need.filled", "need.escalated", "offer.created"])
    assert got == {
        "escalated": 1,
        "volunteer_left": 0,
        "filled": 2,
        "completed": 0,
        "gap_alerts": 0,
    }
    assert set(COUNTED) == STAFF  # every staff kind that can be held is counted


def test_only_non_urgent_staff_messages_wait_for_a_chosen_digest() -> None:
    for kind in STAFF:
        assert held_for_digest(kind, urgent=False, digest=True)
        assert not held_for_digest(kind, urgent=True, digest=True)
        assert not held_for_digest(kind, urgent=False, digest=False)
    for kind in ("offer.created", "assignment.reminder", "need.claimed", DIGEST):
        assert not held_for_digest(kind, urgent=False, digest=True)


def test_a_digest_text_carries_its_counts_and_the_work_queue_only() -> None:
    facts = {
        **{word: "3" for word in COUNTED.values()},
        "link": "https://codeliver.example.gov.uk/console",
        "title": "Collect a prescription for Mrs Smith",
    }
    given = personalisation_for(DIGEST, facts)
    assert given["link"] == "https://codeliver.example.gov.uk/console"
    assert {given[w] for w in COUNTED.values()} == {"3"}
    assert "title" not in given
    refused = personalisation_for(DIGEST, {"filled": "three", "link": "https://x.org/console/x"})
    assert "filled" not in refused
    assert "link" not in refused


def test_the_weekly_count_of_checks_links_to_the_roster_of_one_organisation_only() -> None:
    roster = "https://codeliver.example.gov.uk/console/volunteers?org=" + "0" * 8 + "-0000" * 3
    facts = {"lapsing": "2", "lapsed": "1", "link": roster + "-" + "0" * 12 + "&check=30"}
    assert personalisation_for(VETTING_SUMMARY, facts) == facts | {
        "summary": personalisation_for(VETTING_SUMMARY, {})["summary"]
    }
    for other in (
        roster + "-" + "0" * 12 + "&check=30&name=Smith",  # nothing else in the query
        roster + "-" + "0" * 12 + "&check=lapsed",
        "https://codeliver.example.gov.uk/console/volunteers?org=smith&check=30",
    ):
        assert "link" not in personalisation_for(VETTING_SUMMARY, {"link": other})
