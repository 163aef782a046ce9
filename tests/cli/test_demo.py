"""`release-bot demo`: the whole tour as a subprocess, --keep-running, a failing step, and the parsers."""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.cli import demo as demo_cli
from bot.demo import readback, summary
from bot.demo.environment import DemoEnvironment
from bot.demo.errors import DemoFailure
from bot.demo.narrator import Narrator
from bot.demo.story import Story

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "demo"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _port_closed(url: str) -> bool:
    try:
        httpx.get(url + "/healthz", timeout=0.5)
    except httpx.HTTPError:
        return True
    return False


def _pid_gone(pid: int) -> bool:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_demo_plays_a_whole_release_and_exits_zero() -> None:
    started = time.monotonic()
    done = subprocess.run(
        [*COMMAND, "--fast"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=110
    )
    elapsed = time.monotonic() - started
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-4000:]
    # The narrative names what the bot did after each step, read back from the sandbox.
    expected = [
        "> pm created milestone v1.4.0 due ",
        "bot: opened tracking issue #1 'Release v1.4.0'",
        "stages: Identify Needs > [Plan Release]",
        "stages: Identify Needs > Plan Release > [Build & Test]",
        "ruleset 'release-bot gate'",
        "check `release-bot/gate` on ",
        "failure — Missing: UAT, approval",
        "GitHub refused it (405",
        "removed `uat-passed` and replied: @triager",
        "success — Ready to merge",
        "Features: Add rocket boosters (#2)",
        "> [UAT]",
        "> [Prepare]",
        "> [Deploy]",
        "published release",
        "> [Monitor]",
        "> [Future Planning]",
        "Retrospective — v1.4.0",
        "Done: every step had its effect",
    ]
    flat = " ".join(out.split())  # long narrative lines wrap in the terminal
    positions = [flat.find(" ".join(line.split())) for line in expected]
    missing = [line for line, pos in zip(expected, positions, strict=True) if pos < 0]
    assert not missing, (missing, out)
    assert positions == sorted(positions), "the narrative is out of order"
    assert out.count("-- Step ") == 12
    # The narration and the retrospective name the same due day (the one GitHub keeps).
    narrated = re.search(r"created milestone v\S+ due (\d{4}-\d{2}-\d{2}) \(America/Los_Angeles", flat)
    retro_due = re.search(r"\| Due \| (\d{4}-\d{2}-\d{2}) \(America/Los_Angeles\)", flat)
    assert narrated and retro_due and narrated.group(1) == retro_due.group(1), (narrated, retro_due)
    # Links point at the sandbox's web pages.
    assert re.search(r"tracking issue: http://127\.0\.0\.1:\d+/acme/rocket/issues/1\b", out)
    # The summary counts the bot's calls from the sandbox's request log.
    bot_line = re.search(r"release-bot\[bot\]\s+(\d+)\s+\((\d+) reads, (\d+) writes\)", out)
    assert bot_line and int(bot_line.group(3)) > 0, out[-2000:]
    assert re.search(r"the bot's log: \d+ warnings, 0 errors", out), out[-2000:]
    # Nothing is left running: the bot's process and port are gone.
    started_line = re.search(r"bot \(release-bot serve, pid (\d+)\): (http://\S+)", out)
    assert started_line
    assert _pid_gone(int(started_line.group(1)))
    assert _port_closed(started_line.group(2))
    assert elapsed < 60, f"the fast demo took {elapsed:.1f}s"


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_keep_running_leaves_both_up_until_interrupted() -> None:
    proc = subprocess.Popen(
        [*COMMAND, "--fast", "--keep-running"],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "curl -s" in line and "/healthz" in line:  # the last line printed before waiting
                break
        text = "".join(lines)
        assert "Still running (--keep-running)" in text, text[-3000:]
        api = re.search(r"sandbox REST API : (\S+)", text)
        bot = re.search(r"bot health\s+: (\S+)/healthz", text)
        assert api and bot
        assert "sandbox-token-releaser" in text
        issue = httpx.get(
            f"{api.group(1)}/repos/acme/rocket/issues/1",
            headers={"Authorization": "token sandbox-token-pm"},
            timeout=10,
        )
        assert issue.status_code == 200 and issue.json()["title"] == "Release v1.4.0"
        assert httpx.get(bot.group(1) + "/healthz", timeout=10).json()["status"] == "ok"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(45) == 0
        assert _port_closed(bot.group(1))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.e2e
@pytest.mark.timeout(90)
def test_a_missing_effect_fails_the_demo_naming_the_step(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The bot cannot create issues: step 1 reports the missing tracking issue, exit 1."""
    real_start = DemoEnvironment.start
    started: list[DemoEnvironment] = []

    def start_with_fault(*args: Any, **kwargs: Any) -> DemoEnvironment:
        env = real_start(*args, **kwargs)
        started.append(env)
        fault = {"method": "POST", "path": r"^/repos/acme/rocket/issues$", "status": 422, "times": 1000}
        assert (
            httpx.post(env.sandbox.base_url + "/_sandbox/faults", json=fault, timeout=10).status_code == 201
        )
        return env

    monkeypatch.setattr(DemoEnvironment, "start", start_with_fault)
    args = argparse.Namespace(keep_running=False, port=0, bot_port=0, fast=True, step_timeout=4.0)
    assert demo_cli.run(args) == 1
    err = capsys.readouterr().err
    assert "FAILED at step 1 (pm plans release v1.4.0)" in err, err
    assert "tracking issue" in err
    # The post-mortem material is kept and named.
    (env,) = started
    assert f"kept in {env.workdir}" in err and env.bot_log_path.exists()
    assert not env.bot_alive()
    import shutil

    shutil.rmtree(env.workdir, ignore_errors=True)


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    bad_port = argparse.Namespace(keep_running=False, port=70000, bot_port=0, fast=True, step_timeout=5.0)
    assert demo_cli.run(bad_port) == 2
    assert "invalid --port 70000" in capsys.readouterr().err
    bad_timeout = argparse.Namespace(keep_running=False, port=0, bot_port=0, fast=True, step_timeout=0.0)
    assert demo_cli.run(bad_timeout) == 2
    assert "--step-timeout must be positive" in capsys.readouterr().err


def test_a_busy_sandbox_port_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        args = argparse.Namespace(keep_running=False, port=port, bot_port=0, fast=True, step_timeout=5.0)
        assert demo_cli.run(args) == 2
    assert f"cannot start the sandbox on port {port}" in capsys.readouterr().err


class _QuietEnvironment:
    """Settles at once and never produces anything: for Story.expect's timeout path."""

    class sandbox:  # noqa: N801 - mimics the SandboxHandle attributes Story reads
        api_url = "http://127.0.0.1:9/api/v3"
        base_url = "http://127.0.0.1:9"

    def settle(self, timeout: float = 0) -> None:
        pass

    def jobs_report(self) -> str:
        return "pending=0 running=0 failed=1"

    def bot_log_tail(self) -> str:
        return "boom"


def test_expect_times_out_with_the_step_and_what_was_missing() -> None:
    story = Story(_QuietEnvironment(), Narrator(), step_timeout=0.3)  # type: ignore[arg-type]
    story._step_name = "step 9 (something)"
    calls = []

    def probe() -> None:
        calls.append(1)

    with pytest.raises(DemoFailure) as info:
        story.expect("the thing", probe, lambda: "saw nothing")
    assert info.value.step == "step 9 (something)"
    assert "expected the thing" in info.value.message
    assert "saw nothing" in info.value.detail and "failed=1" in info.value.detail
    assert len(calls) >= 2  # it polled, settling again between tries
    story.close()


def test_expect_returns_the_first_truthy_probe() -> None:
    story = Story(_QuietEnvironment(), Narrator(), step_timeout=5)  # type: ignore[arg-type]
    answers = iter([None, {}, {"number": 3}])
    assert story.expect("x", lambda: next(answers)) == {"number": 3}
    story.close()


BODY = """<!-- release-bot:tracking:1 -->
## Release v1.4.0

### Stages

| Stage | State | Began | Checklist |
|---|---|---|---|
| Identify Needs | ✅ done | 2026-11-26 | 0/3 |
| Plan Release | ⏭️ skipped | | |
| Build & Test | ▶️ current | 2026-11-27 | 1/4 |
| UAT | ⏳ pending | | |

### Scope

| not | a | stage | row |
"""


def test_stage_table_and_current_stage() -> None:
    rows = readback.stage_table(BODY)
    assert [r.title for r in rows] == ["Identify Needs", "Plan Release", "Build & Test", "UAT"]
    assert rows[0].is_done and rows[2].is_current and rows[2].checklist == "1/4"
    assert readback.current_stage(BODY) == "Build & Test"
    assert readback.current_stage("no table here") is None
    assert readback.stage_table("") == []


def test_notes_lines_and_sections() -> None:
    notes = "<!-- m -->\n## What's changed\n### Features\n- Add boosters (#2) @dev\n### Fixes\n- Fix (#3)\n"
    assert readback.headed_lines(notes) == [("Features", "Add boosters (#2) @dev"), ("Fixes", "Fix (#3)")]
    assert readback.section(notes, "Fixes") == ["- Fix (#3)"]


def test_api_calls_per_actor_and_endpoints() -> None:
    rows = [
        {
            "seq": 1,
            "method": "GET",
            "path": "/repos/acme/rocket/issues/12/comments",
            "status": 200,
            "actor": "release-bot[bot]",
        },
        {
            "seq": 2,
            "method": "POST",
            "path": "/repos/acme/rocket/issues/12/comments",
            "status": 201,
            "actor": "release-bot[bot]",
        },
        {
            "seq": 3,
            "method": "POST",
            "path": "/app/installations/1/access_tokens",
            "status": 201,
            "actor": "app",
        },
        {
            "seq": 4,
            "method": "PATCH",
            "path": "/repos/acme/rocket/milestones/1",
            "status": 200,
            "actor": "pm",
        },
        {
            "seq": 5,
            "method": "GET",
            "path": f"/repos/acme/rocket/commits/{'a' * 40}/check-runs",
            "status": 200,
            "actor": None,
        },
    ]
    by_actor = summary.per_actor(rows)
    assert by_actor["release-bot[bot]"] == summary.Calls(reads=1, writes=1)
    assert by_actor["pm"] == summary.Calls(reads=0, writes=1)
    assert by_actor["anonymous"].reads == 1
    assert summary.bot_calls(rows) == summary.Calls(reads=1, writes=2)
    assert str(summary.bot_calls(rows)) == "3 API calls (1 reads, 2 writes)"
    assert summary.endpoint(rows[4]) == "GET /repos/acme/rocket/commits/{sha}/check-runs"
    assert summary.bot_writes_by_endpoint(rows) == [
        ("POST /repos/acme/rocket/issues/{n}/comments", 1),
        ("POST /app/installations/{n}/access_tokens", 1),
    ]


def test_log_problems_counts_warnings_and_names_errors(tmp_path: Path) -> None:
    env = DemoEnvironment(workdir=tmp_path, sandbox=None, bot_port=0, bot_env={})
    env.bot_log_path.write_text(
        "release-bot: listening on http://127.0.0.1:1/api/github/webhooks\n"
        '{"level":"info","msg":"job"}\n'
        '{"level":"warning","msg":"job","error":"retry"}\n'
        '{"level":"error","msg":"job","error":"GithubException: 500"}\n'
        "[not json\n"
    )
    assert env.log_problems() == (1, ["job: GithubException: 500"])
