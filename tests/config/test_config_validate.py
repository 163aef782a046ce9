"""Schema, defaults, merge and line-numbered validation (pure, no I/O)."""

from __future__ import annotations

import re
from pathlib import Path

from jsonschema import Draft202012Validator

from bot.config.defaults import SECTIONS, STAGE_IDS, default_config, load_schema
from bot.config.merge import deep_merge
from bot.config.validate import validate_config, validate_text

ARCHITECTURE = Path(__file__).resolve().parents[2] / "docs" / "ARCHITECTURE.md"


def test_schema_is_valid_and_defaults_validate():
    Draft202012Validator.check_schema(load_schema())
    assert validate_config(default_config()) == []


def test_defaults_match_the_documented_keys():
    config = default_config()
    assert set(config) == set(SECTIONS)
    assert config["gate"]["release_branches"] == ["release/*"]
    assert config["gate"]["check_name"] == "release-bot/gate"
    assert config["releases"]["branch_pattern"] == "release/{major}.{minor}"
    assert config["roles"]["release_managers"] == {"teams": [], "permission": "maintain"}
    assert config["notes"]["released_label"] == "released"
    assert "categories" not in config["notes"]  # unset so release.yml / release-drafter.yml can win
    assert set(config["stages"]) == set(STAGE_IDS)
    assert re.match(config["releases"]["milestone_pattern"], "v1.4.0").group("version") == "1.4.0"


def test_every_key_of_the_architecture_doc_is_in_the_schema():
    text = ARCHITECTURE.read_text()
    block = text.split("## Configuration keys", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    schema = load_schema()["properties"]
    section = None
    for line in block.splitlines():
        match = re.match(r"^(\s*)([a-z_]+):", line)
        if not match:
            continue
        indent, key = len(match.group(1)), match.group(2)
        if indent == 0:
            section = key
            assert key in schema, key
        elif indent == 2 and section not in ("stages", "roles"):
            assert key in schema[section]["properties"], f"{section}.{key}"


def test_merge_maps_deep_lists_replace():
    base = {
        "gate": {"release_branches": ["release/*"], "hold_label": "hold"},
        "notes": {"exclude_labels": ["a"]},
    }
    merged = deep_merge(base, {"gate": {"release_branches": ["main"]}, "notes": {"exclude_labels": []}})
    assert merged == {
        "gate": {"release_branches": ["main"], "hold_label": "hold"},
        "notes": {"exclude_labels": []},
    }
    assert base["gate"]["release_branches"] == ["release/*"]  # inputs untouched


def test_errors_carry_line_numbers():
    text = (
        "# release-bot\n"
        "gate:\n"
        "  release_branches: release/*\n"
        "  check_nam: x\n"
        "releases:\n"
        "  mode: fast\n"
        "notes:\n"
        "  categories:\n"
        "    - labels: [feature]\n"
    )
    _, problems = validate_text(text)
    by_path = {p.pointer(): p for p in problems}
    assert by_path["/gate/release_branches"].line == 3
    assert by_path["/gate/check_nam"].line == 4
    assert "unknown key 'check_nam'" in by_path["/gate/check_nam"].message
    assert by_path["/releases/mode"].line == 6
    assert "'fast' is not one of 'agile', 'strict'" in by_path["/releases/mode"].message
    assert by_path["/notes/categories/0"].line == 9
    assert "'title' is a required property" in by_path["/notes/categories/0"].message


def test_semantic_errors():
    _, problems = validate_text("releases:\n  milestone_pattern: '^(v'\n  timezone: Mars/Olympus\n")
    assert [(p.line, p.path[-1]) for p in problems] == [(2, "milestone_pattern"), (3, "timezone")]
    _, problems = validate_text("releases:\n  milestone_pattern: '^v(\\d+)$'\n")
    assert "(?P<version>" in problems[0].message


def test_yaml_syntax_error_line():
    _, problems = validate_text("gate:\n  release_branches: [a\nnotes: {}\n")
    assert len(problems) == 1 and problems[0].line is not None and problems[0].line >= 2
    assert problems[0].message.startswith("invalid YAML")


def test_unsafe_yaml_refused():
    _, problems = validate_text("gate: !!python/object/apply:os.system ['true']\n")
    assert problems and "invalid YAML" in problems[0].message


def test_alias_bomb_and_huge_files_are_refused_before_anything_walks_them():
    import time

    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [{', '.join(['*a' + str(i - 1)] * 10)}]" for i in range(1, 9)]
    bomb = "\n".join(levels) + "\ngate:\n  release_branches: *a8\n"  # 10^9 values once expanded
    started = time.process_time()
    _, problems = validate_text(bomb)
    assert time.process_time() - started < 2.0
    assert problems and "expands to more than" in problems[0].message
    _, problems = validate_text("notes:\n  template: '" + "x" * 300_000 + "'\n")
    assert problems and "larger than 256 KiB" in problems[0].message
    nested = "gate: " + "[" * 200 + "]" * 200 + "\n"
    _, problems = validate_text(nested)
    assert problems and "levels" in problems[0].message


def test_top_level_must_be_a_map_and_empty_is_fine():
    assert validate_text("")[1] == []
    _, problems = validate_text("- a\n- b\n")
    assert problems and problems[0].line == 1


def test_pattern_errors_say_what_is_expected():
    _, problems = validate_text("stages:\n  deploy:\n    owners: [bob]\nroles:\n  qa:\n    teams: ['a b']\n")
    messages = {p.pointer(): (p.line, p.message) for p in problems}
    assert messages["/stages/deploy/owners/0"] == (3, "'bob' is not an @user or @org/team mention")
    assert messages["/roles/qa/teams/0"][0] == 6
