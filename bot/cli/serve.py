"""`release-bot serve`: the webhook server plus in-process workers (the embedded default).

The web side is gunicorn (the production server) run in-process: one gthread worker process by
default (SERVE_WEB_WORKERS), which also runs the job workers, so one process owns the queue's
leases and a SIGTERM drains both. The listening socket is bound here, before gunicorn starts, so
PORT=0 works and the sandbox can be told the real webhook URL.

Without App credentials (APP_ID and a private key) it runs in sandbox mode: it starts the
built-in sandbox (``bot.sandbox.server.start_sandbox``) in this process, points itself at it
(APP_ID=1, the sandbox's key file, its API URL, a generated webhook secret unless WEBHOOK_SECRET
is set) and prints where the sandbox listens.
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import socket
import sys
from typing import Any

from bot.cli import _runtime
from bot.github.pacer import PacerLimits
from bot.logging import log_fields
from bot.settings import Settings, SettingsError

log = logging.getLogger("bot.serve")


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="webhook server plus in-process workers (embedded default)")
    parser.add_argument("--host", help="listen address (default HOST or 0.0.0.0)")
    parser.add_argument("--port", type=int, help="listen port (default PORT or 3000; 0 = any free port)")
    parser.add_argument(
        "--no-sandbox", action="store_true", help="without App credentials, do not start the sandbox"
    )
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="web only: accept webhooks into the queue, leave the jobs to `release-bot worker` processes",
    )


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _start_sandbox(settings: Settings, bot_port: int) -> tuple[Settings, Any]:
    """Start the sandbox in-process and return settings pointing at it."""
    secret = settings.webhook_secret or secrets.token_hex(20)
    from bot.sandbox.server import start_sandbox  # here: only `serve --sandbox` pays for its import

    key_path = os.path.abspath(settings.sandbox_app_key)
    local_host = "127.0.0.1"
    handle = start_sandbox(
        port=settings.sandbox_port,
        webhook_url=f"http://{local_host}:{bot_port}{settings.webhook_path}",
        webhook_secret=secret,
        app_key_path=key_path,
    )
    print(f"release-bot: sandbox (simulated GitHub) at {handle.base_url} — API {handle.api_url}", flush=True)
    _print_drive_me(settings, handle, bot_port, key_path)
    return (
        settings.with_overrides(
            sandbox=True,
            app_id=1,
            private_key=None,
            private_key_path=key_path,
            github_api_url=handle.api_url,
            webhook_secret=secret,
        ),
        handle,
    )


def _print_drive_me(settings: Settings, handle: Any, bot_port: int, key_path: str) -> None:
    """The same "how to drive me" block as ``demo --keep-running`` (bot.sandbox.guide)."""
    from bot.sandbox.guide import SandboxEndpoints, drive_me_lines

    # 0.0.0.0 / :: are where serve listens, not an address to type into curl.
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    bot_url = f"http://[{host}]:{bot_port}" if ":" in host else f"http://{host}:{bot_port}"
    endpoints = SandboxEndpoints(
        web_url=handle.base_url,
        api_url=handle.api_url,
        bot_url=bot_url,
        webhook_path=settings.webhook_path,
        key_path=key_path,
        queue_url=settings.queue_url,
    )
    lines = drive_me_lines(endpoints)
    lines.append("  try:")
    lines.append(
        "    curl -s -H 'Authorization: token sandbox-token-pm' -X POST"
        f" {handle.api_url}/repos/acme/rocket/milestones "
        """-d '{"title": "v1.4.0", "due_on": "2026-12-15T12:00:00Z"}'"""
    )
    lines.append(
        f"    curl -s -H 'Authorization: token sandbox-token-pm' {handle.api_url}/repos/acme/rocket/issues"
    )
    print("\n".join(lines), flush=True)


def share_pacing(settings: Settings) -> Settings:
    """Split GitHub's per-installation budget between ``serve``'s processes.

    Each gunicorn process runs its own job workers with its own pacer, while GitHub counts the
    secondary limits per installation: N processes at the default 80 writes/min would send up to
    N x 80. Values set explicitly (GITHUB_WRITES_PER_MINUTE, GITHUB_WRITES_PER_HOUR,
    GITHUB_POINTS_PER_MINUTE) are per process already (README) and are kept as given.
    """
    processes = settings.serve_web_workers
    if processes <= 1 or settings.uses_redis:
        return settings  # on Redis the windows are shared by every process (bot/github/pacer_redis.py)
    defaults = PacerLimits.for_mode(sandbox=settings.sandbox)
    writes, points = settings.github_writes_per_minute, settings.github_points_per_minute
    hourly = settings.github_writes_per_hour
    return settings.with_overrides(
        github_writes_per_minute=defaults.writes_per_minute / processes if writes is None else writes,
        github_points_per_minute=defaults.points_per_minute / processes if points is None else points,
        github_writes_per_hour=defaults.writes_per_hour / processes if hourly is None else hourly,
    )


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        if args.host:
            settings = settings.with_overrides(host=args.host)
        if args.port is not None:
            settings = settings.with_overrides(port=args.port)
        if getattr(args, "no_worker", False):
            settings = settings.with_overrides(worker_threads=0)
        _runtime.setup_logging(settings)
        sock = _bind(settings.host, settings.port)
        port = sock.getsockname()[1]
        sandbox = None
        if not settings.has_app_credentials:
            if args.no_sandbox:
                settings = settings.with_overrides(sandbox=True)
            else:
                settings, sandbox = _start_sandbox(settings, port)
        settings.require_webhook_secret()
        settings = share_pacing(settings)
        _runtime.setup_logging(settings)  # register the (possibly generated) secret for scrubbing
    except SettingsError as exc:
        print(f"release-bot serve: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"release-bot serve: cannot listen on {settings.host}:{settings.port}: {exc}", file=sys.stderr)
        return 2
    print(f"release-bot: listening on http://{settings.host}:{port}{settings.webhook_path}", flush=True)
    log_fields(log, "serve starting", port=port, settings=settings.redacted())
    try:
        ServeApplication(settings, sock).run()
    finally:
        if sandbox is not None:
            sandbox.stop()
    return 0


def _application_class() -> type:
    from gunicorn.app.base import BaseApplication

    class _Serve(BaseApplication):  # type: ignore[misc]
        def __init__(self, settings: Settings, sock: socket.socket) -> None:
            self.settings = settings
            self.sock = sock
            super().__init__()

        def load_config(self) -> None:
            drain = 25
            config = {
                "bind": [f"fd://{self.sock.fileno()}"],
                "workers": self.settings.serve_web_workers,
                "worker_class": "gthread",
                "threads": self.settings.serve_web_threads,
                # Longer than the workers' drain, so SIGTERM lets running jobs finish.
                "graceful_timeout": drain + 5,
                "timeout": 60,
                "keepalive": 5,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
                "worker_exit": _worker_exit,
                "proc_name": "release-bot-serve",
            }
            for name, value in config.items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            # Runs in the gunicorn worker process (after fork): the queue connection, the
            # GitHub clients and the worker threads all belong to it.
            from bot.intake.app import create_app

            _runtime.setup_logging(self.settings)
            queue = _runtime.open_queue(self.settings)
            _cap_store(self.settings, queue)
            services = _runtime.build_services(self.settings, queue)
            pool = _runtime.build_pool(self.settings, queue, services)
            app = create_app(
                self.settings, queue, on_installation_removed=_runtime.installation_removed_hook(services)
            )
            if pool is not None:
                pool.start()
            elif self.settings.worker_threads <= 0:
                log_fields(log, "web only (--no-worker): jobs are run by `release-bot worker` processes")
            else:
                log_fields(log, "no workers in this process", logging.WARNING)
            _STATE["pool"] = pool
            _STATE["services"] = services
            # Failed deliveries redelivered at start-up and on a schedule; optional resync.
            from bot.recovery import build_recovery

            recovery = build_recovery(self.settings, queue, services) if pool is not None else None
            if recovery is not None:
                recovery.start()
            _STATE["recovery"] = recovery
            return app

    return _Serve


_STATE: dict[str, Any] = {}


def _cap_store(settings: Settings, queue: Any) -> None:
    """QUEUE_MAX_BYTES: a SQLite store that may not grow past this answers webhooks 503 when full."""
    cap = getattr(queue, "cap_size", None)
    if settings.queue_max_bytes and cap is not None:
        cap(settings.queue_max_bytes)


def _worker_exit(server: Any, worker: Any) -> None:
    """gunicorn hook, in the worker process after it stopped serving: drain the job workers."""
    recovery = _STATE.get("recovery")
    if recovery is not None:
        recovery.stop()
    pool = _STATE.get("pool")
    if pool is not None:
        pool.stop()
    services = _STATE.get("services")
    close = getattr(services, "close", None)
    if close is not None:
        close()
    # gthread's request threads may still sit in a blocking read on an idle keep-alive connection
    # (the sandbox's webhook client keeps one open), and interpreter shutdown would join them until
    # gunicorn's graceful timeout ends in SIGKILL. Everything durable is committed and the job
    # workers are drained, so leave now.
    logging.shutdown()
    os._exit(0)


def ServeApplication(settings: Settings, sock: socket.socket) -> Any:  # noqa: N802 - a class factory
    return _application_class()(settings, sock)
