"""Pull requests: create, get, list, update (title, body, base, state, draft), commits, files,
reviews (submit, list, dismiss) and merge with protection and rulesets enforced."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from bot.sandbox import gitobjects
from bot.sandbox import serializers_git as gshapes
from bot.sandbox import serializers_pulls as pshapes
from bot.sandbox.http import (
    ApiError,
    actor,
    actor_login,
    actor_role,
    created,
    found,
    get_repo,
    json_body,
    list_in_repo,
    no_content,
    not_found,
    paginate,
    read_in_repo,
    respond,
    state,
)
from bot.sandbox.merging import MERGE_METHODS, MergeConflict, merge_pull
from bot.sandbox.rules import merge_refusal
from bot.sandbox.state import Issue, IssueEvent, PullPart, Repo, Review, SandboxState, role_at_least
from bot.sandbox.webhooks import emit

bp = Blueprint("sandbox_pulls", __name__)


def get_pull(repo: Repo, number: int) -> Issue:
    it = repo.issues.get(number)
    if it is None or it.pull is None or it.deleted:
        not_found()
    return it


def pull_parts(repo: Repo, number: int) -> tuple[Issue, PullPart]:
    """The pull request ``number`` (404 if none) and its pull part, for handlers that use both."""
    it = get_pull(repo, number)
    assert it.pull is not None
    return it, it.pull


def _pr_validation(field: str, code: str = "invalid", message: str | None = None) -> ApiError:
    err: dict[str, Any] = {"resource": "PullRequest", "field": field, "code": code}
    if message:
        err = {"resource": "PullRequest", "code": "custom", "message": message}
    return ApiError(422, "Validation Failed", errors=[err])


def _branch_name(repo: Repo, value: str) -> str:
    # "owner:branch" names a branch of owner's fork; the sandbox has no forks, so only this owner counts.
    if ":" in value:
        owner, _, branch = value.partition(":")
        if owner.lower() != repo.owner.lower():
            raise _pr_validation("head")
        return branch
    return value


def _pr_webhook(st: SandboxState, repo: Repo, it: Issue, action: str, **extra: Any) -> None:
    emit(
        "pull_request",
        action,
        lambda: {
            "number": it.number,
            **extra,
            "pull_request": pshapes.pull_request(st, repo, it, webhook=True),
        },
        repo,
    )


# --------------------------------------------------------------------------- create, get, list


@bp.post("/repos/<owner>/<name>/pulls")
def create_pull(owner: str, name: str) -> Response:
    body = json_body()
    title, head, base = body.get("title"), body.get("head"), body.get("base")
    if not isinstance(head, str) or not head:
        raise _pr_validation("head", "missing_field")
    if not isinstance(base, str) or not base:
        raise _pr_validation("base", "missing_field")
    if not isinstance(title, str) or not title.strip():
        raise _pr_validation("title", "missing_field")
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "read", app_permission="pull_requests")
        if actor().kind == "anonymous":
            raise ApiError(401, "Requires authentication")
        head_branch = _branch_name(repo, head)
        head_sha = repo.branch_sha(head_branch)
        if head_sha is None:
            raise _pr_validation("head")
        base_sha = repo.branch_sha(base)
        if base_sha is None:
            raise _pr_validation("base")
        if not gitobjects.commits_between(repo, base_sha, head_sha):
            raise _pr_validation("", message=f"No commits between {base} and {head_branch}")
        for other in repo.open_pull_requests():
            assert other.pull is not None
            if other.pull.head_ref == head_branch and other.pull.base_ref == base:
                raise _pr_validation(
                    "", message=f"A pull request already exists for {repo.owner}:{head_branch}."
                )
        now = st.now()
        number = repo.next_number
        repo.next_number += 1
        it = Issue(
            id=st.next_id("issue"),
            number=number,
            title=title,
            user=actor_login(),
            created_at=now,
            updated_at=now,
            body=body.get("body"),
        )
        it.pull = PullPart(
            id=st.next_id("pull"),
            head_ref=head_branch,
            head_sha=head_sha,
            base_ref=base,
            base_sha=base_sha,
            draft=bool(body.get("draft", False)),
            maintainer_can_modify=bool(body.get("maintainer_can_modify", False)),
        )
        repo.issues[number] = it
        _pr_webhook(st, repo, it, "opened")
        out = pshapes.pull_request(st, repo, it)
    return created(out)


@bp.get("/repos/<owner>/<name>/pulls/<int:number>")
def get_pull_request(owner: str, name: str, number: int) -> Response:
    return read_in_repo(owner, name, lambda st, repo: pshapes.pull_request(st, repo, get_pull(repo, number)))


@bp.get("/repos/<owner>/<name>/pulls")
def list_pulls(owner: str, name: str) -> Response:
    wanted = request.args.get("state", "open")
    if wanted not in ("open", "closed", "all"):
        raise ApiError(
            422,
            "Validation Failed",
            errors=[{"resource": "PullRequest", "field": "state", "code": "invalid"}],
        )
    sort = request.args.get("sort", "created")
    direction = request.args.get("direction", "desc" if sort == "created" else "desc")
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        base = request.args.get("base")
        head = request.args.get("head")
        rows = []
        for it in repo.pull_requests():
            assert it.pull is not None
            if wanted != "all" and it.state != wanted:
                continue
            if base and it.pull.base_ref != base:
                continue
            if head:
                h_owner, _, h_branch = head.partition(":")
                if not h_branch:
                    h_owner, h_branch = repo.owner, head
                if h_owner.lower() != repo.owner.lower() or it.pull.head_ref != h_branch:
                    continue
            rows.append(it)
        key = {
            "created": lambda i: (i.created_at, i.number),
            "updated": lambda i: (i.updated_at, i.number),
            "popularity": lambda i: (0, i.number),
            "long-running": lambda i: (i.created_at, i.number),
        }.get(sort)
        if key is None:
            raise ApiError(
                422,
                "Validation Failed",
                errors=[{"resource": "PullRequest", "field": "sort", "code": "invalid"}],
            )
        rows.sort(key=key, reverse=direction != "asc")
        shaped = [pshapes.pull_request(st, repo, it, simple=True) for it in rows]
    return paginate(shaped)


@bp.get("/repos/<owner>/<name>/commits/<sha>/pulls")
def commit_pulls(owner: str, name: str, sha: str) -> Response:
    """GitHub's "list pull requests associated with a commit": for a commit on the default branch,
    the merged pull request(s) that brought it there; otherwise the open pull requests whose
    commits include it."""
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        full = gitobjects.resolve(repo, sha)
        if full is None or full not in repo.commits:
            raise ApiError(422, f"No commit found for SHA: {sha}")
        default_tip = repo.branch_sha(repo.default_branch)
        on_default = default_tip is not None and (
            full == default_tip or gitobjects.is_ancestor(repo, full, default_tip)
        )
        rows = []
        for it in repo.pull_requests() if on_default else repo.open_pull_requests():
            assert it.pull is not None
            if on_default:
                if it.pull.merged and (it.pull.merge_commit_sha == full or it.pull.head_sha == full):
                    rows.append(it)
            elif it.state == "open" and (
                it.pull.head_sha == full or gitobjects.is_ancestor(repo, full, it.pull.head_sha)
            ):
                rows.append(it)
        rows.sort(key=lambda i: i.number, reverse=True)
        shaped = [pshapes.pull_request(st, repo, it, simple=True) for it in rows]
    return paginate(shaped)


# --------------------------------------------------------------------------- update


@bp.patch("/repos/<owner>/<name>/pulls/<int:number>")
def update_pull(owner: str, name: str, number: int) -> Response:
    body = json_body()
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "read", app_permission="pull_requests")
        it, pr = pull_parts(repo, number)
        a = actor()
        if a.kind == "anonymous":
            raise ApiError(401, "Requires authentication")
        role = actor_role(repo)
        is_author = a.kind == "user" and (a.login or "").lower() == it.user.lower()
        if not (is_author or role_at_least(role, "write")):
            # triage may open and close, nothing else
            if set(body) - {"state"} or not role_at_least(role, "triage"):
                raise ApiError(403, "Resource not accessible by personal access token")
        changes: dict[str, Any] = {}
        if "title" in body:
            if not isinstance(body["title"], str) or not body["title"].strip():
                raise _pr_validation("title", "missing_field")
            if body["title"] != it.title:
                changes["title"] = {"from": it.title}
                it.title = body["title"]
        if "body" in body and body["body"] != it.body:
            changes["body"] = {"from": it.body or ""}
            it.body = body["body"]
        if "base" in body and body["base"] != pr.base_ref:
            new_base = body["base"]
            if it.state != "open":
                raise _pr_validation(
                    "base", message="Cannot change the base branch of a closed pull request."
                )
            new_sha = repo.branch_sha(new_base) if isinstance(new_base, str) else None
            if new_sha is None:
                raise _pr_validation("base", message=f"Proposed base branch '{new_base}' was not found")
            changes["base"] = {
                "ref": {"from": pr.base_ref},
                "sha": {"from": repo.branch_sha(pr.base_ref) or pr.base_sha},
            }
            old_base = pr.base_ref
            pr.base_ref, pr.base_sha = new_base, new_sha
            repo.events.append(
                IssueEvent(
                    id=st.next_id("event"),
                    issue_number=number,
                    event="base_ref_changed",
                    actor=actor_login(),
                    created_at=st.now(),
                    data={"from": old_base, "to": new_base},
                )
            )
        if "maintainer_can_modify" in body:
            pr.maintainer_can_modify = bool(body["maintainer_can_modify"])
        draft_action = None
        if "draft" in body and bool(body["draft"]) != pr.draft:
            # Not in GitHub's REST API (GraphQL has it); the sandbox accepts it to drive draft events.
            pr.draft = bool(body["draft"])
            draft_action = "converted_to_draft" if pr.draft else "ready_for_review"
            repo.events.append(
                IssueEvent(
                    id=st.next_id("event"),
                    issue_number=number,
                    event=draft_action,
                    actor=actor_login(),
                    created_at=st.now(),
                )
            )
        state_action = None
        if "state" in body and body["state"] != it.state:
            if body["state"] not in ("open", "closed"):
                raise _pr_validation("state")
            if body["state"] == "open":
                if pr.merged:
                    raise _pr_validation("state", message="Cannot reopen a merged pull request.")
                if repo.branch_sha(pr.head_ref) is None:
                    raise _pr_validation("state", message="Cannot reopen: the head branch was deleted.")
                it.state, it.closed_at, it.closed_by = "open", None, None
                state_action = "reopened"
            else:
                now = st.now()
                it.state, it.closed_at, it.closed_by = "closed", now, actor_login()
                pr.base_sha = repo.branch_sha(pr.base_ref) or pr.base_sha
                state_action = "closed"
            repo.events.append(
                IssueEvent(
                    id=st.next_id("event"),
                    issue_number=number,
                    event=state_action,
                    actor=actor_login(),
                    created_at=st.now(),
                )
            )
        if changes or state_action or draft_action:
            it.updated_at = st.now()
        if changes:
            _pr_webhook(st, repo, it, "edited", changes=changes)
        if draft_action:
            _pr_webhook(st, repo, it, draft_action)
        if state_action:
            _pr_webhook(st, repo, it, state_action)
        out = pshapes.pull_request(st, repo, it)
    return respond(out)


# --------------------------------------------------------------------------- commits and files


@bp.get("/repos/<owner>/<name>/pulls/<int:number>/commits")
def pull_commits(owner: str, name: str, number: int) -> Response:
    return list_in_repo(
        owner,
        name,
        lambda st, repo: [
            gshapes.commit(st, repo, repo.commits[s])
            for s in pshapes.pr_commits(repo, get_pull(repo, number))[:250]
        ],
    )


@bp.get("/repos/<owner>/<name>/pulls/<int:number>/files")
def pull_files(owner: str, name: str, number: int) -> Response:
    def build(st: SandboxState, repo: Repo) -> list[dict[str, Any]]:
        it, pr = pull_parts(repo, number)
        base = pshapes.base_sha(repo, it)
        mb = gitobjects.merge_base(repo, base, pr.head_sha) or base
        rows = gshapes.diff_entries(repo, pr.head_sha, repo.commits[mb].tree, repo.commits[pr.head_sha].tree)
        return [{**row, "patch": ""} for row in rows]

    return list_in_repo(owner, name, build)


# --------------------------------------------------------------------------- reviews


@bp.post("/repos/<owner>/<name>/pulls/<int:number>/reviews")
def create_review(owner: str, name: str, number: int) -> Response:
    body = json_body()
    event = body.get("event")
    if event is not None and event not in ("APPROVE", "REQUEST_CHANGES", "COMMENT"):
        raise ApiError(422, "Unprocessable Entity", errors=[f"Invalid event: {event}"])
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "read", app_permission="pull_requests")
        it, pr = pull_parts(repo, number)
        a = actor()
        if a.kind == "anonymous":
            raise ApiError(401, "Requires authentication")
        login = actor_login()
        if event in ("APPROVE", "REQUEST_CHANGES") and login.lower() == it.user.lower():
            verb = "approve" if event == "APPROVE" else "request changes on"
            raise ApiError(
                422, "Unprocessable Entity", errors=[f"Review Can not {verb} your own pull request"]
            )
        if event in ("REQUEST_CHANGES", "COMMENT") and not body.get("body"):
            raise ApiError(
                422, "Unprocessable Entity", errors=[f"Review body is required when the event is {event}"]
            )
        commit_id = body.get("commit_id") or pr.head_sha
        if commit_id not in repo.commits:
            raise ApiError(422, "Unprocessable Entity", errors=["Commit could not be found"])
        state_name = {
            "APPROVE": "APPROVED",
            "REQUEST_CHANGES": "CHANGES_REQUESTED",
            "COMMENT": "COMMENTED",
            None: "PENDING",
        }[event]
        review = Review(
            id=st.next_id("review"),
            user=login,
            state=state_name,
            body=body.get("body") or "",
            commit_id=commit_id,
            submitted_at=st.now() if event else None,
        )
        pr.reviews.append(review)
        if event:
            it.updated_at = st.now()
            _emit_review(st, repo, it, review, "submitted")
        out = pshapes.review(st, repo, it, review)
    return respond(out)


def _find_review(it: Issue, review_id: int) -> Review:
    assert it.pull is not None
    return found(next((r for r in it.pull.reviews if r.id == review_id), None))


def _emit_review(st: SandboxState, repo: Repo, it: Issue, review: Review, action: str) -> None:
    """``pull_request_review`` with the review and the (simple) pull request, built at change time."""
    emit(
        "pull_request_review",
        action,
        lambda: {
            "review": pshapes.review(st, repo, it, review, webhook=True),
            "pull_request": pshapes.pull_request(st, repo, it, webhook=True, simple=True),
        },
        repo,
    )


@bp.get("/repos/<owner>/<name>/pulls/<int:number>/reviews")
def list_reviews(owner: str, name: str, number: int) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        it, pr = pull_parts(repo, number)
        login = actor().login
        rows = [
            pshapes.review(st, repo, it, r)
            for r in pr.reviews
            if r.state != "PENDING" or (login and r.user.lower() == login.lower())
        ]
    return paginate(rows)


@bp.get("/repos/<owner>/<name>/pulls/<int:number>/reviews/<int:review_id>")
def get_review(owner: str, name: str, number: int, review_id: int) -> Response:
    def build(st: SandboxState, repo: Repo) -> dict[str, Any]:
        it = get_pull(repo, number)
        return pshapes.review(st, repo, it, _find_review(it, review_id))

    return read_in_repo(owner, name, build)


@bp.put("/repos/<owner>/<name>/pulls/<int:number>/reviews/<int:review_id>/dismissals")
def dismiss_review(owner: str, name: str, number: int, review_id: int) -> Response:
    body = json_body()
    if not isinstance(body.get("message"), str):
        raise ApiError(422, 'Invalid request.\n\n"message" wasn\'t supplied.')
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="pull_requests")
        it = get_pull(repo, number)
        r = _find_review(it, review_id)
        if r.state == "PENDING":
            raise ApiError(422, "Unprocessable Entity", errors=["Can not dismiss a pending review"])
        r.state = "DISMISSED"
        _emit_review(st, repo, it, r, "dismissed")
        out = pshapes.review(st, repo, it, r)
    return respond(out)


# --------------------------------------------------------------------------- merge


@bp.get("/repos/<owner>/<name>/pulls/<int:number>/merge")
def is_merged(owner: str, name: str, number: int) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        _, pr = pull_parts(repo, number)
        if not pr.merged:
            not_found()
    return no_content()


@bp.put("/repos/<owner>/<name>/pulls/<int:number>/merge")
def merge(owner: str, name: str, number: int) -> Response:
    body = json_body()
    method = body.get("merge_method", "merge")
    if method not in MERGE_METHODS:
        raise ApiError(
            422,
            "Validation Failed",
            errors=[{"resource": "PullRequest", "field": "merge_method", "code": "invalid"}],
        )
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        it, pr = pull_parts(repo, number)
        if pr.merged:
            raise ApiError(405, "Pull Request is not mergeable")
        if it.state != "open":
            raise ApiError(405, "Pull Request is not mergeable")
        if pr.draft:
            raise ApiError(405, "Pull Request is still a draft")
        sha = body.get("sha")
        if sha is not None and sha != pr.head_sha:
            raise ApiError(409, "Head branch was modified. Review and try the merge again.")
        roles = {login: st.role(repo, login) for login in {r.user.lower() for r in pr.reviews}}
        a = actor()
        refusal = merge_refusal(
            repo,
            number,
            pr.head_sha,
            actor_role=actor_role(repo),
            role_of=roles,
            actor_app_id=a.app_id if a.kind == "installation" else None,
        )
        if refusal:
            raise ApiError(
                405, f"Repository rule violations found\n\n{refusal}" if _ruleset_only(repo, it) else refusal
            )
        try:
            commit = merge_pull(
                st, repo, it, actor_login(), method, body.get("commit_title"), body.get("commit_message")
            )
        except MergeConflict:
            raise ApiError(405, "Merge conflict") from None
        out = {
            "sha": pr.merge_commit_sha or commit.sha,
            "merged": True,
            "message": "Pull Request successfully merged",
        }
    return respond(out)


def _ruleset_only(repo: Repo, it: Issue) -> bool:
    assert it.pull is not None
    return it.pull.base_ref not in repo.protection and bool(repo.rulesets)


@bp.put("/repos/<owner>/<name>/pulls/<int:number>/update-branch")
def update_branch(owner: str, name: str, number: int) -> Response:
    """Merge the base branch into the head branch (``push`` then ``synchronize``)."""
    from bot.sandbox.api.git import merge_into

    body = json_body()
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="contents")
        it, pr = pull_parts(repo, number)
        expected = body.get("expected_head_sha")
        if expected is not None and expected != pr.head_sha:
            raise ApiError(422, "expected head sha didn't match current head ref.")
        base_sha = repo.branch_sha(pr.base_ref)
        if base_sha is None or repo.branch_sha(pr.head_ref) is None:
            raise ApiError(422, "The head or base branch no longer exists.")
        if not gitobjects.is_ancestor(repo, base_sha, pr.head_sha):
            merge_into(st, repo, pr.head_ref, base_sha, f"Merge branch '{pr.base_ref}' into {pr.head_ref}")
        url = pshapes.pull_request(st, repo, it, simple=True)["url"]
    return respond({"message": "Updating pull request branch.", "url": url}, status=202)
