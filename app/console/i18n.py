"""The console's languages: English and Welsh, by gettext catalogues (Babel).

Every word a page shows goes through gettext: literals in templates as `_("...")` or
`{% trans %}`, and the words Python code hands a page (labels, form errors, timeline
entries) marked with `N_` where they are written and translated where they are shown (the
`t` filter), so the catalogue holds them all (`make messages` extracts them). A phrase with
values is a `Phrase`: its message is translated first, then filled (`%(name)s`), so a
translation may put the values where Welsh needs them.

The language is the person's choice (the switch in every page's header sets a cookie),
else their browser's Accept-Language, else English. English is the source language: its
catalogue is the messages themselves. Catalogues are read from their `.po` files once,
when first needed (no compiled `.mo` files to keep in step). Welsh councils have duties
under the Welsh Language Standards: a page in Welsh must be wholly in Welsh.
"""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "cy")  # the console's, English first (the source language)
NAMES = {"en": "English", "cy": "Cymraeg"}  # each in its own language, for the switch
DEFAULT = "en"
COOKIE = "codeliver_lang"
DOMAIN = "console"
CATALOGUES = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Marks a message for the catalogue; it is translated where a page shows it."""
    return message


@dataclass(frozen=True, slots=True)
class Phrase:
    """A message with values: translated, then filled (`%(name)s`)."""

    message: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Problem:
    """An error on a page's field, as the page shows it (translated there, `| t`): our
    words, or a phrase carrying the API's."""

    field: str
    message: str | Phrase


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> gettext.NullTranslations:
    """The language's catalogue; English (and anything unknown) is the messages as written."""
    if language not in LANGUAGES or language == DEFAULT:
        return gettext.NullTranslations()
    path = CATALOGUES / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def translate(language: str, text: str | Phrase | None) -> str:
    """Words for a page in `language`: a message, or a phrase filled with its values."""
    if text is None:
        return ""
    if isinstance(text, Phrase):
        return translations(language).gettext(text.message) % dict(text.values)
    return translations(language).gettext(text)


def chosen(cookie: str | None, accept_language: str | None) -> str:
    """The page's language: the person's choice, else their browser's, else English."""
    if cookie in LANGUAGES:
        return str(cookie)
    wanted = []
    for part in (accept_language or "").split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if tag and weight > 0:
            wanted.append((weight, tag.strip()))
    preferred = [tag for _, tag in sorted(wanted, key=lambda w: -w[0])]
    found = Locale.negotiate(preferred, list(LANGUAGES), sep="-") if preferred else None
    return found.language if found is not None else DEFAULT


def date_words(at: datetime | date, language: str) -> str:
    """`Tue 9 March 2027`, `Maw 9 Mawrth 2027`: CLDR's day and month names."""
    try:
        return format_date(at, "EEE d MMMM y", locale=language)
    except UnknownLocaleError:  # pragma: no cover - LANGUAGES are all CLDR's
        return format_date(at, "EEE d MMMM y", locale=DEFAULT)
