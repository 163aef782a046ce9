"""``POST /_sandbox/faults``: GitHub's failures on demand, selectable and reproducible.

Each fault matches a method and a path regex; ``after`` lets the first matches through, ``times``
counts the failures (negative: until cleared), ``probability`` with a ``seed`` fails a reproducible
share of the matches. The bodies and headers are GitHub's: a secondary limit keeps healthy primary
headers and says so in the body (with ``Retry-After`` when asked), an exhausted primary limit sends
``X-RateLimit-Remaining: 0`` and the reset.
"""

from __future__ import annotations

import time

import pytest
from validation import RunningSandbox

pytestmark = pytest.mark.reliability(area="fault", case="sandbox fault injection", trials=1)


@pytest.fixture(autouse=True)
def _clear(sb: RunningSandbox):
    yield
    sb.api.sandbox("DELETE", "/_sandbox/faults")
    sb.api.sandbox("POST", "/_sandbox/tokens", json={"ttl_seconds": 3600})


def _fault(sb: RunningSandbox, **spec) -> dict:
    resp = sb.api.sandbox("POST", "/_sandbox/faults", json=spec)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _statuses(sb: RunningSandbox, path: str, n: int, **kw) -> list[int]:
    return [sb.api.get(path, validate=False, **kw).status_code for _ in range(n)]


def test_after_and_times_select_exactly_which_requests_fail(sb: RunningSandbox) -> None:
    _fault(sb, method="GET", path=r"^/repos/acme/rocket$", status=502, after=2, times=3)
    assert _statuses(sb, "/repos/acme/rocket", 7) == [200, 200, 502, 502, 502, 200, 200]
    # Another method or path is untouched; the used-up fault shows how often it fired.
    armed = sb.api.sandbox("GET", "/_sandbox/faults").json()
    assert armed == []
    used = sb.api.sandbox("GET", "/_sandbox/faults?all=1").json()
    assert [(f["status"], f["hits"], f["times"]) for f in used] == [(502, 3, 0)]


def test_a_fault_can_target_one_caller(sb: RunningSandbox) -> None:
    _fault(sb, path=r"^/meta$", status=503, times=-1, actor=r"release-bot\[bot\]")
    assert _statuses(sb, "/meta", 2) == [200, 200]  # admin is not the bot
    assert _statuses(sb, "/meta", 2, token=sb.installation_token()) == [503, 503]


def test_probability_with_a_seed_is_reproducible(sb: RunningSandbox) -> None:
    def run() -> list[int]:
        sb.api.sandbox("DELETE", "/_sandbox/faults")
        _fault(sb, path=r"^/meta$", status=503, times=-1, probability=0.5, seed=7)
        return _statuses(sb, "/meta", 40)

    first, second = run(), run()
    assert first == second  # the same seed fails the same requests
    assert 5 < first.count(503) < 35 and set(first) == {200, 503}


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_looks_like_github(sb: RunningSandbox, status: int) -> None:
    _fault(sb, method="POST", path=r"/issues$", status=status, retry_after=2)
    resp = sb.api.post("/repos/acme/rocket/issues", as_="dev", json={"title": "x"}, validate=False)
    assert resp.status_code == status
    assert resp.headers["Retry-After"] == "2"
    body = resp.json()
    assert body["message"].startswith("You have exceeded a secondary rate limit")
    assert body["documentation_url"].endswith("#about-secondary-rate-limits")
    # Unlike the primary limit, the hourly budget is not what ran out.
    assert int(resp.headers["X-RateLimit-Remaining"]) > 0
    # Nothing was created: the next request goes through and makes exactly one issue.
    made = sb.api.post("/repos/acme/rocket/issues", as_="dev", json={"title": "x"})
    assert made.status_code == 201


def test_exhausted_primary_limit_sends_remaining_zero_and_the_reset(sb: RunningSandbox) -> None:
    token = sb.installation_token()
    _fault(sb, path=r"^/repos/acme/rocket/milestones$", rate_limit_exhausted=True, retry_after=120)
    now = int(sb.handle.state.now().timestamp())
    resp = sb.api.get("/repos/acme/rocket/milestones", token=token, validate=False)
    assert resp.status_code == 403
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert now + 115 <= int(resp.headers["X-RateLimit-Reset"]) <= now + 125
    assert resp.json()["message"].startswith("API rate limit exceeded for installation ID 1")


def test_an_applied_fault_carries_the_request_out_and_loses_the_answer(sb: RunningSandbox) -> None:
    title = f"applied {time.monotonic_ns()}"
    _fault(sb, method="POST", path=r"^/repos/acme/rocket/issues$", status=502, applied=True)
    resp = sb.api.post("/repos/acme/rocket/issues", as_="dev", json={"title": title}, validate=False)
    assert resp.status_code == 502 and resp.json()["message"] == "Server Error"
    found = [
        i
        for i in sb.api.get("/repos/acme/rocket/issues", params={"per_page": 100}).json()
        if i["title"] == title
    ]
    assert len(found) == 1  # created nonetheless: a client that retries blindly makes two


def test_latency_fault_delays_and_then_serves(sb: RunningSandbox) -> None:
    _fault(sb, path=r"^/meta$", delay_ms=400, times=1)
    started = time.monotonic()
    assert sb.api.get("/meta").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_installation_token_ttl_and_expiry_mid_job(sb: RunningSandbox) -> None:
    resp = sb.api.sandbox("POST", "/_sandbox/tokens", json={"ttl_seconds": 120})
    assert resp.status_code == 200 and resp.json()["ttl_seconds"] == 120
    minted = sb.api.post("/app/installations/1/access_tokens", token=sb.app_jwt()).json()
    now = sb.handle.state.now()
    from datetime import datetime

    assert (
        115
        <= (datetime.fromisoformat(minted["expires_at"].replace("Z", "+00:00")) - now).total_seconds()
        <= 121
    )
    token = minted["token"]
    assert sb.api.get("/installation/repositories", token=token).status_code == 200
    expired = sb.api.sandbox("POST", "/_sandbox/tokens", json={"expire": True}).json()
    assert expired["expired"] >= 1
    refused = sb.api.get("/installation/repositories", token=token)
    assert refused.status_code == 401 and refused.json()["message"] == "Bad credentials"


@pytest.mark.parametrize(
    "spec, field",
    [
        ({"path": "x", "status": 502, "probability": 1.5}, "probability"),
        ({"path": "x", "status": 502, "times": 0}, "times"),
        ({"path": "x"}, "status"),
        ({"path": "x", "status": 502, "method": 3}, "method"),
        ({"path": "x", "status": 403, "applied": True}, "applied"),
    ],
)
def test_bad_fault_specs_are_refused_with_the_field_named(sb: RunningSandbox, spec: dict, field: str) -> None:
    resp = sb.api.sandbox("POST", "/_sandbox/faults", json=spec)
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["field"] == field
