"""A need's status machine, defined once: the states and the allowed moves between them.

Pure, so the cascade's decision can follow it; `app.needs.status` adds the HTTP refusals.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType


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

# The states that still want volunteers: the cascade offers only for these.
WANTING = (_S.OPEN, _S.PARTIALLY_FILLED)


def is_terminal(status: NeedStatus) -> bool:
    return status in TERMINAL


def can_transition(current: NeedStatus, target: NeedStatus) -> bool:
    return target in ALLOWED[current]


def fill_target(slots: int, filled: int) -> NeedStatus:
    """The status the fill counts alone call for (the caller checks the move is allowed)."""
    if filled == 0:
        return _S.OPEN
    return _S.PARTIALLY_FILLED if filled < slots else _S.FILLED
