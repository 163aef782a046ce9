"""The callback URL of a deployment protection rule: only its run id is used, and only for this
repository, so a payload's URL can never send the installation token elsewhere."""

from __future__ import annotations

import pytest

from bot.github.deploy_io import run_id_of

API = "https://api.github.com"


@pytest.mark.parametrize(
    ("url", "run_id"),
    [
        (f"{API}/repos/acme/rocket/actions/runs/42/deployment_protection_rule", 42),
        (f"{API}/repos/Acme/Rocket/actions/runs/42/deployment_protection_rule", 42),  # names are case-blind
        ("http://127.0.0.1:8900/api/v3/repos/acme/rocket/actions/runs/7/deployment_protection_rule", 7),
        (f"{API}/repos/acme/other/actions/runs/42/deployment_protection_rule", None),  # another repository
        (f"{API}/repos/acme/rocket/actions/runs/42/pending_deployments", None),
        (f"{API}/repos/acme/rocket/actions/runs/x/deployment_protection_rule", None),
        ("https://evil.example/steal?u=/repos/acme/rocket/actions/runs/42/deployment_protection_rule", None),
        ("", None),
    ],
)
def test_run_id_of(url: str, run_id: int | None) -> None:
    assert run_id_of(url, "acme/rocket") == run_id
