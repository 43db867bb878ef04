"""The console's reports page and its downloads: a programme (or all) and a period of whole
days in UK time, read through the summary's own use case (app/coverage/report.py), the CSV
and the PDF of app/coverage, in the caller's tenant transaction. Every member of staff may
read the reports of their own organisations, as through the API: the figures are counts,
never a client."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncEngine

from app.clock import clock_of
from app.console import i18n
from app.console.forms import CONSOLE_TZ
from app.console.views import MAX_CHOICES
from app.coverage import report, report_csv, report_figures, report_pdf
from app.db.tenancy import tenant_transaction
from app.errors import FieldError, InvalidInput
from app.identity.tokens import TokenIdentity
from app.programmes import service as programmes

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class ReportFilter:
    """What the form asked for: its words as typed (to show again) and what they mean."""

    programme: str
    first: str  # yyyy-mm-dd, the period's first day
    last: str  # yyyy-mm-dd, its last day (included)
    programme_id: UUID | None
    start: datetime | None
    end: datetime | None
    errors: list[FieldError]

    def query(self) -> str:
        return urlencode({"programme": self.programme, "from": self.first, "to": self.last})


def _day(raw: str, field: str, errors: list[FieldError]) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(FieldError(field, i18n.N_("Enter a real date, like 2027-03-27")))
        return None


def read_filter(
    programme: str | None, first: str | None, last: str | None, today: date
) -> ReportFilter:
    """The form's fields: the period's days are whole days in UK time, the last included."""
    errors: list[FieldError] = []
    last_text = last or today.isoformat()
    first_text = first or (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    to_day = _day(last_text, "to", errors)
    from_day = _day(first_text, "from", errors)
    chosen: UUID | None = None
    if programme:
        try:
            chosen = UUID(programme)
        except ValueError:
            errors.append(FieldError("programme", i18n.N_("Choose a programme from the list")))
    if from_day and to_day and to_day < from_day:
        errors.append(FieldError("to", i18n.N_("The last day must be on or after the first")))
    start = end = None
    if from_day and to_day and not errors:
        start = datetime.combine(from_day, time(), CONSOLE_TZ)
        end = datetime.combine(to_day + timedelta(days=1), time(), CONSOLE_TZ)
    return ReportFilter(programme or "", first_text, last_text, chosen, start, end, errors)


def filter_of(
    db: AsyncEngine, programme: str | None, first: str | None, last: str | None
) -> ReportFilter:
    """The filter, the default period ending today in UK time by the engine's clock."""
    today = clock_of(db).now().astimezone(CONSOLE_TZ).date()
    return read_filter(programme, first, last, today)


def _errors_of(exc: InvalidInput) -> list[FieldError]:
    """The use case's period errors as the form's fields (`from`, `to`)."""
    return [
        FieldError(
            e.field if e.field in ("from", "to", "programme") else "from",
            i18n.N_("The period is at most 366 days")
            if "366" in str(e.message)
            else i18n.N_("Check the period"),
        )
        for e in exc.errors
    ]


async def reports_page(
    db: AsyncEngine, identity: TokenIdentity, chosen: ReportFilter, k_min: int, language: str
) -> dict[str, Any]:
    async with tenant_transaction(db, identity) as tx:
        listed, _ = await programmes.list_programmes(
            tx, org_id=None, limit=MAX_CHOICES, cursor=None
        )
        context: dict[str, Any] = {
            "nav": "reports",
            "choices": listed,
            "chosen": chosen,
            "errors": chosen.errors,
        }
        if chosen.errors:
            return context
        try:
            found = await report.metrics_report(
                tx, chosen.programme_id, chosen.start, chosen.end, k_min
            )
        except InvalidInput as exc:
            return context | {"errors": _errors_of(exc)}
    outcomes = report_figures.outcomes(found)
    gettext = i18n.translations(language).gettext
    return context | {
        "report": found,
        "figures": report_figures.key_figures(found),
        "outcomes": outcomes,
        "areas": report_figures.area_rows(found.service_areas),
        "chart": report_pdf.outcome_chart(outcomes, gettext),
        "query": chosen.query(),
    }


async def needs_csv(
    db: AsyncEngine, identity: TokenIdentity, chosen: ReportFilter, k_min: int
) -> tuple[bytes, str]:
    if chosen.errors:
        raise InvalidInput(chosen.errors[0].message, chosen.errors)
    async with tenant_transaction(db, identity) as tx:
        return await report_csv.needs_csv(tx, chosen.programme_id, chosen.start, chosen.end, k_min)


async def pdf(
    db: AsyncEngine, identity: TokenIdentity, chosen: ReportFilter, k_min: int, language: str
) -> tuple[bytes, str]:
    if chosen.errors:
        raise InvalidInput(chosen.errors[0].message, chosen.errors)
    gettext = i18n.translations(language).gettext
    async with tenant_transaction(db, identity) as tx:
        page = await report_pdf.prepare(
            tx, chosen.programme_id, chosen.start, chosen.end, k_min, gettext, language
        )
    return await report_pdf.render(page), page.filename
