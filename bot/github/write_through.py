"""What a successful write of the bot's does to the GET answers the read cache keeps (pure).

GitHub's answer to a write is GitHub's own word on the object as it stands after it: the edited
issue, its labels, the check run, the release. So the bot never has to read its own write back:
``rewrite`` says, for one cached GET answer of the same repository, whether the write

- changed it in a way its answer shows exactly (``Rewritten``: the element replaced, the labels
  set, a new check run or release put where GitHub lists it),
- provably did not change it (``UNAFFECTED``: another object, or a filter the write cannot move
  the object into or out of), or
- may have changed it in a way this module cannot replay (``None``: the answer is asked for again,
  as before write-through existed — an item moved into a milestone, a page boundary shifted).

Only what can be replayed exactly is: an element's position in a list is stable where it is
replaced (issues by creation, check runs by id), a new check run or release goes first (GitHub
lists them newest first) and only on a one-page answer, and a list with a filter this module does
not evaluate is never rewritten. ``written_gets`` names the GETs of the written object itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

_ISSUE = re.compile(r"^/issues/(\d+)$")
_ISSUE_LABELS = re.compile(r"^/issues/(\d+)/labels(/[^/]+)?$")
_CHECK_RUN = re.compile(r"^/check-runs/(\d+)$")
_RELEASE = re.compile(r"^/releases/(\d+)$")
_CHECK_LISTING = re.compile(r"^/commits/([0-9a-f]{40})/check-runs$")
_ANY_CHECK_LISTING = re.compile(r"^/commits/[^/]+/check-runs$")
_ISSUE_COMMENTS = re.compile(r"^/issues/(\d+)/comments$")
_COMMENT = re.compile(r"^/issues/comments/(\d+)$")
_COMMENT_REACTIONS = re.compile(r"^/issues/comments/(\d+)/reactions(/\d+)?$")

# Query parameters of list answers whose filter ``rewrite`` evaluates; any other is never rewritten.
_ISSUE_LIST_PARAMS = frozenset({"milestone", "state", "per_page", "page"})
_CHECK_LIST_PARAMS = frozenset({"check_name", "app_id", "filter", "per_page", "page"})
_RELEASE_LIST_PARAMS = frozenset({"per_page", "page"})
_COMMENT_LIST_PARAMS = frozenset({"since", "per_page", "page"})


class _Unaffected:
    def __repr__(self) -> str:
        return "UNAFFECTED"


UNAFFECTED: Final = _Unaffected()


@dataclass(frozen=True)
class Rewritten:
    body: Any  # the answer's JSON as GitHub would now send it (as far as the bot reads it)
    whole: bool = False  # the write's answer is the whole object: nothing of the old body is left


@dataclass(frozen=True)
class Write:
    verb: str  # POST, PATCH, PUT, DELETE
    rest: str  # the path after /repos/{owner}/{name}, e.g. "/issues/5/labels"
    request: Any  # the JSON the bot sent (None without a body)
    response: Any  # GitHub's JSON answer (None for an empty 2xx)


Outcome = Rewritten | _Unaffected | None


def written_gets(write: Write) -> list[tuple[str, Any]]:
    """The GETs (path after the repository) whose whole answer is the write's answer."""
    answer = write.response
    if not isinstance(answer, Mapping) or not isinstance(answer.get("id"), int):
        return []
    if write.verb == "PATCH" and _ISSUE.match(write.rest) and isinstance(answer.get("number"), int):
        return [(f"/issues/{answer['number']}", answer)]
    if (write.verb == "PATCH" and _COMMENT.match(write.rest)) or (
        write.verb == "POST" and _ISSUE_COMMENTS.match(write.rest)
    ):
        return [(f"/issues/comments/{answer['id']}", answer)]
    if (write.verb == "PATCH" and _CHECK_RUN.match(write.rest)) or (
        write.verb == "POST" and write.rest == "/check-runs"
    ):
        return [(f"/check-runs/{answer['id']}", answer)]
    if (write.verb == "PATCH" and _RELEASE.match(write.rest)) or (
        write.verb == "POST" and write.rest == "/releases"
    ):
        return [(f"/releases/{answer['id']}", answer)]
    return []


