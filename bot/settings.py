"""Every environment variable release-bot reads, in one place.

Names follow Probot where Probot has one (APP_ID, PRIVATE_KEY, PRIVATE_KEY_PATH, WEBHOOK_SECRET,
WEBHOOK_PATH, HOST, PORT, LOG_LEVEL, GITHUB_API_URL) so an operator's existing deployment
knowledge carries over. ``Settings.from_env()`` is the only place that touches ``os.environ``;
the rest of the code receives a ``Settings``.

Secrets (PRIVATE_KEY, WEBHOOK_SECRET) are kept out of ``repr()`` so a settings object that lands
in a log line or a traceback never leaks them.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_GITHUB_API_URL = "https://api.github.com"
DEFAULT_WEBHOOK_PATH = "/api/github/webhooks"
DEFAULT_QUEUE_URL = "sqlite:///./release-bot.db"
MAX_BODY_BYTES_DEFAULT = 25 * 1024 * 1024  # GitHub caps webhook payloads at 25 MB


class SettingsError(ValueError):
    """An environment variable has a value the bot cannot use; the message names it."""


def _int(env: Mapping[str, str], name: str, default: int | None, minimum: int | None = None) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise SettingsError(f"{name} must be >= {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float | None) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{name} must be >= 0, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def decode_private_key(raw: str) -> str:
    """PRIVATE_KEY may be the PEM itself (newlines possibly escaped as ``\\n``, as in many
    dotenv files) or its base64 encoding, as Probot accepts. Returns the PEM text."""
    text = raw.strip()
    if "-----BEGIN" in text:
        return text.replace("\\n", "\n")
    try:
        decoded = base64.b64decode(text, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        raise SettingsError("PRIVATE_KEY is neither a PEM key nor base64 of one") from None
    if "-----BEGIN" not in decoded:
        raise SettingsError("PRIVATE_KEY is base64 but does not decode to a PEM key")
    return decoded


def _redact_url(url: str) -> str:
    """A URL fit for a log line: a password (redis://:secret@host) is shown as ***."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    credentials, _, host = rest.partition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"


def _public_url(env: Mapping[str, str]) -> str | None:
    raw = env.get("PUBLIC_URL", "").strip().rstrip("/")
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")) or "?" in raw or "#" in raw:
        raise SettingsError(f"PUBLIC_URL must be an http(s) address without query, got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    # --- the GitHub App (Probot names) ---
    app_id: int | None = None
    private_key: str | None = field(default=None, repr=False)  # PEM text (decoded)
    private_key_path: str | None = None
    webhook_secret: str | None = field(default=None, repr=False)
    github_api_url: str = DEFAULT_GITHUB_API_URL
    # --- the web server ---
    webhook_path: str = DEFAULT_WEBHOOK_PATH
    host: str = "0.0.0.0"
    port: int = 3000
    max_body_bytes: int = MAX_BODY_BYTES_DEFAULT
    # --- queue and workers ---
    queue_url: str = DEFAULT_QUEUE_URL
    # Redis queue: the most of all worker threads (every machine's) one installation's jobs may
    # hold, so one installation's burst never occupies every worker (1 = no cap).
    queue_installation_share: float = 0.75
    worker_threads: int = 4
    job_max_attempts: int = 6  # then dead-letter
    job_backoff_base_seconds: float = 2.0  # 2, 4, 8, ... seconds
    job_backoff_cap_seconds: float = 300.0
    lease_seconds: float = 30.0  # renewed while a job runs; a killed process's jobs return after this
    delivery_ttl_seconds: int = 3 * 24 * 3600  # GitHub allows redelivery for 3 days
    # --- GitHub pacing (the github layer's pacer, bot/github/pacer.py) ---
    # Content-creating requests per minute per installation (GitHub's secondary limit is 80/min,
    # 500/hour); None = the github layer's default for the mode (relaxed in sandbox mode); 0 = unpaced.
    github_writes_per_minute: float | None = None
    # Points per minute per installation (GitHub's secondary limit: GET 1 point, writes 5).
    github_points_per_minute: float | None = None
    # Content-creating requests per hour per installation (GitHub's 500/hour); None, 0 as above.
    github_writes_per_hour: float | None = None
    # --- the revalidating cache of GitHub reads (bot/github/response_cache.py) ---
    github_cache: bool = True  # GITHUB_CACHE=off: every read goes to GitHub unconditionally
    github_cache_max_entries: int = 4096
    github_cache_max_mb: int = 64
    # Caps every freshness window (bot/github/freshness.py); None = each window's own length.
    github_freshness_max_seconds: float | None = None
    # --- operations ---
    log_level: str = "INFO"
    sandbox: bool = False  # no App credentials: serve against the built-in sandbox
    sandbox_port: int = 8900  # where `serve` starts the sandbox in sandbox mode (0 = any free port)
    sandbox_app_key: str = "sandbox-app.pem"  # the sandbox App's key file, created if missing
    serve_web_workers: int = 1  # `serve`: gunicorn processes, each with its own job workers
    serve_web_threads: int = 8  # `serve`: request threads per gunicorn process
    test_runner: str | None = None  # RELEASE_BOT_TEST_RUNNER "module:function"; only tests set it
    # --- recovery (bot/recovery.py): GitHub's failed deliveries, periodic resync ---
    # Seconds between scans of the App's failed webhook deliveries (one at start-up); 0 = off.
    redelivery_interval: float = 300.0
    # How far back a scan looks at most (GitHub keeps deliveries 3 days; a scan starts where the
    # previous one ended, so this bounds only the first scan after a long outage).
    redelivery_window_seconds: float = 6 * 3600.0
    # Seconds between resyncs of every repository (open releases, gated pull requests); 0 = off.
    resync_interval: float = 0.0
    # The SQLite store's size cap in bytes (PRAGMA max_page_count); 0 = only the disk's size.
    queue_max_bytes: int = 0
    # --- the web side (bot/web: sign-in, dashboard, setup page) ---
    # The App's OAuth client (Probot's names); in sandbox mode the sandbox App's are used.
    github_client_id: str | None = None
    github_client_secret: str | None = field(default=None, repr=False)
    # Signs (and keys the encryption of) session cookies; generated into SESSION_SECRET_FILE when unset.
    session_secret: str | None = field(default=None, repr=False)
    session_secret_file: str = ".release-bot-session-secret"
    web_cache_seconds: float = 10.0  # how long a page's GitHub reads are reused for one user
    web_refresh_seconds: int = 5  # the pages' optional live refresh (0: off)
    env_file: str = ".env"  # where the setup page writes the new App's credentials
    # --- the release calendar and announcements (docs/calendar.md, docs/announcements.md) ---
    public_url: str | None = None  # the bot's address as others reach it (default http://HOST:PORT)
    calendar_cache_seconds: float = 300.0  # how long a built calendar feed is served before re-reading
    # Every ANNOUNCE_* variable: the announcement channels' webhook URLs (secrets: never logged).
    announce_urls: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        private_key_path = env.get("PRIVATE_KEY_PATH", "").strip() or None
        raw_key = env.get("PRIVATE_KEY", "")
        private_key = decode_private_key(raw_key) if raw_key.strip() else None
        webhook_path = env.get("WEBHOOK_PATH", "").strip() or DEFAULT_WEBHOOK_PATH
        if not webhook_path.startswith("/"):
            raise SettingsError(f"WEBHOOK_PATH must start with '/', got {webhook_path!r}")
        log_level = (env.get("LOG_LEVEL", "").strip() or "INFO").upper()
        if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "TRACE", "FATAL"):
            raise SettingsError(f"LOG_LEVEL must be a logging level name, got {log_level!r}")
        # Probot's 'trace' and 'fatal' have no stdlib level; map them to the nearest one.
        log_level = {"TRACE": "DEBUG", "FATAL": "CRITICAL"}.get(log_level, log_level)
        queue_url = env.get("QUEUE_URL", "").strip() or DEFAULT_QUEUE_URL
        if not queue_url.startswith(("sqlite://", "redis://", "rediss://")):
            raise SettingsError(
                f"QUEUE_URL must be sqlite:///path or redis://HOST:PORT/DB, got {_redact_url(queue_url)!r}")
        share = _float(env, "QUEUE_INSTALLATION_SHARE", 0.75)
        if share is not None and not 0 < share <= 1:
            raise SettingsError(f"QUEUE_INSTALLATION_SHARE must be in (0, 1], got {share}")
        settings = cls(
            app_id=_int(env, "APP_ID", None, minimum=1),
            private_key=private_key,
            private_key_path=private_key_path,
            webhook_secret=env.get("WEBHOOK_SECRET") or None,
            github_api_url=(env.get("GITHUB_API_URL", "").strip() or DEFAULT_GITHUB_API_URL).rstrip("/"),
            webhook_path=webhook_path,
            host=env.get("HOST", "").strip() or "0.0.0.0",
            port=_int(env, "PORT", 3000, minimum=0),  # type: ignore[arg-type]
            max_body_bytes=_int(env, "MAX_BODY_BYTES", MAX_BODY_BYTES_DEFAULT, minimum=1),  # type: ignore[arg-type]
            queue_url=queue_url,
            queue_installation_share=share,  # type: ignore[arg-type]
            worker_threads=_int(env, "WORKER_THREADS", 4, minimum=0),  # type: ignore[arg-type]
            job_max_attempts=_int(env, "JOB_MAX_ATTEMPTS", 6, minimum=1),  # type: ignore[arg-type]
            job_backoff_base_seconds=_float(env, "JOB_BACKOFF_BASE_SECONDS", 2.0),  # type: ignore[arg-type]
            job_backoff_cap_seconds=_float(env, "JOB_BACKOFF_CAP_SECONDS", 300.0),  # type: ignore[arg-type]
            lease_seconds=_float(env, "LEASE_SECONDS", 30.0) or 30.0,  # type: ignore[arg-type]
            github_writes_per_minute=_float(env, "GITHUB_WRITES_PER_MINUTE", None),
            github_points_per_minute=_float(env, "GITHUB_POINTS_PER_MINUTE", None),
            github_writes_per_hour=_float(env, "GITHUB_WRITES_PER_HOUR", None),
            github_cache=_bool(env, "GITHUB_CACHE", True),
            github_cache_max_entries=_int(env, "GITHUB_CACHE_MAX_ENTRIES", 4096, minimum=1),  # type: ignore[arg-type]
            github_cache_max_mb=_int(env, "GITHUB_CACHE_MAX_MB", 64, minimum=1),  # type: ignore[arg-type]
            github_freshness_max_seconds=_float(env, "GITHUB_FRESHNESS_MAX_SECONDS", None),
            log_level=log_level,
            sandbox=_bool(env, "SANDBOX", False),
            sandbox_port=_int(env, "SANDBOX_PORT", 8900, minimum=0),  # type: ignore[arg-type]
            sandbox_app_key=env.get("SANDBOX_APP_KEY", "").strip() or "sandbox-app.pem",
            serve_web_workers=_int(env, "SERVE_WEB_WORKERS", 1, minimum=1),  # type: ignore[arg-type]
            serve_web_threads=_int(env, "SERVE_WEB_THREADS", 8, minimum=1),  # type: ignore[arg-type]
            test_runner=env.get("RELEASE_BOT_TEST_RUNNER", "").strip() or None,
            redelivery_interval=_float(env, "REDELIVERY_INTERVAL", 300.0),  # type: ignore[arg-type]
            redelivery_window_seconds=_float(env, "REDELIVERY_WINDOW_SECONDS", 6 * 3600.0),  # type: ignore[arg-type]
            resync_interval=_float(env, "RESYNC_INTERVAL", 0.0),  # type: ignore[arg-type]
            queue_max_bytes=_int(env, "QUEUE_MAX_BYTES", 0, minimum=0),  # type: ignore[arg-type]
            github_client_id=env.get("GITHUB_CLIENT_ID", "").strip() or None,
            github_client_secret=env.get("GITHUB_CLIENT_SECRET", "").strip() or None,
            session_secret=env.get("SESSION_SECRET", "").strip() or None,
            session_secret_file=env.get("SESSION_SECRET_FILE", "").strip() or ".release-bot-session-secret",
            web_cache_seconds=_float(env, "WEB_CACHE_SECONDS", 10.0),  # type: ignore[arg-type]
            web_refresh_seconds=_int(env, "WEB_REFRESH_SECONDS", 5, minimum=0),  # type: ignore[arg-type]
            env_file=env.get("ENV_FILE", "").strip() or ".env",
            public_url=_public_url(env),
            calendar_cache_seconds=_float(env, "CALENDAR_CACHE_SECONDS", 300.0),  # type: ignore[arg-type]
            announce_urls={k: v.strip() for k, v in env.items() if k.startswith("ANNOUNCE_") and v.strip()},
        )
        return settings

    # --- derived facts ---

    @property
    def has_app_credentials(self) -> bool:
        return self.app_id is not None and (self.private_key is not None or self.private_key_path is not None)

    def load_private_key(self) -> str | None:
        """The PEM text, from PRIVATE_KEY or the file at PRIVATE_KEY_PATH."""
        if self.private_key:
            return self.private_key
        if self.private_key_path:
            try:
                return decode_private_key(Path(self.private_key_path).read_text())
            except OSError as exc:
                raise SettingsError(f"PRIVATE_KEY_PATH {self.private_key_path!r}: {exc.strerror}") from None
        return None

    @property
    def public_base_url(self) -> str:
        """Where people and calendar clients reach this bot: PUBLIC_URL, else http://HOST:PORT."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def github_web_url(self) -> str:
        """Where GitHub's web pages are (OAuth, the manifest flow): github.com for api.github.com,
        the host root for GitHub Enterprise Server's ``/api/v3`` layout (and the sandbox's)."""
        if self.github_api_url == DEFAULT_GITHUB_API_URL:
            return "https://github.com"
        return self.github_api_url.removesuffix("/api/v3").rstrip("/")

    @property
    def sqlite_path(self) -> str | None:
        """The file of a sqlite:// QUEUE_URL (sqlite:///rel/path, sqlite:////abs/path), else None."""
        if not self.queue_url.startswith("sqlite://"):
            return None
        rest = self.queue_url[len("sqlite://"):]
        if rest.startswith("/"):
            rest = rest[1:]
        return rest or ":memory:"

    def require_webhook_secret(self) -> None:
        """The web server must not accept unsigned webhooks outside sandbox mode."""
        if not self.webhook_secret and not self.sandbox:
            raise SettingsError(
                "WEBHOOK_SECRET is not set: refusing to accept unverifiable webhooks "
                "(set SANDBOX=1 to run against the built-in sandbox)"
            )

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def queue_password(self) -> str | None:
        """The password in a redis://user:PASSWORD@host QUEUE_URL (scrubbed from every log line)."""
        from urllib.parse import unquote, urlsplit

        if not self.uses_redis:
            return None
        password = urlsplit(self.queue_url).password
        return unquote(password) if password else None

    @property
    def uses_redis(self) -> bool:
        """The shared deployment: queue, state and the GitHub budget in Redis."""
        return self.queue_url.startswith(("redis://", "rediss://"))

    def redacted(self) -> dict[str, Any]:
        """A loggable view: secrets shown only as set/unset."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("private_key", "webhook_secret", "github_client_secret", "session_secret"):
                out[f.name] = "<set>" if value else None
            elif f.name == "announce_urls":
                out[f.name] = sorted(value)  # the names only: each URL is a secret
            elif f.name == "queue_url":
                out[f.name] = _redact_url(value)
            else:
                out[f.name] = value
        return out
