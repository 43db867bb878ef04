"""Cascade variants for `codeliver simulate --variant`: programme settings, validated as
`PATCH /v1/programmes/{id}` validates them."""

from __future__ import annotations

import argparse

import pytest

from app.cli import parser
from app.settings import SettingsError
from app.simulation.command import options
from app.simulation.policies import CASCADE, variant
from matching.model import Dispatch


def test_a_variant_is_a_cascade_under_the_given_settings() -> None:
    v = variant("w2t30:wave_size=2,offer_timeout_s=1800")
    assert v.name == "cascade_w2t30"
    assert v.dispatch is Dispatch.AUTO
    assert v.patch is not None
    assert v.patch.wave_size == 2
    assert v.patch.offer_timeout_s == 1800
    assert v.label == "Cascade, wave_size 2, offer_timeout_s 1800"


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("W2:wave_size=2", "a name of a-z"),
        ("w2", "no settings given"),
        ("w2:min_vetting=3", "is not one of"),
        ("w2:wave_size=two", "is not one of"),
        ("w2:wave_size=0", "wave_size"),  # the endpoint's own bounds
    ],
)
def test_a_bad_variant_is_refused_naming_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        variant(spec)


def _args(*given: str) -> argparse.Namespace:
    return parser().parse_args(["simulate", "--quick", "--policies", "cascade", *given])


def test_variants_run_beside_the_chosen_policies() -> None:
    chosen = options(_args("--variant", "t30:offer_timeout_s=1800"))
    assert [p.name for p in chosen.policies] == [CASCADE.name, "cascade_t30"]


def test_the_command_refuses_a_bad_or_repeated_variant() -> None:
    with pytest.raises(SettingsError, match="no settings"):
        options(_args("--variant", "t30"))
    with pytest.raises(SettingsError, match="share a name"):
        options(_args("--variant", "t30:offer_timeout_s=1800", "--variant", "t30:wave_size=2"))


def test_the_caseworkers_follow_ups_are_set_by_the_command() -> None:
    assert options(_args()).caseworker.follow_ups == 2
    assert options(_args("--follow-ups", "0")).caseworker.follow_ups == 0  # the cascade alone
    with pytest.raises(SettingsError, match="--follow-ups"):
        options(_args("--follow-ups", "-1"))
