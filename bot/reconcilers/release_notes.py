"""Release notes of one milestone: one draft, rebuilt from what ships, published when the tag lands.

Runs inside the ``release:`` reconcile (``sync_release_notes``) and, for ``/release-note`` comments,
inside the ``pr:`` reconcile (``apply_release_note_command``). Reads facts, asks ``bot.core.notes``
for the desired body, and applies only the difference: a rebuild that changes nothing writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from github import Github, UnknownObjectException

from bot.core.notes import (
    RELEASE_BODY_LIMIT,
    CommitRef,
    NoteItem,
    NotesConfig,
    ReleaseInfo,
    RenderedNotes,
    Selection,
    attribute_by_sha,
    carry_human_text,
    merge_release_body,
    notes_budget,
    pull_numbers_in,
    release_note_source,
    render_notes,
    resolve_notes_config,
    select_shipped,
    unattributed_commits,
    with_release_note_section,
)
from bot.core.versions import (
    ReleaseConventions,
    Version,
    branch_for,
    parse_milestone_title,
    parse_tag,
    previous_final,
    version_text,
)
from bot.github import notes_io
from bot.github.notes_io import DesiredRelease, ReleasedTarget, ReleaseRecord
from bot.jobs import JobSpec

ProgressCallback = Callable[[str, int, int | None], None]  # (what, done, total)

# Items commented on and labelled per run; the rest continue in a requeued run, so one release
# of thousands of pull requests never holds a worker for long (the pacer spaces the writes).
RELEASED_PER_RUN = 30  # 60 writes: inside GitHub's 80 content-creating requests a minute
# `GET /pulls/{n}` reads per rebuild for pull requests that no merge/squash message places
# (rebase merges, edited squash messages). The SHAs are kept in the store, so each pull request
# costs one read once; a rebuild leaves the rest to a requeued run, inside the read budget of
# ceil(N/100) + ceil(C/250) + 8 (a steady rebuild makes 2 fixed reads).
MERGE_SHA_READS_PER_RUN = 4
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
    writes: int = 0
    skipped: str | None = None  # why nothing was done (no version in the milestone title, …)


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

    def render(self, existing_body: str | None, section_id: int | str | None = None,
               limit: int = RELEASE_BODY_LIMIT) -> RenderedNotes:
        budget = notes_budget(existing_body, section_id if section_id is not None else self.milestone_number, limit)
        return render_notes(self.selection.shipped, self.config, self.release, limit=budget)


# ---------------------------------------------------------------- planning (reads only)


def _fill(template: str, version: Version) -> str:
    # Plain replacement: a maintainer's template is never handed to str.format (attribute access).
    return (template.replace("{version}", version_text(version)).replace("{major}", str(version.major))
            .replace("{minor}", str(version.minor)).replace("{patch}", str(version.patch)))


def html_base_of(gh: Github) -> str:
    """Web root for links: https://github.com for api.github.com, else the GHES layout's host."""
    base = gh.requester.base_url.rstrip("/")
    if base in ("https://api.github.com", "http://api.github.com"):
        return "https://github.com"
    return base.removesuffix("/api/v3")


