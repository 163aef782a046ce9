"""The queue tests run against every backend: SQLite, and Redis on a private redis-server."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pytest  # noqa: E402
from fake_clock import Clock  # noqa: E402
from redis_server import redis_server, redis_url  # noqa: E402,F401 - fixtures


@pytest.fixture
def clock() -> Clock:
    """The queue's clock, moved by hand."""
    return Clock()
