"""A report as PDF (weasyprint), laid out for printing on A4: first the outcomes for the
people helped with a chart (success is measured by outcomes), then the key figures beside
the previous period's, the service areas under the k rule and the programmes. The figures
are the summary's (app/coverage/report.py), in the words of app/coverage/report_figures.py,
translated by the caller's gettext (the console's catalogue: English through the API, the
page's language from the console)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio.to_thread
from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from app.coverage import report_figures as figures
from app.coverage.report import report_of, report_scope
from app.coverage.report_chart import outcome_bars
from app.coverage.report_csv import record_export
from app.coverage.schemas import MetricsReport
from app.db.tenancy import Tx
from app.programmes import service as programmes

TEMPLATES = Path(__file__).parent / "templates"
Gettext = Callable[[str], str]


@pass_context
def _gettext(context: Context, message: str) -> str:
    translate: Gettext = context["gettext_of"]
    return translate(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    translate: Gettext = context["gettext_of"]
    return translate(singular if n == 1 else plural)


_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES), autoescape=True, extensions=["jinja2.ext.i18n"]
)
_ENV.install_gettext_callables(  # type: ignore[attr-defined]
    gettext=_gettext, ngettext=_ngettext, newstyle=True
)
_ENV.policies["ext.i18n.trimmed"] = True


@dataclass(frozen=True)
class PdfPage:
    html: str
    filename: str
    report: MetricsReport


def _when(at: str) -> str:
    return datetime.fromisoformat(at).strftime("%Y-%m-%d %H:%M UTC")


def outcome_chart(outcomes: list[tuple[str, int, int]], gettext: Gettext) -> Markup:
    """The outcomes' bars (app/coverage/report_chart.py) in the reader's words."""
    _ = gettext
    svg = outcome_bars(
        [(_(label), now, before) for label, now, before in outcomes],
        _("This period"),
        _("Previous period"),
        _("Outcomes for the people helped"),
    )
    return Markup(svg)  # noqa: S704 - drawn here, every text in it escaped


def html_of(
    report: MetricsReport, scope_name: str, gettext: Gettext, language: str, made_at: datetime
) -> str:
    _ = gettext
    span = _("%(start)s to %(end)s")
    outcomes = figures.outcomes(report)
    chart = outcome_chart(outcomes, gettext)
    programmes_rows = [
        (
            p.name,
            [
                figures.count(p.metrics.needs),
                figures.count(p.metrics.filled),
                figures.hours(p.metrics.completed_hours),
                figures.count(p.metrics.outcomes_recorded),
            ],
        )
        for p in report.programmes
    ]
    values: dict[str, Any] = {
        "gettext_of": gettext,
        "language": language,
        "scope_name": scope_name,
        "period": span % {"start": _when(report.period_start), "end": _when(report.period_end)},
        "previous_period": span
        % {
            "start": _when(report.previous.period_start),
            "end": _when(report.previous.period_end),
        },
        "figures": figures.key_figures(report),
        "outcomes": outcomes,
        "chart": chart,
        "areas": figures.area_rows(report.service_areas),
        "k_min": report.k_min,
        "programmes": programmes_rows,
        "made_at": made_at.strftime("%Y-%m-%d %H:%M UTC"),
    }
    return _ENV.get_template("report.html.j2").render(values)


async def prepare(
    tx: Tx,
    programme_id: UUID | None,
    start: datetime | None,
    end: datetime | None,
    k_min: int,
    gettext: Gettext,
    language: str,
) -> PdfPage:
    """The report's page, in the transaction; audited as a read of the report."""
    scope = await report_scope(tx, programme_id, start, end, k_min)
    report = await report_of(tx, scope)
    if programme_id is None:
        name = gettext("All programmes")
    else:
        name = (await programmes.get(tx, programme_id)).name
    await record_export(tx, scope, "pdf", report.overall.needs)
    filename = f"report-{scope.start.date().isoformat()}-{scope.end.date().isoformat()}.pdf"
    return PdfPage(html_of(report, name, gettext, language, tx.now), filename, report)


def _pdf(html: str) -> bytes:
    from weasyprint import HTML  # a second to import: only when a PDF is asked for

    body: bytes = HTML(string=html, base_url=str(TEMPLATES)).write_pdf()
    return body


async def render(page: PdfPage) -> bytes:
    """The PDF, drawn in a worker thread (it takes a fraction of a second of CPU)."""
    return await anyio.to_thread.run_sync(_pdf, page.html)
