"""Resolve the notes configuration from its sources.

Categories come from the first source that defines them (DESIGN.md): ``.github/release-bot.yml``
``notes.categories``, then GitHub's ``.github/release.yml`` (``changelog``), then
``.github/release-drafter.yml``, then the defaults. Exclusions from every present source apply
(a label someone marked "skip" in any file they wrote stays skipped). release-drafter's other
settings (change-template, template, …) apply when ``release-bot.yml`` leaves the matching key at
its default. Problems are collected in ``NotesConfig.errors`` and the defaults stand in, so a bad
template never stops a rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from bot.core.notes.drafter_config import parse_drafter_config
from bot.core.notes.github_notes import parse_release_yml
from bot.core.notes.model import (
    MODE_GITHUB,
    MODE_RELEASE_BOT,
    MODE_RELEASE_DRAFTER,
    Category,
    NoteItem,
    NotesConfig,
    Replacer,
)
from bot.core.notes.template import (
    BODY_VARIABLES,
    DOCUMENT_VARIABLES,
    LINE_VARIABLES,
    CheckedTemplate,
    TemplateError,
    compile_template,
)

OTHER_CHANGES = "Other changes"
DEFAULT_CATEGORIES: tuple[Category, ...] = (
    Category("Breaking changes", ("breaking", "breaking-change", "breaking change", "semver-major")),
    Category("Features", ("feature", "enhancement", "feat")),
    Category("Fixes", ("bug", "fix", "bugfix")),
    Category(
        "Maintenance", ("chore", "maintenance", "dependencies", "ci", "refactor", "documentation", "docs")
    ),
)
# The built-in values of the notes keys this module reads (bot/config defaults must agree;
# `categories` must default to unset so that release.yml / release-drafter.yml can take over).
DEFAULTS: dict[str, Any] = {
    "categories": None,
    "exclude_labels": ["skip-changelog"],
    "exclude_authors": [],
    "change_template": "- $TITLE (#$NUMBER) @$AUTHOR",
    "header": "",
    "footer": "",
    "no_changes_template": "* No changes",
    "escape_mentions": True,
    "include_issues": False,
}
MAX_REPLACERS = 50
# `notes.format`: which format writes the body ("auto": the first source present, DESIGN.md's order).
FORMATS = ("auto", MODE_RELEASE_BOT, MODE_RELEASE_DRAFTER, MODE_GITHUB)
# The keys of `notes:` that shape the body: setting one of them is asking for release-bot's format.
BODY_KEYS = tuple(DEFAULTS)
MAX_PATTERN_LENGTH = 500


def _str_list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value if v is not None)
    return ()


def _is_explicit(notes: Mapping[str, Any], key: str) -> bool:
    return key in notes and notes[key] != DEFAULTS.get(key)


def _bot_categories(raw: Any, errors: list[str]) -> tuple[Category, ...] | None:
    if not raw:
        return None
    if not isinstance(raw, list):
        errors.append("release-bot.yml notes.categories: expected a list of {title, labels}")
        return None
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not entry.get("title"):
            errors.append(f"release-bot.yml notes.categories[{i}]: needs a title")
            continue
        labels = _str_list(entry.get("labels")) + _str_list(entry.get("label"))
        out.append(
            Category(
                str(entry["title"]),
                labels,
                _str_list(entry.get("exclude_labels")),
                _str_list(entry.get("exclude_authors")),
            )
        )
    return tuple(out) or None


def _release_yml_categories(release_yml: Mapping[str, Any], errors: list[str]) -> tuple[Category, ...] | None:
    changelog = release_yml.get("changelog")
    if not isinstance(changelog, Mapping):
        return None
    raw = changelog.get("categories")
    if not raw:
        return None
    if not isinstance(raw, list):
        errors.append("release.yml changelog.categories: expected a list")
        return None
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not entry.get("title"):
            errors.append(f"release.yml changelog.categories[{i}]: needs a title")
            continue
        exclude = entry.get("exclude") if isinstance(entry.get("exclude"), Mapping) else {}
        out.append(
            Category(
                str(entry["title"]),
                _str_list(entry.get("labels")),
                _str_list(exclude.get("labels")),
                _str_list(exclude.get("authors")),
            )
        )
    return tuple(out) or None


def _drafter_categories(drafter: Mapping[str, Any], errors: list[str]) -> tuple[Category, ...] | None:
    raw = drafter.get("categories")
    if not raw:
        return None
    if not isinstance(raw, list):
        errors.append("release-drafter.yml categories: expected a list")
        return None
    out = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, Mapping) or not entry.get("title"):
            errors.append(f"release-drafter.yml categories[{i}]: needs a title")
            continue
        labels = _str_list(entry.get("labels")) + _str_list(entry.get("label"))
        # A drafter category without labels collects uncategorized changes: our catch-all.
        out.append(Category(str(entry["title"]), labels or ("*",)))
    return tuple(out) or None


_JS_REGEX = re.compile(r"^/(?P<body>.*)/(?P<flags>[a-z]*)$", re.DOTALL)


def parse_replacer(entry: Any) -> Replacer:
    """release-drafter ``{search, replace}``: search is '/regex/flags' or a literal string."""
    if not isinstance(entry, Mapping) or "search" not in entry:
        raise ValueError("each replacer needs 'search' and 'replace'")
    search = str(entry["search"])
    replacement = str(entry.get("replace", ""))
    if len(search) > MAX_PATTERN_LENGTH:
        raise ValueError(f"replacer search longer than {MAX_PATTERN_LENGTH} characters")
    m = _JS_REGEX.match(search)
    if m:
        flags = 0
        for flag in m.group("flags"):
            if flag not in "gimsuy":
                raise ValueError(f"replacer {search!r}: unknown flag {flag!r}")
            flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}.get(flag, 0)
        try:
            pattern = re.compile(m.group("body"), flags)
        except re.error as exc:
            raise ValueError(f"replacer {search!r}: {exc}") from exc
        return Replacer(search, pattern, replacement, "g" in m.group("flags"))
    return Replacer(search, re.compile(re.escape(search)), replacement, True)


def _template(
    source: Any, default: str, allowed: frozenset[str], name: str, errors: list[str]
) -> CheckedTemplate:
    try:
        return compile_template(source if source is not None else default, allowed, name=name)
    except TemplateError as exc:
        errors.append(f"{exc}; using the default")
        return compile_template(default, allowed, name=name)


def notes_mode(
    notes: Mapping[str, Any] | None, release_yml: Any = None, drafter_yml: Any = None
) -> tuple[str, list[str]]:
    """The format of the body, and problems with ``notes.format``.

    ``auto`` (the default): release-bot's own format when ``.github/release-bot.yml`` sets a key
    of ``notes:`` that shapes the body; else GitHub's generated notes when ``.github/release.yml``
    exists; else release-drafter's when ``.github/release-drafter.yml`` exists; else release-bot's
    defaults. ``notes.format`` names one outright.
    """
    notes = notes if isinstance(notes, Mapping) else {}
    errors: list[str] = []
    chosen = notes.get("format", "auto")
    if chosen not in FORMATS:
        errors.append(f"format: expected one of {', '.join(FORMATS)}; using 'auto'")
        chosen = "auto"
    if chosen != "auto":
        return str(chosen), errors
    if any(_is_explicit(notes, key) for key in BODY_KEYS):
        return MODE_RELEASE_BOT, errors
    if isinstance(release_yml, Mapping):
        return MODE_GITHUB, errors
    if isinstance(drafter_yml, Mapping):
        return MODE_RELEASE_DRAFTER, errors
    return MODE_RELEASE_BOT, errors


def resolve_notes_config(
    notes: Mapping[str, Any] | None,
    *,
    release_yml: Mapping[str, Any] | None = None,
    drafter_yml: Mapping[str, Any] | None = None,
) -> NotesConfig:
    """Merge the sources into one :class:`NotesConfig`; never raises for bad user configuration.
    In release-drafter's and GitHub's formats, their file alone shapes the body."""
    mode, mode_errors = notes_mode(notes, release_yml, drafter_yml)
    own = notes if mode == MODE_RELEASE_BOT else {}
    base = _resolve_own(own, release_yml=release_yml, drafter_yml=drafter_yml)
    if mode == MODE_RELEASE_DRAFTER:
        drafter = parse_drafter_config(drafter_yml if isinstance(drafter_yml, Mapping) else {})
        return replace(base, mode=mode, drafter=drafter, category_source="release-drafter.yml",
                       errors=(*mode_errors, *drafter.errors))
    if mode == MODE_GITHUB:
        github = parse_release_yml(release_yml if isinstance(release_yml, Mapping) else {})
        return replace(base, mode=mode, github=github, category_source="release.yml",
                       errors=(*mode_errors, *github.errors))
    return replace(base, errors=(*mode_errors, *base.errors)) if mode_errors else base


def _resolve_own(
    notes: Mapping[str, Any] | None,
    *,
    release_yml: Mapping[str, Any] | None = None,
    drafter_yml: Mapping[str, Any] | None = None,
) -> NotesConfig:
    """release-bot's own format: categories from the first source that defines them."""
    notes = dict(notes or {})
    release_yml = release_yml if isinstance(release_yml, Mapping) else {}
    drafter = drafter_yml if isinstance(drafter_yml, Mapping) else {}
    errors: list[str] = []

    categories = _bot_categories(notes.get("categories"), errors)
    source = "release-bot.yml"
    if categories is None:
        categories, source = _release_yml_categories(release_yml, errors), "release.yml"
    if categories is None:
        categories, source = _drafter_categories(drafter, errors), "release-drafter.yml"
    if categories is None:
        categories, source = DEFAULT_CATEGORIES, "defaults"

    changelog = release_yml.get("changelog") if isinstance(release_yml.get("changelog"), Mapping) else {}
    gh_exclude = changelog.get("exclude") if isinstance(changelog.get("exclude"), Mapping) else {}
    exclude_labels = _str_list(notes.get("exclude_labels", DEFAULTS["exclude_labels"]))
    exclude_labels += _str_list(gh_exclude.get("labels")) + _str_list(drafter.get("exclude-labels"))
    exclude_authors = _str_list(notes.get("exclude_authors", DEFAULTS["exclude_authors"]))
    exclude_authors += _str_list(gh_exclude.get("authors"))

    def pick(key: str, drafter_key: str) -> Any:
        if not _is_explicit(notes, key) and drafter_key in drafter:
            return drafter[drafter_key]
        return notes.get(key, DEFAULTS[key])

    change_template = _template(
        pick("change_template", "change-template"),
        DEFAULTS["change_template"],
        LINE_VARIABLES,
        "change_template",
        errors,
    )
    no_changes = _template(
        pick("no_changes_template", "no-changes-template"),
        DEFAULTS["no_changes_template"],
        DOCUMENT_VARIABLES,
        "no_changes_template",
        errors,
    )
    header = _template(notes.get("header", ""), "", DOCUMENT_VARIABLES, "header", errors)
    footer = _template(notes.get("footer", ""), "", DOCUMENT_VARIABLES, "footer", errors)
    body_template = None
    if "template" in drafter:
        try:
            body_template = compile_template(
                drafter["template"], BODY_VARIABLES, name="release-drafter template"
            )
            if "CHANGES" not in body_template.template.get_identifiers():
                errors.append("release-drafter template: has no $CHANGES; the changes are added after it")
        except TemplateError as exc:
            errors.append(f"{exc}; using the default layout")

    replacers: list[Replacer] = []
    raw_replacers = drafter.get("replacers") or []
    if not isinstance(raw_replacers, list):
        errors.append("release-drafter.yml replacers: expected a list")
        raw_replacers = []
    for entry in raw_replacers[:MAX_REPLACERS]:
        try:
            replacers.append(parse_replacer(entry))
        except ValueError as exc:
            errors.append(f"release-drafter.yml replacers: {exc}")
    if len(raw_replacers) > MAX_REPLACERS:
        errors.append(f"release-drafter.yml replacers: only the first {MAX_REPLACERS} are applied")

    title_escapes = str(drafter.get("change-title-escapes") or "")
    return NotesConfig(
        categories=categories,
        category_source=source,
        other_title=OTHER_CHANGES,
        exclude_labels=tuple(dict.fromkeys(exclude_labels)),
        exclude_authors=tuple(dict.fromkeys(exclude_authors)),
        exclude_contributors=_str_list(drafter.get("exclude-contributors")),
        change_template=change_template,
        header=header,
        footer=footer,
        body_template=body_template,
        no_changes_template=no_changes,
        escape_mentions=bool(notes.get("escape_mentions", DEFAULTS["escape_mentions"])),
        title_escapes=title_escapes,
        replacers=tuple(replacers),
        include_issues=bool(notes.get("include_issues", DEFAULTS["include_issues"])),
        issues_title="Closed issues",
        errors=tuple(errors),
    )


