"""Deployments wait for the release: the bot as a custom deployment protection rule. Pure.

GitHub asks the App (``deployment_protection_rule``) whether a deployment to a protected
environment may go ahead; the answer is ``approved`` or ``rejected`` with a comment saying why
and what to do (docs/deployments.md). The package, by concern: ``settings`` (``deploy:``
configuration, typed), ``facts`` (the deployment asked about and what the release shows, built
from the release's own facts and record), ``decide`` (``decide_deployment``: the verdict and its
texts). Callers import from ``bot.core.deploy``.
"""

from __future__ import annotations

from bot.core.deploy.decide import DeployDecision, decide_deployment, deploy_note_marker, render_note
from bot.core.deploy.facts import (
    CANDIDATE,
    FINAL,
    OTHER,
    DeploymentAsked,
    ReleaseAtRef,
    SignOff,
    classify_ref,
    release_at_ref,
)
from bot.core.deploy.settings import DeploySettings, EnvironmentRule

__all__ = [
    "CANDIDATE",
    "FINAL",
    "OTHER",
    "DeployDecision",
    "DeploySettings",
    "DeploymentAsked",
    "EnvironmentRule",
    "ReleaseAtRef",
    "SignOff",
    "classify_ref",
    "decide_deployment",
    "deploy_note_marker",
    "release_at_ref",
    "render_note",
]
