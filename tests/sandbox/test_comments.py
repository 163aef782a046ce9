"""Issue comments: create, list, get, update, delete, and the `issue_comment` webhooks."""

from __future__ import annotations

from validation import RunningSandbox


def _issue(sb: RunningSandbox, repo: str) -> int:
    resp = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "t"})
    assert resp.status_code == 201, resp.text
    return resp.json()["number"]


def test_comment_life_cycle_and_webhooks(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    n = _issue(sb, repo)
    resp = sb.api.post(f"/repos/{repo}/issues/{n}/comments", as_="outsider", json={"body": "/uat passed"})
    assert resp.status_code == 201, resp.text
    c = resp.json()
    assert c["body"] == "/uat passed" and c["user"]["login"] == "outsider"
    assert c["issue_url"] == f"{sb.api_url}/repos/{repo}/issues/{n}"
    assert c["html_url"] == f"{sb.root_url}/{repo}/issues/{n}#issuecomment-{c['id']}"
    assert c["author_association"] == "COLLABORATOR"  # read access, not an organization member
    assert sb.api.get(f"/repos/{repo}/issues/{n}").json()["comments"] == 1
    assert sb.api.get(f"/repos/{repo}/issues/comments/{c['id']}").json()["body"] == "/uat passed"
    edited = sb.api.patch(
        f"/repos/{repo}/issues/comments/{c['id']}", as_="outsider", json={"body": "/approve"}
    )
    assert edited.status_code == 200 and edited.json()["body"] == "/approve"
    assert sb.api.delete(f"/repos/{repo}/issues/comments/{c['id']}", as_="outsider").status_code == 204
    assert sb.api.get(f"/repos/{repo}/issues/comments/{c['id']}").status_code == 404
    assert sb.api.get(f"/repos/{repo}/issues/{n}").json()["comments"] == 0

    sb.recorder.wait_names(
        "issue_comment.created", "issue_comment.edited", "issue_comment.deleted", repo=repo
    )
    sb.wait_idle()
    got = [d for d in sb.recorder.for_repo(repo) if d.event == "issue_comment"]
    assert [d.action for d in got] == ["created", "edited", "deleted"]
    assert got[1].payload["changes"] == {"body": {"from": "/uat passed"}}
    assert got[1].payload["comment"]["body"] == "/approve"
    assert got[0].payload["issue"]["number"] == n and got[0].payload["sender"]["login"] == "outsider"
    sb.recorder.assert_all_valid(repo)


def test_comment_on_pull_request_carries_pull_request_link(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = sb.open_pull(repo, "feature/comment")
    resp = sb.api.post(
        f"/repos/{repo}/issues/{pr['number']}/comments", as_="qa", json={"body": "/uat passed"}
    )
    assert resp.status_code == 201
    assert f"/pull/{pr['number']}#issuecomment-" in resp.json()["html_url"]
    sb.recorder.wait_names("issue_comment.created", repo=repo)
    payload = next(d.payload for d in sb.recorder.for_repo(repo) if d.name == "issue_comment.created")
    assert payload["issue"]["pull_request"]["url"].endswith(f"/pulls/{pr['number']}")
    sb.recorder.assert_all_valid(repo)


def test_only_author_or_write_may_edit(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    n = _issue(sb, repo)
    c = sb.api.post(f"/repos/{repo}/issues/{n}/comments", as_="qa", json={"body": "mine"}).json()
    for who in ("outsider", "triager"):
        resp = sb.api.patch(f"/repos/{repo}/issues/comments/{c['id']}", as_=who, json={"body": "forged"})
        assert resp.status_code == 403, who
        assert sb.api.delete(f"/repos/{repo}/issues/comments/{c['id']}", as_=who).status_code == 403
    assert (
        sb.api.patch(
            f"/repos/{repo}/issues/comments/{c['id']}", as_="dev", json={"body": "moderated"}
        ).status_code
        == 200
    )
    assert sb.api.get(f"/repos/{repo}/issues/comments/{c['id']}").json()["body"] == "moderated"


def test_list_since_and_repository_wide(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    a, b = _issue(sb, repo), _issue(sb, repo)
    first = sb.api.post(f"/repos/{repo}/issues/{a}/comments", as_="dev", json={"body": "1"}).json()
    sb.api.sandbox("POST", "/_sandbox/clock", json={"advance_seconds": 10})
    second = sb.api.post(f"/repos/{repo}/issues/{b}/comments", as_="dev", json={"body": "2"}).json()
    third = sb.api.post(f"/repos/{repo}/issues/{a}/comments", as_="dev", json={"body": "3"}).json()
    on_a = sb.api.get(f"/repos/{repo}/issues/{a}/comments").json()
    assert [c["id"] for c in on_a] == [first["id"], third["id"]]
    recent = sb.api.get(f"/repos/{repo}/issues/{a}/comments", params={"since": second["created_at"]}).json()
    assert [c["id"] for c in recent] == [third["id"]]
    everywhere = sb.api.get(f"/repos/{repo}/issues/comments").json()
    assert [c["id"] for c in everywhere] == [first["id"], second["id"], third["id"]]
    newest = sb.api.get(
        f"/repos/{repo}/issues/comments", params={"sort": "created", "direction": "desc"}
    ).json()
    assert newest[0]["id"] == third["id"]


def test_bad_input(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    n = _issue(sb, repo)
    empty = sb.api.post(f"/repos/{repo}/issues/{n}/comments", as_="dev", json={})
    assert empty.status_code == 422 and empty.json()["errors"][0]["field"] == "body"
    too_long = sb.api.post(f"/repos/{repo}/issues/{n}/comments", as_="dev", json={"body": "x" * 65537})
    assert too_long.status_code == 422
    assert sb.api.post(f"/repos/{repo}/issues/999/comments", as_="dev", json={"body": "x"}).status_code == 404
    assert (
        sb.api.post(f"/repos/{repo}/issues/{n}/comments", anonymous=True, json={"body": "x"}).status_code
        == 401
    )
    assert sb.api.get(f"/repos/{repo}/issues/comments/123456789").status_code == 404
