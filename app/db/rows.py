"""The type of a result row of any shape, for the `of(row)` constructors that read one into a
typed row (`app.needs.facts.NeedRow`, `app.needs.summary.SummaryRow`, ...)."""

from __future__ import annotations

from typing import Any, TypeAlias

from sqlalchemy import Row

AnyRow: TypeAlias = Row[*tuple[Any, ...]]
