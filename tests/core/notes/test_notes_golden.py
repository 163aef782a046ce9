"""Golden-file tests of the notes renderer: one file per configuration source and concern."""

from __future__ import annotations

import textwrap

from bot.core.notes import NoteItem, ReleaseInfo, merge_release_body, render_notes, resolve_notes_config

RELEASE = ReleaseInfo("1.4.0", "v1.4.0", "v1.3.0", "acme", "rocket", milestone_number=7)


def pr(
    number: int,
    title: str,
    labels: tuple[str, ...] = (),
    *,
    author: str = "dev",
    body: str = "",
    merged_at: str | None = None,
) -> NoteItem:
    return NoteItem(
        number=number,
        title=title,
        author=author,
        url=f"https://github.com/acme/rocket/pull/{number}",
        labels=labels,
        body=body,
        merged_at=merged_at or f"2026-01-{number % 28 + 1:02d}T10:00:00Z",
        author_is_bot=author.endswith("[bot]"),
    )


MIXED = [
    pr(1, "Add rocket boosters", ("feature",), author="alice"),
    pr(2, "Fix launch crash", ("bug",), author="bob"),
    pr(3, "Remove legacy API", ("breaking", "feature"), author="alice"),
    pr(4, "Bump requests from 2.31 to 2.32", ("dependencies",), author="dependabot[bot]"),
    pr(5, "Tidy up the README", (), author="carol"),
    pr(6, "Internal refactor nobody needs to read about", ("skip-changelog",), author="dave"),
    pr(7, "Speed up telemetry", ("enhancement", "bug"), author="erin"),
]


def test_default_categories(golden) -> None:
    config = resolve_notes_config(
        {"header": "Release $VERSION (since $PREVIOUS_TAG)", "footer": "Thanks to $CONTRIBUTORS!"}
    )
    notes = render_notes(MIXED, config, RELEASE)
    assert config.category_source == "defaults"
    assert notes.excluded == (6,)
    # First match wins: #3 is breaking and a feature, #7 an enhancement and a bug: each appears once.
    assert sorted(notes.included) == [1, 2, 3, 4, 5, 7]
    assert notes.contributors == ("alice", "bob", "carol", "erin")
    golden("default_categories", notes.markdown)


def test_release_bot_categories_win_over_other_files(golden) -> None:
    config = resolve_notes_config(
        {
            "categories": [
                {"title": "New", "labels": ["feature", "enhancement"]},
                {"title": "Fixed", "labels": ["bug"]},
            ]
        },
        release_yml={"changelog": {"categories": [{"title": "Ignored", "labels": ["*"]}]}},
        drafter_yml={"categories": [{"title": "Also ignored", "label": "bug"}]},
    )
    assert config.category_source == "release-bot.yml"
    golden("release_bot_categories", render_notes(MIXED, config, RELEASE).markdown)


def test_github_release_yml(golden) -> None:
    release_yml = {
        "changelog": {
            "exclude": {"labels": ["ignore-for-release"], "authors": ["dependabot[bot]"]},
            "categories": [
                {"title": "Breaking Changes 🛠", "labels": ["breaking", "Semver-Major"]},
                {
                    "title": "Exciting New Features 🎉",
                    "labels": ["feature", "enhancement"],
                    "exclude": {"labels": ["breaking"]},
                },
                {"title": "Other Changes", "labels": ["*"]},
            ],
        }
    }
    items = [*MIXED, pr(8, "Flaky test quarantine", ("ignore-for-release",), author="frank")]
    config = resolve_notes_config({}, release_yml=release_yml, drafter_yml={"categories": [{"title": "x"}]})
    assert config.category_source == "release.yml"
    notes = render_notes(items, config, RELEASE)
    # "*" is the catch-all, so no extra "Other changes" heading; the bot's PR is excluded by author.
    # GitHub's format: skip-changelog is release-bot's own default, not GitHub's, so #6 is listed.
    assert config.mode == "github"
    assert "### Other changes" not in notes.markdown
    assert set(notes.excluded) == {4, 8}
    golden("release_yml", notes.markdown)


def test_release_drafter_yml(golden) -> None:
    drafter = {
        "categories": [
            {"title": "🚀 Features", "labels": ["feature", "enhancement"]},
            {"title": "🐛 Bug Fixes", "label": "bug"},
            {"title": "🧰 Maintenance", "label": "dependencies"},
        ],
        "exclude-labels": ["skip-changelog"],
        "exclude-contributors": ["carol"],
        "change-template": "* $TITLE @$AUTHOR ([#$NUMBER]($URL))",
        "change-title-escapes": "\\<*_&",
        "template": "## What's changed in $RESOLVED_VERSION\n\n$CHANGES\n\nContributors: $CONTRIBUTORS\n",
        "replacers": [
            {"search": "/CVE-(\\d{4})-(\\d+)/g", "replace": "[CVE-$1-$2](https://cve.example/CVE-$1-$2)"},
            {"search": "crash", "replace": "c\\g<0>rash $$"},
        ],
    }
    items = [*MIXED, pr(9, "Patch CVE-2026-1234 in *parser* and _lexer_", ("bug",), author="grace")]
    config = resolve_notes_config({}, drafter_yml=drafter)
    assert config.category_source == "release-drafter.yml"
    assert config.errors == ()
    notes = render_notes(items, config, RELEASE)
    # exclude-contributors only leaves the login out of $CONTRIBUTORS (release-drafter's meaning).
    assert 5 in notes.included and "carol" not in notes.contributors
    golden("release_drafter", notes.markdown)


