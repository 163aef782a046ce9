"""Each bad delivery gets its status, a JSON {"error"} body, and enqueues nothing.

Forged and replayed signatures are attacks, tried end to end in tests/e2e/hostile/; the fuzzed
bodies are in tests/fuzz/test_webhook_fuzz.py.
"""

from __future__ import annotations

import io
import json
import urllib.parse

import pytest
from webhook_helpers import github_headers, sign
from werkzeug.test import create_environ, run_wsgi_app

from bot.intake.app import create_app
from bot.settings import Settings, SettingsError

MILESTONE = {
    "action": "created",
    "milestone": {"number": 3, "title": "v1.4.0"},
    "repository": {"id": 42, "full_name": "acme/rocket"},
    "installation": {"id": 7},
}
BODY = json.dumps(MILESTONE).encode()


def post(client, body: bytes = BODY, headers: dict[str, str] | None = None, drop: tuple[str, ...] = ()):
    h = github_headers("milestone", body) if headers is None else headers
    for name in drop:
        h.pop(name, None)
    return client.post("/api/github/webhooks", data=body, headers=h)


def assert_refused(response, status: int, queue, fragment: str) -> None:
    assert response.status_code == status, response.get_json()
    error = response.get_json()["error"]
    assert fragment in error
    assert queue.counts().pending == 0 and queue.list_jobs() == []


def test_a_good_delivery_is_accepted(client, queue):
    response = post(client)
    assert response.status_code == 202
    assert response.get_json()["jobs"] == ["release:42@3"]
    assert [j.key for j in queue.list_jobs()] == ["release:42@3"]
    job = queue.list_jobs()[0]
    assert (job.spec.installation_id, job.spec.repo, job.spec.reason) == (
        7,
        "acme/rocket",
        "milestone.created",
    )


@pytest.mark.reliability(area="bad input", case="an empty body is refused (400)", trials=1)
def test_empty_body_is_400(client, queue):
    assert_refused(post(client, body=b"", headers=github_headers("milestone", b"")), 400, queue, "empty")


@pytest.mark.reliability(area="bad input", case="invalid JSON is refused (400)", trials=1)
def test_invalid_json_is_400(client, queue):
    body = b'{"action": "created", '
    assert_refused(post(client, body=body, headers=github_headers("milestone", body)), 400, queue, "JSON")


@pytest.mark.reliability(area="bad input", case="JSON that is not an object is refused (400)", trials=1)
def test_json_that_is_not_an_object_is_400(client, queue):
    body = b"[1, 2]"
    assert_refused(post(client, body=body, headers=github_headers("milestone", body)), 400, queue, "object")


@pytest.mark.reliability(
    area="bad input",
    case="a payload missing its event's fields is refused (400 naming the field)",
    trials=1,
)
def test_payload_missing_its_event_fields_is_400(client, queue):
    body = json.dumps({"action": "created", "repository": {"id": 1, "full_name": "a/b"}}).encode()
    assert_refused(
        post(client, body=body, headers=github_headers("milestone", body)), 400, queue, "milestone.number"
    )


@pytest.mark.parametrize("header", ["X-GitHub-Event", "X-GitHub-Delivery"])
@pytest.mark.reliability(
    area="bad input",
    case="a missing X-GitHub-Event or X-GitHub-Delivery header is refused (400)",
    trials=1,
)
def test_missing_event_or_delivery_header_is_400(client, queue, header):
    assert_refused(post(client, drop=(header,)), 400, queue, header)


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
@pytest.mark.reliability(
    area="bad input",
    case="a content type other than JSON or form is refused (415)",
    trials=1,
)
def test_wrong_content_type_is_415(client, queue, content_type):
    headers = github_headers("milestone", BODY)
    if content_type is None:
        del headers["Content-Type"]
    else:
        headers["Content-Type"] = content_type
    assert_refused(post(client, headers=headers), 415, queue, "application/json")


def test_json_with_charset_is_accepted(client, queue):
    headers = github_headers("milestone", BODY)
    headers["Content-Type"] = "application/json; charset=utf-8"
    assert post(client, headers=headers).status_code == 202