def plan_notes(
    gh: Github,
    repo: str,
    config: Mapping[str, Any],
    *,
    milestone_number: int,
    version: Version,
    tag_names: Iterable[str],
    items: list[dict[str, Any]],
    branch: str | None,
    default_branch: str | Callable[[], str],
    on_progress: ProgressCallback | None = None,
    bot_login: str | None = None,
    merge_shas: dict[int, str] | None = None,
    max_sha_reads: int | None = None,
) -> NotesPlan:
    """Decide what ships and how the notes read. Reads the comparison (250 commits a page) and,
    only when the comparison has commits no merge/squash message accounts for, the merge commit
    SHA of the merged pull requests the messages did not place.

    ``default_branch`` may be a callable: it is needed only without a release branch or without a
    previous release, and finding it can cost a read. ``merge_shas`` (number → SHA) is what is
    already known (the store) and receives what is read; ``max_sha_reads`` caps those reads.
    """
    resolved: list[str] = []

    def default() -> str:
        if not resolved:
            resolved.append(default_branch() if callable(default_branch) else default_branch)
        return resolved[0]

    notes_cfg = dict(config.get("notes") or {})
    sources = config.get("_sources") or {}
    notes_config = resolve_notes_config(notes_cfg, release_yml=sources.get("release_yml"),
                                        drafter_yml=sources.get("release_drafter_yml"))
    conventions = ReleaseConventions.from_config(config)
    release_tag = _fill(str(notes_cfg.get("tag_template") or "v{version}"), version)
    release_name = _fill(str(notes_cfg.get("name_template") or "v{version}"), version)
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
    final_exists = release_tag in tags
    previous = previous_final(version, list(finals))
    previous_tag = finals[previous] if previous is not None else None
    target = release_tag if final_exists else (branch or default())

    owner, _, name = repo.partition("/")
    progress = (lambda done, total: on_progress("commits", done, total)) if on_progress else None
    in_target = not_in_target = None
    commits: list[CommitRef] | None = None
    errors: list[str] = []
    try:
        if previous_tag:
            commits = notes_io.compare_commits(gh, repo, previous_tag, target, on_page=progress)
            in_target = pull_numbers_in(commits)
        elif target != default():
            # First release: no tag to compare from. What is on the default branch but not on the
            # target was merged after the branch was cut.
            commits = notes_io.compare_commits(gh, repo, target, default(), on_page=progress)
            not_in_target = pull_numbers_in(commits)
    except UnknownObjectException:
        # A ref vanished between reads (tag deleted, branch renamed): the notes still build from
        # the milestone alone, and the tracking issue says why the commit check was skipped.
        errors.append(f"could not compare {previous_tag or target}...{target if previous_tag else default()}: "
                      "a tag or branch is missing; every merged pull request of the milestone is listed")
    milestone_items = [NoteItem.from_issue_json(d) for d in items
                       if d.get("state") == "closed" and int(d.get("number", 0)) > 0
                       and not _is_bot_issue(d, bot_login)]
    unresolved = 0
    if commits:
        placed = in_target if in_target is not None else not_in_target
        assert placed is not None
        candidates = unattributed_commits(commits)
        unplaced = [i.number for i in milestone_items if i.is_pull_request and i.merged_at and i.number not in placed]
        if candidates and unplaced:
            known, unresolved = _merge_shas_of(gh, repo, unplaced, merge_shas, max_sha_reads)
            placed.update(attribute_by_sha(known, candidates))
    selection = select_shipped(milestone_items, in_target=in_target, not_in_target=not_in_target)
    return NotesPlan(
        version=version,
        milestone_number=milestone_number,
        release_tag=release_tag,
        release_name=release_name,
        previous_tag=previous_tag,
        final_exists=final_exists,
        latest_rc_tag=max(rcs)[1] if rcs else None,
        target=target,
        branch=branch,
        make_latest=all(v <= version for v in finals),
        config=notes_config,
        selection=selection,
        errors=errors,
        unresolved=unresolved,
        release=ReleaseInfo(version_text(version), release_tag, previous_tag, owner, name,
                            html_base=html_base_of(gh), milestone_number=milestone_number),
    )


def _merge_shas_of(gh: Github, repo: str, numbers: list[int], cache: dict[int, str] | None,
                   max_reads: int | None) -> tuple[dict[int, str], int]:
    """Merge commit SHAs of ``numbers``: from ``cache`` (updated), else one read each, at most
    ``max_reads``. Returns (number → SHA for those known, how many are still unknown)."""
    cache = cache if cache is not None else {}
    known: dict[int, str] = {}
    reads = 0
    unresolved = 0
    for number in numbers:
        if number in cache:
            known[number] = cache[number]
            continue
        if max_reads is not None and reads >= max_reads:
            unresolved += 1
            continue
        reads += 1
        sha = notes_io.get_merge_commit_sha(gh, repo, number)
        # "" remembers "no SHA" (a vanished pull request) so it is not asked for again.
        cache[number] = sha or ""
        if sha:
            known[number] = sha
    return known, unresolved


def _is_bot_issue(data: Mapping[str, Any], bot_login: str | None) -> bool:
    # The bot's own tracking issue sits in the milestone; it is not a change of the release.
    return bool(bot_login) and not data.get("pull_request") and (data.get("user") or {}).get("login") == bot_login


# ---------------------------------------------------------------- facts (duck-typed ReleaseFacts)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _facts_inputs(ctx: Any, facts: Any) -> tuple[int, Version | None, str | None, Callable[[], str],
                                                 list[str] | None]:
    milestone = _get(facts, "milestone")
    number = int(_get(facts, "milestone_number") or _get(milestone, "number") or 0)
    title = _get(facts, "milestone_title") or _get(milestone, "title") or ""
    version = _get(facts, "version_obj")
    if version is None:
        conventions = ReleaseConventions.from_config(ctx.config)
        version = parse_milestone_title(str(title), conventions.milestone_pattern) if title else None
    branch = _get(facts, "release_branch")
    if branch is None and _get(facts, "branch_exists") and version is not None:
        branch = branch_for(version, ReleaseConventions.from_config(ctx.config).branch_pattern)
    def default_branch() -> str:
        # ReleaseFacts reads it lazily (one call): only touch it when the plan needs it.
        return str(_get(facts, "default_branch") or "main")

    tags = _get(facts, "tag_names") or _get(facts, "tags")
    return number, version, branch, default_branch, (list(tags) if tags is not None else None)


