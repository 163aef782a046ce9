"""What the release notes of one milestone say, decided from plain facts: ``NotesPlan``.

Two pure steps around the reads the github layer makes (``bot.github.notes_facts``):
``notes_targets`` says which tag, name, target and previous release the notes have, so the reader
knows which comparison to read (and whether the default branch is needed at all);
``plan_notes`` turns the comparison and the milestone's items into the selection that ships.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.core.notes.body import notes_budget
from bot.core.notes.model import NoteItem, NotesConfig, ReleaseInfo
from bot.core.notes.render import RELEASE_BODY_LIMIT, RenderedNotes, render_notes
from bot.core.notes.selection import (
    CommitRef,
    Selection,
    attribute_by_sha,
    pull_numbers_in,
    select_shipped,
    unattributed_commits,
)
from bot.core.notes.sources import resolve_notes_config
from bot.core.versions import ReleaseConventions, Version, parse_tag, previous_final, version_text


def fill_template(template: str, version: Version) -> str:
    # Plain replacement: a maintainer's template is never handed to str.format (attribute access).
    return (template.replace("{version}", version_text(version)).replace("{major}", str(version.major))
            .replace("{minor}", str(version.minor)).replace("{patch}", str(version.patch)))


@dataclass(frozen=True)
class NotesTargets:
    """The release the notes are for, from the configuration and the tags (no reads)."""

    version: Version
    release_tag: str
    release_name: str
    previous_tag: str | None
    final_exists: bool
    latest_rc_tag: str | None
    branch: str | None  # the release branch when it exists
    make_latest: bool

    @property
    def needs_default_branch(self) -> bool:
        """The default branch matters only without a release branch (before the tag) or without
        a previous release (the first release compares the target with it)."""
        return (not self.final_exists and self.branch is None) or self.previous_tag is None

    def target(self, default_branch: str) -> str:
        """The tag once it exists, else the release branch, else the default branch."""
        return self.release_tag if self.final_exists else (self.branch or default_branch)

    def comparison(self, default_branch: str) -> tuple[str, str] | None:
        """(base, head) of the comparison to read: previous tag → target, or for a first release
        the target → default branch (what was merged after the cut); None for nothing to compare."""
        target = self.target(default_branch)
        if self.previous_tag:
            return self.previous_tag, target
        if target != default_branch:
            return target, default_branch
        return None


def notes_targets(config: Mapping[str, Any], version: Version, tag_names: Iterable[str],
                  branch: str | None) -> NotesTargets:
    notes_cfg = config.get("notes") or {}
    conventions = ReleaseConventions.from_config(config)
    release_tag = fill_template(str(notes_cfg.get("tag_template") or "v{version}"), version)
    tags = set(tag_names)
    finals: dict[Version, str] = {}
    rcs: list[tuple[int, str]] = []
    for tag in tags:
        info = parse_tag(tag, conventions)
        if info is None:
            continue
        if info.rc is None and not info.version.prerelease:
            finals.setdefault(info.version, tag)
        elif info.rc is not None and info.version == version:
            rcs.append((info.rc, tag))
    previous = previous_final(version, list(finals))
    return NotesTargets(
        version=version,
        release_tag=release_tag,
        release_name=fill_template(str(notes_cfg.get("name_template") or "v{version}"), version),
        previous_tag=finals[previous] if previous is not None else None,
        final_exists=release_tag in tags,
        latest_rc_tag=max(rcs)[1] if rcs else None,
        branch=branch,
        make_latest=all(v <= version for v in finals),
    )


@dataclass(frozen=True)
class NotesFacts:
    """What the github layer read for the notes (``bot.github.notes_facts.read_notes_facts``)."""

    targets: NotesTargets
    milestone_number: int
    owner: str
    repository: str
    html_base: str
    default_branch: str  # "" when it was not needed
    items: tuple[NoteItem, ...]  # the milestone's closed items, the bot's tracking issue left out
    commits: tuple[CommitRef, ...] | None  # the comparison; None when none was read
    compared_from_tag: bool = True  # the comparison starts at the previous tag (else: first release)
    # Merge commit SHAs of the unplaced pull requests (``unplaced_pulls``) that are known.
    merge_shas: Mapping[int, str] = field(default_factory=dict)
    unresolved: int = 0  # pull requests whose merge commit SHA is still to be read (next run)
    errors: tuple[str, ...] = ()  # reads that failed softly (reported, not raised)


@dataclass
class NotesPlan:
    """Everything decided before touching any release: pure inputs to the renderer."""

    version: Version
    milestone_number: int
    release_tag: str
    release_name: str
    previous_tag: str | None
    final_exists: bool
    latest_rc_tag: str | None
    target: str  # the tag once it exists, else the release branch, else the default branch
    branch: str | None
    make_latest: bool
    config: NotesConfig
    selection: Selection
    release: ReleaseInfo
    errors: list[str] = field(default_factory=list)  # reads that failed softly (reported, not raised)
    unresolved: int = 0  # pull requests whose merge commit SHA is still to be read (next run)
    unresolved_first: int = 0  # authors whose first contribution is still to be read (next run)

    def render(self, existing_body: str | None, section_id: int | str | None = None,
               limit: int = RELEASE_BODY_LIMIT) -> RenderedNotes:
        section = section_id if section_id is not None else self.milestone_number
        budget = notes_budget(existing_body, section, limit)
        return render_notes(self.selection.shipped, self.config, self.release, limit=budget)


def unplaced_pulls(items: Sequence[NoteItem], commits: Sequence[CommitRef]) -> list[int]:
    """Merged pull requests no merge/squash message of the comparison places, when some commits
    are unaccounted for: their merge commit SHA decides (rebase merges, edited squash messages)."""
    if not commits or not unattributed_commits(commits):
        return []
    placed = pull_numbers_in(commits)
    return [i.number for i in items if i.is_pull_request and i.merged_at and i.number not in placed]


def plan_notes(facts: NotesFacts, config: Mapping[str, Any]) -> NotesPlan:
    """Decide what ships and how the notes read (pure)."""
    notes_cfg = dict(config.get("notes") or {})
    sources = config.get("_sources") or {}
    notes_config = resolve_notes_config(
        notes_cfg, release_yml=sources.get("release_yml"), drafter_yml=sources.get("release_drafter_yml")
    )
    targets = facts.targets
    in_target = not_in_target = None
    if facts.commits is not None:
        placed = pull_numbers_in(facts.commits)
        if facts.commits:
            candidates = unattributed_commits(facts.commits)
            if candidates and facts.merge_shas:
                placed.update(attribute_by_sha(dict(facts.merge_shas), candidates))
        if facts.compared_from_tag:
            in_target = placed
        else:
            not_in_target = placed
    selection = select_shipped(list(facts.items), in_target=in_target, not_in_target=not_in_target)
    return NotesPlan(
        version=targets.version,
        milestone_number=facts.milestone_number,
        release_tag=targets.release_tag,
        release_name=targets.release_name,
        previous_tag=targets.previous_tag,
        final_exists=targets.final_exists,
        latest_rc_tag=targets.latest_rc_tag,
        target=targets.target(facts.default_branch),
        branch=targets.branch,
        make_latest=targets.make_latest,
        config=notes_config,
        selection=selection,
        errors=list(facts.errors),
        unresolved=facts.unresolved,
        release=ReleaseInfo(
            version_text(targets.version),
            targets.release_tag,
            targets.previous_tag,
            facts.owner,
            facts.repository,
            html_base=facts.html_base,
            milestone_number=facts.milestone_number,
        ),
    )
