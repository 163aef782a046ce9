"""Versions: which milestones are releases, their branches and tags, and the release-line rule.

Pure functions over the ``releases:`` section of the effective configuration. Versions are
``semver.Version`` (the real library: ordering, pre-release precedence); nothing here does I/O.

Patterns (ARCHITECTURE.md):
    milestone_pattern  regex; the named group ``version`` (else the whole match) is the semver
    branch_pattern     'release/{major}.{minor}'   placeholders: major, minor, patch, version
    rc_tag_pattern     'v{version}-rc.{n}'         placeholders: version, major, minor, patch, n
    final_tag_pattern  'v{version}'
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol, TypeVar

import semver

Version = semver.Version

DEFAULT_MILESTONE_PATTERN = r"^v?(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)$"
DEFAULT_BRANCH_PATTERN = "release/{major}.{minor}"
DEFAULT_RC_TAG_PATTERN = "v{version}-rc.{n}"
DEFAULT_FINAL_TAG_PATTERN = "v{version}"

# What each placeholder may match when a pattern is turned around to parse a name.
_SEMVER_CORE = r"\d+\.\d+\.\d+"
_SEMVER_FULL = r"\d+\.\d+\.\d+(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z.-]+)?"
_PLACEHOLDER_REGEX = {
    "major": r"(?P<major>\d+)",
    "minor": r"(?P<minor>\d+)",
    "patch": r"(?P<patch>\d+)",
    "n": r"(?P<n>\d+)",
}


class PatternError(ValueError):
    """A configured pattern cannot be used (bad regex, unknown placeholder); the message says which."""


@dataclass(frozen=True)
class ReleaseConventions:
    """The naming conventions of one repository, from ``config['releases']``."""

    milestone_pattern: str = DEFAULT_MILESTONE_PATTERN
    branch_pattern: str = DEFAULT_BRANCH_PATTERN
    rc_tag_pattern: str = DEFAULT_RC_TAG_PATTERN
    final_tag_pattern: str = DEFAULT_FINAL_TAG_PATTERN

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> ReleaseConventions:
        releases = (config or {}).get("releases") or {}
        return cls(
            milestone_pattern=releases.get("milestone_pattern") or DEFAULT_MILESTONE_PATTERN,
            branch_pattern=releases.get("branch_pattern") or DEFAULT_BRANCH_PATTERN,
            rc_tag_pattern=releases.get("rc_tag_pattern") or DEFAULT_RC_TAG_PATTERN,
            final_tag_pattern=releases.get("final_tag_pattern") or DEFAULT_FINAL_TAG_PATTERN,
        )


# ---------------------------------------------------------------------------------------------
# milestone titles


@lru_cache(maxsize=64)
def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise PatternError(f"releases.milestone_pattern {pattern!r} is not a valid regex: {exc}") from exc


def parse_version(text: str) -> Version | None:
    """'1.4.0' or 'v1.4.0' -> Version; anything else -> None."""
    text = text.strip()
    if text[:1] in ("v", "V"):
        text = text[1:]
    try:
        return Version.parse(text)
    except (ValueError, TypeError):
        return None


def parse_milestone_title(title: str, pattern: str = DEFAULT_MILESTONE_PATTERN) -> Version | None:
    """The version a milestone title names, or None when it is not a release (Backlog, Sprint 12).

    The regex is searched (anchor it with ^…$ to require a full match, as the default does); its
    ``version`` group, else the whole match, must be a semantic version.
    """
    match = _compile(pattern).search(title.strip())
    if not match:
        return None
    text = match.groupdict().get("version") or match.group(0)
    return parse_version(text)


def version_text(version: Version) -> str:
    """'1.4.0' (no leading v): what ``{version}`` stands for in templates."""
    return str(version)


# ---------------------------------------------------------------------------------------------
# branches and tags


def _fields(pattern: str) -> list[str]:
    return [name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None]


def _format(pattern: str, what: str, **values: Any) -> str:
    try:
        return pattern.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise PatternError(f"{what} {pattern!r}: unknown or malformed placeholder ({exc})") from exc


def branch_for(version: Version, branch_pattern: str = DEFAULT_BRANCH_PATTERN) -> str:
    """The release branch of a version: 1.4.2 -> 'release/1.4' with the default pattern."""
    return _format(
        branch_pattern,
        "releases.branch_pattern",
        major=version.major,
        minor=version.minor,
        patch=version.patch,
        version=version_text(version),
    )


def literal_prefix(pattern: str) -> str:
    """'release/{major}.{minor}' -> 'release/': the part of a ref pattern matching-refs can filter on."""
    for literal, _name, _spec, _conv in string.Formatter().parse(pattern):
        return literal
    return ""


def rc_tag(version: Version, n: int, rc_tag_pattern: str = DEFAULT_RC_TAG_PATTERN) -> str:
    return _format(
        rc_tag_pattern,
        "releases.rc_tag_pattern",
        version=version_text(version),
        major=version.major,
        minor=version.minor,
        patch=version.patch,
        n=n,
    )


def final_tag(version: Version, final_tag_pattern: str = DEFAULT_FINAL_TAG_PATTERN) -> str:
    return _format(
        final_tag_pattern,
        "releases.final_tag_pattern",
        version=version_text(version),
        major=version.major,
        minor=version.minor,
        patch=version.patch,
    )


@lru_cache(maxsize=128)
def _pattern_regex(pattern: str, full_version: bool) -> re.Pattern[str]:
    """Turn 'v{version}-rc.{n}' around into a regex with named groups.

    ``full_version`` decides whether ``{version}`` may carry a pre-release suffix: in an rc pattern
    the suffix belongs to the pattern ('-rc.{n}'), so the version is the core x.y.z only when the
    next literal starts with '-'; we simply try the full form first and the core form second.
    """
    parts: list[str] = []
    seen: set[str] = set()
    for literal, name, _spec, _conv in string.Formatter().parse(pattern):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name in seen:
            # A placeholder repeated must match the same text: a back-reference.
            parts.append(f"(?P={name})")
            continue
        seen.add(name)
        if name == "version":
            parts.append(f"(?P<version>{_SEMVER_FULL if full_version else _SEMVER_CORE})")
        elif name in _PLACEHOLDER_REGEX:
            parts.append(_PLACEHOLDER_REGEX[name])
        else:
            raise PatternError(f"pattern {pattern!r}: unknown placeholder {{{name}}}")
    return re.compile("^" + "".join(parts) + "$")


def _match_pattern(pattern: str, name: str) -> dict[str, str] | None:
    for full in (True, False):
        match = _pattern_regex(pattern, full).match(name)
        if match:
            return match.groupdict()
    return None


@dataclass(frozen=True, order=True)
class TagInfo:
    """What a tag name says: the version it releases and the candidate number (None = final)."""

    version: Version
    rc: int | None

    @property
    def is_final(self) -> bool:
        return self.rc is None


def _version_from_groups(groups: Mapping[str, str]) -> Version | None:
    if groups.get("version"):
        return parse_version(groups["version"])
    if (
        groups.get("major") is not None
        and groups.get("minor") is not None
        and groups.get("patch") is not None
    ):
        return Version(int(groups["major"]), int(groups["minor"]), int(groups["patch"]))
    return None


def parse_tag(tag: str, conventions: ReleaseConventions | None = None) -> TagInfo | None:
    """'v1.4.0-rc.2' -> TagInfo(1.4.0, 2); 'v1.4.0' -> TagInfo(1.4.0, None); other tags -> None.

    The candidate pattern is tried first: with the default patterns 'v1.4.0-rc.2' also reads as a
    final tag of the pre-release version 1.4.0-rc.2, which is not what a team means by it.
    """
    conventions = conventions or ReleaseConventions()
    tag = tag.removeprefix("refs/tags/")
    groups = _match_pattern(conventions.rc_tag_pattern, tag)
    if groups is not None and groups.get("n") is not None:
        version = _version_from_groups(groups)
        if version is not None:
            return TagInfo(version, int(groups["n"]))
    groups = _match_pattern(conventions.final_tag_pattern, tag)
    if groups is not None:
        version = _version_from_groups(groups)
        if version is not None:
            return TagInfo(version, None)
    return None


def tags_of(
    version: Version, tags: Iterable[str], conventions: ReleaseConventions | None = None
) -> list[TagInfo]:
    """The tags among ``tags`` that belong to ``version``, candidates by number then the final."""
    found = [info for info in (parse_tag(t, conventions) for t in tags) if info and info.version == version]
    return sorted(found, key=lambda info: (info.rc is None, info.rc or 0))


def tag_prefix(version: Version, conventions: ReleaseConventions | None = None) -> str:
    """The longest literal start shared by this version's rc and final tags: 'v1.4.0' by default.

    Used with ``GET …/git/matching-refs/tags/{prefix}`` so one call finds every tag of a release.
    """
    conventions = conventions or ReleaseConventions()
    a = rc_tag(version, 0, conventions.rc_tag_pattern)
    b = final_tag(version, conventions.final_tag_pattern)
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


def branch_line(branch: str, branch_pattern: str = DEFAULT_BRANCH_PATTERN) -> tuple[int, ...] | None:
    """'release/1.4' -> (1, 4): the version fields a release branch fixes; None if not a release branch."""
    branch = branch.removeprefix("refs/heads/")
    groups = _match_pattern(branch_pattern, branch)
    if groups is None:
        return None
    if groups.get("version"):
        version = parse_version(groups["version"])
        return None if version is None else (version.major, version.minor, version.patch)
    line: list[int] = []
    for name in ("major", "minor", "patch"):
        if groups.get(name) is None:
            break
        line.append(int(groups[name]))
    return tuple(line) or None


def is_on_line(version: Version, branch: str, branch_pattern: str = DEFAULT_BRANCH_PATTERN) -> bool:
    """Whether ``version`` is released from ``branch`` (1.4.2 is on 'release/1.4')."""
    return branch_for(version, branch_pattern) == branch.removeprefix("refs/heads/")


# ---------------------------------------------------------------------------------------------
# milestones as releases


class MilestoneLike(Protocol):
    @property
    def number(self) -> int: ...

    @property
    def title(self) -> str: ...


M = TypeVar("M", bound=MilestoneLike)


@dataclass(frozen=True)
class VersionMilestone:
    """A plain milestone reference with its parsed version (what the core passes around)."""

    number: int
    title: str
    version: Version
    state: str = "open"


def release_milestones(
    milestones: Iterable[M], pattern: str = DEFAULT_MILESTONE_PATTERN
) -> list[tuple[Version, M]]:
    """The milestones whose titles are versions, in semver order (ties by number: the older first)."""
    found = []
    for milestone in milestones:
        version = parse_milestone_title(milestone.title, pattern)
        if version is not None:
            found.append((version, milestone))
    return sorted(found, key=lambda pair: (pair[0], pair[1].number))


def sort_versions(versions: Iterable[Version]) -> list[Version]:
    return sorted(versions)


def owning_milestone(
    branch: str, open_milestones: Iterable[M], config: Mapping[str, Any] | None = None
) -> M | None:
    """The release-line rule: ``release/1.4`` belongs to the lowest open milestone whose version is 1.4.x.

    After v1.4.0 closes, hotfixes into ``release/1.4`` belong to v1.4.1. Returns None when no open
    version milestone is on that line.
    """
    conventions = ReleaseConventions.from_config(config)
    for version, milestone in release_milestones(open_milestones, conventions.milestone_pattern):
        if is_on_line(version, branch, conventions.branch_pattern):
            return milestone
    return None


def next_on_line(
    version: Version, open_milestones: Iterable[M], config: Mapping[str, Any] | None = None
) -> M | None:
    """The lowest open version milestone after ``version`` on the same release branch (carry-over)."""
    conventions = ReleaseConventions.from_config(config)
    branch = branch_for(version, conventions.branch_pattern)
    for other, milestone in release_milestones(open_milestones, conventions.milestone_pattern):
        if other > version and is_on_line(other, branch, conventions.branch_pattern):
            return milestone
    return None


def next_release(
    version: Version, open_milestones: Iterable[M], config: Mapping[str, Any] | None = None
) -> M | None:
    """The lowest open version milestone after ``version`` in semver order (carry-over of issues)."""
    conventions = ReleaseConventions.from_config(config)
    for other, milestone in release_milestones(open_milestones, conventions.milestone_pattern):
        if other > version:
            return milestone
    return None


def duplicate_versions(
    milestones: Iterable[M], pattern: str = DEFAULT_MILESTONE_PATTERN
) -> dict[Version, list[M]]:
    """Versions named by more than one milestone ('1.4.0' and 'v1.4.0'): each gets a warning."""
    groups: dict[Version, list[M]] = {}
    for version, milestone in release_milestones(milestones, pattern):
        groups.setdefault(version, []).append(milestone)
    return {v: ms for v, ms in groups.items() if len(ms) > 1}


def previous_final(version: Version, final_versions: Sequence[Version]) -> Version | None:
    """The highest released (final, no pre-release) version below ``version``: the notes' base."""
    older = [v for v in final_versions if v < version and not v.prerelease]
    return max(older) if older else None
