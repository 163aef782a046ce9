"""Git data over real HTTP: refs, tags, contents, commit history, compare, and their webhooks.

Also defines the small git helpers the other part-1 test modules import.
"""

from __future__ import annotations

import base64

import pytest
from validation import RunningSandbox, assert_valid_webhook

# --------------------------------------------------------------------------- helpers (imported elsewhere)


def branch_sha(sb: RunningSandbox, repo: str, branch: str) -> str:
    resp = sb.api.get(f"/repos/{repo}/git/ref/heads/{branch}")
    assert resp.status_code == 200, resp.text
    return resp.json()["object"]["sha"]


def create_branch(
    sb: RunningSandbox, repo: str, branch: str, sha: str | None = None, as_: str = "dev"
) -> str:
    sha = sha or branch_sha(sb, repo, "main")
    resp = sb.api.post(f"/repos/{repo}/git/refs", as_=as_, json={"ref": f"refs/heads/{branch}", "sha": sha})
    assert resp.status_code == 201, resp.text
    return sha


def commit_file(
    sb: RunningSandbox,
    repo: str,
    branch: str,
    path: str,
    text: str,
    as_: str = "dev",
    token: str | None = None,
) -> str:
    """Create or update ``path`` on ``branch``; returns the new commit sha."""
    existing = sb.api.get(
        f"/repos/{repo}/contents/{path}", params={"ref": branch}, token=token, as_=as_, validate=False
    )
    body = {"message": f"edit {path}", "content": base64.b64encode(text.encode()).decode(), "branch": branch}
    if existing.status_code == 200:
        body["sha"] = existing.json()["sha"]
    resp = sb.api.put(f"/repos/{repo}/contents/{path}", as_=as_, token=token, json=body)
    assert resp.status_code in (200, 201), resp.text
    return resp.json()["commit"]["sha"]


def open_pr(
    sb: RunningSandbox,
    repo: str,
    branch: str,
    base: str = "main",
    as_: str = "dev",
    path: str | None = None,
    title: str | None = None,
) -> dict:
    """A pull request from a new branch (off ``base``) with one commit."""
    create_branch(sb, repo, branch, branch_sha(sb, repo, base), as_=as_)
    commit_file(sb, repo, branch, path or f"{branch.replace('/', '-')}.txt", f"{branch}\n", as_=as_)
    resp = sb.api.post(
        f"/repos/{repo}/pulls",
        as_=as_,
        json={"title": title or f"change {branch}", "head": branch, "base": base},
    )
    assert resp.status_code == 201, resp.text
    return resp.json()


def names_after(sb: RunningSandbox, repo: str, start: int) -> list[str]:
    """``event.action`` names of deliveries about ``repo`` received after the first ``start`` ones."""
    sb.wait_idle()
    return sb.recorder.names(repo)[start:]


def mark(sb: RunningSandbox, repo: str) -> int:
    sb.wait_idle()
    return len(sb.recorder.names(repo))


# --------------------------------------------------------------------------- refs and webhooks


def test_seeded_repository_and_default_branch(sb: RunningSandbox) -> None:
    repo = sb.api.get("/repos/acme/rocket").json()
    assert repo["full_name"] == "acme/rocket" and repo["default_branch"] == "main"
    assert repo["url"] == f"{sb.api_url}/repos/acme/rocket"
    assert repo["html_url"] == f"{sb.root_url}/acme/rocket"
    readme = sb.api.get("/repos/acme/rocket/contents/README.md", params={"ref": "main"}).json()
    assert base64.b64decode(readme["content"]).decode().startswith("# rocket")
    assert readme["encoding"] == "base64"


