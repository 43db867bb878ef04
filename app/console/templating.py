"""The console's Jinja2 environment: autoescaped, in the page's language (`language` in
its context, app/console/i18n.py), with the few helpers the templates share.

`_("...")` and `{% trans %}` translate a template's own words (and mark them for the
catalogue); the `t` filter translates words Python handed the page (marked there with
`N_`), escaped as any value is. `_()` returns markup, so it is for literals only."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from app.console import i18n, views
from app.console.forms import LANGUAGES
from app.console.views import status_label, zone_of
from app.needs.recurrence import describe
from app.needs.schemas import Need

TEMPLATES = Path(__file__).parent / "templates"
TAGS = {  # GOV.UK tag colours by need status
    "draft": "grey",
    "open": "blue",
    "partially_filled": "light-blue",
    "filled": "green",
    "in_progress": "turquoise",
    "completed": "green",
    "cancelled": "red",
    "expired": "orange",
}


@pass_context
def area(context: Context, need: Need) -> str:
    """The coarse public point (about 500 m), never the address."""
    point = need.coarse_location
    if point is None:
        return i18n.translate(_language(context), i18n.N_("Remote"))
    where = {"lat": f"{point.lat:.3f}", "lon": f"{point.lon:.3f}"}
    phrase = i18n.Phrase(i18n.N_("Within about 500 m of %(lat)s, %(lon)s"), where)
    return i18n.translate(_language(context), phrase)


def _zones(context: Context) -> Any:
    return context.get("zones") or {}


def _language(context: Context) -> str:
    return str(context.get("language") or i18n.DEFAULT)


@pass_context
def translate(context: Context, text: str | i18n.Phrase | None) -> str:
    """The `t` filter: words from Python, in the page's language (plain text, escaped)."""
    return i18n.translate(_language(context), text)


@pass_context
def _gettext(context: Context, message: str) -> str:
    return i18n.translations(_language(context)).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return i18n.translations(_language(context)).ngettext(singular, plural, n)


@pass_context
def when(context: Context, need: Need) -> str:
    """The need's first window, in its organisation's time zone (the page's `zones`)."""
    return views.when(need, zone_of(_zones(context), need.org_id), _language(context))


@pass_context
def moment(context: Context, at: datetime, org_id: UUID | None = None) -> str:
    """An instant in the organisation's time zone: `Tue 9 March 2027 at 10:42`."""
    local = at.astimezone(zone_of(_zones(context), org_id))
    language = _language(context)
    return i18n.translate(
        language,
        i18n.Phrase(
            i18n.N_("%(day)s at %(time)s"),
            {"day": i18n.date_words(local, language), "time": f"{local:%H:%M}"},
        ),
    )


@pass_context
def day(context: Context, on: date | None) -> str:
    """A calendar day in the page's language: `Tue 9 March 2027`."""
    return "" if on is None else i18n.date_words(on, _language(context))


@pass_context
def repeats(context: Context, need: Need) -> str:
    """A series' rule in words, and which visit this one is."""
    language = _language(context)
    if need.recurrence is None or need.series_index is None:
        return i18n.translate(language, i18n.N_("Once"))
    phrase = i18n.Phrase(
        i18n.N_("%(rule)s; this is visit %(visit)s"),
        {
            "rule": i18n.translate(language, describe(need.recurrence)),
            "visit": need.series_index + 1,
        },
    )
    return i18n.translate(language, phrase)


@pass_context
def languages(context: Context, codes: list[str]) -> str:
    language = _language(context)
    named = [i18n.translate(language, LANGUAGES.get(c, c)) for c in codes]
    return ", ".join(named) or i18n.translate(language, i18n.N_("Any"))


def tag_colour(status: str) -> str:
    return TAGS.get(status, "grey")


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, extensions=["jinja2.ext.i18n"]
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_gettext, ngettext=_ngettext, newstyle=True
    )
    env.policies["ext.i18n.trimmed"] = True  # `{% trans %}` blocks: whitespace collapsed
    env.filters["t"] = translate
    env.globals.update(
        when=when,
        status_label=status_label,
        area=area,
        tag_colour=tag_colour,
        moment=moment,
        day=day,
        repeats=repeats,
        languages=languages,
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))
