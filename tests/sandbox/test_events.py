"""Issue events and the timeline: the actor of every label and milestone change, and for pull
requests every commit (`committed`) in the order things happened."""

from __future__ import annotations

import base64

from validation import RunningSandbox


def _push(sb: RunningSandbox, repo: str, branch: str, path: str, text: str, as_: str = "dev") -> str:
    resp = sb.api.put(
        f"/repos/{repo}/contents/{path}",
        as_=as_,
        json={
            "message": f"edit {path}",
            "content": base64.b64encode(text.encode()).decode(),
            "branch": branch,
        },
    )
    assert resp.status_code == 201, resp.text
    return resp.json()["commit"]["sha"]


def test_events_record_actor_of_labels_and_milestones(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    ms = sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v1.0.0"}).json()["number"]
    n = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "t"}).json()["number"]
    sb.api.post(f"/repos/{repo}/issues/{n}/labels", as_="triager", json={"labels": ["uat-passed"]})
    sb.api.delete(f"/repos/{repo}/issues/{n}/labels/uat-passed", as_="qa")
    sb.api.patch(f"/repos/{repo}/issues/{n}", as_="releaser", json={"milestone": ms})
    sb.api.patch(f"/repos/{repo}/issues/{n}", as_="pm", json={"milestone": None, "title": "renamed"})
    sb.api.patch(f"/repos/{repo}/issues/{n}", as_="dev", json={"state": "closed"})
    events = sb.api.get(f"/repos/{repo}/issues/{n}/events").json()
    got = [(e["event"], e["actor"]["login"]) for e in events]
    assert got == [
        ("labeled", "triager"),
        ("unlabeled", "qa"),
        ("milestoned", "releaser"),
        ("renamed", "pm"),
        ("demilestoned", "pm"),
        ("closed", "dev"),
    ]
    assert events[0]["label"] == {"name": "uat-passed", "color": "ededed"}
    assert events[2]["milestone"] == {"title": "v1.0.0"}
    assert events[3]["rename"] == {"from": "t", "to": "renamed"}
    one = sb.api.get(f"/repos/{repo}/issues/events/{events[0]['id']}")
    assert one.status_code == 200 and one.json()["issue"]["number"] == n
    repo_wide = sb.api.get(f"/repos/{repo}/issues/events").json()
    assert [e["id"] for e in repo_wide] == [e["id"] for e in reversed(events)]  # newest first


def test_app_labels_are_attributed_to_its_bot_user(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    n = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "t"}).json()["number"]
    token = sb.installation_token()
    resp = sb.api.post(f"/repos/{repo}/issues/{n}/labels", token=token, json={"labels": ["released"]})
    assert resp.status_code == 200, resp.text
    ev = sb.api.get(f"/repos/{repo}/issues/{n}/events").json()[-1]
    assert ev["actor"]["login"] == "release-bot[bot]" and ev["actor"]["type"] == "Bot"
    assert ev["performed_via_github_app"]["slug"] == "release-bot"
    sb.recorder.wait_names("issues.labeled", repo=repo)
    labeled = next(d.payload for d in sb.recorder.for_repo(repo) if d.name == "issues.labeled")
    assert labeled["sender"]["login"] == "release-bot[bot]"
    sb.recorder.assert_all_valid(repo)


def test_timeline_orders_commits_labels_and_comments(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = sb.open_pull(repo, "feature/timeline")
    n = pr["number"]
    first_sha = pr["head"]["sha"]
    # all within one second of the sandbox clock: the order must still be the real one
    sb.api.post(f"/repos/{repo}/issues/{n}/labels", as_="qa", json={"labels": ["uat-passed"]})
    second_sha = _push(sb, repo, "feature/timeline", "second.txt", "2\n")
    comment = sb.api.post(f"/repos/{repo}/issues/{n}/comments", as_="qa", json={"body": "/uat passed"}).json()
    sb.api.delete(f"/repos/{repo}/issues/{n}/labels/uat-passed", as_="qa")
    timeline = sb.api.paginate(f"/repos/{repo}/issues/{n}/timeline")
    kinds = [
        (e["event"], e.get("sha") or (e.get("label") or {}).get("name") or e.get("id")) for e in timeline
    ]
    assert kinds == [
        ("committed", first_sha),
        ("labeled", "uat-passed"),
        ("committed", second_sha),
        ("commented", comment["id"]),
        ("unlabeled", "uat-passed"),
    ]
    labeled = timeline[1]
    assert labeled["actor"]["login"] == "qa" and labeled["created_at"]
    committed = timeline[0]
    assert committed["committer"]["date"] and committed["message"].startswith("add ")
    assert committed["parents"][0]["sha"]
    assert timeline[3]["user"]["login"] == "qa" and timeline[3]["body"] == "/uat passed"


def test_timeline_shows_force_push(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = sb.open_pull(repo, "feature/force")
    n = pr["number"]
    main = sb.api.get(f"/repos/{repo}/git/ref/heads/main").json()["object"]["sha"]
    # rewrite the branch: point it back at main, then add a different commit
    resp = sb.api.patch(
        f"/repos/{repo}/git/refs/heads/feature/force", as_="dev", json={"sha": main, "force": True}
    )
    assert resp.status_code == 200, resp.text
    new_head = _push(sb, repo, "feature/force", "other.txt", "other\n")
    timeline = sb.api.paginate(f"/repos/{repo}/issues/{n}/timeline")
    events = [e["event"] for e in timeline]
    assert "head_ref_force_pushed" in events
    forced = next(e for e in timeline if e["event"] == "head_ref_force_pushed")
    assert forced["actor"]["login"] == "dev"
    committed = [e["sha"] for e in timeline if e["event"] == "committed"]
    assert committed[-1] == new_head and pr["head"]["sha"] not in committed


def test_events_of_unknown_issue_are_404(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    assert sb.api.get(f"/repos/{repo}/issues/404/events").status_code == 404
    assert sb.api.get(f"/repos/{repo}/issues/404/timeline").status_code == 404
    assert sb.api.get(f"/repos/{repo}/issues/events/1").status_code == 404
