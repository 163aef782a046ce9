"""Changing refs, the way a ``git push`` does, with the webhooks GitHub sends for it.

Every ref change of the sandbox (ref API, contents API, merges, releases creating tags, the
``/_sandbox`` push) goes through ``push`` so the events are always the same: for each ref, ``create``
or ``delete`` first when the ref appears or disappears, then ``push``; a pull request whose head
branch moved gets ``synchronize`` (and a ``head_ref_force_pushed`` event when history was rewritten);
a deleted head branch closes its open pull requests. As on GitHub, when one push creates more than
three tags, no ``create`` or ``push`` events are sent for those tags. Call with ``state.lock`` held.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.sandbox import gitobjects
from bot.sandbox import serializers_git as gshapes
from bot.sandbox import serializers_pulls as pshapes
from bot.sandbox.http import ApiError, html_url
from bot.sandbox.state import Commit, GitPerson, IssueEvent, Repo, SandboxState
from bot.sandbox.webhooks import emitter

ZERO_SHA = "0" * 40
MAX_TAGS_WITH_EVENTS = 3
MAX_PUSH_COMMITS = 20


@dataclass
class RefChange:
    ref: str  # full name: refs/heads/x or refs/tags/y
    before: str | None
    after: str | None

    @property
    def short(self) -> str:
        return self.ref.split("/", 2)[2]

    @property
    def kind(self) -> str:
        return "tag" if self.ref.startswith("refs/tags/") else "branch"


def person_for(st: SandboxState, login: str) -> GitPerson:
    """The git identity GitHub writes for an account (bots get their noreply address)."""
    acc = st.account(login)
    if acc is not None and acc.type == "Bot":
        email = f"{acc.id}+{acc.login}@users.noreply.github.com"
    else:
        email = acc.email if acc and acc.email else f"{login}@users.noreply.sandbox"
    return GitPerson(
        name=acc.login if acc else login, email=email, date=st.now(), login=acc.login if acc else None
    )


def commit_files(
    st: SandboxState,
    repo: Repo,
    branch: str,
    changes: dict[str, bytes | None],
    message: str,
    login: str,
    *,
    author: GitPerson | None = None,
) -> Commit:
    """A new commit on ``branch`` applying ``changes`` (None deletes a path); pushes it."""
    parent = repo.branch_sha(branch)
    if parent is None:
        raise ApiError(404, f"Branch {branch} not found")
    tree = dict(repo.commits[parent].tree)
    for path, data in changes.items():
        if data is None:
            tree.pop(path, None)
        else:
            tree[path] = data
    committer = person_for(st, login)
    c = gitobjects.make_commit(tree, [parent], message, author or committer, committer)
    repo.commits[c.sha] = c
    push(st, repo, [RefChange(f"refs/heads/{branch}", parent, c.sha)], login)
    return c


def push(st: SandboxState, repo: Repo, changes: list[RefChange], pusher: str, *, force: bool = True) -> None:
    """Apply ``changes`` to the refs and send the webhooks of one push by ``pusher``.

    ``force=False`` refuses a branch update that is not a fast-forward (422, as the refs API does).
    """
    for ch in changes:
        if ch.after is not None and gitobjects.peel(repo, ch.after) not in repo.commits:
            raise ApiError(422, "Object does not exist")
        if (
            not force
            and ch.kind == "branch"
            and ch.before
            and ch.after
            and not gitobjects.is_ancestor(repo, ch.before, ch.after)
        ):
            raise ApiError(422, "Update is not a fast forward")
    for ch in changes:
        if ch.after is None:
            repo.refs.pop(ch.ref, None)
        else:
            repo.refs[ch.ref] = ch.after
        repo.activity.append({"id": st.next_id("activity"), "ref": ch.ref, "before": ch.before,
                              "after": ch.after, "timestamp": st.now(), "actor": pusher,
                              "activity_type": _activity_type(repo, ch)})
    repo.pushed_at = st.now()
    created_tags = [ch for ch in changes if ch.kind == "tag" and ch.before is None and ch.after is not None]
    quiet_tags = len(created_tags) > MAX_TAGS_WITH_EVENTS
    em = emitter(st)
    for ch in changes:
        if quiet_tags and ch in created_tags:
            continue
        if ch.before is None and ch.after is not None:
            em.emit(
                "create",
                None,
                {
                    "ref": ch.short,
                    "ref_type": ch.kind,
                    "master_branch": repo.default_branch,
                    "description": repo.description,
                    "pusher_type": "user",
                },
                repo,
                sender=pusher,
            )
        elif ch.after is None and ch.before is not None:
            em.emit(
                "delete",
                None,
                {"ref": ch.short, "ref_type": ch.kind, "pusher_type": "user"},
                repo,
                sender=pusher,
            )
        em.emit("push", None, lambda ch=ch: _push_payload(st, repo, ch, pusher), repo, sender=pusher)
    for ch in changes:
        if ch.kind == "branch":
            _follow_pull_requests(st, repo, ch, pusher)


def _activity_type(repo: Repo, ch: RefChange) -> str:
    if ch.before is None:
        return "branch_creation"
    if ch.after is None:
        return "branch_deletion"
    if ch.kind == "branch" and not gitobjects.is_ancestor(repo, ch.before, ch.after):
        return "force_push"
    return "push"


def _push_payload(st: SandboxState, repo: Repo, ch: RefChange, pusher: str) -> dict[str, Any]:
    before, after = ch.before or ZERO_SHA, ch.after or ZERO_SHA
    created, deleted = ch.before is None, ch.after is None
    forced = bool(
        ch.before
        and ch.after
        and not gitobjects.is_ancestor(
            repo, gitobjects.peel(repo, ch.before), gitobjects.peel(repo, ch.after)
        )
    )
    commits: list[Commit] = []
    head = None
    if not deleted:
        head_sha = gitobjects.peel(repo, after)
        head = repo.commits[head_sha]
        if ch.kind == "branch":
            if created:
                default_tip = repo.branch_sha(repo.default_branch)
                base = default_tip if default_tip and default_tip != head_sha else None
                shas = gitobjects.commits_between(repo, base, head_sha) if base else []
            else:
                shas = gitobjects.commits_between(repo, gitobjects.peel(repo, before), head_sha)
            commits = [repo.commits[s] for s in shas][-MAX_PUSH_COMMITS:]
    base_ref = None
    if ch.kind == "tag" and head is not None:
        for name, sha in repo.branches():
            if sha == head.sha:
                base_ref = f"refs/heads/{name}"
                break
    compare = (
        html_url(f"/{repo.full_name}/compare/{ch.short}")
        if created
        else html_url(f"/{repo.full_name}/compare/{before[:12]}...{after[:12]}")
    )
    p = person_for(st, pusher)
    return {
        "ref": ch.ref,
        "before": before,
        "after": after,
        "created": created,
        "deleted": deleted,
        "forced": forced,
        "base_ref": base_ref,
        "compare": compare,
        "commits": [gshapes.push_commit(repo, c) for c in commits],
        "head_commit": gshapes.push_commit(repo, head) if head is not None else None,
        "pusher": {"name": p.name, "email": p.email},
    }


def _follow_pull_requests(st: SandboxState, repo: Repo, ch: RefChange, pusher: str) -> None:
    """Pull requests whose head branch moved: synchronize; whose head branch vanished: closed."""
    em = emitter(st)
    for it in repo.open_pull_requests():
        pr = it.pull
        assert pr is not None
        if it.state != "open" or pr.head_ref != ch.short:
            continue
        if ch.after is None:
            now = st.now()
            it.state, it.closed_at, it.updated_at, it.closed_by = "closed", now, now, pusher
            repo.events.append(
                IssueEvent(
                    id=st.next_id("event"),
                    issue_number=it.number,
                    event="closed",
                    actor=pusher,
                    created_at=now,
                )
            )
            em.emit(
                "pull_request",
                "closed",
                lambda it=it: {
                    "number": it.number,
                    "pull_request": pshapes.pull_request(st, repo, it, webhook=True),
                },
                repo,
                sender=pusher,
            )
            continue
        if pr.head_sha == ch.after:
            continue
        before = pr.head_sha
        forced = not gitobjects.is_ancestor(repo, before, ch.after)
        pr.head_sha = ch.after
        it.updated_at = st.now()
        if forced:
            repo.events.append(
                IssueEvent(
                    id=st.next_id("event"),
                    issue_number=it.number,
                    event="head_ref_force_pushed",
                    actor=pusher,
                    created_at=st.now(),
                    data={"before": before, "after": ch.after},
                )
            )
        em.emit(
            "pull_request",
            "synchronize",
            lambda it=it, before=before, after=ch.after: {
                "number": it.number,
                "before": before,
                "after": after,
                "pull_request": pshapes.pull_request(st, repo, it, webhook=True),
            },
            repo,
            sender=pusher,
        )
