"""JSON log lines never carry secrets or tokens."""

from __future__ import annotations

import json
import logging

from bot.logging import JsonFormatter, log_fields, register_secret


def render(msg: str, **fields) -> dict:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, msg, (), None)
    record.fields = fields
    return json.loads(JsonFormatter().format(record))


def test_structured_fields_become_json_keys():
    out = render("job", key="pr:1#2", outcome="success", api_calls=3)
    assert out["msg"] == "job" and out["key"] == "pr:1#2" and out["api_calls"] == 3 and out["level"] == "info"


def test_registered_secrets_and_token_shapes_are_masked():
    register_secret("my-webhook-secret-value")
    out = render(
        "calling with token ghs_abcdefghijklmnopqrstuvwxyz0123 and my-webhook-secret-value",
        headers={"Authorization": "Bearer eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl"},
        pem="-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----",
        sandbox=["sandbox-token-admin"],
    )
    text = json.dumps(out)
    for leaked in ("ghs_abc", "my-webhook-secret-value", "eyJhbGci", "BEGIN RSA", "sandbox-token-admin"):
        assert leaked not in text, leaked
    assert "[redacted]" in out["msg"]


def test_log_fields_emits_one_line(caplog):
    logger = logging.getLogger("bot.test")
    with caplog.at_level(logging.INFO, logger="bot.test"):
        log_fields(logger, "delivery", delivery_id="d1", outcome="accepted")
    [record] = caplog.records
    assert record.fields == {"delivery_id": "d1", "outcome": "accepted"}


def test_each_token_shape_alone_is_masked():
    from bot.logging import scrub

    for secret in (
        "ghs_" + "a" * 36,
        "github_pat_" + "b" * 30,
        "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiIxIn0.c2lnbmF0dXJl",
        "-----BEGIN PRIVATE KEY-----\\nx\\n-----END PRIVATE KEY-----",
        "sandbox-token-qa",
    ):
        assert secret not in scrub(f"x {secret} y"), secret
    assert scrub("Authorization: BEARER abcdefghijk") == "Authorization: BEARER [redacted]"
    assert scrub("plain delivery line") == "plain delivery line"
