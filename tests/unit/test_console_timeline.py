"""A need's timeline as its caseworker reads it (app/console/timeline.py): pure, so tested
on hand-built reads in milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec

from app.assignments.schemas import Assignment
from app.console.timeline import Entry, name_list, timeline
from app.needs.schemas import Need
from app.offers.schemas import StaffOffer

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
NEED_ID = uuid4()


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _need(**values: Any) -> Need:
    base: dict[str, Any] = {
        "id": NEED_ID,
        "org_id": uuid4(),
        "programme_id": uuid4(),
        "client_id": None,
        "title": "Collect a prescription",
        "description": None,
        "mode": "in_person",
        "location": None,
        "coarse_location": None,
        "required_skills": [],
        "languages": [],
        "min_vetting": "none",
        "windows": [],
        "duration_minutes": 30,
        "slots": 1,
        "filled": 0,
        "urgency": "normal",
        "dispatch": "auto",
        "status": "open",
        "series_id": None,
        "series_index": None,
        "recurrence": None,
        "continuity": None,
        "cancel_reason": None,
        "waves_sent": 0,
        "escalated_at": None,
        "escalation_reason": None,
        "outcome": None,
        "outcome_note": None,
        "outcome_at": None,
        "created_at": T0,
        "updated_at": T0,
    }
    return msgspec.convert(base | values, Need)


def _offer(name: str | None, *, at: int, **values: Any) -> StaffOffer:
    base: dict[str, Any] = {
        "id": uuid4(),
        "need_id": NEED_ID,
        "volunteer_id": uuid4(),
        "volunteer_name": name,
        "status": "pending",
        "wave": 1,
        "source": "cascade",
        "series": False,
        "score": 0.5,
        "explanation": [],
        "created_at": _at(at),
        "expires_at": _at(at + 30),
        "responded_at": None,
        "decline_reason": None,
    }
    return msgspec.convert(base | values, StaffOffer)


def _assignment(volunteer_id: UUID, *, at: int, **values: Any) -> Assignment:
    base: dict[str, Any] = {
        "id": uuid4(),
        "need_id": NEED_ID,
        "volunteer_id": volunteer_id,
        "status": "accepted",
        "accepted_at": _at(at),
        "checked_in_at": None,
        "completed_at": None,
        "minutes": None,
        "outcome": None,
        "note": None,
        "ended_at": None,
        "end_reason": None,
        "updated_at": _at(at),
    }
    return msgspec.convert(base | values, Assignment)


def _texts(entries: list[Entry]) -> list[str]:
    return [e.text for e in entries]


def test_a_fresh_need_has_only_its_posting() -> None:
    assert _texts(timeline(_need(), [], [], {})) == ["Posted"]


def test_one_wave_is_one_entry_and_each_answer_its_own() -> None:
    ann = _offer("Ann", at=1, status="declined", responded_at=_at(5), decline_reason="busy")
    bob = _offer("Bob", at=1, status="expired", responded_at=_at(31))
    cy = _offer("Cy", at=1, status="accepted", responded_at=_at(7))
    entries = timeline(_need(), [ann, bob, cy], [_assignment(cy.volunteer_id, at=7)], {})
    assert _texts(entries) == [
        "Posted",
        "Offered to 3 volunteers (wave 1): Ann, Bob and Cy",
        "Ann declined",
        "A volunteer accepted and is assigned",  # the names map is the assignment's source
        "Bob did not answer in time",
    ]
    assert entries[2].note == "busy"
    assert [e.kind for e in entries] == ["posted", "offered", "declined", "accepted", "expired"]


def test_waves_and_a_caseworkers_offer_are_separate_entries() -> None:
    first = [_offer(f"V{i}", at=1) for i in range(7)]
    second = _offer("Dee", at=31, wave=2)
    manual = _offer(None, at=40, wave=0, source="manual")
    texts = _texts(timeline(_need(), [*first, second, manual], [], {}))
    assert texts == [
        "Posted",
        "Offered to 7 volunteers (wave 1): V0, V1, V2, V3, V4 and 2 others",
        "Offered to 1 volunteer (wave 2): Dee",
        "Offered to 1 volunteer (by a caseworker): A volunteer",
    ]


def test_an_assignment_through_to_the_outcome() -> None:
    vol = uuid4()
    done = _assignment(
        vol,
        at=10,
        status="completed",
        checked_in_at=_at(60),
        completed_at=_at(90),
        minutes=30,
        note="All fine",
    )
    need = _need(status="completed", outcome="done", outcome_note="Thanks", outcome_at=_at(120))
    entries = timeline(need, [], [done], {vol: "Eve"})
    assert _texts(entries) == [
        "Posted",
        "Eve accepted and is assigned",
        "Eve checked in",
        "Eve completed it (30 minutes)",
        "Outcome recorded: Helped as planned",
    ]
    assert entries[3].note == "All fine"
    assert entries[4].note == "Thanks"


def test_endings_escalation_and_cancellation() -> None:
    vol = uuid4()
    left = _assignment(vol, at=10, status="no_show", ended_at=_at(70), end_reason="ill")
    need = _need(
        status="cancelled",
        escalated_at=_at(80),
        escalation_reason="waves_exhausted",
        cancel_reason="Family will go",
        updated_at=_at(95),
    )
    entries = timeline(need, [], [left], {vol: "Fay"})
    assert _texts(entries) == [
        "Posted",
        "Fay accepted and is assigned",
        "Fay did not come",
        "Escalated to a caseworker: waves exhausted",
        "Cancelled",
    ]
    assert entries[2].note == "ill"
    assert entries[4].note == "Family will go"


def test_at_one_instant_things_come_in_the_order_they_happen() -> None:
    # a claim the same instant it was offered, posted the same instant too
    cy = _offer("Cy", at=0, status="accepted", responded_at=_at(0))
    entries = timeline(_need(), [cy], [_assignment(cy.volunteer_id, at=0)], {})
    assert [e.kind for e in entries] == ["posted", "offered", "accepted"]


def test_name_list_reads_as_english() -> None:
    assert name_list(["Ann"]) == "Ann"
    assert name_list(["Ann", "Bob"]) == "Ann and Bob"
    assert name_list(["Ann", "Bob", "Cy"]) == "Ann, Bob and Cy"
    six = ["A", "B", "C", "D", "E", "F"]
    assert name_list(six) == "A, B, C, D, E and 1 other"
