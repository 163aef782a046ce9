"""The body release-drafter writes, from a release-drafter file and the pull requests that ship.

Follows release-drafter's own steps: sort (``sort-by``/``sort-direction``, newest first by
default), keep what the pre-include / pre-exclude categories let through, place each change in
every changelog category it matches (only the first with ``exclusive``), list the uncategorized
changes first under no heading (or under the category without conditions), render each category
with ``category-template`` and each change with ``change-template``, then substitute
``header + template + footer`` and apply the replacers to the whole body.

Templates substitute ``$NAME`` (upper case and underscores); a name with no value is left as
written, as release-drafter leaves it. Values are inserted once and never read again as a
template (release-bot's house rule; release-drafter would also substitute version variables
inside pull request titles).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.notes.compat import bot_name, disarm_markers, fit, is_bot, login_of, shown_title
from bot.core.notes.drafter_config import Condition, DrafterCategory, DrafterConfig, capability_notes
from bot.core.notes.drafter_version import version_variables
from bot.core.notes.jsregex import ReplacerTimeout
from bot.core.notes.matching import parse_conventional, path_matches
from bot.core.notes.model import NoteItem, ReleaseInfo
from bot.core.notes.rendered import RenderedCategory, RenderedNotes

_VARIABLE = re.compile(r"\$[A-Z_]+")


def render_template(template: str, values: Mapping[str, str | None]) -> str:
    """release-drafter's substitution: every ``$NAME`` with a value is replaced, in one pass."""
    if "$" not in template:
        return template

    def value(m: re.Match[str]) -> str:
        v = values.get(m.group(0))
        return m.group(0) if v is None else v

    return _VARIABLE.sub(value, template)


# ------------------------------------------------------------------ matching


def _values_match(actual: Sequence[str], expected: Sequence[str], mode: str) -> bool:
    if not expected:
        return True
    have, want = set(actual), set(expected)
    if mode == "all":
        return want <= have
    if mode == "only":
        return bool(have) and have <= want
    if mode == "exactly":
        return have == want
    return not have.isdisjoint(want)


def _paths_match(condition: Condition, files: Sequence[str]) -> bool:
    files = list(dict.fromkeys(files))
    if not files:
        return False
    hits = {p: [f for f in files if path_matches(p, f)] for p in dict.fromkeys(condition.paths)}
    all_patterns = all(hits.values())
    only_configured = all(any(path_matches(p, f) for p in hits) for f in files)
    if condition.paths_mode == "all":
        return all_patterns
    if condition.paths_mode == "only":
        return only_configured
    if condition.paths_mode == "exactly":
        return all_patterns and only_configured
    return any(hits.values())


def _conventional_match(condition: Condition, item: NoteItem) -> bool:
    wanted = condition.conventional
    if wanted is None:
        return True
    parsed = parse_conventional(item.title)
    if parsed is None:
        return False
    return (
        (not wanted.types or parsed.type in wanted.types)
        and (not wanted.scopes or (parsed.scope is not None and parsed.scope in wanted.scopes))
        and (wanted.breaking is None or wanted.breaking == parsed.breaking)
    )


def condition_matches(condition: Condition, item: NoteItem) -> bool | None:
    """True / False, or None when it depends on changed files that are not known."""
    if not _values_match(item.labels, condition.labels, condition.labels_mode):
        return False
    if not _conventional_match(condition, item):
        return False
    if not condition.paths:
        return True
    if item.changed_files is None:
        return None
    return _paths_match(condition, item.changed_files)


def category_matches(category: DrafterCategory, item: NoteItem) -> bool | None:
    if not category.when:
        return True
    results = [condition_matches(c, item) for c in category.when]
    if any(r is True for r in results):
        return True
    return None if any(r is None for r in results) else False


def pre_filter(items: Sequence[NoteItem], categories: Sequence[DrafterCategory]) -> list[NoteItem]:
    """What the pre-include / pre-exclude categories let through. A condition that needs unknown
    changed files neither keeps nor drops a change (reported by ``capability_notes``)."""
    includes = [c for c in categories if c.type == "pre-include"]
    excludes = [c for c in categories if c.type == "pre-exclude"]
    out = []
    for item in items:
        if includes:
            results = [category_matches(c, item) for c in includes]
            if not any(r is True or r is None for r in results):
                continue
        if any(category_matches(c, item) is True for c in excludes):
            continue
        out.append(item)
    return out


# ------------------------------------------------------------------ ordering


def _code_units(text: str) -> bytes:
    # JavaScript compares strings by UTF-16 code units.
    return text.encode("utf-16-be", "surrogatepass")


def sort_items(items: Sequence[NoteItem], config: DrafterConfig) -> list[NoteItem]:
    def field(item: NoteItem) -> bytes | None:
        value = item.title if config.sort_by == "title" else item.merged_at
        return None if value is None else _code_units(value)

    descending = config.sort_direction != "ascending"

    def compare(a: NoteItem, b: NoteItem) -> int:
        x, y = field(a), field(b)
        if x is None and y is None:
            return 0
        if x is None:
            return -1 if descending else 1
        if y is None:
            return 1 if descending else -1
        if x == y:
            return 0
        return (-1 if x > y else 1) if descending else (1 if x > y else -1)

    return sorted(items, key=functools.cmp_to_key(compare))


