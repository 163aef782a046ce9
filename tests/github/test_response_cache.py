"""The revalidating read cache at the adapter: conditional requests, 304s, writes, bounds.

GitHub is played by ``responses`` callbacks that answer ``If-None-Match`` as GitHub does, so each
test sees exactly which requests left the process and with which validators.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from github import Auth, Github

from bot.github import accounting
from bot.github.freshness import LocalTouchClock, StoreTouchClock, families_touched, window_for
from bot.github.requester import instrument
from bot.github.response_cache import ResponseCache, families_written, repo_and_family

API = "https://api.github.com"
MOCK = "https://api.github.com:443"  # PyGithub names the port; responses matches it literally


class FakeResource:
    """One GitHub resource with an ETag that changes with its body."""

    def __init__(self, body: Any, link: str | None = None) -> None:
        self.body = body
        self.link = link
        self.requests: list[dict[str, str]] = []

    @property
    def etag(self) -> str:
        return f'W/"{abs(hash(json.dumps(self.body, sort_keys=True)))}"'

    def __call__(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.requests.append(dict(request.headers))
        headers = {"ETag": self.etag, "Content-Type": "application/json", "X-RateLimit-Remaining": "4999"}
        if self.link:
            headers["Link"] = self.link
        if request.headers.get("If-None-Match") == self.etag:
            return 304, {"ETag": self.etag, "X-RateLimit-Remaining": "4999"}, ""
        return 200, headers, json.dumps(self.body)

    @property
    def conditional(self) -> list[bool]:
        return ["If-None-Match" in r for r in self.requests]


@pytest.fixture
def cache() -> ResponseCache:
    return ResponseCache(max_entries=100, max_bytes=1 << 20)


@pytest.fixture
def gh(cache: ResponseCache) -> Iterator[Github]:
    client = Github(
        auth=Auth.Token("t0k3n"), base_url=API, seconds_between_requests=0, seconds_between_writes=0
    )
    instrument(client.requester, 7, None, cache)
    yield client
    client.close()


def get(gh: Github, path: str) -> Any:
    return gh.requester.requestJsonAndCheck("GET", path)[1]


@responses.activate
def test_a_repeated_read_is_revalidated_and_a_304_returns_the_cached_body(
    gh: Github, cache: ResponseCache
) -> None:
    issue = FakeResource({"number": 5, "title": "Boosters", "labels": []})
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/issues/5", callback=issue)

    assert get(gh, "/repos/acme/rocket/issues/5")["title"] == "Boosters"
    assert get(gh, "/repos/acme/rocket/issues/5")["title"] == "Boosters"
    assert issue.conditional == [False, True]
    assert cache.stats.revalidated == 1

    issue.body = {"number": 5, "title": "Boosters", "labels": [{"name": "uat-passed"}]}  # changed on GitHub
    assert get(gh, "/repos/acme/rocket/issues/5")["labels"] == [{"name": "uat-passed"}]
    assert cache.stats.refetched == 1


@responses.activate
def test_a_304_is_counted_as_a_304_so_the_primary_limit_is_not_charged(gh: Github) -> None:
    issue = FakeResource({"number": 5})
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/issues/5", callback=issue)
    with accounting.count_job_calls() as first:
        get(gh, "/repos/acme/rocket/issues/5")
    with accounting.count_job_calls() as second:
        get(gh, "/repos/acme/rocket/issues/5")
    assert dict(first.by_status) == {200: 1}
    assert dict(second.by_status) == {304: 1}


@responses.activate
def test_within_one_job_a_read_is_made_once(gh: Github, cache: ResponseCache) -> None:
    pull = FakeResource({"number": 5, "head": {"sha": "abc"}})
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/pulls/5", callback=pull)
    with accounting.count_job_calls() as job:
        for _ in range(3):
            assert get(gh, "/repos/acme/rocket/pulls/5")["head"]["sha"] == "abc"
    assert job.calls == 1 and len(pull.requests) == 1
    assert cache.stats.reused_in_job == 2
    with accounting.count_job_calls():  # the next job revalidates
        get(gh, "/repos/acme/rocket/pulls/5")
    assert pull.conditional == [False, True]


@responses.activate
def test_a_write_ends_the_reuse_of_what_it_changes_even_within_the_job(
    gh: Github, cache: ResponseCache
) -> None:
    labels = FakeResource([])
    releases = FakeResource([{"id": 1, "draft": True}])
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/issues/5/labels", callback=labels)
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/releases", callback=releases)

    def add_label(request: Any) -> tuple[int, dict[str, str], str]:
        labels.body = [{"name": "released"}]
        return 200, {"Content-Type": "application/json"}, json.dumps(labels.body)

    responses.add_callback(responses.POST, f"{MOCK}/repos/acme/rocket/issues/5/labels", callback=add_label)
    with accounting.count_job_calls():
        assert get(gh, "/repos/acme/rocket/issues/5/labels") == []
        get(gh, "/repos/acme/rocket/releases")
        gh.requester.requestJsonAndCheck(
            "POST", "/repos/acme/rocket/issues/5/labels", input={"labels": ["released"]}
        )
        assert get(gh, "/repos/acme/rocket/issues/5/labels") == [{"name": "released"}]  # never the stale []
        get(gh, "/repos/acme/rocket/releases")  # another family: still the job's answer
    assert labels.conditional == [False, True]  # asked again (its ETag kept), GitHub sent the change
    assert len(releases.requests) == 1
    assert cache.stats.writes == 1


@responses.activate
def test_a_full_page_without_a_next_link_is_fetched_unconditionally(gh: Github) -> None:
    """A new item on page 2 does not change page 1's ETag; the missing next link would hide it."""
    page = FakeResource([{"id": i} for i in range(100)])
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/issues/1/comments", callback=page)
    get(gh, "/repos/acme/rocket/issues/1/comments?per_page=100")
    get(gh, "/repos/acme/rocket/issues/1/comments?per_page=100")
    assert page.conditional == [False, False]


