"""release-drafter's format, one behaviour per option: the documented default and a set value.

The configurations follow the examples of release-drafter's README; the expected bodies are
what release-drafter's documented rules produce for these pull requests (written by hand here).
"""

from __future__ import annotations

import pytest

from bot.core.notes import NoteItem, ReleaseInfo, check_notes_config, render_notes, resolve_notes_config

RELEASE = ReleaseInfo("1.4.0", "v1.4.0", "v1.3.0", "acme", "rocket", milestone_number=7)


def pr(
    number: int, title: str, labels: tuple[str, ...] = (), *, author: str = "dev", day: int = 0, **kw
) -> NoteItem:
    return NoteItem(
        number=number,
        title=title,
        author=author,
        url=f"https://github.com/acme/rocket/pull/{number}",
        labels=labels,
        merged_at=f"2026-01-{(day or number):02d}T10:00:00Z",
        author_is_bot=author.endswith("[bot]"),
        **kw,
    )


PRS = [
    pr(1, "Add rocket boosters", ("feature",), author="alice"),
    pr(2, "Fix launch crash", ("bug",), author="bob"),
    pr(3, "Tidy up the README", (), author="carol"),
    pr(4, "Internal refactor", ("skip-changelog",), author="dave"),
]


def body(drafter: dict, items: list[NoteItem] = PRS, release: ReleaseInfo = RELEASE) -> str:
    config = resolve_notes_config({}, drafter_yml=drafter)
    assert config.mode == "release-drafter"
    return render_notes(items, config, release).markdown


class TestLayout:
    def test_defaults_flat_list_newest_first_no_exclusions_no_compare_link(self) -> None:
        # No categories, no exclude-labels: every pull request, newest first, `* ` bullets,
        # `$AUTHORS` as @mentions, and nothing added after the template.
        assert body({"template": "## What's Changed\n\n$CHANGES"}) == (
            "## What's Changed\n\n"
            "* Internal refactor (#4) @dave\n"
            "* Tidy up the README (#3) @carol\n"
            "* Fix launch crash (#2) @bob\n"
            "* Add rocket boosters (#1) @alice"
        )

    def test_categories_uncategorized_first_without_heading(self) -> None:
        drafter = {
            "template": "$CHANGES",
            "categories": [
                {"title": "🚀 Features", "labels": ["feature", "enhancement"]},
                {"title": "🐛 Bug Fixes", "label": "bug"},
            ],
        }
        assert body(drafter, PRS[:3]) == (
            "* Tidy up the README (#3) @carol\n\n"
            "## 🚀 Features\n\n* Add rocket boosters (#1) @alice\n\n"
            "## 🐛 Bug Fixes\n\n* Fix launch crash (#2) @bob"
        )

    def test_v7_when_label_is_not_a_catch_all(self) -> None:
        drafter = {
            "template": "$CHANGES",
            "categories": [
                {"title": "Features", "when": {"label": "feature"}},
                {"title": "Fixes", "when": [{"labels": ["bug"]}, {"labels": ["regression"]}]},
            ],
        }
        assert body(drafter, PRS[:3]) == (
            "* Tidy up the README (#3) @carol\n\n"
            "## Features\n\n* Add rocket boosters (#1) @alice\n\n"
            "## Fixes\n\n* Fix launch crash (#2) @bob"
        )

    def test_category_without_conditions_collects_the_uncategorized(self) -> None:
        drafter = {
            "template": "$CHANGES",
            "categories": [{"title": "Features", "label": "feature"}, {"title": "Other"}],
        }
        assert body(drafter, PRS[:3]) == (
            "## Features\n\n* Add rocket boosters (#1) @alice\n\n"
            "## Other\n\n* Tidy up the README (#3) @carol\n* Fix launch crash (#2) @bob"
        )

    def test_a_change_in_two_categories_is_listed_twice_unless_exclusive(self) -> None:
        both = [pr(5, "Faster and fixed", ("feature", "bug"))]
        cats = [{"title": "F", "label": "feature"}, {"title": "B", "label": "bug"}]
        assert body({"template": "$CHANGES", "categories": cats}, both) == (
            "## F\n\n* Faster and fixed (#5) @dev\n\n## B\n\n* Faster and fixed (#5) @dev"
        )
        cats[0]["exclusive"] = True
        assert (
            body({"template": "$CHANGES", "categories": cats}, both) == "## F\n\n* Faster and fixed (#5) @dev"
        )

    def test_category_template(self) -> None:
        cats = [{"title": "Features", "label": "feature"}]
        assert body({"template": "$CHANGES", "categories": cats}, PRS[:1]).startswith("## Features\n\n")
        drafter = {"template": "$CHANGES", "categories": cats, "category-template": "### $TITLE :sparkles:"}
        assert body(drafter, PRS[:1]).startswith("### Features :sparkles:\n\n")

    def test_collapse_after(self) -> None:
        cats = [{"title": "Features", "label": "feature", "collapse-after": 1}]
        items = [pr(1, "One", ("feature",)), pr(2, "Two", ("feature",))]
        assert body({"template": "$CHANGES", "categories": cats}, items) == (
            "## Features\n\n<details>\n<summary>2 changes</summary>\n\n"
            "* Two (#2) @dev\n* One (#1) @dev\n</details>"
        )
        cats[0]["collapse-after"] = 2
        assert "<details>" not in body({"template": "$CHANGES", "categories": cats}, items)


