"""Versions: milestone titles, branches, tags and the release-line rule (pure)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.core.versions import (
    PatternError,
    ReleaseConventions,
    TagInfo,
    Version,
    branch_for,
    branch_line,
    duplicate_versions,
    final_tag,
    next_on_line,
    next_release,
    owning_milestone,
    parse_milestone_title,
    parse_tag,
    previous_final,
    rc_tag,
    release_milestones,
    tag_prefix,
    tags_of,
)


@dataclass(frozen=True)
class M:
    number: int
    title: str


V = Version.parse


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("v1.4.0", "1.4.0"),
        ("1.4.0", "1.4.0"),
        ("v2.0.0-beta.1", "2.0.0-beta.1"),
        ("  v1.4.1 ", "1.4.1"),
        ("Backlog", None),
        ("Sprint 12", None),
        ("v1.4", None),
        ("release 1.4.0", None),
        ("v01.4.0", None),  # not a semantic version (leading zero)
    ],
)
def test_milestone_titles(title: str, expected: str | None) -> None:
    got = parse_milestone_title(title)
    assert (str(got) if got else None) == expected


def test_custom_milestone_pattern_and_bad_regex() -> None:
    assert parse_milestone_title("Release 3.1.0", r"^Release (?P<version>\S+)$") == V("3.1.0")
    assert parse_milestone_title("3.1.0", r"^Release (?P<version>\S+)$") is None
    with pytest.raises(PatternError, match="not a valid regex"):
        parse_milestone_title("v1.0.0", "(unclosed")


def test_semver_ordering_with_prereleases() -> None:
    ms = [M(1, "v1.10.0"), M(2, "v1.9.0"), M(3, "v1.10.0-rc.1"), M(4, "Backlog"), M(5, "v1.2.3")]
    assert [m.number for _, m in release_milestones(ms)] == [5, 2, 3, 1]


def test_branches_and_tags() -> None:
    v = V("1.4.2")
    assert branch_for(v) == "release/1.4"
    assert branch_for(v, "rel-{major}.{minor}.x") == "rel-1.4.x"
    assert rc_tag(v, 3) == "v1.4.2-rc.3"
    assert final_tag(v) == "v1.4.2"
    assert final_tag(v, "release-{version}") == "release-1.4.2"
    with pytest.raises(PatternError):
        branch_for(v, "release/{nope}")
    assert branch_line("release/1.4") == (1, 4)
    assert branch_line("refs/heads/release/2.10") == (2, 10)
    assert branch_line("release/1.x") is None
    assert branch_line("main") is None


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("v1.4.0-rc.2", TagInfo(V("1.4.0"), 2)),
        ("v1.4.0", TagInfo(V("1.4.0"), None)),
        ("refs/tags/v1.4.0-rc.10", TagInfo(V("1.4.0"), 10)),
        ("v2.0.0-beta.1", TagInfo(V("2.0.0-beta.1"), None)),
        ("1.4.0", None),
        ("v1.4", None),
        ("nightly", None),
    ],
)
def test_parse_tag_default_patterns(tag: str, expected: TagInfo | None) -> None:
    assert parse_tag(tag) == expected


def test_parse_tag_custom_patterns() -> None:
    conv = ReleaseConventions(
        rc_tag_pattern="{major}.{minor}.{patch}rc{n}", final_tag_pattern="{major}.{minor}.{patch}"
    )
    assert parse_tag("1.4.0rc2", conv) == TagInfo(V("1.4.0"), 2)
    assert parse_tag("1.4.0", conv) == TagInfo(V("1.4.0"), None)
    assert parse_tag("v1.4.0", conv) is None
    assert tag_prefix(V("1.4.0"), conv) == "1.4.0"


def test_tags_of_a_version_sorted_candidates_then_final() -> None:
    tags = ["v1.4.0", "v1.4.0-rc.10", "v1.4.0-rc.2", "v1.4.1-rc.1", "v1.3.0", "junk"]
    got = tags_of(V("1.4.0"), tags)
    assert [(t.rc) for t in got] == [2, 10, None]
    assert tag_prefix(V("1.4.0")) == "v1.4.0"


def test_owning_milestone_is_lowest_open_on_the_line() -> None:
    open_ms = [M(7, "v1.5.0"), M(3, "v1.4.2"), M(2, "v1.4.1"), M(9, "Backlog"), M(4, "v2.0.0")]
    assert owning_milestone("release/1.4", open_ms, {}).number == 2
    assert owning_milestone("release/1.5", open_ms, {}).number == 7
    assert owning_milestone("release/1.6", open_ms, {}) is None
    assert owning_milestone("main", open_ms, {}) is None
    cfg = {"releases": {"branch_pattern": "stable-{major}"}}
    assert owning_milestone("stable-1", open_ms, cfg).number == 2


def test_carry_over_targets() -> None:
    open_ms = [M(7, "v1.5.0"), M(3, "v1.4.2"), M(9, "Backlog"), M(4, "v2.0.0")]
    assert next_on_line(V("1.4.1"), open_ms).number == 3
    assert next_on_line(V("1.5.0"), open_ms) is None
    assert next_release(V("1.4.1"), open_ms).number == 3
    assert next_release(V("1.5.0"), open_ms).number == 4
    assert next_release(V("2.0.0"), open_ms) is None


def test_duplicates_and_previous_final() -> None:
    ms = [M(1, "v1.4.0"), M(2, "1.4.0"), M(3, "v1.5.0")]
    dup = duplicate_versions(ms)
    assert list(dup) == [V("1.4.0")] and [m.number for m in dup[V("1.4.0")]] == [1, 2]
    finals = [V("1.3.0"), V("1.3.1"), V("1.4.0-beta.1"), V("1.4.0"), V("0.9.0")]
    assert previous_final(V("1.4.0"), finals) == V("1.3.1")
    assert previous_final(V("0.9.0"), finals) is None
