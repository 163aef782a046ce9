"""``announce:`` typed: the channels a repository announces its releases to (``bot.core.announce``).

The defaults of a channel's keys (``format``, ``when``) are read from ``schema.json``, the only
place a default is written: the items of a list get no defaults from the merge (lists replace).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.config.defaults import load_schema
from bot.core.announce import Channel


@dataclass(frozen=True)
class AnnounceConfig:
    channels: tuple[Channel, ...] = ()


@cache
def _item_defaults() -> tuple[str, tuple[str, ...]]:
    item = load_schema()["properties"]["announce"]["properties"]["channels"]["items"]["properties"]
    return str(item["format"]["default"]), tuple(item["when"]["default"])


def announce_config(mapping: Mapping[str, Any]) -> AnnounceConfig:
    """From the effective (validated, defaulted) configuration; a channel named twice keeps its first."""
    section = mapping.get("announce") or {}
    fmt_default, when_default = _item_defaults()
    channels: dict[str, Channel] = {}
    for entry in section.get("channels") or ():
        if not isinstance(entry, Mapping) or not entry.get("name") or not entry.get("url_env"):
            continue
        name = str(entry["name"])
        channels.setdefault(
            name,
            Channel(
                name=name,
                url_env=str(entry["url_env"]),
                format=str(entry.get("format") or fmt_default),
                when=frozenset(str(w) for w in (entry.get("when") or when_default)),
            ),
        )
    return AnnounceConfig(tuple(channels.values()))
