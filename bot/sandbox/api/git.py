"""Git data: refs, annotated tags, git commits, contents, commit history and compare.

Ref changes go through ``bot.sandbox.pushes`` so they send ``create``/``delete`` then ``push``.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request

from bot.sandbox import gitobjects, rules, serializers
from bot.sandbox import serializers_git as gshapes
from bot.sandbox.http import (
    ApiError,
    actor,
    actor_login,
    actor_role,
    api_url,
    commit_for_ref,
    found,
    get_repo,
    html_url,
    json_body,
    list_in_repo,
    no_content,
    not_found,
    page_params,
    paginate,
    read_in_repo,
    respond,
    state,
    validation_failed,
)
from bot.sandbox.pushes import RefChange, commit_files, person_for, push
from bot.sandbox.state import Commit, GitPerson, GitTag, Repo, iso, node_id

bp = Blueprint("sandbox_git", __name__)


# --------------------------------------------------------------------------- resolving names


# Where a name is resolved to a commit (``resolve`` is used by other API modules through here too).
resolve = gitobjects.resolve


def _full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


# --------------------------------------------------------------------------- repository activity


_ZERO_SHA = "0" * 40


@bp.get("/repos/<owner>/<name>/activity")
def list_activity(owner: str, name: str) -> Response:
    """GitHub's repository activity: every push, force push, branch creation and deletion, with
    GitHub's time of it (``timestamp``), newest first by default; ``ref`` takes ``refs/heads/x``
    or ``x``, ``activity_type`` one kind. The only record of when an ordinary push happened."""
    wanted_ref = request.args.get("ref")
    if wanted_ref and not wanted_ref.startswith("refs/"):
        wanted_ref = f"refs/heads/{wanted_ref}"
    kind = request.args.get("activity_type")
    direction = request.args.get("direction", "desc")
    if direction not in ("asc", "desc"):
        # GitHub's "validation failed, simple" shape: the errors are plain strings.
        raise ApiError(422, "Validation Failed", errors=["direction must be asc or desc"])

    def build(st: Any, repo: Repo) -> list[dict[str, Any]]:
        picked = [a for a in repo.activity
                  if (not wanted_ref or a["ref"] == wanted_ref) and (not kind or a["activity_type"] == kind)]
        if direction == "desc":
            picked.reverse()
        return [{"id": a["id"], "node_id": node_id("RepositoryActivity", a["id"]),
                 "before": a["before"] or _ZERO_SHA, "after": a["after"] or _ZERO_SHA, "ref": a["ref"],
                 "timestamp": iso(a["timestamp"]), "activity_type": a["activity_type"],
                 "actor": serializers.user(st, a["actor"])} for a in picked]

    return list_in_repo(owner, name, build)


# --------------------------------------------------------------------------- refs


@bp.get("/repos/<owner>/<name>/git/ref/<path:ref>")
def get_ref(owner: str, name: str, ref: str) -> Response:
    full = _full_ref(ref)
    return read_in_repo(owner, name, lambda st, repo: gshapes.ref(repo, full, found(repo.refs.get(full))))


@bp.get("/repos/<owner>/<name>/git/refs")
@bp.get("/repos/<owner>/<name>/git/refs/<path:ref>")
def list_or_get_refs(owner: str, name: str, ref: str = "") -> Response:
    # The legacy form: an exact ref answers the object, a prefix answers the list (GitHub does both).
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        full = _full_ref(ref) if ref else "refs/"
        if full in repo.refs:
            return respond(gshapes.ref(repo, full, repo.refs[full]))
        prefix = full if full.endswith("/") else full + "/"
        rows = [gshapes.ref(repo, r, sha) for r, sha in sorted(repo.refs.items()) if r.startswith(prefix)]
        if not rows:
            not_found()
    return paginate(rows)


@bp.get("/repos/<owner>/<name>/git/matching-refs/<path:ref>")
def matching_refs(owner: str, name: str, ref: str) -> Response:
    prefix = _full_ref(ref)
    return list_in_repo(
        owner,
        name,
        lambda st, repo: [
            gshapes.ref(repo, r, sha) for r, sha in sorted(repo.refs.items()) if r.startswith(prefix)
        ],
    )


@bp.post("/repos/<owner>/<name>/git/refs")
def create_ref(owner: str, name: str) -> Response:
    body = json_body()
    ref, sha = body.get("ref"), body.get("sha")
    if (
        not isinstance(ref, str)
        or not ref.startswith("refs/")
        or ref.count("/") < 2
        or not _valid_ref_name(ref)
    ):
        raise ApiError(
            422,
            "Reference name is not valid"
            if isinstance(ref, str)
            else 'Invalid request.\n\n"ref" wasn\'t supplied.',
        )
    if not isinstance(sha, str):
        raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        if ref in repo.refs:
            raise ApiError(422, "Reference already exists")
        if sha not in repo.commits and sha not in repo.tags:
            raise ApiError(422, "Object does not exist")
        push(st, repo, [RefChange(ref, None, sha)], actor_login())
        return respond(
            gshapes.ref(repo, ref, sha),
            status=201,
            headers={"Location": api_url(f"/repos/{repo.full_name}/git/{ref}")},
        )


def _valid_ref_name(ref: str) -> bool:
    # git check-ref-format, the parts GitHub enforces.
    bad = (" ", "~", "^", ":", "?", "*", "[", "\\", "..", "@{", "//")
    return not any(b in ref for b in bad) and not ref.endswith(("/", ".", ".lock"))


def refuse_protected_push(repo: Repo, branch: str, new_sha: str | None, status: int) -> None:
    """Refuse a direct push to a protected branch as GitHub does (409 from the contents and merges
    APIs, 422 from the refs API); ``new_sha`` None is a commit the push itself creates."""
    a = actor()
    reason = rules.push_refusal(
        repo,
        branch,
        new_sha,
        actor_role=actor_role(repo),
        actor_app_id=a.app_id if a.kind == "installation" else None,
    )
    if reason:
        raise ApiError(status, reason)


@bp.patch("/repos/<owner>/<name>/git/refs/<path:ref>")
def update_ref(owner: str, name: str, ref: str) -> Response:
    body = json_body()
    sha = body.get("sha")
    if not isinstance(sha, str):
        raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    force = bool(body.get("force", False))
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        full = _full_ref(ref)
        before = repo.refs.get(full)
        if before is None:
            raise ApiError(422, "Reference does not exist")
        if sha not in repo.commits and sha not in repo.tags:
            raise ApiError(422, "Object does not exist")
        if before != sha:
            if full.startswith("refs/heads/"):
                refuse_protected_push(repo, full[len("refs/heads/") :], gitobjects.peel(repo, sha), 422)
            push(st, repo, [RefChange(full, before, sha)], actor_login(), force=force)
        return respond(gshapes.ref(repo, full, sha))


@bp.delete("/repos/<owner>/<name>/git/refs/<path:ref>")
def delete_ref(owner: str, name: str, ref: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        full = _full_ref(ref)
        before = repo.refs.get(full)
        if before is None:
            raise ApiError(422, "Reference does not exist")
        if full == f"refs/heads/{repo.default_branch}":
            raise ApiError(422, "Cannot delete the default branch")
        prot = repo.protection.get(full[len("refs/heads/") :]) if full.startswith("refs/heads/") else None
        if prot is not None and not (prot.get("allow_deletions") or {}).get("enabled"):
            raise ApiError(422, "Cannot delete this protected branch")
        push(st, repo, [RefChange(full, before, None)], actor_login())
    return no_content()


# --------------------------------------------------------------------------- tags and commits


@bp.post("/repos/<owner>/<name>/git/tags")
def create_tag(owner: str, name: str) -> Response:
    body = json_body()
    tag, message, obj = body.get("tag"), body.get("message"), body.get("object")
    obj_type = body.get("type", "commit")
    for field, value in (("tag", tag), ("message", message), ("object", obj)):
        if not isinstance(value, str):
            raise ApiError(422, f'Invalid request.\n\n"{field}" wasn\'t supplied.')
    if obj_type not in ("commit", "tree", "blob"):
        validation_failed("Tag", "type", "invalid")
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        if obj not in repo.commits:
            raise ApiError(422, "Object does not exist")
        tagger_in = body.get("tagger") or {}
        login = actor_login()
        default = person_for(st, login)
        tagger = GitPerson(
            name=tagger_in.get("name") or default.name,
            email=tagger_in.get("email") or default.email,
            date=_parse_date(tagger_in.get("date")) or st.now(),
            login=default.login,
        )
        raw = (
            f"object {obj}\ntype {obj_type}\ntag {tag}\ntagger {tagger.name} <{tagger.email}> "
            f"{int(tagger.date.timestamp())} +0000\n\n{message}"
        )
        sha = gitobjects._object_sha("tag", raw.encode())
        t = GitTag(sha=sha, tag=tag, message=message, object_sha=obj, object_type=obj_type, tagger=tagger)
        repo.tags[sha] = t
        return respond(gshapes.tag(repo, t), status=201)


def _parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        validation_failed("Tag", "tagger.date", "invalid")


@bp.get("/repos/<owner>/<name>/git/tags/<sha>")
def get_tag(owner: str, name: str, sha: str) -> Response:
    return read_in_repo(owner, name, lambda st, repo: gshapes.tag(repo, found(repo.tags.get(sha))))


@bp.get("/repos/<owner>/<name>/git/commits/<sha>")
def get_git_commit(owner: str, name: str, sha: str) -> Response:
    return read_in_repo(owner, name, lambda st, repo: gshapes.git_commit(repo, found(repo.commits.get(sha))))


@bp.get("/repos/<owner>/<name>/commits")
def list_commits(owner: str, name: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        start = request.args.get("sha") or repo.default_branch
        head = resolve(repo, start)
        if head is None:
            raise ApiError(404, f"No commit found for SHA: {start}")
        shas = gitobjects.history(repo, head)
        path = request.args.get("path")
        if path:
            shas = [s for s in shas if _touches(repo, s, path)]
        author = request.args.get("author")
        if author:
            shas = [
                s
                for s in shas
                if (repo.commits[s].author.login or "").lower() == author.lower()
                or repo.commits[s].author.email.lower() == author.lower()
            ]
        since, until = _parse_filter("since"), _parse_filter("until")
        if since:
            shas = [s for s in shas if repo.commits[s].committer.date >= since]
        if until:
            shas = [s for s in shas if repo.commits[s].committer.date <= until]
        page, per_page = page_params()
        window = shas[(page - 1) * per_page : page * per_page]
        rendered = {s: gshapes.commit(st, repo, repo.commits[s]) for s in window}
    # Render only the requested page (history can be long), then let paginate slice placeholders.
    return paginate([rendered.get(s) for s in shas])


def _parse_filter(key: str) -> datetime | None:
    value = request.args.get(key)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, f"Invalid value for {key}") from None


def _touches(repo: Repo, sha: str, path: str) -> bool:
    c = repo.commits[sha]
    parent = repo.commits[c.parents[0]].tree if c.parents else {}
    return c.tree.get(path) != parent.get(path) or any(
        p.startswith(path.rstrip("/") + "/") and c.tree.get(p) != parent.get(p)
        for p in set(c.tree) | set(parent)
    )


@bp.get("/repos/<owner>/<name>/commits/<path:ref>")
def get_commit(owner: str, name: str, ref: str) -> Response:
    return read_in_repo(
        owner,
        name,
        lambda st, repo: gshapes.commit(st, repo, repo.commits[commit_for_ref(repo, ref)], with_files=True),
    )


# --------------------------------------------------------------------------- compare


@bp.get("/repos/<owner>/<name>/compare/<path:basehead>")
def compare(owner: str, name: str, basehead: str) -> Response:
    if "..." in basehead:
        base_name, head_name = basehead.split("...", 1)
    elif ".." in basehead:
        base_name, head_name = basehead.split("..", 1)
    else:
        not_found()
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        base = resolve(repo, base_name.split(":", 1)[-1])
        head = resolve(repo, head_name.split(":", 1)[-1])
        if base is None or head is None:
            not_found()
        mb = gitobjects.merge_base(repo, base, head)
        if mb is None:
            raise ApiError(404, f"No common ancestor between {base_name} and {head_name}.")
        ahead = gitobjects.commits_between(repo, base, head)
        behind = gitobjects.commits_between(repo, head, base)
        status = (
            "identical"
            if not ahead and not behind
            else "ahead"
            if not behind
            else "behind"
            if not ahead
            else "diverged"
        )
        page, per_page = _compare_page()
        page_shas = ahead[(page - 1) * per_page : page * per_page]
        files = gshapes.diff_entries(repo, head, repo.commits[mb].tree, repo.commits[head].tree)
        page_url = html_url(f"/{repo.full_name}/compare/{basehead}")
        body = {
            "url": api_url(f"/repos/{repo.full_name}/compare/{basehead}"),
            "html_url": page_url,
            "permalink_url": html_url(
                f"/{repo.full_name}/compare/{repo.owner}:{base[:7]}...{repo.owner}:{head[:7]}"
            ),
            "diff_url": f"{page_url}.diff",
            "patch_url": f"{page_url}.patch",
            "base_commit": gshapes.commit(st, repo, repo.commits[base]),
            "merge_base_commit": gshapes.commit(st, repo, repo.commits[mb]),
            "status": status,
            "ahead_by": len(ahead),
            "behind_by": len(behind),
            "total_commits": len(ahead),
            "commits": [gshapes.commit(st, repo, repo.commits[s]) for s in page_shas],
            "files": files if page == 1 else [],
        }
        last = max(1, -(-len(ahead) // per_page))
    resp = respond(body)
    if last > 1:
        from urllib.parse import urlencode

        def link(p: int, rel: str) -> str:
            return f'<{body["url"]}?{urlencode({"per_page": per_page, "page": p})}>; rel="{rel}"'

        links = []
        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        resp.headers["Link"] = ", ".join(links)
    return resp


def _compare_page() -> tuple[int, int]:
    """Compare lists up to 250 commits by default, and pages by ``per_page`` (up to 250) when asked."""
    try:
        per_page = int(request.args.get("per_page", 250))
        page = int(request.args.get("page", 1))
    except ValueError:
        raise ApiError(422, "Invalid pagination parameters") from None
    return max(page, 1), max(1, min(per_page, 250))


# --------------------------------------------------------------------------- contents


@bp.get("/repos/<owner>/<name>/contents/")
@bp.get("/repos/<owner>/<name>/contents/<path:path>")
def get_contents(owner: str, name: str, path: str = "") -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        ref_name = request.args.get("ref") or repo.default_branch
        sha = resolve(repo, ref_name)
        if sha is None:
            raise ApiError(404, f"No commit found for the ref {ref_name}")
        tree = repo.commits[sha].tree
        path = path.strip("/")
        if path in tree:
            return respond(gshapes.content_file(repo, path, tree[path], ref_name))
        prefix = f"{path}/" if path else ""
        children: dict[str, str] = {}
        for p in tree:
            if p.startswith(prefix):
                rest = p[len(prefix) :]
                children[rest.split("/", 1)[0]] = "dir" if "/" in rest else "file"
        if not children:
            not_found()
        rows = []
        for child, kind in sorted(children.items()):
            full = prefix + child
            if kind == "file":
                entry = gshapes.content_file(repo, full, tree[full], ref_name)
                entry.pop("content")
                entry.pop("encoding")
            else:
                entry = _dir_entry(repo, full, ref_name, tree)
            rows.append(entry)
        return respond(rows)


def _dir_entry(repo: Repo, path: str, ref_name: str, tree: dict[str, bytes]) -> dict[str, Any]:
    sub = {p: d for p, d in tree.items() if p.startswith(path + "/")}
    sha = gitobjects.tree_sha(sub)
    url = api_url(f"/repos/{repo.full_name}/contents/{path}?ref={ref_name}")
    git = api_url(f"/repos/{repo.full_name}/git/trees/{sha}")
    html = html_url(f"/{repo.full_name}/tree/{ref_name}/{path}")
    return {
        "type": "dir",
        "size": 0,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": sha,
        "url": url,
        "git_url": git,
        "html_url": html,
        "download_url": None,
        "_links": {"self": url, "git": git, "html": html},
    }


def _target_file(repo: Repo, body: dict[str, Any], path: str) -> tuple[str, str, bytes | None]:
    """Where a contents write lands: the branch (the default one unless named; 404 if missing), the
    normalized path, and the file's content there now (None if absent)."""
    branch = body.get("branch") or repo.default_branch
    tip = repo.branch_sha(branch)
    if tip is None:
        raise ApiError(404, f"Branch {branch} not found")
    path = path.strip("/")
    return branch, path, repo.commits[tip].tree.get(path)


