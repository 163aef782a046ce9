"""Render release notes: items → categories → Markdown, within GitHub's release body limit.

Pure and deterministic (no clock, stable ordering), so rendering the same facts twice gives the
same text and a rebuild with nothing new makes no write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.core.notes.blocks import release_note_of
from bot.core.notes.drafter_render import render_drafter_notes
from bot.core.notes.escape import escape_user_text, one_line
from bot.core.notes.github_notes import render_github_notes
from bot.core.notes.model import (
    MODE_GITHUB,
    MODE_RELEASE_DRAFTER,
    Category,
    NoteItem,
    NotesConfig,
    ReleaseInfo,
    Replacer,
)
from bot.core.notes.rendered import RELEASE_BODY_LIMIT, TRUNCATED, RenderedCategory, RenderedNotes

_TRUNCATED = TRUNCATED
_REPLACEMENT_TOKEN = re.compile(r"\$(\$|&|\d{1,2})")


def apply_replacer(replacer: Replacer, text: str) -> str:
    """Apply one release-drafter replacer; ``$1``/``$&``/``$$`` are expanded by hand so the
    replacement is plain text (Python's ``\\g<…>`` syntax and escapes mean nothing in it)."""

    def expand(match: re.Match[str]) -> str:
        def token(t: re.Match[str]) -> str:
            tok = t.group(1)
            if tok == "$":
                return "$"
            if tok == "&":
                return match.group(0)
            index = int(tok)
            if 0 < index <= (match.re.groups or 0):
                return match.group(index) or ""
            return t.group(0)

        return _REPLACEMENT_TOKEN.sub(token, replacer.replacement)

    return replacer.pattern.sub(expand, text, count=0 if replacer.replace_all else 1)  # type: ignore[attr-defined]


def _folded(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.casefold() for v in values)


def _line(item: NoteItem, text: str, config: NotesConfig) -> str:
    escaped = escape_user_text(
        text, escape_mentions=config.escape_mentions, backslash_chars=config.title_escapes
    )
    line = config.change_template.render(
        {"TITLE": escaped, "NUMBER": str(item.number), "AUTHOR": item.author, "URL": item.url}
    )
    for replacer in config.replacers:
        line = apply_replacer(replacer, line)
    return line


def _item_text(item: NoteItem) -> str | None:
    """The text shown for an item, or None to leave it out (release-note NONE)."""
    note = release_note_of(item.body, item.labels) if item.is_pull_request else None
    if note is not None and note.drop:
        return None
    if note is not None and note.text is not None:
        # Keep a multi-line note inside its list item: continuation lines indented.
        return "\n  ".join(line.rstrip() for line in note.text.splitlines())
    return one_line(item.title)


def _order(items: Iterable[NoteItem]) -> list[NoteItem]:
    return sorted(items, key=lambda i: (i.merged_at or "", i.number))


def categorize(items: Sequence[NoteItem], config: NotesConfig) -> tuple[list[RenderedCategory], list[int]]:
    """Place each item in the first category that matches (or the catch-all); render its line."""
    buckets: dict[str, list[tuple[NoteItem, str]]] = {c.title: [] for c in config.categories}
    other: list[tuple[NoteItem, str]] = []
    issues: list[tuple[NoteItem, str]] = []
    excluded: list[int] = []
    unwanted_labels, unwanted_authors = _folded(config.exclude_labels), _folded(config.exclude_authors)
    for item in _order(items):
        if not item.is_pull_request and (not config.include_issues or item.state_reason == "not_planned"):
            continue
        labels, author = _folded(item.labels), item.author.casefold()
        text = _item_text(item)
        if text is None or not labels.isdisjoint(unwanted_labels) or author in unwanted_authors:
            excluded.append(item.number)
            continue
        line = _line(item, text, config)
        if not item.is_pull_request:
            issues.append((item, line))
            continue
        category: Category | None = next(
            (c for c in config.categories if c.matches_folded(labels, author)), None
        )
        (buckets[category.title] if category else other).append((item, line))

    out = [
        RenderedCategory(
            c.title, tuple(i for i, _ in buckets[c.title]), tuple(line for _, line in buckets[c.title])
        )
        for c in config.categories
        if buckets[c.title]
    ]
    if other:
        out.append(
            RenderedCategory(config.other_title, tuple(i for i, _ in other), tuple(line for _, line in other))
        )
    if issues:
        out.append(
            RenderedCategory(
                config.issues_title, tuple(i for i, _ in issues), tuple(line for _, line in issues)
            )
        )
    return out, excluded


def contributors_of(categories: Iterable[RenderedCategory], config: NotesConfig) -> tuple[str, ...]:
    """Pull request authors in the notes, bots and excluded contributors left out."""
    excluded = {a.casefold() for a in config.exclude_authors + config.exclude_contributors}
    logins = {
        item.author
        for c in categories
        for item in c.items
        if item.is_pull_request and not item.author_is_bot and item.author.casefold() not in excluded
    }
    return tuple(sorted(logins, key=str.casefold))


def _format_contributors(logins: Sequence[str]) -> str:
    mentions = ["@" + login for login in logins]
    if len(mentions) <= 1:
        return "".join(mentions)
    return ", ".join(mentions[:-1]) + " and " + mentions[-1]


def _block(category: RenderedCategory) -> str:
    return f"### {category.title}\n\n" + "\n".join(category.lines)


def _collapse(category: RenderedCategory, release: ReleaseInfo) -> RenderedCategory:
    count = len(category.items)
    noun = "change" if count == 1 else "changes"
    where = f"see [the milestone]({release.milestone_url})" if release.milestone_url else "see the milestone"
    line = f"- {count} {noun}, not listed here to keep the notes within GitHub's size limit: {where}"
    return RenderedCategory(category.title, category.items, (line,), collapsed=True)


def _assemble(
    categories: Sequence[RenderedCategory],
    config: NotesConfig,
    release: ReleaseInfo,
    contributors: Sequence[str],
) -> str:
    values = {
        "VERSION": release.version,
        "RESOLVED_VERSION": release.version,
        "TAG": release.tag,
        "PREVIOUS_TAG": release.previous_tag or "",
        "CONTRIBUTORS": _format_contributors(contributors),
        "OWNER": release.owner,
        "REPOSITORY": release.repository,
        "COMPARE_URL": release.compare_url,
        "MILESTONE_URL": release.milestone_url,
    }
    changes = "\n\n".join(_block(c) for c in categories) or config.no_changes_template.render(values)
    parts = [config.header.render(values)]
    if config.body_template is not None:
        parts.append(config.body_template.render({**values, "CHANGES": changes}))
        if "CHANGES" not in config.body_template.template.get_identifiers():
            parts.append(changes)
    else:
        parts.append(changes)
    parts.append(config.footer.render(values))
    if release.compare_url:
        parts.append(f"**Full changelog**: [{release.previous_tag}...{release.tag}]({release.compare_url})")
    return "\n\n".join(p.strip("\n") for p in parts if p.strip())


def render_notes(
    items: Sequence[NoteItem], config: NotesConfig, release: ReleaseInfo, *, limit: int = RELEASE_BODY_LIMIT
) -> RenderedNotes:
    """Render the notes for ``items`` (already selected: what ships on the release's target).
    In release-drafter's and GitHub's formats (``config.mode``) their renderer writes the body.

    ``limit`` is how many characters the notes may take (the release body limit minus the text
    people wrote around the bot's section). Over it, the longest categories are collapsed to a
    link to the milestone, longest first, until the notes fit.
    """
    if config.mode == MODE_RELEASE_DRAFTER and config.drafter is not None:
        return render_drafter_notes(items, config.drafter, release, limit=limit)
    if config.mode == MODE_GITHUB and config.github is not None:
        return render_github_notes(items, config.github, release, limit=limit)
    categories, excluded = categorize(items, config)
    contributors = contributors_of(categories, config)
    markdown = _assemble(categories, config, release, contributors)
    errors = list(config.errors)
    if len(markdown) > limit:
        total = len(markdown)
        while total > limit:
            candidates = [(len(_block(c)), i) for i, c in enumerate(categories) if not c.collapsed]
            if not candidates:
                break
            size, index = max(candidates)
            categories[index] = _collapse(categories[index], release)
            total -= size - len(_block(categories[index]))
        markdown = _assemble(categories, config, release, contributors)
        if len(markdown) > limit:
            markdown = markdown[: max(0, limit - len(_TRUNCATED))] + _TRUNCATED
            errors.append("release notes exceed the size limit even with every category collapsed")
    return RenderedNotes(markdown, tuple(categories), tuple(excluded), contributors, tuple(errors))
