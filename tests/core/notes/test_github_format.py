"""GitHub's format (``.github/release.yml``): the layout of GitHub's generated release notes, as
GitHub's documentation describes it ("Automatically generated release notes": `## What's Changed`,
one `### <title>` per category, `* <title> by @<author> in <url>`, `## New Contributors`,
`**Full Changelog**: <compare url>`)."""

from __future__ import annotations

from bot.core.notes import NoteItem, ReleaseInfo, render_notes, resolve_notes_config

RELEASE = ReleaseInfo("1.4.0", "v1.4.0", "v1.3.0", "octo-org", "octo-repo", milestone_number=3)
URL = "https://github.com/octo-org/octo-repo"


def pr(number: int, title: str, labels: tuple[str, ...] = (), author: str = "octocat", **kw) -> NoteItem:
    return NoteItem(
        number,
        title,
        author,
        f"{URL}/pull/{number}",
        labels,
        merged_at=f"2026-02-{number:02d}T00:00:00Z",
        author_is_bot=author.endswith("[bot]"),
        **kw,
    )


# The example configuration of GitHub's documentation.
DOCS_EXAMPLE = {
    "changelog": {
        "exclude": {"labels": ["ignore-for-release"], "authors": ["octocat"]},
        "categories": [
            {"title": "Breaking Changes 🛠", "labels": ["Semver-Major", "breaking-change"]},
            {"title": "Exciting New Features 🎉", "labels": ["Semver-Minor", "enhancement"]},
            {"title": "Other Changes", "labels": ["*"]},
        ],
    }
}


def render(release_yml: dict, items: list[NoteItem], release: ReleaseInfo = RELEASE) -> str:
    config = resolve_notes_config({}, release_yml=release_yml)
    assert config.mode == "github"
    return render_notes(items, config, release).markdown


def test_documentation_example() -> None:
    items = [
        pr(1, "Drop the v1 API", ("breaking-change",), "monalisa"),
        pr(2, "Add dark mode", ("enhancement",), "hubot", first_contribution=True),
        pr(3, "Bump lodash", (), "dependabot[bot]", first_contribution=True),
        pr(4, "Octocat's own change", ("enhancement",), "octocat"),
        pr(5, "Flaky test", ("ignore-for-release",), "monalisa"),
    ]
    assert render(DOCS_EXAMPLE, items) == (
        "## What's Changed\n"
        "### Breaking Changes 🛠\n"
        f"* Drop the v1 API by @monalisa in {URL}/pull/1\n"
        "### Exciting New Features 🎉\n"
        f"* Add dark mode by @hubot in {URL}/pull/2\n"
        "### Other Changes\n"
        f"* Bump lodash by @dependabot in {URL}/pull/3\n"
        "\n"
        "## New Contributors\n"
        f"* @hubot made their first contribution in {URL}/pull/2\n"
        f"* @dependabot made their first contribution in {URL}/pull/3\n"
        "\n"
        f"**Full Changelog**: {URL}/compare/v1.3.0...v1.4.0"
    )


def test_without_categories_a_flat_list() -> None:
    assert render({}, [pr(1, "One", author="a"), pr(2, "Two", author="b")]) == (
        f"## What's Changed\n* One by @a in {URL}/pull/1\n* Two by @b in {URL}/pull/2\n\n"
        f"**Full Changelog**: {URL}/compare/v1.3.0...v1.4.0"
    )


def test_unmatched_pull_requests_go_to_other_changes() -> None:
    release_yml = {"changelog": {"categories": [{"title": "Features", "labels": ["feature"]}]}}
    text = render(release_yml, [pr(1, "Feat", ("feature",)), pr(2, "Misc")])
    assert text.startswith(
        f"## What's Changed\n### Features\n* Feat by @octocat in {URL}/pull/1\n"
        f"### Other Changes\n* Misc by @octocat in {URL}/pull/2\n"
    )


def test_category_exclude_moves_on_to_the_next_category() -> None:
    release_yml = {
        "changelog": {
            "categories": [
                {"title": "Features", "labels": ["feature"], "exclude": {"labels": ["breaking"]}},
                {"title": "Everything", "labels": ["*"]},
            ]
        }
    }
    text = render(release_yml, [pr(1, "Big", ("feature", "breaking"))])
    assert "### Everything\n* Big" in text and "### Features" not in text


def test_first_release_links_the_commits_of_the_tag_and_nothing_is_escaped() -> None:
    first = ReleaseInfo("1.0.0", "v1.0.0", None, "octo-org", "octo-repo")
    assert render({}, [pr(1, "Use <b> for @team")], first) == (
        f"## What's Changed\n* Use <b> for @team by @octocat in {URL}/pull/1\n\n"
        f"**Full Changelog**: {URL}/commits/v1.0.0"
    )


def test_no_pull_requests_only_the_link() -> None:
    assert render({}, []) == f"**Full Changelog**: {URL}/compare/v1.3.0...v1.4.0"


def test_skip_changelog_is_not_githubs() -> None:
    assert "Skip me" in render({}, [pr(1, "Skip me", ("skip-changelog",))])
