"""The sandbox's web pages behind its ``html_url``s: what a person following the bot's links sees.

Read-only HTML, as GitHub shows it to a visitor who is not signed in: a repository, an issue or a
pull request with its comments (and a pull request's reviews and check runs), a milestone, a
release, a check run's output. Private repositories answer 404, as on GitHub. Markdown is rendered
by markdown-it-py with raw HTML off (it shows as text) and task lists as disabled boxes; HTML
comments — where the bot keeps its markers — are hidden, as GitHub hides them. Every piece of user
text goes through ``html.escape`` or the renderer: nothing a user wrote becomes markup.

Nothing here is an API: requests to these pages are not logged in ``/_sandbox/requests``.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import quote

from flask import Blueprint, Response, redirect
from markdown_it import MarkdownIt
from mdit_py_plugins.tasklists import tasklists_plugin

from bot.sandbox.http import state
from bot.sandbox.state import Issue, Release, Repo, SandboxState

URL_PREFIX = ""  # web pages at the host root
bp = Blueprint("sandbox_pages", __name__)

_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).use(tasklists_plugin)
# A backslash at the end of a line joins it to the next, so the CSS served keeps its long lines.
_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;color:#1f2328;margin:0}\
main{max-width:56rem;margin:0 auto;padding:1rem}
header{padding:.6rem 1rem;border-bottom:1px solid #d0d7de;background:#f6f8fa}a{color:#0b5cad}
.meta{color:#57606a;font-size:.9rem}.state{display:inline-block;padding:0 .6rem;border-radius:1rem;color:#fff;
background:#1a7f37}.state.closed{background:#8250df}.state.merged{background:#8250df}.state.draft{background:#57606a}
.box{border:1px solid #d0d7de;border-radius:8px;margin:1rem 0}\
.box>.meta{padding:.4rem .8rem;background:#f6f8fa;
border-bottom:1px solid #d0d7de}.box>.md{padding:0 .8rem;overflow-wrap:anywhere}\
pre{overflow-x:auto;background:#f6f8fa;
padding:.5rem}table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.25rem .5rem}
.label{border:1px solid #57606a;border-radius:1rem;padding:0 .5rem;font-size:.85rem;margin-right:.25rem}
li.task-list-item{list-style:none}ul.contains-task-list{padding-left:1rem}
"""


def markdown(text: str | None) -> str:
    return _md.render(_COMMENT_RE.sub("", text or ""))


def _esc(text: object) -> str:
    return html.escape(str(text if text is not None else ""))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _page(title: str, body: str, status: int = 200) -> Response:
    doc = (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title)} · sandbox</title><style>{_STYLE}</style></head><body>"
        f"<header><strong>sandbox</strong> · a simulated GitHub</header><main>{body}</main></body></html>"
    )
    resp = Response(doc, status=status, mimetype="text/html")
    resp.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'"
    return resp


def _not_found() -> Response:
    return _page("Not Found", "<h1>404</h1><p>This is not the web page you are looking for.</p>", 404)


def _visible_repo(st: SandboxState, owner: str, name: str) -> Repo | None:
    repo = st.repo(owner, name)
    # A visitor who is not signed in: private repositories do not exist for them (GitHub's 404).
    return repo if repo is not None and st.role(repo, None) is not None else None


def _repo_link(repo: Repo) -> str:
    return f"<a href='/{_esc(repo.full_name)}'>{_esc(repo.full_name)}</a>"


def _box(who: str, when: datetime | None, body: str | None, anchor: str = "") -> str:
    ident = f" id='{_esc(anchor)}'" if anchor else ""
    return (
        f"<article class='box'{ident}><div class='meta'><strong>{_esc(who)}</strong> · {_when(when)}</div>"
        f"<div class='md'>{markdown(body) if body else '<p><em>No description provided.</em></p>'}"
        "</div></article>"
    )


def _labels(names: Iterable[str]) -> str:
    return "".join(f"<span class='label'>{_esc(n)}</span>" for n in names)


def _item_state(it: Issue) -> tuple[str, str]:
    if it.pull is not None and it.pull.merged:
        return "merged", "Merged"
    if it.pull is not None and it.pull.draft and it.state == "open":
        return "draft", "Draft"
    return ("closed", "Closed") if it.state == "closed" else ("open", "Open")


