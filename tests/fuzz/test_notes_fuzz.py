"""Fuzzing the release notes (bot/core/notes: template.py, sources.py, render.py) with hypothesis.

Maintainers write the templates and the three configuration sources; anyone who opens a pull
request writes its title and release-note block. Whatever they write: a bad template or source is
reported in ``NotesConfig.errors`` (the defaults stand in), rendering never raises and never
exceeds its limit, and user text stays text — no HTML, no mention that pings, no copy of the bot's
markers, no Markdown structure of its own.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.core.notes import NoteItem, ReleaseInfo, TemplateError, render_notes, resolve_notes_config
from bot.core.notes.template import BODY_VARIABLES, LINE_VARIABLES, compile_template

TEMPLATE_TEXT = st.lists(
    st.sampled_from(
        [
            "$TITLE",
            "$NUMBER",
            "$AUTHOR",
            "$URL",
            "$VERSION",
            "$CHANGES",
            "$$",
            "$",
            "${TITLE}",
            "${",
            "$1",
            "$nope",
            "- ",
            "(#",
            ")",
            "@",
            "\n",
            "<b>",
        ]
    )
    | st.text(max_size=8),
    max_size=12,
).map("".join)
SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=20) | TEMPLATE_TEXT
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
DRAFTER_KEYS = [
    "categories",
    "exclude-labels",
    "change-template",
    "template",
    "no-changes-template",
    "replacers",
    "change-title-escapes",
    "exclude-contributors",
]
NOTES_KEYS = [
    "categories",
    "exclude_labels",
    "exclude_authors",
    "change_template",
    "header",
    "footer",
    "no_changes_template",
    "escape_mentions",
    "include_issues",
]
RELEASE = ReleaseInfo(
    version="1.4.0",
    tag="v1.4.0",
    previous_tag="v1.3.0",
    owner="acme",
    repository="rocket",
    milestone_number=7,
)


@st.composite
def sources(draw: st.DrawFn) -> tuple[dict[str, Any], Any, Any]:
    notes = {k: draw(VALUES) for k in draw(st.lists(st.sampled_from(NOTES_KEYS), max_size=4, unique=True))}
    drafter = {
        k: draw(
            VALUES
            | st.lists(
                st.fixed_dictionaries({"search": st.text(max_size=12), "replace": st.text(max_size=6)}),
                max_size=3,
            )
        )
        for k in draw(st.lists(st.sampled_from(DRAFTER_KEYS), max_size=4, unique=True))
    }
    release_yml = draw(st.none() | VALUES | st.fixed_dictionaries({"changelog": VALUES}))
    return notes, release_yml, drafter


TITLES = st.lists(
    st.sampled_from(
        [
            "<img src=x onerror=alert(1)>",
            "<script>",
            "@admin",
            "@acme/team",
            "#1",
            "GH-12",
            "owner/repo#3",
            "<!-- release-bot:notes-end:7 -->",
            "-->",
            "\n## Heading",
            "\n- item",
            "|",
            "`code <b>`",
            "``",
            "$TITLE",
            "${VERSION}",
            "\\",
            "&amp;",
            "\u202e",
            "\x00",
            "💥",
        ]
    )
    | st.text(max_size=10),
    max_size=8,
).map("".join)


@st.composite
def items(draw: st.DrawFn) -> list[NoteItem]:
    out = []
    for n in range(1, draw(st.integers(0, 12)) + 1):
        block = draw(st.none() | TITLES)
        body = f"```release-note\n{block}\n```" if block is not None else draw(st.text(max_size=30))
        out.append(
            NoteItem(
                number=n,
                title=draw(TITLES),
                author=draw(st.sampled_from(["dev", "qa", "bot[bot]"])),
                url=f"https://github.com/acme/rocket/pull/{n}",
                labels=tuple(
                    draw(st.lists(st.sampled_from(["feature", "bug", "skip-changelog", "x"]), max_size=2))
                ),
                body=body,
                is_pull_request=draw(st.booleans()),
                merged_at=draw(st.none() | st.sampled_from(["2026-11-01T10:00:00Z", "garbage"])),
            )
        )
    return out


@pytest.mark.reliability(
    area="bad input",
    case="fuzzed notes templates (unknown variables, stray $, wrong types)",
    trials=200,
)
@given(source=TEMPLATE_TEXT | VALUES)
@example(source="$")
@example(source="${TITLE")
@example(source=["$TITLE"])
def test_a_template_compiles_or_is_refused_with_a_template_error(source: Any, reliability: Any) -> None:
    reliability.trials(1)
    try:
        template = compile_template(source, LINE_VARIABLES | BODY_VARIABLES, name="change_template")
    except TemplateError as exc:
        assert str(exc).startswith("change_template: ")
        return
    rendered = template.render(dict.fromkeys(LINE_VARIABLES | BODY_VARIABLES, "$TITLE"))
    assert isinstance(rendered, str)


@pytest.mark.reliability(
    area="bad input",
    case=(
        "fuzzed notes sources (release-bot.yml notes, release.yml, release-drafter.yml) and pull requests"
        " render without raising, within the limit"
    ),
    trials=200,
)
@given(source=sources(), shipped=items(), limit=st.sampled_from([125_000, 2_000, 200, 0]))
@example(
    source=({"change_template": 7}, {"changelog": {"categories": "x"}}, {"replacers": [{"search": "/(/g"}]}),
    shipped=[],
    limit=125_000,
)
@example(source=({}, None, {"template": "$CHANGES $nope", "change-title-escapes": 5}), shipped=[], limit=0)
def test_any_notes_sources_and_items_render_within_the_limit(
    source: Any, shipped: list[NoteItem], limit: int, reliability: Any
) -> None:
    reliability.trials(1)
    notes, release_yml, drafter = source
    config = resolve_notes_config(notes, release_yml=release_yml, drafter_yml=drafter)
    assert all(isinstance(e, str) and e for e in config.errors)
    rendered = render_notes(shipped, config, RELEASE, limit=limit)
    assert len(rendered.markdown) <= max(
        limit, len("\n\n_The notes were cut short: they exceed GitHub's release size limit._")
    )


_MARKDOWN = MarkdownIt("commonmark")  # raw HTML on, as GitHub renders it (before sanitizing)
_PING = re.compile(r"(?<![\w.+-])@[A-Za-z0-9]")
_ISSUE_LINK = re.compile(r"(?<![\w&])#\d|\bGH-\d", re.IGNORECASE)


def inline_tokens(tokens: list[Token]) -> list[Token]:
    out = []
    for token in tokens:
        out.append(token)
        out.extend(inline_tokens(token.children or []))
    return out


@pytest.mark.reliability(
    area="attack",
    case=(
        "fuzzed pull request titles and release-note blocks stay inert text in the notes (checked with a "
        "CommonMark parser)"
    ),
    trials=200,
)
@given(shipped=items())
@example(shipped=[NoteItem(1, "<!-- release-bot:notes-end:7 --> @admin <img>", "dev", "u")])
@example(shipped=[NoteItem(1, "t", "dev", "u", body="```release-note\n<script>\n## H\n@admin\n```")])
# Found by this test: the escaper took these for code spans, CommonMark does not (raw HTML shown).
@example(shipped=[NoteItem(1, "\\`<img src=x onerror=alert(1)>`", "dev", "u")])
@example(shipped=[NoteItem(1, "``<b>` x", "dev", "u")])
# Found by this test too: an escaped backtick before a run of two opens a span of one, so the text
# after the span ("code <b>") is not code in CommonMark; the old matcher paired the wrong runs.
@example(shipped=[NoteItem(1, "\\``<img src=x onerror=alert(1)>`code <b>`", "dev", "u")])
@example(shipped=[NoteItem(1, "t", "dev", "u", body="```release-note\n`a\n\n<img src=x>\n\nb`\n```")])
def test_user_text_stays_inert_in_the_notes(shipped: list[NoteItem], reliability: Any) -> None:
    reliability.trials(1)
    config = resolve_notes_config({"change_template": "- $TITLE"})
    markdown = render_notes(shipped, config, RELEASE).markdown
    categories = {c.title for c in config.categories} | {config.other_title, config.issues_title}
    tokens = _MARKDOWN.parse(markdown)
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.level == 0:  # the bot's own headings only
            assert token.tag == "h3" and tokens[i + 1].content in categories, markdown
        if token.type == "html_block":
            raise AssertionError(f"raw HTML block from user text: {token.content!r}\n{markdown}")
    for token in inline_tokens(tokens):
        if token.type == "html_inline":
            assert token.content == "<!---->", (token.content, markdown)  # the bot's autolink break
        if token.type == "text":
            assert not _PING.search(token.content), (token.content, markdown)
            assert not _ISSUE_LINK.search(token.content), (token.content, markdown)