@responses.activate
def test_a_404_drops_the_cached_answer(gh: Github, cache: ResponseCache) -> None:
    comment = FakeResource({"id": 9, "body": "hi"})
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/issues/comments/9", callback=comment)
    get(gh, "/repos/acme/rocket/issues/comments/9")
    assert len(cache) == 1
    responses.replace(
        responses.GET,
        f"{MOCK}/repos/acme/rocket/issues/comments/9",
        status=404,
        json={"message": "Not Found"},
    )
    with pytest.raises(Exception, match="404"):
        get(gh, "/repos/acme/rocket/issues/comments/9")
    assert len(cache) == 0


@responses.activate
def test_entries_are_scoped_by_installation_not_shared(cache: ResponseCache) -> None:
    repo = FakeResource({"full_name": "acme/rocket", "default_branch": "main"})
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket", callback=repo)
    clients = []
    for installation in (1, 2):
        client = Github(
            auth=Auth.Token(f"t{installation}"),
            base_url=API,
            seconds_between_requests=0,
            seconds_between_writes=0,
        )
        instrument(client.requester, installation, None, cache)
        clients.append(client)
    for client in clients:
        get(client, "/repos/acme/rocket")
    assert repo.conditional == [False, False]  # installation 2 never sees installation 1's answer
    for client in clients:
        client.close()


def test_the_cache_is_bounded_in_entries_and_in_bytes() -> None:
    by_entries = ResponseCache(max_entries=10, max_bytes=1 << 20)
    for i in range(50):
        by_entries.store((1, f"/repos/a/b/issues/{i}", ""), {"etag": f'"{i}"'}, "{}")
    assert len(by_entries) == 10
    by_bytes = ResponseCache(max_entries=1000, max_bytes=100_000)
    for i in range(50):
        by_bytes.store((1, f"/repos/a/b/issues/{i}", ""), {"etag": f'"{i}"'}, "x" * 10_000)
    assert by_bytes.bytes_used <= 100_000 and len(by_bytes) <= 10
    assert by_bytes.get((1, "/repos/a/b/issues/49", "")) is not None  # the most recent stays


