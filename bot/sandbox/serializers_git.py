"""JSON shapes of git data: commits (REST and push-webhook forms), git commits, refs, tags, branches,
contents and comparisons. Call these while holding ``state.lock``."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from bot.sandbox import gitobjects, serializers
from bot.sandbox.http import api_url, html_url, quote_ref
from bot.sandbox.state import Commit, GitPerson, GitTag, Repo, SandboxState, iso

VERIFICATION = {
    "verified": False,
    "reason": "unsigned",
    "signature": None,
    "payload": None,
    "verified_at": None,
}


def repo_api(repo: Repo) -> str:
    return api_url(f"/repos/{repo.full_name}")


def person(p: GitPerson) -> dict[str, Any]:
    return {"name": p.name, "email": p.email, "date": iso(p.date)}


def git_commit(repo: Repo, c: Commit) -> dict[str, Any]:
    """``git-commit`` (``GET /git/commits/{sha}``)."""
    base = repo_api(repo)
    return {
        "sha": c.sha,
        "node_id": _commit_node(c),
        "url": f"{base}/git/commits/{c.sha}",
        "html_url": html_url(f"/{repo.full_name}/commit/{c.sha}"),
        "author": person(c.author),
        "committer": person(c.committer),
        "tree": {"sha": c.tree_sha, "url": f"{base}/git/trees/{c.tree_sha}"},
        "message": c.message,
        "parents": [
            {
                "sha": p,
                "url": f"{base}/git/commits/{p}",
                "html_url": html_url(f"/{repo.full_name}/commit/{p}"),
            }
            for p in c.parents
        ],
        "verification": dict(VERIFICATION),
    }


def _commit_node(c: Commit) -> str:
    return base64.b64encode(f"C_{c.sha[:20]}".encode()).decode().rstrip("=")


def commit(st: SandboxState, repo: Repo, c: Commit, *, with_files: bool = False) -> dict[str, Any]:
    """``commit`` (``GET /commits``, ``/commits/{sha}``, compare)."""
    base = repo_api(repo)
    out: dict[str, Any] = {
        "url": f"{base}/commits/{c.sha}",
        "sha": c.sha,
        "node_id": _commit_node(c),
        "html_url": html_url(f"/{repo.full_name}/commit/{c.sha}"),
        "comments_url": f"{base}/commits/{c.sha}/comments",
        "commit": {
            "url": f"{base}/git/commits/{c.sha}",
            "author": person(c.author),
            "committer": person(c.committer),
            "message": c.message,
            "comment_count": 0,
            "tree": {"sha": c.tree_sha, "url": f"{base}/git/trees/{c.tree_sha}"},
            "verification": dict(VERIFICATION),
        },
        "author": serializers.user(st, c.author.login) if c.author.login else None,
        "committer": serializers.user(st, c.committer.login) if c.committer.login else None,
        "parents": [
            {"sha": p, "url": f"{base}/commits/{p}", "html_url": html_url(f"/{repo.full_name}/commit/{p}")}
            for p in c.parents
        ],
    }
    if with_files:
        parent_tree = repo.commits[c.parents[0]].tree if c.parents else {}
        files = diff_entries(repo, c.sha, parent_tree, c.tree)
        out["files"] = files
        adds = sum(f["additions"] for f in files)
        dels = sum(f["deletions"] for f in files)
        out["stats"] = {"additions": adds, "deletions": dels, "total": adds + dels}
    return out


def diff_entries(
    repo: Repo, ref_sha: str, old: dict[str, bytes], new: dict[str, bytes]
) -> list[dict[str, Any]]:
    added, removed, modified = gitobjects.diff_trees(old, new)
    out = []
    for status, paths in (("added", added), ("removed", removed), ("modified", modified)):
        for path in paths:
            before = old.get(path, b"").decode(errors="replace").splitlines()
            after = new.get(path, b"").decode(errors="replace").splitlines()
            additions = len([x for x in after if x not in before]) if status != "removed" else 0
            deletions = len([x for x in before if x not in after]) if status != "added" else 0
            blob = gitobjects.blob_sha(new.get(path, old.get(path, b"")))
            out.append(
                {
                    "sha": blob,
                    "filename": path,
                    "status": status,
                    "additions": additions,
                    "deletions": deletions,
                    "changes": additions + deletions,
                    "blob_url": html_url(f"/{repo.full_name}/blob/{ref_sha}/{quote(path)}"),
                    "raw_url": html_url(f"/{repo.full_name}/raw/{ref_sha}/{quote(path)}"),
                    "contents_url": f"{repo_api(repo)}/contents/{quote(path)}?ref={ref_sha}",
                }
            )
    return sorted(out, key=lambda f: f["filename"])


def push_commit(repo: Repo, c: Commit, *, distinct: bool = True) -> dict[str, Any]:
    """A commit as the ``push`` webhook lists it."""
    parent_tree = repo.commits[c.parents[0]].tree if c.parents and c.parents[0] in repo.commits else {}
    added, removed, modified = gitobjects.diff_trees(parent_tree, c.tree)

    def who(p: GitPerson) -> dict[str, Any]:
        out: dict[str, Any] = {"name": p.name, "email": p.email, "date": iso(p.date)}
        if p.login:
            out["username"] = p.login
        return out

    return {
        "id": c.sha,
        "tree_id": c.tree_sha,
        "distinct": distinct,
        "message": c.message,
        "timestamp": iso(c.committer.date),
        "url": html_url(f"/{repo.full_name}/commit/{c.sha}"),
        "author": who(c.author),
        "committer": who(c.committer),
        "added": added,
        "removed": removed,
        "modified": modified,
    }


def ref(repo: Repo, name: str, sha: str) -> dict[str, Any]:
    """``git-ref``."""
    base = repo_api(repo)
    kind = "tag" if sha in repo.tags else "commit"
    obj_url = f"{base}/git/tags/{sha}" if kind == "tag" else f"{base}/git/commits/{sha}"
    return {
        "ref": name,
        "node_id": base64.b64encode(f"REF_{repo.id}_{name}".encode()).decode().rstrip("="),
        "url": f"{base}/git/{quote_ref(name)}",
        "object": {"type": kind, "sha": sha, "url": obj_url},
    }


def tag(repo: Repo, t: GitTag) -> dict[str, Any]:
    """``git-tag`` (an annotated tag object)."""
    base = repo_api(repo)
    return {
        "node_id": base64.b64encode(f"TAG_{t.sha[:20]}".encode()).decode().rstrip("="),
        "tag": t.tag,
        "sha": t.sha,
        "url": f"{base}/git/tags/{t.sha}",
        "message": t.message,
        "tagger": person(t.tagger),
        "object": {"type": t.object_type, "sha": t.object_sha, "url": f"{base}/git/commits/{t.object_sha}"},
        "verification": dict(VERIFICATION),
    }


def short_branch(repo: Repo, name: str, sha: str) -> dict[str, Any]:
    base = repo_api(repo)
    out = {
        "name": name,
        "commit": {"sha": sha, "url": f"{base}/commits/{sha}"},
        "protected": name in repo.protection,
    }
    if name in repo.protection:
        out["protection"] = {"enabled": True, "required_status_checks": _checks_summary(repo, name)}
    out["protection_url"] = f"{base}/branches/{quote_ref(name)}/protection"
    return out


def _checks_summary(repo: Repo, branch: str) -> dict[str, Any]:
    rsc = (repo.protection.get(branch) or {}).get("required_status_checks") or {}
    return {
        "enforcement_level": "non_admins" if rsc else "off",
        "contexts": list(rsc.get("contexts", [])),
        "checks": list(rsc.get("checks", [])),
    }


def content_file(repo: Repo, path: str, data: bytes, ref_name: str) -> dict[str, Any]:
    """``content-file`` with base64 content split in 60-character lines, as GitHub sends it."""
    base = repo_api(repo)
    sha = gitobjects.blob_sha(data)
    encoded = base64.b64encode(data).decode()
    wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60)) + ("\n" if encoded else "")
    self_url = f"{base}/contents/{quote(path)}?ref={quote(ref_name, safe='')}"
    html = html_url(f"/{repo.full_name}/blob/{quote_ref(ref_name)}/{quote(path)}")
    git = f"{base}/git/blobs/{sha}"
    return {
        "type": "file",
        "encoding": "base64",
        "size": len(data),
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "content": wrapped,
        "sha": sha,
        "url": self_url,
        "git_url": git,
        "html_url": html,
        "download_url": html_url(f"/{repo.full_name}/raw/{quote_ref(ref_name)}/{quote(path)}"),
        "_links": {"self": self_url, "git": git, "html": html},
    }


def file_commit(
    st: SandboxState, repo: Repo, path: str, data: bytes | None, branch: str, c: Commit
) -> dict[str, Any]:
    """``file-commit`` (the answer of ``PUT``/``DELETE /contents/{path}``)."""
    content = None
    if data is not None:
        content = content_file(repo, path, data, branch)
        content.pop("content")
        content.pop("encoding")
    gc = git_commit(repo, c)
    return {"content": content, "commit": gc}
