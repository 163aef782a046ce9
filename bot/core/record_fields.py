"""Fields of the release record (``bot.core.tracking.TrackingState``) read back tolerantly: the
release calendar's tag days and the announcements made. Bounded, so the record stays small
whatever a release goes through."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_TAG_DAYS = 60  # candidates of one release kept with their day
MAX_ANNOUNCED = 300  # announcements remembered per release (beyond, the first in sort order give way)


def tag_days_of(data: Any) -> dict[str, str]:
    if not isinstance(data, Mapping):
        return {}
    days = {str(k)[:100]: v for k, v in data.items() if isinstance(v, str) and _DATE_RE.match(v)}
    return dict(sorted(days.items())[:MAX_TAG_DAYS])


def announced_of(data: Any) -> tuple[str, ...]:
    if not isinstance(data, list):
        return ()
    return tuple(sorted({x[:120] for x in data if isinstance(x, str)}))[-MAX_ANNOUNCED:]
