"""Webhook delivery sequences as the contract names them, each payload valid against
@octokit/webhooks-schemas: a branch or tag is `create` then `push`; deleting one is `delete` then
`push`; a commit to a pull request's head is `push` and `pull_request.synchronize`; a merge is
`pull_request.closed` then `push`; publishing a release is `published` then `released`."""

from __future__ import annotations

import base64

from validation import RunningSandbox


def _names_after(sb: RunningSandbox, repo: str, start: int) -> list[str]:
    sb.wait_idle()
    return sb.recorder.names(repo)[start:]


def _mark(sb: RunningSandbox, repo: str) -> int:
    sb.wait_idle()
    return len(sb.recorder.names(repo))


def _main(sb: RunningSandbox, repo: str) -> str:
    return sb.api.get(f"/repos/{repo}/git/ref/heads/main").json()["object"]["sha"]


def test_branch_and_tag_create_then_push_delete_then_push(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    start = _mark(sb, repo)
    sb.api.post(
        f"/repos/{repo}/git/refs", as_="dev", json={"ref": "refs/heads/release/1.4", "sha": _main(sb, repo)}
    )
    assert _names_after(sb, repo, start) == ["create", "push"]
    created = next(d.payload for d in sb.recorder.for_repo(repo)[start:] if d.event == "create")
    assert created["ref"] == "release/1.4" and created["ref_type"] == "branch"
    start = _mark(sb, repo)
    sb.api.post(
        f"/repos/{repo}/git/refs", as_="dev", json={"ref": "refs/tags/v1.4.0-rc.1", "sha": _main(sb, repo)}
    )
    assert _names_after(sb, repo, start) == ["create", "push"]
    start = _mark(sb, repo)
    assert sb.api.delete(f"/repos/{repo}/git/refs/heads/release/1.4", as_="dev").status_code == 204
    assert _names_after(sb, repo, start) == ["delete", "push"]
    sb.recorder.assert_all_valid(repo)


def test_commit_to_pull_request_head_is_push_and_synchronize(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = sb.open_pull(repo, "feature/sync")
    start = _mark(sb, repo)
    resp = sb.api.put(
        f"/repos/{repo}/contents/more.txt",
        as_="dev",
        json={"message": "more", "content": base64.b64encode(b"more\n").decode(), "branch": "feature/sync"},
    )
    assert resp.status_code == 201
    assert sorted(_names_after(sb, repo, start)) == ["pull_request.synchronize", "push"]
    sync = next(d.payload for d in sb.recorder.for_repo(repo)[start:] if d.name == "pull_request.synchronize")
    assert sync["after"] == resp.json()["commit"]["sha"] and sync["before"] == pr["head"]["sha"]
    sb.recorder.assert_all_valid(repo)


def test_merge_is_closed_then_push(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = sb.open_pull(repo, "feature/merge")
    start = _mark(sb, repo)
    merged = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="dev", json={})
    assert merged.status_code == 200
    assert _names_after(sb, repo, start) == ["pull_request.closed", "push"]
    closed = next(d.payload for d in sb.recorder.for_repo(repo)[start:] if d.name == "pull_request.closed")
    assert closed["pull_request"]["merged"] is True
    assert closed["pull_request"]["merge_commit_sha"] == merged.json()["sha"]
    push = next(d.payload for d in sb.recorder.for_repo(repo)[start:] if d.event == "push")
    assert push["ref"] == "refs/heads/main" and push["after"] == merged.json()["sha"]
    sb.recorder.assert_all_valid(repo)


def test_publishing_a_release_is_published_then_released(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    draft = sb.api.post(
        f"/repos/{repo}/releases",
        token=sb.installation_token(),
        json={"tag_name": "v2.0.0", "target_commitish": "main", "name": "v2.0.0", "draft": True},
    )
    assert draft.status_code == 201
    start = _mark(sb, repo)
    published = sb.api.patch(
        f"/repos/{repo}/releases/{draft.json()['id']}", token=sb.installation_token(), json={"draft": False}
    )
    assert published.status_code == 200
    names = _names_after(sb, repo, start)
    releases = [n for n in names if n.startswith("release.")]
    assert releases == ["release.published", "release.released"]
    # the tag did not exist: publishing created it from target_commitish, with create and push
    assert names.index("create") < names.index("push")
    sender = {d.payload["sender"]["login"] for d in sb.recorder.for_repo(repo)[start:]}
    assert sender == {"release-bot[bot]"}
    sb.recorder.assert_all_valid(repo)


def test_milestone_and_labels_sequences(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    start = _mark(sb, repo)
    ms = sb.api.post(f"/repos/{repo}/milestones", as_="pm", json={"title": "v3.0.0"}).json()["number"]
    n = sb.api.post(
        f"/repos/{repo}/issues", as_="pm", json={"title": "scope", "milestone": ms, "labels": ["enhancement"]}
    ).json()["number"]
    sb.api.patch(f"/repos/{repo}/milestones/{ms}", as_="pm", json={"state": "closed"})
    assert _names_after(sb, repo, start) == [
        "milestone.created",
        "issues.opened",
        "issues.labeled",
        "issues.milestoned",
        "milestone.closed",
    ]
    assert n == 1
    sb.recorder.assert_all_valid(repo)
