"""`release-bot check-config FILE`: exit codes and line-numbered output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bot.cli import main


def test_valid_file(tmp_path, capsys):
    path = tmp_path / "release-bot.yml"
    path.write_text("_extends: .github\ngate:\n  release_branches: ['release/*', main]\n")
    assert main(["check-config", str(path)]) == 0
    assert "valid" in capsys.readouterr().out


def test_invalid_file_lists_problems_with_lines(tmp_path, capsys):
    path = tmp_path / "release-bot.yml"
    path.write_text("gate:\n  require_milestone: yes please\n\nnotes:\n  exclude_lables: [x]\n")
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2: gate.require_milestone: 'yes please' is not of type 'boolean'" in out
    assert f"{path}:5: notes.exclude_lables: unknown key 'exclude_lables'" in out
    assert "2 problem(s)" in out


def test_template_errors_have_lines_and_come_with_schema_errors(tmp_path, capsys):
    path = tmp_path / "release-bot.yml"
    path.write_text(
        "releases:\n  mode: waterfall\nnotes:\n  header: 'v$VERSION'\n  change_template: '- $TITLE by $WHO'\n"
    )
    assert main(["check-config", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:2: releases.mode: 'waterfall' is not one of 'agile', 'strict'" in out
    assert f"{path}:5: notes.change_template: unknown variable $WHO" in out
    assert "2 problem(s)" in out


def test_unreadable_file(tmp_path, capsys):
    assert main(["check-config", str(tmp_path / "missing.yml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_print_effective(tmp_path, capsys):
    path = tmp_path / "release-bot.yml"
    path.write_text("gate:\n  hold_label: wait\n")
    assert main(["check-config", "--print-effective", str(path)]) == 0
    effective = json.loads(capsys.readouterr().out)
    assert effective["gate"]["hold_label"] == "wait" and effective["gate"]["uat_label"] == "uat-passed"


def test_console_script_exit_code(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("releases:\n  mode: sometimes\n")
    script = Path(sys.executable).parent / "release-bot"
    result = subprocess.run(
        [str(script), "check-config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert ":2: releases.mode: 'sometimes' is not one of 'agile', 'strict'" in result.stdout


GOLDEN_CONFIG = """\
releases:
  branch_pattern: 'release/{major}.{minr}'
  timezone: Mars/Olympus
  tracking_issue_title: 'Release {versoin}'
  mode: waterfall
stages:
  deploy:
    checklist:
      - Deploy to production
      - {item: Release published, fact: release_publishd}
notes:
  name_template: 'v{versoin}'
  change_template: '- $TITEL'
"""


def test_golden_every_problem_of_a_file_in_one_run_sorted_by_line(tmp_path, capsys):
    path = tmp_path / "release-bot.yml"
    path.write_text(GOLDEN_CONFIG)
    assert main(["check-config", str(path)]) == 1
    facts = ", ".join(
        repr(f)
        for f in (
            "branch_cut",
            "candidate_tagged",
            "uat_signed_off",
            "final_tagged",
            "release_published",
            "deployed",
            "milestone_closed",
        )
    )
    assert capsys.readouterr().out.splitlines() == [
        (
            f"{path}:2: releases.branch_pattern: unknown placeholder {{minr}}"
            " (known: {major}, {minor}, {patch}, {version})"
        ),
        (
            f"{path}:3: releases.timezone: unknown time zone 'Mars/Olympus'"
            " (use an IANA name such as Europe/Paris)"
        ),
        f"{path}:4: releases.tracking_issue_title: unknown placeholder {{versoin}} (known: {{version}})",
        f"{path}:5: releases.mode: 'waterfall' is not one of 'agile', 'strict'",
        f"{path}:10: stages.deploy.checklist.1.fact: 'release_publishd' is not one of {facts}",
        (
            f"{path}:12: notes.name_template: unknown placeholder {{versoin}}"
            " (known: {major}, {minor}, {patch}, {version})"
        ),
        (
            f"{path}:13: notes.change_template: unknown variable $TITEL"
            " (known: $AUTHOR, $NUMBER, $TITLE, $URL); using the default"
        ),
        f"{path}: 7 problem(s)",
    ]


def test_golden_fact_items_and_known_placeholders_are_valid(tmp_path, capsys):
    path = tmp_path / "release-bot.yml"
    path.write_text(
        "releases:\n  rc_tag_pattern: 'v{version}-rc{n}'\n  tracking_issue_title: 'Ship {version}'\n"
        "stages:\n  deploy:\n    checklist: [Smoke test, {item: Shipped, fact: release_published}]\n"
    )
    assert main(["check-config", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: valid\n"


def test_print_effective_into_a_closed_pipe_has_no_traceback(tmp_path):
    path = tmp_path / "release-bot.yml"
    path.write_text("gate:\n  hold_label: wait\n")
    script = Path(sys.executable).parent / "release-bot"
    # `true` exits without reading: every write of the effective configuration meets a closed pipe.
    result = subprocess.run(
        f"'{script}' check-config --print-effective '{path}' | true; exit ${{PIPESTATUS[0]}}",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == ""