# ------------------------------------------------------------------ text


def escape_title(title: str, escapes: str) -> str:
    """``change-title-escapes``: each listed character gets a backslash ('@' and '#' an empty
    comment after them instead); a code span stays as written unless '`' itself is listed."""
    klass = "".join("\\" + c if c in "\\]^-[" else c for c in dict.fromkeys(escapes))
    pattern = (f"[{klass}]|" if klass else "") + r"`[^\n\r\u2028\u2029]*?`"

    def one(m: re.Match[str]) -> str:
        text = m.group(0)
        if len(text) > 1:
            return text
        if text in "@#":
            return text + "<!---->"
        return "\\" + text

    return re.sub(pattern, one, title)


class _People:
    """How release-drafter names an author: ``login`` for people, ``[name[bot]](url)`` for apps."""

    def __init__(self, release: ReleaseInfo) -> None:
        self.web = release.html_base.rstrip("/")

    def author(self, item: NoteItem) -> str:
        if is_bot(item):
            return f"[{bot_name(item)}[bot]]({self.app_url(item)})"
        return login_of(item) or "ghost"

    def login(self, item: NoteItem) -> str:
        return f"{bot_name(item)}[bot]" if is_bot(item) else login_of(item)

    def app_url(self, item: NoteItem) -> str:
        return f"{self.web}/apps/{bot_name(item)}"

    def url(self, item: NoteItem) -> str:
        return self.app_url(item) if is_bot(item) else f"{self.web}/{login_of(item)}"

    def mention(self, item: NoteItem) -> str:
        return f"[@{self.login(item)}]({self.app_url(item)})" if is_bot(item) else f"@{login_of(item)}"


def _sentence(mentions: Sequence[str]) -> str:
    if len(mentions) > 1:
        return ", ".join(mentions[:-1]) + " and " + mentions[-1]
    return mentions[0]


def _locale_key(text: str) -> tuple[str, str]:
    # An approximation of localeCompare: case-insensitive first, lower case before upper case.
    return text.casefold(), text.swapcase()


@dataclass(frozen=True)
class _Contributor:
    text: str  # login (apps with "[bot]") or, for a commit author without an account, the name
    is_login: bool
    bot_url: str | None
    pr_author: bool

    @property
    def is_bot(self) -> bool:
        return self.bot_url is not None or (self.is_login and self.text.endswith("[bot]"))

    def mention(self, web: str) -> str:
        if not self.is_login:
            return self.text
        if self.is_bot:
            url = self.bot_url or f"{web}/apps/{self.text.removesuffix('[bot]')}"
            return f"[@{self.text}]({url})"
        return f"@{self.text}"


def _contributors(items: Sequence[NoteItem], people: _People) -> list[_Contributor]:
    """The authors of the pull requests and of their commits, ordered as release-drafter orders
    them: pull request authors first, apps last, then by name."""
    found: dict[str, _Contributor] = {}
    for item in items:
        for text, is_login in item.commit_authors:
            found[("login:" if is_login else "name:") + text] = _Contributor(text, is_login, None, False)
    for item in items:
        login = people.login(item)
        app = people.app_url(item) if is_bot(item) else None
        found["login:" + login] = _Contributor(login, True, app, True)
    return sorted(found.values(), key=lambda c: (not c.pr_author, c.is_bot, _locale_key(c.text)))


def contributors_sentence(
    items: Sequence[NoteItem], config: DrafterConfig, people: _People, version: Mapping[str, str]
) -> tuple[str, tuple[str, ...]]:
    excluded = set(config.exclude_contributors)
    kept = [
        c
        for c in _contributors(items, people)
        if not c.is_login or not any(e == c.text or f"{e}[bot]" == c.text for e in excluded)
    ]
    if not kept:
        return render_template(config.no_contributors_template, version), ()
    logins = tuple(c.text for c in kept if c.is_login)
    return _sentence([c.mention(people.web) for c in kept]), logins


def _authors(item: NoteItem, config: DrafterConfig, people: _People, version: Mapping[str, str]) -> str:
    authors = [
        render_template(
            config.change_author_template,
            {**version, "$AUTHOR": c.text, "$AUTHOR_MENTION": c.mention(people.web)},
        )
        for c in _contributors([item], people)
    ]
    final = config.change_authors_final_separator
    if final is not None and len(authors) > 1:
        return config.change_authors_separator.join(authors[:-1]) + final + authors[-1]
    return config.change_authors_separator.join(authors)


def _change_line(
    item: NoteItem,
    title: str,
    category: str,
    config: DrafterConfig,
    people: _People,
    version: Mapping[str, str],
) -> str:
    return render_template(
        config.change_template,
        {
            **version,
            "$CATEGORY": category,
            "$TITLE": escape_title(title, config.change_title_escapes),
            "$NUMBER": str(item.number),
            "$AUTHORS": _authors(item, config, people, version),
            "$AUTHOR": people.author(item),
            "$AUTHOR_URL": people.url(item),
            "$BODY": item.body,
            "$URL": item.url,
            "$BASE_REF_NAME": item.base_ref,
            "$HEAD_REF_NAME": item.head_ref,
        },
    )


