"""The App setup page (bot.web.setup_page): the manifest flow against the sandbox, to the end, once."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from html import unescape
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import jwt
import pytest
import yaml

from bot.settings import Settings, decode_private_key

UNCONFIGURED = {"APP_ID": "", "PRIVATE_KEY_PATH": ""}


def _csrf(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]


def _env(path: Path) -> dict[str, str]:
    """The file as the done page says to use it: sourced by a shell (``set -a; . ./.env``)."""
    names = [line.split("=", 1)[0] for line in path.read_text().splitlines() if "=" in line]
    script = 'set -a; . "$1"; ' + "; ".join(f'printf "%s\\0" "${name}"' for name in names)
    out = subprocess.run(
        ["bash", "-c", script, "bash", str(path)], capture_output=True, text=True, check=True
    )
    return dict(zip(names, out.stdout.split("\0")[:-1], strict=True))


def test_setup_creates_the_app_writes_env_and_refuses_to_run_again(
    sandbox, make_client, tmp_path: Path
) -> None:
    client = make_client(**UNCONFIGURED)
    form = client.get("/setup")
    assert form.status_code == 200 and "personal account" in form.text
    start = client.post(
        "/setup",
        data={
            "csrf_token": _csrf(form.text),
            "owner_kind": "organization",
            "organization": "acme",
            "app_name": "release-bot acme",
        },
    )
    assert start.status_code == 200
    action = unescape(re.search(r'<form method="post" action="([^"]+)"', start.text).group(1))  # type: ignore[union-attr]
    manifest = json.loads(unescape(re.search(r'name="manifest" value="([^"]+)"', start.text).group(1)))  # type: ignore[union-attr]
    shipped = yaml.safe_load((Path(__file__).resolve().parents[2] / "app.yml").read_text())
    assert action.startswith(f"{sandbox.base_url}/organizations/acme/settings/apps/new?state=")
    assert manifest["default_permissions"] == shipped["default_permissions"]
    assert manifest["default_events"] == shipped["default_events"]
    assert manifest["name"] == "release-bot acme"  # App names are unique on GitHub: the form asks
    assert manifest["hook_attributes"]["url"] == "http://localhost/api/github/webhooks"
    assert manifest["redirect_url"] == "http://localhost/setup/callback"
    assert manifest["callback_urls"] == ["http://localhost/login/callback"]

    # the browser posts the manifest to GitHub, which sends it back with a code
    created = httpx.post(action, data={"manifest": json.dumps(manifest)}, timeout=15)
    assert created.status_code == 302
    back = urlsplit(created.headers["Location"])
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 200 and "App created" in done.text
    install = re.search(r'href="([^"]+/installations/new)"', done.text).group(1)  # type: ignore[union-attr]
    assert httpx.get(install, timeout=15).status_code == 200  # the sandbox's install page

    env_file = tmp_path / ".env"
    assert stat.S_IMODE(os.stat(env_file).st_mode) == 0o600
    values = _env(env_file)
    assert set(values) == {
        "APP_ID",
        "PRIVATE_KEY",
        "WEBHOOK_SECRET",
        "GITHUB_CLIENT_ID",
        "GITHUB_CLIENT_SECRET",
    }
    settings = Settings.from_env(values)
    assert settings.has_app_credentials and settings.github_client_id.startswith("Iv1.")
    # the key written is the new App's: its JWT authenticates as that App
    now = int(sandbox.state.now().timestamp())
    token = jwt.encode(
        {"iat": now - 30, "exp": now + 300, "iss": values["APP_ID"]},
        decode_private_key(values["PRIVATE_KEY"]),
        algorithm="RS256",
    )
    me = httpx.get(f"{sandbox.api_url}/app", headers={"Authorization": f"Bearer {token}"}, timeout=15)
    assert (
        me.status_code == 200
        and str(me.json()["id"]) == values["APP_ID"]
        and me.json()["owner"]["login"] == "acme"
    )
    assert me.json()["slug"] == "release-bot-acme"

    # configured now: every step says so and changes nothing
    before = env_file.read_bytes()
    again = client.get("/setup")
    assert (
        again.status_code == 200
        and "already has a GitHub App" in again.text
        and '<form method="post" action="/setup"' not in again.text
    )
    assert (
        client.post("/setup", data={"csrf_token": _csrf(form.text), "owner_kind": "user"}).status_code == 409
    )
    assert client.get(f"{back.path}?{back.query}").status_code == 409
    assert env_file.read_bytes() == before


def test_setup_with_credentials_configured_changes_nothing(make_client, tmp_path: Path) -> None:
    client = make_client()  # APP_ID and a key path are set
    page = client.get("/setup")
    assert "already has a GitHub App" in page.text
    assert not (tmp_path / ".env").exists()


@pytest.mark.reliability(
    area="attack", case="setup callback with a forged state or without a CSRF token", trials=1
)
def test_setup_refuses_forged_callbacks_and_posts_without_csrf(make_client, tmp_path: Path) -> None:
    client = make_client(**UNCONFIGURED)
    assert client.post("/setup", data={"owner_kind": "user"}).status_code == 400
    form = client.get("/setup").text
    client.post("/setup", data={"csrf_token": _csrf(form), "owner_kind": "user"})
    forged = client.get("/setup/callback", query_string={"code": "0123abcd", "state": "not-mine"})
    assert forged.status_code == 400 and not (tmp_path / ".env").exists()
    bad_org = client.post(
        "/setup", data={"csrf_token": _csrf(form), "owner_kind": "organization", "organization": "<script>"}
    )
    assert bad_org.status_code == 422 and "<script>" not in bad_org.text


def test_env_file_keeps_other_lines(tmp_path: Path) -> None:
    from bot.web.setup_page import write_env

    path = tmp_path / ".env"
    path.write_text("LOG_LEVEL=DEBUG\nWEBHOOK_SECRET=old\n")
    write_env(
        path, {"WEBHOOK_SECRET": 'new "$secret"', "PRIVATE_KEY": "-----BEGIN X-----\nabc\n-----END X-----"}
    )
    text = path.read_text()
    assert text.startswith("LOG_LEVEL=DEBUG\n") and "old" not in text
    assert 'WEBHOOK_SECRET="new \\"\\$secret\\""' in text
    assert _env(path)["WEBHOOK_SECRET"] == 'new "$secret"'
    assert decode_private_key(_env(path)["PRIVATE_KEY"]).count("\n") == 2