@bp.get("/<owner>/<name>")
def repository(owner: str, name: str) -> Response:
    st = state()
    with st.lock:
        repo = _visible_repo(st, owner, name)
        if repo is None:
            return _not_found()
        items = sorted((i for i in repo.issues.values() if not i.deleted), key=lambda i: -i.number)[:100]
        rows = "".join(
            f"<li><a href='/{_esc(repo.full_name)}/{'pull' if i.pull else 'issues'}/{i.number}'>"
            f"#{i.number}</a> "
            f"{_esc(i.title)} <span class='meta'>{_item_state(i)[1].lower()}</span></li>"
            for i in items
        )
        milestones = "".join(
            f"<li><a href='/{_esc(repo.full_name)}/milestone/{m.number}'>{_esc(m.title)}</a> "
            f"<span class='meta'>{_esc(m.state)}</span></li>"
            for m in sorted(repo.milestones.values(), key=lambda m: m.number)
        )
        releases = "".join(
            f"<li><a href='{_esc(_release_path(repo, r.id, r.tag_name, r.draft))}'>"
            f"{_esc(r.name or r.tag_name)}</a> "
            f"<span class='meta'>{'draft' if r.draft else 'published'}</span></li>"
            for r in sorted(_releases(repo), key=lambda r: -r.id)
        )
        body = (
            f"<h1>{_esc(repo.full_name)}</h1><p class='meta'>{'private' if repo.private else 'public'} · "
            f"default branch {_esc(repo.default_branch)}</p>"
            f"<h2>Milestones</h2><ul>{milestones or '<li>none</li>'}</ul>"
            f"<h2>Releases</h2><ul>{releases or '<li>none</li>'}</ul>"
            f"<h2>Issues and pull requests</h2><ul>{rows or '<li>none</li>'}</ul>"
        )
    return _page(repo.full_name, body)


def _releases(repo: Repo) -> list[Release]:
    return list(repo.releases.values())


def _release_path(repo: Repo, release_id: int, tag: str, draft: bool) -> str:
    if draft:
        return f"/{repo.full_name}/releases/tag/untagged-{release_id}"
    return f"/{repo.full_name}/releases/tag/{quote(tag, safe='/')}"


def _issue_page(owner: str, name: str, number: int, want_pull: bool) -> Response:
    st = state()
    with st.lock:
        repo = _visible_repo(st, owner, name)
        it = repo.issues.get(number) if repo is not None else None
        if repo is None or it is None or it.deleted:
            return _not_found()
        if (it.pull is not None) != want_pull:
            # GitHub sends /issues/N of a pull request to /pull/N, and the other way round.
            return redirect(f"/{repo.full_name}/{'pull' if it.pull else 'issues'}/{number}", code=301)  # type: ignore[return-value]
        css, word = _item_state(it)
        milestone = repo.milestones.get(it.milestone) if it.milestone else None
        parts = [
            f"<p class='meta'>{_repo_link(repo)}</p>",
            f"<h1>{_esc(it.title)} <span class='meta'>#{it.number}</span></h1>",
            f"<p><span class='state {css}'>{word}</span> <span class='meta'>opened by "
            f"<strong>{_esc(it.user)}</strong> {_when(it.created_at)}</span></p>",
        ]
        if it.pull is not None:
            parts.append(
                f"<p class='meta'>wants to merge <code>{_esc(it.pull.head_ref)}</code> into "
                f"<code>{_esc(it.pull.base_ref)}</code> · head <code>{_esc(it.pull.head_sha[:12])}</code></p>"
            )
        if it.labels or milestone is not None:
            ms = (
                f" Milestone: <a href='/{_esc(repo.full_name)}/milestone/{milestone.number}'>"
                f"{_esc(milestone.title)}</a>"
                if milestone is not None
                else ""
            )
            parts.append(f"<p>{_labels(it.labels)}{ms}</p>")
        parts.append(_box(it.user, it.created_at, it.body))
        timeline: list[tuple[datetime, str]] = []
        for c in repo.comments.values():
            if c.issue_number == number:
                timeline.append((c.created_at, _box(c.user, c.created_at, c.body, f"issuecomment-{c.id}")))
        if it.pull is not None:
            for r in it.pull.reviews:
                if r.submitted_at is None:
                    continue
                who = f"{r.user} · review: {r.state.lower().replace('_', ' ')}"
                timeline.append(
                    (r.submitted_at, _box(who, r.submitted_at, r.body, f"pullrequestreview-{r.id}"))
                )
        parts += [html_ for _when_, html_ in sorted(timeline, key=lambda t: t[0])]
        if it.pull is not None:
            parts.append(_checks_of(st, repo, it.pull.head_sha))
    return _page(f"{it.title} · #{number}", "".join(parts))


def _checks_of(st: SandboxState, repo: Repo, sha: str) -> str:
    runs = sorted((r for r in repo.check_runs.values() if r.head_sha == sha), key=lambda r: r.id)
    if not runs:
        return "<h2>Checks</h2><p>No check runs on the head commit.</p>"
    rows = "".join(
        f"<li><a href='/{_esc(repo.full_name)}/runs/{r.id}'>{_esc(r.name)}</a> · "
        f"{_esc(r.conclusion or r.status)} <span class='meta'>"
        f"{_esc(st.apps[r.app_id].name if r.app_id in st.apps else '')}"
        f"</span></li>"
        for r in runs
    )
    return f"<h2>Checks</h2><ul>{rows}</ul>"


