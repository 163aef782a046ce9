"""Check runs (the App alone writes them) and commit statuses (anyone with write access).

``check_run`` webhooks: ``created``, ``completed`` (when a run reaches completed), ``rerequested``.
``status`` webhook for every new status. Each change lets the merge queue re-evaluate its groups.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, request

from bot.sandbox import gitobjects, merge_queue, serializers
from bot.sandbox import serializers_git as gshapes
from bot.sandbox import serializers_issues as shapes
from bot.sandbox.http import (
    ApiError,
    actor,
    api_url,
    commit_for_ref,
    found,
    get_repo,
    html_url,
    json_body,
    not_found,
    paginate,
    read_in_repo,
    respond,
    state,
    validation_failed,
)
from bot.sandbox.state import CheckRun, CommitStatus, Repo, SandboxState, iso, node_id
from bot.sandbox.webhooks import emit

bp = Blueprint("sandbox_checks", __name__)

STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = (
    "action_required",
    "cancelled",
    "failure",
    "neutral",
    "success",
    "skipped",
    "stale",
    "timed_out",
)
STATUS_STATES = ("error", "failure", "pending", "success")


# --------------------------------------------------------------------------- shapes


def check_run_json(st: SandboxState, repo: Repo, run: CheckRun, *, webhook: bool = False) -> dict[str, Any]:
    base = api_url(f"/repos/{repo.full_name}")
    app = st.apps.get(run.app_id)
    app_shape = shapes.performed_via_app(st, app.bot_user, webhook=webhook) if app else None
    prs = [
        _pr_ref(repo, it)
        for it in repo.open_pull_requests()
        if it.pull is not None and it.pull.head_sha == run.head_sha
    ]
    output = {
        "title": run.output.get("title"),
        "summary": run.output.get("summary"),
        "text": run.output.get("text"),
        "annotations_count": len(run.output.get("annotations") or []),
        "annotations_url": f"{base}/check-runs/{run.id}/annotations",
    }
    out: dict[str, Any] = {
        "id": run.id,
        "node_id": run.node_id,
        "head_sha": run.head_sha,
        "external_id": run.external_id or "",
        "url": f"{base}/check-runs/{run.id}",
        "html_url": html_url(f"/{repo.full_name}/runs/{run.id}"),
        "details_url": run.details_url or html_url(f"/{repo.full_name}/runs/{run.id}"),
        "status": run.status,
        "conclusion": run.conclusion,
        "started_at": iso(run.started_at),
        "completed_at": iso(run.completed_at),
        "output": output,
        "name": run.name,
        "check_suite": {"id": run.check_suite_id},
        "app": app_shape,
        "pull_requests": prs,
    }
    if webhook:
        out["check_suite"] = _suite(st, repo, run, app_shape, prs)
    return out


def _suite(
    st: SandboxState, repo: Repo, run: CheckRun, app_shape: dict[str, Any] | None, prs: list[dict[str, Any]]
) -> dict[str, Any]:
    runs = [r for r in repo.check_runs.values() if r.check_suite_id == run.check_suite_id]
    done = all(r.status == "completed" for r in runs)
    conclusion = None
    if done:
        concl = {r.conclusion for r in runs}
        conclusion = next(
            (c for c in ("failure", "timed_out", "cancelled", "action_required") if c in concl), "success"
        )
    branch = next((b for b, sha in repo.branches() if sha == run.head_sha), None)
    return {
        "id": run.check_suite_id,
        "node_id": node_id("CheckSuite", run.check_suite_id),
        "head_branch": branch,
        "head_sha": run.head_sha,
        "status": "completed" if done else "in_progress",
        "conclusion": conclusion,
        "url": api_url(f"/repos/{repo.full_name}/check-suites/{run.check_suite_id}"),
        "before": None,
        "after": run.head_sha,
        "pull_requests": prs,
        "app": app_shape,
        "created_at": iso(min((r.started_at or st.now()) for r in runs)),
        "updated_at": iso(st.now()),
    }


def _pr_ref(repo: Repo, it: Any) -> dict[str, Any]:
    base = api_url(f"/repos/{repo.full_name}")
    mini = {"id": repo.id, "url": base, "name": repo.name}
    return {
        "url": f"{base}/pulls/{it.number}",
        "id": it.pull.id,
        "number": it.number,
        "head": {"ref": it.pull.head_ref, "sha": it.pull.head_sha, "repo": mini},
        "base": {
            "ref": it.pull.base_ref,
            "sha": repo.branch_sha(it.pull.base_ref) or it.pull.base_sha,
            "repo": mini,
        },
    }


def status_json(st: SandboxState, repo: Repo, s: CommitStatus) -> dict[str, Any]:
    return {
        "url": api_url(f"/repos/{repo.full_name}/statuses/{s.sha}"),
        "avatar_url": html_url(f"/avatars/u/{st.user(s.creator).id if st.user(s.creator) else 0}"),
        "id": s.id,
        "node_id": s.node_id,
        "state": s.state,
        "description": s.description,
        "target_url": s.target_url,
        "context": s.context,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
        "creator": serializers.user(st, s.creator),
    }


# --------------------------------------------------------------------------- check runs


def _require_app() -> int:
    a = actor()
    if a.kind != "installation" or a.app_id is None:
        # GitHub: only GitHub Apps may write check runs.
        raise ApiError(403, "You must authenticate via a GitHub App.")
    return a.app_id


def _parse_time(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        validation_failed("CheckRun", key, "invalid")


def _apply(st: SandboxState, run: CheckRun, body: dict[str, Any]) -> None:
    if "status" in body:
        if body["status"] not in STATUSES:
            validation_failed("CheckRun", "status", "invalid")
        run.status = body["status"]
    if body.get("conclusion") is not None:
        if body["conclusion"] not in CONCLUSIONS:
            validation_failed("CheckRun", "conclusion", "invalid")
        run.conclusion = body["conclusion"]
        run.status = "completed"
    if run.status == "completed" and run.conclusion is None:
        raise ApiError(422, "Invalid request.\n\nNo conclusion given for a completed check run.")
    for key in ("details_url", "external_id"):
        if key in body:
            setattr(run, key, body[key])
    if "name" in body and isinstance(body["name"], str) and body["name"]:
        run.name = body["name"]
    if "output" in body:
        output = body["output"] or {}
        if not isinstance(output, dict) or (output and not ("title" in output and "summary" in output)):
            raise ApiError(422, 'Invalid request.\n\n"title" and "summary" are required in output.')
        summary = output.get("summary") or ""
        if len(summary) > 65535:
            validation_failed(
                "CheckRun", "output.summary", "invalid", "summary is too long (maximum is 65535)"
            )
        run.output = dict(output)
    if "actions" in body:
        run.actions = list(body["actions"] or [])
    started = _parse_time(body, "started_at")
    if started:
        run.started_at = started
    completed = _parse_time(body, "completed_at")
    if run.status == "completed":
        run.completed_at = completed or run.completed_at or st.now()
    else:
        run.completed_at = None
        run.conclusion = None


@bp.post("/repos/<owner>/<name>/check-runs")
def create_check_run(owner: str, name: str) -> Response:
    body = json_body()
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="checks")
        app_id = _require_app()
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise ApiError(422, 'Invalid request.\n\n"name" wasn\'t supplied.')
        head = body.get("head_sha")
        if not isinstance(head, str) or head not in repo.commits:
            raise ApiError(422, f"No commit found for SHA: {head}")
        suite = next(
            (r.check_suite_id for r in repo.check_runs.values() if r.head_sha == head and r.app_id == app_id),
            None,
        ) or st.next_id("check_suite")
        run = CheckRun(
            id=st.next_id("check_run"),
            name=body["name"],
            head_sha=head,
            app_id=app_id,
            started_at=st.now(),
            check_suite_id=suite,
        )
        _apply(st, run, body)
        repo.check_runs[run.id] = run
        emit("check_run", "created", lambda: {"check_run": check_run_json(st, repo, run, webhook=True)}, repo)
        merge_queue.evaluate(st, repo)
        out = check_run_json(st, repo, run)
    return respond(out, status=201)


@bp.patch("/repos/<owner>/<name>/check-runs/<int:run_id>")
def update_check_run(owner: str, name: str, run_id: int) -> Response:
    body = json_body()
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="checks")
        app_id = _require_app()
        run = repo.check_runs.get(run_id)
        if run is None:
            not_found()
        if run.app_id != app_id:
            raise ApiError(
                403,
                f"Invalid app_id `{app_id}` - check run can only be modified by the GitHub App "
                "that created it.",
            )
        was_completed = run.status == "completed"
        _apply(st, run, body)
        if run.status == "completed" and not was_completed:
            emit(
                "check_run",
                "completed",
                lambda: {"check_run": check_run_json(st, repo, run, webhook=True)},
                repo,
            )
        merge_queue.evaluate(st, repo)
        out = check_run_json(st, repo, run)
    return respond(out)


@bp.get("/repos/<owner>/<name>/check-runs/<int:run_id>")
def get_check_run(owner: str, name: str, run_id: int) -> Response:
    return read_in_repo(
        owner, name, lambda st, repo: check_run_json(st, repo, found(repo.check_runs.get(run_id)))
    )


@bp.post("/repos/<owner>/<name>/check-runs/<int:run_id>/rerequest")
def rerequest_check_run(owner: str, name: str, run_id: int) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="checks")
        run = repo.check_runs.get(run_id)
        if run is None:
            not_found()
        # The App that owns the run is told; GitHub sends it to that App only.
        emit(
            "check_run",
            "rerequested",
            lambda: {"check_run": check_run_json(st, repo, run, webhook=True)},
            repo,
            app_ids=[run.app_id],
        )
    return respond({}, status=201)


@bp.get("/repos/<owner>/<name>/commits/<path:ref>/check-runs")
def list_check_runs_for_ref(owner: str, name: str, ref: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        sha = commit_for_ref(repo, ref)
        runs = [r for r in repo.check_runs.values() if r.head_sha == sha]
        check_name = request.args.get("check_name")
        if check_name:
            runs = [r for r in runs if r.name == check_name]
        status = request.args.get("status")
        if status:
            runs = [r for r in runs if r.status == status]
        app_id = request.args.get("app_id")
        if app_id:
            runs = [r for r in runs if str(r.app_id) == app_id]
        if request.args.get("filter", "latest") == "latest":
            latest: dict[tuple[int, str], CheckRun] = {}
            for r in sorted(runs, key=lambda r: r.id):
                latest[(r.app_id, r.name)] = r
            runs = list(latest.values())
        runs.sort(key=lambda r: r.id, reverse=True)
        rows = [check_run_json(st, repo, r) for r in runs]
    return paginate(rows, wrap="check_runs")


# --------------------------------------------------------------------------- commit statuses


@bp.post("/repos/<owner>/<name>/statuses/<sha>")
def create_status(owner: str, name: str, sha: str) -> Response:
    body = json_body()
    state_name = body.get("state")
    if state_name not in STATUS_STATES:
        validation_failed(
            "Status",
            "state",
            "custom" if state_name else "missing_field",
            f"state is not included in the list ({', '.join(STATUS_STATES)})",
        )
    context = body.get("context") or "default"
    st = state()
    with st.lock:
        repo = get_repo(owner, name, "write", app_permission="statuses")
        if sha not in repo.commits:
            raise ApiError(422, f"No commit found for SHA: {sha}")
        now = st.now()
        s = CommitStatus(
            id=st.next_id("status"),
            sha=sha,
            state=state_name,
            context=context,
            creator=actor().login or "ghost",
            created_at=now,
            updated_at=now,
            description=body.get("description"),
            target_url=body.get("target_url"),
        )
        repo.statuses.append(s)
        emit("status", None, lambda: _status_payload(st, repo, s), repo)
        merge_queue.evaluate(st, repo)
        out = status_json(st, repo, s)
    return respond(out, status=201)


def _status_payload(st: SandboxState, repo: Repo, s: CommitStatus) -> dict[str, Any]:
    c = repo.commits[s.sha]
    commit = gshapes.commit(st, repo, c)
    commit["commit"]["verification"] = {
        k: commit["commit"]["verification"][k] for k in ("verified", "reason", "signature", "payload")
    }
    for who in ("author", "committer"):
        commit["commit"][who] = {
            "name": c.author.name if who == "author" else c.committer.name,
            "email": c.author.email if who == "author" else c.committer.email,
            "date": iso(c.author.date if who == "author" else c.committer.date),
        }
    branches = [
        {
            "name": b,
            "commit": {"sha": sha, "url": api_url(f"/repos/{repo.full_name}/commits/{sha}")},
            "protected": b in repo.protection,
        }
        for b, sha in repo.branches()
        if sha == s.sha
    ]
    return {
        "id": s.id,
        "sha": s.sha,
        "name": repo.full_name,
        "avatar_url": html_url(f"/avatars/u/{st.user(s.creator).id if st.user(s.creator) else 0}"),
        "target_url": s.target_url,
        "context": s.context,
        "description": s.description,
        "state": s.state,
        "commit": commit,
        "branches": branches,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
    }


@bp.get("/repos/<owner>/<name>/commits/<path:ref>/statuses")
@bp.get("/repos/<owner>/<name>/statuses/<path:ref>")
def list_statuses(owner: str, name: str, ref: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        sha = gitobjects.resolve(repo, ref)
        rows = (
            [
                status_json(st, repo, s)
                for s in sorted(repo.statuses, key=lambda s: s.id, reverse=True)
                if s.sha == sha
            ]
            if sha
            else []
        )
    return paginate(rows)


@bp.get("/repos/<owner>/<name>/commits/<path:ref>/status")
def combined_status(owner: str, name: str, ref: str) -> Response:
    st = state()
    with st.lock:
        repo = get_repo(owner, name)
        sha = commit_for_ref(repo, ref)
        latest: dict[str, CommitStatus] = {}
        for s in sorted(repo.statuses, key=lambda s: s.id):
            if s.sha == sha:
                latest[s.context] = s
        states = {s.state for s in latest.values()}
        combined = (
            "failure"
            if states & {"failure", "error"}
            else "pending"
            if "pending" in states or not states
            else "success"
        )
        base = api_url(f"/repos/{repo.full_name}")
        minimal = serializers.repository(st, repo, full=False)
        out = {
            "state": combined,
            "sha": sha,
            "total_count": len(latest),
            "statuses": [status_json(st, repo, s) for s in latest.values()],
            "repository": minimal,
            "commit_url": f"{base}/commits/{sha}",
            "url": f"{base}/commits/{sha}/status",
        }
    return respond(out)