def check_notes_config(
    notes: Mapping[str, Any] | None,
    release_yml: Mapping[str, Any] | None = None,
    drafter_yml: Mapping[str, Any] | None = None,
) -> list[str]:
    """For ``check-config``: every problem in the notes configuration, as sentences."""
    return list(resolve_notes_config(notes, release_yml=release_yml, drafter_yml=drafter_yml).errors)


def needs_first_contributions(
    notes: Mapping[str, Any] | None, release_yml: Any = None, drafter_yml: Any = None
) -> bool:
    """Whether the body shows first contributions: GitHub's format ("New Contributors"), or a
    release-drafter template with ``$NEW_CONTRIBUTORS``. Only then are they read."""
    mode, _errors = notes_mode(notes, release_yml, drafter_yml)
    if mode == MODE_GITHUB:
        return True
    if mode == MODE_RELEASE_DRAFTER and isinstance(drafter_yml, Mapping):
        return parse_drafter_config(drafter_yml).uses_new_contributors
    return False


def with_first_contributions(
    items: Sequence[NoteItem], first_pulls: Mapping[str, int]
) -> tuple[NoteItem, ...]:
    """``items`` with ``first_contribution`` set for the authors whose earliest merged pull request
    is known (``first_pulls``: login → number; a negative number is "not known")."""
    out = []
    for item in items:
        first = first_pulls.get(item.author)
        if item.is_pull_request and first is not None and first >= 0:
            item = replace(item, first_contribution=item.number == first)
        out.append(item)
    return tuple(out)