def _require_blob_sha(path: str, existing: bytes, given: Any) -> None:
    """Changing a file names the blob it replaces (409 when that is not the file's current blob)."""
    if given != gitobjects.blob_sha(existing):
        raise ApiError(409, f"{path} does not match {given}")


@bp.put("/repos/<owner>/<name>/contents/<path:path>")
def put_contents(owner: str, name: str, path: str) -> Response:
    body = json_body()
    message, content = body.get("message"), body.get("content")
    if not isinstance(message, str):
        raise ApiError(422, 'Invalid request.\n\n"message" wasn\'t supplied.')
    if not isinstance(content, str):
        raise ApiError(422, 'Invalid request.\n\n"content" wasn\'t supplied.')
    try:
        data = base64.b64decode(content, validate=False)
    except (binascii.Error, ValueError):
        raise ApiError(422, "content is not valid Base64") from None
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        branch, path, existing = _target_file(repo, body, path)
        given = body.get("sha")
        if existing is not None:
            if not given:
                raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
            _require_blob_sha(path, existing, given)
        refuse_protected_push(repo, branch, None, 409)
        author = _person_from(st, body.get("author"))
        c = commit_files(st, repo, branch, {path: data}, message, actor_login(), author=author)
        out = gshapes.file_commit(st, repo, path, data, branch, c)
    return respond(out, status=200 if existing is not None else 201)


