"""`release-bot check-config` of a release-drafter.yml or a release.yml: what those tools would
refuse is an error (exit 1), what release-bot cannot honour as they do is a warning (exit 0)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


def check(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / ".github" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_valid_drafter_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = check(
        tmp_path,
        "release-drafter.yml",
        "template: $CHANGES\ncategories:\n  - title: A\n    when: {label: a}\n",
    )
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: valid\n"


def test_unhonoured_options_are_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = check(
        tmp_path,
        "release-drafter.yml",
        "_extends: .github\ninclude-paths: [src]\ntemplate: |\n  $CHANGES\n  $NEW_CONTRIBUTORS\n"
        "change-template: '* $TITLE ($BASE_REF_NAME)'\n",
    )
    assert main(["check-config", str(path)]) == 0  # usable; what cannot be honoured is named
    out = capsys.readouterr().out
    assert f"{path}: warning: release-drafter.yml _extends: release-bot does not follow" in out
    assert f"{path}: warning: release-drafter.yml: conditions on changed files" in out
    assert "$NEW_CONTRIBUTORS" not in out  # the running bot reads first contributions
    assert "$BASE_REF_NAME / $HEAD_REF_NAME" in out


def test_what_release_drafter_refuses_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = check(
        tmp_path,
        "release-drafter.yml",
        "sort-by: date\nfooter: 1.0\nreplacers:\n  - search: '/(/g'\n    replace: x\n"
        "categories:\n  - labels: [bug]\n  - title: X\n    type: pre-exclude\n    exclusive: true\n",
    )
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out
    assert "sort-by: expected one of merged_at, title" in out
    assert "footer: expected a string, got float" in out
    assert "replacers[0]: bad replacer regex" in out
    assert "categories[0]: a changelog category needs a title" in out
    assert "categories[1]: 'exclusive' only applies" in out


def test_github_release_yml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = check(tmp_path, "release.yml", "changelog:\n  categories:\n    - title: F\n      labels: ['*']\n")
    assert main(["check-config", str(good)]) == 0
    bad = check(tmp_path, "release.yml", "changelog:\n  categories:\n    - title: F\n  exclude: [x]\n")
    assert main(["check-config", str(bad)]) == 1
    out = capsys.readouterr().out
    assert "changelog.categories[0]: needs labels" in out and "changelog.exclude: expected a mapping" in out


def test_yaml_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = check(tmp_path, "release-drafter.yml", "template: [unclosed\n")
    assert main(["check-config", str(path)]) == 1
    assert "invalid YAML" in capsys.readouterr().out
