"""Which webhook is only the echo of the bot's own write (pure: payloads and URLs in, names out).

DESIGN.md: the webhooks the bot's own writes cause end in a no-op reconcile. A no-op still reads
every fact again (revalidations, mostly 304, each still a request and a point of GitHub's
900-a-minute budget): in one release about a hundred requests went to reconciles woken by nothing
but the bot's own edits of its tracking issue, comments and labels.

So each write names its *subject* (``write_subject``: the issue, comment or the releases it
changed) and each delivery names the subject its event is about (``event_subject``). A job whose
every event was sent by the bot's own account, about subjects that same key wrote last, has
nothing to learn: the reconcile that wrote them already decided on the state they show
(``bot.reconcilers.echoes``). Any other sender, any subject another key wrote, any event without a
subject (push, milestone, check runs …) runs as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

SENDERS_HINT = "senders"  # every sender's login of the coalesced events (lists are unioned)
SUBJECTS_HINT = "echo_subjects"  # the subjects of the events the bot's own account sent
FAN_OUT_SENDER = "(a reconciler)"  # the sender hint of jobs reconcilers enqueue: never an echo

_ISSUE = re.compile(r"^/issues/(\d+)(/(comments|labels(/.*)?))?$")
_COMMENT = re.compile(r"^/issues/comments/(\d+)$")
_REPO_PATH = re.compile(r"^(?:/api/v3)?/repos/[^/]+/[^/]+(/.*)?$")


def write_subject(url: str, verb: str) -> str | None:
    """``PATCH /repos/o/r/issues/5`` → ``issue:5``: what a write's webhook will be about, or None
    when it causes no webhook a reconciler listens to (reactions, check runs, refs)."""
    match = _REPO_PATH.match(urlsplit(url).path.rstrip("/"))
    if match is None or verb.upper() == "GET":
        return None
    rest = match.group(1) or ""
    if (issue := _ISSUE.match(rest)) is not None:
        return f"issue:{issue.group(1)}"
    if (comment := _COMMENT.match(rest)) is not None:
        return f"comment:{comment.group(1)}"
    # A write to a GitHub Release is never recorded as a subject, so its `release` webhook always
    # runs its reconcile: publishing changes facts the release plan reads (the Deploy checklist
    # ticks "published", the record moves on), which the run that published did not see yet.
    return None


def event_subject(event: str, payload: Mapping[str, Any]) -> str | None:
    """The subject of a delivery, in the names of ``write_subject``, or None."""

    def number(name: str) -> int | None:
        value = payload.get(name)
        got = value.get("number") if isinstance(value, Mapping) else None
        return got if isinstance(got, int) and not isinstance(got, bool) else None

    action = payload.get("action")
    if event == "issues" or (event == "pull_request" and action in _PR_ISSUE_ACTIONS):
        found = number("issue" if event == "issues" else "pull_request")
        return f"issue:{found}" if found is not None else None
    if event == "issue_comment":
        if action == "created":
            found = number("issue")
            return f"issue:{found}" if found is not None else None
        comment = payload.get("comment")
        cid = comment.get("id") if isinstance(comment, Mapping) else None
        return f"comment:{cid}" if isinstance(cid, int) and not isinstance(cid, bool) else None
    if event == "release":
        return "releases"
    return None


# What the bot can do to a pull request through the issues API (labels, milestone, title, body).
_PR_ISSUE_ACTIONS = frozenset({"labeled", "unlabeled", "milestoned", "demilestoned", "edited"})


def echo_hints(event: str, payload: Mapping[str, Any]) -> dict[str, list[str]]:
    """The hints intake adds to every job of a delivery: who sent it and, for a bot, about what."""
    sender = payload.get("sender")
    login = sender.get("login") if isinstance(sender, Mapping) else None
    if not isinstance(login, str):
        return {SENDERS_HINT: ["?"]}  # unknown sender: never an echo
    hints = {SENDERS_HINT: [login.lower()]}
    if sender.get("type") == "Bot":
        # A bot's event with no subject can never be matched to a write: "?" keeps its job running.
        hints[SUBJECTS_HINT] = [event_subject(event, payload) or "?"]
    return hints


# Hints every delivery may carry: the bot's own comments carry comment ids (never commands: those
# are read from people only), every job its freshness touches.
_PLAIN_HINTS = frozenset(
    {SENDERS_HINT, SUBJECTS_HINT, "touched", "touched_at", "echo_touched", "comment_ids", "comment_digests"}
)


def only_own_echoes(hints: Mapping[str, Any], bot_login: str | None) -> list[str] | None:
    """The subjects to check against the ledger when every event of the job was the bot's own,
    each with a subject; otherwise None (the job runs)."""
    senders, subjects = hints.get(SENDERS_HINT), hints.get(SUBJECTS_HINT)
    if not bot_login or not isinstance(senders, list) or not isinstance(subjects, list) or not subjects:
        return None
    if senders != [bot_login.lower()] or not all(isinstance(s, str) for s in subjects):
        return None
    if any(name not in _PLAIN_HINTS for name in hints):
        return None  # other hints (refs, fan-out, release events) ask for more than a look at own writes
    return list(subjects)
