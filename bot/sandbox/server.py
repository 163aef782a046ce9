"""Run the sandbox in-process: a threaded WSGI server on a background thread.

Used by ``release-bot sandbox``, ``release-bot serve`` without App credentials, the demo and tests.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from bot.sandbox.app import create_sandbox_app
from bot.sandbox.state import SandboxState
from bot.sandbox.webhooks import emitter

log = logging.getLogger(__name__)

DEFAULT_WEBHOOK_SECRET = "sandbox-webhook-secret"


def ensure_app_key(path: str | os.PathLike[str]) -> bytes:
    """The App's private key PEM at ``path``, created (RSA 2048, mode 0600) when missing.

    Returns the public key PEM, which the sandbox uses to verify the App's JWTs.
    """
    p = Path(path)
    if not p.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        p.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
    private = serialization.load_pem_private_key(p.read_bytes(), password=None)
    return private.public_key().public_bytes(serialization.Encoding.PEM,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's handler without a log line per request (benchmarks make tens of thousands)."""

    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections, as with github.com

    def log_request(self, *args: object, **kwargs: object) -> None:
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        # The app sends ``Date`` from the sandbox clock (GitHub's clock); http.server would add the
        # host's as a second ``Date`` header, which clients would read first.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())


@dataclass
class SandboxHandle:
    """A running sandbox. ``base_url`` is the web root, ``api_url`` the REST base."""

    state: SandboxState
    port: int
    host: str
    app_key_path: str
    webhook_secret: str
    _server: BaseWSGIServer = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v3"

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every webhook sent so far has been answered."""
        return emitter(self.state).wait_idle(timeout)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        emitter(self.state).close()

    def __enter__(self) -> SandboxHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(port: int = 0, webhook_url: str | None = None,
                  webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
                  app_key_path: str | os.PathLike[str] = "sandbox-app.pem",
                  host: str = "127.0.0.1", state: SandboxState | None = None) -> SandboxHandle:
    """Start a sandbox on ``host:port`` (0 picks a free port) and return once it accepts requests."""
    public_pem = ensure_app_key(app_key_path)
    if state is None:
        state = SandboxState(app_public_key_pem=public_pem, webhook_url=webhook_url,
                             webhook_secret=webhook_secret)
    else:
        with state.lock:
            app = state.apps[1]
            app.public_key_pem = public_pem
            app.webhook_url, app.webhook_secret = webhook_url, webhook_secret
    wsgi = create_sandbox_app(state)
    server = make_server(host, port, wsgi, threaded=True, request_handler=_QuietHandler)
    server.daemon_threads = True  # type: ignore[attr-defined]
    actual_port = server.server_port
    state.base_url = f"http://{host}:{actual_port}"
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox:{actual_port}", daemon=True)
    thread.start()
    log.info("sandbox listening on %s (API %s/api/v3)", state.base_url, state.base_url)
    return SandboxHandle(state=state, port=actual_port, host=host, app_key_path=str(app_key_path),
                         webhook_secret=webhook_secret, _server=server, _thread=thread)
