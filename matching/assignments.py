"""When an assignment may move on: check-in, completion, withdrawal, a no-show, the need's
outcome. Each rule answers with the refusal in words (for the 409 or 422 the use case
raises), or None when the move is allowed."""

from __future__ import annotations

from datetime import datetime, timedelta

from matching.model import AssignmentStatus
from matching.status import NeedStatus

EARLY_CHECK_IN = timedelta(hours=1)  # check-in opens this long before the first window
# A need has an outcome to record once someone is on it, or it is done.
HAS_OUTCOME = frozenset({NeedStatus.FILLED, NeedStatus.IN_PROGRESS, NeedStatus.COMPLETED})


def check_in_refusal(
    status: AssignmentStatus, starts_at: datetime, ends_at: datetime, now: datetime
) -> str | None:
    if status is not AssignmentStatus.ACCEPTED:
        return f"cannot check in to an assignment that is {status}"
    if starts_at - EARLY_CHECK_IN > now or ends_at < now:
        return "check-in opens an hour before the need's time and closes at its end"
    return None


def geofence_refusal(distance_m: float | None, radius_m: int) -> str | None:
    """None within the radius (or for a remote need, which has no distance)."""
    if distance_m is None or distance_m <= radius_m:
        return None
    return f"you are {distance_m / 1000:.1f} km away: check in within {radius_m} m of the need"


def completion_refusal(status: AssignmentStatus) -> str | None:
    if status is AssignmentStatus.CHECKED_IN:
        return None
    if status is AssignmentStatus.ACCEPTED:
        return "check in first"
    return f"this assignment is {status}"


def withdrawal_refusal(status: AssignmentStatus) -> str | None:
    if status is AssignmentStatus.ACCEPTED:
        return None
    return f"cannot withdraw from an assignment that is {status}"


def no_show_refusal(status: AssignmentStatus, starts_at: datetime, now: datetime) -> str | None:
    if status is not AssignmentStatus.ACCEPTED:
        return f"cannot record a no-show for an assignment that is {status}"
    if starts_at > now:
        return "the need has not started yet"
    return None


def outcome_refusal(status: NeedStatus) -> str | None:
    return None if status in HAS_OUTCOME else f"a {status} need has no outcome to record yet"
