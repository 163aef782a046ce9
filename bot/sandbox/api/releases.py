"""Releases: create, get, get by tag, latest, list, update, delete, generate-notes.

Webhooks as GitHub sends them: ``release`` ``created``; publishing (at creation or by turning a draft
into a release) sends ``published`` then ``released`` or ``prereleased``; ``edited`` with
``changes`` for name/body; ``deleted``. Publishing on a tag that does not exist creates the tag from
``target_commitish`` (``create`` then ``push``). Drafts are invisible to readers and to get-by-tag.
"""

from __future__ import annotations

from typing import Any

import yaml
from flask import Blueprint, Response

from bot.sandbox import gitobjects, serializers
from bot.sandbox.api.git import resolve
from bot.sandbox.http import (
    ApiError,
    actor_login,
    actor_role,
    api_url,
    created,
    found,
    get_repo,
    html_url,
    json_body,
    list_in_repo,
    no_content,
    not_found,
    quote_ref,
    read_in_repo,
    respond,
    state,
)
from bot.sandbox.pushes import RefChange, push
from bot.sandbox.state import Release, Repo, SandboxState, iso, role_at_least
from bot.sandbox.webhooks import emit

bp = Blueprint("sandbox_releases", __name__)

MAX_BODY = 125_000


# --------------------------------------------------------------------------- shapes


def release_json(st: SandboxState, repo: Repo, rel: Release, *, webhook: bool = False) -> dict[str, Any]:
    base = api_url(f"/repos/{repo.full_name}/releases/{rel.id}")
    tag_path = quote_ref(rel.tag_name)
    out: dict[str, Any] = {
        "url": base,
        "assets_url": f"{base}/assets",
        "upload_url": (
            f"{html_url('')}/api/uploads/repos/{repo.full_name}/releases/{rel.id}/assets{{?name,label}}"
        ),
        "html_url": html_url(
            f"/{repo.full_name}/releases/tag/{tag_path}"
            if not rel.draft
            else f"/{repo.full_name}/releases/tag/untagged-{rel.id}"
        ),
        "id": rel.id,
        "author": serializers.user(st, rel.author),
        "node_id": rel.node_id,
        "tag_name": rel.tag_name,
        "target_commitish": rel.target_commitish,
        "name": rel.name,
        "draft": rel.draft,
        "prerelease": rel.prerelease,
        "created_at": iso(rel.created_at),
        "published_at": iso(rel.published_at),
        "assets": [],
        "tarball_url": api_url(f"/repos/{repo.full_name}/tarball/{tag_path}"),
        "zipball_url": api_url(f"/repos/{repo.full_name}/zipball/{tag_path}"),
        "body": rel.body,
    }
    if webhook:
        # The webhook schema (from real deliveries) has name and body as strings, never null.
        out["name"] = rel.name or ""
        out["body"] = rel.body or ""
    else:
        out["mentions_count"] = 0
    return out


def _published_with_tag(repo: Repo, tag: str) -> Release | None:
    return next((r for r in repo.releases.values() if r.tag_name == tag and not r.draft), None)


def _release(repo: Repo, release_id: int, *, include_drafts: bool) -> Release:
    rel = repo.releases.get(release_id)
    if rel is None or (rel.draft and not include_drafts):
        not_found()
    return rel


def _can_see_drafts(repo: Repo) -> bool:
    return role_at_least(actor_role(repo), "write")


def _emit(st: SandboxState, repo: Repo, rel: Release, action: str, **extra: Any) -> None:
    emit("release", action, lambda: {**extra, "release": release_json(st, repo, rel, webhook=True)}, repo)


def _validation(field: str, code: str = "invalid") -> ApiError:
    return ApiError(422, "Validation Failed", errors=[{"resource": "Release", "code": code, "field": field}])


