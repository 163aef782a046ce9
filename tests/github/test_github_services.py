"""``Services.from_settings`` and the request hook's guard against PyGithub changes."""

from __future__ import annotations

import base64

import pytest

from bot.github.requester import PyGithubIncompatible, instrument
from bot.services import Services
from bot.settings import Settings, SettingsError


def test_services_need_app_credentials():
    with pytest.raises(SettingsError, match="APP_ID"):
        Services.from_settings(Settings(), None)
    with pytest.raises(SettingsError, match="PRIVATE_KEY"):
        Services.from_settings(Settings(app_id=3), None)


def test_services_from_settings(app_key, tmp_path):
    settings = Settings.from_env(
        {
            "APP_ID": "3",
            "PRIVATE_KEY": base64.b64encode(app_key.encode()).decode(),
            "GITHUB_API_URL": "https://ghe.example.com/api/v3/",
            "GITHUB_WRITES_PER_MINUTE": "10",
        }
    )
    services = Services.from_settings(settings, None)
    try:
        assert services.app_id == 3
        assert services.app.base_url == "https://ghe.example.com/api/v3"
        assert services.app.pacer_limits.writes_per_minute == 10
        assert services.app.pacer_limits.points_per_minute == 900
        assert app_key not in repr(services)
    finally:
        services.close()


def test_sandbox_settings_relax_pacing(app_key, tmp_path):
    key_path = tmp_path / "app.pem"
    key_path.write_text(app_key)
    settings = Settings(app_id=1, private_key_path=str(key_path), sandbox=True)
    services = Services.from_settings(settings, None)
    try:
        assert services.app.pacer_limits.writes_per_minute > 80
    finally:
        services.close()


def test_instrument_refuses_an_incompatible_requester():
    with pytest.raises(PyGithubIncompatible):
        instrument(object(), 1, None)  # type: ignore[arg-type]
