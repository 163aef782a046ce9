"""Plain data the notes renderer works on: items from the milestone, the resolved configuration,
and facts about the release. No I/O, no PyGithub objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.core.notes.template import CheckedTemplate

if TYPE_CHECKING:
    from bot.core.notes.drafter_config import DrafterConfig
    from bot.core.notes.github_notes import GithubNotesConfig

# Which format writes the body: release-bot's own, release-drafter's, or GitHub's generated notes.
MODE_RELEASE_BOT = "release-bot"
MODE_RELEASE_DRAFTER = "release-drafter"
MODE_GITHUB = "github"


@dataclass(frozen=True)
class NoteItem:
    """A closed pull request or issue of the milestone, as the issues listing shows it."""

    number: int
    title: str
    author: str
    url: str  # html_url
    labels: tuple[str, ...] = ()
    body: str = ""
    is_pull_request: bool = True
    merged_at: str | None = None  # ISO 8601; None for issues and unmerged pull requests
    author_is_bot: bool = False
    state_reason: str | None = None  # issues: "completed" | "not_planned"
    # Facts only some sources give (`release-bot notes --from` a `gh` listing): None is "not known".
    first_contribution: bool | None = None  # the author's first merged pull request in the repository
    changed_files: tuple[str, ...] | None = None
    base_ref: str | None = None
    head_ref: str | None = None
    # Authors of the pull request's commits (co-authors): (login, True) or (name, False).
    commit_authors: tuple[tuple[str, bool], ...] = ()

    @classmethod
    def from_issue_json(cls, data: dict) -> NoteItem:
        """Build from one element of ``GET /repos/{o}/{r}/issues`` (pull requests carry
        ``pull_request.merged_at`` there, so no request per pull request is needed)."""
        user = data.get("user") or {}
        pr = data.get("pull_request")
        login = str(user.get("login") or "ghost")
        return cls(
            number=int(data["number"]),
            title=str(data.get("title") or ""),
            author=login,
            url=str(data.get("html_url") or ""),
            labels=tuple(str(label.get("name", "")) for label in data.get("labels") or []),
            body=str(data.get("body") or ""),
            is_pull_request=pr is not None,
            merged_at=(pr or {}).get("merged_at"),
            author_is_bot=user.get("type") == "Bot" or login.endswith("[bot]"),
            state_reason=data.get("state_reason"),
        )

    @classmethod
    def from_gh_json(cls, data: dict) -> NoteItem:
        """Build from one element of ``gh pr list --json number,title,author,labels,mergedAt,body,url``
        (``files``, ``commits``, ``baseRefName`` and ``headRefName`` are read when present, and
        release-bot's own ``firstContribution`` boolean, which gh does not write). ``ValueError``
        names what is missing."""
        if not isinstance(data, dict) or not isinstance(data.get("number"), int):
            raise ValueError("each pull request needs an integer 'number'")
        author = data.get("author") if isinstance(data.get("author"), dict) else {}
        login = str(author.get("login") or "ghost")
        if login.startswith("app/"):
            login = login.removeprefix("app/") + "[bot]"  # how the REST API (and the web) name an app
        files = data.get("files")
        # `--json commits`: each commit's authors, people with an account by login, others by name.
        commit_authors: dict[tuple[str, bool], None] = {}
        for commit in data.get("commits") or []:
            for person in (commit.get("authors") or []) if isinstance(commit, dict) else []:
                if isinstance(person, dict) and person.get("login"):
                    commit_authors[(str(person["login"]), True)] = None
                elif isinstance(person, dict) and person.get("name"):
                    commit_authors[(str(person["name"]), False)] = None
        return cls(
            number=data["number"],
            title=str(data.get("title") or ""),
            author=login,
            url=str(data.get("url") or ""),
            labels=tuple(
                str(label.get("name"))
                for label in data.get("labels") or []
                if isinstance(label, dict) and label.get("name")
            ),
            body=str(data.get("body") or ""),
            merged_at=data.get("mergedAt") or None,
            author_is_bot=bool(author.get("is_bot")) or login.endswith("[bot]"),
            changed_files=(
                tuple(str(f.get("path")) for f in files if isinstance(f, dict) and f.get("path"))
                if isinstance(files, list)
                else None
            ),
            base_ref=data.get("baseRefName") if isinstance(data.get("baseRefName"), str) else None,
            head_ref=data.get("headRefName") if isinstance(data.get("headRefName"), str) else None,
            first_contribution=(
                data["firstContribution"] if isinstance(data.get("firstContribution"), bool) else None
            ),
            commit_authors=tuple(commit_authors),
        )


@dataclass(frozen=True)
class Category:
    title: str
    labels: tuple[str, ...]  # "*" matches every item
    exclude_labels: tuple[str, ...] = ()
    exclude_authors: tuple[str, ...] = ()
    # Case-folded once: matching runs for every item of milestones of thousands.
    _wanted: frozenset[str] = field(init=False, repr=False, compare=False)
    _unwanted: frozenset[str] = field(init=False, repr=False, compare=False)
    _unwanted_authors: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_wanted", frozenset(label.casefold() for label in self.labels))
        object.__setattr__(self, "_unwanted", frozenset(label.casefold() for label in self.exclude_labels))
        object.__setattr__(self, "_unwanted_authors", frozenset(a.casefold() for a in self.exclude_authors))

    def matches_folded(self, labels: frozenset[str], author: str) -> bool:
        """``labels`` and ``author`` already case-folded."""
        if labels & self._unwanted or author in self._unwanted_authors:
            return False
        return "*" in self._wanted or not labels.isdisjoint(self._wanted)

    def matches(self, item: NoteItem) -> bool:
        return self.matches_folded(
            frozenset(label.casefold() for label in item.labels), item.author.casefold()
        )


@dataclass(frozen=True)
class Replacer:
    """release-drafter's ``replacers`` entry, compiled: a regex and a replacement in which only
    ``$1``…``$99``, ``$&`` and ``$$`` mean something (expanded by hand, never by ``re``)."""

    pattern_source: str
    pattern: object  # re.Pattern[str]
    replacement: str
    replace_all: bool


@dataclass(frozen=True)
class NotesConfig:
    """Everything the renderer needs, resolved from the configuration sources (sources.py)."""

    categories: tuple[Category, ...]
    category_source: str  # "release-bot.yml" | "release.yml" | "release-drafter.yml" | "defaults"
    other_title: str
    exclude_labels: tuple[str, ...]
    exclude_authors: tuple[str, ...]
    exclude_contributors: tuple[str, ...]  # left out of $CONTRIBUTORS only (release-drafter's meaning)
    change_template: CheckedTemplate
    header: CheckedTemplate
    footer: CheckedTemplate
    body_template: CheckedTemplate | None  # release-drafter's `template` with $CHANGES
    no_changes_template: CheckedTemplate
    escape_mentions: bool
    title_escapes: str  # release-drafter's change-title-escapes
    replacers: tuple[Replacer, ...]
    include_issues: bool
    issues_title: str
    errors: tuple[str, ...] = field(default=())  # problems found while resolving (reported, not fatal)
    mode: str = MODE_RELEASE_BOT
    drafter: DrafterConfig | None = None  # the release-drafter file as release-drafter reads it
    github: GithubNotesConfig | None = None  # release.yml as GitHub reads it


@dataclass(frozen=True)
class ReleaseInfo:
    """Facts about the release the notes are for, used by header/footer templates and links."""

    version: str  # "1.4.0"
    tag: str  # "v1.4.0"
    previous_tag: str | None
    owner: str
    repository: str
    html_base: str = "https://github.com"  # web root, e.g. "http://127.0.0.1:8900" on the sandbox
    milestone_number: int | None = None

    @property
    def repo_url(self) -> str:
        return f"{self.html_base.rstrip('/')}/{self.owner}/{self.repository}"

    @property
    def compare_url(self) -> str:
        if not self.previous_tag:
            return ""
        return f"{self.repo_url}/compare/{self.previous_tag}...{self.tag}"

    @property
    def milestone_url(self) -> str:
        if self.milestone_number is None:
            return ""
        return f"{self.repo_url}/milestone/{self.milestone_number}?closed=1"