def test_an_answer_without_validators_is_not_kept() -> None:
    cache = ResponseCache()
    cache.store((1, "/repos/a/b", ""), {"content-type": "application/json"}, "{}")
    assert len(cache) == 0


@pytest.mark.parametrize(
    ("url", "repo", "family"),
    [
        ("/api/v3/repos/Acme/Rocket", "acme/rocket", "repo"),
        ("/api/v3/repos/acme/rocket/issues/5/comments?per_page=100", "acme/rocket", "issues"),
        ("/api/v3/repos/acme/rocket/pulls/5", "acme/rocket", "issues"),
        ("/api/v3/repos/acme/rocket/milestones?state=open", "acme/rocket", "issues"),
        ("/api/v3/repos/acme/rocket/commits/abc/check-runs", "acme/rocket", "checks"),
        ("/api/v3/repos/acme/rocket/commits/abc/status", "acme/rocket", "checks"),
        ("/api/v3/repos/acme/rocket/git/matching-refs/tags/v1", "acme/rocket", "git"),
        ("/api/v3/repos/acme/rocket/compare/a...b", "acme/rocket", "git"),
        ("/api/v3/app/installations", None, "app"),
    ],
)
def test_families(url: str, repo: str | None, family: str) -> None:
    assert repo_and_family(url) == (repo, family)


def test_what_a_write_makes_stale() -> None:
    assert families_written("/repos/a/b/pulls/5/merge", "PUT") == {"issues", "git", "checks"}
    assert families_written("/repos/a/b/releases/3", "PATCH") == {"releases", "git"}
    assert families_written("/repos/a/b/issues/5/labels", "POST") == {"issues"}
    assert families_written("/repos/a/b", "PATCH") == {"*"}


# --------------------------------------------------------------------------- freshness windows


@pytest.fixture
def touches() -> LocalTouchClock:
    return LocalTouchClock()


@pytest.fixture
def fresh_gh(touches: LocalTouchClock) -> Iterator[tuple[Github, ResponseCache]]:
    cache = ResponseCache(max_entries=100, max_bytes=1 << 20, touches=touches)
    client = Github(
        auth=Auth.Token("t0k3n"), base_url=API, seconds_between_requests=0, seconds_between_writes=0
    )
    instrument(client.requester, 7, None, cache)
    yield client, cache
    client.close()


@responses.activate
def test_tags_are_not_asked_again_inside_their_window_until_an_event_touches_them(
    fresh_gh: tuple[Github, ResponseCache], touches: LocalTouchClock
) -> None:
    gh, cache = fresh_gh
    tags = FakeResource([{"ref": "refs/tags/v1.4.0-rc.1"}])
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/git/matching-refs/tags", callback=tags)
    get(gh, "/repos/acme/rocket/git/matching-refs/tags")
    get(gh, "/repos/acme/rocket/git/matching-refs/tags")
    assert len(tags.requests) == 1 and cache.stats.reused_fresh == 1

    tags.body = [{"ref": "refs/tags/v1.4.0-rc.1"}, {"ref": "refs/tags/v1.4.0"}]
    # a `release` webhook changes nothing here; a ref's `create` does
    touches.touch("Acme/Rocket", families_touched("release", "published"))
    get(gh, "/repos/acme/rocket/git/matching-refs/tags")
    assert len(tags.requests) == 1
    touches.touch("Acme/Rocket", families_touched("create", None, {"ref_type": "tag"}))
    assert len(get(gh, "/repos/acme/rocket/git/matching-refs/tags")) == 2
    assert tags.conditional == [False, True]


