"""Release notes of one milestone: one draft, rebuilt from what ships, published when the tag lands.

Runs inside the ``release:`` reconcile (``sync_release_notes``) and, for ``/release-note`` comments,
inside the ``pr:`` reconcile (``apply_release_note_command``). Reads facts, asks ``bot.core.notes``
for the desired body, and applies only the difference: a rebuild that changes nothing writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from bot.core.announce.model import Highlight, Ref
from bot.core.command_registry import PULL_REQUEST, spec
from bot.core.commands import parse_commands
from bot.core.notes import (
    carry_human_text,
    merge_release_body,
    release_note_source,
    with_release_note_section,
)
from bot.core.notes.model import NoteItem
from bot.core.notes.plan import NotesPlan
from bot.core.notes.plan import plan_notes as plan_notes_from
from bot.core.notes.sources import needs_first_contributions, with_first_contributions
from bot.core.permissions import ROLE_RELEASE_MANAGERS, ROLE_TITLES
from bot.core.release_types import Release
from bot.core.release_view import NotesSummary
from bot.core.tracking import ItemRef
from bot.github import contributions_io, notes_io
from bot.github.client import GitHubClient
from bot.github.notes_facts import NotesInputs, read_notes_facts
from bot.github.notes_io import DesiredRelease, ReleasedTarget, ReleaseRecord
from bot.jobs import JobSpec

if TYPE_CHECKING:
    from bot.reconcilers.context import JobContext

__all__ = [
    "RELEASE_NOTE",
    "NotesInputs",
    "NotesOutcome",
    "NotesPlan",
    "apply_release_note_command",
    "plan_notes",
    "release_note_text",
    "sync_release_notes",
]

ProgressCallback = Callable[[str, int, int | None], None]  # (what, done, total)

# Items commented on and labelled per run; the rest continue in a requeued run, so one release
# of thousands of pull requests never holds a worker for long (the pacer spaces the writes).
RELEASED_PER_RUN = 30  # 60 writes: inside GitHub's 80 content-creating requests a minute
# `GET /pulls/{n}` reads per rebuild for pull requests that no merge/squash message places
# (rebase merges, edited squash messages). The SHAs are kept in the store, so each pull request
# costs one read once; a rebuild leaves the rest to a requeued run, inside the read budget of
# ceil(N/100) + ceil(C/250) + 8 (a steady rebuild makes 2 fixed reads).
MERGE_SHA_READS_PER_RUN = 4
# Authors whose first contribution is read per rebuild, only in the formats that show it (GitHub's
# "New Contributors", release-drafter's $NEW_CONTRIBUTORS); each author is read once, ever (kept in
# the store), the rest in a requeued run.
FIRST_CONTRIBUTION_READS_PER_RUN = 4
RC_SECTION = "{number}:rc"


@dataclass(frozen=True)
class NotesPR:
    number: int
    title: str
    url: str
    author: str


@dataclass
class NotesOutcome:
    """What the release reconcile reports on the tracking issue."""

    release_id: int | None = None
    release_url: str | None = None
    published: bool = False
    published_now: bool = False  # this run turned the release from draft into published
    prerelease_url: str | None = None
    included: list[int] = field(default_factory=list)
    not_on_branch: list[NotesPR] = field(default_factory=list)  # in the milestone, not on the release branch
    off_milestone: list[NotesPR] = field(default_factory=list)  # merged into the target without the milestone
    collapsed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    highlights: tuple[Highlight, ...] = ()  # what ships, by category (the announcements tell it)
    writes: int = 0
    skipped: str | None = None  # why nothing was done (no version in the milestone title, …)

    def summary(self) -> NotesSummary:
        """What the tracking issue shows of the notes."""
        return NotesSummary(
            release_url=self.release_url,
            published=self.published,
            errors=tuple(self.errors),
            off_milestone=tuple(ItemRef(p.number, p.title, True, p.author) for p in self.off_milestone),
            not_on_branch=tuple(ItemRef(p.number, p.title, True, p.author) for p in self.not_on_branch),
            highlights=self.highlights,
        )


# ---------------------------------------------------------------- planning (reads, then pure)


def plan_notes(
    gh: GitHubClient,
    repo: str,
    config: Mapping[str, Any],
    inputs: NotesInputs,
    *,
    on_progress: ProgressCallback | None = None,
    bot_login: str | None = None,
    merge_shas: dict[int, str] | None = None,
    max_sha_reads: int | None = None,
    first_pulls: dict[str, int] | None = None,
    max_first_reads: int | None = None,
) -> NotesPlan:
    """Read what the notes are decided from (``bot.github.notes_facts``), then decide (pure:
    ``bot.core.notes.plan.plan_notes``). ``first_pulls`` (login → earliest merged pull request)
    is what is already known and receives what is read, only when the format shows first
    contributions."""
    facts = read_notes_facts(
        gh,
        repo,
        config,
        inputs,
        bot_login=bot_login,
        merge_shas=merge_shas,
        max_sha_reads=max_sha_reads,
        on_progress=on_progress,
    )
    sources = config.get("_sources") or {}
    unresolved_first = 0
    if needs_first_contributions(
        config.get("notes") or {}, sources.get("release_yml"), sources.get("release_drafter_yml")
    ):
        known = first_pulls if first_pulls is not None else {}
        unresolved_first = _read_first_pulls(gh, repo, facts.items, known, max_first_reads)
        facts = replace(facts, items=with_first_contributions(facts.items, known))
    plan = plan_notes_from(facts, config)
    plan.unresolved_first = unresolved_first
    return plan


def _read_first_pulls(
    gh: GitHubClient, repo: str, items: tuple[NoteItem, ...], known: dict[str, int], max_reads: int | None
) -> int:
    """Read the first contribution of the authors not in ``known`` (at most ``max_reads``);
    return how many are left for a later run."""
    authors = sorted({i.author for i in items if i.is_pull_request and i.merged_at and i.author not in known})
    budget = len(authors) if max_reads is None else max_reads
    for login in authors[:budget]:
        known[login] = contributions_io.first_merged_pull(gh, repo, login)
    return max(0, len(authors) - budget)


# ---------------------------------------------------------------- sync (the release: reconcile)


def _hint_key(repo: str, number: int) -> str:
    return f"notes:release-id:{repo}#{number}"


def _merge_shas_key(repo: str, number: int) -> str:
    return f"notes:merge-shas:{repo}#{number}"


def _first_pulls_key(repo: str) -> str:
    # Per repository, not per milestone: an author's first contribution is the same for every release.
    return f"notes:first-pulls:{repo}"


def _released_key(repo: str, number: int) -> str:
    return f"notes:released:{repo}#{number}"


def _attempted_key(repo: str, number: int) -> str:
    return f"notes:released-attempted:{repo}#{number}"


def _find_in_listing(
    releases: tuple[Release, ...],
    milestone_number: int,
    bot_login: str,
    tag: str,
) -> tuple[ReleaseRecord | None, list[ReleaseRecord]]:
    return notes_io.ours_and_duplicates(
        [r for r in releases if notes_io.is_notes_release(r, milestone_number, bot_login, tag)]
    )


def _published_on(releases: tuple[Release, ...], tag: str) -> ReleaseRecord | None:
    return next((r for r in releases if r.tag_name == tag and not r.draft), None)


def sync_release_notes(ctx: JobContext, inputs: NotesInputs, *, publish_allowed: bool = True) -> NotesOutcome:
    """Bring the milestone's release to the desired state. Template and configuration problems
    end up in ``NotesOutcome.errors``; GitHub errors propagate to the job boundary.
    ``publish_allowed``: strict mode keeps the release a draft before Deploy."""
    gh: GitHubClient = ctx.gh
    repo: str = ctx.repo_full_name
    number = inputs.milestone_number
    outcome = NotesOutcome()
    if number <= 0:
        outcome.skipped = "the milestone title is not a version"
        return outcome
    # Merge commit SHAs never change once a pull request is merged: a cache, safe to wipe.
    remembered = ctx.store.get_state(_merge_shas_key(repo, number)) if ctx.store else None
    merge_shas = {int(k): str(v) for k, v in remembered.items()} if isinstance(remembered, dict) else {}
    known_before = dict(merge_shas)
    stored_first = ctx.store.get_state(_first_pulls_key(repo)) if ctx.store else None
    first_pulls = (
        {str(k): int(v) for k, v in stored_first.items() if isinstance(v, int)}
        if isinstance(stored_first, dict)
        else {}
    )
    first_before = dict(first_pulls)
    plan = plan_notes(
        gh,
        repo,
        ctx.config,
        inputs,
        bot_login=ctx.bot_login,
        merge_shas=merge_shas,
        max_sha_reads=MERGE_SHA_READS_PER_RUN,
        first_pulls=first_pulls,
        max_first_reads=FIRST_CONTRIBUTION_READS_PER_RUN,
    )
    if ctx.store and merge_shas != known_before:
        ctx.store.set_state(_merge_shas_key(repo, number), {str(k): v for k, v in merge_shas.items()})
    if ctx.store and first_pulls != first_before:
        ctx.store.set_state(_first_pulls_key(repo), first_pulls)
    if plan.unresolved:
        # The rest of the pull requests to place by SHA: a requeued run reads the next few.
        _continue(ctx, "notes.merge-sha-continue")
    if plan.unresolved_first:
        _continue(ctx, "notes.first-contribution-continue")
    outcome.errors.extend([*plan.config.errors, *plan.errors])
    outcome.not_on_branch = [
        NotesPR(i.number, i.title, i.url, i.author) for i in plan.selection.not_on_branch
    ]
    repo_url = plan.release.repo_url
    outcome.off_milestone = [
        NotesPR(n, ref.title, f"{repo_url}/pull/{n}", "") for n, ref in plan.selection.off_milestone
    ]

    # Find the release: the caller's listing when it is complete (under a page), else by hint/listing.
    listing = inputs.releases
    if listing is not None:
        ours, duplicates = _find_in_listing(listing, number, ctx.bot_login, plan.release_tag)
    else:
        hint = ctx.store.get_state(_hint_key(repo, number)) if ctx.store else None
        ours, duplicates = notes_io.find_notes_release(
            gh,
            repo,
            number,
            ctx.bot_login,
            tag=plan.release_tag,
            hint_id=int(hint) if isinstance(hint, int) else None,
        )
    publish = plan.final_exists and publish_allowed
    on_tag: ReleaseRecord | None = None
    if plan.final_exists:
        on_tag = (
            _published_on(listing, plan.release_tag)
            if listing is not None
            else notes_io.get_release_by_tag(gh, repo, plan.release_tag)
        )

    release = _apply_main_release(gh, repo, plan, ours, on_tag, publish, outcome, ctx.bot_login, duplicates)
    for extra in duplicates + ([ours] if ours and release and ours.id != release.id and ours.draft else []):
        # Only drafts the bot itself wrote for this milestone: leftovers of a race, or the draft
        # made redundant by a release someone else published on the tag.
        notes_io.delete_release(gh, repo, extra.id)
        outcome.writes += 1
    if release is not None:
        outcome.release_id, outcome.release_url = release.id, release.html_url
        outcome.published = not release.draft
        if ctx.store and ctx.store.get_state(_hint_key(repo, number)) != release.id:
            ctx.store.set_state(_hint_key(repo, number), release.id)

    if ctx.repo_config.notes.prereleases and not plan.final_exists and plan.latest_rc_tag:
        outcome.prerelease_url = _apply_prerelease(gh, repo, plan, listing, outcome)

    if outcome.published and release is not None:
        _mark_released(ctx, plan, release, outcome)
    return outcome


def _apply_main_release(
    gh: GitHubClient,
    repo: str,
    plan: NotesPlan,
    ours: ReleaseRecord | None,
    on_tag: ReleaseRecord | None,
    publish: bool,
    outcome: NotesOutcome,
    bot_login: str,
    duplicates: list[ReleaseRecord],
) -> ReleaseRecord | None:
    number = plan.milestone_number
    holder = on_tag if on_tag is not None else ours
    theirs = holder is not None and holder.author != bot_login
    # Drafts that are deleted after this (sync_release_notes) give their human text to the release
    # that stays first: our draft once someone else's release holds the tag, and duplicate drafts
    # of a race, whose text people may have edited too.
    donors = [d.body for d in duplicates if holder is None or d.id != holder.id]
    if theirs and ours is not None and ours.draft and holder is not None and ours.id != holder.id:
        donors.insert(0, ours.body)
    desired = DesiredRelease(
        tag_name=plan.release_tag,
        # A release someone else made for the tag keeps its name and pre-release flag: we only
        # add our section to it.
        name=holder.name if theirs and holder is not None else plan.release_name,
        draft=not publish,
        prerelease=holder.prerelease if theirs and holder is not None else False,
        # Once the tag exists the release sits on it; before, the draft follows the branch.
        target_commitish=None if plan.final_exists else plan.target,
        make_latest=plan.make_latest if publish else None,
    )

    def body_for(current: str) -> str:
        if donors:
            # Place the carried text first, so the size budget of the notes accounts for it.
            current = merge_release_body(current, "", number)
            for donor in donors:
                current = carry_human_text(current, donor, number)
        rendered = plan.render(current)
        outcome.included = list(rendered.included)
        outcome.collapsed = list(rendered.collapsed)
        outcome.errors.extend(e for e in rendered.errors if e not in outcome.errors)
        outcome.highlights = tuple(
            Highlight(c.title, tuple(Ref(i.number, i.title, i.url) for i in c.items))
            for c in rendered.categories
        )
        return merge_release_body(current, rendered.markdown, number)

    if holder is None:
        created = notes_io.create_release(gh, repo, desired, body_for(""))
        outcome.writes += 1
        outcome.published_now = not created.draft
        return created
    # Pure check first: an unchanged rebuild costs no re-read and no write.
    if not notes_io.release_patch(holder, desired, body_for(holder.body)):
        return holder
    updated, patch = notes_io.update_release(gh, repo, holder.id, desired, body_for)
    if patch:
        outcome.writes += 1
        outcome.published_now = patch.get("draft") is False
    return updated


def _apply_prerelease(
    gh: GitHubClient, repo: str, plan: NotesPlan, listing: tuple[Release, ...] | None, outcome: NotesOutcome
) -> str | None:
    tag = plan.latest_rc_tag
    assert tag is not None
    section = RC_SECTION.format(number=plan.milestone_number)
    existing = (
        _published_on(listing, tag) if listing is not None else notes_io.get_release_by_tag(gh, repo, tag)
    )
    desired = DesiredRelease(
        tag_name=tag,
        name=existing.name if existing else tag,
        draft=False,
        prerelease=True,
        target_commitish=None,
        make_latest=False,
    )

    def body_for(current: str) -> str:
        return merge_release_body(current, plan.render(current, section).markdown, section)  # type: ignore[arg-type]

    if existing is None:
        created = notes_io.create_release(gh, repo, desired, body_for(""))
        outcome.writes += 1
        return created.html_url
    if notes_io.release_patch(existing, desired, body_for(existing.body)):
        updated, patch = notes_io.update_release(gh, repo, existing.id, desired, body_for)
        outcome.writes += 1 if patch else 0
        return updated.html_url if updated else None
    return existing.html_url


def _mark_released(ctx: JobContext, plan: NotesPlan, release: ReleaseRecord, outcome: NotesOutcome) -> None:
    label = ctx.repo_config.notes.released_label
    comment = ctx.repo_config.notes.comment_on_released
    if not label and not comment:
        return
    key = _released_key(ctx.repo_full_name, plan.milestone_number)
    remembered = ctx.store.get_state(key) if ctx.store else None
    already = {int(n) for n in remembered} if isinstance(remembered, list) else set()
    targets = [
        ReleasedTarget(i.number, i.labels)
        for i in plan.selection.shipped
        if i.is_pull_request or i.state_reason != "not_planned"
    ]
    # Which items an earlier run may have commented on without finishing (crash before the
    # label): none when the release was published in this very run; those the store saw being
    # attempted; all of them when the store knows nothing (wiped: reads, never a second comment).
    attempted_key = _attempted_key(ctx.repo_full_name, plan.milestone_number)
    recorded = ctx.store.get_state(attempted_key) if ctx.store else None
    attempted = {int(n) for n in recorded} if isinstance(recorded, list) else set()
    known = outcome.published_now or isinstance(recorded, list)

    def on_attempt(number: int) -> None:
        attempted.add(number)
        if ctx.store:
            ctx.store.set_state(attempted_key, sorted(attempted))

    done, remaining = notes_io.mark_released(
        ctx.gh,
        ctx.repo_full_name,
        targets,
        milestone_number=plan.milestone_number,
        release_url=release.html_url,
        tag=plan.release_tag,
        bot_login=ctx.bot_login,
        label=label,
        comment=comment,
        already_done=already,
        max_items=RELEASED_PER_RUN,
        may_have_commented=lambda n: not known or n in attempted,
        on_attempt=on_attempt,
    )
    outcome.writes += len(done) * (int(comment) + int(bool(label)))
    if ctx.store and done:
        ctx.store.set_state(key, sorted(already | set(done)))
    if remaining:
        _continue(ctx, "notes.released-continue")


def _continue(ctx: JobContext, reason: str) -> None:
    job = ctx.job
    ctx.enqueue([JobSpec(job.key, job.installation_id, job.repo, reason=reason)])


# ---------------------------------------------------------------- /release-note (the pr: reconcile)

RELEASE_NOTE = spec(PULL_REQUEST, "release-note")  # its syntax, who may run it and its help line


def _release_note_values(ctx: JobContext) -> dict[str, str]:
    """What the registry's texts name. A zero-width space after ``@`` keeps a refusal from
    notifying a whole team each time someone runs a command they may not run."""
    words = ctx.roles.describe(ROLE_RELEASE_MANAGERS).replace("@", "@\u200b")
    return {"rm": f"{ROLE_TITLES[ROLE_RELEASE_MANAGERS]} ({words})"}


def release_note_text(comment_body: str | None) -> str | None:
    """The text of the last ``/release-note`` command in a comment, or None if there is none."""
    texts = [c.args for c in parse_commands(comment_body) if c.name == "release-note"]
    return texts[-1] if texts else None


def apply_release_note_command(
    ctx: JobContext, pr_number: int, comment: Mapping[str, Any], pr: Mapping[str, Any] | None = None
) -> str | None:
    """Write a ``/release-note`` comment into the bot-owned section of the pull request body.

    ``comment`` is the issue comment's JSON; ``pr`` the pull request's (or its issue's) JSON when
    the caller has it (saves a read). Returns a refusal to reply with, or None when done or when
    the comment has no such command. Idempotent: replaying the comment, or an older one after a
    newer one, writes nothing.
    """
    text = release_note_text(str(comment.get("body") or ""))
    if text is None:
        return None
    login = str((comment.get("user") or {}).get("login") or "")
    if not text.strip():
        return "Nothing to set: " + RELEASE_NOTE.help_line(_release_note_values(ctx))
    target = (
        notes_io.pull_body_of(dict(pr))
        if pr is not None and "body" in pr
        else notes_io.get_pull_body(ctx.gh, ctx.repo_full_name, pr_number)
    )
    # The merge gate's role check: permission booleans or team membership, never author_association.
    if not ctx.roles.may_run(RELEASE_NOTE, login, is_author=login == target.author):
        return f"@{login} {RELEASE_NOTE.refusal(_release_note_values(ctx))}"
    comment_id = int(comment.get("id") or 0)
    source = release_note_source(target.body)
    if source is not None and source > comment_id:
        return None  # a newer /release-note already wrote the section
    new_body = with_release_note_section(target.body, text, comment_id)
    if new_body != target.body:
        notes_io.set_pull_body(ctx.gh, ctx.repo_full_name, pr_number, new_body)
    return None
