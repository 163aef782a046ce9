"""Getting an unaccepted commit to production, end to end: the sandbox, a real `release-bot serve`.

`dev` has write access: they can move a tag GitHub lets anyone with push rights move, and tag the
final release wherever they like. UAT's sign-off is bound to what the candidate tag pointed at when
QA gave it (the release record keeps it), so moving the signed-off candidate onto another commit and
cutting the final tag there gets a production deployment refused, saying so.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from test_deploy_rule import deploy, gate_production, notes, outcome
from test_release_lifecycle import REPO, create_ref, main_sha, tracking_issue

pytestmark = pytest.mark.e2e


@pytest.mark.reliability(
    area="attack",
    case="a signed-off candidate tag moved to an unaccepted commit cannot deploy to production",
    trials=1,
)
def test_a_moved_candidate_tag_does_not_carry_its_sign_off(e2e: Any) -> None:
    admin, pm, dev, qa = e2e.api("admin"), e2e.api("pm"), e2e.api("dev"), e2e.api("qa")
    gate_production(admin, "{requires: [uat]}")
    m = pm.post(f"{REPO}/milestones", json={"title": "v3.0.0"}).json()["number"]
    create_ref(dev, "refs/tags/v3.0.0-rc.1")
    e2e.settle()
    issue = tracking_issue(pm, m)["number"]
    qa.post(f"{REPO}/issues/{issue}/comments", json={"body": "/uat passed"})
    e2e.settle()

    # dev: an unreviewed commit, the signed-off candidate moved onto it, the final tag cut there
    content = base64.b64encode(b"unreviewed\n").decode()
    r = dev.put(
        f"{REPO}/contents/sneaky.txt", json={"message": "sneak", "content": content, "branch": "main"}
    )
    assert r.status_code == 201, r.text
    sneaky = main_sha(dev)
    moved = dev.patch(f"{REPO}/git/refs/tags/v3.0.0-rc.1", json={"sha": sneaky, "force": True})
    assert moved.status_code == 200, moved.text
    create_ref(dev, "refs/tags/v3.0.0")
    e2e.settle()

    refused = deploy(e2e, "v3.0.0", "production")
    states, run = outcome(e2e, refused)
    assert states == ["failure"], run
    assert "`v3.0.0-rc.1` was moved after UAT signed it off" in run["comments"][0]["comment"]
    [note] = notes(pm, issue, refused)
    assert "was moved after UAT signed it off" in note

    # QA looks at what the tag points at now and accepts it: then it deploys
    qa.post(f"{REPO}/issues/{issue}/comments", json={"body": "/uat passed"})
    e2e.settle()
    shipped = deploy(e2e, "v3.0.0", "production")
    assert outcome(e2e, shipped)[0] == ["success"]
