"""Write-through at the adapter: GitHub's answer to the bot's write updates the cached reads it
changes (bot.github.write_through), so the bot never reads its own write back — and nothing else
it could not replay is served without asking.

GitHub is played by ``responses`` callbacks (``FakeResource`` answers ``If-None-Match`` as GitHub
does), so each test sees exactly which requests left the process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import responses
from fake_clock import Clock
from github import Auth, Github
from memory_store import MemoryStore
from test_response_cache import API, MOCK, FakeResource, get

from bot.github import accounting
from bot.github.freshness import (
    ECHO_TOUCHED_HINT,
    LocalTouchClock,
    StoreTouchClock,
    echo_touched_hint,
    families_written,
)
from bot.github.requester import instrument
from bot.github.response_cache import ResponseCache
from bot.github.write_through import UNAFFECTED, Rewritten, Write, rewrite

REPO = "/repos/acme/rocket"
ITEMS = f"{REPO}/issues?milestone=3&state=all&per_page=100"
ITEMS_URL = f"{MOCK}{REPO}/issues"
SHA = "a" * 40
GATE_RUNS = f"{REPO}/commits/{SHA}/check-runs?check_name=release-gate&app_id=9&filter=all&per_page=100"


def issue(number: int, milestone: int | None = 3, labels: tuple[str, ...] = (), state: str = "open") -> dict:
    return {
        "id": 1000 + number,
        "number": number,
        "state": state,
        "title": f"#{number}",
        "body": "",
        "labels": [{"name": name} for name in labels],
        "milestone": {"number": milestone, "title": "v1.4.0"} if milestone is not None else None,
    }


def run(run_id: int, name: str = "release-gate", conclusion: str = "failure") -> dict:
    return {"id": run_id, "name": name, "head_sha": SHA, "app": {"id": 9}, "conclusion": conclusion}


@pytest.fixture
def clock() -> Clock:
    return Clock(1000.0)


@pytest.fixture
def touches() -> LocalTouchClock:
    return LocalTouchClock()


def client(cache: ResponseCache) -> Github:
    gh = Github(auth=Auth.Token("t"), base_url=API, seconds_between_requests=0, seconds_between_writes=0)
    instrument(gh.requester, 7, None, cache)
    return gh


@pytest.fixture
def cache(touches: LocalTouchClock, clock: Clock) -> ResponseCache:
    return ResponseCache(max_entries=100, max_bytes=1 << 20, touches=touches, clock=clock)


@pytest.fixture
def gh(cache: ResponseCache) -> Iterator[Github]:
    client_ = client(cache)
    yield client_
    client_.close()


def write(gh: Github, verb: str, path: str, body: Any = None) -> Any:
    return gh.requester.requestJsonAndCheck(verb, path, input=body)[1]


class FakeIssues:
    """A milestone's items on GitHub, with the writes the bot makes to them."""

    def __init__(self, *items: dict) -> None:
        self.items = {i["number"]: i for i in items}
        self.listing = FakeResource(self._list())
        responses.add_callback(responses.GET, ITEMS_URL, callback=self._get_list)
        for number in self.items:
            responses.add_callback(responses.PATCH, f"{MOCK}{REPO}/issues/{number}", callback=self._patch)
            responses.add_callback(
                responses.POST, f"{MOCK}{REPO}/issues/{number}/labels", callback=self._label
            )

    def _list(self) -> list[dict]:
        return sorted(
            (i for i in self.items.values() if (i["milestone"] or {}).get("number") == 3),
            key=lambda i: -i["number"],
        )

    def _get_list(self, request: Any) -> tuple[int, dict[str, str], str]:
        self.listing.body = self._list()
        return self.listing(request)

    def _patch(self, request: Any) -> tuple[int, dict[str, str], str]:
        number = int(request.url.rsplit("/", 1)[1])
        change = json.loads(request.body)
        item = self.items[number]
        if "milestone" in change:
            item["milestone"] = {"number": change["milestone"], "title": "x"} if change["milestone"] else None
        item.update({k: v for k, v in change.items() if k != "milestone"})
        return 200, {"Content-Type": "application/json"}, json.dumps(item)

    def _label(self, request: Any) -> tuple[int, dict[str, str], str]:
        number = int(request.url.split("/issues/")[1].split("/")[0])
        item = self.items[number]
        item["labels"] = [*item["labels"], *({"name": n} for n in json.loads(request.body)["labels"])]
        return 200, {"Content-Type": "application/json"}, json.dumps(item["labels"])

    def person_edits(self, number: int, **change: Any) -> None:
        self.items[number].update(change)


