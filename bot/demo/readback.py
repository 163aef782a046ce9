"""What the bot did, read back from the sandbox as a person would see it on GitHub.

Everything the bot writes is found the way the bot finds it again: by its login and its hidden
markers (docs/ARCHITECTURE.md), never by remembering ids — so the demo checks the product's real
output, not what the demo expects it to be.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.demo.actors import Actor

BOT_LOGIN = "release-bot[bot]"  # the sandbox App's bot user (docs/sandbox-contract.md)
APP_ID = 1
_STAGE_MARKER = re.compile(r"<!-- release-bot:stage:(\d+):(\w+) -->")


@dataclass(frozen=True)
class StageRow:
    """One row of the tracking issue's stage table: | Stage | State | Began | Checklist |."""

    title: str
    state: str  # as shown: "✅ done", "▶️ current", "⏭️ skipped", "⏳ pending"
    began: str
    checklist: str

    @property
    def is_current(self) -> bool:
        return "current" in self.state

    @property
    def is_done(self) -> bool:
        return "done" in self.state


def stage_table(body: str) -> list[StageRow]:
    """The rows of the table under '### Stages' (empty when the body has none)."""
    rows: list[StageRow] = []
    inside = False
    for line in body.splitlines():
        if line.startswith("### "):
            inside = line.strip() == "### Stages"
            continue
        if not inside or not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or cells[0] == "Stage" or set(cells[0]) <= {"-", ":"}:
            continue
        rows.append(StageRow(*cells[:4]))
    return rows


def current_stage(body: str) -> str | None:
    """The title of the stage marked current, None when no stage is (e.g. the release ended)."""
    return next((row.title for row in stage_table(body) if row.is_current), None)


def is_bot(item: dict[str, Any]) -> bool:
    return ((item.get("user") or item.get("author") or {}).get("login")) == BOT_LOGIN


def tracking_issue(reader: Actor, milestone: int) -> dict[str, Any] | None:
    marker = f"<!-- release-bot:tracking:{milestone} -->"
    items = reader.get("issues", milestone=milestone, state="all", per_page=100)
    found = [i for i in items if is_bot(i) and "pull_request" not in i and marker in (i.get("body") or "")]
    return found[0] if found else None


def comments(reader: Actor, number: int) -> list[dict[str, Any]]:
    return list(reader.get(f"issues/{number}/comments", per_page=100))


def stage_comments(reader: Actor, number: int) -> dict[str, dict[str, Any]]:
    """The bot's checklist comment per stage id, in the order they were posted."""
    out: dict[str, dict[str, Any]] = {}
    for comment in comments(reader, number):
        match = _STAGE_MARKER.search(comment.get("body") or "")
        if match and is_bot(comment):
            out.setdefault(match.group(2), comment)
    return out


def bot_comments(reader: Actor, number: int, containing: str = "") -> list[dict[str, Any]]:
    return [c for c in comments(reader, number) if is_bot(c) and containing in (c.get("body") or "")]


def reactions(reader: Actor, comment_id: int) -> list[tuple[str, str]]:
    """(content, login) of each reaction on an issue comment."""
    return [(r["content"], r["user"]["login"]) for r in reader.get(f"issues/comments/{comment_id}/reactions")]


def labels(reader: Actor, number: int) -> set[str]:
    return {label["name"] for label in reader.get(f"issues/{number}")["labels"]}


def gate_check(reader: Actor, sha: str, check_name: str = "release-bot/gate") -> dict[str, Any] | None:
    """The App's gate check run on a commit (a look-alike from another source does not count)."""
    runs = reader.get(f"commits/{sha}/check-runs", check_name=check_name)["check_runs"]
    ours = [r for r in runs if (r.get("app") or {}).get("id") == APP_ID]
    return ours[0] if ours else None


def notes_release(reader: Actor, milestone: int) -> dict[str, Any] | None:
    """The bot's release for a milestone (draft or published), found by its notes marker."""
    marker = f"<!-- release-bot:notes:{milestone} -->"
    for release in reader.get("releases", per_page=100):
        if marker in (release.get("body") or ""):
            return dict(release)
    return None


def section(body: str, heading: str) -> list[str]:
    """The '- ' lines under '### heading' (release notes and tracking bodies use '###')."""
    out: list[str] = []
    inside = False
    for line in body.splitlines():
        if line.startswith("### "):
            inside = line.strip() == f"### {heading}"
            continue
        if inside and line.startswith("- "):
            out.append(line)
    return out


def headed_lines(body: str) -> list[tuple[str, str]]:
    """(heading, line) for each '- ' line of a notes body, to print the draft compactly."""
    out: list[tuple[str, str]] = []
    heading = ""
    for line in body.splitlines():
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("- "):
            out.append((heading, line[2:]))
    return out
