"""The installation client against ``responses``: tokens, retries, rate limits, counting, errors."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import responses
from github.GithubException import GithubException
from github_mock_helpers import API, REPO_JSON, add_token

from bot.errors import PermanentError, RetryLater
from bot.github import accounting
from bot.github.auth import GitHubApp
from bot.github.errors import map_github_exception
from bot.github.pacer import PacerLimits


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def make_app(app_key: str, sleeps: list[float] | None = None, now: Clock | None = None) -> GitHubApp:
    return GitHubApp(
        7,
        app_key,
        pacer_limits=PacerLimits(writes_per_minute=0, points_per_minute=0, writes_per_hour=0),
        sleep=(sleeps.append if sleeps is not None else None),
        now=now or (lambda: datetime.now(UTC)),
    )


def auth_headers(mock: responses.RequestsMock) -> list[str]:
    return [c.request.headers.get("Authorization", "") for c in mock.calls if "/repos/" in c.request.url]


def test_token_minted_once_then_refreshed_before_expiry(app_key, gh_mock):
    clock = Clock()
    expiry = clock.now + timedelta(hours=1)
    add_token(gh_mock, 5, ("ghs_first", expiry), ("ghs_second", expiry + timedelta(hours=1)))
    gh_mock.get(f"{API}/repos/acme/rocket", json=REPO_JSON)
    gh = make_app(app_key, now=clock).client_for(5)

    gh.get_repo("acme/rocket")
    clock.now += timedelta(minutes=30)
    gh.get_repo("acme/rocket")
    clock.now += timedelta(minutes=26)  # 4 minutes before expiry: inside the refresh margin
    gh.get_repo("acme/rocket")

    mints = [c for c in gh_mock.calls if c.request.url.endswith("/access_tokens")]
    assert len(mints) == 2
    assert mints[0].request.headers["Authorization"].startswith("Bearer ")  # the App's JWT
    assert auth_headers(gh_mock) == ["token ghs_first", "token ghs_first", "token ghs_second"]


def test_client_is_cached_per_installation_and_forgotten(app_key, gh_mock):
    app = make_app(app_key)
    first = app.client_for(5)
    assert app.client_for(5) is first
    assert app.client_for(6) is not first
    app.forget_installation(5)
    assert app.client_for(5) is not first


def test_bot_login_comes_from_get_app(app_key, gh_mock):
    gh_mock.get(
        f"{API}/app", json={"id": 7, "slug": "release-bot", "name": "Release Bot", "owner": {"login": "acme"}}
    )
    app = make_app(app_key)
    assert app.bot_login == "release-bot[bot]"
    assert app.bot_login == "release-bot[bot]"
    assert len([c for c in gh_mock.calls if c.request.url.endswith("/app")]) == 1


def test_get_retried_after_502(app_key, gh_mock):
    add_token(gh_mock, 5, ("ghs_t", None))
    gh_mock.get(f"{API}/repos/acme/rocket", json={"message": "Server Error"}, status=502)
    gh_mock.get(f"{API}/repos/acme/rocket", json=REPO_JSON)
    sleeps: list[float] = []
    gh = make_app(app_key, sleeps).client_for(5)
    with accounting.count_job_calls() as calls:
        assert gh.get_repo("acme/rocket").full_name == "acme/rocket"
    assert calls.calls == 3  # token, 502, 200
    assert calls.by_status[502] == 1


def test_repeated_5xx_backs_off_then_gives_up(app_key, gh_mock):
    add_token(gh_mock, 5, ("ghs_t", None))
    gh_mock.get(f"{API}/repos/acme/rocket", json={"message": "Server Error"}, status=503)
    sleeps: list[float] = []
    gh = make_app(app_key, sleeps).client_for(5)
    with pytest.raises(GithubException) as info:
        gh.get_repo("acme/rocket")
    assert info.value.status == 503
    gets = [c for c in gh_mock.calls if "/repos/" in c.request.url]
    assert len(gets) == 4  # one try and three retries
    assert sleeps == sorted(sleeps) and sleeps[-1] > 0  # exponential backoff
    assert max(sleeps) <= 4.0


def test_post_not_replayed_after_5xx(app_key, gh_mock):
    """A POST that got a 5xx may have been applied; the job retries after re-reading instead."""
    add_token(gh_mock, 5, ("ghs_t", None))
    gh_mock.post(f"{API}/repos/acme/rocket/issues/1/comments", json={"message": "Bad Gateway"}, status=502)
    gh = make_app(app_key, []).client_for(5)
    with pytest.raises(GithubException):
        gh.requester.requestJsonAndCheck("POST", "/repos/acme/rocket/issues/1/comments", input={"body": "x"})
    assert len([c for c in gh_mock.calls if c.request.method == "POST" and "comments" in c.request.url]) == 1


def test_short_retry_after_is_honoured(app_key, gh_mock):
    add_token(gh_mock, 5, ("ghs_t", None))
    gh_mock.get(
        f"{API}/repos/acme/rocket",
        json={"message": "You have exceeded a secondary rate limit."},
        status=403,
        headers={"Retry-After": "3"},
    )
    gh_mock.get(f"{API}/repos/acme/rocket", json=REPO_JSON)
    sleeps: list[float] = []
    gh = make_app(app_key, sleeps).client_for(5)
    assert gh.get_repo("acme/rocket").id == 42
    assert sleeps == [3.0]


def test_secondary_limit_retried_even_for_post(app_key, gh_mock):
    add_token(gh_mock, 5, ("ghs_t", None))
    url = f"{API}/repos/acme/rocket/issues/1/comments"
    gh_mock.post(
        url,
        json={"message": "You have exceeded a secondary rate limit."},
        status=403,
        headers={"Retry-After": "1"},
    )
    gh_mock.post(url, json={"id": 1, "body": "x"}, status=201)
    sleeps: list[float] = []
    gh = make_app(app_key, sleeps).client_for(5)
    _, data = gh.requester.requestJsonAndCheck(
        "POST", "/repos/acme/rocket/issues/1/comments", input={"body": "x"}
    )
    assert data["id"] == 1 and sleeps == [1.0]


def test_long_retry_after_requeues_instead_of_sleeping(app_key, gh_mock):
    add_token(gh_mock, 5, ("ghs_t", None))
    gh_mock.get(
        f"{API}/repos/acme/rocket",
        json={"message": "Service Unavailable"},
        status=503,
        headers={"Retry-After": "120"},
    )
    sleeps: list[float] = []
    gh = make_app(app_key, sleeps).client_for(5)
    before = time.time()
    with pytest.raises(RetryLater) as info:
        gh.get_repo("acme/rocket")
    assert sleeps == []
    assert before + 119 <= info.value.not_before <= time.time() + 121


def test_exhausted_primary_limit_requeues_at_reset(app_key, gh_mock):
    add_token(gh_mock, 5, ("ghs_t", None))
    reset = int(time.time()) + 1800
    gh_mock.get(
        f"{API}/repos/acme/rocket",
        json={"message": "API rate limit exceeded for installation ID 5."},
        status=403,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    sleeps: list[float] = []
    gh = make_app(app_key, sleeps).client_for(5)
    with accounting.count_job_calls() as calls, pytest.raises(RetryLater) as info:
        gh.get_repo("acme/rocket")
    assert info.value.not_before == reset + 1
    assert sleeps == []
    assert calls.calls == 2 and calls.rate_limit_remaining == 0


def test_permission_403_not_retried(app_key, gh_mock):
    add_token(gh_mock, 5, ("ghs_t", None))
    gh_mock.get(
        f"{API}/repos/acme/rocket",
        json={"message": "Resource not accessible by integration"},
        status=403,
        headers={"X-RateLimit-Remaining": "4000"},
    )
    gh = make_app(app_key, []).client_for(5)
    with pytest.raises(GithubException) as info:
        gh.get_repo("acme/rocket")
    assert len([c for c in gh_mock.calls if "/repos/" in c.request.url]) == 1
    mapped = map_github_exception(info.value)
    assert isinstance(mapped, PermanentError) and "not accessible by integration" in str(mapped)


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (404, {"message": "Not Found"}, {}, PermanentError),
        (410, {"message": "Issues are disabled for this repo"}, {}, PermanentError),
        (403, {"message": "This installation has been suspended"}, {}, PermanentError),
        (
            403,
            {
                "message": (
                    "You have exceeded a secondary rate limit."
                    " Please wait a few minutes before you try again."
                )
            },
            {},
            RetryLater,
        ),
        (429, {"message": "Too many requests"}, {"retry-after": "30"}, RetryLater),
        (500, {"message": "oops"}, {}, type(None)),
        (422, {"message": "Validation Failed"}, {}, type(None)),
    ],
)
def test_error_mapping(status, body, headers, expected):
    mapped = map_github_exception(GithubException(status, body, headers))
    assert isinstance(mapped, expected)


def test_secondary_limit_without_retry_after_waits_a_minute():
    mapped = map_github_exception(
        GithubException(403, {"message": "You have exceeded a secondary rate limit."}, {}),
        wall_clock=lambda: 1000.0,
    )
    assert isinstance(mapped, RetryLater) and mapped.not_before == 1060.0


def test_calls_counted_per_job_and_installation(app_key, gh_mock):
    add_token(gh_mock, 5, ("ghs_t", None))
    gh_mock.get(f"{API}/repos/acme/rocket", json=REPO_JSON, headers={"X-RateLimit-Remaining": "4321"})
    gh = make_app(app_key, []).client_for(5)
    before = accounting.installation_calls(5)
    with accounting.count_job_calls() as job_one:
        gh.get_repo("acme/rocket")
        gh.get_repo("acme/rocket")
    with accounting.count_job_calls() as job_two:
        gh.get_repo("acme/rocket")
    assert job_one.calls == 3  # token mint + 2 reads
    assert job_two.calls == 1  # token cached
    assert job_one.rate_limit_remaining == 4321
    assert accounting.installation_calls(5) - before == 3  # the mint is the App's (JWT) call
    assert accounting.current_job_count() is None


def test_pygithub_blanket_sleeps_are_off(app_key, gh_mock):
    """PyGithub would sleep 1 s per write; 20 writes must take far less."""
    add_token(gh_mock, 5, ("ghs_t", None))
    gh_mock.post(f"{API}/repos/acme/rocket/issues/1/comments", json={"id": 1}, status=201)
    gh = GitHubApp(7, app_key).client_for(5)  # default pacer: GitHub's limits allow this burst
    started = time.perf_counter()
    for _ in range(20):
        gh.requester.requestJsonAndCheck("POST", "/repos/acme/rocket/issues/1/comments", input={"body": "x"})
    assert time.perf_counter() - started < 2.0


def test_metrics_record_calls(app_key, gh_mock):
    from prometheus_client import REGISTRY

    def calls_2xx() -> float:
        labels = {"installation": "5", "status_class": "2xx"}
        return REGISTRY.get_sample_value("release_bot_github_api_calls_total", labels) or 0.0

    add_token(gh_mock, 5, ("ghs_t", None))
    gh_mock.get(f"{API}/repos/acme/rocket", json=REPO_JSON, headers={"X-RateLimit-Remaining": "4999"})
    gh = make_app(app_key, []).client_for(5)
    before = calls_2xx()
    gh.get_repo("acme/rocket")
    assert calls_2xx() - before == 1  # the token mint is the App's own call, counted under '-'
    assert REGISTRY.get_sample_value("release_bot_github_rate_limit_remaining", {"installation": "5"}) == 4999


def test_app_jwt_follows_githubs_clock_after_a_skew_401(app_key, gh_mock):
    import json as _json
    from email.utils import formatdate

    import jwt

    github_now = time.time() + 7200  # this host's clock is two hours behind GitHub's
    answers = [
        (
            401,
            {"Date": formatdate(github_now, usegmt=True)},
            {
                "message": "'Expiration time' claim ('exp') must be a numeric value representing the future"
                " time at which the assertion expires"
            },
        ),
        (201, {}, {"token": "ghs_ok", "expires_at": "2099-01-01T00:00:00Z"}),
    ]
    gh_mock.add_callback(
        "POST",
        f"{API}/app/installations/5/access_tokens",
        callback=lambda r: (lambda a: (a[0], a[1], _json.dumps(a[2])))(answers.pop(0)),
    )
    gh_mock.get(f"{API}/repos/acme/rocket", json=REPO_JSON)
    gh = make_app(app_key, []).client_for(5)
    gh.get_repo("acme/rocket")
    jwts = [
        c.request.headers["Authorization"].split()[1]
        for c in gh_mock.calls
        if "access_tokens" in c.request.url
    ]
    claims = [jwt.decode(t, options={"verify_signature": False}) for t in jwts]
    assert len(claims) == 2
    assert abs(claims[0]["iat"] + 60 - time.time()) < 5  # first JWT on our clock
    assert abs(claims[1]["iat"] + 60 - github_now) < 5  # second on GitHub's
    assert auth_headers(gh_mock) == ["token ghs_ok"]


def test_unrelated_401_is_not_taken_for_skew(app_key, gh_mock):
    gh_mock.post(
        f"{API}/app/installations/5/access_tokens",
        json={"message": "Bad credentials"},
        status=401,
        headers={"Date": "Mon, 01 Jan 2040 00:00:00 GMT"},
    )
    gh = make_app(app_key, []).client_for(5)
    with pytest.raises(GithubException) as info:
        gh.get_repo("acme/rocket")
    assert info.value.status == 401
    assert len([c for c in gh_mock.calls if "access_tokens" in c.request.url]) == 1


def test_uninstalled_installation_is_dropped_and_permanent(app_key, gh_mock):
    gh_mock.post(f"{API}/app/installations/5/access_tokens", json={"message": "Not Found"}, status=404)
    app = make_app(app_key, [])
    gh = app.client_for(5)
    with pytest.raises(GithubException) as info:
        gh.get_repo("acme/rocket")
    assert isinstance(map_github_exception(info.value), PermanentError)
    assert 5 not in app.cached_installations()