class TestFilters:
    def test_exclude_labels(self) -> None:
        text = body({"template": "$CHANGES", "exclude-labels": ["skip-changelog"]})
        assert "Internal refactor" not in text and "Tidy up" in text

    def test_pre_exclude_category(self) -> None:
        drafter = {
            "template": "$CHANGES",
            "categories": [{"type": "pre-exclude", "when": {"label": "skip-changelog"}}],
        }
        assert "Internal refactor" not in body(drafter)

    def test_include_labels(self) -> None:
        assert body({"template": "$CHANGES", "include-labels": ["bug", "feature"]}) == (
            "* Fix launch crash (#2) @bob\n* Add rocket boosters (#1) @alice"
        )

    def test_version_resolver_category_renders_nothing(self) -> None:
        drafter = {
            "template": "$CHANGES",
            "categories": [
                {"type": "version-resolver", "semver-increment": "minor", "when": {"label": "feature"}}
            ],
        }
        assert body(drafter, PRS[:1]) == "* Add rocket boosters (#1) @alice"

    def test_labels_mode_all(self) -> None:
        cats = [{"title": "Both", "when": {"labels": ["feature", "bug"], "labels-mode": "all"}}]
        items = [pr(1, "Only feature", ("feature",)), pr(2, "Both", ("feature", "bug"))]
        assert body({"template": "$CHANGES", "categories": cats}, items) == (
            "* Only feature (#1) @dev\n\n## Both\n\n* Both (#2) @dev"
        )

    def test_conventional_condition(self) -> None:
        cats = [{"title": "Breaking", "when": {"conventional": {"breaking": True}}}]
        items = [pr(1, "feat(api)!: drop v1"), pr(2, "fix: typo")]
        assert body({"template": "$CHANGES", "categories": cats}, items) == (
            "* fix: typo (#2) @dev\n\n## Breaking\n\n* feat(api)!: drop v1 (#1) @dev"
        )

    def test_paths_with_known_files(self) -> None:
        items = [
            pr(1, "Docs", changed_files=("docs/index.md",)),
            pr(2, "Code", changed_files=("src/app.py", "docs/api.md")),
        ]
        # exclude-paths drops a change that touched an excluded path at all (release-drafter: any).
        assert body({"template": "$CHANGES", "exclude-paths": ["docs/"]}, items) == "* No changes"
        assert body({"template": "$CHANGES", "include-paths": ["src"]}, items) == "* Code (#2) @dev"

    def test_paths_unknown_are_reported_not_silently_applied(self) -> None:
        config = resolve_notes_config({}, drafter_yml={"template": "$CHANGES", "include-paths": ["src"]})
        notes = render_notes(PRS[:1], config, RELEASE)
        assert notes.markdown == "* Add rocket boosters (#1) @alice"
        assert any("changed files" in e for e in notes.errors)