# ---------------------------------------------------------------- sync (the release: reconcile)


def _hint_key(repo: str, number: int) -> str:
    return f"notes:release-id:{repo}#{number}"


def _merge_shas_key(repo: str, number: int) -> str:
    return f"notes:merge-shas:{repo}#{number}"


def _released_key(repo: str, number: int) -> str:
    return f"notes:released:{repo}#{number}"


def _attempted_key(repo: str, number: int) -> str:
    return f"notes:released-attempted:{repo}#{number}"


def _find_in_listing(releases: list[dict[str, Any]], milestone_number: int, bot_login: str, tag: str,
                     ) -> tuple[ReleaseRecord | None, list[ReleaseRecord]]:
    return notes_io.ours_and_duplicates([
        r for r in map(ReleaseRecord.from_json, releases)
        if notes_io.is_notes_release(r, milestone_number, bot_login, tag)
    ])


def _published_on(releases: list[dict[str, Any]], tag: str) -> ReleaseRecord | None:
    for data in releases:
        if data.get("tag_name") == tag and not data.get("draft"):
            return ReleaseRecord.from_json(data)
    return None


def sync_release_notes(ctx: Any, facts: Any) -> NotesOutcome:
    """Bring the milestone's release to the desired state. Template and configuration problems
    end up in ``NotesOutcome.errors``; GitHub errors propagate to the job boundary."""
    gh: Github = ctx.gh
    repo: str = ctx.repo_full_name
    number, version, branch, default_branch, tags = _facts_inputs(ctx, facts)
    outcome = NotesOutcome()
    if version is None or number <= 0:
        outcome.skipped = "the milestone title is not a version"
        return outcome
    if tags is None:
        tags = notes_io.list_tag_names(gh, repo)
    items = _get(facts, "milestone_items")
    if items is None:
        items = notes_io.list_milestone_items(gh, repo, number)
    # Merge commit SHAs never change once a pull request is merged: a cache, safe to wipe.
    remembered = ctx.store.get_state(_merge_shas_key(repo, number)) if ctx.store else None
    merge_shas = {int(k): str(v) for k, v in remembered.items()} if isinstance(remembered, dict) else {}
    known_before = dict(merge_shas)
    plan = plan_notes(gh, repo, ctx.config, milestone_number=number, version=version, tag_names=tags,
                      items=list(items), branch=branch, default_branch=default_branch, bot_login=ctx.bot_login,
                      merge_shas=merge_shas, max_sha_reads=MERGE_SHA_READS_PER_RUN)
    if ctx.store and merge_shas != known_before:
        ctx.store.set_state(_merge_shas_key(repo, number), {str(k): v for k, v in merge_shas.items()})
    if plan.unresolved:
        # The rest of the pull requests to place by SHA: a requeued run reads the next few.
        _continue(ctx, "notes.merge-sha-continue")
    outcome.errors.extend([*plan.config.errors, *plan.errors])
    outcome.not_on_branch = [NotesPR(i.number, i.title, i.url, i.author) for i in plan.selection.not_on_branch]
    repo_url = plan.release.repo_url
    outcome.off_milestone = [NotesPR(n, ref.title, f"{repo_url}/pull/{n}", "") for n, ref in plan.selection.off_milestone]

    # Find the release: the facts' listing when it is complete (under a page), else by hint/listing.
    listing = _get(facts, "releases")
    complete_listing = isinstance(listing, list) and len(listing) < 100
    if complete_listing:
        ours, duplicates = _find_in_listing(listing, number, ctx.bot_login, plan.release_tag)
    else:
        hint = ctx.store.get_state(_hint_key(repo, number)) if ctx.store else None
        ours, duplicates = notes_io.find_notes_release(gh, repo, number, ctx.bot_login, tag=plan.release_tag,
                                                       hint_id=int(hint) if isinstance(hint, int) else None)
    publish = plan.final_exists and bool(_get(facts, "publish_allowed", True))
    on_tag: ReleaseRecord | None = None
    if plan.final_exists:
        on_tag = _published_on(listing, plan.release_tag) if complete_listing else \
            notes_io.get_release_by_tag(gh, repo, plan.release_tag)

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

    if (ctx.config.get("notes") or {}).get("prereleases", False) and not plan.final_exists and plan.latest_rc_tag:
        outcome.prerelease_url = _apply_prerelease(gh, repo, plan, listing if complete_listing else None, outcome)

    if outcome.published and release is not None:
        _mark_released(ctx, plan, release, outcome)
    return outcome


