"""What the release record remembers about a release's code freeze: ``FreezeState``. Pure.

Kept in ``TrackingState.freeze`` (``bot.core.tracking``), so inside the release record, a check
run only the App can write (``bot.core.release_record``): nobody can forge "frozen" or "thawed",
nor an exception, by editing the tracking issue. ``from_json`` is tolerant (an older record has no
``freeze`` key and reads as ``None``), and ``to_json`` only exists for releases of a repository
with a freeze configured, so other records are unchanged byte for byte.

Exceptions are granted and bound to a commit in the pull request's own freeze check run
(``bot.core.freeze.exceptions``); the release record lists each one once the release reconciler
has read it back from that check run (verified: the App's, by name and commit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.stages import STAGES

MAX_EXCEPTIONS = 50  # listed per release: with the reasons bounded, the record stays well under 65k
MAX_REASON = 200
MAX_BRANCHES = 20

MANUAL_FROZEN = "frozen"
MANUAL_THAWED = "thawed"

CAUSE_STAGE = "stage"
CAUSE_DUE = "due"
CAUSE_MANUAL = "manual"

LIFTED_ENDS = "ends"
LIFTED_CLOSED = "closed"
LIFTED_THAWED = "thawed"
LIFTED_UNCONFIGURED = "unconfigured"  # ``releases.freeze`` was removed from the configuration
LIFTED_WINDOW = "window"  # back before the window opens (the due date moved later, say)

_LIFTED = (LIFTED_ENDS, LIFTED_CLOSED, LIFTED_THAWED, LIFTED_UNCONFIGURED, LIFTED_WINDOW)

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_SHA_RE = re.compile(r"^[0-9a-f]{7,64}$")
_LOGIN_RE = re.compile(r"^[A-Za-z0-9-]+(?:\[bot\])?$")


def _date(value: Any) -> str:
    return value if isinstance(value, str) and _DATE_RE.match(value) else ""


def _time(value: Any) -> str:
    return value if isinstance(value, str) and _TIME_RE.match(value) else ""


def _login(value: Any) -> str:
    return value if isinstance(value, str) and _LOGIN_RE.match(value) and len(value) <= 60 else ""


def _detail(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return value if value in STAGES or (value.isdigit() and len(value) <= 3) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


@dataclass(frozen=True)
class FreezeException:
    """One ``/exception <reason>``: the pull request, the commit and base branch it holds for, who
    granted it and when (GitHub's time of the comment), why; and its withdrawal, if any."""

    pr: int
    sha: str
    base: str
    by: str
    at: str
    reason: str
    comment: int
    withdrawn_by: str = ""
    withdrawn_at: str = ""

    @property
    def key(self) -> tuple[int, str, int]:
        return (self.pr, self.sha, self.comment)

    @property
    def withdrawn(self) -> bool:
        return bool(self.withdrawn_at)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pr": self.pr,
            "sha": self.sha,
            "base": self.base,
            "by": self.by,
            "at": self.at,
            "reason": self.reason,
            "comment": self.comment,
        }
        if self.withdrawn_at:
            data["withdrawn_by"] = self.withdrawn_by
            data["withdrawn_at"] = self.withdrawn_at
        return data

    @classmethod
    def from_json(cls, data: Any) -> FreezeException | None:
        if not isinstance(data, Mapping):
            return None
        pr, comment = _int(data.get("pr")), _int(data.get("comment"))
        sha, base = data.get("sha"), data.get("base")
        by, at = _login(data.get("by")), _time(data.get("at"))
        if pr is None or comment is None or not by or not at:
            return None
        if not isinstance(sha, str) or not _SHA_RE.match(sha) or not isinstance(base, str) or not base:
            return None
        reason = data.get("reason")
        withdrawn_at = _time(data.get("withdrawn_at"))
        return cls(
            pr=pr,
            sha=sha,
            base=base[:255],
            by=by,
            at=at,
            reason=str(reason)[:MAX_REASON] if isinstance(reason, str) else "",
            comment=comment,
            withdrawn_by=_login(data.get("withdrawn_by")) if withdrawn_at else "",
            withdrawn_at=withdrawn_at,
        )


def exceptions_from_json(data: Any, limit: int = MAX_EXCEPTIONS) -> tuple[FreezeException, ...]:
    parsed = (FreezeException.from_json(x) for x in (data if isinstance(data, list) else ()))
    return tuple(x for x in parsed if x is not None)[:limit]


@dataclass(frozen=True)
class FreezeState:
    """The freeze of one release, as the last reconcile decided it.

    ``since``: the day the current freeze began (recorded once, so the check run and the tracking
    issue never depend on the clock); ``cause``: what started it; ``manual``: the last ``/freeze``
    or ``/thaw`` (``by``, and the stage it was given in: a hand request made before ``ends`` is
    forgotten when the release reaches ``ends``); ``lifted``/``lifted_why``: the last lift.
    """

    version: str = ""
    active: bool = False
    since: str = ""
    cause: str = ""
    by: str = ""
    manual: str = ""
    manual_stage: str = ""
    lifted: str = ""
    lifted_why: str = ""
    branches: tuple[str, ...] = ()  # the frozen branches, as configured (for the tracking issue)
    detail: str = ""  # what started it: the stage id (cause stage) or the days before the due date
    exceptions: tuple[FreezeException, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"active": self.active, "version": self.version}
        for name in ("since", "cause", "by", "manual", "manual_stage", "lifted", "lifted_why", "detail"):
            value = getattr(self, name)
            if value:
                data[name] = value
        if self.branches:
            data["branches"] = list(self.branches)
        if self.exceptions:
            data["exceptions"] = [x.to_json() for x in self.exceptions]
        return data

    @classmethod
    def from_json(cls, data: Any) -> FreezeState | None:
        if not isinstance(data, Mapping):
            return None

        def one_of(name: str, allowed: tuple[str, ...]) -> str:
            value = data.get(name)
            return value if isinstance(value, str) and value in allowed else ""

        version = data.get("version")
        branches = data.get("branches")
        return cls(
            version=version[:64] if isinstance(version, str) else "",
            active=data.get("active") is True,
            since=_date(data.get("since")),
            cause=one_of("cause", (CAUSE_STAGE, CAUSE_DUE, CAUSE_MANUAL)),
            by=_login(data.get("by")),
            manual=one_of("manual", (MANUAL_FROZEN, MANUAL_THAWED)),
            manual_stage=one_of("manual_stage", STAGES),
            lifted=_date(data.get("lifted")),
            lifted_why=one_of("lifted_why", _LIFTED),
            branches=tuple(str(b)[:255] for b in branches if isinstance(b, str))[:MAX_BRANCHES]
            if isinstance(branches, list)
            else (),
            exceptions=exceptions_from_json(data.get("exceptions")),
            detail=_detail(data.get("detail")),
        )


def merge_exceptions(
    known: tuple[FreezeException, ...], reported: tuple[FreezeException, ...]
) -> tuple[FreezeException, ...]:
    """The release's list with the exceptions read back from pull requests' freeze checks: new ones
    appended in the order given, a withdrawal recorded on the one it withdraws (never undone)."""
    out = list(known)
    index = {x.key: i for i, x in enumerate(out)}
    for item in reported:
        at = index.get(item.key)
        if at is None:
            index[item.key] = len(out)
            out.append(item)
        elif item.withdrawn and not out[at].withdrawn:
            out[at] = item
    # Bounded: the oldest go first (the pull requests' own checks keep theirs).
    return tuple(out[-MAX_EXCEPTIONS:])