class TestTemplates:
    def test_template_without_changes_is_rendered_as_written(self) -> None:
        assert body({"template": "Release of $RESOLVED_VERSION"}) == "Release of 1.4.0"

    def test_unknown_variables_stay_as_written(self) -> None:
        assert body({"template": "$CHANGES\n$NOPE", "change-template": "- $TITLE $WHO"}, PRS[:1]) == (
            "- Add rocket boosters $WHO\n$NOPE"
        )

    def test_body_and_url_in_change_template(self) -> None:
        items = [pr(1, "Add boosters", body="Long text.")]
        assert body({"template": "$CHANGES", "change-template": "* $TITLE $URL\n  $BODY"}, items) == (
            "* Add boosters https://github.com/acme/rocket/pull/1\n  Long text."
        )

    def test_next_versions_come_from_the_previous_release(self) -> None:
        text = "$NEXT_MAJOR_VERSION $NEXT_MINOR_VERSION $NEXT_PATCH_VERSION / $RESOLVED_VERSION"
        assert body({"template": text}) == "2.0.0 1.4.0 1.3.1 / 1.4.0"
        assert body({"template": "v$NEXT_MINOR_VERSION_MAJOR.$NEXT_MINOR_VERSION_MINOR"}) == "v1.4"

    def test_version_template(self) -> None:
        assert body({"template": "$RESOLVED_VERSION", "version-template": "$MAJOR.$MINOR"}) == "1.4"

    def test_header_and_footer_are_joined_without_separator(self) -> None:
        assert body({"header": "Top\n", "template": "Middle", "footer": "\nBottom"}) == "Top\nMiddle\nBottom"

    def test_no_changes_template(self) -> None:
        assert body({"template": "$CHANGES"}, []) == "* No changes"
        assert body({"template": "$CHANGES", "no-changes-template": "Nothing in $RESOLVED_VERSION"}, []) == (
            "Nothing in 1.4.0"
        )

    def test_previous_tag_owner_repository(self) -> None:
        assert body({"template": "$OWNER/$REPOSITORY since $PREVIOUS_TAG"}) == "acme/rocket since v1.3.0"

    def test_user_text_is_never_read_as_a_template(self) -> None:
        items = [pr(1, "Mention $RESOLVED_VERSION and $CHANGES")]
        assert body({"template": "$CHANGES"}, items) == "* Mention $RESOLVED_VERSION and $CHANGES (#1) @dev"


class TestPeople:
    def test_contributors_and_exclude_contributors(self) -> None:
        assert body({"template": "$CONTRIBUTORS"}) == "@alice, @bob, @carol and @dave"
        assert (
            body({"template": "$CONTRIBUTORS", "exclude-contributors": ["bob"]}) == "@alice, @carol and @dave"
        )

    def test_no_contributors_template(self) -> None:
        assert body({"template": "$CONTRIBUTORS"}, []) == "No contributors"
        assert body({"template": "$CONTRIBUTORS", "no-contributors-template": "Nobody"}, []) == "Nobody"

    def test_bots_are_linked_to_their_app_and_listed_last(self) -> None:
        items = [pr(1, "Bump x", author="dependabot[bot]"), pr(2, "Fix", author="zoe")]
        assert body({"template": "$CHANGES\n$CONTRIBUTORS"}, items) == (
            "* Fix (#2) @zoe\n* Bump x (#1) [@dependabot[bot]](https://github.com/apps/dependabot)\n"
            "@zoe and [@dependabot[bot]](https://github.com/apps/dependabot)"
        )

    def test_change_author_template_and_author(self) -> None:
        drafter = {
            "template": "$CHANGES",
            "change-template": "* $TITLE by $AUTHORS ($AUTHOR)",
            "change-author-template": "**$AUTHOR**",
        }
        assert body(drafter, PRS[:1]) == "* Add rocket boosters by **alice** (alice)"

    def test_new_contributors(self) -> None:
        items = [
            pr(1, "First", author="newbie", first_contribution=True),
            pr(2, "Again", author="old", first_contribution=False),
        ]
        assert (
            body({"template": "$NEW_CONTRIBUTORS"}, items) == "* @newbie made their first contribution in #1"
        )
        assert body({"template": "$NEW_CONTRIBUTORS"}, items[1:]) == "* No new contributors"

    def test_new_contributors_unknown_is_reported(self) -> None:
        config = resolve_notes_config({}, drafter_yml={"template": "$NEW_CONTRIBUTORS"})
        notes = render_notes(PRS, config, RELEASE)
        assert notes.markdown == "* No new contributors"
        assert any("$NEW_CONTRIBUTORS" in e for e in notes.errors)


