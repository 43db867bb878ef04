"""What the simulated week reads after each step (one connection, `Week.after_step`): the
next cascade step, rows written since the last look, the outbox, the caseworker's queue."""

from __future__ import annotations

from sqlalchemy import text

NEXT_DUE = text("SELECT min(next_step_at) FROM needs")
# Rows written since the last look: every write stamps `sync_xid` (migration 0011), and the
# simulation's transactions run one at a time, so the stamps only grow.
NEW_OFFERS = text(
    "SELECT o.id, o.need_id, o.volunteer_id, o.sync_xid,"
    "       EXISTS (SELECT FROM assignments a WHERE a.volunteer_id = o.volunteer_id"
    "               AND a.status IN ('accepted', 'checked_in')) AS busy"
    "  FROM offers o WHERE o.status = 'pending' AND o.sync_xid > :xid"
)
NEW_ASSIGNMENTS = text(
    "SELECT id, need_id, volunteer_id, sync_xid FROM assignments WHERE sync_xid > :xid"
)
# Whether the push dispatcher has anything to lease (its lease's own condition): draining an
# empty outbox is a transaction for nothing.
PUSH_DUE = text(
    "SELECT EXISTS (SELECT FROM outbox WHERE status = 'pending' AND next_attempt_at <= :now)"
)
# Needs the cascade handed to a person and still wanting someone: the caseworker's queue.
ESCALATED = text(
    "SELECT id, escalated_at FROM needs"
    " WHERE escalated_at IS NOT NULL AND status IN ('open', 'partially_filled')"
)
ROWS_OF = text(
    "SELECT id, coalesce(series_index, 0) FROM needs WHERE id = :id"
    " OR (series_id IS NOT NULL AND series_id = (SELECT series_id FROM needs WHERE id = :id))"
)
# Whether an offer is still in its volunteer's list (`app/offers/service.py: my_offers`).
STILL_OFFERED = text(
    "SELECT EXISTS (SELECT FROM offers WHERE id = :id AND status = 'pending' AND expires_at > :now)"
)
