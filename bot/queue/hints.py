"""Merging the hints of coalesced jobs (bot/jobs.py: lists are unioned, scalars and maps replaced)."""

from __future__ import annotations

import json
from typing import Any


def merge_hints(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Hints say where to look, never what is true, so merging only needs to keep every place
    to look: list values are unioned in order of arrival (duplicates dropped), anything else is
    replaced by the newer value."""
    merged = dict(old)
    for name, value in new.items():
        previous = merged.get(name)
        if isinstance(previous, list) and isinstance(value, list):
            seen = {json.dumps(v, sort_keys=True) for v in previous}
            union = list(previous)
            for item in value:
                marker = json.dumps(item, sort_keys=True)
                if marker not in seen:
                    seen.add(marker)
                    union.append(item)
            merged[name] = union
        else:
            merged[name] = value
    return merged