class TestOrderAndText:
    def test_sort_by_title_and_direction(self) -> None:
        assert body({"template": "$CHANGES", "sort-by": "title", "sort-direction": "ascending"}) == (
            "* Add rocket boosters (#1) @alice\n* Fix launch crash (#2) @bob\n"
            "* Internal refactor (#4) @dave\n* Tidy up the README (#3) @carol"
        )
        assert body({"template": "$CHANGES", "sort-direction": "ascending"}).startswith(
            "* Add rocket boosters"
        )

    def test_titles_are_not_escaped_by_default(self) -> None:
        items = [pr(1, "Use <b> and @here and _x_")]
        assert body({"template": "$CHANGES"}, items) == "* Use <b> and @here and _x_ (#1) @dev"

    def test_change_title_escapes(self) -> None:
        items = [pr(1, "Use <b>, @here, #12 and _x_ but `keep_<this>`")]
        assert body({"template": "$CHANGES", "change-title-escapes": "\\<*_&@#"}, items) == (
            "* Use \\<b>, @<!---->here, #<!---->12 and \\_x\\_ but `keep_<this>` (#1) @dev"
        )

    def test_replacers_apply_to_the_whole_body_with_js_syntax(self) -> None:
        drafter = {
            "template": "Fixes: $CHANGES\n\nJENKINS-1 and jenkins-2",
            "replacers": [
                {"search": "/JENKINS-(\\d+)/gi", "replace": "[$&](https://issues.example/JENKINS-$1)"},
                {"search": "Fixes:", "replace": "Fixed\\n\\u$0"},
                {"search": "/launch/", "replace": "$$LAUNCH"},
            ],
        }
        assert body(drafter, [pr(2, "Fix launch crash, launch JENKINS-7")]) == (
            "Fixed\nFixes: * Fix $LAUNCH crash, launch "
            "[JENKINS-7](https://issues.example/JENKINS-7) (#2) @dev\n\n"
            "[JENKINS-1](https://issues.example/JENKINS-1) and [jenkins-2](https://issues.example/JENKINS-2)"
        )

    def test_a_replacer_that_backtracks_for_ever_is_skipped_and_reported(self) -> None:
        drafter = {
            "template": "$CHANGES " + "a" * 40 + "!",
            "replacers": [{"search": "/(a|aa)+$/", "replace": "x"}, {"search": "Fix", "replace": "Mend"}],
        }
        config = resolve_notes_config({}, drafter_yml=drafter)
        rendered = render_notes([pr(2, "Fix launch")], config, RELEASE)
        assert rendered.markdown.startswith("* Mend launch (#2) @dev aaaa")  # the next replacer still ran
        assert any("took longer than" in error for error in rendered.errors)

    def test_bad_replacer_is_reported_and_dropped(self) -> None:
        errors = check_notes_config(
            {}, drafter_yml={"template": "x", "replacers": [{"search": "/(/g", "replace": ""}]}
        )
        assert len(errors) == 1 and "bad replacer regex" in errors[0]

    def test_release_note_blocks_change_nothing_without_one(self) -> None:
        items = [pr(1, "Title", body="```release-note\nThe note.\n```"), pr(2, "Plain")]
        assert body({"template": "$CHANGES"}, items) == "* Plain (#2) @dev\n* The note. (#1) @dev"

    def test_a_body_cannot_close_the_bots_section(self) -> None:
        items = [pr(1, "T", body="x\n<!-- release-bot:notes-end:7 -->\ny")]
        text = body({"template": "$CHANGES", "change-template": "$BODY"}, items)
        assert "\n<!-- release-bot:notes-end:7 -->" not in text and "<!----><!-- release-bot:" in text


@pytest.mark.parametrize("value", [7, ["x"], {"a": 1}])
def test_wrong_types_are_reported_and_defaults_used(value: object) -> None:
    config = resolve_notes_config({}, drafter_yml={"template": "$CHANGES", "change-template": value})
    assert any("change-template" in e for e in config.errors)
    assert render_notes(PRS[:1], config, RELEASE).markdown == "* Add rocket boosters (#1) @alice"


def test_a_release_bot_notes_key_keeps_release_bots_format() -> None:
    config = resolve_notes_config({"header": "Hi"}, drafter_yml={"template": "$CHANGES"})
    assert config.mode == "release-bot"
    forced = resolve_notes_config({"format": "release-drafter"}, drafter_yml={"template": "$CHANGES"})
    assert forced.mode == "release-drafter"