@bp.get("/<owner>/<name>/issues/<int:number>")
def issue(owner: str, name: str, number: int) -> Response:
    return _issue_page(owner, name, number, want_pull=False)


@bp.get("/<owner>/<name>/pull/<int:number>")
def pull(owner: str, name: str, number: int) -> Response:
    return _issue_page(owner, name, number, want_pull=True)


@bp.get("/<owner>/<name>/milestone/<int:number>")
def milestone(owner: str, name: str, number: int) -> Response:
    st = state()
    with st.lock:
        repo = _visible_repo(st, owner, name)
        m = repo.milestones.get(number) if repo is not None else None
        if repo is None or m is None:
            return _not_found()
        items = sorted(
            (i for i in repo.issues.values() if i.milestone == number and not i.deleted),
            key=lambda i: i.number,
        )
        rows = "".join(
            f"<li><a href='/{_esc(repo.full_name)}/{'pull' if i.pull else 'issues'}/{i.number}'>"
            f"#{i.number}</a> "
            f"{_esc(i.title)} <span class='meta'>{_item_state(i)[1].lower()}</span></li>"
            for i in items
        )
        open_count = sum(1 for i in items if i.state == "open")
        due = f"Due by {m.due_on.strftime('%Y-%m-%d')}" if m.due_on else "No due date"
        body = (
            f"<p class='meta'>{_repo_link(repo)}</p><h1>{_esc(m.title)}</h1>"
            f"<p><span class='state {'closed' if m.state == 'closed' else ''}'>"
            f"{_esc(m.state.title())}</span> "
            f"<span class='meta'>{due} · {open_count} open, {len(items) - open_count} closed</span></p>"
            "<div class='box'><div class='md'>"
            f"{markdown(m.description) if m.description else '<p><em>No description.</em></p>'}"
            f"</div></div><h2>Issues and pull requests</h2><ul>{rows or '<li>none</li>'}</ul>"
        )
    return _page(m.title, body)


@bp.get("/<owner>/<name>/releases/tag/<path:tag>")
def release(owner: str, name: str, tag: str) -> Response:
    st = state()
    with st.lock:
        repo = _visible_repo(st, owner, name)
        if repo is None:
            return _not_found()
        releases = _releases(repo)
        if tag.startswith("untagged-") and tag[len("untagged-") :].isdigit():
            # A draft's page; GitHub shows it only to people with push access, the sandbox to anyone
            # following the bot's link on one machine.
            wanted = int(tag[len("untagged-") :])
            rel = next((r for r in releases if r.id == wanted and r.draft), None)
        else:
            rel = next((r for r in releases if r.tag_name == tag and not r.draft), None)
        if rel is None:
            return _not_found()
        word = "Draft" if rel.draft else ("Pre-release" if rel.prerelease else "Release")
        body = (
            f"<p class='meta'>{_repo_link(repo)}</p><h1>{_esc(rel.name or rel.tag_name)}</h1>"
            f"<p><span class='state {'draft' if rel.draft else ''}'>{word}</span> <span class='meta'>tag "
            f"<code>{_esc(rel.tag_name)}</code> · by <strong>{_esc(rel.author)}</strong>"
            f"{' · published ' + _when(rel.published_at) if rel.published_at else ''}</span></p>"
            "<div class='box'><div class='md'>"
            f"{markdown(rel.body) if rel.body else '<p><em>No notes.</em></p>'}</div></div>"
        )
    return _page(rel.name or rel.tag_name, body)


@bp.get("/<owner>/<name>/runs/<int:run_id>")
def check_run(owner: str, name: str, run_id: int) -> Response:
    st = state()
    with st.lock:
        repo = _visible_repo(st, owner, name)
        run = repo.check_runs.get(run_id) if repo is not None else None
        if repo is None or run is None:
            return _not_found()
        app = st.apps.get(run.app_id)
        output = run.output or {}
        body = (
            f"<p class='meta'>{_repo_link(repo)}</p><h1>{_esc(run.name)}</h1>"
            f"<p class='meta'>by {_esc(app.name if app else 'an app')} · {_esc(run.status)}"
            f"{' · ' + _esc(run.conclusion) if run.conclusion else ''}"
            f" · commit <code>{_esc(run.head_sha[:12])}</code>"
            f"{' · completed ' + _when(run.completed_at) if run.completed_at else ''}</p>"
            f"<h2>{_esc(output.get('title') or 'No output title')}</h2>"
            f"<div class='box'><div class='md'>{markdown(output.get('summary'))}</div></div>"
            + (
                f"<div class='box'><div class='md'>{markdown(output.get('text'))}</div></div>"
                if output.get("text")
                else ""
            )
        )
    return _page(run.name, body)