def test_form_encoded_payload_is_accepted_signed_over_the_raw_form(client, queue):
    body = urllib.parse.urlencode({"payload": BODY.decode()}).encode()
    headers = github_headers("milestone", body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = post(client, body=body, headers=headers)
    assert response.status_code == 202 and response.get_json()["jobs"] == ["release:42@3"]


@pytest.mark.reliability(area="bad input", case="a form body without payload= is refused (400)", trials=1)
def test_form_without_payload_field_is_400(client, queue):
    body = b"other=1"
    headers = github_headers("milestone", body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert_refused(post(client, body=body, headers=headers), 400, queue, "payload")


@pytest.mark.reliability(
    area="bad input",
    case="an oversized body is refused from Content-Length alone (413)",
    trials=1,
)
def test_oversized_body_is_413_from_content_length(client, queue, settings):
    body = b"{" + b" " * settings.max_body_bytes + b"}"
    assert_refused(post(client, body=body, headers=github_headers("milestone", body)), 413, queue, "larger")


class CountingStream(io.RawIOBase):
    """An endless body that counts how much of it the server read."""

    def __init__(self) -> None:
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        n = len(buffer)
        buffer[:n] = b" " * n
        self.consumed += n
        return n


@pytest.mark.reliability(
    area="bad input",
    case="an endless chunked body is refused at the size cap (413), not read whole",
    trials=1,
)
def test_oversized_chunked_body_is_413_without_reading_it_whole(client, queue, settings):
    stream = CountingStream()
    headers = github_headers("milestone", b"x")
    headers["Transfer-Encoding"] = "chunked"
    environ = create_environ("/api/github/webhooks", method="POST", headers=headers)
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BufferedReader(stream)
    environ["wsgi.input_terminated"] = True  # what gunicorn sets for a chunked body
    app_iter, status, _ = run_wsgi_app(client.application, environ, buffered=True)
    body = json.loads(b"".join(app_iter))
    assert status.startswith("413") and "larger" in body["error"]
    assert queue.list_jobs() == []
    assert stream.consumed <= settings.max_body_bytes + 2 * 65536  # stopped at the cap, not at the end


def test_ping_is_200(client, queue):
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    response = post(client, body=body, headers=github_headers("ping", body))
    assert response.status_code == 200 and response.get_json()["ping"] == "pong"
    assert queue.list_jobs() == []


def test_unused_event_is_200_ignored(client, queue):
    body = json.dumps({"action": "created", "repository": {"id": 1, "full_name": "a/b"}}).encode()
    response = post(client, body=body, headers=github_headers("star", body))
    assert response.status_code == 200 and "ignored" in response.get_json()
    assert queue.list_jobs() == []


def test_errors_on_other_routes_are_json(client):
    response = client.get("/api/github/webhooks")
    assert response.status_code == 405 and "error" in response.get_json()
    assert client.get("/nope").get_json()["error"]


def test_refuses_to_start_without_a_secret_unless_sandbox(queue):
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        create_app(Settings.from_env({}), queue)
    app = create_app(Settings.from_env({"SANDBOX": "1"}), queue)
    unsigned = app.test_client().post(
        "/api/github/webhooks",
        data=BODY,
        headers={
            "X-GitHub-Event": "milestone",
            "X-GitHub-Delivery": "u-1",
            "Content-Type": "application/json",
        },
    )
    assert unsigned.status_code == 202


def test_sign_helper_matches_github_documentation_example():
    # docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody",
    # payload "Hello, World!"
    assert sign(b"Hello, World!", "It's a Secret to Everybody") == (
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    )


@pytest.mark.reliability(area="bad input", case="an invalid Content-Length is refused (400)", trials=1)
def test_invalid_content_length_is_400(client, queue):
    environ = create_environ(
        "/api/github/webhooks", method="POST", headers=github_headers("milestone", BODY), data=BODY
    )
    environ["CONTENT_LENGTH"] = "twelve"
    app_iter, status, _ = run_wsgi_app(client.application, environ, buffered=True)
    assert status.startswith("400") and "Content-Length" in json.loads(b"".join(app_iter))["error"]
    assert queue.list_jobs() == []


@pytest.mark.reliability(
    area="bad input",
    case="other methods on the webhook path are refused (405)",
    trials=1,
)
def test_other_methods_on_the_webhook_path_are_405_with_allow(client):
    response = client.put("/api/github/webhooks", data=BODY, headers=github_headers("milestone", BODY))
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert "error" in response.get_json()


@pytest.mark.reliability(
    area="bad input",
    case=(
        "bodies GitHub never sends: nesting past the parser, unpaired surrogates, integers past 64 bits (400)"
    ),
    trials=1,
)
@pytest.mark.parametrize(
    "body,fragment",
    [
        (b"[" * 30_000 + b"]" * 30_000, "nested too deeply"),
        (
            b'{"action": "created", "milestone": {"number": 3},'
            b' "repository": {"id": 42, "full_name": "a/\\ud800"}}',
            "surrogate",
        ),
        (
            json.dumps({**MILESTONE, "installation": {"id": 2**70}}).encode(),
            "installation.id is not a 64-bit integer",
        ),
        (
            json.dumps({**MILESTONE, "repository": {"id": -(2**64), "full_name": "a/b"}}).encode(),
            "repository.id",
        ),
        (urllib.parse.urlencode({"payload": "[" * 10_000 + "]" * 10_000}).encode(), "nested too deeply"),
    ],
    ids=["deep", "surrogate", "huge-installation-id", "huge-repository-id", "deep-form"],
)
def test_bodies_github_never_sends_are_400_not_500(client, queue, body: bytes, fragment: str):
    # Found by tests/fuzz/test_webhook_fuzz.py: each was a 500 (RecursionError in the JSON decoder,
    # UnicodeEncodeError and OverflowError at the SQLite insert).
    headers = github_headers("milestone", body)
    if body.startswith(b"payload="):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    assert_refused(post(client, body=body, headers=headers), 400, queue, fragment)
