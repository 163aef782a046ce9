"""Settings.from_env: defaults, decoding, and clear errors for bad values."""

from __future__ import annotations

import base64

import pytest

from bot.settings import Settings, SettingsError

PEM = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----"


def test_defaults():
    s = Settings.from_env({})
    assert (s.github_api_url, s.webhook_path, s.host, s.port) == (
        "https://api.github.com",
        "/api/github/webhooks",
        "0.0.0.0",
        3000,
    )
    assert s.queue_url == "sqlite:///./release-bot.db" and s.sqlite_path == "./release-bot.db"
    assert (
        s.max_body_bytes == 25 * 1024 * 1024 and s.lease_seconds == 30 and s.delivery_ttl_seconds == 3 * 86400
    )
    assert not s.has_app_credentials and not s.sandbox


@pytest.mark.parametrize("raw", [PEM, PEM.replace("\n", "\\n"), base64.b64encode(PEM.encode()).decode()])
def test_private_key_pem_escaped_or_base64(raw):
    s = Settings.from_env({"APP_ID": "12", "PRIVATE_KEY": raw})
    assert s.private_key == PEM and s.has_app_credentials and s.load_private_key() == PEM


def test_private_key_path_is_read(tmp_path):
    key = tmp_path / "k.pem"
    key.write_text(PEM)
    assert Settings.from_env({"APP_ID": "1", "PRIVATE_KEY_PATH": str(key)}).load_private_key() == PEM
    with pytest.raises(SettingsError, match="PRIVATE_KEY_PATH"):
        Settings.from_env({"PRIVATE_KEY_PATH": str(tmp_path / "missing.pem")}).load_private_key()


@pytest.mark.parametrize(
    "env,name",
    [
        ({"APP_ID": "abc"}, "APP_ID"),
        ({"APP_ID": "0"}, "APP_ID"),
        ({"PORT": "-1"}, "PORT"),
        ({"PRIVATE_KEY": "not a key"}, "PRIVATE_KEY"),
        ({"PRIVATE_KEY": base64.b64encode(b"hello").decode()}, "PRIVATE_KEY"),
        ({"WEBHOOK_PATH": "hooks"}, "WEBHOOK_PATH"),
        ({"QUEUE_URL": "postgres://x"}, "QUEUE_URL"),
        ({"QUEUE_INSTALLATION_SHARE": "1.5"}, "QUEUE_INSTALLATION_SHARE"),
        ({"SANDBOX": "maybe"}, "SANDBOX"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
        ({"GITHUB_WRITES_PER_MINUTE": "-3"}, "GITHUB_WRITES_PER_MINUTE"),
    ],
)
def test_bad_values_name_the_variable(env, name):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env(env)


def test_secrets_never_in_repr_or_redacted_view():
    s = Settings.from_env({"WEBHOOK_SECRET": "hunter2-secret", "PRIVATE_KEY": PEM, "LOG_LEVEL": "trace"})
    assert "hunter2" not in repr(s) and "BEGIN" not in repr(s)
    assert s.redacted()["webhook_secret"] == "<set>" and s.redacted()["private_key"] == "<set>"
    assert s.log_level == "DEBUG"


def test_secret_required_outside_sandbox_mode():
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        Settings.from_env({}).require_webhook_secret()
    Settings.from_env({"SANDBOX": "true"}).require_webhook_secret()
    Settings.from_env({"WEBHOOK_SECRET": "x"}).require_webhook_secret()
