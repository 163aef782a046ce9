"""GitHub's JSON → the frozen release facts of ``bot.core.release_types``, each timestamp parsed once.

The only place the release side reads a field of GitHub's JSON. Tolerant as GitHub's listings are
uneven (a missing field is its empty value), strict where a value decides something (ids are ints).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.core.release_types import Comment, Deployment, Item, Milestone, Release, Tag


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _login(user: object) -> str:
    return str(user.get("login") or "") if isinstance(user, Mapping) else ""


def _user_type(user: object) -> str:
    return str(user.get("type") or "") if isinstance(user, Mapping) else ""


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def milestone_of(data: Mapping[str, Any]) -> Milestone:
    return Milestone(
        number=int(data["number"]),
        title=str(data.get("title") or ""),
        state=str(data.get("state") or ""),
        due_on=parse_time(data.get("due_on")),
        due_on_text=_text(data.get("due_on")),
        created_at=parse_time(data.get("created_at")),
        closed_at=parse_time(data.get("closed_at")),
        html_url=str(data.get("html_url") or ""),
    )


def item_of(data: Mapping[str, Any]) -> Item:
    pull = data.get("pull_request")
    merged = pull.get("merged_at") if isinstance(pull, Mapping) else None
    milestone = data.get("milestone")
    labels = data.get("labels") or []
    return Item(
        number=int(data["number"]),
        title=str(data.get("title") or ""),
        body=str(data.get("body") or ""),
        state=str(data.get("state") or ""),
        state_reason=_text(data.get("state_reason")),
        author=_login(data.get("user")),
        author_type=_user_type(data.get("user")),
        labels=tuple(
            str(label.get("name", "")) if isinstance(label, Mapping) else str(label) for label in labels
        ),
        is_pull_request=bool(pull),
        merged_at=parse_time(merged),
        merged_at_text=_text(merged),
        created_at=parse_time(data.get("created_at")),
        milestone=milestone_of(milestone)
        if isinstance(milestone, Mapping) and "number" in milestone
        else None,
        html_url=str(data.get("html_url") or ""),
    )


def comment_of(data: Mapping[str, Any]) -> Comment:
    return Comment(
        id=int(data["id"]),
        body=str(data.get("body") or ""),
        author=_login(data.get("user")),
        author_type=_user_type(data.get("user")),
        created_at=parse_time(data.get("created_at")),
        updated_at=parse_time(data.get("updated_at")),
        created_at_text=str(data.get("created_at") or ""),
        updated_at_text=str(data.get("updated_at") or ""),
    )


def release_of(data: Mapping[str, Any]) -> Release:
    return Release(
        id=int(data.get("id") or 0),
        tag_name=str(data.get("tag_name") or ""),
        name=str(data.get("name") or ""),
        body=str(data.get("body") or ""),
        draft=bool(data.get("draft")),
        prerelease=bool(data.get("prerelease")),
        target_commitish=str(data.get("target_commitish") or ""),
        author=_login(data.get("author")),
        html_url=str(data.get("html_url") or ""),
        published_at=parse_time(data.get("published_at")),
    )


def tag_of(ref: Mapping[str, Any]) -> Tag | None:
    name = ref.get("ref")
    if not isinstance(name, str):
        return None
    target = ref.get("object")
    return Tag(
        name.removeprefix("refs/tags/"), str(target.get("sha") or "") if isinstance(target, Mapping) else ""
    )


def deployment_of(data: Mapping[str, Any], statuses: list[Mapping[str, Any]]) -> Deployment:
    return Deployment(
        id=int(data.get("id") or 0),
        ref=str(data.get("ref") or ""),
        environment=str(data.get("environment") or ""),
        states=tuple(str(s.get("state") or "") for s in statuses if isinstance(s, Mapping)),
    )
