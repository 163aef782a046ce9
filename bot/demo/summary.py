"""API calls per actor, from the sandbox's request log (`GET /_sandbox/requests`).

The bot appears as two actors: `release-bot[bot]` (its installation tokens) and `app` (its JWT,
used to mint those tokens). People appear by login; `admin` includes the demo's own read-backs.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

BOT_ACTORS = ("release-bot[bot]", "app")
_NUMBER = re.compile(r"/\d+(?=/|$)")
_SHA = re.compile(r"/[0-9a-f]{40}(?=/|$)")


class RequestLog:
    """Reads the sandbox's request log incrementally; keeps every row seen."""

    def __init__(self, sandbox_base_url: str) -> None:
        self._url = sandbox_base_url + "/_sandbox/requests"
        self.rows: list[dict[str, Any]] = []
        self.seq = 0

    def fetch(self) -> list[dict[str, Any]]:
        """The rows logged since the previous fetch."""
        new = list(httpx.get(self._url, params={"since": self.seq}, timeout=30).json())
        if new:
            self.seq = int(new[-1]["seq"])
            self.rows.extend(new)
        return new


@dataclass(frozen=True)
class Calls:
    reads: int = 0
    writes: int = 0

    @property
    def total(self) -> int:
        return self.reads + self.writes

    def __str__(self) -> str:
        return f"{self.total} API calls ({self.reads} reads, {self.writes} writes)"


def is_write(row: dict[str, Any]) -> bool:
    return str(row.get("method")).upper() not in ("GET", "HEAD")


def bot_calls(rows: Iterable[dict[str, Any]]) -> Calls:
    ours = [r for r in rows if r.get("actor") in BOT_ACTORS]
    writes = sum(1 for r in ours if is_write(r))
    return Calls(reads=len(ours) - writes, writes=writes)


def per_actor(rows: Iterable[dict[str, Any]]) -> dict[str, Calls]:
    reads: Counter[str] = Counter()
    writes: Counter[str] = Counter()
    for row in rows:
        actor = str(row.get("actor") or "anonymous")
        (writes if is_write(row) else reads)[actor] += 1
    return {a: Calls(reads[a], writes[a]) for a in sorted(set(reads) | set(writes))}


def endpoint(row: dict[str, Any]) -> str:
    """'POST /repos/acme/rocket/issues/{n}/comments': ids and shas folded so calls group."""
    path = str(row.get("path") or "").split("?", 1)[0]
    path = _SHA.sub("/{sha}", _NUMBER.sub("/{n}", path))
    return f"{row.get('method')} {path}"


def bot_writes_by_endpoint(rows: Sequence[dict[str, Any]]) -> list[tuple[str, int]]:
    counts = Counter(endpoint(r) for r in rows if r.get("actor") in BOT_ACTORS and is_write(r))
    return counts.most_common()