def _ensure_tag(st: SandboxState, repo: Repo, rel: Release) -> None:
    """Publishing on a missing tag creates it from ``target_commitish`` (``create`` + ``push``)."""
    if f"refs/tags/{rel.tag_name}" in repo.refs:
        return
    sha = resolve(repo, rel.target_commitish)
    if sha is None:
        raise _validation("target_commitish")
    push(st, repo, [RefChange(f"refs/tags/{rel.tag_name}", None, sha)], actor_login())


def _publish(st: SandboxState, repo: Repo, rel: Release) -> None:
    _ensure_tag(st, repo, rel)
    rel.draft = False
    rel.published_at = st.now()
    _emit(st, repo, rel, "published")
    _emit(st, repo, rel, "prereleased" if rel.prerelease else "released")


# --------------------------------------------------------------------------- endpoints


@bp.post("/repos/<owner>/<name>/releases")
def create_release(owner: str, name: str) -> Response:
    body = json_body()
    tag = body.get("tag_name")
    if not isinstance(tag, str) or not tag.strip():
        raise _validation("tag_name", "missing_field")
    for key in ("name", "body", "target_commitish"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise _validation(key)
    if len(body.get("body") or "") > MAX_BODY:
        raise ApiError(
            422,
            "Validation Failed",
            errors=[
                {
                    "resource": "Release",
                    "code": "custom",
                    "field": "body",
                    "message": "body is too long (maximum is 125000 characters)",
                }
            ],
        )
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        draft = bool(body.get("draft", False))
        # Drafts are not bound to their tag: several may share one; a published release owns its tag.
        if not draft and _published_with_tag(repo, tag) is not None:
            raise _validation("tag_name", "already_exists")
        target = body.get("target_commitish") or repo.default_branch
        if f"refs/tags/{tag}" not in repo.refs and resolve(repo, target) is None:
            raise _validation("target_commitish")
        text = body.get("body")
        if body.get("generate_release_notes"):
            notes = generate_notes(st, repo, tag, target, None, None)
            text = notes["body"] if not text else f"{text}\n\n{notes['body']}"
        prerelease = bool(body.get("prerelease", False))
        rel = Release(
            id=st.next_id("release"),
            tag_name=tag,
            target_commitish=target,
            name=body.get("name"),
            body=text,
            draft=True,
            prerelease=prerelease,
            author=actor_login(),
            created_at=st.now(),
            make_latest=str(body.get("make_latest", "true")),
        )
        if not draft:
            _ensure_tag(st, repo, rel)
        repo.releases[rel.id] = rel
        if draft:
            _emit(st, repo, rel, "created")
        else:
            rel.draft = False
            rel.published_at = st.now()
            _emit(st, repo, rel, "created")
            _emit(st, repo, rel, "published")
            _emit(st, repo, rel, "prereleased" if rel.prerelease else "released")
        out = release_json(st, repo, rel)
    return created(out)


@bp.get("/repos/<owner>/<name>/releases")
def list_releases(owner: str, name: str) -> Response:
    def build(st: SandboxState, repo: Repo) -> list[dict[str, Any]]:
        drafts = _can_see_drafts(repo)
        rels = sorted(
            (r for r in repo.releases.values() if drafts or not r.draft),
            key=lambda r: (r.created_at, r.id),
            reverse=True,
        )
        return [release_json(st, repo, r) for r in rels]

    return list_in_repo(owner, name, build)


@bp.get("/repos/<owner>/<name>/releases/latest")
def latest_release(owner: str, name: str) -> Response:
    return read_in_repo(owner, name, lambda st, repo: release_json(st, repo, found(_latest(repo))))


def _latest(repo: Repo) -> Release | None:
    candidates = [
        r for r in repo.releases.values() if not r.draft and not r.prerelease and r.make_latest != "false"
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda r: (r.published_at or r.created_at, r.id))


@bp.get("/repos/<owner>/<name>/releases/tags/<path:tag>")
def release_by_tag(owner: str, name: str, tag: str) -> Response:
    # Drafts have no tag yet: they are not found by tag, as on GitHub.
    return read_in_repo(
        owner,
        name,
        lambda st, repo: release_json(
            st,
            repo,
            found(next((r for r in repo.releases.values() if r.tag_name == tag and not r.draft), None)),
        ),
    )


@bp.get("/repos/<owner>/<name>/releases/<int:release_id>")
def get_release(owner: str, name: str, release_id: int) -> Response:
    return read_in_repo(
        owner,
        name,
        lambda st, repo: release_json(
            st, repo, _release(repo, release_id, include_drafts=_can_see_drafts(repo))
        ),
    )


@bp.patch("/repos/<owner>/<name>/releases/<int:release_id>")
def update_release(owner: str, name: str, release_id: int) -> Response:
    body = json_body()
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        rel = _release(repo, release_id, include_drafts=True)
        # Validate everything first, so a refused edit changes nothing.
        tag = body.get("tag_name", rel.tag_name)
        if not isinstance(tag, str) or not tag.strip():
            raise _validation("tag_name")
        will_be_draft = bool(body["draft"]) if "draft" in body else rel.draft
        other = _published_with_tag(repo, tag)
        if not will_be_draft and other is not None and other.id != rel.id:
            raise _validation("tag_name", "already_exists")
        target = body.get("target_commitish") or rel.target_commitish
        if target != rel.target_commitish and resolve(repo, target) is None:
            raise _validation("target_commitish")
        if "body" in body and len(body["body"] or "") > MAX_BODY:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[
                    {
                        "resource": "Release",
                        "code": "custom",
                        "field": "body",
                        "message": "body is too long (maximum is 125000 characters)",
                    }
                ],
            )
        changes: dict[str, Any] = {}
        rel.tag_name, rel.target_commitish = tag, target
        if "name" in body and body["name"] != rel.name:
            changes["name"] = {"from": rel.name or ""}
            rel.name = body["name"]
        if "body" in body and body["body"] != rel.body:
            changes["body"] = {"from": rel.body or ""}
            rel.body = body["body"]
        if "make_latest" in body:
            rel.make_latest = str(body["make_latest"])
        was_prerelease = rel.prerelease
        if "prerelease" in body:
            rel.prerelease = bool(body["prerelease"])
        publish = "draft" in body and rel.draft and not body["draft"]
        unpublish = "draft" in body and not rel.draft and body["draft"]
        if unpublish:
            rel.draft, rel.published_at = True, None
        if changes:
            _emit(st, repo, rel, "edited", changes=changes)
        if publish:
            _publish(st, repo, rel)
        elif not rel.draft and was_prerelease != rel.prerelease:
            _emit(st, repo, rel, "prereleased" if rel.prerelease else "released")
        elif not changes and not unpublish:
            _emit(st, repo, rel, "edited", changes={})
        out = release_json(st, repo, rel)
    return respond(out)


