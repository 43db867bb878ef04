"""Shared rules for strings on the wire."""

from __future__ import annotations

# Free text: not blank, and no NUL characters (PostgreSQL text cannot store them).
# Written to match in linear time (no backtracking between two starred classes).
TEXT_PATTERN = r"^\s*[^\x00\s][^\x00]*$"
