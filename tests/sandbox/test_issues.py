"""Issues (and pull requests through the issues API): create, get, list filters, update, webhooks."""

from __future__ import annotations

from validation import RunningSandbox


def _issue(sb: RunningSandbox, repo: str, title: str, as_: str = "dev", **fields: object) -> dict:
    resp = sb.api.post(f"/repos/{repo}/issues", as_=as_, json={"title": title, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _milestone(sb: RunningSandbox, repo: str, title: str) -> int:
    resp = sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": title})
    assert resp.status_code == 201, resp.text
    return resp.json()["number"]


def test_create_get_and_opened_webhook(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    ms = _milestone(sb, repo, "v1.0.0")
    issue = _issue(sb, repo, "Crash on start", body="steps", labels=["bug"], milestone=ms)
    assert issue["number"] == 1
    assert issue["state"] == "open"
    assert issue["user"]["login"] == "dev"
    assert [lbl["name"] for lbl in issue["labels"]] == ["bug"]
    assert issue["milestone"]["number"] == ms
    assert issue["url"] == f"{sb.api_url}/repos/{repo}/issues/1"
    assert issue["html_url"] == f"{sb.root_url}/{repo}/issues/1"
    assert "pull_request" not in issue
    got = sb.api.get(f"/repos/{repo}/issues/1").json()
    assert got["title"] == "Crash on start" and got["body"] == "steps"
    sb.recorder.wait_names("issues.opened", repo=repo)
    sb.wait_idle()
    names = sb.recorder.names(repo)
    # GitHub sends `opened` and then one `labeled` per label and `milestoned` for what came with it
    assert names.index("issues.opened") < names.index("issues.labeled")
    assert names.index("issues.opened") < names.index("issues.milestoned")
    opened = next(d for d in sb.recorder.for_repo(repo) if d.name == "issues.opened").payload
    assert opened["issue"]["number"] == 1 and opened["sender"]["login"] == "dev"
    sb.recorder.assert_all_valid(repo)


def test_numbers_are_shared_with_pull_requests(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    first = _issue(sb, repo, "one")
    pr = sb.open_pull(repo, "feature/a")
    second = _issue(sb, repo, "two")
    assert (first["number"], pr["number"], second["number"]) == (1, 2, 3)
    as_issue = sb.api.get(f"/repos/{repo}/issues/{pr['number']}").json()
    assert as_issue["pull_request"]["url"] == f"{sb.api_url}/repos/{repo}/pulls/{pr['number']}"
    assert as_issue["pull_request"]["merged_at"] is None


def test_list_filters(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    ms = _milestone(sb, repo, "v1.0.0")
    a = _issue(sb, repo, "a", labels=["bug", "ui"], milestone=ms)
    b = _issue(sb, repo, "b", as_="qa", labels=["bug"])
    c = _issue(sb, repo, "c", milestone=ms)
    pr = sb.open_pull(repo, "feature/b")
    sb.api.patch(f"/repos/{repo}/issues/{c['number']}", as_="dev", json={"state": "closed"})
    sb.api.patch(f"/repos/{repo}/issues/{pr['number']}", as_="dev", json={"milestone": ms})

    def numbers(**params: object) -> list[int]:
        resp = sb.api.get(f"/repos/{repo}/issues", params=params)
        assert resp.status_code == 200, resp.text
        return [i["number"] for i in resp.json()]

    # default: open, newest first, pull requests included
    assert numbers() == [pr["number"], b["number"], a["number"]]
    assert numbers(state="closed") == [c["number"]]
    assert numbers(state="all", direction="asc") == [a["number"], b["number"], c["number"], pr["number"]]
    assert numbers(milestone=str(ms), state="all") == [pr["number"], c["number"], a["number"]]
    assert numbers(milestone="*") == [pr["number"], a["number"]]
    assert numbers(milestone="none") == [b["number"]]
    assert numbers(labels="bug") == [b["number"], a["number"]]
    assert numbers(labels="bug,ui") == [a["number"]]
    assert numbers(creator="qa") == [b["number"]]
    # later (by the sandbox clock, which has whole seconds), a comment makes `a` the most
    # commented and the most recently updated
    assert sb.api.sandbox("POST", "/_sandbox/clock", json={"advance_seconds": 5}).status_code == 200
    sb.api.post(f"/repos/{repo}/issues/{a['number']}/comments", as_="dev", json={"body": "hi"})
    assert numbers(sort="comments")[0] == a["number"]
    assert numbers(sort="updated")[0] == a["number"]
    since = sb.api.get(f"/repos/{repo}/issues/{a['number']}").json()["updated_at"]
    assert numbers(since=since, state="all") == [a["number"]]
    assert sb.api.get(f"/repos/{repo}/issues", params={"milestone": "999"}).status_code == 404


def test_pull_request_entry_carries_merged_at(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    pr = sb.open_pull(repo, "feature/c")
    resp = sb.api.put(f"/repos/{repo}/pulls/{pr['number']}/merge", as_="dev", json={})
    assert resp.status_code == 200, resp.text
    listed = sb.api.get(f"/repos/{repo}/issues", params={"state": "closed"}).json()
    entry = next(i for i in listed if i["number"] == pr["number"])
    assert entry["pull_request"]["merged_at"]
    assert entry["state"] == "closed"
    # a merged pull request cannot be reopened
    reopen = sb.api.patch(f"/repos/{repo}/issues/{pr['number']}", as_="dev", json={"state": "open"})
    assert reopen.status_code == 422


def test_update_title_body_state_sends_edited_with_changes_closed_reopened(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    issue = _issue(sb, repo, "old title", body="old body")
    n = issue["number"]
    resp = sb.api.patch(
        f"/repos/{repo}/issues/{n}", as_="dev", json={"title": "new title", "body": "new body"}
    )
    assert resp.status_code == 200 and resp.json()["title"] == "new title"
    closed = sb.api.patch(f"/repos/{repo}/issues/{n}", as_="dev", json={"state": "closed"}).json()
    assert closed["state"] == "closed" and closed["closed_at"] and closed["state_reason"] == "completed"
    assert closed["closed_by"]["login"] == "dev"
    reopened = sb.api.patch(f"/repos/{repo}/issues/{n}", as_="dev", json={"state": "open"}).json()
    assert reopened["state"] == "open" and reopened["closed_at"] is None
    sb.recorder.wait_names("issues.opened", "issues.edited", "issues.closed", "issues.reopened", repo=repo)
    sb.wait_idle()
    assert sb.recorder.names(repo) == ["issues.opened", "issues.edited", "issues.closed", "issues.reopened"]
    edited = sb.recorder.for_repo(repo)[1].payload
    assert edited["changes"] == {"title": {"from": "old title"}, "body": {"from": "old body"}}
    sb.recorder.assert_all_valid(repo)


def test_pull_request_through_issues_api_sends_pull_request_events(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    ms = _milestone(sb, repo, "v1.0.0")
    pr = sb.open_pull(repo, "feature/d", title="PR title")
    n = pr["number"]
    sb.api.patch(f"/repos/{repo}/issues/{n}", as_="dev", json={"title": "PR title 2"})
    sb.api.patch(f"/repos/{repo}/issues/{n}", as_="triager", json={"milestone": ms})
    sb.api.post(f"/repos/{repo}/issues/{n}/labels", as_="triager", json={"labels": ["feature"]})
    sb.api.delete(f"/repos/{repo}/issues/{n}/labels/feature", as_="triager")
    sb.api.patch(f"/repos/{repo}/issues/{n}", as_="dev", json={"milestone": None})
    sb.api.patch(f"/repos/{repo}/issues/{n}", as_="dev", json={"state": "closed"})
    sb.api.patch(f"/repos/{repo}/issues/{n}", as_="dev", json={"state": "open"})
    expected = [
        "pull_request.edited",
        "pull_request.milestoned",
        "pull_request.labeled",
        "pull_request.unlabeled",
        "pull_request.demilestoned",
        "pull_request.closed",
        "pull_request.reopened",
    ]
    sb.recorder.wait_names(*expected, repo=repo)
    sb.wait_idle()
    got = [n for n in sb.recorder.names(repo) if n.startswith(("pull_request.", "issues."))]
    assert got[got.index("pull_request.opened") + 1 :] == expected
    labeled = next(d.payload for d in sb.recorder.for_repo(repo) if d.name == "pull_request.labeled")
    assert labeled["label"]["name"] == "feature" and labeled["sender"]["login"] == "triager"
    assert [lbl["name"] for lbl in labeled["pull_request"]["labels"]] == ["feature"]
    closed = next(d.payload for d in sb.recorder.for_repo(repo) if d.name == "pull_request.closed")
    assert closed["pull_request"]["merged"] is False
    pr_now = sb.api.get(f"/repos/{repo}/pulls/{n}").json()
    assert pr_now["title"] == "PR title 2" and pr_now["state"] == "open"
    sb.recorder.assert_all_valid(repo)


def test_read_user_may_open_issues_but_not_triage_them(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    ms = _milestone(sb, repo, "v1.0.0")
    # as on GitHub, labels and milestone from someone who cannot triage are dropped silently
    own = _issue(sb, repo, "from outside", as_="outsider", labels=["bug"], milestone=ms)
    assert own["labels"] == [] and own["milestone"] is None
    # an author may edit and close their own issue
    resp = sb.api.patch(
        f"/repos/{repo}/issues/{own['number']}", as_="outsider", json={"title": "better", "state": "closed"}
    )
    assert resp.status_code == 200 and resp.json()["state"] == "closed"
    other = _issue(sb, repo, "someone else's")
    for payload in ({"title": "hijack"}, {"state": "closed"}, {"milestone": ms}, {"labels": ["x"]}):
        resp = sb.api.patch(f"/repos/{repo}/issues/{other['number']}", as_="outsider", json=payload)
        assert resp.status_code == 403, (payload, resp.text)
    assert sb.api.get(f"/repos/{repo}/issues/{other['number']}").json()["title"] == "someone else's"


def test_bad_input(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    resp = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"body": "no title"})
    assert resp.status_code == 422 and resp.json()["message"] == "Validation Failed"
    resp = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": "x", "milestone": 77})
    assert resp.status_code == 422
    resp = sb.api.patch(f"/repos/{repo}/issues/1", as_="dev", json={"title": "x"})
    assert resp.status_code == 404
    resp = sb.api.get(f"/repos/{repo}/issues/abc")
    assert resp.status_code == 404
    resp = sb.api.post(f"/repos/{repo}/issues", anonymous=True, json={"title": "x"})
    assert resp.status_code == 401
    assert resp.json()["message"] == "Requires authentication"
    resp = sb.api.get("/repos/acme/does-not-exist/issues")
    assert resp.status_code == 404