@bp.delete("/repos/<owner>/<name>/contents/<path:path>")
def delete_contents(owner: str, name: str, path: str) -> Response:
    body = json_body()
    message, given = body.get("message"), body.get("sha")
    if not isinstance(message, str) or not isinstance(given, str):
        raise ApiError(422, 'Invalid request.\n\n"message" and "sha" are required.')
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        branch, path, existing = _target_file(repo, body, path)
        _require_blob_sha(path, found(existing), given)
        refuse_protected_push(repo, branch, None, 409)
        c = commit_files(st, repo, branch, {path: None}, message, actor_login())
        out = gshapes.file_commit(st, repo, path, None, branch, c)
    return respond(out)


def _person_from(st: Any, data: Any) -> GitPerson | None:
    if not isinstance(data, dict) or not data.get("name") or not data.get("email"):
        return None
    return GitPerson(name=str(data["name"]), email=str(data["email"]), date=st.now())


# --------------------------------------------------------------------------- merging branches


@bp.post("/repos/<owner>/<name>/merges")
def merge_branches(owner: str, name: str) -> Response:
    """``POST /merges``: merge ``head`` into the branch ``base`` with a two-parent commit (push webhook)."""
    body = json_body()
    base, head = body.get("base"), body.get("head")
    if not isinstance(base, str) or not isinstance(head, str):
        raise ApiError(422, 'Invalid request.\n\n"base" and "head" are required.')
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        base_sha = repo.branch_sha(base)
        head_sha = resolve(repo, head)
        if base_sha is None:
            raise ApiError(404, "Base does not exist")
        if head_sha is None:
            raise ApiError(404, "Head does not exist")
        if gitobjects.is_ancestor(repo, head_sha, base_sha):
            return no_content()  # nothing to merge
        commit = merge_into(
            st, repo, base, head_sha, body.get("commit_message") or f"Merge {head} into {base}"
        )
        return respond(gshapes.commit(st, repo, commit), status=201)


