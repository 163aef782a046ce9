"""An installation deleted/suspended (or losing repositories) at intake makes *another* process's
Services drop its cached client: web and worker share only the store (the SQLite file)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from webhook_helpers import github_headers

from bot.github.auth import GitHubApp
from bot.jobs import JobSpec
from bot.queue import worker as worker_module
from bot.queue.sqlite import SqliteQueue
from bot.queue.worker import WorkerPool
from bot.services import Services


@pytest.fixture(scope="module")
def private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def worker_side(tmp_path: Path, queue: SqliteQueue, private_key: str):
    """The worker process's view: its own connection to the same database file, its own clients."""
    store = SqliteQueue(queue.path)
    # Nothing here talks to GitHub: building and dropping clients is local.
    services = Services(GitHubApp(1, private_key, base_url="http://127.0.0.1:9"), store)
    yield services, store
    services.close()
    store.close()


def post(client, event: str, payload: dict) -> dict:
    body = json.dumps(payload).encode()
    response = client.post("/api/github/webhooks", data=body, headers=github_headers(event, body))
    assert response.status_code in (200, 202), response.get_json()
    return response.get_json()


def installation_event(action: str, installation_id: int) -> dict:
    return {"action": action, "installation": {"id": installation_id, "account": {"login": "acme"}},
            "sender": {"login": "admin"}}


@pytest.mark.parametrize("action", ["deleted", "suspend"])
def test_worker_process_drops_the_client_of_a_removed_installation_once(client, worker_side, action):
    services, _ = worker_side
    first, other = services.client_for(7), services.client_for(8)
    assert services.client_for(7) is first  # cached

    post(client, "installation", installation_event(action, 7))

    fresh = services.client_for(7)
    assert fresh is not first  # built anew after the removal, with a new token
    assert services.client_for(7) is fresh  # one forget per removal, not one per call
    assert services.client_for(8) is other  # other installations keep theirs
    post(client, "installation", installation_event(action, 7))  # a second removal: forgotten again
    assert services.client_for(7) is not fresh


def test_repositories_removed_drop_the_client_too(client, worker_side):
    services, _ = worker_side
    first = services.client_for(7)
    post(client, "installation_repositories", {
        **installation_event("removed", 7),
        "repositories_removed": [{"id": 1, "full_name": "acme/rocket"}],
    })
    assert services.client_for(7) is not first


def test_unrelated_events_leave_cached_clients_alone(client, worker_side):
    services, _ = worker_side
    first = services.client_for(7)
    post(client, "installation", installation_event("new_permissions_accepted", 7))
    assert services.client_for(7) is first


def test_an_idle_worker_sweeps_clients_no_job_asks_for(client, worker_side, monkeypatch):
    services, store = worker_side
    services.client_for(7)
    services.client_for(8)
    monkeypatch.setattr(worker_module, "REMOVAL_SWEEP_SECONDS", 0.0)
    pool = WorkerPool(store, lambda spec, svc: None, services=services, threads=1, poll_seconds=0.01)
    pool.start()
    try:
        post(client, "installation", installation_event("suspend", 8))
        deadline = time.monotonic() + 5
        while 8 in services.app.cached_installations() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert services.app.cached_installations() == [7]
    finally:
        pool.stop(drain_seconds=2)


def test_waiting_jobs_of_the_removed_installation_are_dropped(client, queue, worker_side):
    _, store = worker_side
    store.enqueue([JobSpec("repo:1", 7, "acme/rocket", "test"), JobSpec("repo:2", 8, "acme/other", "test")])
    answer = post(client, "installation", installation_event("deleted", 7))
    assert answer["jobs"] == []
    assert [job.spec.installation_id for job in queue.list_jobs()] == [8]