@bp.delete("/repos/<owner>/<name>/releases/<int:release_id>")
def delete_release(owner: str, name: str, release_id: int) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        rel = _release(repo, release_id, include_drafts=True)
        del repo.releases[rel.id]
        _emit(st, repo, rel, "deleted")
    return no_content()


@bp.post("/repos/<owner>/<name>/releases/generate-notes")
def generate_notes_endpoint(owner: str, name: str) -> Response:
    body = json_body()
    tag = body.get("tag_name")
    if not isinstance(tag, str) or not tag:
        raise ApiError(422, 'Invalid request.\n\n"tag_name" wasn\'t supplied.')
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        out = generate_notes(
            st,
            repo,
            tag,
            body.get("target_commitish"),
            body.get("previous_tag_name"),
            body.get("configuration_file_path"),
        )
    return respond(out)


# --------------------------------------------------------------------------- generated notes


def generate_notes(
    st: SandboxState, repo: Repo, tag: str, target: str | None, previous: str | None, config_path: str | None
) -> dict[str, Any]:
    """GitHub's automatically generated release notes, honouring ``.github/release.yml``."""
    head = (
        resolve(repo, tag)
        if f"refs/tags/{tag}" in repo.refs
        else resolve(repo, target or repo.default_branch)
    )
    if head is None:
        raise _validation("target_commitish")
    if previous:
        prev_sha = resolve(repo, previous)
        if prev_sha is None:
            raise ApiError(404, f"Previous tag {previous} not found")
    else:
        previous, prev_sha = _previous_release_tag(repo, tag, head)
    shas = set(
        gitobjects.commits_between(repo, prev_sha, head) if prev_sha else gitobjects.ancestors(repo, head)
    )
    merged = sorted(
        (
            it
            for it in repo.pull_requests()
            if it.pull and it.pull.merged and it.pull.merge_commit_sha in shas
        ),
        key=lambda i: i.pull.merged_at or i.created_at,
    )
    config = _notes_config(repo, head, config_path)
    exclude = config.get("exclude") or {}
    ex_labels = set(exclude.get("labels") or [])
    ex_authors = set(exclude.get("authors") or [])
    items = [
        it
        for it in merged
        if not (set(it.labels) & ex_labels) and it.user not in ex_authors and "*" not in ex_labels
    ]
    base_html = html_url(f"/{repo.full_name}")
    line = lambda it: f"* {it.title} by @{it.user} in {base_html}/pull/{it.number}"  # noqa: E731
    parts = ["## What's Changed"]
    categories = config.get("categories") or []
    if categories:
        placed: set[int] = set()
        for cat in categories:
            labels = set(cat.get("labels") or [])
            cat_ex = set((cat.get("exclude") or {}).get("labels") or [])
            chosen = [
                it
                for it in items
                if it.number not in placed
                and (("*" in labels) or set(it.labels) & labels)
                and not (set(it.labels) & cat_ex)
            ]
            if chosen:
                parts.append(f"### {cat.get('title', '')}")
                parts += [line(it) for it in chosen]
                placed.update(it.number for it in chosen)
        leftovers = [it for it in items if it.number not in placed]
        if leftovers:
            parts.append("### Other Changes")
            parts += [line(it) for it in leftovers]
    else:
        parts += [line(it) for it in items]
    firsts = []
    for it in items:
        earlier = [
            o
            for o in repo.pull_requests()
            if o.pull
            and o.pull.merged
            and o.user == it.user
            and (o.pull.merged_at, o.number) < (it.pull.merged_at, it.number)
        ]
        if not earlier and it.user not in [f.user for f in firsts]:
            firsts.append(it)
    text = "\n".join(parts) if items else ""
    if firsts:
        text += "\n\n## New Contributors\n" + "\n".join(
            f"* @{it.user} made their first contribution in {base_html}/pull/{it.number}" for it in firsts
        )
    full = f"{base_html}/compare/{previous}...{tag}" if previous else f"{base_html}/commits/{tag}"
    text = (text + "\n\n" if text else "") + f"**Full Changelog**: {full}"
    return {"name": tag, "body": text}


def _previous_release_tag(repo: Repo, tag: str, head: str) -> tuple[str | None, str | None]:
    best: tuple[Any, str, str] | None = None
    for rel in repo.releases.values():
        if rel.draft or rel.tag_name == tag or f"refs/tags/{rel.tag_name}" not in repo.refs:
            continue
        sha = resolve(repo, rel.tag_name)
        if sha is None or sha == head or not gitobjects.is_ancestor(repo, sha, head):
            continue
        key = (rel.published_at or rel.created_at, rel.id)
        if best is None or key > best[0]:
            best = (key, rel.tag_name, sha)
    return (best[1], best[2]) if best else (None, None)


def _notes_config(repo: Repo, head: str, path: str | None) -> dict[str, Any]:
    tree = repo.commits[head].tree
    raw = tree.get(path or ".github/release.yml") or (None if path else tree.get(".github/release.yaml"))
    if raw is None:
        return {}
    try:
        data = yaml.safe_load(raw.decode())
    except (yaml.YAMLError, UnicodeDecodeError):
        return {}
    changelog = data.get("changelog") if isinstance(data, dict) else None
    return changelog if isinstance(changelog, dict) else {}
