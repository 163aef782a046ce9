"""The queue tests run against every backend: SQLite, and Redis on a private redis-server."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis_server import redis_server, redis_url  # noqa: E402,F401 - fixtures
