"""Milestones: CRUD with GitHub's semantics, live counters, and the `milestone` webhooks."""

from __future__ import annotations

from validation import RunningSandbox


def _create(sb: RunningSandbox, repo: str, title: str, as_: str = "dev", **fields: object) -> dict:
    resp = sb.api.post(f"/repos/{repo}/milestones", as_=as_, json={"title": title, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_create_returns_milestone_with_due_on_at_midnight_pacific(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    m = _create(sb, repo, "v1.4.0", description="scope", due_on="2026-12-01T12:00:00Z")
    assert m["number"] == 1
    assert m["title"] == "v1.4.0"
    assert m["description"] == "scope"
    assert m["state"] == "open"
    assert m["due_on"] == "2026-12-01T08:00:00Z"
    assert m["open_issues"] == 0 and m["closed_issues"] == 0
    assert m["creator"]["login"] == "dev"
    assert m["url"] == f"{sb.api_url}/repos/{repo}/milestones/1"
    assert m["html_url"] == f"{sb.root_url}/{repo}/milestone/1"
    # the (Pacific) date is what counts, not the hour sent: 23:30Z is still the 15th in California,
    # midnight UTC is the evening before there, and summer dates come back at 07:00Z
    m2 = _create(sb, repo, "v1.5.0", due_on="2027-01-15T23:30:00Z")
    assert m2["due_on"] == "2027-01-15T08:00:00Z"
    assert m2["number"] == 2
    assert _create(sb, repo, "v1.6.0", due_on="2027-02-01T00:00:00Z")["due_on"] == "2027-01-31T08:00:00Z"
    assert _create(sb, repo, "v1.7.0", due_on="2027-06-01")["due_on"] == "2027-06-01T07:00:00Z"
    got = sb.api.get(f"/repos/{repo}/milestones/1").json()
    assert got["due_on"] == "2026-12-01T08:00:00Z"


def test_webhooks_created_edited_closed_opened_deleted(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    m = _create(sb, repo, "v2.0.0")
    n = m["number"]
    resp = sb.api.patch(
        f"/repos/{repo}/milestones/{n}", as_="dev", json={"title": "v2.0.1", "due_on": "2026-10-02T00:00:00Z"}
    )
    assert resp.status_code == 200 and resp.json()["title"] == "v2.0.1"
    resp = sb.api.patch(f"/repos/{repo}/milestones/{n}", as_="dev", json={"state": "closed"})
    assert resp.json()["state"] == "closed" and resp.json()["closed_at"]
    resp = sb.api.patch(f"/repos/{repo}/milestones/{n}", as_="dev", json={"state": "open"})
    assert resp.json()["state"] == "open" and resp.json()["closed_at"] is None
    assert sb.api.delete(f"/repos/{repo}/milestones/{n}", as_="dev").status_code == 204
    assert sb.api.get(f"/repos/{repo}/milestones/{n}").status_code == 404

    names = [
        "milestone.created",
        "milestone.edited",
        "milestone.closed",
        "milestone.opened",
        "milestone.deleted",
    ]
    sb.recorder.wait_names(*names, repo=repo)
    sb.wait_idle()
    got = sb.recorder.for_repo(repo)
    assert [d.name for d in got] == names
    edited = got[1].payload
    assert edited["changes"]["title"] == {"from": "v2.0.0"}
    assert "due_on" in edited["changes"]
    assert edited["sender"]["login"] == "dev"
    assert edited["installation"]["id"] == 1
    assert got[4].payload["milestone"]["number"] == n
    for d in got:
        assert d.signature_ok
    sb.recorder.assert_all_valid(repo)


def test_counters_follow_issue_state(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    m = _create(sb, repo, "v3.0.0")
    numbers = []
    for i in range(3):
        resp = sb.api.post(
            f"/repos/{repo}/issues", as_="dev", json={"title": f"i{i}", "milestone": m["number"]}
        )
        assert resp.status_code == 201, resp.text
        assert resp.json()["milestone"]["number"] == m["number"]
        numbers.append(resp.json()["number"])
    sb.api.patch(f"/repos/{repo}/issues/{numbers[0]}", as_="dev", json={"state": "closed"})
    got = sb.api.get(f"/repos/{repo}/milestones/{m['number']}").json()
    assert (got["open_issues"], got["closed_issues"]) == (2, 1)
    # moving an issue out of the milestone updates it too
    sb.api.patch(f"/repos/{repo}/issues/{numbers[1]}", as_="dev", json={"milestone": None})
    got = sb.api.get(f"/repos/{repo}/milestones/{m['number']}").json()
    assert (got["open_issues"], got["closed_issues"]) == (1, 1)
    # and the issue's embedded milestone carries the same live counters
    issue = sb.api.get(f"/repos/{repo}/issues/{numbers[2]}").json()
    assert (issue["milestone"]["open_issues"], issue["milestone"]["closed_issues"]) == (1, 1)


def test_deleting_a_milestone_clears_it_from_issues(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    m = _create(sb, repo, "v4.0.0")
    issue = sb.api.post(
        f"/repos/{repo}/issues", as_="dev", json={"title": "x", "milestone": m["number"]}
    ).json()
    assert sb.api.delete(f"/repos/{repo}/milestones/{m['number']}", as_="dev").status_code == 204
    assert sb.api.get(f"/repos/{repo}/issues/{issue['number']}").json()["milestone"] is None


def test_list_filters_sort_and_direction(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    a = _create(sb, repo, "v1.0.0", due_on="2026-05-01T00:00:00Z")
    b = _create(sb, repo, "v1.1.0", due_on="2026-03-01T00:00:00Z")
    c = _create(sb, repo, "v0.9.0", due_on="2026-01-01T00:00:00Z")
    sb.api.patch(f"/repos/{repo}/milestones/{c['number']}", as_="dev", json={"state": "closed"})

    def titles(**params: object) -> list[str]:
        resp = sb.api.get(f"/repos/{repo}/milestones", params=params)
        assert resp.status_code == 200
        return [m["title"] for m in resp.json()]

    assert titles() == ["v1.1.0", "v1.0.0"]  # open, due_on ascending by default
    assert titles(state="closed") == ["v0.9.0"]
    assert titles(state="all") == ["v0.9.0", "v1.1.0", "v1.0.0"]
    assert titles(state="all", direction="desc") == ["v1.0.0", "v1.1.0", "v0.9.0"]
    assert titles(state="all", sort="completeness") != []
    assert a["number"] < b["number"]


def test_permissions_write_manages_milestones_triage_and_read_do_not(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    for who in ("triager", "outsider"):
        resp = sb.api.post(f"/repos/{repo}/milestones", as_=who, json={"title": "v9.9.9"})
        assert resp.status_code == 403, (who, resp.text)
        assert resp.json()["message"]
    m = _create(sb, repo, "v5.0.0", as_="qa")
    for who in ("triager", "outsider"):
        resp = sb.api.patch(f"/repos/{repo}/milestones/{m['number']}", as_=who, json={"state": "closed"})
        assert resp.status_code == 403
        assert sb.api.delete(f"/repos/{repo}/milestones/{m['number']}", as_=who).status_code == 403
    # everyone who can read can list
    assert sb.api.get(f"/repos/{repo}/milestones", as_="outsider").status_code == 200
    assert sb.api.get(f"/repos/{repo}/milestones", anonymous=True).status_code == 200


def test_bad_input_gets_githubs_422_and_404(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    _create(sb, repo, "v6.0.0")
    dup = sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "v6.0.0"})
    assert dup.status_code == 422
    assert dup.json()["message"] == "Validation Failed"
    assert dup.json()["errors"][0]["code"] == "already_exists"
    missing = sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"description": "no title"})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["code"] == "missing_field"
    bad_state = sb.api.patch(f"/repos/{repo}/milestones/1", as_="dev", json={"state": "done"})
    assert bad_state.status_code == 422
    bad_date = sb.api.post(f"/repos/{repo}/milestones", as_="dev", json={"title": "x", "due_on": "soon"})
    assert bad_date.status_code == 422
    nf = sb.api.get(f"/repos/{repo}/milestones/999")
    assert nf.status_code == 404 and nf.json()["message"] == "Not Found"
    assert "documentation_url" in nf.json()
