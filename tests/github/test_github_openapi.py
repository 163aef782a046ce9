"""Contract check against GitHub's published OpenAPI description (pinned fixture): every endpoint the
GitHub layer and the config loader call exists with the method and query parameters we send, and the
fields we read are in the documented responses."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

# (method, OpenAPI path, query parameters we send, response fields we read)
CALLS = [
    ("post", "/app/installations/{installation_id}/access_tokens", [], ["token", "expires_at"]),
    ("get", "/app", [], ["slug"]),
    ("get", "/repos/{owner}/{repo}", [], ["default_branch"]),
    ("get", "/repos/{owner}/{repo}/contents/{path}", [], []),
    ("get", "/repos/{owner}/{repo}/milestones", ["state", "per_page", "page"], ["number", "title"]),
    ("get", "/repos/{owner}/{repo}/pulls", ["state", "per_page", "page"], ["number", "base"]),
]


@cache
def _spec(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


@pytest.fixture(scope="module")
def spec(fixtures_dir) -> dict[str, Any]:
    return _spec(str(Path(fixtures_dir) / "openapi" / "api.github.com.json"))


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _properties(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    schema = _resolve(spec, schema)
    if schema.get("type") == "array":
        return _properties(spec, schema["items"])
    names = set(schema.get("properties", {}))
    for key in ("allOf", "anyOf", "oneOf"):
        for part in schema.get(key, []):
            names |= _properties(spec, part)
    return names


@pytest.mark.parametrize(("method", "path", "params", "fields"), CALLS, ids=[f"{c[0]} {c[1]}" for c in CALLS])
def test_endpoint_documented(spec, method, path, params, fields):
    operation = spec["paths"][path][method]
    declared = {
        _resolve(spec, p)["name"]
        for p in operation.get("parameters", [])
        if _resolve(spec, p)["in"] == "query"
    }
    assert set(params) <= declared
    if fields:
        ok = next(v for k, v in operation["responses"].items() if k.startswith("2"))
        schema = _resolve(spec, ok)["content"]["application/json"]["schema"]
        assert set(fields) <= _properties(spec, schema)


def test_contents_file_shape(spec):
    """The loader reads type/encoding/content of a file from the contents API."""
    operation = spec["paths"]["/repos/{owner}/{repo}/contents/{path}"]["get"]
    schema = _resolve(spec, operation["responses"]["200"])["content"]["application/json"]["schema"]
    assert {"type", "encoding", "content"} <= _properties(spec, schema)