# --------------------------------------------------------------------------- issues


@responses.activate
def test_the_bots_edit_of_an_item_is_written_through_to_the_milestones_items(gh: Github) -> None:
    github = FakeIssues(issue(1), issue(2))
    assert [i["number"] for i in get(gh, ITEMS)] == [2, 1]
    write(gh, "PATCH", f"{REPO}/issues/1", {"body": "checklist v2"})
    with accounting.count_job_calls() as job:
        items = get(gh, ITEMS)  # the next job: inside the window, the bot's own edit included
    assert job.calls == 0 and len(github.listing.requests) == 1
    assert [i["body"] for i in items] == ["", "checklist v2"]


@responses.activate
def test_labels_the_bot_adds_are_written_through(gh: Github) -> None:
    github = FakeIssues(issue(1), issue(2))
    get(gh, ITEMS)
    write(gh, "POST", f"{REPO}/issues/2/labels", {"labels": ["uat-passed"]})
    items = get(gh, ITEMS)
    assert items[0]["labels"] == [{"name": "uat-passed"}] and len(github.listing.requests) == 1


@responses.activate
def test_the_single_issue_is_served_from_the_write_within_the_job(gh: Github) -> None:
    FakeIssues(issue(5))
    single = FakeResource(issue(5))
    responses.add_callback(responses.GET, f"{MOCK}{REPO}/issues/5", callback=single)
    with accounting.count_job_calls() as job:
        get(gh, f"{REPO}/issues/5")
        write(gh, "PATCH", f"{REPO}/issues/5", {"title": "Boosters"})
        assert get(gh, f"{REPO}/issues/5")["title"] == "Boosters"
    assert len(single.requests) == 1 and job.calls == 2


@responses.activate
def test_an_item_moved_to_another_milestone_is_asked_for_again(gh: Github) -> None:
    github = FakeIssues(issue(1), issue(2))
    get(gh, ITEMS)
    write(gh, "PATCH", f"{REPO}/issues/2", {"milestone": 4})  # it leaves this milestone's items
    assert [i["number"] for i in get(gh, ITEMS)] == [1]
    assert github.listing.conditional == [False, True]  # asked again, with the old validator


@responses.activate
def test_an_edit_a_person_made_is_seen_after_the_window_even_without_its_webhook(
    gh: Github, clock: Clock
) -> None:
    github = FakeIssues(issue(1), issue(2))
    get(gh, ITEMS)
    write(gh, "PATCH", f"{REPO}/issues/1", {"body": "checklist"})
    github.person_edits(2, title="renamed by a person")  # its webhook is lost
    clock.now += 59
    assert get(gh, ITEMS)[0]["title"] == "#2"  # inside the window: not asked
    clock.now += 2
    assert get(gh, ITEMS)[0]["title"] == "renamed by a person"
    # The written-through answer has no validator of GitHub's for its body: fetched unconditionally.
    assert github.listing.conditional == [False, False]


@responses.activate
def test_a_persons_event_ends_the_window_even_when_recorded_after_the_bots_write(
    gh: Github, touches: LocalTouchClock, clock: Clock
) -> None:
    """An event's touch is timed when its delivery arrived, which may be before a later write of the
    bot's; the write clock is separate, so the write cannot hide the event."""
    import time

    github = FakeIssues(issue(1), issue(2))
    get(gh, ITEMS)
    arrived = time.time()
    github.person_edits(2, title="renamed")
    write(gh, "PATCH", f"{REPO}/issues/1", {"body": "checklist"})
    touches.touch("acme/rocket", ["items"], at=arrived)  # its job starts only now
    assert get(gh, ITEMS)[0]["title"] == "renamed"
    assert len(github.listing.requests) == 2


