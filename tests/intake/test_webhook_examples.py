"""Every payload of @octokit/webhooks-examples (pinned 7.6.1), signed, through the real Flask app."""

from __future__ import annotations

import json
from collections import Counter

from expected_keys import expected
from webhook_helpers import github_headers, load_examples


def test_every_example_is_answered_without_5xx_and_routed_by_the_table(client, queue, fixtures_dir):
    examples = load_examples(fixtures_dir)
    # the pinned version's count (a different pin must be a conscious change), and one built example of
    # an event it lacks (webhook_helpers._unpublished_examples)
    assert len(examples) == 329 + 1
    outcomes: Counter[str] = Counter()
    all_keys: set[str] = set()
    for event, i, payload in examples:
        body = json.dumps(payload).encode()
        response = client.post("/api/github/webhooks", data=body, headers=github_headers(event, body))
        where = f"{event}[{i}] action={payload.get('action')}"
        assert response.status_code < 500, where
        want = expected(event, payload)
        data = response.get_json()
        if want == "ping":
            assert response.status_code == 200 and data["ping"] == "pong", where
        elif want is None:
            assert response.status_code == 200 and "ignored" in data, (where, data)
        elif want == "control":
            assert response.status_code == 202 and data["jobs"] == [], (where, data)
        else:
            assert response.status_code == 202, (where, data)
            assert set(data["jobs"]) == want, where
            all_keys |= want
        outcomes[str(response.status_code)] += 1
    # The examples exercise every kind of key, and the queue holds each key once (coalesced).
    queued = [job.key for job in queue.list_jobs()]
    assert set(queued) == all_keys
    assert len(queued) == len(set(queued))
    assert {k.split(":")[0] for k in all_keys} == {"pr", "release", "repo", "deploy"}
    assert outcomes["202"] >= 100 and outcomes["200"] >= 100, outcomes


def test_check_run_rerequested_is_ours_only_by_app_id(fixtures_dir, tmp_path):
    from webhook_helpers import SECRET

    from bot.intake.app import create_app
    from bot.queue.sqlite import SqliteQueue
    from bot.settings import Settings

    rerequested = [
        p for e, _, p in load_examples(fixtures_dir) if e == "check_run" and p["action"] == "rerequested"
    ]
    assert rerequested
    app_id = rerequested[0]["check_run"]["app"]["id"]
    queue = SqliteQueue(str(tmp_path / "q.db"))
    ours = create_app(
        Settings.from_env({"WEBHOOK_SECRET": SECRET, "APP_ID": str(app_id)}), queue
    ).test_client()
    theirs = create_app(
        Settings.from_env({"WEBHOOK_SECRET": SECRET, "APP_ID": str(app_id + 1)}), queue
    ).test_client()
    for payload in rerequested:
        body = json.dumps(payload).encode()
        want = expected("check_run", payload, app_id)
        response = ours.post("/api/github/webhooks", data=body, headers=github_headers("check_run", body))
        if want:
            assert response.status_code == 202
            assert set(response.get_json()["jobs"]) == want
        other = theirs.post("/api/github/webhooks", data=body, headers=github_headers("check_run", body))
        assert other.status_code == 200 and "ignored" in other.get_json()