def merge_into(st: Any, repo: Repo, branch: str, other_sha: str, message: str) -> Commit:
    """A two-parent commit merging ``other_sha`` into ``branch``, pushed (409 on conflict)."""
    tip = repo.branch_sha(branch)
    assert tip is not None
    refuse_protected_push(repo, branch, None, 409)
    mb = gitobjects.merge_base(repo, tip, other_sha)
    tree = (
        gitobjects.three_way_merge(
            repo.commits[mb].tree, repo.commits[tip].tree, repo.commits[other_sha].tree
        )
        if mb
        else None
    )
    if tree is None:
        raise ApiError(409, "Merge conflict")
    who = person_for(st, actor_login())
    c = gitobjects.make_commit(tree, [tip, other_sha], message, who, who)
    repo.commits[c.sha] = c
    push(st, repo, [RefChange(f"refs/heads/{branch}", tip, c.sha)], actor_login())
    return c


# ----------------------------------------------------------------------- blobs, trees, commits (git data API)


def _find_blob(repo: Repo, sha: str) -> bytes | None:
    if sha in repo.blobs:
        return repo.blobs[sha]
    for c in repo.commits.values():
        for data in c.tree.values():
            if gitobjects.blob_sha(data) == sha:
                repo.blobs[sha] = data
                return data
    return None


