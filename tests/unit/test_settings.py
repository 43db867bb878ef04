from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Environment, SettingsError, load_settings


def test_defaults_are_a_working_development_setup() -> None:
    settings = load_settings({})
    assert settings.env is Environment.DEVELOPMENT
    assert settings.dev_issuer_enabled
    assert not settings.logs_as_json
    assert settings.max_body_bytes == 1_048_576


def test_values_are_parsed_from_strings() -> None:
    settings = load_settings(
        {
            "CODELIVER_PORT": "9000",
            "CODELIVER_CORS_ORIGINS": "https://map.example, https://ops.example",
            "CODELIVER_LOG_JSON": "true",
            "CODELIVER_STATE_DIR": "/tmp/x",
            "UNRELATED": "ignored",
        }
    )
    assert settings.port == 9000
    assert settings.cors_origins == ("https://map.example", "https://ops.example")
    assert settings.logs_as_json
    assert settings.state_dir == Path("/tmp/x")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CODELIVER_PORT", "eighty"),
        ("CODELIVER_PORT", "70000"),
        ("CODELIVER_ENV", "prod"),
        ("CODELIVER_DB_POOL_SIZE", "0"),
        ("CODELIVER_DEV_ISSUER", "perhaps"),
    ],
)
def test_a_bad_value_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({name: value})


PRODUCTION = {
    "CODELIVER_ENV": "production",
    "CODELIVER_DATABASE_URL": "postgresql+asyncpg://app@db/codeliver",
    "CODELIVER_MIGRATION_DATABASE_URL": "postgresql+asyncpg://owner@db/codeliver",
    "CODELIVER_FIREBASE_PROJECT_ID": "my-project",
}


def test_production_turns_the_dev_issuer_off_by_default() -> None:
    assert not load_settings(PRODUCTION).dev_issuer_enabled


def test_production_refuses_the_dev_issuer() -> None:
    with pytest.raises(SettingsError, match="CODELIVER_DEV_ISSUER"):
        load_settings({**PRODUCTION, "CODELIVER_DEV_ISSUER": "true"})


def test_production_refuses_the_firebase_auth_emulator() -> None:
    with pytest.raises(SettingsError, match="FIREBASE_AUTH_EMULATOR_HOST"):
        load_settings({**PRODUCTION, "FIREBASE_AUTH_EMULATOR_HOST": "127.0.0.1:9099"})


@pytest.mark.parametrize(
    "missing",
    ["CODELIVER_DATABASE_URL", "CODELIVER_MIGRATION_DATABASE_URL", "CODELIVER_FIREBASE_PROJECT_ID"],
)
def test_production_needs_separate_logins_and_an_identity_provider(missing: str) -> None:
    with pytest.raises(SettingsError, match=missing):
        load_settings({k: v for k, v in PRODUCTION.items() if k != missing})


def test_the_page_sign_in_needs_the_project_it_verifies() -> None:
    with pytest.raises(SettingsError, match="CODELIVER_FIREBASE_PROJECT_ID"):
        load_settings({"CODELIVER_FIREBASE_WEB_API_KEY": "web-key"})
    settings = load_settings(
        {"CODELIVER_FIREBASE_WEB_API_KEY": "web-key", "CODELIVER_FIREBASE_PROJECT_ID": "p"}
    )
    assert settings.firebase_sign_in


def test_the_auth_emulator_url_is_http_and_never_in_production() -> None:
    with pytest.raises(SettingsError, match="CODELIVER_FIREBASE_AUTH_EMULATOR_URL"):
        load_settings({"CODELIVER_FIREBASE_AUTH_EMULATOR_URL": "127.0.0.1:9099"})
    with pytest.raises(SettingsError, match="CODELIVER_FIREBASE_AUTH_EMULATOR_URL"):
        load_settings({**PRODUCTION, "CODELIVER_FIREBASE_AUTH_EMULATOR_URL": "http://x:9099"})


def test_the_web_folder_is_a_setting() -> None:
    assert load_settings({}).web_dir.joinpath("src", "coverage.js").is_file()
    assert load_settings({"CODELIVER_WEB_DIR": "/srv/web"}).web_dir == Path("/srv/web")


def test_the_geocoder_needs_what_its_provider_needs() -> None:
    assert load_settings({}).geocoder == "none"
    with pytest.raises(SettingsError, match="CODELIVER_OS_PLACES_KEY"):
        load_settings({"CODELIVER_GEOCODER": "os_places"})
    with pytest.raises(SettingsError, match="CODELIVER_GEOCODER_URL is required"):
        load_settings({"CODELIVER_GEOCODER": "postcodes_io"})
    with pytest.raises(SettingsError, match="CODELIVER_GEOCODER_URL: must start"):
        load_settings({"CODELIVER_GEOCODER_URL": "api.postcodes.io"})
    with pytest.raises(SettingsError, match="CODELIVER_GEOCODER"):
        load_settings({"CODELIVER_GEOCODER": "google"})
    chosen = load_settings({"CODELIVER_GEOCODER": "os_places", "CODELIVER_OS_PLACES_KEY": "k"})
    assert chosen.geocoder == "os_places"
    assert load_settings({"CODELIVER_GEOCODER": "gazetteer"}).geocoder == "gazetteer"
    with pytest.raises(SettingsError, match="demo borough's made-up addresses"):
        load_settings({**PRODUCTION, "CODELIVER_GEOCODER": "gazetteer"})
