"""`release-bot notes` against an in-process sandbox: what it prints, and that it only reads."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from bot.cli import main

if TYPE_CHECKING:
    from world import Repo, World

    from bot.sandbox.server import SandboxHandle

@pytest.fixture
def notes_env(sandbox: SandboxHandle, monkeypatch: pytest.MonkeyPatch) -> SandboxHandle:
    """The session's sandbox, the command pointed at it with the admin's token."""
    monkeypatch.setenv("GITHUB_TOKEN", "sandbox-token-admin")
    monkeypatch.setenv("GITHUB_API_URL", sandbox.api_url)
    for name in ("APP_ID", "PRIVATE_KEY", "PRIVATE_KEY_PATH"):
        monkeypatch.delenv(name, raising=False)
    return sandbox


@pytest.fixture
def repo(sandbox_world: World) -> Repo:
    """A fresh repository of this test (the session's sandbox is shared)."""
    return sandbox_world.repo()


def seed(api: httpx.Client, repo: Repo, prs: list[tuple[str, str]]) -> int:
    path = repo.path()
    main_sha = api.get(f"{path}/git/ref/heads/main").json()["object"]["sha"]
    api.post(f"{path}/git/refs", json={"ref": "refs/tags/v1.3.0", "sha": main_sha}).raise_for_status()
    milestone = api.post(f"{path}/milestones", json={"title": "v1.4.0"}).json()["number"]
    for i, (title, label) in enumerate(prs):
        tip = api.get(f"{path}/git/ref/heads/main").json()["object"]["sha"]
        api.post(f"{path}/git/refs", json={"ref": f"refs/heads/t{i}", "sha": tip}).raise_for_status()
        api.put(f"{path}/contents/c{i}.txt", json={"message": title, "branch": f"t{i}",
                                                  "content": base64.b64encode(b"x").decode()}).raise_for_status()
        number = api.post(f"{path}/pulls", json={"title": title, "head": f"t{i}", "base": "main"}).json()["number"]
        api.patch(f"{path}/issues/{number}", json={"milestone": milestone, "labels": [label]}).raise_for_status()
        api.put(f"{path}/pulls/{number}/merge", json={}).raise_for_status()
    return milestone


def test_prints_markdown_and_json_reading_only(notes_env: SandboxHandle, repo: Repo,
                                              capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    api = repo.api()
    seed(api, repo, [("Add boosters", "feature"), ("Fix crash", "bug"), ("Skip me", "skip-changelog")])
    before = repo.world.log.seq()

    assert main(["notes", repo.full_name, "v1.4.0"]) == 0
    out, err = capsys.readouterr()
    # stderr is captured, not a terminal: no progress bar anywhere (test_progress_bar_* below).
    assert "reading items" not in err and "reading items" not in out
    assert "### Features\n\n- Add boosters (#" in out and "### Fixes" in out and "Skip me" not in out
    assert "compare/v1.3.0...v1.4.0" in out

    config = tmp_path / "release-bot.yml"
    config.write_text("notes:\n  categories:\n    - title: Everything\n      labels: ['*']\n"
                      "  change_template: '* $TITLE'\n")
    assert main(["notes", repo.full_name, "1.4.0", "--config", str(config), "--format", "json", "--no-progress"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["title"] for c in data["categories"]] == ["Everything"]
    assert "* Add boosters" in data["markdown"] and data["previous_tag"] == "v1.3.0" and data["target"] == "main"

    made = [r for r in repo.world.log.since(before) if r["method"] != "GET"]
    assert made == []


def test_unknown_version_and_bad_config_are_clear(notes_env: SandboxHandle, repo: Repo,
                                                 capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["notes", repo.full_name, "9.9.9", "--no-progress"]) == 1
    assert "no milestone for version 9.9.9" in capsys.readouterr().err
    bad = tmp_path / "bad.yml"
    bad.write_text("notes:\n  change_template: 42\n")
    api = repo.api()
    api.post(f"{repo.path()}/milestones", json={"title": "v2.0.0"}).raise_for_status()
    assert main(["notes", repo.full_name, "2.0.0", "--config", str(bad), "--no-progress"]) == 1
    assert "change_template" in capsys.readouterr().err
    assert main(["notes", "nonsense", "x.y"]) == 2


def test_app_credentials_work_too(notes_env: SandboxHandle, repo: Repo, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    api = repo.api()
    seed(api, repo, [("Add boosters", "feature")])
    monkeypatch.delenv("GITHUB_TOKEN")
    monkeypatch.setenv("APP_ID", "1")
    monkeypatch.setenv("PRIVATE_KEY_PATH", notes_env.app_key_path)
    assert main(["notes", repo.full_name, "1.4.0", "--no-progress"]) == 0
    assert "- Add boosters (#" in capsys.readouterr().out
    monkeypatch.delenv("APP_ID")
    assert main(["notes", repo.full_name, "1.4.0", "--no-progress"]) == 2
    assert "GITHUB_TOKEN" in capsys.readouterr().err


def test_check_config_reports_notes_template_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 6 item 7: unknown template variables are reported by `check-config` (exit 1)."""
    path = tmp_path / "release-bot.yml"
    path.write_text("notes:\n  change_template: '- $TITLE by $WHO'\n  header: 'Release $VERSION'\n")
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "$WHO" in out and "change_template" in out and "header" not in out
    path.write_text("notes:\n  change_template: '- $TITLE (#$NUMBER) by $AUTHOR'\n  footer: '$CONTRIBUTORS'\n")
    assert main(["check-config", str(path)]) == 0


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_and_counts_what_was_read() -> None:
    from bot.cli.notes import Progress

    piped = io.StringIO()
    quiet = Progress(enabled=True, stream=piped)
    quiet("items", 100, None)
    quiet.close()
    assert piped.getvalue() == "" and not quiet.bars

    terminal = _Terminal()
    bar = Progress(enabled=True, stream=terminal)
    bar("commits", 250, 300)  # GitHub announced 300 commits; the listing stopped at 250
    assert bar.bars["commits"].n == 250
    bar.close()
    assert bar.bars["commits"].total == 250 and "250/250" in terminal.getvalue()
    assert Progress(enabled=False, stream=_Terminal()).enabled is False
