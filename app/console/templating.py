"""The console's Jinja2 environment: autoescaped, with the few helpers the templates share."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template.config import TemplateConfig

from app.console import views
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


def area(need: Need) -> str:
    """The coarse public point (about 500 m), never the address."""
    point = need.coarse_location
    if point is None:
        return "Remote"
    return f"Within about 500 m of {point.lat:.3f}, {point.lon:.3f}"


def _zones(context: Context) -> Any:
    return context.get("zones") or {}


@pass_context
def when(context: Context, need: Need) -> str:
    """The need's first window, in its organisation's time zone (the page's `zones`)."""
    return views.when(need, zone_of(_zones(context), need.org_id))


@pass_context
def moment(context: Context, at: datetime, org_id: UUID | None = None) -> str:
    """An instant in the organisation's time zone: `Tue 9 March 2027 at 10:42`."""
    local = at.astimezone(zone_of(_zones(context), org_id))
    return f"{local:%a} {local.day} {local:%B %Y} at {local:%H:%M}"


def repeats(need: Need) -> str:
    """A series' rule in words, and which visit this one is."""
    if need.recurrence is None or need.series_index is None:
        return "Once"
    return f"{describe(need.recurrence)}; this is visit {need.series_index + 1}"


def languages(codes: list[str]) -> str:
    return ", ".join(LANGUAGES.get(c, c) for c in codes) or "Any"


def tag_colour(status: str) -> str:
    return TAGS.get(status, "grey")


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    env.globals.update(
        when=when,
        status_label=status_label,
        area=area,
        tag_colour=tag_colour,
        moment=moment,
        repeats=repeats,
        languages=languages,
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(env))