@responses.activate
def test_a_failed_write_writes_nothing_through(gh: Github) -> None:
    github = FakeIssues(issue(1))
    get(gh, ITEMS)
    responses.replace(responses.PATCH, f"{MOCK}{REPO}/issues/1", status=502, body="bad gateway")
    with pytest.raises(Exception, match="502"):
        write(gh, "PATCH", f"{REPO}/issues/1", {"body": "lost?"})
    get(gh, ITEMS)
    assert github.listing.conditional == [False, True]  # it may have landed: asked again


# --------------------------------------------------------------------------- check runs


@responses.activate
def test_the_gates_check_run_is_written_through_to_its_listing_and_by_id(gh: Github) -> None:
    listing = FakeResource({"total_count": 0, "check_runs": []})
    responses.add_callback(responses.GET, f"{MOCK}{REPO}/commits/{SHA}/check-runs", callback=listing)
    by_id = FakeResource(run(77))
    responses.add_callback(responses.GET, f"{MOCK}{REPO}/check-runs/77", callback=by_id)

    def created(request: Any) -> tuple[int, dict[str, str], str]:
        return 201, {"Content-Type": "application/json"}, json.dumps(run(77))

    def patched(request: Any) -> tuple[int, dict[str, str], str]:
        return 200, {"Content-Type": "application/json"}, json.dumps(run(77, conclusion="success"))

    responses.add_callback(responses.POST, f"{MOCK}{REPO}/check-runs", callback=created)
    responses.add_callback(responses.PATCH, f"{MOCK}{REPO}/check-runs/77", callback=patched)

    assert get(gh, GATE_RUNS)["check_runs"] == []
    write(gh, "POST", f"{REPO}/check-runs", {"name": "release-gate", "head_sha": SHA})
    assert [r["id"] for r in get(gh, GATE_RUNS)["check_runs"]] == [77]
    assert get(gh, f"{REPO}/check-runs/77")["conclusion"] == "failure"
    write(gh, "PATCH", f"{REPO}/check-runs/77", {"conclusion": "success"})
    assert get(gh, GATE_RUNS)["check_runs"][0]["conclusion"] == "success"
    assert get(gh, f"{REPO}/check-runs/77")["conclusion"] == "success"
    assert len(listing.requests) == 1 and by_id.requests == []


@responses.activate
def test_a_check_run_of_another_name_leaves_the_listing_current(gh: Github) -> None:
    listing = FakeResource({"total_count": 1, "check_runs": [run(77)]})
    responses.add_callback(responses.GET, f"{MOCK}{REPO}/commits/{SHA}/check-runs", callback=listing)
    responses.add_callback(
        responses.PATCH,
        f"{MOCK}{REPO}/check-runs/80",
        callback=lambda r: (200, {}, json.dumps(run(80, name="release-record"))),
    )
    get(gh, GATE_RUNS)
    write(gh, "PATCH", f"{REPO}/check-runs/80", {"conclusion": "neutral"})  # the release record
    get(gh, GATE_RUNS)
    assert len(listing.requests) == 1  # provably unaffected: still inside its window


# --------------------------------------------------------------------------- releases


@responses.activate
def test_the_bots_edit_of_its_draft_is_written_through_to_the_releases(gh: Github) -> None:
    draft = {"id": 5, "draft": True, "body": "notes v1", "tag_name": "v1.4.0"}
    listing = FakeResource([draft, {"id": 4, "draft": False}])
    single = FakeResource(draft)
    responses.add_callback(responses.GET, f"{MOCK}{REPO}/releases", callback=listing)
    responses.add_callback(responses.GET, f"{MOCK}{REPO}/releases/5", callback=single)
    responses.add_callback(
        responses.PATCH,
        f"{MOCK}{REPO}/releases/5",
        callback=lambda r: (200, {}, json.dumps({**draft, **json.loads(r.body)})),
    )
    get(gh, f"{REPO}/releases?per_page=100")
    write(gh, "PATCH", f"{REPO}/releases/5", {"body": "notes v2"})
    assert get(gh, f"{REPO}/releases?per_page=100")[0]["body"] == "notes v2"
    assert get(gh, f"{REPO}/releases/5")["body"] == "notes v2"
    assert len(listing.requests) == 1 and single.requests == []


