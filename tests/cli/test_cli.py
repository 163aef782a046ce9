"""The `release-bot` dispatcher and the `jobs` command."""

from __future__ import annotations

import pytest

from bot import cli
from bot.jobs import JobSpec
from bot.queue.sqlite import SqliteQueue


def test_every_documented_command_is_registered():
    """DESIGN.md's command list: `release-bot serve | worker | sandbox | demo | reconcile | notes |
    check-config | jobs` (and `protect`, docs/merge-gate.md; `queue`, docs/scaling.md)."""
    parser, modules = cli.build_parser()
    documented = {
        "serve",
        "worker",
        "sandbox",
        "demo",
        "reconcile",
        "notes",
        "check-config",
        "jobs",
        "protect",
        "queue",
    }
    assert set(modules) == documented


def test_unknown_command_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["frobnicate"])
    assert exc.value.code == 2


@pytest.fixture
def queue_env(tmp_path, monkeypatch) -> SqliteQueue:
    path = tmp_path / "q.db"
    monkeypatch.setenv("QUEUE_URL", f"sqlite:///{path}")
    return SqliteQueue(str(path))


def test_jobs_lists_pending_and_failed_with_reasons(queue_env, capsys):
    queue_env.enqueue(
        [JobSpec("pr:1#2", 1, "acme/rocket", "pull_request.opened"), JobSpec("repo:1", 1, "acme/rocket")]
    )
    job = queue_env.claim(30)
    queue_env.fail_permanently(job, "403 Resource not accessible by integration\nmore detail")
    assert cli.main(["jobs"]) == 0
    out = capsys.readouterr().out
    assert "pending=1 running=0 failed=1" in out
    assert "permanent: 403 Resource not accessible by integration" in out and "more detail" not in out
    assert "repo:1" in out and "pull_request.opened" in out
    assert cli.main(["jobs", "--state", "failed", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and '"permanent": true' in lines[0]


def test_jobs_retry_and_drop(queue_env, capsys):
    queue_env.enqueue([JobSpec("repo:1", 1, "a/b"), JobSpec("repo:2", 1, "a/b")])
    job = queue_env.claim(30)
    queue_env.fail_permanently(job, "x")
    assert cli.main(["jobs", "--retry", str(job.id)]) == 0
    assert queue_env.counts().as_dict() == {"pending": 2, "running": 0, "failed": 0}
    assert cli.main(["jobs", "--retry", str(job.id)]) == 1  # no longer failed
    assert "no failed job" in capsys.readouterr().err
    assert cli.main(["jobs", "--drop", str(job.id)]) == 0
    assert [j.key for j in queue_env.list_jobs()] == ["repo:2"]
    assert cli.main(["jobs", "--drop", "424242"]) == 1


def test_worker_refuses_to_start_without_credentials(monkeypatch, capsys, tmp_path):
    for name in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH", "RELEASE_BOT_TEST_RUNNER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("QUEUE_URL", f"sqlite:///{tmp_path / 'q.db'}")
    assert cli.main(["worker"]) == 2
    assert "APP_ID" in capsys.readouterr().err


def test_serve_refuses_bad_settings(monkeypatch, capsys):
    monkeypatch.setenv("PORT", "not-a-port")
    assert cli.main(["serve"]) == 2
    assert "PORT" in capsys.readouterr().err


def test_version(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"release-bot {version('release-bot')}"


def test_jobs_without_a_store_says_so_and_creates_none(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("QUEUE_URL", raising=False)
    assert cli.main(["jobs"]) == 2
    err = capsys.readouterr().err
    assert f"no store at {tmp_path / 'release-bot.db'}" in err and "QUEUE_URL" in err
    assert list(tmp_path.iterdir()) == []


def test_reconcile_onto_a_missing_store_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("QUEUE_URL", f"sqlite:///{tmp_path / 'elsewhere.db'}")
    monkeypatch.setenv("APP_ID", "1")
    monkeypatch.setenv("PRIVATE_KEY", "-----BEGIN RSA PRIVATE KEY-----\nx\n-----END RSA PRIVATE KEY-----")
    assert cli.main(["reconcile"]) == 2
    assert "no store at" in capsys.readouterr().err and list(tmp_path.iterdir()) == []


def test_the_store_lock_file_is_ignored_by_git():
    from pathlib import Path

    ignored = (Path(__file__).resolve().parents[2] / ".gitignore").read_text().split()
    assert {"*.db", "*.db-wal", "*.db-shm", "*.db.lock"} <= set(ignored)


ANNOUNCE_CONFIG = """\
announce:
  channels:
    - name: releases
      url_env: ANNOUNCE_RELEASES_URL
      format: slack
      when: [stage, published, late, feedback]
"""


def test_check_config_reports_an_unset_announcement_url_by_name_only(tmp_path, monkeypatch, capsys):
    path = tmp_path / "release-bot.yml"
    path.write_text(ANNOUNCE_CONFIG)
    monkeypatch.delenv("ANNOUNCE_RELEASES_URL", raising=False)
    assert cli.main(["check-config", str(path)]) == 0  # valid: the variable belongs to where the bot runs
    out = capsys.readouterr().out
    assert "warning: announce.channels 'releases': ANNOUNCE_RELEASES_URL is not set" in out
    monkeypatch.setenv("ANNOUNCE_RELEASES_URL", "not a url, but secret-ish")
    assert cli.main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "does not hold an http(s) URL" in out and "secret-ish" not in out
    monkeypatch.setenv("ANNOUNCE_RELEASES_URL", "https://hooks.example/services/T/B/secret")
    assert cli.main(["check-config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "warning" not in out and "hooks.example" not in out


def test_check_config_refuses_a_url_variable_outside_announce(tmp_path, capsys):
    path = tmp_path / "release-bot.yml"
    path.write_text(ANNOUNCE_CONFIG.replace("ANNOUNCE_RELEASES_URL", "PRIVATE_KEY"))
    assert cli.main(["check-config", str(path)]) == 1
    assert "url_env" in capsys.readouterr().out


def test_jobs_lists_the_timed_wakeups(queue_env, capsys):
    import json
    import time

    at = time.time() + 3600
    queue_env.schedule(JobSpec("release:1@3", 1, "acme/rocket", "wakeup.timed"), at)
    assert cli.main(["jobs", "--wakeups"]) == 0
    out = capsys.readouterr().out
    assert "release:1@3" in out and ("due in 3600s" in out or "due in 3599s" in out)
    assert cli.main(["jobs", "--wakeups", "--json"]) == 0
    [line] = capsys.readouterr().out.strip().splitlines()
    assert json.loads(line) == {
        "key": "release:1@3", "installation_id": 1, "repo": "acme/rocket", "reason": "wakeup.timed", "at": at
    }
