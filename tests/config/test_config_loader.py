"""Loading through the contents API: repo file, org fallback, _extends, last valid config, caching."""

from __future__ import annotations

import pytest

from bot.config.loader import ConfigLoader, parse_extends

RB = ".github/release-bot.yml"


def test_defaults_when_no_file_anywhere(gh, files, store):
    loaded = ConfigLoader(store).load(gh, "acme/rocket")
    assert loaded.error is None and loaded.valid
    assert loaded.config["gate"]["release_branches"] == ["release/*"]
    assert loaded.config["_sources"] == {"release_yml": None, "release_drafter_yml": None}
    assert loaded.sources == []
    assert ("acme/.github", RB) in files.reads  # the org fallback was looked for


def test_repo_file_merged_over_defaults(gh, files, store):
    files.put("acme/rocket", RB, "gate:\n  release_branches: [main, 'hotfix/*']\nreleases:\n  mode: strict\n")
    files.put("acme/.github", RB, "releases:\n  mode: agile\n  tracking_label: org-label\n")
    loaded = ConfigLoader(store).load(gh, "acme/rocket")
    assert loaded.config["gate"]["release_branches"] == ["main", "hotfix/*"]  # lists replace
    assert loaded.config["gate"]["hold_label"] == "hold"  # maps deep-merge
    assert loaded.config["releases"]["mode"] == "strict"
    assert loaded.config["releases"]["tracking_label"] == "release-tracking"  # org file not used
    assert loaded.sources == [f"acme/rocket:{RB}"]
    # one listing of .github/ says which sources exist: release.yml and release-drafter.yml,
    # absent, are not asked for, and the org file is not read when the repository has its own
    assert files.reads == [("acme/rocket", ".github"), ("acme/rocket", RB)]


def test_org_fallback(gh, files, store):
    files.put("acme/.github", RB, "gate:\n  hold_label: on-hold\n")
    loaded = ConfigLoader(store).load(gh, "acme/rocket")
    assert loaded.config["gate"]["hold_label"] == "on-hold"
    assert loaded.sources == [f"acme/.github:{RB}"]
    assert "acme/.github" in loaded.depends_on


def test_notes_sources_raw(gh, files, store):
    files.put(
        "acme/rocket",
        ".github/release.yml",
        "changelog:\n  categories:\n    - title: Features\n      labels: [feature]\n",
    )
    files.put("acme/rocket", ".github/release-drafter.yml", "template: '$CHANGES'\n")
    sources = ConfigLoader(store).load(gh, "acme/rocket").config["_sources"]
    assert sources["release_yml"]["changelog"]["categories"][0]["title"] == "Features"
    assert sources["release_drafter_yml"] == {"template": "$CHANGES"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("shared", ("acme/shared", RB)),
        ("other/shared", ("other/shared", RB)),
        ("shared:configs/base.yml", ("acme/shared", "configs/base.yml")),
        ("other/shared:/base.yml", ("other/shared", "base.yml")),
    ],
)
def test_parse_extends(value, expected):
    assert parse_extends(value, "acme") == expected


def test_extends_chain(gh, files, store):
    files.put("acme/rocket", RB, "_extends: shared\ngate:\n  hold_label: rocket-hold\n")
    files.put(
        "acme/shared",
        RB,
        "_extends: acme/base:conf/base.yml\ngate:\n  uat_label: shared-uat\n  hold_label: shared-hold\n",
    )
    files.put("acme/base", "conf/base.yml", "gate:\n  uat_label: base-uat\n  approval_label: base-ok\n")
    loaded = ConfigLoader(store).load(gh, "acme/rocket")
    assert loaded.error is None
    gate = loaded.config["gate"]
    assert (gate["hold_label"], gate["uat_label"], gate["approval_label"]) == (
        "rocket-hold",
        "shared-uat",
        "base-ok",
    )
    assert loaded.sources == [f"acme/rocket:{RB}", f"acme/shared:{RB}", "acme/base:conf/base.yml"]
    assert {"acme/shared", "acme/base"} <= loaded.depends_on
    assert "_extends" not in loaded.config


def test_extends_into_another_account_is_refused(gh, files, store):
    """Another organization's public repository is readable by any token: roles must not come from it."""
    files.put("acme/rocket", RB, "_extends: evil/config\n")
    files.put("evil/config", RB, "roles:\n  release_managers: {users: [mallory]}\n")
    loaded = ConfigLoader(store).load(gh, "acme/rocket")
    assert loaded.error is not None and "_extends may only name a repository of `acme`" in loaded.error
    assert not loaded.valid  # never valid: defaults, and the gate fails closed
    assert ("evil/config", RB) not in files.reads


