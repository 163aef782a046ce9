"""Every operation the sandbox implements, called once and its body validated against the response
schema of GitHub's published OpenAPI description (table-driven).

The table runs in order against one repository; later rows use ids that earlier rows captured
(``{issue}``, ``{comment}`` …). The last test checks that every REST route the sandbox serves was
exercised here, so a new route without a fidelity row fails the suite.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from validation import VALIDATED, RunningSandbox, find_operation

B64 = base64.b64encode(b"fidelity\n").decode()


@dataclass(frozen=True)
class Op:
    method: str
    path: str  # formatted with the context: {R} is owner/name of the table's repository
    status: int
    auth: str = "dev"  # a user login, "jwt" (the App), "inst" (installation token), "anon"
    body: Any = None
    capture: dict[str, str] = field(default_factory=dict)  # context key -> dotted path in the response
    prepare: Callable[[RunningSandbox, dict[str, Any]], None] | None = None
    documented: bool = True  # False: a route GitHub serves but its OpenAPI description omits


# Routes GitHub still serves (legacy forms the bot or PyGithub may use) that its OpenAPI description
# does not list; they are called in the table but cannot be validated against a schema.
UNDOCUMENTED = {
    (
        "GET",
        "/api/v3/repos/<owner>/<name>/git/refs",
    ): "list all refs (the description only has matching-refs)",
    ("GET", "/api/v3/repos/<owner>/<name>/git/refs/<path:ref>"): "legacy plural form of git/ref/{ref}",
    ("GET", "/api/v3/repos/<owner>/<name>/statuses/<path:ref>"): "legacy form of commits/{ref}/statuses",
}


def _deploy_request(sb: RunningSandbox, ctx: dict[str, Any]) -> None:
    """A deploying workflow job waiting on the table's protection rule (its run id is the callback's)."""
    body = {"repo": ctx["R"], "ref": "main", "environment": "production"}
    resp = sb.api.sandbox("POST", "/_sandbox/deployments/request", json=body)
    assert resp.status_code == 202, resp.text
    ctx["deploy_run"] = resp.json()["run_id"]


def _manifest_code(sb: RunningSandbox, ctx: dict[str, Any]) -> None:
    manifest = {
        "name": "fidelity app",
        "url": "http://127.0.0.1:9/",
        "redirect_url": "http://127.0.0.1:9/done",
        "hook_attributes": {"url": "http://127.0.0.1:9/hook"},
        "default_permissions": {"issues": "read"},
    }
    resp = httpx.post(f"{sb.root_url}/settings/apps/new", data={"manifest": json.dumps(manifest)})
    assert resp.status_code == 302, resp.text
    ctx["manifest_code"] = re.search(r"code=([0-9a-f]+)", resp.headers["Location"]).group(1)  # type: ignore[union-attr]


def _throwaway_token(sb: RunningSandbox, ctx: dict[str, Any]) -> None:
    ctx["throwaway"] = sb.installation_token()


def _oauth_token(sb: RunningSandbox, ctx: dict[str, Any]) -> None:
    with httpx.Client(base_url=sb.root_url) as web:
        loc = web.get(
            "/login/oauth/authorize",
            params={"client_id": "Iv1.sandbox", "login": "dev", "redirect_uri": "http://127.0.0.1:9/cb"},
        ).headers["Location"]
        code = re.search(r"code=([0-9a-f]+)", loc).group(1)  # type: ignore[union-attr]
        ctx["user_token"] = web.post(
            "/login/oauth/access_token",
            headers={"Accept": "application/json"},
            data={"client_id": "Iv1.sandbox", "client_secret": "sandbox-client-secret", "code": code},
        ).json()["access_token"]


PROTECTION = {
    "required_status_checks": {"strict": True, "checks": [{"context": "release-bot/gate", "app_id": 1}]},
    "enforce_admins": False,
    "required_pull_request_reviews": None,
    "restrictions": None,
}
RULESET = {
    "name": "release gate",
    "target": "branch",
    "enforcement": "active",
    "conditions": {"ref_name": {"include": ["refs/heads/release/*"], "exclude": []}},
    "rules": [
        {
            "type": "required_status_checks",
            "parameters": {
                "strict_required_status_checks_policy": False,
                "required_status_checks": [{"context": "release-bot/gate", "integration_id": 1}],
            },
        }
    ],
}

TABLE: list[Op] = [
    # meta, users, organizations, repository
    Op("GET", "/meta", 200, auth="anon"),
    Op("GET", "/rate_limit", 200),
    Op("GET", "/users/dev", 200),
    Op("GET", "/orgs/acme", 200),
    Op("GET", "/repos/{R}", 200),
    Op("GET", "/repos/{R}/branches", 200),
    Op("GET", "/repos/{R}/branches/main", 200),
    # git data
    Op("GET", "/repos/{R}/git/ref/heads/main", 200, capture={"main": "object.sha"}),
    Op("GET", "/repos/{R}/git/refs", 200, documented=False),
    Op("GET", "/repos/{R}/git/refs/heads/main", 200, documented=False),
    Op("GET", "/repos/{R}/git/matching-refs/heads/", 200),
    Op("POST", "/repos/{R}/git/refs", 201, body={"ref": "refs/heads/feature/fid", "sha": "{main}"}),
    Op(
        "PUT",
        "/repos/{R}/contents/fid.txt",
        201,
        capture={"head": "commit.sha", "blob": "content.sha"},
        body={"message": "add fid", "content": B64, "branch": "feature/fid"},
    ),
    Op("GET", "/repos/{R}/contents/fid.txt?ref=feature/fid", 200),
    Op("GET", "/repos/{R}/activity?ref=refs/heads/feature/fid&per_page=1", 200, auth="inst"),
    Op("GET", "/repos/{R}/activity?activity_type=branch_creation", 200),
    Op("GET", "/repos/{R}/contents/", 200),
    Op("GET", "/repos/{R}/commits?sha=feature/fid", 200),
    Op("GET", "/repos/{R}/commits/{head}", 200),
    Op("GET", "/repos/{R}/git/commits/{head}", 200),
    Op("GET", "/repos/{R}/compare/main...feature/fid", 200),
    Op(
        "POST",
        "/repos/{R}/git/tags",
        201,
        capture={"tag_sha": "sha"},
        body={"tag": "v0.0.1", "message": "v0.0.1", "object": "{main}", "type": "commit"},
    ),
    Op("GET", "/repos/{R}/git/tags/{tag_sha}", 200),
    Op("POST", "/repos/{R}/git/refs", 201, body={"ref": "refs/tags/v0.0.1", "sha": "{tag_sha}"}),
    Op("PATCH", "/repos/{R}/git/refs/heads/feature/fid", 200, body={"sha": "{head}"}),
    Op(
        "POST",
        "/repos/{R}/git/blobs",
        201,
        capture={"blob2": "sha"},
        body={"content": "blob", "encoding": "utf-8"},
    ),
    Op("GET", "/repos/{R}/git/blobs/{blob2}", 200),
    Op(
        "POST",
        "/repos/{R}/git/trees",
        201,
        capture={"tree": "sha"},
        body={"tree": [{"path": "t.txt", "mode": "100644", "type": "blob", "sha": "{blob2}"}]},
    ),
    Op("GET", "/repos/{R}/git/trees/{tree}", 200),
    Op(
        "POST",
        "/repos/{R}/git/commits",
        201,
        body={"message": "loose", "tree": "{tree}", "parents": ["{main}"]},
    ),
    # milestones and labels
    Op(
        "POST",
        "/repos/{R}/milestones",
        201,
        capture={"ms": "number"},
        body={"title": "v1.0.0", "due_on": "2026-12-01T00:00:00Z", "description": "scope"},
    ),
    Op("GET", "/repos/{R}/milestones", 200),
    Op("GET", "/repos/{R}/milestones/{ms}", 200),
    Op("PATCH", "/repos/{R}/milestones/{ms}", 200, body={"description": "scope, revised"}),
    Op("POST", "/repos/{R}/labels", 201, body={"name": "uat-passed", "color": "0e8a16"}),
    Op("GET", "/repos/{R}/labels", 200),
    Op("GET", "/repos/{R}/labels/uat-passed", 200),
    Op("PATCH", "/repos/{R}/labels/uat-passed", 200, body={"description": "accepted by QA"}),
    # issues
    Op(
        "POST",
        "/repos/{R}/issues",
        201,
        capture={"issue": "number"},
        body={"title": "Crash", "body": "steps", "labels": ["bug"], "milestone": "{ms}"},
    ),
    Op("GET", "/repos/{R}/issues?milestone={ms}&state=all", 200),
    Op("GET", "/repos/{R}/issues/{issue}", 200),
    Op("PATCH", "/repos/{R}/issues/{issue}", 200, body={"title": "Crash on start"}),
    Op("GET", "/repos/{R}/issues/{issue}/labels", 200),
    Op("POST", "/repos/{R}/issues/{issue}/labels", 200, auth="triager", body={"labels": ["uat-passed"]}),
    Op(
        "PUT", "/repos/{R}/issues/{issue}/labels", 200, auth="triager", body={"labels": ["uat-passed", "bug"]}
    ),
    Op("DELETE", "/repos/{R}/issues/{issue}/labels/bug", 200, auth="triager"),
    Op("DELETE", "/repos/{R}/issues/{issue}/labels", 204, auth="triager"),
    # comments and reactions
    Op(
        "POST",
        "/repos/{R}/issues/{issue}/comments",
        201,
        auth="qa",
        capture={"comment": "id"},
        body={"body": "/uat passed"},
    ),
    Op("GET", "/repos/{R}/issues/{issue}/comments", 200),
    Op("GET", "/repos/{R}/issues/comments", 200),
    Op("GET", "/repos/{R}/issues/comments/{comment}", 200),
    Op("PATCH", "/repos/{R}/issues/comments/{comment}", 200, auth="qa", body={"body": "/uat passed (rc.1)"}),
    Op(
        "POST",
        "/repos/{R}/issues/comments/{comment}/reactions",
        201,
        auth="inst",
        capture={"reaction": "id"},
        body={"content": "eyes"},
    ),
    Op("POST", "/repos/{R}/issues/comments/{comment}/reactions", 200, auth="inst", body={"content": "eyes"}),
    Op("GET", "/repos/{R}/issues/comments/{comment}/reactions", 200),
    # events and timeline
    Op("GET", "/repos/{R}/issues/{issue}/events", 200, capture={"event": "0.id"}),
    Op("GET", "/repos/{R}/issues/events", 200),
    Op("GET", "/repos/{R}/issues/events/{event}", 200),
    Op("GET", "/repos/{R}/issues/{issue}/timeline", 200),
    # pull requests and reviews
    Op(
        "POST",
        "/repos/{R}/pulls",
        201,
        capture={"pr": "number"},
        body={"title": "Add fid", "head": "feature/fid", "base": "main", "body": "why"},
    ),
    Op("GET", "/repos/{R}/pulls?state=open", 200),
    Op("GET", "/repos/{R}/pulls/{pr}", 200),
    Op("PATCH", "/repos/{R}/pulls/{pr}", 200, body={"title": "Add fid.txt"}),
    Op("GET", "/repos/{R}/pulls/{pr}/commits", 200),
    Op("GET", "/repos/{R}/pulls/{pr}/files", 200),
    Op("GET", "/repos/{R}/issues/{pr}/timeline", 200),
    Op(
        "POST",
        "/repos/{R}/pulls/{pr}/reviews",
        200,
        auth="qa",
        capture={"review": "id"},
        body={"event": "APPROVE", "body": "lgtm"},
    ),
    Op("GET", "/repos/{R}/pulls/{pr}/reviews", 200),
    Op("GET", "/repos/{R}/pulls/{pr}/reviews/{review}", 200),
    Op(
        "PUT",
        "/repos/{R}/pulls/{pr}/reviews/{review}/dismissals",
        200,
        auth="admin",
        body={"message": "stale", "event": "DISMISS"},
    ),
    Op("GET", "/repos/{R}/pulls/{pr}/merge", 404),
    # checks and statuses
    Op(
        "POST",
        "/repos/{R}/check-runs",
        201,
        auth="inst",
        capture={"run": "id"},
        body={"name": "release-bot/gate", "head_sha": "{head}", "status": "in_progress"},
    ),
    Op("GET", "/repos/{R}/check-runs/{run}", 200),
    Op(
        "PATCH",
        "/repos/{R}/check-runs/{run}",
        200,
        auth="inst",
        body={"status": "completed", "conclusion": "success", "output": {"title": "ok", "summary": "passed"}},
    ),
    Op("POST", "/repos/{R}/check-runs/{run}/rerequest", 201, auth="inst"),
    Op("GET", "/repos/{R}/commits/{head}/check-runs", 200),
    Op("GET", "/repos/{R}/commits/{head}/pulls", 200),
    Op("POST", "/repos/{R}/statuses/{head}", 201, body={"state": "success", "context": "ci/test"}),
    Op("GET", "/repos/{R}/commits/{head}/statuses", 200),
    Op("GET", "/repos/{R}/statuses/{head}", 200, documented=False),
    Op("GET", "/repos/{R}/commits/{head}/status", 200),
    # protection and rulesets
    Op("PUT", "/repos/{R}/branches/main/protection", 200, auth="admin", body=PROTECTION),
    Op("GET", "/repos/{R}/branches/main/protection", 200, auth="admin"),
    Op("GET", "/repos/{R}/branches/main/protection/required_status_checks", 200, auth="admin"),
    Op("POST", "/repos/{R}/rulesets", 201, auth="admin", capture={"ruleset": "id"}, body=RULESET),
    Op("GET", "/repos/{R}/rulesets", 200, auth="admin"),
    Op("GET", "/repos/{R}/rulesets/{ruleset}", 200, auth="admin"),
    Op("PUT", "/repos/{R}/rulesets/{ruleset}", 200, auth="admin", body={"enforcement": "evaluate"}),
    Op("GET", "/repos/{R}/rules/branches/main", 200),
    Op("DELETE", "/repos/{R}/rulesets/{ruleset}", 204, auth="admin"),
    # merge (the check run above passed the protection)
    Op("PUT", "/repos/{R}/pulls/{pr}/merge", 200, body={"merge_method": "merge"}),
    Op("GET", "/repos/{R}/pulls/{pr}/merge", 204),
    Op("DELETE", "/repos/{R}/branches/main/protection", 204, auth="admin"),
    Op("POST", "/repos/{R}/git/refs", 201, body={"ref": "refs/heads/feature/fid2", "sha": "{main}"}),
    Op(
        "PUT",
        "/repos/{R}/contents/fid2.txt",
        201,
        body={"message": "add fid2", "content": B64, "branch": "feature/fid2"},
    ),
    Op(
        "POST",
        "/repos/{R}/pulls",
        201,
        capture={"pr2": "number"},
        body={"title": "fid2", "head": "feature/fid2", "base": "main"},
    ),
    Op("PUT", "/repos/{R}/pulls/{pr2}/update-branch", 202, body={}),
    Op("POST", "/repos/{R}/merges", 201, body={"base": "main", "head": "feature/fid2"}),
    # releases
    Op(
        "POST",
        "/repos/{R}/releases",
        201,
        auth="inst",
        capture={"release": "id"},
        body={"tag_name": "v1.0.0", "target_commitish": "main", "name": "v1.0.0", "body": "notes"},
    ),
    Op("GET", "/repos/{R}/releases", 200),
    Op("GET", "/repos/{R}/releases/{release}", 200),
    Op("GET", "/repos/{R}/releases/latest", 200),
    Op("GET", "/repos/{R}/releases/tags/v1.0.0", 200),
    Op("PATCH", "/repos/{R}/releases/{release}", 200, auth="inst", body={"body": "notes, revised"}),
    Op(
        "POST",
        "/repos/{R}/releases/generate-notes",
        200,
        body={"tag_name": "v1.1.0", "target_commitish": "main"},
    ),
    Op("DELETE", "/repos/{R}/releases/{release}", 204, auth="inst"),
    # deployments
    Op(
        "POST",
        "/repos/{R}/deployments",
        201,
        capture={"deployment": "id"},
        body={"ref": "main", "environment": "production", "required_contexts": [], "auto_merge": False},
    ),
    Op("GET", "/repos/{R}/deployments", 200),
    Op("GET", "/repos/{R}/deployments/{deployment}", 200),
    Op(
        "POST",
        "/repos/{R}/deployments/{deployment}/statuses",
        201,
        capture={"dstatus": "id"},
        body={
            "state": "success",
            "description": "deployed",
            "environment_url": "http://127.0.0.1:9/",
            "log_url": "http://127.0.0.1:9/log",
        },
    ),
    Op("GET", "/repos/{R}/deployments/{deployment}/statuses", 200),
    Op("GET", "/repos/{R}/deployments/{deployment}/statuses/{dstatus}", 200),
    # a newer successful deployment makes the first one inactive, which may then be deleted
    Op(
        "POST",
        "/repos/{R}/deployments",
        201,
        capture={"deployment2": "id"},
        body={"ref": "main", "environment": "production", "required_contexts": [], "auto_merge": False},
    ),
    Op(
        "POST",
        "/repos/{R}/deployments/{deployment2}/statuses",
        201,
        body={
            "state": "success",
            "environment_url": "http://127.0.0.1:9/",
            "log_url": "http://127.0.0.1:9/log",
        },
    ),
    Op("DELETE", "/repos/{R}/deployments/{deployment}", 204),
    # environments, custom deployment protection rules and their callback
    Op("PUT", "/repos/{R}/environments/production", 200, auth="admin", body={"wait_timer": 0}),
    Op("GET", "/repos/{R}/environments/production", 200),
    Op("GET", "/repos/{R}/environments", 200),
    Op("GET", "/repos/{R}/environments/production/deployment_protection_rules/apps", 200, auth="admin"),
    Op(
        "POST",
        "/repos/{R}/environments/production/deployment_protection_rules",
        201,
        auth="inst",
        body={"integration_id": 1},
        capture={"prule": "id"},
    ),
    Op("GET", "/repos/{R}/environments/production/deployment_protection_rules", 200),
    Op("GET", "/repos/{R}/environments/production/deployment_protection_rules/{prule}", 200),
    Op(
        "POST",
        "/repos/{R}/actions/runs/{deploy_run}/deployment_protection_rule",
        204,
        auth="inst",
        body={"environment_name": "production", "state": "approved", "comment": "ok"},
        prepare=_deploy_request,
    ),
    Op("DELETE", "/repos/{R}/environments/production/deployment_protection_rules/{prule}", 204, auth="admin"),
    Op("DELETE", "/repos/{R}/environments/production", 204, auth="admin"),
    # collaborators, organization and teams
    Op("GET", "/repos/{R}/collaborators", 200, auth="admin"),
    Op("GET", "/repos/{R}/collaborators/dev", 204),
    Op("GET", "/repos/{R}/collaborators/triager/permission", 200, auth="inst"),
    Op("PUT", "/repos/{R}/collaborators/qa", 204, auth="admin", body={"permission": "maintain"}),
    Op("GET", "/orgs/acme/members/dev", 204, auth="inst"),
    Op("GET", "/orgs/acme/teams/release-managers/memberships/releaser", 200, auth="inst"),
    Op("GET", "/orgs/acme/teams/release-managers/members", 200, auth="inst"),
    # the App
    Op("GET", "/app", 200, auth="jwt"),
    Op("GET", "/app/installations", 200, auth="jwt"),
    Op("GET", "/app/installations/1", 200, auth="jwt"),
    Op("POST", "/app/installations/1/access_tokens", 201, auth="jwt"),
    Op("GET", "/repos/{R}/installation", 200, auth="jwt"),
    Op("GET", "/orgs/acme/installation", 200, auth="jwt"),
    Op("GET", "/users/acme/installation", 200, auth="jwt"),
    Op("GET", "/installation/repositories", 200, auth="inst"),
    Op("DELETE", "/installation/token", 204, auth="{throwaway}", prepare=_throwaway_token),
    Op("GET", "/app/hook/deliveries?per_page=5", 200, auth="jwt", capture={"delivery": "0.id"}),
    Op("GET", "/app/hook/deliveries/{delivery}", 200, auth="jwt"),
    Op("POST", "/app/hook/deliveries/{delivery}/attempts", 202, auth="jwt"),
    # the signed-in user (OAuth web flow) and the manifest flow
    Op("GET", "/user", 200, auth="{user_token}", prepare=_oauth_token),
    Op("GET", "/user/installations", 200, auth="{user_token}"),
    Op("GET", "/user/installations/1/repositories", 200, auth="{user_token}"),
    Op("POST", "/app-manifests/{manifest_code}/conversions", 201, auth="anon", prepare=_manifest_code),
    # deletions last
    Op("DELETE", "/repos/{R}/issues/comments/{comment}/reactions/{reaction}", 204, auth="inst"),
    Op("DELETE", "/repos/{R}/issues/comments/{comment}", 204, auth="qa"),
    Op("DELETE", "/repos/{R}/labels/uat-passed", 204),
    Op("DELETE", "/repos/{R}/milestones/{ms}", 204),
    Op(
        "DELETE",
        "/repos/{R}/contents/fid.txt",
        200,
        body={"message": "remove fid", "sha": "{blob}", "branch": "main"},
    ),
    Op("DELETE", "/repos/{R}/git/refs/heads/feature/fid", 204),
]


def _fill(value: Any, ctx: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = re.fullmatch(r"\{(\w+)\}", value)
        if whole and whole.group(1) in ctx and not isinstance(ctx[whole.group(1)], str):
            return ctx[whole.group(1)]  # keep numbers numbers ("milestone": 1)
        return value.format(**ctx)
    if isinstance(value, dict):
        return {k: _fill(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ctx) for v in value]
    return value


def _dig(body: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


@pytest.fixture(scope="module")
def ctx(sb: RunningSandbox) -> dict[str, Any]:
    return {"R": sb.new_repo(prefix="fidelity")}


@pytest.mark.parametrize("op", TABLE, ids=[f"{i:03d}-{o.method}-{o.path}" for i, o in enumerate(TABLE)])
def test_operation_matches_openapi(sb: RunningSandbox, ctx: dict[str, Any], op: Op) -> None:
    if op.prepare is not None:
        op.prepare(sb, ctx)
    kwargs: dict[str, Any] = {}
    auth = _fill(op.auth, ctx)
    if auth == "anon":
        kwargs["anonymous"] = True
    elif auth == "jwt":
        kwargs["token"] = sb.app_jwt()
    elif auth == "inst":
        kwargs["token"] = ctx.setdefault("inst_token", sb.installation_token())
    elif auth in ("admin", "pm", "releaser", "qa", "dev", "triager", "outsider"):
        kwargs["as_"] = auth
    else:
        kwargs["token"] = auth
    if op.body is not None:
        kwargs["json"] = _fill(op.body, ctx)
    path = _fill(op.path, ctx)
    if not op.documented:
        with pytest.raises(AssertionError, match="no operation"):
            find_operation(op.method, path)
        kwargs["validate"] = False
    # Api.request validates the body against the OpenAPI schema of (method, path, status)
    resp = sb.api.request(op.method, path, **kwargs)
    assert resp.status_code == op.status, resp.text
    for key, dotted in op.capture.items():
        ctx[key] = _dig(resp.json(), dotted)


def _route_operations(sb: RunningSandbox) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(METHOD, OpenAPI template) of every REST route the sandbox serves, and the undocumented ones."""
    app = sb.handle._server.app  # the WSGI app behind the running server
    documented, undocumented = set(), set()
    samples = {"basehead": "main...feature/x", "path": "dir/file.txt", "ref": "heads/main"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v3/"):
            continue
        concrete = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: samples.get(m.group(1), "x"), rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            try:
                template, _ = find_operation(method, concrete)
            except AssertionError:
                undocumented.add((method, rule.rule))
                continue
            documented.add((method, template))
    return documented, undocumented


def test_every_rest_route_was_validated(sb: RunningSandbox) -> None:
    documented, undocumented = _route_operations(sb)
    validated = {(m, t) for m, t, _ in VALIDATED}
    missing = sorted(documented - validated)
    assert not missing, f"routes without a (passing) fidelity row: {missing}"
    unexplained = sorted(undocumented - set(UNDOCUMENTED))
    assert not unexplained, f"routes that GitHub's OpenAPI description does not list: {unexplained}"
