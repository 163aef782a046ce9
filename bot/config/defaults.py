"""The default configuration, derived from the ``default`` annotations of the shipped schema.

One source of truth: documenting a default in ``schema.json`` is what makes it the default.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from bot.core.stages import STAGES

SECTIONS = ("roles", "releases", "stages", "gate", "notes", "deploy", "announce")
# The stage ids, in order: declared once, in bot.core.stages (schema.json lists the same ids under
# ``stages``; tests/config/test_config_validate.py checks the two agree).
STAGE_IDS = STAGES


@cache
def load_schema() -> dict[str, Any]:
    text = resources.files("bot.config").joinpath("schema.json").read_text(encoding="utf-8")
    return json.loads(text)


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved = dict(schema["$defs"][ref.removeprefix("#/$defs/")])
        resolved.update({k: v for k, v in node.items() if k != "$ref"})
        return resolved
    return node


def _defaults_of(schema: dict[str, Any], node: dict[str, Any]) -> Any:
    node = _resolve(schema, node)
    if "properties" in node:
        value: dict[str, Any] = copy.deepcopy(node.get("default", {}))
        for name, child in node["properties"].items():
            child_default = _defaults_of(schema, child)
            if child_default is not _MISSING:
                if isinstance(child_default, dict) and isinstance(value.get(name), dict):
                    merged = dict(child_default)
                    merged.update(value[name])
                    value[name] = merged
                else:
                    value.setdefault(name, child_default)
        return value
    if "default" in node:
        return copy.deepcopy(node["default"])
    return _MISSING


_MISSING: Any = object()


@cache
def _default_config() -> dict[str, Any]:
    schema = load_schema()
    config = _defaults_of(schema, schema)
    config.pop("_extends", None)
    return config


def default_config() -> dict[str, Any]:
    """A fresh copy of the defaults (callers may mutate it)."""
    return copy.deepcopy(_default_config())


def defaults_of_def(name: str) -> dict[str, Any]:
    """The defaults of one ``$defs`` entry, for maps whose keys people choose (an environment of
    ``deploy.environments``): the defaults walk above cannot reach inside those."""
    schema = load_schema()
    value = _defaults_of(schema, schema["$defs"][name])
    return value if isinstance(value, dict) else {}
