"""Pull requests over real HTTP: create/get/list/update, drafts, reviews, merge, and their webhooks."""

from __future__ import annotations

from test_git import branch_sha, commit_file, create_branch, mark, names_after, open_pr
from validation import RunningSandbox


def test_create_sends_only_opened_and_reflects_state(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "feat")
    head = commit_file(sb, repo, "feat", "f.txt", "x")
    start = mark(sb, repo)
    resp = sb.api.post(
        f"/repos/{repo}/pulls", json={"title": "Feat", "head": "feat", "base": "main", "body": "b"}
    )
    assert resp.status_code == 201, resp.text
    pr = resp.json()
    assert pr["number"] == 1 and pr["head"]["sha"] == head and pr["base"]["ref"] == "main"
    assert pr["merged"] is False and pr["commits"] == 1 and pr["changed_files"] == 1 and pr["draft"] is False
    assert pr["url"] == f"{sb.api_url}/repos/{repo}/pulls/1"
    assert names_after(sb, repo, start) == ["pull_request.opened"]
    opened = sb.recorder.for_repo(repo)[-1]
    assert opened.payload["pull_request"]["head"]["sha"] == head
    sb.recorder.assert_all_valid()
    # a PR is an issue with the same number
    issue = sb.api.get(f"/repos/{repo}/issues/1").json()
    assert issue["pull_request"]["url"] == pr["url"]
    assert sb.api.get(f"/repos/{repo}/pulls/99").status_code == 404


