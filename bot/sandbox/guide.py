"""The short "how to drive me" block printed when the bot runs against the sandbox.

``release-bot serve`` (sandbox mode) and ``release-bot demo --keep-running`` print the same block,
built here from the seeded world itself (``bot.sandbox.state``), so the users, tokens and
permissions a person is told about are the ones that exist. ``docs/sandbox.md`` has the rest.
Pure text: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.sandbox.state import SEED_PERMISSIONS, SEED_TEAMS

SANDBOX_APP_ID = 1  # the seeded App (bot.sandbox.state._seed): slug release-bot, installation 1 on acme
SANDBOX_ORG = "acme"
SANDBOX_REPO = "acme/rocket"


def token_for(login: str) -> str:
    return f"sandbox-token-{login}"


@dataclass(frozen=True)
class SandboxEndpoints:
    """Where the sandbox and the bot listen, and the files a CLI command needs to join them."""

    web_url: str  # the sandbox's web root (also /_sandbox/*)
    api_url: str  # its REST base, …/api/v3
    bot_url: str  # the bot's web side (healthz, metrics, webhooks)
    webhook_path: str
    key_path: str  # the App's private key file
    queue_url: str  # the bot's store


def cli_environment(endpoints: SandboxEndpoints) -> str:
    """The environment a CLI command (jobs, reconcile, notes, protect) needs to act as the sandbox's App."""
    return (f"APP_ID={SANDBOX_APP_ID} PRIVATE_KEY_PATH={endpoints.key_path} "
            f"GITHUB_API_URL={endpoints.api_url} QUEUE_URL={endpoints.queue_url}")


def _teams_of(login: str) -> list[str]:
    return [f"{SANDBOX_ORG}/{slug}" for slug, members in SEED_TEAMS.items() if login in members]


def drive_me_lines(endpoints: SandboxEndpoints) -> list[str]:
    """The block itself, one line per element (the caller prints it its own way)."""
    lines = [
        f"  sandbox web root : {endpoints.web_url}   (controls: {endpoints.web_url}/_sandbox/…)",
        f"  sandbox REST API : {endpoints.api_url}",
        f"  dashboard        : {endpoints.bot_url}/   (sign in with GitHub: pick any user below)",
        f"  sandbox pages    : {endpoints.web_url}/{SANDBOX_REPO}   (every html_url the bot writes answers)",
        f"  bot health       : {endpoints.bot_url}/healthz   metrics: {endpoints.bot_url}/metrics",
        f"  bot webhooks     : {endpoints.bot_url}{endpoints.webhook_path}",
        f"  the App          : id {SANDBOX_APP_ID}, installed on {SANDBOX_ORG}, key {endpoints.key_path}",
        f"  CLI against it   : {cli_environment(endpoints)} release-bot jobs",
        f"                     (or reconcile, notes {SANDBOX_REPO} 1.4.0)",
        f"  users of {SANDBOX_REPO} (send 'Authorization: token <token>'):",
    ]
    for login, permission in SEED_PERMISSIONS.items():
        teams = ", ".join(_teams_of(login))
        owner = "  organization owner" if login == "admin" else ""
        row = f"    {login:<9} {token_for(login):<24} {permission:<8}{owner}{'  ' + teams if teams else ''}"
        lines.append(row.rstrip())
    lines.append("  more: docs/sandbox.md (endpoints, controls, fidelity)")
    return lines
