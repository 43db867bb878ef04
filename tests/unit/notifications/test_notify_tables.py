"""The channel columns notifications names are the app's (as test_tables.py does for the
outbox, devices and memberships)."""

from __future__ import annotations

from notifications import tables
from tests.unit.notifications.test_tables import (
    test_every_column_named_here_is_the_apps as same_columns,
)


def test_the_channel_columns_are_the_apps() -> None:
    same_columns(tables.contact_channels)
