"""JSON-lines logging with secrets scrubbed.

One JSON object per line on stderr (what gunicorn, systemd and container platforms collect).
Structured fields are passed as ``extra={"fields": {...}}`` or through ``log_fields(...)``.

Secrets never reach the output: the values of WEBHOOK_SECRET and PRIVATE_KEY are registered at
start-up and replaced wherever they appear, and anything shaped like a GitHub token (``ghs_…``,
``ghp_…``, ``github_pat_…``), a JWT, an ``Authorization`` value or a PEM block is masked, in the
message, the fields and exception text alike.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
from typing import Any

# One alternation, so a clean string (the common case) costs a single scan.
_TOKENS = re.compile(
    r"(?P<gh>\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}))"
    r"|(?P<jwt>\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+)"
    r"|(?P<auth>(?i:\b(?:token|bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,})"
    r"|(?P<pem>-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----)"
    r"|(?P<sandbox>\bsandbox-token-[A-Za-z0-9_-]+)",
    re.S,
)
_AUTH_SCHEME = re.compile(r"(?i)^((?:token|bearer|basic)\s+)")
_REDACTED = "[redacted]"
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it would be logged (short values are ignored: masking
    'a' everywhere would garble logs without protecting anything)."""
    if value and len(value) >= 6:
        with _secrets_lock:
            _secrets.add(value)
            # Lines are scrubbed as JSON text, where quotes, backslashes and newlines are escaped.
            _secrets.add(json.dumps(value)[1:-1])


def _mask(match: re.Match[str]) -> str:
    if match.lastgroup == "auth":
        # Keep the scheme ("Bearer [redacted]"): it says what was there without revealing it.
        scheme = _AUTH_SCHEME.match(match.group(0))
        return (scheme.group(1) if scheme else "") + _REDACTED
    return _REDACTED


# Substrings at least one of which every token shape contains: most lines contain none, and a
# few `in` tests are far cheaper than running the regex over the line.
_TRIGGERS = ("gh", "github_pat_", "eyJ", "PRIVATE KEY", "sandbox-token-")
_AUTH_TRIGGERS = ("token", "bearer", "basic")


def scrub(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, _REDACTED)
    if any(t in text for t in _TRIGGERS):
        return _TOKENS.sub(_mask, text)
    lowered = text.lower()
    if any(t in lowered for t in _AUTH_TRIGGERS):
        return _TOKENS.sub(_mask, text)
    return text


# Built once: json.dumps with non-default arguments constructs a new encoder for every line.
_LINE_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


class JsonFormatter(logging.Formatter):
    """The whole line is built first and scrubbed once: one regex pass over a short string costs
    less than scrubbing every field, and nothing can slip through a field of an unexpected type."""

    # (second, its text) as one tuple: threads log concurrently, and two separate attributes could
    # pair one thread's second with another's text.
    _second_cache: tuple[int, str] = (-1, "")

    def _time(self, created: float) -> str:
        second = int(created)
        cached = self._second_cache
        if cached[0] != second:  # strftime once per second, not once per line
            cached = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
            self._second_cache = cached
        return f"{cached[1]}.{int((created - second) * 1000):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": round(record.created, 3),
            "time": self._time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for name, value in fields.items():
                if name not in out:
                    out[name] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return scrub(_LINE_ENCODER.encode(out))


class JsonLineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A StreamHandler that formats a record before taking the handler's lock, then writes and
    flushes the line in one step. The stock ``Handler.handle`` formats (JSON encoding, scrubbing)
    while holding the lock, so concurrent request threads queue behind each other's formatting,
    and every blocked thread costs a sleep and a wake-up (measured by benchmarks/intake_cpu.py)."""

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        if not self.filter(record):
            return False
        try:
            line = self.format(record) + self.terminator
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - logging must never break the caller (stdlib behaviour)
            self.handleError(record)
            return True
        with self.lock:  # type: ignore[union-attr]
            try:
                stream = self.stream
                stream.write(line)
                stream.flush()
            except RecursionError:
                raise
            except Exception:  # noqa: BLE001
                self.handleError(record)
        return True


def configure_logging(level: str = "INFO", secrets: list[str | None] | None = None) -> None:
    """Route the root logger to stderr as JSON lines. Idempotent."""
    for secret in secrets or []:
        register_secret(secret)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_release_bot", False):
            root.removeHandler(handler)
    handler = JsonLineHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._release_bot = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    # No caller look-up (file, line, function) per record: the JSON line does not print them and
    # sys._getframe walking is a measurable share of a webhook's cost (logging's documented knob).
    logging._srcfile = None  # type: ignore[attr-defined]
    # Likewise the multiprocessing process name every LogRecord looks up through
    # multiprocessing.current_process(): no line prints it. (Thread and process ids stay: they are
    # cheap, and gunicorn's own error log format prints %(process)d.)
    logging.logMultiprocessing = False
    # Per-request access lines would double the delivery log line; errors still show.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.WARNING)
    # httpx (the sandbox's webhook deliveries, the demo's requests) logs every request at INFO:
    # hundreds of lines that hide the bot's own. The delivery log already records each one.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)


def log_fields(logger: logging.Logger, msg: str, level: int = logging.INFO, **fields: Any) -> None:
    """One structured line: ``log_fields(log, "job", key=..., outcome=...)``."""
    if logger.isEnabledFor(level):
        logger.log(level, msg, extra={"fields": fields})
