"""The need status machine for use cases: `matching.status` holds the states and the allowed
moves; here a refused move is a Conflict (409), and fill counts set the status."""

from __future__ import annotations

from app.errors import Conflict
from matching.status import (
    ALLOWED,
    FILLABLE,
    TERMINAL,
    WANTING,
    NeedStatus,
    can_transition,
    fill_target,
    is_terminal,
)

__all__ = [
    "ALLOWED",
    "FILLABLE",
    "TERMINAL",
    "WANTING",
    "NeedStatus",
    "can_transition",
    "is_terminal",
    "status_after_fill",
    "transition",
]


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
    target = fill_target(slots, filled)
    return current if target == current else transition(current, target)
