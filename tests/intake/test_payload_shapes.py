"""Wrong-shaped signed payloads: mutations of the real examples (@octokit/webhooks-examples).

A payload of the wrong shape (an integer where ``check_run`` is an object, a string where ``comment``
is) must be refused by the router with a ``PayloadError`` naming the field — intake answers 400 with
that message, logs it once and enqueues nothing — and must never raise anything else (a 500).

Two layers: every node (three levels deep) of every example of an event the router handles,
replaced by each wrong type, through ``route()`` (pure, fast); and, through the real endpoint, the
fields the router reads, per event type, each mutated once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from webhook_helpers import SECRET, github_headers, load_examples

from bot.intake.app import create_app
from bot.intake.routing import HANDLED_EVENTS, PayloadError, RoutingContext, route
from bot.settings import Settings

WRONG_VALUES: tuple[Any, ...] = (7, "x", [], {}, None, True, [1, "a"], {"id": "1"})

# The fields the router reads, restated independently of bot/intake/routing.py: each is refused
# (400 naming it) when replaced by a value of another type. ``0`` indexes an array. Each path is
# tried on the first example of its event (and action, when given) that carries it, after
# ``_completed`` fills in what no example has (a pull request comment, a rerequest with pull requests).
READ_FIELDS: dict[str, tuple[tuple[tuple[str | int, ...], str | None], ...]] = {
    "pull_request": (
        (("repository",), None),
        (("repository", "id"), None),
        (("repository", "full_name"), None),
        (("pull_request",), None),
        (("pull_request", "number"), None),
        (("pull_request", "milestone"), None),
        (("installation",), None),
        (("installation", "id"), None),
        (("action",), None),
    ),
    "pull_request_review": (
        (("pull_request",), None),
        (("pull_request", "number"), None),
        (("repository", "id"), None),
    ),
    "issue_comment": (
        (("issue",), None),
        (("comment",), None),
        (("comment", "id"), None),
        (("issue", "milestone"), None),
        (("issue", "pull_request"), "pr"),
        (("issue", "number"), "pr"),
        (("repository", "full_name"), None),
    ),
    "issues": (
        (("issue",), None),
        (("issue", "milestone"), None),
        (("milestone",), None),
        (("repository", "id"), None),
    ),
    "check_run": (
        (("check_run",), "rerequested"),
        (("check_run", "app"), "rerequested"),
        (("check_run", "app", "id"), "rerequested"),
        (("check_run", "pull_requests"), "rerequested"),
        (("check_run", "pull_requests", 0), "rerequested"),
        (("check_run", "pull_requests", 0, "number"), "rerequested"),
    ),
    "merge_group": (
        (("merge_group",), None),
        (("merge_group", "head_ref"), None),
        (("merge_group", "head_sha"), None),
    ),
    "milestone": ((("milestone",), None), (("milestone", "number"), None), (("repository",), None)),
    "release": ((("release",), None), (("release", "body"), None), (("repository", "id"), None)),
    "deployment_status": ((("repository",), None), (("repository", "id"), None)),
    "deployment_protection_rule": (
        (("deployment",), None),
        (("deployment", "id"), None),
        (("deployment_callback_url",), None),
        (("environment",), None),
        (("repository", "id"), None),
    ),
    "create": ((("ref",), None), (("ref_type",), None), (("repository", "full_name"), None)),
    "delete": ((("ref",), None), (("repository", "id"), None)),
    "push": (
        (("ref",), None),
        (("commits",), None),
        (("commits", 0), None),
        (("commits", 0, "added"), None),
        (("commits", 0, "modified", 0), None),
    ),
    "installation": (
        (("installation",), "created"),
        (("installation", "id"), "deleted"),
        (("repositories",), "created"),
        (("repositories", 0), "created"),
        (("repositories", 0, "id"), "created"),
    ),
    "installation_repositories": (
        (("installation", "id"), "removed"),
        (("repositories_added",), "added"),
        (("repositories_added", 0), "added"),
        (("repositories_removed",), "removed"),
        (("repositories_removed", 0), "removed"),
    ),
}
PULL = {"url": "https://api.github.com/repos/Codertocat/Hello-World/pulls/2", "id": 279147437, "number": 2}


def _completed(event: str, payload: dict[str, Any], action: str | None) -> dict[str, Any] | None:
    """The example as the field needs it (None: not an example for that field)."""
    if action == "pr":  # a comment on a pull request: the examples only comment on issues
        return (
            _replaced(payload, ("issue", "pull_request"), {"url": PULL["url"]})
            if "issue" in payload
            else None
        )
    if action is not None and payload.get("action") != action:
        return None
    if event == "check_run":  # the rerequest examples name no pull request
        return _replaced(payload, ("check_run", "pull_requests"), [PULL])
    if event == "push" and payload.get("commits"):
        return _replaced(payload, ("commits", 0, "modified"), ["config/app.yml"])
    return payload


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for name in path:
        text += f"[{name}]" if isinstance(name, int) else (f".{name}" if text else name)
    return text


def _has(payload: Any, path: tuple[str | int, ...]) -> bool:
    node = payload
    for name in path:
        if isinstance(name, int):
            if not isinstance(node, list) or len(node) <= name:
                return False
        elif not isinstance(node, dict) or name not in node:
            return False
        node = node[name]
    return True


def _replaced(payload: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """A copy of ``payload`` with the node at ``path`` replaced (the rest shared, never mutated)."""
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(payload, list):
        copy_list = list(payload)
        copy_list[head] = _replaced(payload[head], rest, value) if rest else value  # type: ignore[index]
        return copy_list
    copy = dict(payload)
    copy[head] = _replaced(payload[head], rest, value) if rest else value
    return copy


def _nodes(node: Any, depth: int, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if depth == 0:
        return
    children: list[tuple[str | int, Any]] = []
    if isinstance(node, dict):
        children = list(node.items())
    elif isinstance(node, list):
        children = list(enumerate(node[:2]))
    for key, child in children:
        yield (*path, key)
        yield from _nodes(child, depth - 1, (*path, key))


def _wrong_for(value: Any) -> list[Any]:
    """The replacement values of another JSON type than ``value`` (an int is not a bool, and so on)."""

    def kind(v: Any) -> str:
        return "bool" if isinstance(v, bool) else type(v).__name__

    return [w for w in WRONG_VALUES if kind(w) != kind(value)]


@pytest.fixture(scope="module")
def handled_examples(fixtures_dir: Any) -> list[tuple[str, int, dict[str, Any]]]:
    return [(e, i, p) for e, i, p in load_examples(fixtures_dir) if e in HANDLED_EVENTS]


def test_every_event_the_router_handles_has_examples_and_a_field_table(handled_examples) -> None:
    assert {e for e, _, _ in handled_examples} == HANDLED_EVENTS == set(READ_FIELDS)


@pytest.mark.reliability(
    area="bad input",
    case="every node of every routed example replaced by each wrong type is refused, never a crash",
    trials=10_000,
)
def test_route_never_raises_anything_but_payload_error_on_mutated_examples(handled_examples) -> None:
    """Every node three levels deep of every example, replaced by each value of another type."""
    tried = refused = 0
    for event, index, payload in handled_examples:
        ctx = RoutingContext(app_id=_app_id(event, payload))
        for path in _nodes(payload, 3):
            original = payload
            for part in path:
                original = original[part]
            for value in _wrong_for(original):
                mutated = _replaced(payload, path, value)
                tried += 1
                try:
                    routed = route(event, mutated, ctx)
                except PayloadError as exc:
                    refused += 1
                    assert str(exc).startswith(("payload lacks ", "payload field ")), (
                        event,
                        index,
                        path,
                        exc,
                    )
                    continue
                except Exception as exc:  # pragma: no cover - the defect this test guards against
                    raise AssertionError(f"{event}[{index}] {_dotted(path)}={value!r}: {exc!r}") from exc
                assert all(isinstance(job.key, str) for job in routed.jobs)
                assert all(
                    job.installation_id is None or isinstance(job.installation_id, int) for job in routed.jobs
                )
    assert tried > 10_000 and refused > 1_000, (tried, refused)


def _app_id(event: str, payload: dict[str, Any]) -> int | None:
    return (payload.get("check_run") or {}).get("app", {}).get("id") if event == "check_run" else None


def _example_with(
    handled_examples, event: str, path: tuple[str | int, ...], action: str | None
) -> dict[str, Any]:
    """The first example of ``event`` that carries ``path`` (with a non-null value there) and is routed
    to jobs or controls as it is: the mutation, not the example, decides the answer."""
    for e, _, example in handled_examples:
        payload = _completed(e, example, action) if e == event else None
        if payload is None or not _has(payload, path):
            continue
        node: Any = payload
        for name in path:
            node = node[name]
        if node is None:
            continue
        routed = route(event, payload, RoutingContext(app_id=_app_id(event, payload)))
        if routed.jobs or routed.controls:
            return payload
    raise AssertionError(f"no routed example of {event} carries {_dotted(path)}")


CASES = [(event, path, action) for event, paths in READ_FIELDS.items() for path, action in paths]


@pytest.mark.reliability(
    area="bad input",
    case="a wrong-typed field the router reads is refused with 400 naming it",
    trials=1,
)
@pytest.mark.parametrize("event,path,action", CASES, ids=[f"{e}:{_dotted(p)}" for e, p, _ in CASES])
def test_a_wrong_typed_field_the_router_reads_is_refused_with_400_naming_it(
    client, queue, handled_examples, caplog, event, path, action
) -> None:
    payload = _example_with(handled_examples, event, path, action)
    node: Any = payload
    for name in path:
        node = node[name]
    # A value of another type: an integer for an object, array or string; a string for an integer.
    wrong: Any = "not-a-number" if isinstance(node, int) and not isinstance(node, bool) else 7
    mutated = _replaced(payload, path, wrong)
    body = json.dumps(mutated).encode()
    app_id = _app_id(event, payload)
    if app_id is not None:
        client = create_app(
            Settings.from_env({"WEBHOOK_SECRET": SECRET, "APP_ID": str(app_id)}), queue
        ).test_client()
    with caplog.at_level(logging.INFO, logger="bot.intake"):
        response = client.post("/api/github/webhooks", data=body, headers=github_headers(event, body))
    assert response.status_code == 400, (response.status_code, response.get_json())
    error = response.get_json()["error"]
    assert _dotted(path) in error, error
    assert queue.counts().pending == 0 and queue.list_jobs() == []
    lines = [r for r in caplog.records if r.name == "bot.intake"]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    fields = lines[0].fields  # type: ignore[attr-defined]
    assert fields["outcome"] == "rejected" and fields["status"] == 400 and _dotted(path) in fields["error"], (
        fields
    )
