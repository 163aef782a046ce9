"""Repository labels and labels on issues: CRUD, add/remove/replace, unknown labels, webhooks."""

from __future__ import annotations

from validation import RunningSandbox


def _issue(sb: RunningSandbox, repo: str, title: str = "t") -> int:
    resp = sb.api.post(f"/repos/{repo}/issues", as_="dev", json={"title": title})
    assert resp.status_code == 201, resp.text
    return resp.json()["number"]


def test_repository_labels_crud_and_label_webhooks(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    resp = sb.api.post(
        f"/repos/{repo}/labels",
        as_="dev",
        json={"name": "uat-passed", "color": "0e8a16", "description": "QA ok"},
    )
    assert resp.status_code == 201, resp.text
    label = resp.json()
    assert label["name"] == "uat-passed" and label["color"] == "0e8a16" and label["description"] == "QA ok"
    assert label["url"] == f"{sb.api_url}/repos/{repo}/labels/uat-passed"
    # names are case-insensitive for lookups, as on GitHub
    assert sb.api.get(f"/repos/{repo}/labels/UAT-PASSED").json()["id"] == label["id"]
    resp = sb.api.patch(
        f"/repos/{repo}/labels/uat-passed", as_="dev", json={"new_name": "uat passed", "color": "ff0000"}
    )
    assert resp.status_code == 200 and resp.json()["name"] == "uat passed"
    assert sb.api.get(f"/repos/{repo}/labels/uat%20passed").status_code == 200
    assert sb.api.get(f"/repos/{repo}/labels/uat-passed").status_code == 404
    assert sb.api.delete(f"/repos/{repo}/labels/uat%20passed", as_="dev").status_code == 204
    assert sb.api.get(f"/repos/{repo}/labels/uat%20passed").status_code == 404
    sb.recorder.wait_names("label.created", "label.edited", "label.deleted", repo=repo)
    sb.wait_idle()
    got = [d for d in sb.recorder.for_repo(repo) if d.event == "label"]
    assert [d.name for d in got] == ["label.created", "label.edited", "label.deleted"]
    assert got[1].payload["changes"]["name"] == {"from": "uat-passed"}
    assert got[1].payload["changes"]["color"] == {"from": "0e8a16"}
    sb.recorder.assert_all_valid(repo)


def test_label_bad_input(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    assert (
        sb.api.post(f"/repos/{repo}/labels", as_="dev", json={"name": "x", "color": "ffffff"}).status_code
        == 201
    )
    dup = sb.api.post(f"/repos/{repo}/labels", as_="dev", json={"name": "X", "color": "ffffff"})
    assert dup.status_code == 422 and dup.json()["errors"][0]["code"] == "already_exists"
    bad = sb.api.post(f"/repos/{repo}/labels", as_="dev", json={"name": "y", "color": "nothex"})
    assert bad.status_code == 422
    assert sb.api.post(f"/repos/{repo}/labels", as_="dev", json={"color": "ffffff"}).status_code == 422
    # read may not manage the repository's labels
    assert sb.api.post(f"/repos/{repo}/labels", as_="outsider", json={"name": "z"}).status_code == 403


def test_add_remove_replace_on_an_issue(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    # "bug" is one of the default labels of a new repository, as on GitHub
    assert sb.api.get(f"/repos/{repo}/labels/bug").json()["default"] is True
    n = _issue(sb, repo)
    resp = sb.api.post(
        f"/repos/{repo}/issues/{n}/labels", as_="triager", json={"labels": ["bug", "brand-new"]}
    )
    assert resp.status_code == 200, resp.text
    assert sorted(lbl["name"] for lbl in resp.json()) == ["brand-new", "bug"]
    # an unknown label is created in the repository (as GitHub does)
    created = sb.api.get(f"/repos/{repo}/labels/brand-new")
    assert created.status_code == 200 and created.json()["color"]
    # adding a label twice changes nothing
    again = sb.api.post(f"/repos/{repo}/issues/{n}/labels", as_="triager", json={"labels": ["bug"]})
    assert sorted(lbl["name"] for lbl in again.json()) == ["brand-new", "bug"]
    # GitHub also accepts a bare list
    bare = sb.api.post(f"/repos/{repo}/issues/{n}/labels", as_="triager", json=["third"])
    assert "third" in [lbl["name"] for lbl in bare.json()]
    listed = sb.api.get(f"/repos/{repo}/issues/{n}/labels").json()
    assert sorted(lbl["name"] for lbl in listed) == ["brand-new", "bug", "third"]
    removed = sb.api.delete(f"/repos/{repo}/issues/{n}/labels/bug", as_="triager")
    assert removed.status_code == 200 and sorted(lbl["name"] for lbl in removed.json()) == [
        "brand-new",
        "third",
    ]
    missing = sb.api.delete(f"/repos/{repo}/issues/{n}/labels/bug", as_="triager")
    assert missing.status_code == 404 and missing.json()["message"] == "Label does not exist"
    replaced = sb.api.put(
        f"/repos/{repo}/issues/{n}/labels", as_="triager", json={"labels": ["third", "bug"]}
    )
    assert replaced.status_code == 200 and sorted(lbl["name"] for lbl in replaced.json()) == ["bug", "third"]
    assert sb.api.delete(f"/repos/{repo}/issues/{n}/labels", as_="triager").status_code == 204
    assert sb.api.get(f"/repos/{repo}/issues/{n}").json()["labels"] == []

    sb.wait_idle()
    issue_events = [d for d in sb.recorder.for_repo(repo) if d.event == "issues"]
    labeled = [
        (d.action, d.payload["label"]["name"]) for d in issue_events if d.action in ("labeled", "unlabeled")
    ]
    assert labeled == [
        ("labeled", "bug"),
        ("labeled", "brand-new"),
        ("labeled", "third"),
        ("unlabeled", "bug"),
        ("unlabeled", "brand-new"),  # replace: removed ones go, added ones come
        ("labeled", "bug"),
        ("unlabeled", "third"),  # removing all: in the order they were applied
        ("unlabeled", "bug"),
    ]
    assert all(d.payload["sender"]["login"] == "triager" for d in issue_events if d.action != "opened")
    # the unknown label was announced as created before it was applied
    names = sb.recorder.names(repo)
    assert names.count("label.created") == 2  # brand-new, third ("bug" is one of GitHub's default labels)
    sb.recorder.assert_all_valid(repo)


def test_deleting_a_repository_label_removes_it_from_issues(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    n = _issue(sb, repo)
    sb.api.post(f"/repos/{repo}/issues/{n}/labels", as_="dev", json={"labels": ["temp"]})
    assert sb.api.delete(f"/repos/{repo}/labels/temp", as_="dev").status_code == 204
    assert sb.api.get(f"/repos/{repo}/issues/{n}").json()["labels"] == []


def test_list_repository_labels_paginates(sb: RunningSandbox) -> None:
    repo = sb.new_repo()
    before = len(sb.api.paginate(f"/repos/{repo}/labels"))
    for i in range(35):
        assert sb.api.post(f"/repos/{repo}/labels", as_="dev", json={"name": f"l{i:02d}"}).status_code == 201
    first = sb.api.get(f"/repos/{repo}/labels")
    assert len(first.json()) == 30 and "next" in first.links
    assert len(sb.api.paginate(f"/repos/{repo}/labels", per_page=10)) == before + 35


def test_concurrent_labelling_is_consistent(sb: RunningSandbox) -> None:
    """Eight clients label one issue at once: every label lands once, with one event and one webhook each."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    repo = sb.new_repo()
    n = _issue(sb, repo)

    def label(i: int) -> int:
        with httpx.Client(
            base_url=sb.api_url, headers={"Authorization": "token sandbox-token-triager"}
        ) as http:
            codes = [
                http.post(
                    f"/repos/{repo}/issues/{n}/labels", json={"labels": [f"c{i}-{k}", "shared"]}
                ).status_code
                for k in range(5)
            ]
        return max(codes)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(label, range(8))) == {200}
    names = sorted(
        lbl["name"] for lbl in sb.api.get(f"/repos/{repo}/issues/{n}/labels", params={"per_page": 100}).json()
    )
    assert names == sorted([f"c{i}-{k}" for i in range(8) for k in range(5)] + ["shared"])
    events = sb.api.paginate(f"/repos/{repo}/issues/{n}/events")
    assert len(events) == 41 and len({e["label"]["name"] for e in events}) == 41
    sb.wait_idle()
    assert sb.recorder.names(repo).count("issues.labeled") == 41
    assert sb.recorder.names(repo).count("label.created") == 41


def test_labels_read_a_curl_style_body_like_every_endpoint(sb: RunningSandbox) -> None:
    """``curl -d '{"labels": [...]}'`` sends application/x-www-form-urlencoded; GitHub reads the body as
    JSON anyway, and so does every sandbox endpoint (labels once read ``request.data``: 422)."""
    import httpx

    repo = sb.new_repo()
    n = _issue(sb, repo)
    curl_headers = {
        "Authorization": "token sandbox-token-triager",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    url = f"{sb.api_url}/repos/{repo}/issues/{n}/labels"
    added = httpx.post(url, content=b'{"labels":["feature"]}', headers=curl_headers)
    assert added.status_code == 200, added.text
    assert [lbl["name"] for lbl in added.json()] == ["feature"]
    replaced = httpx.put(url, content=b'["bug"]', headers=curl_headers)
    assert replaced.status_code == 200 and [lbl["name"] for lbl in replaced.json()] == ["bug"]
    empty = httpx.post(url, content=b"", headers=curl_headers)
    assert empty.status_code == 422 and empty.json()["errors"][0]["code"] == "missing_field"
    assert httpx.post(url, content=b"labels=feature", headers=curl_headers).status_code == 400


def test_no_sandbox_endpoint_reads_the_body_its_own_way() -> None:
    """One body reader (``bot.sandbox.http.json_value``/``json_body``); the OAuth token exchange is a
    form endpoint of the web side, as on GitHub."""
    from pathlib import Path

    import bot.sandbox

    root = Path(bot.sandbox.__file__).parent
    offenders = [
        str(path.relative_to(root))
        for path in sorted(root.rglob("*.py"))
        if path.name not in {"http.py", "oauth.py"}
        and any(token in path.read_text() for token in ("request.data", "get_json(", "request.get_data("))
    ]
    assert offenders == []