def _apply_main_release(gh: Github, repo: str, plan: NotesPlan, ours: ReleaseRecord | None,
                        on_tag: ReleaseRecord | None, publish: bool, outcome: NotesOutcome,
                        bot_login: str, duplicates: list[ReleaseRecord]) -> ReleaseRecord | None:
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


def _apply_prerelease(gh: Github, repo: str, plan: NotesPlan, listing: list[dict[str, Any]] | None,
                      outcome: NotesOutcome) -> str | None:
    tag = plan.latest_rc_tag
    assert tag is not None
    section = RC_SECTION.format(number=plan.milestone_number)
    existing = _published_on(listing, tag) if listing is not None else notes_io.get_release_by_tag(gh, repo, tag)
    desired = DesiredRelease(tag_name=tag, name=existing.name if existing else tag, draft=False, prerelease=True,
                             target_commitish=None, make_latest=False)

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


def _mark_released(ctx: Any, plan: NotesPlan, release: ReleaseRecord, outcome: NotesOutcome) -> None:
    notes_cfg = ctx.config.get("notes") or {}
    label = str(notes_cfg.get("released_label", "released") or "")
    comment = bool(notes_cfg.get("comment_on_released", True))
    if not label and not comment:
        return
    key = _released_key(ctx.repo_full_name, plan.milestone_number)
    remembered = ctx.store.get_state(key) if ctx.store else None
    already = {int(n) for n in remembered} if isinstance(remembered, list) else set()
    targets = [ReleasedTarget(i.number, i.labels) for i in plan.selection.shipped
               if i.is_pull_request or i.state_reason != "not_planned"]
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
        ctx.gh, ctx.repo_full_name, targets, milestone_number=plan.milestone_number,
        release_url=release.html_url, tag=plan.release_tag, bot_login=ctx.bot_login, label=label,
        comment=comment, already_done=already, max_items=RELEASED_PER_RUN,
        may_have_commented=lambda n: not known or n in attempted, on_attempt=on_attempt)
    outcome.writes += len(done) * (int(comment) + int(bool(label)))
    if ctx.store and done:
        ctx.store.set_state(key, sorted(already | set(done)))
    if remaining:
        _continue(ctx, "notes.released-continue")


def _continue(ctx: Any, reason: str) -> None:
    job = ctx.job
    ctx.enqueue([JobSpec(job.key, job.installation_id, job.repo, reason=reason)])


# ---------------------------------------------------------------- /release-note (the pr: reconcile)

RELEASE_NOTE_HELP = (
    "`/release-note <text>` sets the text of this pull request in the release notes "
    "(`/release-note NONE` leaves it out). Allowed for the pull request's author and release managers."
)


def _is_release_manager(ctx: Any, login: str) -> bool:
    """The merge gate's role check: permission booleans or team membership, never author_association."""
    from bot.github.permissions import has_role

    return has_role(ctx, login, "release_managers")


def release_note_text(comment_body: str | None) -> str | None:
    """The text of the last ``/release-note`` command in a comment, or None if there is none."""
    from bot.core.commands import parse_commands

    texts = [c.args for c in parse_commands(comment_body) if c.name == "release-note"]
    return texts[-1] if texts else None


def apply_release_note_command(ctx: Any, pr_number: int, comment: Mapping[str, Any],
                               pr: Mapping[str, Any] | None = None) -> str | None:
    """Write a ``/release-note`` comment into the bot-owned section of the pull request body.

    ``comment`` is the issue comment's JSON; ``pr`` the pull request's (or its issue's) JSON when
    the caller has it (saves a read). Returns a refusal to reply with, or None when done or when
    the comment has no such command. Idempotent: replaying the comment, or an older one after a
    newer one, writes nothing.
    """
    text = release_note_text(str(comment.get("body") or ""))
    if text is None:
        return None
    if not text.strip():
        return "Nothing to set: " + RELEASE_NOTE_HELP
    login = str((comment.get("user") or {}).get("login") or "")
    if pr is None or "body" not in pr:
        _h, pr = ctx.gh.requester.requestJsonAndCheck("GET", f"/repos/{ctx.repo_full_name}/issues/{pr_number}")
    assert pr is not None
    author = str((pr.get("user") or {}).get("login") or "")
    if login != author and not _is_release_manager(ctx, login):
        return f"@{login} only the author of this pull request or a release manager can set its release note. " \
               + RELEASE_NOTE_HELP
    comment_id = int(comment.get("id") or 0)
    body = str(pr.get("body") or "")
    source = release_note_source(body)
    if source is not None and source > comment_id:
        return None  # a newer /release-note already wrote the section
    new_body = with_release_note_section(body, text, comment_id)
    if new_body != body:
        ctx.gh.requester.requestJsonAndCheck("PATCH", f"/repos/{ctx.repo_full_name}/issues/{pr_number}",
                                             input={"body": new_body})
    return None
