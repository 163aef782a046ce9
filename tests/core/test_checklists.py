"""Stage checklists: defaults, configuration over them, reading ticked boxes (pure)."""

from __future__ import annotations

import pytest

from bot.core.checklists import DEFAULT_CHECKLISTS, all_checklists, checklist_for, parse_progress
from bot.core.stages import STAGES


def test_every_stage_has_a_default_checklist() -> None:
    assert set(DEFAULT_CHECKLISTS) == set(STAGES)
    for stage, checklist in all_checklists({}).items():
        assert checklist.items, stage
        assert checklist.owners == ()


def test_config_overrides_title_owners_and_items() -> None:
    cfg = {
        "stages": {
            "deploy": {
                "owners": ["@acme/release-managers", "releaser", "bad name"],
                "checklist": ["Ship it"],
            },
            "plan": {"title": "Planning"},
        }
    }
    deploy = checklist_for("deploy", cfg)
    assert deploy.owners == ("@acme/release-managers", "@releaser")
    assert deploy.items == ("Ship it",)
    plan = checklist_for("plan", cfg)
    assert plan.title == "Planning" and plan.items == DEFAULT_CHECKLISTS["plan"]
    assert checklist_for("uat", {"stages": {"uat": {"checklist": []}}}).items == ()
    with pytest.raises(ValueError):
        checklist_for("nope", {})


def test_parse_progress() -> None:
    body = "\n".join(
        [
            "<!-- release-bot:stage:1:deploy -->",
            "### Deploy",
            "- [x] Deployed",
            "* [X] Smoke tests",
            "- [ ] Announce",
            "1. [ ] numbered",
            "  - [x] nested",
            "<!--",
            "- [x] hidden",
            "-->",
            "```",
            "- [x] in code",
            "```",
            "- [x]no space is not a task",
        ]
    )
    progress = parse_progress(body)
    assert (progress.ticked, progress.total) == (3, 5)
    assert progress.unticked == ("Announce", "numbered")
    assert not progress.complete
    assert parse_progress("- [x] a\n- [x] b").complete
    assert parse_progress(None).total == 0
