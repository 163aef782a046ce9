"""The "how to drive me" block names the seeded world as it exists (no I/O)."""

from __future__ import annotations

from bot.sandbox.guide import SandboxEndpoints, cli_environment, drive_me_lines
from bot.sandbox.state import SandboxState

ENDPOINTS = SandboxEndpoints(
    web_url="http://127.0.0.1:8900",
    api_url="http://127.0.0.1:8900/api/v3",
    bot_url="http://127.0.0.1:3000",
    webhook_path="/api/github/webhooks",
    key_path="/srv/sandbox-app.pem",
    queue_url="sqlite:///./release-bot.db",
)


def test_every_seeded_user_is_listed_with_token_permission_and_teams() -> None:
    st = SandboxState()
    repo = st.repo("acme", "rocket")
    assert repo is not None
    text = "\n".join(drive_me_lines(ENDPOINTS))
    logins = [u for u, user in st.users.items() if user.type == "User"]
    assert len(logins) == 7
    for login in logins:
        row = next(line for line in text.splitlines() if line.split()[:1] == [login])
        assert f"sandbox-token-{login}" in row and st.role(repo, login) in row.split()
    assert "acme/release-managers" in next(
        line for line in text.splitlines() if line.split()[:1] == ["releaser"]
    )
    assert all(line == line.rstrip() for line in text.splitlines())


def test_the_cli_environment_names_the_app_key_api_and_store() -> None:
    assert cli_environment(ENDPOINTS) == (
        "APP_ID=1 PRIVATE_KEY_PATH=/srv/sandbox-app.pem "
        "GITHUB_API_URL=http://127.0.0.1:8900/api/v3 "
        "QUEUE_URL=sqlite:///./release-bot.db"
    )
    assert any(cli_environment(ENDPOINTS) in line for line in drive_me_lines(ENDPOINTS))