def _find_tree(repo: Repo, sha: str) -> dict[str, bytes] | None:
    if sha in repo.trees:
        return repo.trees[sha]
    for c in repo.commits.values():
        if c.tree_sha == sha:
            repo.trees[sha] = c.tree
            return c.tree
    return None


@bp.post("/repos/<owner>/<name>/git/blobs")
def create_blob(owner: str, name: str) -> Response:
    body = json_body()
    content, encoding = body.get("content"), body.get("encoding", "utf-8")
    if not isinstance(content, str):
        raise ApiError(422, 'Invalid request.\n\n"content" wasn\'t supplied.')
    if encoding not in ("utf-8", "base64"):
        raise ApiError(422, "Invalid request.\n\nencoding must be utf-8 or base64.")
    try:
        data = base64.b64decode(content) if encoding == "base64" else content.encode()
    except (binascii.Error, ValueError):
        raise ApiError(422, "content is not valid Base64") from None
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        sha = gitobjects.blob_sha(data)
        repo.blobs[sha] = data
        return respond({"sha": sha, "url": api_url(f"/repos/{repo.full_name}/git/blobs/{sha}")}, status=201)


@bp.get("/repos/<owner>/<name>/git/blobs/<sha>")
def get_blob(owner: str, name: str, sha: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        data = _find_blob(repo, sha)
        if data is None:
            not_found()
        return respond(
            {
                "sha": sha,
                "node_id": f"B_{sha[:16]}",
                "size": len(data),
                "url": api_url(f"/repos/{repo.full_name}/git/blobs/{sha}"),
                "content": base64.b64encode(data).decode(),
                "encoding": "base64",
            }
        )


@bp.post("/repos/<owner>/<name>/git/trees")
def create_tree(owner: str, name: str) -> Response:
    body = json_body()
    entries = body.get("tree")
    if not isinstance(entries, list):
        raise ApiError(422, 'Invalid request.\n\n"tree" wasn\'t supplied.')
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        tree: dict[str, bytes] = {}
        if body.get("base_tree"):
            base = _find_tree(repo, body["base_tree"])
            if base is None:
                raise ApiError(422, "base_tree is not a valid tree oid")
            tree = dict(base)
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise ApiError(422, 'Invalid request.\n\nEvery tree entry needs a "path".')
            path = entry["path"].strip("/")
            if entry.get("type", "blob") != "blob":
                raise ApiError(422, "Only blob entries are supported by the sandbox")
            if "content" in entry and entry["content"] is not None:
                tree[path] = str(entry["content"]).encode()
            elif entry.get("sha") is None and "sha" in entry:
                tree.pop(path, None)  # sha: null deletes the file
            else:
                data = _find_blob(repo, str(entry.get("sha")))
                if data is None:
                    raise ApiError(422, f"tree.sha {entry.get('sha')} is not a valid blob")
                tree[path] = data
        sha = gitobjects.tree_sha(tree)
        repo.trees[sha] = tree
        return respond(_tree_json(repo, sha, tree), status=201)


def _tree_json(repo: Repo, sha: str, tree: dict[str, bytes]) -> dict[str, Any]:
    base = api_url(f"/repos/{repo.full_name}/git")
    items = [
        {
            "path": p,
            "mode": "100644",
            "type": "blob",
            "sha": gitobjects.blob_sha(d),
            "size": len(d),
            "url": f"{base}/blobs/{gitobjects.blob_sha(d)}",
        }
        for p, d in sorted(tree.items())
    ]
    return {"sha": sha, "url": f"{base}/trees/{sha}", "tree": items, "truncated": False}


@bp.get("/repos/<owner>/<name>/git/trees/<path:tree_sha>")
def get_tree(owner: str, name: str, tree_sha: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        tree = _find_tree(repo, tree_sha)
        if tree is None:
            commit_sha = resolve(repo, tree_sha)
            if commit_sha is None:
                not_found()
            tree = repo.commits[commit_sha].tree
        # A flat snapshot: the recursive listing (what ?recursive=1 gives) is the natural answer.
        return respond(_tree_json(repo, gitobjects.tree_sha(tree), tree))


@bp.post("/repos/<owner>/<name>/git/commits")
def create_git_commit(owner: str, name: str) -> Response:
    body = json_body()
    message, tree_sha, parents = body.get("message"), body.get("tree"), body.get("parents", [])
    if not isinstance(message, str) or not isinstance(tree_sha, str):
        raise ApiError(422, 'Invalid request.\n\n"message" and "tree" are required.')
    if not isinstance(parents, list):
        raise ApiError(422, 'Invalid request.\n\n"parents" must be a list.')
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        tree = _find_tree(repo, tree_sha)
        if tree is None:
            raise ApiError(422, "Tree SHA does not exist")
        for p in parents:
            if p not in repo.commits:
                raise ApiError(422, "Parent SHA does not exist or is not a commit object")
        who = person_for(st, actor_login())
        author = _person_from(st, body.get("author")) or who
        committer = _person_from(st, body.get("committer")) or who
        c = gitobjects.make_commit(tree, list(parents), message, author, committer)
        repo.commits[c.sha] = c
        return respond(gshapes.git_commit(repo, c), status=201)