@responses.activate
def test_an_answer_asked_just_after_its_event_was_recorded_serves_the_next_job(
    fresh_gh: tuple[Github, ResponseCache], touches: LocalTouchClock
) -> None:
    """The job an event woke reads within milliseconds of the event's touch; its answer is dated by
    the clock it saw before asking, so the next job (an echo, the delivery's other key) is served it."""
    gh, cache = fresh_gh
    tags = FakeResource([{"ref": "refs/tags/v1.4.0-rc.1"}])
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/git/matching-refs/tags", callback=tags)
    touches.touch("acme/rocket", {"tags"})  # the event's job records its touch, then reads at once
    get(gh, "/repos/acme/rocket/git/matching-refs/tags")
    touches.touch("acme/rocket", {"tags"}, at=touches.last_touch("acme/rocket", "tags"))  # its other job
    get(gh, "/repos/acme/rocket/git/matching-refs/tags")
    assert len(tags.requests) == 1 and cache.stats.reused_fresh == 1


@responses.activate
def test_an_event_recorded_after_the_read_ends_the_window_even_if_it_arrived_before(
    fresh_gh: tuple[Github, ResponseCache], touches: LocalTouchClock
) -> None:
    gh, _cache = fresh_gh
    tags = FakeResource([])
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/git/matching-refs/tags", callback=tags)
    touches.touch("acme/rocket", {"tags"}, at=time.time())
    get(gh, "/repos/acme/rocket/git/matching-refs/tags")
    tags.body = [{"ref": "refs/tags/v1.4.0"}]
    # A delivery that arrived a second before the read, whose job records its touch only now.
    touches.touch("acme/rocket", {"tags"}, at=time.time() - 1.0)
    assert get(gh, "/repos/acme/rocket/git/matching-refs/tags") == [{"ref": "refs/tags/v1.4.0"}]
    assert tags.conditional == [False, True]


@responses.activate
def test_a_write_of_another_process_after_the_read_ends_the_window_however_close(
    touches: LocalTouchClock,
) -> None:
    other = ResponseCache(touches=touches)  # another worker process sharing the clock
    cache = ResponseCache(touches=touches)
    gh = Github(auth=Auth.Token("t"), base_url=API, seconds_between_requests=0, seconds_between_writes=0)
    instrument(gh.requester, 7, None, cache)
    releases = FakeResource([])
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/releases", callback=releases)
    get(gh, "/repos/acme/rocket/releases")
    get(gh, "/repos/acme/rocket/releases")
    assert len(releases.requests) == 1
    other.written(7, f"{API}/repos/acme/rocket/releases", "POST")  # no answer to write through
    releases.body = [{"id": 1}]
    assert get(gh, "/repos/acme/rocket/releases") == [{"id": 1}]
    gh.close()


@responses.activate
def test_a_window_ends_by_itself_so_a_lost_webhook_is_healed(touches: LocalTouchClock) -> None:
    now = [1000.0]
    cache = ResponseCache(touches=touches, clock=lambda: now[0])
    gh = Github(auth=Auth.Token("t"), base_url=API, seconds_between_requests=0, seconds_between_writes=0)
    instrument(gh.requester, 7, None, cache)
    releases = FakeResource([])
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/releases", callback=releases)
    get(gh, "/repos/acme/rocket/releases")
    now[0] += window_for("/repos/acme/rocket/releases").ttl - 1  # type: ignore[union-attr]
    get(gh, "/repos/acme/rocket/releases")
    assert len(releases.requests) == 1
    now[0] += 2  # past the window, no event heard: GitHub is asked again
    releases.body = [{"id": 1}]
    assert get(gh, "/repos/acme/rocket/releases") == [{"id": 1}]
    assert releases.conditional == [False, True]
    gh.close()