def new_contributors_list(
    items: Sequence[NoteItem],
    included: Sequence[NoteItem],
    config: DrafterConfig,
    people: _People,
    version: Mapping[str, str],
) -> str:
    first: dict[str, NoteItem] = {}
    for item in items:
        login = login_of(item)
        if is_bot(item) or item.first_contribution is not True or login in config.exclude_contributors:
            continue
        previous = first.get(login)
        if previous is None or (item.merged_at or "") < (previous.merged_at or ""):
            first[login] = item
    kept_numbers = {i.number for i in included}
    entries = sorted(
        ((login, item) for login, item in first.items() if item.number in kept_numbers),
        key=lambda pair: (pair[1].merged_at or "", pair[1].number),
    )
    if not entries:
        return render_template(config.no_new_contributor_template, version)
    return "\n".join(
        render_template(
            config.new_contributor_template,
            {
                **version,
                "$AUTHOR": login,
                "$AUTHOR_MENTION": f"@{login}",
                "$AUTHOR_URL": people.url(item),
                "$NUMBER": str(item.number),
                "$URL": item.url,
            },
        )
        for login, item in entries
    )


# ------------------------------------------------------------------ the body


def render_drafter_notes(
    items: Sequence[NoteItem], config: DrafterConfig, release: ReleaseInfo, *, limit: int
) -> RenderedNotes:
    people = _People(release)
    version = version_variables(
        release.version,
        release.previous_tag,
        template=config.version_template,
        tag_prefix=config.tag_prefix,
        identifier=config.prerelease_identifier,
    )
    errors = list(config.errors)
    pulls = [i for i in items if i.is_pull_request]
    errors += capability_notes(
        config,
        files_known=all(i.changed_files is not None for i in pulls),
        contributions_known=not pulls or any(i.first_contribution is not None for i in pulls),
    )
    titles = {id(i): shown_title(i) for i in pulls}  # by identity: numbers are not the renderer's key
    dropped = [i.number for i in pulls if titles[id(i)] is None]
    ordered = sort_items([i for i in pulls if titles[id(i)] is not None], config)
    kept = pre_filter(ordered, config.categories)
    kept_ids = {id(i) for i in kept}
    excluded = dropped + [i.number for i in ordered if id(i) not in kept_ids]

    changelog = [c for c in config.categories if c.type == "changelog"]
    buckets: list[list[NoteItem]] = [[] for _ in changelog]
    catch_all = next((index for index, c in enumerate(changelog) if not c.when), None)
    uncategorized: list[NoteItem] = []
    for item in kept:
        matched = False
        for index, category in enumerate(changelog):
            if not category.when:
                continue
            if category_matches(category, item) is True:
                buckets[index].append(item)
                matched = True
                if category.exclusive:
                    break
        if not matched:
            (uncategorized if catch_all is None else buckets[catch_all]).append(item)

    def lines(group: Sequence[NoteItem], category: str) -> str:
        return "\n".join(
            _change_line(i, titles[id(i)] or "", category, config, people, version) for i in group
        )

    rendered: list[RenderedCategory] = []
    parts: list[str] = []
    if not kept:
        changes = render_template(config.no_changes_template, version)
    else:
        if uncategorized:
            text = lines(uncategorized, "")
            parts += [text, "\n\n"]
            rendered.append(RenderedCategory("", tuple(uncategorized), tuple(text.split("\n"))))
        for index, category in enumerate(changelog):
            group = buckets[index]
            if not group:
                continue
            heading = render_template(config.category_template, {**version, "$TITLE": category.title})
            if heading:
                parts += [heading, "\n\n"]
            text = lines(group, category.title)
            collapse = category.collapse_after != -1 and len(group) > category.collapse_after
            if collapse:
                noun = "changes" if len(group) > 1 else "change"
                parts += ["<details>\n", f"<summary>{len(group)} {noun}</summary>\n\n", text, "\n</details>"]
            else:
                parts.append(text)
            if index + 1 != len(changelog):
                parts.append("\n\n")
            rendered.append(RenderedCategory(category.title, tuple(group), tuple(text.split("\n")), collapse))
        changes = "".join(parts).strip()

    contributors, logins = contributors_sentence(kept, config, people, version)
    body = render_template(
        config.header + config.template + config.footer,
        {
            **version,
            "$PREVIOUS_TAG": release.previous_tag or "",
            "$CHANGES": changes,
            "$CONTRIBUTORS": contributors,
            "$NEW_CONTRIBUTORS": new_contributors_list(ordered, kept, config, people, version),
            "$OWNER": release.owner,
            "$REPOSITORY": release.repository,
        },
    )
    for replacer in config.replacers:
        try:
            body = replacer.apply(body)
        except ReplacerTimeout as exc:  # a pattern from the repository's file that backtracks for ever
            errors.append(str(exc))
    markdown = fit(disarm_markers(body), limit, errors)
    return RenderedNotes(markdown, tuple(rendered), tuple(excluded), logins, tuple(errors))
