"""The announcement sender against a local HTTP server: what counts as delivered, refused or to be
tried again, under the GitHub calls' retry policy; the URL never in an outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.errors import RetryLater
from bot.github.announce_send import send, usable_url


class Server:
    def __init__(self) -> None:
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.seen: list[bytes] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                server.seen.append(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                status, headers = server.answers.pop(0) if server.answers else (200, {})
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/services/secret-token-path"


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def test_a_2xx_is_delivered(server: Server) -> None:
    outcome = send(server.url, b'{"text": "hi"}', "application/json")
    assert outcome.delivered and outcome.status == 200 and server.seen == [b'{"text": "hi"}']


def test_a_short_retry_after_is_waited_for_then_delivered(server: Server) -> None:
    server.answers = [(429, {"Retry-After": "0"}), (200, {})]
    outcome = send(server.url, b"{}", "application/json")
    assert outcome.delivered and len(server.seen) == 2


def test_a_long_retry_after_brings_the_job_back_later(server: Server) -> None:
    server.answers = [(429, {"Retry-After": "120"})]
    with pytest.raises(RetryLater):
        send(server.url, b"{}", "application/json")
    assert len(server.seen) == 1


def test_a_5xx_is_not_replayed_inside_the_request(server: Server) -> None:
    server.answers = [(503, {}), (200, {})]
    outcome = send(server.url, b"{}", "application/json")
    assert not outcome.delivered and not outcome.permanent and outcome.status == 503
    assert len(server.seen) == 1  # the POST may have been delivered: the job's rerun decides


def test_a_4xx_is_refused_for_good(server: Server) -> None:
    server.answers = [(404, {})]
    outcome = send(server.url, b"{}", "application/json")
    assert not outcome.delivered and outcome.permanent and "404" in outcome.reason


def test_no_answer_is_tried_again_and_the_reason_names_no_url() -> None:
    url = "http://127.0.0.1:9/services/secret-token-path"  # the discard port: nothing listens
    outcome = send(url, b"{}", "application/json", timeout=2)
    assert not outcome.delivered and not outcome.permanent
    assert "secret-token-path" not in outcome.reason and "127.0.0.1" not in outcome.reason


@pytest.mark.parametrize("value", ["", "not a url", "ftp://host/x", "file:///etc/passwd", "https://"])
def test_only_http_urls_are_used(value: str) -> None:
    assert not usable_url(value)
    outcome = send(value, b"{}", "application/json")
    assert not outcome.delivered and outcome.permanent
