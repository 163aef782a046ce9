"""Fuzzing the webhook endpoint with hypothesis: mutations of every real example payload
(@octokit/webhooks-examples), properly signed, through the real WSGI endpoint and its SQLite queue.

Whatever arrives, the answer is one of the endpoint's documented statuses — never a 5xx — with a
JSON ``{"error"}`` naming the problem when it is refused, and nothing is enqueued unless the
answer is 202. Bodies are signed with the webhook secret (an unsigned mutation would only ever
test the 401).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import sys
import tracemalloc
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import pytest
from fuzz_profiles import budget
from hypothesis import example, given
from hypothesis import strategies as st

from bot.intake.app import create_app
from bot.queue.sqlite import SqliteQueue
from bot.settings import Settings

SECRET = "fuzz-secret"
LIMIT = 256 * 1024
ANSWERS = {200, 202, 400, 401, 413, 415}
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "intake"))
from webhook_helpers import load_examples  # noqa: E402


@pytest.fixture(scope="module")
def examples(fixtures_dir: Path) -> list[tuple[str, int, dict[str, Any]]]:
    return load_examples(fixtures_dir)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Any:
    queue = SqliteQueue(str(tmp_path_factory.mktemp("fuzz") / "queue.db"))
    settings = Settings.from_env({"WEBHOOK_SECRET": SECRET, "MAX_BODY_BYTES": str(LIMIT), "APP_ID": "1"})
    yield create_app(settings, queue).test_client(), queue
    queue.close()


def signed_headers(event: str, body: bytes, content_type: str = "application/json") -> dict[str, str]:
    return {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": str(uuid.uuid4()),
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": content_type,
        "User-Agent": "GitHub-Hookshot/fuzz",
    }


def deliver(
    endpoint: Any, event: str, body: bytes, content_type: str = "application/json"
) -> tuple[int, Any]:
    """POST one signed body; assert the endpoint's contract; return (status, JSON answer)."""
    client, queue = endpoint
    before = len(queue.list_jobs())
    response = client.post(
        "/api/github/webhooks", data=body, headers=signed_headers(event, body, content_type)
    )
    status = response.status_code
    assert status in ANSWERS, (status, response.data[:500])
    answer = response.get_json()
    assert isinstance(answer, dict), response.data[:200]
    if status >= 400:
        error = answer.get("error")
        assert isinstance(error, str) and error.strip() and len(error) < 500, answer
        assert "Traceback" not in error
    jobs = queue.list_jobs()
    if status == 202:
        assert all(isinstance(k, str) for k in answer["jobs"])
    else:
        assert len(jobs) == before, (status, answer)
    # keep the queue small: the fuzzer only cares about what intake accepts
    while (job := queue.claim(30)) is not None:
        queue.complete(job)
    return status, answer


# ---------------------------------------------------------------------------- the mutations

JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=2**1100)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["", "\ud800", "a\x00b", "💥" * 3, "../../etc/passwd", "refs/heads/release/1.4"])
)
JSON_VALUE = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


def paths_of(node: Any, prefix: tuple[Any, ...] = (), depth: int = 4) -> list[tuple[Any, ...]]:
    out = [prefix]
    if depth == 0:
        return out
    if isinstance(node, dict):
        for key, child in node.items():
            out += paths_of(child, (*prefix, key), depth - 1)
    elif isinstance(node, list):
        for index, child in enumerate(node[:3]):
            out += paths_of(child, (*prefix, index), depth - 1)
    return out


def replaced(node: Any, path: tuple[Any, ...], value: Any, delete: bool = False) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    copy: Any = list(node) if isinstance(node, list) else dict(node)
    if delete and not rest:
        del copy[head]
        return copy
    copy[head] = replaced(node[head], rest, value, delete)
    return copy


def nested(depth: int, inner: Any = 1) -> Any:
    value = inner
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


