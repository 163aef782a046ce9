"""gunicorn entry point of the production web process
(Procfile: `web: gunicorn -c gunicorn.conf.py bot.wsgi:app`).

Web only: jobs are run by `release-bot worker` processes sharing the queue. Built at import in
each gunicorn worker process (no preload), so every process opens its own queue connection.
"""

from __future__ import annotations

from bot.cli import _runtime
from bot.intake.app import create_app
from bot.settings import Settings

settings = Settings.from_env()
_runtime.setup_logging(settings)
queue = _runtime.open_queue(settings)
app = create_app(settings, queue)
