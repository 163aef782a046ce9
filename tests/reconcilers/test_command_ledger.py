"""The ledger of handled command comments (bot.reconcilers.command_ledger), on its own."""

from __future__ import annotations

from typing import Any

import pytest
from memory_store import MemoryStore

from bot.reconcilers import command_ledger

REPO = "acme/Rocket"


def test_a_recorded_comment_is_known_in_every_spelling_of_the_repository() -> None:
    store = MemoryStore()
    assert not command_ledger.knows(store, REPO, 5)
    command_ledger.record(store, REPO, 5, now=1000.0)
    assert command_ledger.knows(store, "acme/rocket", 5, now=1001.0)
    assert not command_ledger.knows(store, REPO, 6, now=1001.0)


def test_entries_expire_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()
    command_ledger.record(store, REPO, 1, now=0.0)
    later = command_ledger.KEEP_SECONDS + 1
    assert not command_ledger.knows(store, REPO, 1, now=later)  # GitHub's reactions answer again
    command_ledger.record(store, REPO, 2, now=later)
    assert set(store.get_state("command-ledger:acme/rocket")) == {"2"}  # the old one was dropped
    monkeypatch.setattr(command_ledger, "MAX_ENTRIES", 3)
    for comment_id in range(10, 15):
        command_ledger.record(store, REPO, comment_id, now=later + comment_id)
    assert sorted(store.get_state("command-ledger:acme/rocket")) == ["12", "13", "14"]


def test_the_entry_follows_the_reaction_never_precedes_it(monkeypatch: pytest.MonkeyPatch) -> None:
    store = MemoryStore()

    class Ctx:
        gh: Any = None
        repo_full_name = REPO

    ctx: Any = Ctx()
    ctx.store = store

    def refused(*args: Any) -> None:
        raise ConnectionError("connection reset")

    monkeypatch.setattr(command_ledger.gate_io, "react", refused)
    with pytest.raises(ConnectionError):
        command_ledger.react(ctx, 7, "+1")
    assert not command_ledger.knows(store, REPO, 7)
    monkeypatch.setattr(command_ledger.gate_io, "react", lambda *args: None)
    command_ledger.react(ctx, 7, "+1")
    assert command_ledger.knows(store, REPO, 7)
