"""The need (need) status machine, defined once: the states, the allowed moves between them,
and the status a need takes from how many of its volunteer slots are filled."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from app.errors import Conflict


class NeedStatus(StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


_S = NeedStatus

ALLOWED: Mapping[NeedStatus, frozenset[NeedStatus]] = MappingProxyType(
    {
        _S.DRAFT: frozenset({_S.OPEN, _S.CANCELLED}),
        _S.OPEN: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
        _S.PARTIALLY_FILLED: frozenset(
            {_S.OPEN, _S.FILLED, _S.IN_PROGRESS, _S.CANCELLED, _S.EXPIRED}
        ),
        _S.FILLED: frozenset({_S.PARTIALLY_FILLED, _S.OPEN, _S.IN_PROGRESS, _S.CANCELLED}),
        _S.IN_PROGRESS: frozenset({_S.COMPLETED, _S.CANCELLED}),
        _S.COMPLETED: frozenset(),
        _S.CANCELLED: frozenset(),
        _S.EXPIRED: frozenset(),
    }
)

TERMINAL: frozenset[NeedStatus] = frozenset(s for s, targets in ALLOWED.items() if not targets)

# The states whose status follows from the fill counts alone.
FILLABLE: frozenset[NeedStatus] = frozenset({_S.OPEN, _S.PARTIALLY_FILLED, _S.FILLED})


def is_terminal(status: NeedStatus) -> bool:
    return status in TERMINAL


def can_transition(current: NeedStatus, target: NeedStatus) -> bool:
    return target in ALLOWED[current]


def transition(current: NeedStatus, target: NeedStatus) -> NeedStatus:
    """`target`, if a need may move there from `current`; otherwise a Conflict (409).

    Staying in the same state is not a transition and is refused too.
    """
    if not can_transition(current, target):
        raise Conflict(f"cannot move a need from {current} to {target}")
    return target


def status_after_fill(slots: int, filled: int, current: NeedStatus) -> NeedStatus:
    """The status of an open, partially filled or filled need once `filled` of its `slots`
    are taken: `current` when that does not change it, else the (allowed) new status.

    Bad counts are a ValueError (a bug in the caller); any other `current` is a Conflict:
    drafts take no volunteers, and in-progress or finished needs no longer follow the counts.
    """
    if slots < 1:
        raise ValueError(f"a need has at least one slot, got {slots}")
    if not 0 <= filled <= slots:
        raise ValueError(f"filled must be within [0, {slots}], got {filled}")
    if current not in FILLABLE:
        raise Conflict(f"cannot change the volunteers of a need in state {current}")
    if filled == 0:
        target = _S.OPEN
    elif filled < slots:
        target = _S.PARTIALLY_FILLED
    else:
        target = _S.FILLED
    return current if target == current else transition(current, target)
