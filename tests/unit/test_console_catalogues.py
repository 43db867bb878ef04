"""The console's catalogues are whole: every message the code and templates mark (extracted
as `make messages` does, from babel.cfg) is in the template and translated into Welsh,
not fuzzy, with the same placeholders and markup; the language is chosen as promised."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from app.console import i18n

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
TAG = re.compile(r"</?\w+[^>]*>")


def _extracted() -> set[str]:
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = extract_from_dir(
        str(ROOT),
        method_map,
        options_map,
        keywords={"_": None, "gettext": None, "N_": None},
    )
    return {message for _file, _line, message, _comments, _context in found if message}


@pytest.fixture(scope="module")
def extracted() -> set[str]:
    return _extracted()


def _catalogue(path: Path) -> dict[str, tuple[str, bool]]:
    with path.open("rb") as po:
        catalogue = read_po(po)
    return {m.id: (m.string, m.fuzzy) for m in catalogue if m.id and isinstance(m.id, str)}


def test_the_template_holds_every_marked_message(extracted: set[str]) -> None:
    template = _catalogue(i18n.CATALOGUES / "console.pot")
    missing = sorted(extracted - set(template))
    assert not missing, f"run `make messages`: {missing[:10]}"
    assert len(extracted) > 100  # the console's words, not a handful


def test_every_message_is_in_welsh_with_its_placeholders_and_markup(
    extracted: set[str],
) -> None:
    welsh = _catalogue(i18n.CATALOGUES / "cy" / "LC_MESSAGES" / "console.po")
    untranslated = sorted(m for m in extracted if not welsh.get(m, ("", False))[0])
    assert not untranslated, f"{len(untranslated)} not in Welsh, e.g. {untranslated[:5]}"
    fuzzy = sorted(m for m in extracted if welsh[m][1])
    assert not fuzzy, fuzzy[:5]
    for message in extracted:
        text = welsh[message][0]
        assert sorted(PLACEHOLDER.findall(text)) == sorted(PLACEHOLDER.findall(message)), message
        assert sorted(TAG.findall(text)) == sorted(TAG.findall(message)), message


def test_a_page_in_welsh_reads_welsh_and_english_is_the_source() -> None:
    assert i18n.translate("cy", "There is a problem") == "Mae problem"
    assert i18n.translate("en", "There is a problem") == "There is a problem"
    phrase = i18n.Phrase("Sign-in failed: %(reason)s", {"reason": "expired"})
    assert i18n.translate("cy", phrase) == "Methodd mewngofnodi: expired"
    assert i18n.translate("cy", "words of a caseworker's own") == "words of a caseworker's own"


@pytest.mark.parametrize(
    ("cookie", "accept", "language"),
    [
        ("cy", "en-GB", "cy"),  # the person's choice first
        ("en", "cy", "en"),
        (None, "cy-GB,cy;q=0.9,en;q=0.5", "cy"),
        (None, "en;q=0.4, cy;q=0.8", "cy"),  # by weight, not order
        (None, "fr-FR, de", "en"),  # neither: English
        ("xx", None, "en"),  # an unknown cookie is ignored
        (None, "cy;q=0", "en"),  # "not Welsh"
        (None, "garbage;q=x", "en"),
    ],
)
def test_the_language_is_the_choice_then_the_browsers_then_english(
    cookie: str | None, accept: str | None, language: str
) -> None:
    assert i18n.chosen(cookie, accept) == language