@responses.activate
def test_reads_outside_any_window_are_always_revalidated(fresh_gh: tuple[Github, ResponseCache]) -> None:
    gh, cache = fresh_gh
    issue = FakeResource({"number": 5})
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/issues/5", callback=issue)
    get(gh, "/repos/acme/rocket/issues/5")
    get(gh, "/repos/acme/rocket/issues/5")
    assert issue.conditional == [False, True] and cache.stats.reused_fresh == 0


@responses.activate
def test_a_write_ends_the_window_in_every_process_sharing_the_clock(touches: LocalTouchClock) -> None:
    """Two workers (two caches) on one touch clock: one publishes a release, the other's window closes."""
    caches = [ResponseCache(touches=touches) for _ in range(2)]
    clients = []
    for cache in caches:
        client = Github(
            auth=Auth.Token("t"), base_url=API, seconds_between_requests=0, seconds_between_writes=0
        )
        instrument(client.requester, 7, None, cache)
        clients.append(client)
    releases = FakeResource([{"id": 1, "draft": True}])
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/releases", callback=releases)

    def publish(request: Any) -> tuple[int, dict[str, str], str]:
        releases.body = [{"id": 1, "draft": False}]
        return 200, {"Content-Type": "application/json"}, json.dumps(releases.body[0])

    responses.add_callback(responses.PATCH, f"{MOCK}/repos/acme/rocket/releases/1", callback=publish)
    first, second = clients
    get(second, "/repos/acme/rocket/releases")
    first.requester.requestJsonAndCheck("PATCH", "/repos/acme/rocket/releases/1", input={"draft": False})
    assert get(second, "/repos/acme/rocket/releases") == [{"id": 1, "draft": False}]
    for client in clients:
        client.close()


def test_the_store_clock_is_shared_through_the_store() -> None:
    from memory_store import MemoryStore

    store = MemoryStore()
    writer, reader = StoreTouchClock(store, clock=lambda: 50.0), StoreTouchClock(store)
    assert reader.last_touch("acme/rocket", "tags") is None
    writer.touch("Acme/Rocket", {"tags"})
    writer.touch("acme/rocket", {"tags"}, at=50.0)  # the same delivery recorded by another job
    assert reader.last_touch("acme/rocket", "tags") == 50.0
    # An older touch recorded later never moves the clock back, but it moves it: an answer that saw
    # 50.0 may not show that event.
    writer.touch("acme/rocket", {"tags"}, at=10.0)
    assert 50.0 < reader.last_touch("acme/rocket", "tags") < 50.01  # type: ignore[operator]


@pytest.mark.parametrize(
    ("url", "family"),
    [
        ("/api/v3/repos/acme/rocket", ("repo",)),
        ("/api/v3/repos/acme/rocket/git/matching-refs/tags?per_page=100", ("tags",)),
        ("/api/v3/repos/acme/rocket/git/matching-refs/heads/release/", ("heads",)),
        ("/api/v3/repos/acme/rocket/compare/release/1.4...main", ("heads", "tags")),
        ("/api/v3/repos/acme/rocket/releases", ("releases",)),
        ("/api/v3/repos/acme/rocket/milestones?state=open", ("milestones",)),
        ("/api/v3/repos/acme/rocket/issues/5", None),
        ("/api/v3/repos/acme/rocket/issues?milestone=1", ("items",)),
        ("/api/v3/repos/acme/rocket/issues?creator=bot&labels=release", None),
        ("/api/v3/repos/acme/rocket/commits/abc/check-runs", None),  # any app's: no window
        ("/api/v3/repos/acme/rocket/commits/abc/check-runs?check_name=gate&app_id=1", ("checks",)),
        ("/api/v3/repos/acme/rocket/check-runs/77", ("checks",)),
    ],
)
def test_which_reads_have_a_window(url: str, family: tuple[str, ...] | None) -> None:
    window = window_for(url)
    assert (window.families if window else None) == family


