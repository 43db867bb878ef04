from __future__ import annotations

from itertools import product

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.errors import Conflict
from app.needs.status import (
    ALLOWED,
    NeedStatus,
    can_transition,
    is_terminal,
    status_after_fill,
    transition,
)

S = NeedStatus
EXPECTED: dict[NeedStatus, set[NeedStatus]] = {
    S.DRAFT: {S.OPEN, S.CANCELLED},
    S.OPEN: {S.PARTIALLY_FILLED, S.FILLED, S.CANCELLED, S.EXPIRED},
    S.PARTIALLY_FILLED: {S.OPEN, S.FILLED, S.IN_PROGRESS, S.CANCELLED, S.EXPIRED},
    S.FILLED: {S.PARTIALLY_FILLED, S.OPEN, S.IN_PROGRESS, S.CANCELLED},
    S.IN_PROGRESS: {S.COMPLETED, S.CANCELLED},
    S.COMPLETED: set(),
    S.CANCELLED: set(),
    S.EXPIRED: set(),
}
PAIRS = list(product(NeedStatus, NeedStatus))


def test_the_statuses_are_the_stored_strings() -> None:
    assert [s.value for s in NeedStatus] == [
        "draft",
        "open",
        "partially_filled",
        "filled",
        "in_progress",
        "completed",
        "cancelled",
        "expired",
    ]
    assert NeedStatus("in_progress") is S.IN_PROGRESS
    assert f"{S.PARTIALLY_FILLED}" == "partially_filled"


def test_the_table_covers_every_status_and_is_read_only() -> None:
    assert set(ALLOWED) == set(NeedStatus)
    assert len(PAIRS) == 64
    with pytest.raises(TypeError):
        ALLOWED[S.COMPLETED] = frozenset({S.OPEN})  # type: ignore[index]


@pytest.mark.parametrize(("current", "target"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_each_move_is_allowed_exactly_when_the_table_says_so(
    current: NeedStatus, target: NeedStatus
) -> None:
    allowed = target in EXPECTED[current]
    assert (target in ALLOWED[current]) is allowed
    assert can_transition(current, target) is allowed
    if allowed:
        assert transition(current, target) is target
    else:
        with pytest.raises(Conflict) as caught:
            transition(current, target)
        assert caught.value.detail == f"cannot move a need from {current} to {target}"
        assert caught.value.status == 409


def test_a_refusal_names_both_states() -> None:
    with pytest.raises(Conflict, match="cannot move a need from completed to open"):
        transition(S.COMPLETED, S.OPEN)


@pytest.mark.parametrize("status", list(NeedStatus))
def test_only_completed_cancelled_and_expired_are_terminal(status: NeedStatus) -> None:
    terminal = status in {S.COMPLETED, S.CANCELLED, S.EXPIRED}
    assert is_terminal(status) is terminal
    assert (not ALLOWED[status]) is terminal


def test_every_status_is_reachable_from_draft_and_every_need_can_finish() -> None:
    def reachable(start: NeedStatus) -> set[NeedStatus]:
        seen, todo = {start}, [start]
        while todo:
            for nxt in ALLOWED[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return seen

    assert reachable(S.DRAFT) == set(NeedStatus)
    for status in NeedStatus:
        assert any(is_terminal(s) for s in reachable(status)), status


@pytest.mark.parametrize(
    ("slots", "filled", "current", "expected"),
    [
        (3, 0, S.OPEN, S.OPEN),
        (3, 1, S.OPEN, S.PARTIALLY_FILLED),
        (3, 3, S.OPEN, S.FILLED),
        (1, 1, S.OPEN, S.FILLED),
        (3, 2, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED),
        (3, 0, S.PARTIALLY_FILLED, S.OPEN),
        (3, 3, S.PARTIALLY_FILLED, S.FILLED),
        (3, 3, S.FILLED, S.FILLED),
        (3, 2, S.FILLED, S.PARTIALLY_FILLED),
        (3, 0, S.FILLED, S.OPEN),
    ],
)
def test_the_fill_counts_decide_open_partially_filled_or_filled(
    slots: int, filled: int, current: NeedStatus, expected: NeedStatus
) -> None:
    assert status_after_fill(slots, filled, current) is expected


@given(st.integers(1, 50), st.data(), st.sampled_from([S.OPEN, S.PARTIALLY_FILLED, S.FILLED]))
def test_a_fill_change_is_always_an_allowed_move(
    slots: int, data: st.DataObject, current: NeedStatus
) -> None:
    filled = data.draw(st.integers(0, slots))
    after = status_after_fill(slots, filled, current)
    assert after == current or after in ALLOWED[current]


@pytest.mark.parametrize(("slots", "filled"), [(0, 0), (-1, 0), (2, 3), (2, -1)])
def test_impossible_fill_counts_are_a_value_error(slots: int, filled: int) -> None:
    with pytest.raises(ValueError, match=r"must be|at least one slot"):
        status_after_fill(slots, filled, S.OPEN)


@pytest.mark.parametrize("current", [S.DRAFT, S.IN_PROGRESS, S.COMPLETED, S.CANCELLED, S.EXPIRED])
def test_needs_outside_the_filling_states_do_not_follow_the_counts(current: NeedStatus) -> None:
    with pytest.raises(Conflict, match=f"in state {current}$"):
        status_after_fill(2, 1, current)


@given(st.sampled_from(list(NeedStatus)), st.lists(st.integers(0, 10), max_size=30))
def test_random_walks_of_allowed_moves_never_leave_a_terminal_state(
    start: NeedStatus, choices: list[int]
) -> None:
    status = start
    reached_terminal = False
    for choice in choices:
        options = sorted(ALLOWED[status])
        if not options:
            assert is_terminal(status)
            reached_terminal = True
            for target in NeedStatus:
                with pytest.raises(Conflict):
                    transition(status, target)
            continue
        assert not reached_terminal
        status = transition(status, options[choice % len(options)])
    if reached_terminal:
        assert is_terminal(status)