def test_extends_loop_refused(gh, files, store):
    files.put("acme/rocket", RB, "_extends: a\n")
    files.put("acme/a", RB, "_extends: b\n")
    files.put("acme/b", RB, "_extends: acme/a\n")
    loaded = ConfigLoader(store).load(gh, "acme/rocket")
    assert loaded.error is not None and "_extends loop" in loaded.error
    assert f"acme/a:{RB} -> acme/b:{RB} -> acme/a:{RB}" in loaded.error
    assert not loaded.valid  # nothing valid ever seen: defaults, gate fails closed
    assert loaded.config["gate"]["release_branches"] == ["release/*"]


def test_extends_self_loop_and_missing_target(gh, files, store):
    files.put("acme/rocket", RB, "_extends: rocket\n")
    assert "_extends loop" in ConfigLoader(store).load(gh, "acme/rocket").error
    files.put("acme/rocket", RB, "_extends: nowhere\n")
    error = ConfigLoader(store).load(gh, "acme/rocket").error
    assert "acme/nowhere" in error and "does not exist" in error


def test_invalid_file_keeps_last_valid_config(gh, files, store):
    loader = ConfigLoader(store)
    files.put("acme/rocket", RB, "gate:\n  hold_label: frozen\n")
    assert loader.load(gh, "acme/rocket").config["gate"]["hold_label"] == "frozen"
    files.put("acme/rocket", RB, "gate:\n  hold_label: frozen\n  require_milestone: maybe\n")
    loader.invalidate("acme/rocket")
    loaded = loader.load(gh, "acme/rocket")
    assert loaded.valid
    assert loaded.config["gate"]["hold_label"] == "frozen"
    assert loaded.config["gate"]["require_milestone"] is True
    assert ":3: gate.require_milestone: 'maybe' is not of type 'boolean'" in loaded.error


def test_invalid_without_history_fails_closed(gh, files, store):
    files.put("acme/rocket", RB, "gate: [\n")
    loaded = ConfigLoader(store).load(gh, "acme/rocket")
    assert not loaded.valid and "invalid YAML" in loaded.error


def test_cache_and_invalidation(gh, files, store):
    loader = ConfigLoader(store)
    files.put("acme/rocket", RB, "gate:\n  hold_label: one\n")
    assert loader.load(gh, "acme/rocket").config["gate"]["hold_label"] == "one"
    reads = len(files.reads)
    files.put("acme/rocket", RB, "gate:\n  hold_label: two\n")
    assert loader.load(gh, "acme/rocket").config["gate"]["hold_label"] == "one"  # cached
    assert len(files.reads) == reads
    loader.invalidate_source("acme/rocket")
    assert loader.load(gh, "acme/rocket").config["gate"]["hold_label"] == "two"


def test_org_push_invalidates_dependents_in_other_processes(gh, files, store):
    """Two loaders (web and worker processes) share the store; an invalidation in one is seen by the other."""
    files.put("acme/.github", RB, "gate:\n  hold_label: one\n")
    worker, other = ConfigLoader(store), ConfigLoader(store)
    assert worker.load(gh, "acme/rocket", repo_id=42, installation_id=5).config["gate"]["hold_label"] == "one"
    files.put("acme/.github", RB, "gate:\n  hold_label: two\n")
    [dependent] = other.dependents("acme/.github")
    assert (dependent.repo_full_name, dependent.repo_id, dependent.installation_id) == ("acme/rocket", 42, 5)
    other.invalidate_source("acme/.github")
    assert worker.load(gh, "acme/rocket").config["gate"]["hold_label"] == "two"


def test_loaded_config_is_a_private_copy(gh, files, store):
    loader = ConfigLoader(store)
    loader.load(gh, "acme/rocket").config["gate"]["release_branches"].append("evil")
    assert loader.load(gh, "acme/rocket").config["gate"]["release_branches"] == ["release/*"]


def test_last_valid_written_only_on_change(gh, files, store):
    loader = ConfigLoader(store)
    files.put("acme/rocket", RB, "gate:\n  hold_label: x\n")
    loader.load(gh, "acme/rocket")
    writes = store.writes
    loader.invalidate("acme/rocket")
    loader.load(gh, "acme/rocket")
    assert store.writes == writes