def test_which_events_touch_what() -> None:
    # A ref's create or delete ends both windows: deliveries are not ordered, and the branch cut
    # before a tag must be seen with the tag (a release would otherwise pass Build & Test over).
    assert families_touched("create", None, {"ref_type": "tag"}) == {"tags", "heads"}
    assert families_touched("delete", None, {"ref_type": "branch"}) == {"tags", "heads"}
    assert families_touched("push", None, {"ref": "refs/heads/feature"}) == {"heads", "tags"}
    assert families_touched("release", "published") == {"releases"}
    assert families_touched("milestone", "edited") == {"milestones", "items"}  # items embed it
    assert families_touched("pull_request", "closed") == {"heads", "items"}
    assert families_touched("pull_request", "labeled") == {"items"}
    assert families_touched("issues", "edited") == {"items"}
    assert families_touched("check_run", "rerequested") == {"checks"}
    assert families_touched("issue_comment", "created") == {"comments"}  # no item fact moves


def _tags_and_heads() -> tuple[FakeResource, FakeResource]:
    """The tags and the release branches' heads of acme/rocket, served by ``responses``."""
    tags = FakeResource([{"ref": "refs/tags/v1.3.0"}])
    heads = FakeResource([{"ref": "refs/heads/release/1.3"}])
    responses.add_callback(responses.GET, f"{MOCK}/repos/acme/rocket/git/matching-refs/tags", callback=tags)
    responses.add_callback(
        responses.GET, f"{MOCK}/repos/acme/rocket/git/matching-refs/heads/release/", callback=heads
    )
    return tags, heads


@responses.activate
def test_a_job_never_combines_fresh_tags_with_branch_heads_older_than_them(
    fresh_gh: tuple[Github, ResponseCache], touches: LocalTouchClock
) -> None:
    """The race of tests/e2e/test_redis_real_2000.py: one job read the tags, then the heads; a touch
    (timed at its delivery's arrival, less the clock-skew margin) fell between the two answers, so
    the next job had to ask for the tags again but could still serve the heads from their window.
    The branch and its candidate tag were made in between: that job saw the tag without the branch,
    a state GitHub never showed, and the release passed Build & Test over for good. A ref answer
    is served from its window only when it is no older than the ref answers the job already used."""
    gh, cache = fresh_gh
    tags, heads = _tags_and_heads()
    with accounting.count_job_calls():
        get(gh, "/repos/acme/rocket/git/matching-refs/tags")
        get(gh, "/repos/acme/rocket/git/matching-refs/heads/release/")
    # The boundary falls between the two answers: the tags' window ends, the heads' does not (the
    # margin, or the tags' answer reaching its end of window first).
    touches.touch("acme/rocket", ["tags"])
    heads.body = [*heads.body, {"ref": "refs/heads/release/1.4"}]  # the branch is cut,
    tags.body = [*tags.body, {"ref": "refs/tags/v1.4.0-rc.1"}]  # then its candidate tagged
    with accounting.count_job_calls():
        seen_tags = get(gh, "/repos/acme/rocket/git/matching-refs/tags")
        seen_heads = get(gh, "/repos/acme/rocket/git/matching-refs/heads/release/")
    assert {"ref": "refs/tags/v1.4.0-rc.1"} in seen_tags
    assert {"ref": "refs/heads/release/1.4"} in seen_heads  # asked again, with the tags' answer
    assert heads.conditional == [False, True]


@responses.activate
def test_ref_answers_no_older_than_each_other_are_still_served_from_their_windows(
    fresh_gh: tuple[Github, ResponseCache],
) -> None:
    """The usual case costs nothing: the tags then the heads, read by one job, serve the next."""
    gh, cache = fresh_gh
    tags, heads = _tags_and_heads()
    for _ in range(3):
        with accounting.count_job_calls():
            get(gh, "/repos/acme/rocket/git/matching-refs/tags")
            get(gh, "/repos/acme/rocket/git/matching-refs/heads/release/")
    assert len(tags.requests) == 1 and len(heads.requests) == 1
    assert cache.stats.reused_fresh == 4
