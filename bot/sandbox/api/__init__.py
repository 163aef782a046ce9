"""The sandbox's REST API, one blueprint module per resource area.

Each module defines ``bp`` (a ``flask.Blueprint``); routes are written with their GitHub path after
``/api/v3`` (the app mounts API blueprints under that prefix) unless the module sets
``URL_PREFIX`` (web pages at the host root, ``/_sandbox``). To add an area: create the module and
add one line to ``MODULES``.
"""

from __future__ import annotations

MODULES: list[str] = [
    "bot.sandbox.api.meta",
    "bot.sandbox.api.repos",
    "bot.sandbox.api.git",
    "bot.sandbox.api.pulls",
    "bot.sandbox.api.checks",
    "bot.sandbox.api.protection",
    "bot.sandbox.api.releases",
    "bot.sandbox.api.deployments",
    "bot.sandbox.api.environments",
    "bot.sandbox.api.deploy_requests",
    "bot.sandbox.api.admin",
    # part 2 (issue side) registers its modules below this line
    "bot.sandbox.api.issues",
    "bot.sandbox.api.comments",
    "bot.sandbox.api.issue_events",
    "bot.sandbox.api.milestones",
    "bot.sandbox.api.labels",
    "bot.sandbox.api.reactions",
    "bot.sandbox.api.collaborators",
    "bot.sandbox.api.app_auth",
    "bot.sandbox.api.oauth",
    # the pages behind html_url (issue 12): web pages at the host root
    "bot.sandbox.pages",
    "bot.sandbox.pages_apps",
]