def test_branch_create_sends_create_then_push(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    start = mark(sb, repo)
    main = create_branch(sb, repo, "release/1.4")
    names = names_after(sb, repo, start)
    assert names == ["create", "push"]
    create, push = sb.recorder.for_repo(repo)[start:]
    assert create.payload["ref"] == "release/1.4" and create.payload["ref_type"] == "branch"
    assert push.payload["ref"] == "refs/heads/release/1.4" and push.payload["created"] is True
    assert push.payload["after"] == main and push.payload["before"] == "0" * 40
    assert push.payload["sender"]["login"] == "dev"
    for d in (create, push):
        assert d.signature_ok
        assert d.headers["user-agent"].startswith("GitHub-Hookshot/")
        assert d.headers["x-github-hook-installation-target-id"] == "1"
        assert d.headers["x-hub-signature"].startswith("sha1=")
        assert_valid_webhook(d.event, d.payload)


def test_url_encoded_branch_names_are_accepted(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    sha = create_branch(sb, repo, "release/2.0")
    for path in (f"/repos/{repo}/branches/release%2F2.0", f"/repos/{repo}/branches/release/2.0"):
        resp = sb.api.get(path)
        assert resp.status_code == 200, resp.text
        assert resp.json()["name"] == "release/2.0" and resp.json()["commit"]["sha"] == sha
    assert sb.api.get(f"/repos/{repo}/git/ref/heads%2Frelease%2F2.0").json()["object"]["sha"] == sha
    names = [b["name"] for b in sb.api.get(f"/repos/{repo}/branches").json()]
    assert names == ["main", "release/2.0"]
    assert sb.api.get(f"/repos/{repo}/branches/nope").status_code == 404


def test_commit_on_branch_sends_push_with_commits(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "feature")
    start = mark(sb, repo)
    before = branch_sha(sb, repo, "feature")
    sha = commit_file(sb, repo, "feature", "src/app.py", "print('hi')\n")
    assert names_after(sb, repo, start) == ["push"]
    push = sb.recorder.for_repo(repo)[start].payload
    assert (push["before"], push["after"], push["created"], push["forced"]) == (before, sha, False, False)
    assert [c["id"] for c in push["commits"]] == [sha]
    assert push["commits"][0]["added"] == ["src/app.py"]
    assert push["head_commit"]["id"] == sha
    assert_valid_webhook("push", push)
    got = sb.api.get(f"/repos/{repo}/contents/src/app.py", params={"ref": "feature"}).json()
    assert base64.b64decode(got["content"]) == b"print('hi')\n"
    assert sb.api.get(f"/repos/{repo}/contents/src/app.py", params={"ref": "main"}).status_code == 404
    # The spec's discriminator on "type" cannot apply to the directory array, so openapi-schema-validator
    # rejects every directory listing; the items' shape is checked by the file case above.
    listing = sb.api.get(f"/repos/{repo}/contents/src", params={"ref": "feature"}, validate=False).json()
    assert [e["name"] for e in listing] == ["app.py"]


def test_contents_update_needs_matching_sha(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    commit_file(sb, repo, "main", "a.txt", "one\n")
    body = {"message": "x", "content": base64.b64encode(b"two").decode()}
    assert sb.api.put(f"/repos/{repo}/contents/a.txt", json=body).status_code == 422
    # (409's documented body is a oneOf of two schemas that both fit a plain error: skip validation)
    resp = sb.api.put(f"/repos/{repo}/contents/a.txt", json={**body, "sha": "0" * 40}, validate=False)
    assert resp.status_code == 409
    assert set(resp.json()) >= {"message", "documentation_url"}


def test_delete_branch_sends_delete_then_push(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "tmp")
    start = mark(sb, repo)
    assert sb.api.delete(f"/repos/{repo}/git/refs/heads/tmp").status_code == 204
    assert names_after(sb, repo, start) == ["delete", "push"]
    push = sb.recorder.for_repo(repo)[-1].payload
    assert push["deleted"] is True and push["after"] == "0" * 40 and push["head_commit"] is None
    assert_valid_webhook("push", push)
    assert sb.api.get(f"/repos/{repo}/git/ref/heads/tmp").status_code == 404
    # GitHub documents no body for this 422 but sends an error body, as the sandbox does
    assert sb.api.delete(f"/repos/{repo}/git/refs/heads/tmp", validate=False).status_code == 422


def test_ref_update_fast_forward_and_force(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    base = create_branch(sb, repo, "topic")
    ahead = commit_file(sb, repo, "topic", "t.txt", "1")
    # moving topic back is not a fast-forward: refused unless forced
    resp = sb.api.patch(f"/repos/{repo}/git/refs/heads/topic", json={"sha": base})
    assert resp.status_code == 422 and "fast forward" in resp.json()["message"]
    start = mark(sb, repo)
    resp = sb.api.patch(f"/repos/{repo}/git/refs/heads/topic", json={"sha": base, "force": True})
    assert resp.status_code == 200
    assert names_after(sb, repo, start) == ["push"]
    push = sb.recorder.for_repo(repo)[start].payload
    assert push["forced"] is True and push["before"] == ahead and push["after"] == base


def test_matching_refs_and_tags(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    main = branch_sha(sb, repo, "main")
    start = mark(sb, repo)
    tag = sb.api.post(
        f"/repos/{repo}/git/tags", json={"tag": "v1.0.0", "message": "one", "object": main, "type": "commit"}
    )
    assert tag.status_code == 201, tag.text
    assert tag.json()["object"]["sha"] == main
    resp = sb.api.post(f"/repos/{repo}/git/refs", json={"ref": "refs/tags/v1.0.0", "sha": tag.json()["sha"]})
    assert resp.status_code == 201 and resp.json()["object"]["type"] == "tag"
    assert names_after(sb, repo, start) == ["create", "push"]
    push = sb.recorder.for_repo(repo)[-1].payload
    assert push["ref"] == "refs/tags/v1.0.0" and push["head_commit"]["id"] == main
    assert push["base_ref"] == "refs/heads/main"
    sb.api.post(f"/repos/{repo}/git/refs", json={"ref": "refs/tags/v1.1.0", "sha": main})
    refs = sb.api.get(f"/repos/{repo}/git/matching-refs/tags/v1").json()
    assert [r["ref"] for r in refs] == ["refs/tags/v1.0.0", "refs/tags/v1.1.0"]
    assert sb.api.get(f"/repos/{repo}/git/matching-refs/tags/v9").json() == []
    assert sb.api.get(f"/repos/{repo}/git/tags/{tag.json()['sha']}").json()["tag"] == "v1.0.0"
    dup = sb.api.post(f"/repos/{repo}/git/refs", json={"ref": "refs/tags/v1.1.0", "sha": main})
    assert dup.status_code == 422 and dup.json()["message"] == "Reference already exists"
    bad = sb.api.post(f"/repos/{repo}/git/refs", json={"ref": "refs/heads/x", "sha": "f" * 40})
    assert bad.status_code == 422


def test_push_of_more_than_three_tags_sends_no_create(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    main = branch_sha(sb, repo, "main")
    start = mark(sb, repo)
    resp = sb.api.sandbox(
        "POST",
        f"/_sandbox/repos/{repo}/push",
        json={"pusher": "dev", "refs": {f"refs/tags/v0.{i}.0": main for i in range(4)}},
    )
    assert resp.status_code == 200, resp.text
    assert names_after(sb, repo, start) == []
    assert len(sb.api.get(f"/repos/{repo}/git/matching-refs/tags/").json()) == 4
    # three at once still announce themselves
    resp = sb.api.sandbox(
        "POST",
        f"/_sandbox/repos/{repo}/push",
        json={"pusher": "dev", "refs": {f"refs/tags/v1.{i}.0": main for i in range(3)}},
    )
    assert names_after(sb, repo, start).count("create") == 3


def test_triage_and_read_cannot_push(sb: RunningSandbox) -> None:
    repo = "acme/rocket"
    main = branch_sha(sb, repo, "main")
    for user in ("triager", "outsider"):
        resp = sb.api.post(
            f"/repos/{repo}/git/refs", as_=user, json={"ref": f"refs/heads/by-{user}", "sha": main}
        )
        assert resp.status_code == 403, (user, resp.text)
        body = {"message": "x", "content": base64.b64encode(b"x").decode()}
        assert sb.api.put(f"/repos/{repo}/contents/{user}.txt", as_=user, json=body).status_code == 403
    assert sb.api.get(f"/repos/{repo}/git/ref/heads/main", anonymous=True).status_code == 200
    bad = sb.api.get(f"/repos/{repo}", token="not-a-token")
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"


# --------------------------------------------------------------------------- history and compare


def _merge(sb: RunningSandbox, repo: str, head: str, base: str = "main") -> str:
    pr = sb.api.post(
        f"/repos/{repo}/pulls", json={"title": f"merge {head}", "head": head, "base": base}
    ).json()
    resp = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", json={})
    assert resp.status_code == 200, resp.text
    return resp.json()["sha"]


def test_compare_across_merge_commits(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    root = branch_sha(sb, repo, "main")
    create_branch(sb, repo, "release/1.0")
    f1 = commit_file(sb, repo, "release/1.0", "fix1.txt", "1")
    create_branch(sb, repo, "feat")
    f2 = commit_file(sb, repo, "feat", "feat.txt", "f")
    m1 = _merge(sb, repo, "feat")  # main: root <- f2 / merge m1
    merge_commit = sb.api.get(f"/repos/{repo}/git/commits/{m1}").json()
    assert [p["sha"] for p in merge_commit["parents"]] == [root, f2]
    cmp = sb.api.get(f"/repos/{repo}/compare/main...release/1.0").json()
    assert cmp["status"] == "diverged" and cmp["ahead_by"] == 1 and cmp["behind_by"] == 2
    assert [c["sha"] for c in cmp["commits"]] == [f1]
    assert cmp["merge_base_commit"]["sha"] == root
    # merge the release line back: main is now ahead of release/1.0 only
    m2 = _merge(sb, repo, "release/1.0")
    cmp = sb.api.get(f"/repos/{repo}/compare/release/1.0...main").json()
    assert cmp["status"] == "ahead" and cmp["behind_by"] == 0
    assert [c["sha"] for c in cmp["commits"]] == [f2, m1, m2]
    assert cmp["merge_base_commit"]["sha"] == f1
    same = sb.api.get(f"/repos/{repo}/compare/{m2}...main").json()
    assert same["status"] == "identical" and same["total_commits"] == 0
    behind = sb.api.get(f"/repos/{repo}/compare/main...{root[:10]}").json()
    assert behind["status"] == "behind" and behind["behind_by"] == 4
    # history lists every reachable commit once, newest first, with the merge commits
    log = [c["sha"] for c in sb.api.paginate(f"/repos/{repo}/commits", params={"sha": "main"})]
    assert log[0] == m2 and set(log) == {root, f1, f2, m1, m2} and len(log) == 5
    assert log.index(m1) < log.index(f2) and log.index(m2) < log.index(f1)


def test_compare_pages_its_commits(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "long")
    shas = [commit_file(sb, repo, "long", "n.txt", str(i)) for i in range(7)]
    first = sb.api.get(f"/repos/{repo}/compare/main...long", params={"per_page": 3})
    assert first.json()["total_commits"] == 7 and [c["sha"] for c in first.json()["commits"]] == shas[:3]
    nxt = first.links["next"]["url"]
    assert nxt.startswith(sb.api_url)
    third = sb.api.get(f"/repos/{repo}/compare/main...long", params={"per_page": 3, "page": 3}).json()
    assert [c["sha"] for c in third["commits"]] == shas[6:]
    assert sb.api.get(f"/repos/{repo}/compare/main...nope").status_code == 404


def test_commits_list_paginates(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    for i in range(34):
        commit_file(sb, repo, "main", "counter.txt", str(i))
    page1 = sb.api.get(f"/repos/{repo}/commits")
    assert len(page1.json()) == 30 and 'rel="next"' in page1.headers["link"]
    everything = sb.api.paginate(f"/repos/{repo}/commits", per_page=10)
    assert len(everything) == 35 and len({c["sha"] for c in everything}) == 35
    one = sb.api.get(f"/repos/{repo}/commits/{everything[0]['sha']}").json()
    assert one["files"][0]["filename"] == "counter.txt"


@pytest.mark.parametrize("path", ["/repos/acme/nope", "/repos/acme/rocket/git/ref/heads/nope"])
def test_missing_things_are_404(sb: RunningSandbox, path: str) -> None:
    resp = sb.api.get(path)
    assert resp.status_code == 404 and resp.json()["message"] == "Not Found"


def test_git_data_api_multi_file_commit(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    main = branch_sha(sb, repo, "main")
    base_tree = sb.api.get(f"/repos/{repo}/git/commits/{main}").json()["tree"]["sha"]
    blob = sb.api.post(
        f"/repos/{repo}/git/blobs", json={"content": base64.b64encode(b"bin").decode(), "encoding": "base64"}
    )
    assert blob.status_code == 201
    tree = sb.api.post(
        f"/repos/{repo}/git/trees",
        json={
            "base_tree": base_tree,
            "tree": [
                {"path": "a/one.txt", "mode": "100644", "type": "blob", "content": "one"},
                {"path": "a/two.bin", "mode": "100644", "type": "blob", "sha": blob.json()["sha"]},
            ],
        },
    )
    assert tree.status_code == 201, tree.text
    assert {e["path"] for e in tree.json()["tree"]} == {"README.md", "a/one.txt", "a/two.bin"}
    commit = sb.api.post(
        f"/repos/{repo}/git/commits",
        json={"message": "two files", "tree": tree.json()["sha"], "parents": [main]},
    )
    assert commit.status_code == 201 and commit.json()["parents"][0]["sha"] == main
    start = mark(sb, repo)
    assert (
        sb.api.patch(f"/repos/{repo}/git/refs/heads/main", json={"sha": commit.json()["sha"]}).status_code
        == 200
    )
    assert names_after(sb, repo, start) == ["push"]
    push = sb.recorder.for_repo(repo)[start].payload
    assert push["head_commit"]["added"] == ["a/one.txt", "a/two.bin"]
    got = sb.api.get(f"/repos/{repo}/contents/a/two.bin").json()
    assert base64.b64decode(got["content"]) == b"bin"
    assert sb.api.get(f"/repos/{repo}/git/blobs/{blob.json()['sha']}").json()["size"] == 3
    listed = sb.api.get(f"/repos/{repo}/git/trees/main", params={"recursive": 1}).json()
    assert len(listed["tree"]) == 3
    bad = sb.api.post(f"/repos/{repo}/git/commits", json={"message": "x", "tree": "f" * 40, "parents": []})
    assert bad.status_code == 422


def test_repository_activity_dates_every_push_of_a_branch(sb: RunningSandbox) -> None:
    """GitHub's one record of when an ordinary push happened (a commit's date is its maker's say)."""
    repo = sb.new_repo()
    main = branch_sha(sb, repo, "main")
    create_branch(sb, repo, "act")
    first = commit_file(sb, repo, "act", "a.txt", "1")
    rewound = sb.api.patch(f"/repos/{repo}/git/refs/heads/act", as_="dev", json={"sha": main, "force": True})
    assert rewound.status_code == 200, rewound.text
    newest = sb.api.get(f"/repos/{repo}/activity", params={"ref": "act"}).json()
    assert [(a["activity_type"], a["before"], a["after"]) for a in newest] == [
        ("force_push", first, main),
        ("push", main, first),
        ("branch_creation", "0" * 40, main),
    ]
    assert all(a["ref"] == "refs/heads/act" and a["timestamp"].endswith("Z") for a in newest)
    assert newest[0]["actor"]["login"] == "dev"
    one = sb.api.get(f"/repos/{repo}/activity", params={"ref": "refs/heads/act", "per_page": 1}).json()
    assert [a["after"] for a in one] == [main]
    oldest = sb.api.get(f"/repos/{repo}/activity", params={"ref": "act", "direction": "asc"}).json()
    assert [a["activity_type"] for a in oldest] == ["branch_creation", "push", "force_push"]
    assert sb.api.get(f"/repos/{repo}/activity", params={"direction": "up"}).status_code == 422
