"""The App setup page (``/setup``): GitHub's App manifest flow, while no App is configured.

1. ``GET /setup`` asks where to create the App (a personal account or an organization).
2. ``POST /setup`` (CSRF-checked) builds the manifest from ``app.yml`` with this deployment's
   address and shows the form that posts it to GitHub's app-creation page, with a ``state`` kept in
   the session.
3. GitHub sends the browser back to ``/setup/callback?code=…&state=…``; the code is exchanged
   (``POST /app-manifests/{code}/conversions``, httpx: this is the one call made before an App
   exists, so there is no PyGithub client for it) and ``APP_ID``, ``PRIVATE_KEY``,
   ``WEBHOOK_SECRET``, ``GITHUB_CLIENT_ID`` and ``GITHUB_CLIENT_SECRET`` are written to ``.env``
   (``ENV_FILE``) with mode 0600. The page then sends the person on to install the App.

Once an App is configured (credentials in the environment, or an ``.env`` that holds an
``APP_ID``) every step says so and changes nothing.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any

import httpx
import yaml
from flask import Blueprint, render_template, request, session, url_for

from bot.web.auth import not_found_page, web_state

log = logging.getLogger(__name__)

bp = Blueprint("web_setup", __name__, template_folder="templates")
bp.register_error_handler(404, not_found_page)
APP_YML = Path(__file__).resolve().parents[2] / "app.yml"
_ACCOUNT_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$")  # GitHub's login rule
DEFAULT_APP_NAME = "release-bot"


def _env_has_app(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return False
    return any(re.match(r"^\s*(?:export\s+)?APP_ID\s*=\s*\S", line) for line in text.splitlines())


def app_configured() -> bool:
    state = web_state()
    return state.settings.has_app_credentials or _env_has_app(Path(state.settings.env_file))


def load_manifest(base_url: str, webhook_path: str) -> dict[str, Any]:
    """app.yml with this deployment's addresses (what GitHub calls back and delivers webhooks to)."""
    manifest = yaml.safe_load(APP_YML.read_text(encoding="utf-8"))
    base = base_url.rstrip("/")
    manifest["url"] = base + "/"
    manifest["hook_attributes"] = {**(manifest.get("hook_attributes") or {}), "url": base + webhook_path}
    manifest["redirect_url"] = base + url_for("web_setup.callback")
    manifest["callback_urls"] = [base + url_for("web_auth.callback")]
    return manifest


def _configured_page() -> tuple[str, int]:
    return render_template(
        "message.html",
        title="The App is configured",
        message="This deployment already has a GitHub App (APP_ID is set). The setup "
        "page changes nothing; to start over, remove the App's settings first.",
    ), 409


@bp.get("/setup")
def setup() -> str | tuple[str, int]:
    if app_configured():
        return render_template(
            "message.html",
            title="The App is configured",
            message="This deployment already has a GitHub App (APP_ID is set). The setup "
            "page changes nothing.",
        )
    return render_template("setup.html", error=None, app_name=DEFAULT_APP_NAME)


@bp.post("/setup")
def start() -> str | tuple[str, int]:
    if app_configured():
        return _configured_page()
    owner_kind = request.form.get("owner_kind", "user")
    org = request.form.get("organization", "").strip()
    name = " ".join(request.form.get("app_name", "").split()) or DEFAULT_APP_NAME
    if len(name) > 34:  # GitHub's limit for an App's name
        return render_template(
            "setup.html", error="The App's name is at most 34 characters.", app_name=DEFAULT_APP_NAME
        ), 422
    if owner_kind not in ("user", "organization"):
        return render_template(
            "setup.html", error="Choose a personal account or an organization.", app_name=name
        ), 422
    if owner_kind == "organization" and not _ACCOUNT_RE.match(org):
        return render_template(
            "setup.html",
            error="An organization name is letters, digits and single hyphens, at most 39 characters.",
            app_name=name,
        ), 422
    nonce = secrets.token_urlsafe(24)
    session["setup_state"] = nonce
    web = web_state().settings.github_web_url
    target = (
        f"{web}/organizations/{org}/settings/apps/new"
        if owner_kind == "organization"
        else f"{web}/settings/apps/new"
    )
    try:
        manifest = load_manifest(request.host_url, web_state().settings.webhook_path)
    except OSError:
        return render_template(
            "message.html",
            title="Setup unavailable",
            message=f"The App manifest {APP_YML} is missing: run release-bot from a checkout "
            "of the project (or create the App by hand from app.yml).",
        ), 503
    manifest["name"] = name
    return render_template(
        "setup_manifest.html",
        action=f"{target}?state={nonce}",
        manifest=json.dumps(manifest, sort_keys=True),
        owner=org or "your account",
    )


def write_env(path: Path, values: dict[str, str]) -> None:
    """Write ``values`` into the dotenv file at ``path`` (other lines kept), mode 0600, atomically."""
    kept: list[str] = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            name = line.split("=", 1)[0].strip().removeprefix("export ").strip()
            if name not in values:
                kept.append(line)
    lines = kept + [f"{k}={_quote(v)}" for k, v in values.items()]
    fd, tmp = tempfile.mkstemp(prefix=".env.", dir=str(path.parent.resolve()))
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _quote(value: str) -> str:
    # One line per key, as dotenv files and `set -a; . ./.env` read them: the PEM's newlines become
    # "\n" (bot.settings.decode_private_key turns them back), in double quotes.
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$").replace("`", "\\`")
    return '"' + escaped.replace("\n", "\\n") + '"'


@bp.get("/setup/callback")
def callback() -> str | tuple[str, int]:
    if app_configured():
        return _configured_page()
    expected = session.pop("setup_state", None)
    given = request.args.get("state", "")
    if not isinstance(expected, str) or not hmac.compare_digest(expected.encode(), given.encode()):
        return render_template(
            "message.html",
            title="Setup link not recognised",
            message="This callback is not for the setup this browser started. "
            "Start again from the setup page.",
        ), 400
    code = request.args.get("code", "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", code):
        return render_template(
            "message.html", title="Setup failed", message="GitHub sent no valid code."
        ), 400
    api = web_state().settings.github_api_url
    try:
        resp = httpx.post(
            f"{api}/app-manifests/{code}/conversions",
            timeout=15,
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
        )
    except httpx.HTTPError as exc:
        return render_template(
            "message.html",
            title="Setup failed",
            message=f"GitHub could not be reached: {type(exc).__name__}.",
        ), 502
    if resp.status_code != 201:
        return render_template(
            "message.html",
            title="Setup failed",
            message=f"GitHub refused the code (HTTP {resp.status_code}); it expires after "
            "an hour and works once. Start again.",
        ), 502
    app = resp.json()
    values = {
        "APP_ID": str(app["id"]),
        "PRIVATE_KEY": str(app["pem"]),
        "WEBHOOK_SECRET": str(app["webhook_secret"]),
        "GITHUB_CLIENT_ID": str(app["client_id"]),
        "GITHUB_CLIENT_SECRET": str(app["client_secret"]),
    }
    env_path = Path(web_state().settings.env_file)
    write_env(env_path, values)
    log.info("setup: App %s (%s) created; credentials written to %s", app["id"], app.get("slug"), env_path)
    install_url = f"{str(app.get('html_url') or '').rstrip('/')}/installations/new"
    return render_template(
        "setup_done.html",
        app_name=str(app.get("name") or app.get("slug") or ""),
        app_id=app["id"],
        install_url=install_url,
        env_file=str(env_path),
    )