def rewrite(write: Write, rest: str, params: Mapping[str, str], body: Any, single_page: bool) -> Outcome:
    """What ``write`` did to the cached GET of ``rest`` (with query ``params``) answered ``body``;
    ``single_page``: that answer is the whole list (no next link, first page)."""
    if params and any(pattern.match(rest) for pattern in (_ISSUE, _CHECK_RUN, _RELEASE)):
        return None  # a single object read with parameters: not the representation the write answered
    if _ISSUE.match(write.rest) or write.rest == "/issues":
        return _issue_written(write, rest, params, body, single_page)
    if _ISSUE_LABELS.match(write.rest):
        return _labels_written(write, rest, params, body)
    if _CHECK_RUN.match(write.rest) or write.rest == "/check-runs":
        return _check_run_written(write, rest, params, body, single_page)
    if _RELEASE.match(write.rest) or write.rest == "/releases":
        return _release_written(write, rest, params, body, single_page)
    if any(p.match(write.rest) for p in (_ISSUE_COMMENTS, _COMMENT, _COMMENT_REACTIONS)):
        return _comment_written(write, rest, params, body, single_page)
    return None


# --------------------------------------------------------------------------- issues


def _issue_written(
    write: Write, rest: str, params: Mapping[str, str], body: Any, single_page: bool
) -> Outcome:
    issue = write.response
    if write.verb not in ("PATCH", "POST") or not isinstance(issue, Mapping):
        return None
    number = issue.get("number")
    if not isinstance(number, int):
        return None
    single = _ISSUE.match(rest)
    if single:
        return Rewritten(dict(issue), whole=True) if int(single.group(1)) == number else UNAFFECTED
    if rest != "/issues" or not set(params) <= _ISSUE_LIST_PARAMS or not isinstance(body, list):
        return None
    included = _issue_in_filter(issue, params)
    if included is None:
        return None
    at = _index(body, "number", number)
    if at is not None:
        if not included:
            return None  # it left the list: the pages after it shift (asked again)
        rewritten = list(body)
        rewritten[at] = dict(issue)
        return Rewritten(rewritten)
    if included:
        if write.verb == "POST" and single_page and _fits(params, len(body)):
            return Rewritten([dict(issue), *body])  # the newest issue: first, as GitHub lists them
        return None  # it moved in: where (by when it was created), the next read says
    request = write.request if isinstance(write.request, Mapping) else {}
    if write.verb == "POST" or not ({"milestone", "state"} & set(request)):
        return UNAFFECTED  # never in it, or the write cannot have moved it out
    # Moved out of the list's filter, or never in it: only a whole list proves which.
    return UNAFFECTED if single_page else None


def _issue_in_filter(issue: Mapping[str, Any], params: Mapping[str, str]) -> bool | None:
    """Whether the issue list with ``params`` shows ``issue`` (None: a filter value not understood)."""
    state = params.get("state", "open")
    if state not in ("open", "closed", "all"):
        return None
    if state != "all" and issue.get("state") != state:
        return False
    wanted = params.get("milestone")
    if wanted is None:
        return True
    milestone = issue.get("milestone")
    number = milestone.get("number") if isinstance(milestone, Mapping) else None
    if wanted == "*":
        return number is not None
    if wanted == "none":
        return number is None
    if not wanted.isdigit():
        return None
    return number == int(wanted)


