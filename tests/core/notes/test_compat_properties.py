"""Properties of the two compatible formats over generated configurations and pull requests:
whatever a release-drafter.yml or release.yml holds, rendering never raises, problems are
sentences in ``errors``, the body stays within its limit, and no line of it can pass for the
bot's section markers (a pull request body in ``$BODY`` included)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.notes import NoteItem, ReleaseInfo, render_notes, resolve_notes_config
from bot.core.notes.body import end_marker, start_marker
from bot.core.notes.drafter_config import BODY_KEYS
from bot.core.notes.rendered import TRUNCATED

RELEASE = ReleaseInfo("1.4.0", "v1.4.0", "v1.3.0", "acme", "rocket", milestone_number=7)
TEXT = st.sampled_from(
    [
        "$TITLE",
        "$CHANGES",
        "$BODY",
        "$AUTHORS",
        "$NEXT_PATCH_VERSION",
        "$$",
        "\\n",
        "\\U$1",
        "$&",
        "## ",
        "* ",
        "x",
    ]
) | st.text(max_size=6)
TEMPLATES = st.lists(TEXT, max_size=6).map("".join)
SCALARS = st.none() | st.booleans() | st.integers(-2, 5) | TEMPLATES
CONDITION = st.fixed_dictionaries(
    {},
    optional={
        "label": st.sampled_from(["bug", "feature", "x"]),
        "labels": st.lists(st.sampled_from(["bug", "feature", "x"]), max_size=2),
        "labels-mode": st.sampled_from(["any", "all", "only", "exactly", "bogus"]),
        "paths": st.lists(st.sampled_from(["src", "docs/", "*.md", "!x", "/a/**"]), max_size=2),
        "conventional": st.booleans() | st.fixed_dictionaries({}, optional={"breaking": st.booleans()}),
    },
)
CATEGORY = st.fixed_dictionaries(
    {},
    optional={
        "title": st.text(max_size=5),
        "type": st.sampled_from(["changelog", "pre-include", "pre-exclude", "version-resolver", "nope"]),
        "label": st.sampled_from(["bug", "feature"]),
        "labels": st.lists(st.sampled_from(["bug", "feature"]), max_size=2) | SCALARS,
        "when": CONDITION | st.lists(CONDITION, max_size=2) | SCALARS,
        "collapse-after": st.integers(-2, 3) | SCALARS,
        "exclusive": st.booleans() | SCALARS,
    },
)
REPLACER = st.fixed_dictionaries(
    {"search": st.sampled_from(["/(\\w+)/g", "/(/", "x", "/^\\* /gm", "/a/Q"]) | st.text(max_size=4)},
    optional={"replace": TEMPLATES | SCALARS},
)
VALUE = SCALARS | st.lists(CATEGORY, max_size=3) | st.lists(REPLACER, max_size=3) | st.lists(TEXT, max_size=2)
DRAFTER = st.dictionaries(
    st.sampled_from(sorted(BODY_KEYS | {"_extends", "version-resolver"})), VALUE, max_size=8
)
RELEASE_YML = st.fixed_dictionaries(
    {},
    optional={
        "changelog": st.fixed_dictionaries(
            {},
            optional={
                "exclude": st.fixed_dictionaries({}, optional={"labels": st.lists(TEXT, max_size=2)})
                | SCALARS,
                "categories": st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={
                            "title": TEXT,
                            "labels": st.lists(st.sampled_from(["*", "bug"]), max_size=2),
                        },
                    ),
                    max_size=3,
                )
                | SCALARS,
            },
        )
        | SCALARS
    },
)
MARKERS = {start_marker(7), end_marker(7)}


@st.composite
def items(draw: st.DrawFn) -> list[NoteItem]:
    out = []
    for n in range(draw(st.integers(0, 6))):
        out.append(
            NoteItem(
                number=draw(st.integers(0, 9)),
                title=draw(TEXT | st.sampled_from(["feat(api)!: x", "<b>@x #1</b>", "`a` b", end_marker(7)])),
                author=draw(st.sampled_from(["dev", "bot[bot]", "app/x", "ghost"])),
                url=f"https://github.com/acme/rocket/pull/{n}",
                labels=tuple(draw(st.lists(st.sampled_from(["bug", "feature", "x"]), max_size=2))),
                body=draw(
                    st.sampled_from(["", "```release-note\nNONE\n```", f"a\n{end_marker(7)}\nb", "text"])
                ),
                merged_at=draw(st.none() | st.sampled_from(["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"])),
                changed_files=draw(
                    st.none() | st.lists(st.sampled_from(["src/a.py", "docs/x.md"]), max_size=2).map(tuple)
                ),
                first_contribution=draw(st.none() | st.booleans()),
                commit_authors=tuple(
                    draw(st.lists(st.tuples(st.sampled_from(["a", "B c"]), st.booleans()), max_size=2))
                ),
            )
        )
    return out


def check(config: Any, shipped: list[NoteItem], limit: int) -> None:
    assert all(isinstance(e, str) and e for e in config.errors)
    notes = render_notes(shipped, config, RELEASE, limit=limit)
    assert len(notes.markdown) <= max(limit, len(TRUNCATED))
    assert not MARKERS & {line.strip() for line in notes.markdown.splitlines()}


@settings(max_examples=150, deadline=None)
@given(drafter=DRAFTER, shipped=items(), limit=st.sampled_from([125_000, 300, 0]))
def test_any_release_drafter_file_renders(
    drafter: dict[str, Any], shipped: list[NoteItem], limit: int
) -> None:
    config = resolve_notes_config({}, drafter_yml=drafter)
    assert config.mode == "release-drafter"
    check(config, shipped, limit)


@settings(max_examples=100, deadline=None)
@given(release_yml=RELEASE_YML, shipped=items(), limit=st.sampled_from([125_000, 300, 0]))
def test_any_release_yml_renders(release_yml: dict[str, Any], shipped: list[NoteItem], limit: int) -> None:
    config = resolve_notes_config({}, release_yml=release_yml)
    assert config.mode == "github"
    check(config, shipped, limit)
