"""PyGithub — the bot's client — pointed at the sandbox with ``base_url``: repository, milestones,
issues, labels, comments, events, pull requests, check runs through the App's installation, and
pagination. PyGithub refuses URLs not built from its base, so this also checks every URL we return."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from github import Auth, Github, GithubException, GithubIntegration
from validation import RunningSandbox

# PyGithub throttles itself by default (0.25 s per request, 1 s per write); the sandbox needs none.
FAST = {"seconds_between_requests": None, "seconds_between_writes": None, "retry": None, "per_page": 100}


@pytest.fixture(scope="module")
def gh(sb: RunningSandbox) -> Iterator[Github]:
    client = Github(base_url=sb.api_url, auth=Auth.Token("sandbox-token-dev"), **FAST)
    yield client
    client.close()


@pytest.fixture(scope="module")
def integration(sb: RunningSandbox) -> Iterator[GithubIntegration]:
    gi = GithubIntegration(auth=Auth.AppAuth(1, sb.app_key_path.read_text()), base_url=sb.api_url, **FAST)
    yield gi
    gi.close()


def test_repository_and_app(gh: Github, integration: GithubIntegration) -> None:
    repo = gh.get_repo("acme/rocket")
    assert repo.default_branch == "main" and repo.full_name == "acme/rocket"
    assert repo.get_branch("main").commit.sha
    app = integration.get_app()
    assert app.slug == "release-bot"
    assert [i.id for i in integration.get_installations()][:1] == [1]
    assert integration.get_repo_installation("acme", "rocket").id == 1


def test_milestones_issues_labels_comments_events(sb: RunningSandbox, gh: Github) -> None:
    repo = gh.get_repo(sb.new_repo(prefix="pyg"))
    # PyGithub sends a date as midnight UTC, which is still the previous day in California: GitHub
    # keeps that Pacific date. Noon UTC names the same day everywhere GitHub looks.
    ms = repo.create_milestone("v1.4.0", description="scope", due_on=datetime(2026, 12, 1, 12, tzinfo=UTC))
    assert ms.number == 1 and ms.due_on.date() == date(2026, 12, 1)
    issue = repo.create_issue("Crash", body="steps", milestone=ms, labels=["bug"])
    assert issue.milestone.title == "v1.4.0" and [lbl.name for lbl in issue.labels] == ["bug"]
    repo.create_label("uat-passed", "0e8a16", "QA accepted")
    issue.add_to_labels("uat-passed")
    issue.remove_from_labels("bug")
    assert [lbl.name for lbl in repo.get_issue(issue.number).labels] == ["uat-passed"]
    issue.set_labels("release-approved")
    assert [lbl.name for lbl in issue.get_labels()] == ["release-approved"]
    comment = issue.create_comment("/approve")
    comment.edit("/approve please")
    comment.create_reaction("eyes")
    assert [c.body for c in issue.get_comments()] == ["/approve please"]
    assert [r.content for r in comment.get_reactions()] == ["eyes"]
    events = [(e.event, e.actor.login) for e in issue.get_events()]
    assert ("labeled", "dev") in events and ("milestoned", "dev") in events
    assert [e.event for e in issue.get_timeline()][-1] == "commented"
    issue.edit(state="closed")
    assert repo.get_milestone(ms.number).closed_issues == 1
    ms.edit("v1.4.0", state="closed")
    assert [m.title for m in repo.get_milestones(state="closed")] == ["v1.4.0"]
    assert repo.get_collaborator_permission("triager") == "read"
    assert repo.get_collaborator_role_name("triager") == "triage"


def test_pull_requests_and_check_runs_through_the_installation(
    sb: RunningSandbox, gh: Github, integration: GithubIntegration
) -> None:
    full = sb.new_repo(prefix="pyg")
    repo = gh.get_repo(full)
    main = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/release/1.4", main)
    repo.create_file("notes.md", "add notes", "hello\n", branch="release/1.4")
    pr = repo.create_pull(title="Notes", body="", head="release/1.4", base="main")
    assert pr.head.ref == "release/1.4" and pr.as_issue().pull_request is not None
    assert [p.number for p in repo.get_pulls(state="open", base="main")] == [pr.number]
    bot = integration.get_github_for_installation(1)  # inherits the integration's (unthrottled) settings
    bot_repo = bot.get_repo(full)
    run = bot_repo.create_check_run("release-bot/gate", pr.head.sha, status="completed", conclusion="success",
                                    output={"title": "ok", "summary": "UAT passed"})
    assert run.app.id == 1
    runs = repo.get_commit(pr.head.sha).get_check_runs()
    assert [(r.name, r.conclusion) for r in runs] == [("release-bot/gate", "success")]
    # a user token may not write check runs
    with pytest.raises(GithubException) as refused:
        repo.create_check_run("release-bot/gate", pr.head.sha)
    assert refused.value.status == 403
    result = pr.merge(merge_method="merge")
    assert result.merged
    merged = repo.get_pull(pr.number)
    assert merged.merged and len(repo.get_commit(merged.merge_commit_sha).parents) == 2
    assert repo.get_issue(pr.number).pull_request.merged_at is not None


def test_pagination_through_pygithub(sb: RunningSandbox) -> None:
    full = sb.new_repo(prefix="pyg")
    for i in range(130):
        sb.api.post(f"/repos/{full}/issues", as_="dev", json={"title": f"i{i}"}, validate=False)
    small = Github(base_url=sb.api_url, auth=Auth.Token("sandbox-token-dev"), **{**FAST, "per_page": 50})
    try:
        titles = [i.title for i in small.get_repo(full).get_issues(state="open", direction="asc")]
    finally:
        small.close()
    assert titles == [f"i{i}" for i in range(130)]