@st.composite
def mutated_example(draw: st.DrawFn, examples: list[tuple[str, int, dict[str, Any]]]) -> tuple[str, Any]:
    event, _, payload = draw(st.sampled_from(examples))
    paths = paths_of(payload)
    path = draw(st.sampled_from(paths[1:] or paths))
    kind = draw(st.sampled_from(["replace", "delete", "nest", "huge", "event"]))
    if kind == "replace":
        return event, replaced(payload, path, draw(JSON_VALUE))
    if kind == "delete" and path:
        return event, replaced(payload, path, None, delete=True)
    if kind == "nest":
        return event, replaced(payload, path, nested(draw(st.integers(10, 200))))
    if kind == "huge":
        return event, replaced(payload, path, "x" * draw(st.integers(1_000, LIMIT // 2)))
    other = draw(st.sampled_from(sorted({e for e, _, _ in examples} | {"ping", "", "../x", "é"})))
    return other or "push", payload


@pytest.mark.reliability(
    area="bad input",
    case=(
        "fuzzed webhook payloads (every real example mutated: wrong types, missing keys, deep nesting, "
        "huge strings, swapped events)"
    ),
    trials=200,
)
@given(data=st.data())
def test_mutated_examples_never_get_a_5xx(
    endpoint: Any, examples: list[Any], reliability: Any, data: Any
) -> None:
    event, payload = data.draw(mutated_example(examples))
    reliability.trials(1)
    deliver(endpoint, event, json.dumps(payload).encode())


TEMPLATE = {
    "action": "created",
    "milestone": {"number": 3, "title": "v1.4.0"},
    "issue": {"number": 5, "milestone": {"number": 3}},
    "comment": {"id": 9, "body": "/approve"},
    "repository": {"id": 42, "full_name": "acme/rocket"},
    "installation": {"id": 7},
}
FIELDS = [
    ("action",),
    ("milestone", "number"),
    ("milestone", "title"),
    ("issue", "number"),
    ("comment", "id"),
    ("comment", "body"),
    ("repository", "id"),
    ("repository", "full_name"),
    ("installation", "id"),
]


@pytest.mark.reliability(
    area="bad input",
    case="fuzzed values in the fields the router reads (huge integers, lone surrogates, NUL)",
    trials=200,
)
@given(
    event=st.sampled_from(["milestone", "issue_comment", "issues"]),
    field=st.sampled_from(FIELDS),
    value=JSON_VALUE,
)
# Found by the fuzzer; kept so they stay fixed.
@example(event="milestone", field=("repository", "id"), value=2**64)
@example(event="milestone", field=("installation", "id"), value=2**70)
@example(event="milestone", field=("milestone", "number"), value=2**80)
@example(event="milestone", field=("repository", "full_name"), value="a/\ud800")
@example(event="issue_comment", field=("comment", "body"), value="\udfff")
@example(event="issue_comment", field=("action",), value="created\ud800")
def test_wrong_values_in_routed_fields_never_get_a_5xx(
    endpoint: Any, event: str, field: tuple[str, ...], value: Any
) -> None:
    deliver(endpoint, event, json.dumps(replaced(TEMPLATE, field, value)).encode())


@st.composite
def raw_body(draw: st.DrawFn) -> tuple[bytes, str]:
    """Bodies that are not well-formed UTF-8 JSON objects, or not JSON bodies at all."""
    kind = draw(st.sampled_from(["bytes", "invalid-utf8", "deep", "form", "form-bad", "scalar", "dup-keys"]))
    base = json.dumps(
        {
            "action": "created",
            "milestone": {"number": 1, "title": "v1.0.0"},
            "repository": {"id": 1, "full_name": "a/b"},
            "installation": {"id": 1},
        }
    ).encode()
    if kind == "bytes":
        return draw(st.binary(min_size=1, max_size=2000)), "application/json"
    if kind == "invalid-utf8":
        at = draw(st.integers(0, len(base) - 1))
        return base[:at] + draw(
            st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])
        ) + base[at:], "application/json"
    if kind == "deep":
        depth = draw(st.integers(500, 60_000))
        opener = draw(st.sampled_from([b"[", b'{"a":']))
        closer = b"]" if opener == b"[" else b"}"
        return opener * depth + b"1" + closer * depth, "application/json"
    if kind == "form":
        return urllib.parse.urlencode(
            {"payload": base.decode()}
        ).encode(), "application/x-www-form-urlencoded"
    if kind == "form-bad":
        value = draw(st.text(max_size=200))
        field = draw(st.sampled_from(["payload", "other", "payload[]"]))
        return urllib.parse.urlencode({field: value}).encode(), "application/x-www-form-urlencoded"
    if kind == "scalar":
        return draw(
            st.sampled_from([b"null", b"1", b'"x"', b"[]", b"true", b"NaN", b"1e999"])
        ), "application/json"
    return b'{"action": "created", "action": 7, ' + base[1:], "application/json"


@pytest.mark.reliability(
    area="bad input",
    case="fuzzed webhook bodies: random bytes, invalid UTF-8, deep nesting, form-encoded, scalars",
    trials=200,
)
@given(body=raw_body(), event=st.sampled_from(["milestone", "issue_comment", "push", "ping"]))
@example(body=(b"[" * 100_000 + b"]" * 100_000, "application/json"), event="milestone")
@example(
    body=(
        urllib.parse.urlencode({"payload": "[" * 50_000 + "]" * 50_000}).encode(),
        "application/x-www-form-urlencoded",
    ),
    event="milestone",
)
@example(
    body=(
        b'{"milestone": {"number": 1}, "repository": {"id": 1, "full_name": "a\\ud800/b"}, "action": "x"}',
        "application/json",
    ),
    event="milestone",
)
def test_malformed_bodies_never_get_a_5xx(endpoint: Any, body: tuple[bytes, str], event: str) -> None:
    data, content_type = body
    if len(data) > LIMIT:
        data = data[:LIMIT]
    deliver(endpoint, event, data, content_type)


@pytest.mark.reliability(area="bad input", case="bodies at, and one byte over, the size limit", trials=2)
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_bodies_at_and_over_the_size_limit(endpoint: Any, content_type: str) -> None:
    payload = {
        "action": "created",
        "milestone": {"number": 1, "title": "v1.0.0"},
        "repository": {"id": 1, "full_name": "a/b"},
        "installation": {"id": 1},
        "pad": "",
    }

    def body_of(size: int) -> bytes:
        payload["pad"] = ""
        text = json.dumps(payload)
        if content_type == "application/json":
            payload["pad"] = "x" * (size - len(text))
            return json.dumps(payload).encode()
        wrap = len(urllib.parse.urlencode({"payload": text}))
        payload["pad"] = "x" * (size - wrap)
        return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()

    at, over = body_of(LIMIT), body_of(LIMIT + 1)
    assert (len(at), len(over)) == (LIMIT, LIMIT + 1)
    assert deliver(endpoint, "milestone", at, content_type)[0] == 202
    status, answer = deliver(endpoint, "milestone", over, content_type)
    assert status == 413 and "larger than" in answer["error"]


@pytest.mark.reliability(
    area="bad input",
    case="memory of one delivery at the size limit stays bounded",
    trials=3,
)
def test_memory_of_one_delivery_at_the_limit_is_bounded(endpoint: Any) -> None:
    """The worst bodies under the cap (deep nesting, many tiny values, one huge string) cost a
    bounded multiple of their size: no amplification an attacker could use."""
    bodies = [
        b"[" * (LIMIT // 2) + b"]" * (LIMIT // 2),
        json.dumps(
            {
                "action": "created",
                "milestone": {"number": 1},
                "repository": {"id": 1, "full_name": "a/b"},
                "installation": {"id": 1},
                "pad": [0] * ((LIMIT - 200) // 3),
            }
        ).encode()[:LIMIT],
        json.dumps(
            {
                "action": "created",
                "milestone": {"number": 1},
                "repository": {"id": 1, "full_name": "a/b"},
                "installation": {"id": 1},
                "pad": "é" * ((LIMIT - 200) // 2),
            }
        ).encode()[:LIMIT],
    ]
    for body in bodies:
        tracemalloc.start()
        try:
            deliver(endpoint, "milestone", body)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 64 * LIMIT, (len(body), peak)  # a list of 87k zeros is ~3 MB of objects: far below


def test_the_ci_budget_is_small_and_the_long_one_larger() -> None:
    from hypothesis import settings

    assert budget() == settings.get_profile(settings._current_profile).max_examples  # type: ignore[attr-defined]
    assert settings.get_profile("ci").max_examples < settings.get_profile("long").max_examples
