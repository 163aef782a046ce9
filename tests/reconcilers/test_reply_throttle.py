"""The one reply throttle: per person on a thread, per person in a repository, per repository."""

from __future__ import annotations

from memory_store import MemoryStore

from bot.reconcilers.reply_throttle import PER_PERSON, PER_PERSON_PER_THREAD, PER_REPOSITORY, may_reply


def test_per_person_on_one_thread_then_the_window_passes() -> None:
    store = MemoryStore()
    answers = [may_reply(store, "acme/rocket", 1, "Outsider", now=1000.0 + i) for i in range(5)]
    assert answers == [True] * PER_PERSON_PER_THREAD.replies + [False] * (5 - PER_PERSON_PER_THREAD.replies)
    assert may_reply(store, "acme/rocket", 1, "someone-else", now=1005.0)  # others are not held back
    assert may_reply(store, "acme/rocket", 1, "outsider", now=1000.0 + PER_PERSON_PER_THREAD.seconds + 1)


def test_per_person_across_threads() -> None:
    store = MemoryStore()
    answers = [may_reply(store, "acme/rocket", thread, "spammer", now=1000.0) for thread in range(20)]
    assert sum(answers) == PER_PERSON.replies
    assert may_reply(store, "acme/other", 1, "spammer", now=1000.0)  # another repository counts apart


def test_per_repository_whoever_asks() -> None:
    store = MemoryStore()
    answers = [may_reply(store, "acme/rocket", n, f"user{n}", now=1000.0) for n in range(50)]
    assert sum(answers) == PER_REPOSITORY.replies
    assert may_reply(store, "acme/rocket", 99, "late", now=1000.0 + PER_REPOSITORY.seconds + 1)


def test_a_garbled_store_entry_is_ignored() -> None:
    store = MemoryStore()
    store.set_state("reply-throttle:acme/rocket", {"not": "a list"})
    assert may_reply(store, "acme/rocket", 1, "dev", now=1.0)