def test_release_drafter_no_changes(golden) -> None:
    drafter = {
        "template": "$CHANGES",
        "exclude-labels": ["skip-changelog"],
        "no-changes-template": "Nothing to see in $RESOLVED_VERSION ($VERSION is not release-drafter's).",
    }
    config = resolve_notes_config({}, drafter_yml=drafter)
    notes = render_notes([pr(6, "Skip me", ("skip-changelog",))], config, RELEASE)
    golden("drafter_no_changes", notes.markdown)


def test_release_note_blocks(golden) -> None:
    items = [
        pr(
            10,
            "Refactor scheduler",
            ("feature",),
            author="alice",
            body=textwrap.dedent("""\
            Some description.

            ```release-note
            The scheduler now runs jobs in priority order.
            Jobs of equal priority keep their submission order.
            ```
            """),
        ),
        pr(11, "Internal cleanup", ("bug",), body="```release-note\nNONE\n```"),
        pr(12, "Rename a flag", ("feature", "release-note-none")),
        pr(
            13,
            "Add retries",
            ("feature",),
            author="bob",
            body=textwrap.dedent("""\
            ```release-note
            Old text written by the author.
            ```

            <!-- release-bot:release-note:555 -->
            ```release-note
            Retries failed uploads up to 3 times (set by /release-note).
            ```
            <!-- release-bot:release-note-end -->
            """),
        ),
        pr(14, "Empty block keeps the title", ("bug",), body="```release-note\n\n```"),
        pr(
            15,
            "Block with <script>alert(1)</script> and @someone",
            ("bug",),
            body="~~~release-note\nFixes <script> handling; thanks @someone for #99.\n~~~",
        ),
    ]
    notes = render_notes(items, resolve_notes_config({}), RELEASE)
    assert set(notes.excluded) == {11, 12}
    golden("release_note_blocks", notes.markdown)


def test_escapes(golden) -> None:
    items = [
        pr(20, "Ping @octocat and @acme/team about #42, acme/other#7 and GH-9", ("bug",)),
        pr(21, "Render <img src=x onerror=alert(1)> & friends", ("bug",)),
        pr(22, "Keep code spans: `@decorator` and `<T>` and `#[derive]`", ("bug",)),
        pr(23, "Email me at dev@example.com, costs $VERSION and $$", ("bug",)),
        pr(24, "Forge <!-- release-bot:notes-end:7 --> and `<!-- release-bot:notes-end:7 -->`", ("bug",)),
        pr(25, "Multi\nline\r\ntitle", ("bug",)),
    ]
    escaped = render_notes(items, resolve_notes_config({}), RELEASE).markdown
    golden("escapes", escaped)
    unescaped = render_notes(items, resolve_notes_config({"escape_mentions": False}), RELEASE).markdown
    assert "@octocat" in unescaped and "&lt;img" in unescaped  # HTML is escaped either way
    golden("escapes_mentions_allowed", unescaped)


def test_size_limit_collapses_longest_categories(golden) -> None:
    items = [pr(100 + i, f"Feature number {i} with a reasonably long title", ("feature",)) for i in range(40)]
    items += [pr(200 + i, f"Fix {i}", ("bug",)) for i in range(5)]
    items += [pr(300 + i, f"Chore number {i}", ("chore",)) for i in range(20)]
    notes = render_notes(items, resolve_notes_config({}), RELEASE, limit=900)
    assert len(notes.markdown) <= 900
    assert notes.collapsed == ("Features", "Maintenance")  # the longest ones, and only as many as needed
    assert "- Fix 4 (#204) @dev" in notes.markdown
    golden("size_limit", notes.markdown)


def test_preserved_human_text(golden) -> None:
    config = resolve_notes_config({})
    first = render_notes(MIXED[:2], config, RELEASE).markdown
    body = merge_release_body(None, first, 7)
    edited = (
        "## Highlights\n\nWritten by a human, *keep me*.\n\n" + body + "\n\n---\nSigned, the release team.\n"
    )
    second = render_notes(MIXED, config, RELEASE).markdown
    rebuilt = merge_release_body(edited, second, 7)
    assert rebuilt.startswith("## Highlights\n\nWritten by a human, *keep me*.\n\n")
    assert rebuilt.endswith("\n\n---\nSigned, the release team.\n")
    assert merge_release_body(rebuilt, second, 7) == rebuilt  # a rebuild with nothing new changes nothing
    golden("preserved_human_text", rebuilt)
