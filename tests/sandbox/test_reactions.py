"""Reactions on issue comments: 201 when new, 200 when the user already reacted so, list and filter."""

from __future__ import annotations

from validation import RunningSandbox


def _comment(sb: RunningSandbox, repo: str) -> int:
    n = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "t"}).json()["number"]
    return sb.api.post(f"/repos/{repo}/issues/{n}/comments", as_="dev", json={"body": "/approve"}).json()[
        "id"
    ]


def test_create_is_idempotent_per_user_and_content(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    cid = _comment(sb, repo)
    url = f"/repos/{repo}/issues/comments/{cid}/reactions"
    token = sb.installation_token()
    first = sb.api.post(url, token=token, json={"content": "eyes"})
    assert first.status_code == 201, first.text
    assert first.json()["user"]["login"] == "release-bot[bot]" and first.json()["content"] == "eyes"
    again = sb.api.post(url, token=token, json={"content": "eyes"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = sb.api.post(url, token=token, json={"content": "+1"})
    assert other.status_code == 201
    by_outsider = sb.api.post(url, as_="outsider", json={"content": "eyes"})
    assert by_outsider.status_code == 201  # reading is enough to react
    listed = sb.api.get(url).json()
    assert sorted((r["user"]["login"], r["content"]) for r in listed) == [
        ("outsider", "eyes"),
        ("release-bot[bot]", "+1"),
        ("release-bot[bot]", "eyes"),
    ]
    eyes = sb.api.get(url, params={"content": "eyes"}).json()
    assert len(eyes) == 2
    summary = sb.api.get(f"/repos/{repo}/issues/comments/{cid}").json()["reactions"]
    assert summary["total_count"] == 3 and summary["eyes"] == 2 and summary["+1"] == 1


def test_delete_own_reaction(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    cid = _comment(sb, repo)
    url = f"/repos/{repo}/issues/comments/{cid}/reactions"
    rid = sb.api.post(url, as_="qa", json={"content": "confused"}).json()["id"]
    assert sb.api.delete(f"{url}/{rid}", as_="outsider").status_code == 403
    assert sb.api.delete(f"{url}/{rid}", as_="qa").status_code == 204
    assert sb.api.get(url).json() == []


def test_bad_input(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    cid = _comment(sb, repo)
    url = f"/repos/{repo}/issues/comments/{cid}/reactions"
    assert sb.api.post(url, as_="dev", json={"content": "party"}).status_code == 422
    assert sb.api.post(url, as_="dev", json={}).status_code == 422
    assert sb.api.post(url, anonymous=True, json={"content": "eyes"}).status_code == 401
    assert (
        sb.api.post(
            f"/repos/{repo}/issues/comments/999999/reactions", as_="dev", json={"content": "eyes"}
        ).status_code
        == 404
    )