def _labels_written(write: Write, rest: str, params: Mapping[str, str], body: Any) -> Outcome:
    match = _ISSUE_LABELS.match(write.rest)
    assert match is not None
    number = int(match.group(1))
    labels = write.response
    if write.verb == "DELETE" and match.group(2) is None and labels is None:
        labels = []  # every label removed: GitHub answers 204
    if write.verb not in ("POST", "PUT", "DELETE") or not isinstance(labels, list):
        return None
    single = _ISSUE.match(rest)
    if single:
        if int(single.group(1)) != number:
            return UNAFFECTED
        return Rewritten({**body, "labels": list(labels)}) if isinstance(body, Mapping) else None
    if rest != "/issues" or not set(params) <= _ISSUE_LIST_PARAMS or not isinstance(body, list):
        return None
    at = _index(body, "number", number)
    if at is None:
        return UNAFFECTED  # labels move no item into or out of a milestone's or a state's list
    rewritten = list(body)
    rewritten[at] = {**rewritten[at], "labels": list(labels)}
    return Rewritten(rewritten)


# --------------------------------------------------------------------------- check runs


def _check_run_written(
    write: Write, rest: str, params: Mapping[str, str], body: Any, single_page: bool
) -> Outcome:
    run = write.response
    if write.verb not in ("PATCH", "POST") or not isinstance(run, Mapping):
        return None
    if not isinstance(run.get("id"), int):
        return None
    single = _CHECK_RUN.match(rest)
    if single:
        return Rewritten(dict(run), whole=True) if int(single.group(1)) == run["id"] else UNAFFECTED
    if not _ANY_CHECK_LISTING.match(rest):
        return None
    listing = _CHECK_LISTING.match(rest)
    if listing is None or not set(params) <= _CHECK_LIST_PARAMS:
        return None  # a branch name or HEAD (which commit it is now, this module cannot say)
    if listing.group(1) != run.get("head_sha"):
        return UNAFFECTED  # a check run belongs to one commit
    if "check_name" in params and params["check_name"] != run.get("name"):
        return UNAFFECTED
    app = run.get("app")
    app_id = app.get("id") if isinstance(app, Mapping) else None
    if "app_id" in params and params["app_id"] != str(app_id):
        return UNAFFECTED
    if params.get("filter", "latest") != "all" or not isinstance(body, Mapping):
        return None  # "latest" hides older runs of a name: which one shows, the next read says
    runs = body.get("check_runs")
    if not isinstance(runs, list):
        return None
    at = _index(runs, "id", run["id"])
    if at is not None:
        rewritten = list(runs)
        rewritten[at] = dict(run)
        return Rewritten({**body, "check_runs": rewritten})
    if write.verb != "POST" or not single_page or not _fits(params, len(runs)):
        return None
    total = body.get("total_count")
    new_total = total + 1 if isinstance(total, int) else len(runs) + 1
    return Rewritten({**body, "total_count": new_total, "check_runs": [dict(run), *runs]})


# --------------------------------------------------------------------------- releases


def _release_written(
    write: Write, rest: str, params: Mapping[str, str], body: Any, single_page: bool
) -> Outcome:
    release = write.response
    if (
        write.verb not in ("PATCH", "POST")
        or not isinstance(release, Mapping)
        or not isinstance(release.get("id"), int)
    ):
        return None
    single = _RELEASE.match(rest)
    if single:
        return Rewritten(dict(release), whole=True) if int(single.group(1)) == release["id"] else UNAFFECTED
    if rest != "/releases" or not set(params) <= _RELEASE_LIST_PARAMS or not isinstance(body, list):
        return None
    at = _index(body, "id", release["id"])
    if at is not None:
        rewritten = list(body)
        rewritten[at] = dict(release)
        return Rewritten(rewritten)
    if write.verb != "POST" or not single_page or not _fits(params, len(body)):
        return None
    return Rewritten([dict(release), *body])  # newest first, as GitHub lists them


# --------------------------------------------------------------------------- comments