# --------------------------------------------------------------------------- processes


@responses.activate
def test_a_write_in_one_process_ends_the_window_in_another_while_the_writer_keeps_its_answer() -> None:
    """Two worker processes on one store: B's cached items were not written through by A's write,
    so B asks again; A answers from its written-through copy."""
    store = MemoryStore()
    a_cache = ResponseCache(touches=StoreTouchClock(store))
    b_cache = ResponseCache(touches=StoreTouchClock(store))
    a, b = client(a_cache), client(b_cache)
    github = FakeIssues(issue(1), issue(2))
    get(a, ITEMS)
    get(b, ITEMS)
    write(a, "PATCH", f"{REPO}/issues/1", {"body": "checklist v2"})
    assert get(a, ITEMS)[1]["body"] == "checklist v2"
    assert len(github.listing.requests) == 2  # A did not ask
    assert get(b, ITEMS)[1]["body"] == "checklist v2"
    assert len(github.listing.requests) == 3  # B did
    a.close()
    b.close()


# --------------------------------------------------------------------------- bounds


@responses.activate
def test_write_through_keeps_the_cache_inside_its_bounds(touches: LocalTouchClock) -> None:
    cache = ResponseCache(max_entries=100, max_bytes=4000, touches=touches)
    gh = client(cache)
    github = FakeIssues(issue(1))
    get(gh, ITEMS)
    huge = "x" * 2000  # more than a quarter of the cache: never kept
    write(gh, "PATCH", f"{REPO}/issues/1", {"body": huge})
    assert cache.bytes_used <= 4000
    assert get(gh, ITEMS)[0]["body"] == huge
    assert len(github.listing.requests) == 2
    many = ResponseCache(max_entries=3, max_bytes=1 << 20, touches=touches)
    gh2 = client(many)
    for number in range(10):  # each write creates the GET of the release it wrote
        responses.add_callback(
            responses.PATCH,
            f"{MOCK}{REPO}/releases/{number}",
            callback=lambda r: (200, {}, json.dumps({"id": int(r.url.rsplit("/", 1)[1])})),
        )
        write(gh2, "PATCH", f"{REPO}/releases/{number}", {"body": "n"})
    assert len(many) <= 3
    gh.close()
    gh2.close()


# --------------------------------------------------------------------------- pure rules


def test_rewrite_replays_only_what_it_can_prove() -> None:
    patched = Write("PATCH", "/issues/2", {"body": "b"}, issue(2))
    listed = [issue(2), issue(1)]
    assert isinstance(
        rewrite(patched, "/issues", {"milestone": "3", "state": "all"}, listed, True), Rewritten
    )
    # An item edited without its milestone or state cannot join another milestone's items.
    assert rewrite(patched, "/issues", {"milestone": "4", "state": "all"}, [issue(9)], False) is UNAFFECTED
    # A filter it does not evaluate is never rewritten.
    assert rewrite(patched, "/issues", {"milestone": "3", "labels": "bug"}, listed, True) is None
    closed = Write("PATCH", "/issues/2", {"state": "closed"}, issue(2, state="closed"))
    assert rewrite(closed, "/issues", {"milestone": "3", "state": "open"}, listed, True) is None
    created = Write("POST", "/issues", {"title": "t"}, issue(7))
    # A new issue joins first (GitHub lists them newest first) a whole list with room for it...
    joined = rewrite(created, "/issues", {"milestone": "3", "state": "all", "per_page": "100"}, listed, True)
    assert isinstance(joined, Rewritten) and [i["number"] for i in joined.body] == [7, 2, 1]
    # ...but not a list with a next page, nor a full page (where it pushes the last one, unknown).
    assert rewrite(created, "/issues", {"milestone": "3", "state": "all"}, listed, False) is None
    full = {"milestone": "3", "state": "all", "per_page": "2"}
    assert rewrite(created, "/issues", full, listed, True) is None
    assert rewrite(created, "/issues", {"milestone": "4", "state": "all"}, listed, False) is UNAFFECTED


