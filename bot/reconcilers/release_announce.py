"""Announcements of one release, inside its reconcile: plan (``bot.core.announce``), send, record.

Called by the apply step (``bot.reconcilers.release_apply``) just before the release record is
written, with the state about to be recorded; returns that state with the announcements delivered
added to ``TrackingState.announced``, so the record write that follows at once keeps them.

Send, then record: a message is recorded only once its webhook accepted it. The one window for a
repeat is a crash (or a refused record write) between the receiver's answer and the record write,
a fraction of a second; the other order (record, then send) would lose the message silently in
the same window, and a lost announcement is what nobody notices. The ``json`` format carries a
stable ``id`` per message so a receiver may drop such a repeat. A wiped store or a replayed event
changes nothing: what was announced is in the record, on GitHub.

A receiver that fails (5xx, no answer) is tried again by the job's rerun (the error is raised after
the apply, as the notes' are); one that refuses (4xx) is recorded as handled and logged, so a
revoked webhook does not make every reconcile post again. URLs are never logged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from bot.core.announce import (
    AnnounceFacts,
    Channel,
    Ref,
    missing_url_warning,
    plan_announcements,
)
from bot.core.due_dates import github_due_day
from bot.core.release_types import ReleaseFacts
from bot.core.release_view import NotesSummary, ReleaseSettings
from bot.core.stages import STAGE_TITLES
from bot.core.tracking import TrackingState
from bot.errors import RetryLater
from bot.github.announce_send import send, usable_url
from bot.reconcilers.context import JobContext


class AnnouncementFailed(RuntimeError):
    """A receiver did not take a message; the job's rerun tries again (nothing was recorded for it)."""


def announce_urls(ctx: JobContext) -> Mapping[str, str]:
    return getattr(ctx.services, "announce_urls", None) or {}


def channel_warnings(channels: tuple[Channel, ...], urls: Mapping[str, str]) -> tuple[str, ...]:
    """What the tracking issue says of channels that cannot be used (names only, never a URL)."""
    out = []
    for channel in channels:
        url = urls.get(channel.url_env)
        if not url:
            out.append(missing_url_warning(channel))
        elif not usable_url(url):
            out.append(
                f"Announcements: channel `{channel.name}` is not announced to: `{channel.url_env}` does not "
                "hold an http(s) URL."
            )
    return tuple(out)


def _repo_html(facts: ReleaseFacts) -> str:
    html = facts.milestone.html_url if facts.milestone is not None else ""
    return html.rsplit("/milestone/", 1)[0] if "/milestone/" in html else ""


def announce_facts(
    facts: ReleaseFacts,
    settings: ReleaseSettings,
    state: TrackingState,
    notes: NotesSummary | None,
    tracking_number: int | None,
) -> AnnounceFacts:
    """The release as the announcements tell it, from the facts and the state about to be recorded."""
    repo_html = _repo_html(facts)
    stage = state.stages.current
    checklist = settings.checklists.get(stage) if stage else None
    published = facts.published_release()
    notes_published = notes is not None and notes.published and bool(notes.release_url)
    release_url = (notes.release_url if notes is not None and notes.release_url else None) or (
        published.html_url if published is not None else ""
    )
    due = github_due_day(facts.milestone.due_on_text) if facts.milestone is not None else None
    titles = {i.number: i.title for i in (*(facts.feedback_issues or ()), *facts.all_items)}
    return AnnounceFacts(
        repo=facts.repo_full_name,
        milestone_number=facts.milestone_number,
        version=facts.version or "",
        stage=stage,
        stage_title=checklist.title if checklist is not None else STAGE_TITLES.get(stage or ""),
        stage_began=state.stages.began.get(stage) if stage else None,
        published_tag=facts.final_tag_name if (published is not None or notes_published) else None,
        due_day=due,
        late=bool(due) and state.overdue == due,
        feedback=tuple(
            Ref(n, titles.get(n, ""), f"{repo_html}/issues/{n}" if repo_html else "") for n in state.feedback
        ),
        highlights=notes.highlights if notes is not None else (),
        tracking_url=f"{repo_html}/issues/{tracking_number}" if repo_html and tracking_number else "",
        milestone_url=facts.milestone.html_url if facts.milestone is not None else "",
        release_url=release_url or "",
    )


@dataclass
class Announcer:
    """Sends the announcements due for one reconcile and records those delivered."""

    ctx: JobContext
    facts: ReleaseFacts
    settings: ReleaseSettings
    notes: NotesSummary | None
    error: Exception | None = None
    sent: list[str] = field(default_factory=list)

    def __call__(self, state: TrackingState, tracking_number: int) -> TrackingState:
        channels = self.ctx.repo_config.announce.channels
        if not channels:
            return state
        urls = announce_urls(self.ctx)
        usable = {c.name for c in channels if usable_url(urls.get(c.url_env, ""))}
        facts = announce_facts(self.facts, self.settings, state, self.notes, tracking_number)
        deliveries = plan_announcements(facts, channels, state.announced, usable)
        recorded = list(state.announced)
        for delivery in deliveries:
            try:
                outcome = send(urls[delivery.channel.url_env], delivery.body, delivery.content_type)
            except RetryLater as exc:  # the receiver asked for a long wait: the rest waits too
                self.error = exc
                break
            what = ", ".join(m.key for m in delivery.moments)
            if outcome.delivered:
                recorded += delivery.records
                self.sent += delivery.records
                self.ctx.log.info(
                    "release %s: announced %s to channel %s", self.ctx.job.key, what, delivery.channel.name
                )
            elif outcome.permanent:
                recorded += delivery.records  # handled: the same message would be refused again
                self.ctx.log.error(
                    "release %s: channel %s refused the announcement of %s: %s",
                    self.ctx.job.key,
                    delivery.channel.name,
                    what,
                    outcome.reason,
                )
            else:
                self.error = AnnouncementFailed(
                    f"channel {delivery.channel.name}: {outcome.reason} (announcing {what})"
                )
                self.ctx.log.warning(
                    "release %s: %s; tried again on the job's rerun", self.ctx.job.key, self.error
                )
        if len(recorded) == len(state.announced):
            return state
        return replace(state, announced=tuple(sorted(set(recorded))))
