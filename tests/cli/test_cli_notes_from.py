"""`release-bot notes --from FILE` end to end: the command as a subprocess, a file in the format of
`gh pr list --json number,title,author,labels,mergedAt,body,url`, no GitHub anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMAND = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", "notes"]

# What gh writes (fields as gh names them; labels and authors carry gh's extra keys).
GH_LISTING = [
    {
        "author": {"id": "MDQ6VXNlcjE=", "is_bot": False, "login": "alice", "name": "Alice"},
        "body": "Adds boosters.",
        "labels": [{"id": "LA_1", "name": "feature", "description": "", "color": "a2eeef"}],
        "mergedAt": "2026-11-02T10:00:00Z",
        "number": 12,
        "title": "Add rocket boosters",
        "url": "https://github.com/acme/rocket/pull/12",
    },
    {
        "author": {"id": "MDM6Qm90", "is_bot": True, "login": "app/dependabot"},
        "body": "",
        "labels": [{"id": "LA_2", "name": "dependencies", "description": "", "color": "0366d6"}],
        "mergedAt": "2026-11-03T10:00:00Z",
        "number": 13,
        "title": "Bump requests from 2.31 to 2.32",
        "url": "https://github.com/acme/rocket/pull/13",
    },
    {
        "author": {"id": "MDQ6VXNlcjI=", "is_bot": False, "login": "bob", "name": ""},
        "body": "",
        "labels": [],
        "mergedAt": "2026-11-04T10:00:00Z",
        "number": 14,
        "title": "Fix <launch> crash for @team",
        "url": "https://github.com/acme/rocket/pull/14",
    },
]


def run(tmp_path: Path, *args: str, listing: object = GH_LISTING) -> subprocess.CompletedProcess[str]:
    prs = tmp_path / "prs.json"
    prs.write_text(json.dumps(listing) if not isinstance(listing, str) else listing, encoding="utf-8")
    # No credentials and an API URL nothing listens on: any GitHub call would fail loudly.
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_TOKEN", "APP_ID", "PRIVATE_KEY")}
    env.update(PYTHONPATH=str(ROOT), GITHUB_API_URL="http://127.0.0.1:9")
    return subprocess.run(
        [*COMMAND, "--from", str(prs), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / ".github" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_release_drafter_file(tmp_path: Path) -> None:
    config = write(
        tmp_path,
        "release-drafter.yml",
        "categories:\n  - title: '🚀 Features'\n    when:\n      label: feature\n"
        "  - title: '🧰 Maintenance'\n    label: dependencies\n"
        "template: |\n  ## What's Changed in $RESOLVED_VERSION\n\n  $CHANGES\n\n"
        "  **Thanks** $CONTRIBUTORS (next patch: $NEXT_PATCH_VERSION)\n",
    )
    done = run(
        tmp_path,
        "--repo",
        "acme/rocket",
        "--version",
        "1.4.0",
        "--previous-tag",
        "v1.3.0",
        "--config",
        config,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "## What's Changed in 1.4.0\n\n"
        "* Fix <launch> crash for @team (#14) @bob\n\n"
        "## 🚀 Features\n\n* Add rocket boosters (#12) @alice\n\n"
        "## 🧰 Maintenance\n\n"
        "* Bump requests from 2.31 to 2.32 (#13) [@dependabot[bot]](https://github.com/apps/dependabot)\n\n"
        "**Thanks** @alice, @bob and [@dependabot[bot]](https://github.com/apps/dependabot) "
        "(next patch: 1.3.1)\n"
    )


def test_github_release_yml(tmp_path: Path) -> None:
    config = write(
        tmp_path, "release.yml", "changelog:\n  categories:\n    - title: Features\n      labels: [feature]\n"
    )
    done = run(tmp_path, "--version", "1.4.0", "--previous-tag", "v1.3.0", "--config", config)
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "## What's Changed\n### Features\n* Add rocket boosters by @alice in https://github.com/acme/rocket/pull/12\n"
        "### Other Changes\n"
        "* Bump requests from 2.31 to 2.32 by @dependabot in https://github.com/acme/rocket/pull/13\n"
        "* Fix <launch> crash for @team by @bob in https://github.com/acme/rocket/pull/14\n\n"
        "**Full Changelog**: https://github.com/acme/rocket/compare/v1.3.0...v1.4.0\n"
    )


def test_release_bot_defaults_escape_and_json(tmp_path: Path) -> None:
    done = run(tmp_path, "--repo", "acme/rocket", "--version", "v1.4.0", "--format", "json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["format"] == "release-bot" and data["tag"] == "v1.4.0" and data["previous_tag"] is None
    assert [c["title"] for c in data["categories"]] == ["Features", "Maintenance", "Other changes"]
    assert "- Fix &lt;launch&gt; crash for @<!---->team (#14) @bob" in data["markdown"]
    assert "- Bump requests from 2.31 to 2.32 (#13) @dependabot[bot]" in data["markdown"]


def test_drafter_paths_with_files_in_the_listing(tmp_path: Path) -> None:
    listing = [
        dict(GH_LISTING[0], files=[{"path": "docs/a.md", "additions": 1, "deletions": 0}]),
        dict(GH_LISTING[2], files=[{"path": "src/x.py", "additions": 1, "deletions": 0}]),
    ]
    config = write(tmp_path, "release-drafter.yml", "include-paths: [src]\ntemplate: $CHANGES\n")
    done = run(tmp_path, "--version", "1.4.0", "--config", config, listing=listing)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "* Fix <launch> crash for @team (#14) @bob\n" and "warning" not in done.stderr


def test_commit_co_authors(tmp_path: Path) -> None:
    commits = [
        {
            "oid": "a1",
            "authors": [
                {"login": "alice", "name": "Alice"},
                {"login": "", "name": "Pat Pair"},
                {"login": "carol", "name": "Carol"},
            ],
        }
    ]
    listing = [dict(GH_LISTING[0], commits=commits)]
    config = write(tmp_path, "release-drafter.yml", "template: '$CHANGES / $CONTRIBUTORS'\n")
    done = run(tmp_path, "--version", "1.4.0", "--config", config, listing=listing)
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == "* Add rocket boosters (#12) @alice, @carol, Pat Pair / @alice, @carol and Pat Pair\n"
    )


def test_first_contribution_field(tmp_path: Path) -> None:
    listing = [dict(GH_LISTING[0], firstContribution=True), GH_LISTING[2]]
    config = write(tmp_path, "release.yml", "changelog: {}\n")
    done = run(
        tmp_path, "--version", "1.4.0", "--previous-tag", "v1.3.0", "--config", config, listing=listing
    )
    assert done.returncode == 0, done.stderr
    assert (
        "## New Contributors\n* @alice made their first contribution in https://github.com/acme/rocket/pull/12\n\n"
        in (done.stdout)
    )


def test_unhonoured_option_is_a_warning_on_stderr(tmp_path: Path) -> None:
    config = write(tmp_path, "release-drafter.yml", "include-paths: [src]\ntemplate: $CHANGES\n")
    done = run(tmp_path, "--version", "1.4.0", "--config", config)
    assert done.returncode == 0
    assert "warning: release-drafter.yml: conditions on changed files" in done.stderr


@pytest.mark.parametrize(
    ("listing", "args", "code", "message"),
    [
        ("not json", ("--version", "1.4.0"), 1, "not JSON"),
        ({"number": 1}, ("--version", "1.4.0"), 1, "expected a JSON list"),
        ([{"title": "x"}], ("--version", "1.4.0"), 1, "entry 0: each pull request needs an integer 'number'"),
        (GH_LISTING, (), 2, "--version is required"),
        ([], ("--version", "1.4.0"), 2, "give --repo OWNER/REPO"),
    ],
)
def test_bad_input_is_named(
    tmp_path: Path, listing: object, args: tuple[str, ...], code: int, message: str
) -> None:
    done = run(tmp_path, *args, listing=listing)
    assert done.returncode == code and message in done.stderr, done.stderr