def test_create_validation_errors(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "empty")
    no_commits = sb.api.post(f"/repos/{repo}/pulls", json={"title": "x", "head": "empty", "base": "main"})
    assert no_commits.status_code == 422 and no_commits.json()["message"] == "Validation Failed"
    missing = sb.api.post(f"/repos/{repo}/pulls", json={"title": "x", "head": "nope", "base": "main"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "head"
    open_pr(sb, repo, "dup")
    again = sb.api.post(f"/repos/{repo}/pulls", json={"title": "y", "head": "dup", "base": "main"})
    assert again.status_code == 422 and "already exists" in again.json()["errors"][0]["message"]


def test_list_filters(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "release/1.0")
    a = open_pr(sb, repo, "a")
    b = open_pr(sb, repo, "b", base="release/1.0")
    c = open_pr(sb, repo, "c")
    sb.api.patch(f"/repos/{repo}/pulls/{c['number']}", json={"state": "closed"})
    nums = lambda **p: [x["number"] for x in sb.api.get(f"/repos/{repo}/pulls", params=p).json()]  # noqa: E731
    assert nums() == [b["number"], a["number"]]
    assert nums(state="closed") == [c["number"]]
    assert nums(state="all", direction="asc") == [a["number"], b["number"], c["number"]]
    assert nums(base="release/1.0") == [b["number"]]
    assert nums(head=f"{repo.split('/')[0]}:a") == [a["number"]]
    assert sb.api.get(f"/repos/{repo}/pulls", params={"state": "bogus"}).status_code == 422


def test_commit_to_head_branch_sends_synchronize(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = open_pr(sb, repo, "sync")
    start = mark(sb, repo)
    new = commit_file(sb, repo, "sync", "more.txt", "more")
    assert names_after(sb, repo, start) == ["push", "pull_request.synchronize"]
    sync = sb.recorder.for_repo(repo)[-1].payload
    assert sync["before"] == pr["head"]["sha"] and sync["after"] == new
    assert sync["pull_request"]["head"]["sha"] == new
    sb.recorder.assert_all_valid()
    assert sb.api.get(f"/repos/{repo}/pulls/{pr['number']}").json()["commits"] == 2
    commits = sb.api.get(f"/repos/{repo}/pulls/{pr['number']}/commits").json()
    assert [c["sha"] for c in commits][-1] == new


def test_force_push_records_head_ref_force_pushed(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = open_pr(sb, repo, "rewrite")
    main = branch_sha(sb, repo, "main")
    # rewrite the branch: new commit off main, then force the ref to it
    create_branch(sb, repo, "other", main)
    other = commit_file(sb, repo, "other", "o.txt", "o")
    resp = sb.api.patch(f"/repos/{repo}/git/refs/heads/rewrite", json={"sha": other, "force": True})
    assert resp.status_code == 200
    sb.wait_idle()
    events = sb.api.get(f"/repos/{repo}/issues/{pr['number']}/events").json()
    forced = [e for e in events if e["event"] == "head_ref_force_pushed"]
    assert forced and forced[0]["actor"]["login"] == "admin"


def test_update_title_body_base_and_state(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "release/1.4")
    pr = open_pr(sb, repo, "edit")
    n = pr["number"]
    start = mark(sb, repo)
    resp = sb.api.patch(f"/repos/{repo}/pulls/{n}", json={"title": "New", "base": "release/1.4"})
    assert resp.status_code == 200 and resp.json()["base"]["ref"] == "release/1.4"
    assert names_after(sb, repo, start) == ["pull_request.edited"]
    edited = sb.recorder.for_repo(repo)[-1].payload
    assert edited["changes"]["title"] == {"from": pr["title"]}
    assert edited["changes"]["base"]["ref"] == {"from": "main"}
    sb.api.patch(f"/repos/{repo}/pulls/{n}", json={"state": "closed"})
    sb.api.patch(f"/repos/{repo}/pulls/{n}", json={"state": "open"})
    assert names_after(sb, repo, start) == [
        "pull_request.edited",
        "pull_request.closed",
        "pull_request.reopened",
    ]
    sb.recorder.assert_all_valid()


def test_permissions_on_pull_updates(sb: RunningSandbox) -> None:
    repo = "acme/rocket"
    pr = open_pr(sb, repo, "perm-check", as_="dev")
    n = pr["number"]
    # triage may close and reopen but not retitle; read may do neither
    assert sb.api.patch(f"/repos/{repo}/pulls/{n}", as_="triager", json={"title": "x"}).status_code == 403
    assert (
        sb.api.patch(f"/repos/{repo}/pulls/{n}", as_="outsider", json={"state": "closed"}).status_code == 403
    )
    assert (
        sb.api.patch(f"/repos/{repo}/pulls/{n}", as_="triager", json={"state": "closed"}).status_code == 200
    )
    assert sb.api.patch(f"/repos/{repo}/pulls/{n}", as_="triager", json={"state": "open"}).status_code == 200
    # triage and read cannot merge
    for user in ("triager", "outsider"):
        assert sb.api.put(f"/repos/{repo}/pulls/{n}/merge", as_=user, json={}).status_code == 403


def test_drafts(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "wip")
    commit_file(sb, repo, "wip", "w.txt", "w")
    pr = sb.api.post(
        f"/repos/{repo}/pulls", json={"title": "WIP", "head": "wip", "base": "main", "draft": True}
    ).json()
    assert pr["draft"] is True
    assert sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", json={}).status_code == 405
    start = mark(sb, repo)
    sb.api.patch(f"/repos/{repo}/pulls/{pr['number']}", json={"draft": False})
    sb.api.patch(f"/repos/{repo}/pulls/{pr['number']}", json={"draft": True})
    assert names_after(sb, repo, start) == [
        "pull_request.ready_for_review",
        "pull_request.converted_to_draft",
    ]
    sb.recorder.assert_all_valid()


def test_reviews_submitted_and_dismissed(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = open_pr(sb, repo, "rev", as_="dev")
    n = pr["number"]
    own = sb.api.post(f"/repos/{repo}/pulls/{n}/reviews", as_="dev", json={"event": "APPROVE"})
    assert own.status_code == 422
    start = mark(sb, repo)
    review = sb.api.post(
        f"/repos/{repo}/pulls/{n}/reviews", as_="qa", json={"event": "APPROVE", "body": "ok"}
    )
    assert review.status_code == 200, review.text
    assert review.json()["state"] == "APPROVED" and review.json()["commit_id"] == pr["head"]["sha"]
    rid = review.json()["id"]
    dismissed = sb.api.put(
        f"/repos/{repo}/pulls/{n}/reviews/{rid}/dismissals", as_="admin", json={"message": "stale"}
    )
    assert dismissed.status_code == 200 and dismissed.json()["state"] == "DISMISSED"
    assert names_after(sb, repo, start) == ["pull_request_review.submitted", "pull_request_review.dismissed"]
    sb.recorder.assert_all_valid()
    listed = sb.api.get(f"/repos/{repo}/pulls/{n}/reviews").json()
    assert [r["state"] for r in listed] == ["DISMISSED"]


def test_merge_creates_two_parent_commit_and_sends_closed_then_push(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = open_pr(sb, repo, "land")
    base_before = branch_sha(sb, repo, "main")
    start = mark(sb, repo)
    stale = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", json={"sha": "0" * 40})
    assert stale.status_code == 409
    resp = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", json={"sha": pr["head"]["sha"]})
    assert resp.status_code == 200 and resp.json()["merged"] is True
    merge_sha = resp.json()["sha"]
    commit = sb.api.get(f"/repos/{repo}/git/commits/{merge_sha}").json()
    assert [p["sha"] for p in commit["parents"]] == [base_before, pr["head"]["sha"]]
    assert branch_sha(sb, repo, "main") == merge_sha
    assert names_after(sb, repo, start) == ["pull_request.closed", "push"]
    closed, push = sb.recorder.for_repo(repo)[start:]
    assert closed.payload["pull_request"]["merged"] is True
    assert closed.payload["pull_request"]["merge_commit_sha"] == merge_sha
    assert push.payload["after"] == merge_sha and push.payload["ref"] == "refs/heads/main"
    sb.recorder.assert_all_valid()
    got = sb.api.get(f"/repos/{repo}/pulls/{pr['number']}").json()
    assert got["merged"] is True and got["state"] == "closed" and got["merged_by"]["login"] == "admin"
    assert sb.api.get(f"/repos/{repo}/pulls/{pr['number']}/merge").status_code == 204
    assert sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", json={}).status_code == 405


def test_squash_merge_and_conflict(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = open_pr(sb, repo, "sq", path="shared.txt")
    resp = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", json={"merge_method": "squash"})
    assert resp.status_code == 200
    squashed = sb.api.get(f"/repos/{repo}/git/commits/{resp.json()['sha']}").json()
    assert len(squashed["parents"]) == 1
    # two PRs editing the same file differently: the second cannot merge
    p1 = open_pr(sb, repo, "c1", path="clash.txt")
    create_branch(sb, repo, "c2")
    commit_file(sb, repo, "c2", "clash.txt", "other\n")
    p2 = sb.api.post(f"/repos/{repo}/pulls", json={"title": "c2", "head": "c2", "base": "main"}).json()
    assert sb.api.put(f"/repos/{repo}/pulls/{p1['number']}/merge", json={}).status_code == 200
    assert sb.api.get(f"/repos/{repo}/pulls/{p2['number']}").json()["mergeable"] is False
    assert sb.api.put(f"/repos/{repo}/pulls/{p2['number']}/merge", json={}).status_code == 405


def test_deleting_head_branch_closes_pr_and_vanished_pr_is_404(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = open_pr(sb, repo, "gone")
    start = mark(sb, repo)
    sb.api.delete(f"/repos/{repo}/git/refs/heads/gone")
    assert names_after(sb, repo, start) == ["delete", "push", "pull_request.closed"]
    assert sb.api.get(f"/repos/{repo}/pulls/{pr['number']}").json()["state"] == "closed"
    resp = sb.api.sandbox("DELETE", f"/_sandbox/repos/{repo}/pulls/{pr['number']}")
    assert resp.status_code == 204
    assert sb.api.get(f"/repos/{repo}/pulls/{pr['number']}").status_code == 404


def test_pull_list_paginates_hundreds(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    # many PRs from distinct branches, created straight through the state for speed
    create_branch(sb, repo, "base-for-many")
    head = commit_file(sb, repo, "base-for-many", "m.txt", "m")
    refs = {f"refs/heads/many-{i}": head for i in range(120)}
    assert (
        sb.api.sandbox(
            "POST", f"/_sandbox/repos/{repo}/push", json={"pusher": "dev", "refs": refs}
        ).status_code
        == 200
    )
    for i in range(120):
        r = sb.api.post(
            f"/repos/{repo}/pulls",
            json={"title": f"p{i}", "head": f"many-{i}", "base": "main"},
            validate=False,
        )
        assert r.status_code == 201
    everything = sb.api.paginate(f"/repos/{repo}/pulls", per_page=50)
    assert len(everything) == 120 and len({p["number"] for p in everything}) == 120
    last = sb.api.get(f"/repos/{repo}/pulls", params={"per_page": 50, "page": 3})
    assert len(last.json()) == 20 and 'rel="prev"' in last.headers["link"]


def test_pygithub_drives_pulls_and_merge(sb: RunningSandbox) -> None:
    """PyGithub (what the bot uses) rejects URLs not built from its base_url: it must work unchanged."""
    from github import Auth, Github

    repo_name = sb.new_repo()
    gh = Github(
        base_url=sb.api_url,
        auth=Auth.Token("sandbox-token-dev"),
        retry=None,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    try:
        repo = gh.get_repo(repo_name)
        main = repo.get_branch("main")
        repo.create_git_ref("refs/heads/py", main.commit.sha)
        repo.create_file("py.txt", "add py", "py\n", branch="py")
        pr = repo.create_pull(title="From PyGithub", body="b", head="py", base="main")
        assert pr.number == 1 and pr.mergeable is True
        assert [p.number for p in repo.get_pulls(state="open", base="main")] == [1]
        assert [c.commit.message for c in pr.get_commits()] == ["add py"]
        result = pr.merge(merge_method="merge")
        assert result.merged is True
        merged = repo.get_pull(1)
        assert merged.merged and merged.merge_commit_sha == result.sha
        assert len(repo.get_commit(result.sha).parents) == 2
        cmp = repo.compare(main.commit.sha, "main")
        assert cmp.ahead_by == 2 and cmp.status == "ahead"
    finally:
        gh.close()


def test_rebase_merge_replays_commits(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    create_branch(sb, repo, "rb")
    first = commit_file(sb, repo, "rb", "r1.txt", "1")
    commit_file(sb, repo, "rb", "r2.txt", "2")
    commit_file(sb, repo, "main", "other.txt", "main moved")
    base = branch_sha(sb, repo, "main")
    pr = sb.api.post(f"/repos/{repo}/pulls", json={"title": "rb", "head": "rb", "base": "main"}).json()
    resp = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", json={"merge_method": "rebase"})
    assert resp.status_code == 200
    tip = sb.api.get(f"/repos/{repo}/git/commits/{branch_sha(sb, repo, 'main')}").json()
    parent = sb.api.get(f"/repos/{repo}/git/commits/{tip['parents'][0]['sha']}").json()
    assert len(tip["parents"]) == 1 and parent["parents"][0]["sha"] == base
    assert parent["message"] == "edit r1.txt" and parent["sha"] != first
    files = {
        c["path"]
        for c in sb.api.get(f"/repos/{repo}/contents/", params={"ref": "main"}, validate=False).json()
    }
    assert {"r1.txt", "r2.txt", "other.txt", "README.md"} <= files


def test_update_branch_and_merges_endpoint(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = open_pr(sb, repo, "upd")
    moved = commit_file(sb, repo, "main", "base.txt", "moved")
    start = mark(sb, repo)
    resp = sb.api.put(
        f"/repos/{repo}/pulls/{pr['number']}/update-branch", json={"expected_head_sha": pr["head"]["sha"]}
    )
    assert resp.status_code == 202, resp.text
    assert names_after(sb, repo, start) == ["push", "pull_request.synchronize"]
    head = sb.api.get(f"/repos/{repo}/pulls/{pr['number']}").json()["head"]["sha"]
    parents = [p["sha"] for p in sb.api.get(f"/repos/{repo}/git/commits/{head}").json()["parents"]]
    assert parents == [pr["head"]["sha"], moved]
    stale = sb.api.put(
        f"/repos/{repo}/pulls/{pr['number']}/update-branch", json={"expected_head_sha": "0" * 40}
    )
    assert stale.status_code == 422
    # POST /merges: merge a branch into another; nothing to merge answers 204
    create_branch(sb, repo, "side")
    commit_file(sb, repo, "side", "side.txt", "s")
    merged = sb.api.post(f"/repos/{repo}/merges", json={"base": "main", "head": "side"})
    assert merged.status_code == 201 and len(merged.json()["parents"]) == 2
    assert sb.api.post(f"/repos/{repo}/merges", json={"base": "main", "head": "side"}).status_code == 204
    assert sb.api.post(f"/repos/{repo}/merges", json={"base": "main", "head": "nope"}).status_code == 404