def _comment_written(
    write: Write, rest: str, params: Mapping[str, str], body: Any, single_page: bool
) -> Outcome:
    """An issue's comment posted, edited or deleted, or a reaction to one, and the cached comment
    lists of the repository (oldest first, as GitHub lists them; ``since``: updated at or after)."""
    single = _COMMENT.match(rest)
    listing = _ISSUE_COMMENTS.match(rest)
    if params and single:
        return None
    reaction = _COMMENT_REACTIONS.match(write.rest)
    comment = write.response
    if reaction is not None:
        # A reaction changes the rollup of its comment, not which comments a list shows.
        target = int(reaction.group(1))
        if single:
            return UNAFFECTED if int(single.group(1)) != target else None
        if listing is None or not isinstance(body, list) or not set(params) <= _COMMENT_LIST_PARAMS:
            return None
        return None if _index(body, "id", target) is not None or not single_page else UNAFFECTED
    written_id = int(m.group(1)) if (m := _COMMENT.match(write.rest)) else None
    if write.verb == "DELETE":
        if single:
            return UNAFFECTED if int(single.group(1)) != written_id else None
        if listing is None or not isinstance(body, list) or not set(params) <= _COMMENT_LIST_PARAMS:
            return None
        at = _index(body, "id", written_id) if written_id is not None else None
        if at is None:
            return UNAFFECTED if single_page else None
        return Rewritten([c for i, c in enumerate(body) if i != at]) if single_page else None
    if write.verb not in ("POST", "PATCH") or not isinstance(comment, Mapping):
        return None
    if not isinstance(comment.get("id"), int):
        return None
    if single:
        return Rewritten(dict(comment), whole=True) if int(single.group(1)) == comment["id"] else UNAFFECTED
    if listing is None or not isinstance(body, list) or not set(params) <= _COMMENT_LIST_PARAMS:
        return None
    issue_url = comment.get("issue_url")
    if not isinstance(issue_url, str) or not issue_url.rstrip("/").endswith(f"/issues/{listing.group(1)}"):
        return UNAFFECTED  # a comment belongs to one issue
    at = _index(body, "id", comment["id"])
    if at is not None:
        rewritten = list(body)
        rewritten[at] = dict(comment)
        return Rewritten(rewritten)
    since = _moment(params.get("since")) if "since" in params else None
    updated = _moment(comment.get("updated_at"))
    if "since" in params and (since is None or updated is None or updated < since):
        return None  # whether the list shows it, the next read says
    if write.verb == "POST" and single_page and _fits(params, len(body)):
        return Rewritten([*body, dict(comment)])  # the newest comment: last, as GitHub lists them
    return None


def _moment(stamp: object) -> datetime | None:
    """A GitHub timestamp (``2026-12-03T05:44:31Z``), or None when it is not one."""
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


# --------------------------------------------------------------------------- helpers


def _index(items: list[Any], field: str, value: int) -> int | None:
    return next(
        (i for i, item in enumerate(items) if isinstance(item, Mapping) and item.get(field) == value), None
    )


def _fits(params: Mapping[str, str], count: int) -> bool:
    """One more element still fits on the page (else the last one moves to a next page)."""
    per_page = params.get("per_page", "30")
    return per_page.isdigit() and count + 1 <= int(per_page)


def write_of(url: str, verb: str, status: int | None, output: object, request_body: object) -> Write | None:
    """The write as write-through needs it, when GitHub accepted it (2xx) with a JSON answer."""
    if status is None or not 200 <= status < 300 or verb == "GET":
        return None
    path = urlsplit(url).path.rstrip("/")
    parts = path.split("/")
    if "repos" not in parts:
        return None
    at = parts.index("repos")
    if len(parts) < at + 3:
        return None
    rest = "/" + "/".join(parts[at + 3 :]) if len(parts) > at + 3 else ""
    try:
        response = json.loads(output) if isinstance(output, str) and output else None
        request = json.loads(request_body) if isinstance(request_body, str | bytes) and request_body else None
    except ValueError:
        return None
    return Write(verb=verb, rest=rest, request=request, response=response)