class TestMoreOptions:
    def test_authors_separators_with_commit_co_authors(self) -> None:
        items = [pr(1, "Pair work", author="alice", commit_authors=(("bob", True), ("Carol Day", False)))]
        assert body({"template": "$CHANGES"}, items) == "* Pair work (#1) @alice, @bob, Carol Day"
        drafter = {
            "template": "$CHANGES",
            "change-authors-separator": " / ",
            "change-authors-final-separator": " & ",
        }
        assert body(drafter, items) == "* Pair work (#1) @alice / @bob & Carol Day"

    def test_new_contributor_templates(self) -> None:
        items = [pr(3, "First", author="newbie", first_contribution=True)]
        drafter = {
            "template": "$NEW_CONTRIBUTORS",
            "new-contributor-template": "- $AUTHOR in $URL ($AUTHOR_URL)",
        }
        assert body(drafter, items) == (
            "- newbie in https://github.com/acme/rocket/pull/3 (https://github.com/newbie)"
        )
        none = {"template": "$NEW_CONTRIBUTORS", "no-new-contributor-template": "Nobody new"}
        assert body(none, [pr(4, "Again", first_contribution=False)]) == "Nobody new"

    def test_tag_prefix_is_stripped_for_next_versions(self) -> None:
        release = ReleaseInfo("2.2.0", "app-v2.2.0", "app-v2.1.5", "acme", "rocket")
        assert body({"template": "$NEXT_PATCH_VERSION", "tag-prefix": "app-v"}, [], release) == "2.1.6"

    @pytest.mark.parametrize(
        ("mode", "expected"),
        [("any", ["a", "ab", "abc"]), ("all", ["ab", "abc"]), ("only", ["a", "ab"]), ("exactly", ["ab"])],
    )
    def test_labels_modes(self, mode: str, expected: list[str]) -> None:
        items = [pr(1, "a", ("a",)), pr(2, "ab", ("a", "b")), pr(3, "abc", ("a", "b", "c"))]
        drafter = {
            "template": "$CHANGES",
            "change-template": "$TITLE",
            "category-template": "",
            "categories": [{"title": "X", "when": {"labels": ["a", "b"], "labels-mode": mode}}],
            "include-labels": ["a"],
        }
        config = resolve_notes_config({}, drafter_yml=drafter)
        notes = render_notes(items, config, RELEASE)
        (category,) = [c for c in notes.categories if c.title == "X"]
        assert sorted(i.title for i in category.items) == expected

    def test_paths_mode_only(self) -> None:
        items = [
            pr(1, "Docs only", changed_files=("docs/a.md",)),
            pr(2, "Docs and code", changed_files=("docs/b.md", "src/c.py")),
        ]
        cats = [{"title": "Docs", "when": {"paths": ["docs/"], "paths-mode": "only"}}]
        assert body({"template": "$CHANGES", "categories": cats}, items) == (
            "* Docs and code (#2) @dev\n\n## Docs\n\n* Docs only (#1) @dev"
        )

    def test_category_and_author_url_variables(self) -> None:
        drafter = {
            "template": "$CHANGES",
            "categories": [{"title": "Features", "label": "feature"}],
            "category-template": "",
            "change-template": "[$CATEGORY] $TITLE by [$AUTHOR]($AUTHOR_URL)",
        }
        assert body(drafter, PRS[:1]) == "[Features] Add rocket boosters by [alice](https://github.com/alice)"


class TestContributorOrder:
    """release-drafter's order of contributors: pull request authors first, people before apps,
    then by name; commit co-authors after the pull request's author."""

    CO_AUTHORED = pr(
        3,
        "Adds missing <example>",
        author="octocat",
        commit_authors=(
            ("octocat", True),
            ("jetersen", True),
            ("cchanche", True),
            ("github-actions[bot]", True),
        ),
    )

    def test_contributors_sentence(self) -> None:
        assert body({"template": "$CONTRIBUTORS"}, [self.CO_AUTHORED]) == (
            "@octocat, @cchanche, @jetersen and [@github-actions[bot]](https://github.com/apps/github-actions)"
        )

    def test_authors_with_author_template(self) -> None:
        drafter = {
            "template": "$CHANGES",
            "change-template": "$AUTHOR | $AUTHORS",
            "change-author-template": "$AUTHOR: $AUTHOR_MENTION",
        }
        assert body(drafter, [self.CO_AUTHORED]) == (
            "octocat | octocat: @octocat, cchanche: @cchanche, jetersen: @jetersen, "
            "github-actions[bot]: [@github-actions[bot]](https://github.com/apps/github-actions)"
        )

    def test_deleted_author_is_ghost(self) -> None:
        drafter = {
            "template": "$CHANGES",
            "change-template": "$AUTHORS",
            "change-author-template": "$AUTHOR: $AUTHOR_MENTION",
        }
        assert body(drafter, [pr(1, "Orphan", author="ghost")]) == "ghost: @ghost"
