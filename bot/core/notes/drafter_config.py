"""``.github/release-drafter.yml`` read with release-drafter's own meaning (its README and schema).

Absent keys take release-drafter's defaults, which for the body mean "none": no categories, no
exclusions, ``* $TITLE (#$NUMBER) $AUTHORS`` per change, ``## $TITLE`` per category, the template
as written. Categories are read in both spellings: the v7 one (``when: {label: …}``, ``type:
pre-include | pre-exclude | version-resolver``) and the older ``label``/``labels`` shorthand, and
the deprecated top-level ``exclude-labels`` / ``include-labels`` / ``include-paths`` /
``exclude-paths`` become the pre-exclude / pre-include categories release-drafter makes of them.

A value release-drafter's schema would refuse is reported and its default used; what
release-bot cannot honour (a condition on changed files when the files are not known, ``_extends``)
is reported too, never dropped in silence.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.core.notes.jsregex import JsReplacer, ReplacerError, parse_js_replacer

FILE = "release-drafter.yml"
MODES = ("any", "all", "only", "exactly")
TYPES = ("changelog", "pre-include", "pre-exclude", "version-resolver")
MAX_REPLACERS = 50
# The keys of release-drafter's schema that shape only the version, name, tag or which release
# is the previous one: release-bot takes those from the milestone and the tags, so they change
# nothing in the body it writes.
VERSION_ONLY_KEYS = frozenset(
    {
        "name-template",
        "tag-template",
        "tag-prefix",
        "version-resolver",
        "prerelease",
        "prerelease-identifier",
        "include-pre-releases",
        "latest",
        "commitish",
        "filter-by-commitish",
        "filter-by-range",
        "pull-request-limit",
        "history-limit",
        "autolabeler",
        "references",
        "initial-version",
    }
)
BODY_KEYS = frozenset(
    {
        "change-template",
        "change-author-template",
        "change-authors-separator",
        "change-authors-final-separator",
        "change-title-escapes",
        "no-changes-template",
        "version-template",
        "exclude-labels",
        "include-labels",
        "include-paths",
        "exclude-paths",
        "exclude-contributors",
        "new-contributor-template",
        "no-new-contributor-template",
        "no-contributors-template",
        "sort-by",
        "sort-direction",
        "replacers",
        "categories",
        "category-template",
        "template",
        "header",
        "footer",
    }
)


@dataclass(frozen=True)
class Conventional:
    types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    breaking: bool | None = None


@dataclass(frozen=True)
class Condition:
    """One ``when`` entry: all of its predicates must hold."""

    labels: tuple[str, ...] = ()
    labels_mode: str = "any"
    paths: tuple[str, ...] = ()
    paths_mode: str = "any"
    conventional: Conventional | None = None


@dataclass(frozen=True)
class DrafterCategory:
    type: str  # changelog | pre-include | pre-exclude | version-resolver
    title: str = ""
    when: tuple[Condition, ...] = ()  # empty: every change (the uncategorized bucket for changelog)
    collapse_after: int = -1
    exclusive: bool = False
    # What the category adds to release-drafter's resolved version; release-bot releases the
    # milestone's version, so this only documents the file (and serves comparisons).
    semver_increment: str = "patch"


@dataclass(frozen=True)
class DrafterConfig:
    categories: tuple[DrafterCategory, ...] = ()
    change_template: str = "* $TITLE (#$NUMBER) $AUTHORS"
    change_author_template: str = "$AUTHOR_MENTION"
    change_authors_separator: str = ", "
    change_authors_final_separator: str | None = None
    change_title_escapes: str = ""
    no_changes_template: str = "* No changes"
    version_template: str = "$MAJOR.$MINOR.$PATCH$PRERELEASE"
    tag_prefix: str = ""
    prerelease_identifier: str | None = None
    exclude_contributors: tuple[str, ...] = ()
    new_contributor_template: str = "* $AUTHOR_MENTION made their first contribution in #$NUMBER"
    no_new_contributor_template: str = "* No new contributors"
    no_contributors_template: str = "No contributors"
    sort_by: str = "merged_at"
    sort_direction: str = "descending"
    replacers: tuple[JsReplacer, ...] = ()
    category_template: str = "## $TITLE"
    template: str = ""
    header: str = ""
    footer: str = ""
    extends: bool = False  # the file has `_extends`, which release-bot does not follow
    errors: tuple[str, ...] = field(default=())

    @property
    def uses_paths(self) -> bool:
        return any(c.paths for category in self.categories for c in category.when)

    @property
    def uses_new_contributors(self) -> bool:
        return any("$NEW_CONTRIBUTORS" in t for t in (self.header, self.template, self.footer))


def _strings(value: Any, key: str, errors: list[str]) -> tuple[str, ...] | None:
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    errors.append(f"{FILE} {key}: expected a list of strings; ignored")
    return None


def _string(raw: Mapping[str, Any], key: str, default: str, errors: list[str]) -> str:
    if key not in raw or raw[key] is None:
        return default
    value = raw[key]
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        # YAML reads `footer: 1.0` as a number; release-drafter's schema would refuse it.
        errors.append(f"{FILE} {key}: expected a string, got {type(value).__name__}; using its default")
        return default
    errors.append(f"{FILE} {key}: expected a string; using its default")
    return default


def _choice(
    raw: Mapping[str, Any], key: str, choices: tuple[str, ...], default: str, errors: list[str]
) -> str:
    value = raw.get(key, default)
    if value is None:
        return default
    if value not in choices:
        errors.append(f"{FILE} {key}: expected one of {', '.join(choices)}; using {default!r}")
        return default
    return str(value)


def _conventional(value: Any, where: str, errors: list[str]) -> Conventional | None:
    if value is None or value is False:
        return None
    if value is True:
        return Conventional()
    if not isinstance(value, Mapping):
        errors.append(f"{FILE} {where}.conventional: expected true or a mapping; ignored")
        return None
    types = list(_strings(value.get("types"), f"{where}.conventional.types", errors) or ())
    scopes = list(_strings(value.get("scopes"), f"{where}.conventional.scopes", errors) or ())
    if isinstance(value.get("type"), str):
        types.append(value["type"])
    if isinstance(value.get("scope"), str):
        scopes.append(value["scope"])
    breaking = value.get("breaking")
    return Conventional(tuple(types), tuple(scopes), breaking if isinstance(breaking, bool) else None)


def _condition(raw: Any, extra_labels: tuple[str, ...], where: str, errors: list[str]) -> Condition | None:
    if not isinstance(raw, Mapping):
        errors.append(f"{FILE} {where}: expected a mapping of label/labels/path/paths/conventional; ignored")
        return None
    labels = list(extra_labels) + list(_strings(raw.get("labels"), f"{where}.labels", errors) or ())
    if isinstance(raw.get("label"), str):
        labels.append(raw["label"])
    paths = list(_strings(raw.get("paths"), f"{where}.paths", errors) or ())
    if isinstance(raw.get("path"), str):
        paths.append(raw["path"])
    conventional = _conventional(raw.get("conventional"), where, errors)
    if not labels and not paths and conventional is None:
        return None  # release-drafter drops empty conditions
    return Condition(
        labels=tuple(labels),
        labels_mode=_choice(raw, "labels-mode", MODES, "any", errors),
        paths=tuple(paths),
        paths_mode=_choice(raw, "paths-mode", MODES, "any", errors),
        conventional=conventional,
    )


def _category(raw: Any, index: int, errors: list[str]) -> DrafterCategory | None:
    where = f"categories[{index}]"
    if not isinstance(raw, Mapping):
        errors.append(f"{FILE} {where}: expected a mapping; ignored")
        return None
    kind = raw.get("type", "changelog")
    if kind not in TYPES:
        errors.append(f"{FILE} {where}.type: expected one of {', '.join(TYPES)}; category ignored")
        return None
    deprecated = list(_strings(raw.get("labels"), f"{where}.labels", errors) or ())
    if isinstance(raw.get("label"), str):
        deprecated.append(raw["label"])
    when = raw.get("when")
    if when is None:
        raw_conditions: list[Any] = [{}] if deprecated else []
    elif isinstance(when, list):
        raw_conditions = when if (when or not deprecated) else [{}]
    else:
        raw_conditions = [when]
    conditions = tuple(
        c
        for i, entry in enumerate(raw_conditions)
        if (c := _condition(entry, tuple(deprecated), f"{where}.when[{i}]", errors)) is not None
    )
    title = raw.get("title")
    if kind == "changelog" and not (isinstance(title, str) and title):
        errors.append(f"{FILE} {where}: a changelog category needs a title; category ignored")
        return None
    collapse = raw.get("collapse-after", -1)
    if isinstance(collapse, bool) or not isinstance(collapse, int) or collapse < -1:
        errors.append(f"{FILE} {where}.collapse-after: expected an integer ≥ -1; not collapsing")
        collapse = -1
    exclusive = raw.get("exclusive", False)
    if not isinstance(exclusive, bool):
        errors.append(f"{FILE} {where}.exclusive: expected true or false; using false")
        exclusive = False
    if kind in ("pre-include", "pre-exclude") and exclusive:
        errors.append(
            f"{FILE} {where}: 'exclusive' only applies to changelog and version-resolver categories"
        )
        exclusive = False
    increment = raw.get("semver-increment", "patch")
    if increment not in ("major", "minor", "patch"):
        errors.append(f"{FILE} {where}.semver-increment: expected major, minor or patch; using patch")
        increment = "patch"
    return DrafterCategory(
        type=str(kind),
        title=str(title) if kind == "changelog" else "",
        when=conditions,
        collapse_after=collapse if kind == "changelog" else -1,
        exclusive=exclusive,
        semver_increment=str(increment),
    )


def _pre_category(kind: str, labels: tuple[str, ...], paths: tuple[str, ...]) -> DrafterCategory:
    return DrafterCategory(type=kind, when=(Condition(labels=labels, paths=paths),))


def _version_resolver(raw: Any) -> list[DrafterCategory]:
    """The deprecated ``version-resolver`` block, as the version-resolver categories
    release-drafter makes of it (they render nothing)."""
    if not isinstance(raw, Mapping):
        return []
    out = []
    for key in ("major", "minor", "patch"):
        entry = raw.get(key)
        labels = entry.get("labels") if isinstance(entry, Mapping) else None
        if isinstance(labels, list) and labels:
            condition = Condition(labels=tuple(str(label) for label in labels))
            out.append(DrafterCategory(type="version-resolver", when=(condition,), semver_increment=key))
    default = raw.get("default")
    if default in ("major", "minor") and not any(c.type == "version-resolver" and not c.when for c in out):
        out.append(DrafterCategory(type="version-resolver", semver_increment=str(default)))
    return out


def parse_drafter_config(raw: Mapping[str, Any] | None) -> DrafterConfig:
    """Read a release-drafter file; never raises for bad content (problems are in ``errors``)."""
    raw = raw if isinstance(raw, Mapping) else {}
    errors: list[str] = []
    categories: list[DrafterCategory] = []
    raw_categories = raw.get("categories")
    if raw_categories is not None and not isinstance(raw_categories, list):
        errors.append(f"{FILE} categories: expected a list; ignored")
        raw_categories = []
    for index, entry in enumerate(raw_categories or []):
        category = _category(entry, index, errors)
        if category is not None:
            categories.append(category)

    def strings(key: str) -> tuple[str, ...]:
        return _strings(raw.get(key), key, errors) or ()

    exclude_labels, exclude_paths = strings("exclude-labels"), strings("exclude-paths")
    include_labels, include_paths = strings("include-labels"), strings("include-paths")
    if exclude_labels or exclude_paths:
        if any(c.type == "pre-exclude" for c in categories):
            errors.append(
                f"{FILE}: exclude-labels/exclude-paths and a 'pre-exclude' category cannot be combined "
                "(release-drafter refuses this file); the top-level keys are ignored"
            )
        else:
            categories.append(_pre_category("pre-exclude", exclude_labels, exclude_paths))
    if include_labels or include_paths:
        if any(c.type == "pre-include" for c in categories):
            errors.append(
                f"{FILE}: include-labels/include-paths and a 'pre-include' category cannot be combined "
                "(release-drafter refuses this file); the top-level keys are ignored"
            )
        else:
            categories.append(_pre_category("pre-include", include_labels, include_paths))

    categories += _version_resolver(raw.get("version-resolver"))

    replacers: list[JsReplacer] = []
    raw_replacers = raw.get("replacers")
    if raw_replacers is not None and not isinstance(raw_replacers, list):
        errors.append(f"{FILE} replacers: expected a list of {{search, replace}}; ignored")
        raw_replacers = []
    for index, entry in enumerate((raw_replacers or [])[:MAX_REPLACERS]):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("search"), str) or not entry["search"]:
            errors.append(f"{FILE} replacers[{index}]: needs a non-empty 'search' string; ignored")
            continue
        replace = entry.get("replace", "")
        try:
            replacers.append(parse_js_replacer(entry["search"], replace if isinstance(replace, str) else ""))
        except ReplacerError as exc:
            errors.append(f"{FILE} replacers[{index}]: bad replacer regex {exc}; ignored")
    if isinstance(raw_replacers, list) and len(raw_replacers) > MAX_REPLACERS:
        errors.append(f"{FILE} replacers: only the first {MAX_REPLACERS} are applied")

    final_separator = raw.get("change-authors-final-separator")
    identifier = raw.get("prerelease-identifier")
    return DrafterConfig(
        categories=tuple(categories),
        change_template=_string(raw, "change-template", DrafterConfig.change_template, errors),
        change_author_template=_string(
            raw, "change-author-template", DrafterConfig.change_author_template, errors
        ),
        change_authors_separator=_string(
            raw, "change-authors-separator", DrafterConfig.change_authors_separator, errors
        ),
        change_authors_final_separator=final_separator if isinstance(final_separator, str) else None,
        change_title_escapes=_string(raw, "change-title-escapes", "", errors),
        no_changes_template=_string(raw, "no-changes-template", DrafterConfig.no_changes_template, errors),
        version_template=_string(raw, "version-template", DrafterConfig.version_template, errors),
        tag_prefix=_string(raw, "tag-prefix", "", errors),
        prerelease_identifier=identifier if isinstance(identifier, str) else None,
        exclude_contributors=strings("exclude-contributors"),
        new_contributor_template=_string(
            raw, "new-contributor-template", DrafterConfig.new_contributor_template, errors
        ),
        no_new_contributor_template=_string(
            raw, "no-new-contributor-template", DrafterConfig.no_new_contributor_template, errors
        ),
        no_contributors_template=_string(
            raw, "no-contributors-template", DrafterConfig.no_contributors_template, errors
        ),
        sort_by=_choice(raw, "sort-by", ("merged_at", "title"), "merged_at", errors),
        sort_direction=_choice(raw, "sort-direction", ("ascending", "descending"), "descending", errors),
        replacers=tuple(replacers),
        category_template=_string(raw, "category-template", DrafterConfig.category_template, errors),
        template=_string(raw, "template", "", errors),
        header=_string(raw, "header", "", errors),
        footer=_string(raw, "footer", "", errors),
        extends="_extends" in raw,
        errors=tuple(errors),
    )


def capability_notes(config: DrafterConfig, *, files_known: bool, contributions_known: bool) -> list[str]:
    """What release-bot cannot do as release-drafter does for this file, as sentences."""
    out = []
    if config.extends:
        out.append(
            f"{FILE} _extends: release-bot does not follow release-drafter's _extends; "
            "copy the settings you need into this file"
        )
    if config.uses_paths and not files_known:
        out.append(
            f"{FILE}: conditions on changed files (include-paths, exclude-paths, when.paths) need the "
            "files of each pull request, which release-bot does not read: such conditions are treated "
            "as not met (a pre-include/pre-exclude condition on paths alone is skipped)"
        )
    if config.uses_new_contributors and not contributions_known:
        out.append(
            f"{FILE}: $NEW_CONTRIBUTORS needs to know who contributes for the first time, which these "
            "facts do not say (notes --from: mark those pull requests \"firstContribution\": true); "
            "it renders no-new-contributor-template"
        )
    return out
