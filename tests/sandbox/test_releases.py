"""Releases over real HTTP: drafts, publishing (with tag creation), lookups, notes, and webhooks."""

from __future__ import annotations

from test_git import branch_sha, commit_file, mark, names_after, open_pr
from validation import RunningSandbox


def _release(sb: RunningSandbox, repo: str, as_: str = "releaser", **fields: object) -> dict:
    resp = sb.api.post(f"/repos/{repo}/releases", as_=as_, json=fields)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_draft_then_publish_creates_tag_and_sends_published_then_released(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    main = branch_sha(sb, repo, "main")
    start = mark(sb, repo)
    draft = _release(sb, repo, tag_name="v1.0.0", name="v1.0.0", body="notes", draft=True)
    assert draft["draft"] is True and draft["published_at"] is None
    assert names_after(sb, repo, start) == ["release.created"]
    # drafts: no tag yet, not found by tag, invisible to readers
    assert sb.api.get(f"/repos/{repo}/git/ref/tags/v1.0.0").status_code == 404
    assert sb.api.get(f"/repos/{repo}/releases/tags/v1.0.0").status_code == 404
    assert sb.api.get(f"/repos/{repo}/releases/{draft['id']}", as_="outsider").status_code == 404
    assert sb.api.get(f"/repos/{repo}/releases", as_="outsider").json() == []
    assert sb.api.get(f"/repos/{repo}/releases/{draft['id']}", as_="dev").status_code == 200
    start = mark(sb, repo)
    published = sb.api.patch(f"/repos/{repo}/releases/{draft['id']}", as_="releaser", json={"draft": False})
    assert published.status_code == 200 and published.json()["draft"] is False
    assert published.json()["published_at"] is not None
    assert names_after(sb, repo, start) == ["create", "push", "release.published", "release.released"]
    assert sb.api.get(f"/repos/{repo}/git/ref/tags/v1.0.0").json()["object"]["sha"] == main
    by_tag = sb.api.get(f"/repos/{repo}/releases/tags/v1.0.0").json()
    assert by_tag["id"] == draft["id"]
    assert sb.api.get(f"/repos/{repo}/releases/latest").json()["id"] == draft["id"]
    sb.recorder.assert_all_valid()


def test_create_published_prerelease_on_missing_tag(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    sha = commit_file(sb, repo, "main", "x.txt", "x")
    start = mark(sb, repo)
    rc = _release(sb, repo, tag_name="v2.0.0-rc.1", target_commitish="main", prerelease=True)
    assert rc["prerelease"] is True and rc["target_commitish"] == "main"
    assert names_after(sb, repo, start) == [
        "create",
        "push",
        "release.created",
        "release.published",
        "release.prereleased",
    ]
    assert sb.api.get(f"/repos/{repo}/git/ref/tags/v2.0.0-rc.1").json()["object"]["sha"] == sha
    # prereleases are not "latest"
    assert sb.api.get(f"/repos/{repo}/releases/latest").status_code == 404
    sb.recorder.assert_all_valid()


def test_edit_and_delete_send_edited_with_changes_and_deleted(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    rel = _release(sb, repo, tag_name="v1.1.0", name="v1.1.0", body="old", draft=True)
    start = mark(sb, repo)
    resp = sb.api.patch(f"/repos/{repo}/releases/{rel['id']}", json={"body": "new", "name": "Rocket 1.1"})
    assert resp.status_code == 200 and resp.json()["body"] == "new"
    assert sb.api.delete(f"/repos/{repo}/releases/{rel['id']}").status_code == 204
    assert names_after(sb, repo, start) == ["release.edited", "release.deleted"]
    edited = sb.recorder.for_repo(repo)[start].payload
    assert edited["changes"] == {"body": {"from": "old"}, "name": {"from": "v1.1.0"}}
    assert sb.api.get(f"/repos/{repo}/releases/{rel['id']}").status_code == 404
    sb.recorder.assert_all_valid()


def test_release_validation_and_permissions(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    _release(sb, repo, tag_name="v0.1.0")
    dup = sb.api.post(f"/repos/{repo}/releases", json={"tag_name": "v0.1.0"})
    assert dup.status_code == 422 and dup.json()["errors"][0]["code"] == "already_exists"
    bad_target = sb.api.post(
        f"/repos/{repo}/releases", json={"tag_name": "v0.2.0", "target_commitish": "nope"}
    )
    assert bad_target.status_code == 422
    assert sb.api.post(f"/repos/{repo}/releases", json={}).status_code == 422
    assert sb.api.post(f"/repos/{repo}/releases", as_="triager", json={"tag_name": "v9"}).status_code == 403


def test_list_paginates_newest_first(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    ids = [_release(sb, repo, tag_name=f"v0.0.{i}", draft=True)["id"] for i in range(105)]
    everything = sb.api.paginate(f"/repos/{repo}/releases", per_page=40)
    assert [r["id"] for r in everything] == list(reversed(ids))
    first = sb.api.get(f"/repos/{repo}/releases")
    assert len(first.json()) == 30 and 'rel="last"' in first.headers["link"]


def test_generate_notes_lists_merged_pulls_since_previous_release(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    old = open_pr(sb, repo, "old-fix", as_="dev", title="Old fix")
    sb.api.put(f"/repos/{repo}/pulls/{old['number']}/merge", json={})
    _release(sb, repo, tag_name="v1.0.0")
    sb.api.put(
        f"/repos/{repo}/contents/.github/release.yml",
        json={
            "message": "notes config",
            "content": (
                "Y2hhbmdlbG9nOgogIGNhdGVnb3JpZXM6CiAgICAtIHRpdGxlOiBGZWF0dXJlcwogICAgICBsYWJlbHM6IFtmZWF0dXJlXQo="
            ),
        },
    )  # changelog: categories: [{title: Features, labels: [feature]}]
    feat = open_pr(sb, repo, "feat", as_="qa", title="Shiny feature")
    sb.api.post(f"/repos/{repo}/issues/{feat['number']}/labels", json={"labels": ["feature"]})
    chore = open_pr(sb, repo, "chore", as_="dev", title="Chore")
    for p in (feat, chore):
        assert sb.api.put(f"/repos/{repo}/pulls/{p['number']}/merge", json={}).status_code == 200
    resp = sb.api.post(f"/repos/{repo}/releases/generate-notes", json={"tag_name": "v1.1.0"})
    assert resp.status_code == 200, resp.text
    body = resp.json()["body"]
    assert resp.json()["name"] == "v1.1.0"
    assert "Old fix" not in body
    assert body.index("### Features") < body.index("Shiny feature") < body.index("### Other Changes")
    assert body.index("### Other Changes") < body.index("Chore")
    assert "@qa made their first contribution" in body
    assert body.endswith(f"{sb.root_url}/{repo}/compare/v1.0.0...v1.1.0")


def test_pygithub_drives_releases(sb: RunningSandbox) -> None:
    from github import Auth, Github

    repo_name = sb.new_repo()
    gh = Github(
        base_url=sb.api_url,
        auth=Auth.Token("sandbox-token-releaser"),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    try:
        repo = gh.get_repo(repo_name)
        rel = repo.create_git_release("v3.0.0", name="v3.0.0", message="body", draft=True)
        assert rel.draft and rel.tag_name == "v3.0.0"
        rel = rel.update_release(name="v3.0.0", message="final", draft=False)
        assert not rel.draft
        assert repo.get_release("v3.0.0").id == rel.id
        assert repo.get_latest_release().body == "final"
        assert [r.tag_name for r in repo.get_releases()] == ["v3.0.0"]
        assert repo.get_git_ref("tags/v3.0.0").object.sha == repo.get_branch("main").commit.sha
        rel.delete_release()
        assert list(repo.get_releases()) == []
    finally:
        gh.close()


def test_drafts_may_share_a_tag_but_published_releases_own_theirs(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    first = _release(sb, repo, tag_name="v5.0.0", draft=True)
    second = _release(sb, repo, tag_name="v5.0.0", draft=True)
    assert first["id"] != second["id"]
    assert sb.api.patch(f"/repos/{repo}/releases/{first['id']}", json={"draft": False}).status_code == 200
    clash = sb.api.patch(f"/repos/{repo}/releases/{second['id']}", json={"draft": False, "body": "x"})
    assert clash.status_code == 422 and clash.json()["errors"][0]["code"] == "already_exists"
    assert sb.api.get(f"/repos/{repo}/releases/{second['id']}").json()["body"] is None  # nothing changed
    assert sb.api.post(f"/repos/{repo}/releases", json={"tag_name": "v5.0.0"}).status_code == 422
