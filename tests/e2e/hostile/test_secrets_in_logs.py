"""Secrets never reach a log: a whole release, end to end, with every logger at DEBUG.

The bot (`release-bot serve`, and a `release-bot reconcile --now`) runs with LOG_LEVEL=DEBUG;
the sandbox runs in this process and its log records are captured at DEBUG too. A whole life
cycle runs — a gated pull request, a candidate, the sign-off, the final tag and the published
notes — plus a forged delivery. Then every line is searched for the webhook secret, the App's
private key (whole or any line of its body), every installation token and user token the
sandbox issued, and anything shaped like a JWT or a GitHub token.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import E2E, SECRET, open_e2e
from test_gate_e2e import REPO, Gate, ok

pytestmark = pytest.mark.e2e

JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")
GITHUB_TOKEN = re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is still evidence
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {record.levelname} {text} {getattr(record, 'fields', '')}")


@pytest.fixture
def debug_e2e(tmp_path: Path, bot_factory: Any) -> Iterator[tuple[E2E, Records]]:
    """The harness's ``e2e`` with the bot at DEBUG and the sandbox's log records captured."""
    records = Records()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    try:
        with open_e2e(tmp_path, bot_factory, env={"LOG_LEVEL": "DEBUG"}) as built:
            yield built, records
    finally:
        root.removeHandler(records)
        root.setLevel(previous)


@pytest.mark.timeout(300)
@pytest.mark.reliability(
    area="attack",
    case=(
        "no secret in any log: webhook secret, App private key, installation and user tokens, JWTs (a "
        "whole release at DEBUG)"
    ),
    trials=1,
)
def test_a_whole_release_at_debug_logs_no_secret(debug_e2e: tuple[E2E, Records]) -> None:
    e2e, records = debug_e2e
    gate = Gate(e2e, protect="ruleset")
    gate.say("qa", "/uat passed")
    gate.say("releaser", "/approve")
    gate.settle()
    assert gate.check()["conclusion"] == "success"
    assert gate.merge("releaser").status_code == 200
    admin, qa = e2e.api("admin"), e2e.api("qa")
    main = ok(admin.get(f"/repos/{REPO}/git/ref/heads/release%2F1.4"))["object"]["sha"]
    ok(admin.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/tags/v1.4.0-rc.1", "sha": main}))
    e2e.settle()
    issues = ok(admin.get(f"/repos/{REPO}/issues", params={"milestone": gate.milestone}))
    (tracking,) = [i for i in issues if i["user"]["login"] == "release-bot[bot]"]
    ok(qa.post(f"/repos/{REPO}/issues/{tracking['number']}/comments", json={"body": "/uat passed"}))
    e2e.settle()
    ok(admin.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/tags/v1.4.0", "sha": main}))
    e2e.settle()
    release = ok(admin.get(f"/repos/{REPO}/releases/tags/v1.4.0"))
    assert not release["draft"]
    # the log lines of refusals too: a forged delivery, and a token-bearing request the sandbox refuses
    forged = httpx.post(
        e2e.bot.webhook_url,
        content=b"{}",
        timeout=30,
        headers={
            "X-GitHub-Event": "ping",
            "X-GitHub-Delivery": "forged",
            "Content-Type": "application/json",
            "X-Hub-Signature-256": "sha256=" + "0" * 64,
        },
    )
    assert forged.status_code == 401
    reconcile = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            "reconcile",
            "--now",
        ],
        cwd=e2e.bot.workdir,
        env={**os.environ, **e2e.bot.env},
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert reconcile.returncode == 0, reconcile.stderr[-3000:]
    e2e.settle()

    with e2e.sandbox.state.lock:
        tokens = [t.token for t in e2e.sandbox.state.tokens.values()]
    assert any(t.startswith("ghs_") for t in tokens) and any(t.startswith("sandbox-token-") for t in tokens)
    key = Path(e2e.bot.env["PRIVATE_KEY_PATH"]).read_text()
    key_lines = [line for line in key.splitlines() if line and "PRIVATE KEY" not in line]
    secrets = [SECRET, key.strip(), *key_lines, *tokens]

    bot_logs = e2e.bot.logs() + reconcile.stdout + reconcile.stderr
    sandbox_logs = "\n".join(records.lines)
    assert '"log_level":"DEBUG"' in bot_logs, "the bot did not run at DEBUG"
    assert len(sandbox_logs) > 0 and len(bot_logs.splitlines()) > 50, (len(sandbox_logs), len(bot_logs))
    for name, text in (("bot", bot_logs), ("sandbox", sandbox_logs)):
        leaked = [s[:12] + "…" for s in secrets if s and s in text]
        assert not leaked, f"{name} logs hold secrets: {leaked}"
        assert not JWT.search(text), f"{name} logs hold a JWT: {JWT.search(text)}"
        assert not GITHUB_TOKEN.search(text), f"{name} logs hold a token: {GITHUB_TOKEN.search(text)}"
