"""Permissions as the bot reads them: `permission`, `role_name`, `user.permissions` booleans; adding
collaborators; team and organization membership."""

from __future__ import annotations

import pytest
from validation import RunningSandbox

EXPECTED = {
    # login: (legacy permission, role_name, admin, maintain, push, triage, pull)
    "admin": ("admin", "admin", True, True, True, True, True),
    "pm": ("write", "maintain", False, True, True, True, True),
    "releaser": ("write", "maintain", False, True, True, True, True),
    "qa": ("write", "write", False, False, True, True, True),
    "dev": ("write", "write", False, False, True, True, True),
    "triager": ("read", "triage", False, False, False, True, True),
    "outsider": ("read", "read", False, False, False, False, True),
}


@pytest.mark.parametrize("login", sorted(EXPECTED))
def test_seeded_permissions(sb: RunningSandbox, login: str) -> None:
    token = sb.installation_token()
    resp = sb.api.get(f"/repos/acme/rocket/collaborators/{login}/permission", token=token)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    legacy, role, *flags = EXPECTED[login]
    assert (body["permission"], body["role_name"]) == (legacy, role)
    perms = body["user"]["permissions"]
    assert [perms[k] for k in ("admin", "maintain", "push", "triage", "pull")] == flags
    assert body["user"]["login"] == login and body["user"]["role_name"] == role


def test_unknown_user_is_404(sb: RunningSandbox) -> None:
    resp = sb.api.get("/repos/acme/rocket/collaborators/nobody-here/permission")
    assert resp.status_code == 404 and "is not a user" in resp.json()["message"]


def test_put_collaborator_changes_permission(sb: RunningSandbox) -> None:
    repo = sb.new_repo(private=True, permissions={"dev": "write"})
    before = sb.api.get(f"/repos/{repo}/collaborators/qa/permission").json()
    assert before["role_name"] == "none" and before["permission"] == "none"
    # only admins may add collaborators
    assert (
        sb.api.put(f"/repos/{repo}/collaborators/qa", as_="dev", json={"permission": "triage"}).status_code
        == 403
    )
    # an organization member is added at once (204)
    assert (
        sb.api.put(f"/repos/{repo}/collaborators/qa", as_="admin", json={"permission": "triage"}).status_code
        == 204
    )
    after = sb.api.get(f"/repos/{repo}/collaborators/qa/permission").json()
    assert after["role_name"] == "triage" and after["user"]["permissions"]["triage"] is True
    # someone outside the organization gets an invitation (201), which the sandbox accepts at once
    invited = sb.api.put(f"/repos/{repo}/collaborators/outsider", as_="admin", json={"permission": "push"})
    assert invited.status_code == 201 and invited.json()["invitee"]["login"] == "outsider"
    assert sb.api.get(f"/repos/{repo}/collaborators/outsider/permission").json()["role_name"] == "write"
    bad = sb.api.put(f"/repos/{repo}/collaborators/qa", as_="admin", json={"permission": "owner"})
    assert bad.status_code == 422


def test_team_membership_and_org_membership(sb: RunningSandbox) -> None:
    token = sb.installation_token()
    resp = sb.api.get("/orgs/acme/teams/release-managers/memberships/releaser", token=token)
    assert resp.status_code == 200 and resp.json()["state"] == "active" and resp.json()["role"] == "member"
    assert sb.api.get("/orgs/acme/teams/release-managers/memberships/dev", token=token).status_code == 404
    assert sb.api.get("/orgs/acme/teams/qa/memberships/qa", token=token).status_code == 200
    assert sb.api.get("/orgs/acme/teams/no-such-team/memberships/qa", token=token).status_code == 404
    assert sb.api.get("/orgs/acme/members/dev", token=token).status_code == 204
    assert sb.api.get("/orgs/acme/members/outsider", token=token).status_code == 404


def test_new_sandbox_user_with_team(sb: RunningSandbox) -> None:
    resp = sb.api.sandbox(
        "POST",
        "/_sandbox/users",
        json={"login": "carol", "permission": "maintain", "teams": ["release-managers"]},
    )
    assert resp.status_code == 201, resp.text
    token = resp.json()["token"]
    assert sb.api.get("/orgs/acme/teams/release-managers/memberships/carol", token=token).status_code == 200
    perm = sb.api.get("/repos/acme/rocket/collaborators/carol/permission").json()
    assert perm["role_name"] == "maintain"
