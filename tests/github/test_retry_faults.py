"""The github layer against the sandbox's injected faults (real HTTP, GitHub's bodies and headers):
an installation token that stops working mid-job, secondary limits on a write, a 2-second latency,
and the redelivery scan of ``bot.recovery`` (list failed deliveries, redeliver once per guid).

The ``responses``-mocked edge cases of the retry policy live in test_github_client.py.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from memory_store import MemoryStore

from bot.errors import RetryLater
from bot.github.auth import GitHubApp
from bot.github.deliveries import HookDelivery, deliveries_since
from bot.github.pacer import PacerLimits
from bot.recovery import MAX_ASKS_PER_GUID, Recovery, plan_redeliveries
from bot.sandbox import server as sandbox_server

ADMIN = {"Authorization": "token sandbox-token-admin"}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[object]:
    key_path = tmp_path_factory.mktemp("sandbox") / "app.pem"
    handle = sandbox_server.start_sandbox(port=0, app_key_path=key_path)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def app(sandbox) -> Iterator[GitHubApp]:
    key = open(sandbox.app_key_path).read()
    github_app = GitHubApp(1, key, base_url=sandbox.api_url, pacer_limits=PacerLimits.for_mode(sandbox=True))
    yield github_app
    github_app.close()
    httpx.delete(f"{sandbox.base_url}/_sandbox/faults", timeout=10)


def _fault(sandbox, **spec) -> None:
    resp = httpx.post(f"{sandbox.base_url}/_sandbox/faults", json=spec, timeout=10)
    assert resp.status_code == 201, resp.text


def _log_since(sandbox, seq: int) -> list[dict]:
    return httpx.get(f"{sandbox.base_url}/_sandbox/requests", params={"since": seq}, timeout=10).json()


def _last_seq(sandbox) -> int:
    return int(
        httpx.get(f"{sandbox.base_url}/_sandbox/requests", params={"since": 10**9}, timeout=10).headers[
            "X-Sandbox-Last-Seq"
        ]
    )


@pytest.mark.reliability(area="fault", case="installation token expires mid-job", trials=1)
def test_a_token_that_expired_mid_job_is_replaced_and_the_request_sent_again(sandbox, app) -> None:
    gh = app.client_for(1)
    assert gh.get_repo("acme/rocket").name == "rocket"
    # GitHub's clock moved past the token's hour while ours thinks it is still valid.
    assert httpx.post(f"{sandbox.base_url}/_sandbox/tokens", json={"expire": True}).json()["expired"] >= 1
    seq = _last_seq(sandbox)
    assert gh.get_repo("acme/rocket").full_name == "acme/rocket"  # no exception reaches the job
    calls = [(c["method"], c["path"], c["status"]) for c in _log_since(sandbox, seq)]
    assert calls == [
        ("GET", "/repos/acme/rocket", 401),
        ("POST", "/app/installations/1/access_tokens", 201),
        ("GET", "/repos/acme/rocket", 200),
    ]


@pytest.mark.reliability(area="fault", case="secondary rate limit (403 Retry-After) on a write", trials=1)
def test_a_write_refused_by_a_secondary_limit_is_sent_again_and_applied_once(sandbox, app) -> None:
    gh = app.client_for(1)
    repo = gh.get_repo("acme/rocket")
    title = f"limited {time.monotonic_ns()}"
    _fault(sandbox, method="POST", path=r"^/repos/acme/rocket/issues$", status=403, retry_after=1, times=1)
    issue = repo.create_issue(title=title)
    same = [
        i
        for i in httpx.get(
            f"{sandbox.api_url}/repos/acme/rocket/issues", headers=ADMIN, params={"per_page": 100}
        ).json()
        if i["title"] == title
    ]
    assert [i["number"] for i in same] == [issue.number]


@pytest.mark.reliability(area="fault", case="secondary rate limit (429, long Retry-After)", trials=1)
def test_a_429_with_a_long_retry_after_requeues_the_job(sandbox, app) -> None:
    gh = app.client_for(1)
    _fault(sandbox, method="GET", path=r"^/repos/acme/rocket$", status=429, retry_after=40, times=1)
    before = time.time()
    with pytest.raises(RetryLater) as caught:
        gh.get_repo("acme/rocket")
    assert before + 38 <= caught.value.not_before <= time.time() + 41


@pytest.mark.reliability(area="fault", case="2-second GitHub latency", trials=1)
def test_a_two_second_latency_is_waited_out(sandbox, app) -> None:
    gh = app.client_for(1)
    gh.get_repo("acme/rocket")
    _fault(sandbox, method="GET", path=r"^/repos/acme/rocket$", delay_ms=2000, times=1)
    started = time.monotonic()
    assert gh.get_repo("acme/rocket").name == "rocket"
    assert time.monotonic() - started >= 2.0


# --------------------------------------------------------------------------- the redelivery scan


def _d(id_: int, guid: str, status: str = "failed to connect", code: int = 0) -> HookDelivery:
    from datetime import UTC, datetime

    return HookDelivery(
        id=id_,
        guid=guid,
        delivered_at=datetime.now(UTC),
        redelivery=False,
        status=status,
        status_code=code,
        event="issues",
        action="opened",
        installation_id=1,
        repository_id=1,
    )


def test_plan_groups_by_guid_and_skips_delivered_refused_and_asked() -> None:
    deliveries = [
        _d(1, "a"),
        _d(5, "a", "OK", 202),  # failed, then delivered: nothing to do
        _d(2, "b"),
        _d(6, "b", "Invalid HTTP Response: 503", 503),  # still failing: newest attempt
        _d(3, "c", "Invalid HTTP Response: 400", 400),  # the bot refused it: never again
        _d(4, "d", "timed out"),  # asked for already, attempt 9 under way
        _d(7, "e", "timed out"),
    ]
    plan = plan_redeliveries(deliveries, {"d": {"id": 9, "n": 1, "t": 0}})
    assert [(d.guid, d.id) for d in plan.redeliver] == [("b", 6), ("e", 7)]
    assert (plan.delivered_ok, plan.already_asked, plan.refused_by_bot) == (1, 1, 1)
    # Our redelivery of "d" failed as well (attempt 10 > 9): asked again, up to the cap.
    again = plan_redeliveries([_d(4, "d"), _d(10, "d")], {"d": {"id": 9, "n": 1, "t": 0}})
    assert [d.id for d in again.redeliver] == [10]
    capped = plan_redeliveries([_d(4, "d"), _d(10, "d")], {"d": {"id": 9, "n": MAX_ASKS_PER_GUID, "t": 0}})
    assert capped.redeliver == []
    # Unless the bot itself said "not now" (503: its store is full): asked again until taken.
    busy = plan_redeliveries(
        [_d(4, "d"), _d(10, "d", "Invalid HTTP Response: 503", 503)],
        {"d": {"id": 9, "n": MAX_ASKS_PER_GUID, "t": 0}},
    )
    assert [d.id for d in busy.redeliver] == [10]


class _Receiver:
    """A loopback webhook receiver standing in for the bot: answers ``status``, records guids."""

    def __init__(self) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.status = 200
        self.guids: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.status < 300:
                    receiver.guids.append(self.headers["X-GitHub-Delivery"])
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.reliability(area="fault", case="missed webhooks redelivered by the bot's scan", trials=1)
def test_scan_redelivers_each_missed_delivery_once(tmp_path) -> None:
    receiver = _Receiver()
    handle = sandbox_server.start_sandbox(
        port=0, app_key_path=tmp_path / "app.pem", webhook_url=receiver.url, webhook_secret="s"
    )
    app = GitHubApp(1, open(handle.app_key_path).read(), base_url=handle.api_url)
    try:

        def milestone(title: str) -> None:
            r = httpx.post(
                f"{handle.api_url}/repos/acme/rocket/milestones", headers=ADMIN, json={"title": title}
            )
            assert r.status_code == 201, r.text

        receiver.status = 503  # the bot cannot store anything
        for title in ("v1.0.0", "v1.1.0", "v1.2.0"):
            milestone(title)
        assert handle.wait_idle(10)
        receiver.status = 202
        milestone("v2.0.0")  # delivered fine: never asked for
        assert handle.wait_idle(10)
        missed = [d.guid for d in handle.state.deliveries if d.status_code == 503]
        assert len(missed) == 3 and receiver.guids and receiver.guids[0] not in missed

        recovery = Recovery(_Services(app), MemoryStore(), redelivery_interval=60, window_seconds=600)
        first = recovery.scan()
        assert handle.wait_idle(10)
        assert len(first.requested) == 3 and receiver.guids[1:] == missed  # oldest first, once each
        assert recovery.scan().requested == []  # delivered now: nothing more

        # A delivery whose redelivery fails too is asked for again, at most MAX_ASKS_PER_GUID times.
        receiver.status = 500
        milestone("v3.0.0")
        asks = []
        for _ in range(MAX_ASKS_PER_GUID + 2):
            assert handle.wait_idle(10)
            asks.append(len(recovery.scan().requested))
        assert asks == [1] * MAX_ASKS_PER_GUID + [0, 0]
        listed = deliveries_since(app.integration, _an_hour_ago())
        assert len([d for d in listed if d.status_code == 500]) == 1 + MAX_ASKS_PER_GUID
    finally:
        app.close()
        handle.stop()
        receiver.close()


class _Services:
    def __init__(self, app: GitHubApp) -> None:
        self.app = app


def _an_hour_ago():
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) - timedelta(hours=1)


class _FullServices(_Services):
    def client_for(self, installation_id: int):
        return self.app.client_for(installation_id)


def test_resync_enqueues_one_fan_out_repo_job_per_installed_repository(sandbox, app) -> None:
    made = httpx.post(
        f"{sandbox.base_url}/_sandbox/repos",
        json={"owner": f"beta{time.monotonic_ns() % 10**6}", "name": "engine"},
    )
    assert made.status_code == 201, made.text
    store = MemoryStore()
    count = Recovery(
        _FullServices(app), store, redelivery_interval=0, window_seconds=60, resync_interval=60
    ).resync()
    names = {job.repo for job in store.enqueued}
    assert count == len(store.enqueued) and {"acme/rocket", made.json()["full_name"]} <= names
    assert all(
        job.key.startswith("repo:") and job.hints == {"fan_out": True} and job.reason == "resync"
        for job in store.enqueued
    )


def test_one_process_scans_a_round_and_a_restarted_one_scans_at_once() -> None:
    now = [1000.0]
    store = MemoryStore()

    def make() -> Recovery:
        return Recovery(None, store, redelivery_interval=300, window_seconds=600, clock=lambda: now[0])

    a, b = make(), make()  # two gunicorn processes started together
    assert a._claim("redelivery", 300) is True
    assert b._claim("redelivery", 300) is False  # a took this round
    now[0] += 100
    c = make()  # restarted (or a new process): its start-up round is due at once
    assert c._claim("redelivery", 300) is True
    assert a._claim("redelivery", 300) is False and b._claim("redelivery", 300) is False
    now[0] += 280  # an interval later: the next round goes to whoever asks first
    assert b._claim("redelivery", 300) is True and a._claim("redelivery", 300) is False