def test_families_every_bot_write_to_an_item_touches() -> None:
    assert families_written(f"{REPO}/issues/1") == {"items"}
    assert families_written(f"{REPO}/issues") == {"items"}
    assert families_written(f"{REPO}/issues/1/labels/uat-passed") == {"items"}
    assert families_written(f"{REPO}/pulls/4/merge") == {"heads", "items"}
    assert families_written(f"{REPO}/milestones/3") == {"milestones", "items"}
    assert families_written(f"{REPO}/check-runs/77") == {"checks"}
    assert families_written(f"{REPO}/releases/5") == {"releases"}
    # No item fact moves with a comment or a reaction; the comments' own window ends.
    assert families_written(f"{REPO}/issues/1/comments") == {"comments"}
    assert families_written(f"{REPO}/issues/comments/9") == {"comments"}
    assert families_written(f"{REPO}/issues/comments/9/reactions") == {"comments"}


def test_a_bots_delivery_touches_only_what_its_write_did_not() -> None:
    bot = {"login": "release-bot[bot]", "type": "Bot"}
    assert echo_touched_hint("issues", {"action": "edited", "sender": bot}) == []
    assert echo_touched_hint("pull_request", {"action": "labeled", "sender": bot}) == []
    # A merge by the bot closes the issues its pull request fixes, in the bot's name, after the
    # merge's own tick: closing always touches.
    assert echo_touched_hint("issues", {"action": "closed", "sender": bot}) == ["items"]
    assert echo_touched_hint("pull_request", {"action": "closed", "sender": bot}) == ["heads", "items"]
    assert echo_touched_hint("push", {"ref": "refs/heads/main", "sender": bot}) == ["heads", "tags"]
    person = {"login": "dev", "type": "User"}
    assert echo_touched_hint("issues", {"action": "edited", "sender": person}) is None
    assert ECHO_TOUCHED_HINT == "echo_touched"


def _comment(cid: int, issue_number: int = 1, updated: str = "2026-12-03T06:00:00Z") -> dict[str, Any]:
    return {
        "id": cid,
        "body": f"c{cid}",
        "issue_url": f"https://api.github.com/repos/acme/rocket/issues/{issue_number}",
        "updated_at": updated,
    }


def test_a_comment_posted_or_edited_is_replayed_in_its_issue_comment_list_only() -> None:
    listed = [_comment(1), _comment(2)]
    params = {"per_page": "100", "since": "2026-12-03T05:00:00Z"}
    posted = Write("POST", "/issues/1/comments", {"body": "c3"}, _comment(3))
    added = rewrite(posted, "/issues/1/comments", params, listed, True)
    assert isinstance(added, Rewritten) and [c["id"] for c in added.body] == [1, 2, 3]  # oldest first
    assert rewrite(posted, "/issues/2/comments", params, [], True) is UNAFFECTED  # another issue's
    assert rewrite(posted, "/issues/1/comments", params, listed, False) is None  # a next page: unknown
    # Updated before `since`: whether the list shows it is not this module's to say.
    old = Write("POST", "/issues/1/comments", {}, _comment(4, updated="2026-12-03T04:00:00Z"))
    assert rewrite(old, "/issues/1/comments", params, listed, True) is None
    edited = Write("PATCH", "/issues/comments/2", {"body": "new"}, {**_comment(2), "body": "new"})
    replaced = rewrite(edited, "/issues/1/comments", params, listed, True)
    assert isinstance(replaced, Rewritten) and replaced.body[1]["body"] == "new"
    deleted = Write("DELETE", "/issues/comments/1", None, None)
    kept = rewrite(deleted, "/issues/1/comments", params, listed, True)
    assert isinstance(kept, Rewritten) and [c["id"] for c in kept.body] == [2]
    # A reaction changes its comment's rollup (asked again), nothing in a list without it.
    reacted = Write("POST", "/issues/comments/2/reactions", {"content": "+1"}, {"id": 9, "content": "+1"})
    assert rewrite(reacted, "/issues/1/comments", params, listed, True) is None
    assert rewrite(reacted, "/issues/5/comments", params, [_comment(7, 5)], True) is UNAFFECTED
    assert rewrite(posted, "/issues/1/comments", {**params, "sort": "x"}, listed, True) is None
