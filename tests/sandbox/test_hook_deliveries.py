"""``GET /app/hook/deliveries`` and ``POST …/{id}/attempts`` as GitHub serves them: a delivery the
receiver did not accept (connection refused, 5xx, time-out) is recorded as failed; the list pages by
cursor, filters by ``status`` (success = status code 200-399, failure = 400-599, per GitHub's
OpenAPI description), and every body validates against GitHub's schemas (the ``Api`` client checks
each response). Redelivery takes the App's JWT and sends the same ``X-GitHub-Delivery`` again.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from validation import RunningSandbox

from bot.sandbox.webhooks import emitter

pytestmark = pytest.mark.reliability(area="fault", case="failed webhook deliveries recorded", trials=1)


@contextmanager
def _webhook_url(sb: RunningSandbox, url: str) -> Iterator[None]:
    st = sb.handle.state
    with st.lock:
        before = st.apps[1].webhook_url
        st.apps[1].webhook_url = url
    try:
        yield
    finally:
        sb.wait_idle()
        with st.lock:
            st.apps[1].webhook_url = before


def _ours(sb: RunningSandbox, repo: str, **params) -> list[dict]:
    repo_id = sb.api.get(f"/repos/{repo}").json()["id"]
    found = sb.api.paginate("/app/hook/deliveries", per_page=100, token=sb.app_jwt(), params=params)
    return [d for d in found if d["repository_id"] == repo_id]


def test_refused_5xx_and_timed_out_deliveries_are_recorded_as_failed(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    # Connection refused: nothing listens on the port.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    with _webhook_url(sb, f"http://127.0.0.1:{dead}/hook"):
        sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v1.0.0"})
    # 503 from the receiver.
    sb.recorder.status = 503
    try:
        sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v2.0.0"})
        sb.wait_idle()
    finally:
        sb.recorder.status = 200
    # Time-out: the receiver accepts the connection and never answers.
    em = emitter(sb.handle.state)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        em.timeout = 0.5
        try:
            with _webhook_url(sb, f"http://127.0.0.1:{silent.getsockname()[1]}/hook"):
                sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v3.0.0"})
        finally:
            em.timeout = 10.0
    sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v4.0.0"})
    sb.wait_idle()

    rows = list(reversed(_ours(sb, repo)))  # oldest first
    assert [(r["status_code"], r["status"].split(":")[0]) for r in rows] == [
        (0, "failed to connect"),
        (503, "Invalid HTTP Response"),
        (0, "timed out"),
        (200, "OK"),
    ]
    assert all(
        r["redelivery"] is False and r["event"] == "milestone" and r["action"] == "created" for r in rows
    )
    assert rows[2]["duration"] >= 0.5

    # GitHub's status filter classifies by status code range.
    assert [r["status_code"] for r in _ours(sb, repo, status="failure")] == [503]
    assert [r["status_code"] for r in _ours(sb, repo, status="success")] == [200]
    bad = sb.api.get("/app/hook/deliveries", token=sb.app_jwt(), params={"status": "broken"})
    assert bad.status_code == 422

    # Redeliver the refused one: same guid, marked as a redelivery, now OK.
    refused = rows[0]
    assert (
        sb.api.post(f"/app/hook/deliveries/{refused['id']}/attempts", token=sb.app_jwt()).status_code == 202
    )
    sb.wait_idle()
    again = [r for r in _ours(sb, repo) if r["guid"] == refused["guid"]]
    assert [(r["redelivery"], r["status"]) for r in again] == [(True, "OK"), (False, refused["status"])]
    got = [d for d in sb.recorder.deliveries if d.delivery_id == refused["guid"]]
    assert len(got) == 1 and got[0].payload["milestone"]["title"] == "v1.0.0"


def test_cursor_pages_are_disjoint_and_cover_everything(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    for i in range(7):
        sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": f"v{i}.1.0"})
    sb.wait_idle()
    jwt = sb.app_jwt()
    first = sb.api.get("/app/hook/deliveries", token=jwt, params={"per_page": 3})
    nxt = first.links["next"]["url"]
    assert "cursor=" in nxt and "page=" not in nxt.replace("per_page", "")
    second = sb.api.get(nxt, token=jwt)
    ids = [d["id"] for d in first.json() + second.json()]
    assert len(ids) == 6 and ids == sorted(ids, reverse=True) and len(set(ids)) == 6
    assert len(_ours(sb, repo)) == 7


def test_deliveries_need_the_app_jwt_and_old_ones_cannot_be_redelivered(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v9.0.0"})
    sb.wait_idle()
    target = _ours(sb, repo)[0]
    token = sb.installation_token()
    for kw in ({"token": token}, {"as_": "admin"}):
        assert sb.api.get("/app/hook/deliveries", validate=False, **kw).status_code == 401
        assert (
            sb.api.post(f"/app/hook/deliveries/{target['id']}/attempts", validate=False, **kw).status_code
            == 401
        )
    st = sb.handle.state
    st.advance_clock(3 * 24 * 3600 + 60)
    try:
        jwt = sb.app_jwt()
        # Past GitHub's 3 days: no longer listed, and a redelivery is refused.
        assert all(d["id"] != target["id"] for d in sb.api.paginate("/app/hook/deliveries", token=jwt))
        old = sb.api.post(f"/app/hook/deliveries/{target['id']}/attempts", token=jwt)
        assert old.status_code == 422
    finally:
        st.advance_clock(0)
        st.clock_offset = type(st.clock_offset)(0)
