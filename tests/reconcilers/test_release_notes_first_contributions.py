"""First contributions in the notes plan: read only for the formats that show them, at most a few
authors per rebuild, each author once (what is known is passed back in)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.notes.model import NoteItem
from bot.core.notes.plan import NotesFacts, notes_targets
from bot.core.versions import Version
from bot.reconcilers import release_notes


def item(number: int, author: str) -> NoteItem:
    return NoteItem(
        number,
        f"Change {number}",
        author,
        f"https://github.com/acme/rocket/pull/{number}",
        merged_at=f"2026-01-{number:02d}T00:00:00Z",
    )


ITEMS = tuple(item(n, f"user{n}") for n in range(1, 8))


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    targets = notes_targets({}, Version(1, 4, 0), ["v1.3.0"], None)
    facts = NotesFacts(targets, 7, "acme", "rocket", "https://github.com", "main", ITEMS, None)
    monkeypatch.setattr(release_notes, "read_notes_facts", lambda *a, **k: facts)
    calls: list[str] = []

    def first_merged_pull(_gh: Any, _repo: str, login: str) -> int:
        calls.append(login)
        return 1 if login == "user1" else 0  # user1's first pull request is #1; the others' are older

    monkeypatch.setattr(release_notes.contributions_io, "first_merged_pull", first_merged_pull)
    return calls


def config(**sources: Any) -> dict[str, Any]:
    return {"notes": {}, "_sources": {"release_yml": None, "release_drafter_yml": None, **sources}}


def test_release_bots_format_reads_nothing(reads: list[str]) -> None:
    plan = release_notes.plan_notes(None, "acme/rocket", config(), None, first_pulls={}, max_first_reads=4)  # type: ignore[arg-type]
    assert reads == [] and plan.unresolved_first == 0


def test_github_format_reads_a_few_per_rebuild_and_each_author_once(reads: list[str]) -> None:
    known: dict[str, int] = {}
    cfg = config(release_yml={"changelog": {}})
    plan = release_notes.plan_notes(None, "acme/rocket", cfg, None, first_pulls=known, max_first_reads=4)  # type: ignore[arg-type]
    assert len(reads) == 4 and plan.unresolved_first == 3
    plan = release_notes.plan_notes(None, "acme/rocket", cfg, None, first_pulls=known, max_first_reads=4)  # type: ignore[arg-type]
    assert len(reads) == 7 and plan.unresolved_first == 0 and len(set(reads)) == 7
    markdown = plan.render(None).markdown
    assert (
        "## New Contributors\n* @user1 made their first contribution in https://github.com/acme/rocket/pull/1\n\n"
        in markdown
    )
    release_notes.plan_notes(None, "acme/rocket", cfg, None, first_pulls=known, max_first_reads=4)  # type: ignore[arg-type]
    assert len(reads) == 7  # everything known: no read


def test_drafter_format_reads_only_with_new_contributors(reads: list[str]) -> None:
    plain = config(release_drafter_yml={"template": "$CHANGES"})
    release_notes.plan_notes(None, "acme/rocket", plain, None, first_pulls={}, max_first_reads=4)  # type: ignore[arg-type]
    assert reads == []
    wanted = config(release_drafter_yml={"template": "$CHANGES\n$NEW_CONTRIBUTORS"})
    plan = release_notes.plan_notes(
        None, "acme/rocket", wanted, None, first_pulls={"user1": 1}, max_first_reads=9
    )  # type: ignore[arg-type]
    assert "user1" not in reads and len(reads) == 6
    assert plan.render(None).markdown.endswith("* @user1 made their first contribution in #1")
