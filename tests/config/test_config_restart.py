"""The last valid configuration survives a restart: a new store object on the same SQLite file."""

from __future__ import annotations

from bot.config.loader import ConfigLoader
from bot.queue.base import open_queue

RB = ".github/release-bot.yml"


def test_last_valid_config_survives_restart(gh, files, tmp_path):
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    first = open_queue(url)
    files.put("acme/rocket", RB, "gate:\n  release_branches: ['rel/*']\n")
    assert ConfigLoader(first).load(gh, "acme/rocket").config["gate"]["release_branches"] == ["rel/*"]
    first.close()

    # The process restarts; meanwhile someone pushed a broken file.
    files.put("acme/rocket", RB, "gate:\n  release_branches: 'rel/*'\n")
    second = open_queue(url)
    try:
        loaded = ConfigLoader(second).load(gh, "acme/rocket")
    finally:
        second.close()
    assert loaded.valid
    assert loaded.config["gate"]["release_branches"] == ["rel/*"]
    assert ":2: gate.release_branches: 'rel/*' is not of type 'array'" in loaded.error
