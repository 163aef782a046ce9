"""The echo ledger: a job woken only by the webhooks of its own last writes is skipped, no other."""

from __future__ import annotations

from typing import Any

from memory_store import MemoryStore

from bot.core.echoes import SENDERS_HINT, SUBJECTS_HINT
from bot.jobs import JobSpec
from bot.reconcilers import dispatch, echoes

BOT = "release-bot[bot]"
REPO = "acme/rocket"
API = f"http://127.0.0.1:1/api/v3/repos/{REPO}"
RELEASE = "release:11@3"
GATE = "pr:11#7"


def job(key: str, *subjects: str, senders: tuple[str, ...] = (BOT,), **hints: Any) -> JobSpec:
    return JobSpec(key, 1, REPO, "issues.edited",
                   {SENDERS_HINT: list(senders), SUBJECTS_HINT: list(subjects), **hints})


def test_the_echo_of_a_keys_own_last_write_is_recognised() -> None:
    store = MemoryStore()
    echoes.record_writes(store, REPO, RELEASE, [("PATCH", f"{API}/issues/1"),
                                               ("POST", f"{API}/issues/1/comments")], now=100.0)
    assert echoes.is_own_echo(store, job(RELEASE, "issue:1"), BOT, now=101.0)


def test_anything_else_runs() -> None:
    store = MemoryStore()
    echoes.record_writes(store, REPO, GATE, [("POST", f"{API}/issues/7/labels")], now=100.0)
    echoes.record_writes(store, REPO, RELEASE, [("PATCH", f"{API}/issues/1")], now=100.0)
    # Another key's write: the release must see the gate's label.
    assert not echoes.is_own_echo(store, job(RELEASE, "issue:7"), BOT, now=101.0)
    assert echoes.is_own_echo(store, job(GATE, "issue:7"), BOT, now=101.0)
    # A person's event coalesced into the job, or one subject nobody wrote.
    assert not echoes.is_own_echo(store, job(RELEASE, "issue:1", senders=(BOT, "pm")), BOT, now=101.0)
    assert not echoes.is_own_echo(store, job(RELEASE, "issue:1", "issue:2"), BOT, now=101.0)
    # The same subject written later by another key: no longer this key's echo.
    echoes.record_writes(store, REPO, GATE, [("PATCH", f"{API}/issues/1")], now=102.0)
    assert not echoes.is_own_echo(store, job(RELEASE, "issue:1"), BOT, now=103.0)
    # Too old to prove anything.
    assert not echoes.is_own_echo(store, job(GATE, "issue:7"), BOT, now=100.0 + echoes.KEEP_SECONDS + 1)
    assert not echoes.is_own_echo(None, job(GATE, "issue:7"), BOT, now=101.0)


def test_the_ledger_forgets_old_writes() -> None:
    store = MemoryStore()
    echoes.record_writes(store, REPO, GATE, [("POST", f"{API}/issues/7/labels")], now=100.0)
    echoes.record_writes(store, REPO, RELEASE, [("PATCH", f"{API}/issues/1")],
                         now=100.0 + echoes.KEEP_SECONDS + 1)
    assert set(store.get_state(f"echo-ledger:{REPO}")) == {"issue:1"}


class _Services:
    """Just enough of ``bot.services.Services`` for ``run_job`` to decide on an echo."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self.bot_login = BOT

    def client_for(self, installation_id: int) -> Any:
        raise AssertionError("an echo must not build a client, let alone read GitHub")


def test_run_job_skips_an_echo_without_a_request(monkeypatch: Any) -> None:
    store = MemoryStore()
    echoes.record_writes(store, REPO, RELEASE, [("PATCH", f"{API}/issues/1")])
    report = dispatch.run_job(job(RELEASE, "issue:1"), _Services(store))
    assert report.outcome == "ok" and report.api_calls == 0
    ran: list[str] = []
    monkeypatch.setattr(dispatch, "_run", lambda job, *a: ran.append(job.key))
    dispatch.run_job(job(RELEASE, "issue:1", senders=(BOT, "pm")), _Services(store))
    assert ran == [RELEASE]


class _CachedServices(_Services):
    def __init__(self, store: MemoryStore) -> None:
        from types import SimpleNamespace

        from bot.github.freshness import LocalTouchClock
        from bot.github.response_cache import ResponseCache

        super().__init__(store)
        self.touches = LocalTouchClock()
        self.app = SimpleNamespace(response_cache=ResponseCache(touches=self.touches))


def test_the_echo_of_the_bots_own_write_touches_only_what_the_write_did_not(monkeypatch: Any) -> None:
    """The write touched (and wrote through) the items when GitHub answered it; its echo ending
    the items' window again would make the next reconcile read back what the bot just wrote."""
    monkeypatch.setattr(dispatch, "_run", lambda *a: None)
    hints = {"touched": ["items"], "echo_touched": [], "touched_at": 100.0}
    own = _CachedServices(MemoryStore())
    dispatch.run_job(job(RELEASE, "?", **hints), own)  # "?": not a subject this key wrote
    assert own.touches.last_touch(REPO, "items") is None
    persons = _CachedServices(MemoryStore())
    dispatch.run_job(job(RELEASE, "?", senders=(BOT, "pm"), **hints), persons)
    assert persons.touches.last_touch(REPO, "items") == 100.0


def test_a_reconcilers_wake_up_coalesced_with_echoes_touches_what_it_said_and_no_more(
    monkeypatch: Any,
) -> None:
    """A job a reconciler enqueued is the bot's own too: coalesced with echoes of the bot's writes
    only, it touches what its own hints name (kept in ``echo_touched``), not everything the echoes'
    events could have touched."""
    monkeypatch.setattr(dispatch, "_run", lambda *a: None)
    enqueued: list[Any] = []
    dispatch._not_echoes(enqueued.extend)([JobSpec(RELEASE, 1, REPO, "discovery", {"touched": ["heads"]})])
    wake_up = enqueued[0].hints
    from bot.queue.hints import merge_hints

    echo = {"senders": [BOT], "echo_subjects": ["?"], "touched": ["items", "releases"], "echo_touched": []}
    merged = merge_hints(merge_hints(wake_up, echo), {"touched_at": 100.0})
    services = _CachedServices(MemoryStore())
    dispatch.run_job(JobSpec(RELEASE, 1, REPO, "discovery", merged), services)
    assert services.touches.last_touch(REPO, "heads") == 100.0
    assert services.touches.last_touch(REPO, "items") is None
    # With a person's event among them, everything their events touched is touched.
    services = _CachedServices(MemoryStore())
    dispatch.run_job(
        JobSpec(RELEASE, 1, REPO, "discovery", merge_hints(merged, {"senders": ["pm"]})), services
    )
    assert services.touches.last_touch(REPO, "items") == 100.0
