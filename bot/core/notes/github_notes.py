"""GitHub's automatically generated release notes, from ``.github/release.yml``.

The layout GitHub documents and writes::

    ## What's Changed
    ### Exciting New Features 🎉
    * Add rocket boosters by @alice in https://github.com/acme/rocket/pull/1
    ### Other Changes
    * Tidy up the README by @carol in https://github.com/acme/rocket/pull/5

    ## New Contributors
    * @carol made their first contribution in https://github.com/acme/rocket/pull/5

    **Full Changelog**: https://github.com/acme/rocket/compare/v1.3.0...v1.4.0

``changelog.exclude.labels`` / ``.authors`` leave pull requests out; each pull request goes to the
first category whose ``labels`` it carries (``*``: any) and whose ``exclude`` does not apply;
what matches no category is listed under "Other Changes". Without categories the list has no
sub-headings. Titles are written as GitHub writes them (GitHub renders release bodies through
its sanitizer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.notes.compat import bot_name, disarm_markers, fit, is_bot, login_of, shown_title
from bot.core.notes.model import NoteItem, ReleaseInfo
from bot.core.notes.rendered import RenderedCategory, RenderedNotes

FILE = "release.yml"
OTHER = "Other Changes"


@dataclass(frozen=True)
class GithubCategory:
    title: str
    labels: tuple[str, ...]
    exclude_labels: tuple[str, ...] = ()
    exclude_authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class GithubNotesConfig:
    categories: tuple[GithubCategory, ...] = ()
    exclude_labels: tuple[str, ...] = ()
    exclude_authors: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def _strings(value: Any, where: str, errors: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    errors.append(f"{FILE} {where}: expected a list of strings; ignored")
    return ()


def _exclude(value: Any, where: str, errors: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if value is None:
        return (), ()
    if not isinstance(value, Mapping):
        errors.append(f"{FILE} {where}: expected a mapping with labels/authors; ignored")
        return (), ()
    return _strings(value.get("labels"), f"{where}.labels", errors), _strings(
        value.get("authors"), f"{where}.authors", errors
    )


def parse_release_yml(raw: Mapping[str, Any] | None) -> GithubNotesConfig:
    errors: list[str] = []
    changelog = raw.get("changelog") if isinstance(raw, Mapping) else None
    if changelog is None:
        return GithubNotesConfig()
    if not isinstance(changelog, Mapping):
        return GithubNotesConfig(errors=(f"{FILE} changelog: expected a mapping; ignored",))
    labels, authors = _exclude(changelog.get("exclude"), "changelog.exclude", errors)
    categories = []
    raw_categories = changelog.get("categories")
    if raw_categories is not None and not isinstance(raw_categories, list):
        errors.append(f"{FILE} changelog.categories: expected a list; ignored")
        raw_categories = []
    for index, entry in enumerate(raw_categories or []):
        where = f"changelog.categories[{index}]"
        if not isinstance(entry, Mapping) or not isinstance(entry.get("title"), str) or not entry["title"]:
            errors.append(f"{FILE} {where}: needs a title; ignored")
            continue
        if "labels" not in entry:
            errors.append(f"{FILE} {where}: needs labels (GitHub requires them; '*' for any); ignored")
            continue
        ex_labels, ex_authors = _exclude(entry.get("exclude"), f"{where}.exclude", errors)
        categories.append(
            GithubCategory(
                entry["title"],
                _strings(entry.get("labels"), f"{where}.labels", errors),
                ex_labels,
                ex_authors,
            )
        )
    return GithubNotesConfig(tuple(categories), labels, authors, tuple(errors))


def _author_in(item: NoteItem, authors: Sequence[str]) -> bool:
    # release.yml names apps either way ("dependabot" or "dependabot[bot]").
    names = {login_of(item).casefold(), bot_name(item).casefold()}
    return any(a.casefold() in names for a in authors)


def _category_of(item: NoteItem, config: GithubNotesConfig) -> str | None:
    labels = set(item.labels)
    for category in config.categories:
        if labels & set(category.exclude_labels) or _author_in(item, category.exclude_authors):
            continue
        if "*" in category.labels or labels & set(category.labels):
            return category.title
    return None


def _mention(item: NoteItem) -> str:
    return "@" + (bot_name(item) if is_bot(item) else login_of(item))


def render_github_notes(
    items: Sequence[NoteItem], config: GithubNotesConfig, release: ReleaseInfo, *, limit: int
) -> RenderedNotes:
    errors = list(config.errors)
    pulls = sorted((i for i in items if i.is_pull_request), key=lambda i: (i.merged_at or "", i.number))
    excluded: list[int] = []
    shown: list[tuple[NoteItem, str]] = []
    for item in pulls:
        title = shown_title(item)
        if (
            title is None
            or set(item.labels) & set(config.exclude_labels)
            or _author_in(item, config.exclude_authors)
        ):
            excluded.append(item.number)
            continue
        shown.append((item, title))

    def line(item: NoteItem, title: str) -> str:
        return f"* {title} by {_mention(item)} in {item.url}"

    groups: dict[str, list[tuple[NoteItem, str]]] = {c.title: [] for c in config.categories}
    other: list[tuple[NoteItem, str]] = []
    for item, title in shown:
        category = _category_of(item, config) if config.categories else None
        (groups[category] if category is not None else other).append((item, title))

    rendered: list[RenderedCategory] = []
    sections: list[str] = []
    if shown:
        out = ["## What's Changed"]
        ordered = [(c.title, groups[c.title]) for c in config.categories]
        if other:
            ordered.append((OTHER if config.categories else "", other))
        for title, group in ordered:
            if not group:
                continue
            if title:
                out.append(f"### {title}")
            group_lines = [line(i, t) for i, t in group]
            out.extend(group_lines)
            rendered.append(RenderedCategory(title, tuple(i for i, _ in group), tuple(group_lines)))
        sections.append("\n".join(out))
    # Apps are listed too ("@dependabot made their first contribution in …"), as GitHub lists them.
    first = [i for i, _ in shown if i.first_contribution is True]
    seen: set[str] = set()
    newcomers = []
    for item in first:
        if login_of(item) not in seen:
            seen.add(login_of(item))
            newcomers.append(f"* {_mention(item)} made their first contribution in {item.url}")
    if newcomers:
        sections.append("## New Contributors\n" + "\n".join(newcomers))
    link = release.compare_url or f"{release.repo_url}/commits/{release.tag}"
    sections.append(f"**Full Changelog**: {link}")
    contributors = tuple(sorted({login_of(i) for i, _ in shown if not is_bot(i)}, key=str.casefold))
    markdown = fit(disarm_markers("\n\n".join(sections)), limit, errors)
    return RenderedNotes(markdown, tuple(rendered), tuple(excluded), contributors, tuple(errors))
