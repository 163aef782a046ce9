"""`release-bot protect OWNER/REPO` against the sandbox: the gate required, pinned to the App."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_gate_e2e import CHECK, REPO, Gate, ok

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def protect(e2e: Any, *args: str, token_login: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "APP_ID": "1",
        "PRIVATE_KEY_PATH": str(e2e.sandbox.app_key_path),
        "GITHUB_API_URL": e2e.sandbox.api_url,
        "PYTHONPATH": str(ROOT),
    }
    if token_login:
        env["ADMIN_TOKEN"] = f"sandbox-token-{token_login}"
        args = (*args, "--token-env", "ADMIN_TOKEN")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            "protect",
            REPO,
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("mode", ["ruleset", "classic"])
def test_protect_requires_the_app_pinned_check(e2e: Any, mode: str) -> None:
    gate = Gate(e2e, protect=None)
    extra = ("--classic",) if mode == "classic" else ()
    first = protect(e2e, *extra, token_login="admin")
    assert first.returncode == 0, first.stderr
    assert "sandbox-token" not in first.stdout + first.stderr  # the token is never printed
    again = protect(e2e, *extra, token_login="admin")
    assert again.returncode == 0 and "already requires" in again.stdout, again.stdout + again.stderr

    head = gate.pull()["head"]["sha"]
    ok(e2e.api("dev").post(f"/repos/{REPO}/statuses/{head}", json={"state": "success", "context": CHECK}))
    assert gate.merge("releaser").status_code == 405  # a look-alike status is not the App's check
    gate.say("qa", "/uat passed")
    gate.say("releaser", "/approve")
    gate.settle()
    assert gate.merge("releaser").status_code == 200


def test_protect_refuses_bad_input_and_explains_missing_permission(e2e: Any) -> None:
    bad = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            "protect",
            "not-a-repo",
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "expected OWNER/REPO" in bad.stderr
    as_dev = protect(e2e, token_login="dev")  # write access cannot create rulesets
    assert as_dev.returncode == 1 and "GitHub refused" in as_dev.stderr


def test_protect_as_the_app(e2e: Any) -> None:
    Gate(e2e, protect=None)
    result = protect(e2e)  # the sandbox's App holds the optional administration permission
    assert result.returncode == 0, result.stderr
    assert "ruleset 'release-bot gate'" in result.stdout and "created" in result.stdout
    rulesets = ok(e2e.api("admin").get(f"/repos/{REPO}/rulesets"))
    assert [r["name"] for r in rulesets] == ["release-bot gate"]
