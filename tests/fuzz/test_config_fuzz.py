"""Fuzzing the configuration loader and validator (bot/config) with hypothesis.

A maintainer's file can be anything: broken YAML, alias bombs, huge, of the wrong types, an
``_extends`` chain that loops or runs away. The validator only ever answers with problems (line
numbered), in bounded time and memory; a file it accepts is consumable by every part of the bot
that reads configuration; and the loader never raises for a bad file — it reports the error and
keeps the last valid configuration (or the defaults, failing the gate closed).
"""

from __future__ import annotations

import base64
import time
import tracemalloc
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from bot.config.defaults import SECTIONS, STAGE_IDS, default_config
from bot.config.loader import CONFIG_PATH, MAX_EXTENDS_DEPTH, ConfigLoader
from bot.config.merge import deep_merge
from bot.config.repo_config import RepoConfig
from bot.config.validate import MAX_CONFIG_BYTES, validate_text
from bot.core.checklists import all_checklists
from bot.core.notes import resolve_notes_config
from bot.core.versions import ReleaseConventions

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "release/*",
            "{version}",
            "v{version}-rc.{n}",
            "maintain",
            "write",
            "(?P<version>.*)",
            "(",
            "Europe/Paris",
            "Mars/Base",
        ]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)
KNOWN_KEYS = {
    "roles": ["release_managers", "qa"],
    "releases": [
        "milestone_pattern",
        "branch_pattern",
        "rc_tag_pattern",
        "final_tag_pattern",
        "timezone",
        "tracking_issue_title",
        "tracking_label",
        "mode",
    ],
    "stages": list(STAGE_IDS),
    "gate": list(default_config()["gate"]),
    "notes": ["categories", "exclude_labels", "change_template", "header", "footer", "escape_mentions"],
}


def consume(config: dict[str, Any]) -> None:
    """What the reconcilers derive from a configuration: none of it may raise for a valid one."""
    RepoConfig.from_mapping(config, "acme")  # roles, releases, stages, gate, notes: typed
    ReleaseConventions.from_config(config)
    all_checklists(config)
    resolve_notes_config(config.get("notes"))


@st.composite
def config_documents(draw: st.DrawFn) -> Any:
    """Mostly the real sections with keys of every type; sometimes anything at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(VALUES)
    doc: dict[str, Any] = {}
    for section in draw(
        st.lists(st.sampled_from([*SECTIONS, "_extends", "unknown"]), max_size=4, unique=True)
    ):
        if section in KNOWN_KEYS and draw(st.booleans()):
            keys = draw(st.lists(st.sampled_from(KNOWN_KEYS[section]), min_size=1, max_size=3, unique=True))
            doc[section] = {key: draw(VALUES) for key in keys}
        else:
            doc[section] = draw(VALUES)
    return doc


def check_problems(problems: list[Any]) -> None:
    for problem in problems:
        text = problem.render()
        assert problem.message.strip() and "Traceback" not in text and len(text) < 2000, text


@pytest.mark.reliability(
    area="bad input",
    case="fuzzed configuration files: wrong types, unknown keys, anything at all",
    trials=200,
)
@given(doc=config_documents())
@example(doc={"gate": {"release_branches": [{"a": 1}]}})
@example(doc={"releases": {"milestone_pattern": "(?P<version>"}})
@example(doc={"roles": {"qa": {"teams": ["acme/"]}}})
@example(doc={"stages": {"uat": {"checklist": [None]}}})
def test_any_configuration_is_refused_with_problems_or_consumed(doc: Any, reliability: Any) -> None:
    reliability.trials(1)
    text = yaml.safe_dump(doc, allow_unicode=True)
    data, problems = validate_text(text)
    check_problems(problems)
    if not problems:
        consume(deep_merge(default_config(), data))


@pytest.mark.reliability(
    area="bad input",
    case="fuzzed YAML text (broken syntax, tags, control characters)",
    trials=200,
)
@given(
    text=st.text(max_size=400)
    | st.lists(
        st.sampled_from(
            [
                "a:",
                " - b",
                "!!python/object:os.system",
                "&x [*x]",
                "*y",
                "? [",
                "'",
                '"\\',
                "\t",
                "---",
                "...",
                "{",
                "}",
                "gate:",
                "  release_branches: 1",
                "%TAG ! x",
                "<<: *x",
                "\x00",
                "\ufeff",
            ]
        ),
        max_size=30,
    ).map("\n".join)
)
@example(text="!!python/object/apply:os.system ['echo pwned']")
@example(text="a: &a [*a]")
def test_any_yaml_text_is_answered_with_problems_never_an_exception(text: str, reliability: Any) -> None:
    reliability.trials(1)
    data, problems = validate_text(text)
    check_problems(problems)
    assert isinstance(data, dict)


def alias_bomb(width: int, depth: int) -> str:
    lines = ['a0: &a0 ["lol"]']
    for level in range(1, depth + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.reliability(
    area="bad input",
    case="YAML alias bombs and oversized configuration files",
    trials=1,
)
@pytest.mark.parametrize(
    "text",
    [
        alias_bomb(9, 9),  # the classic "billion laughs": 9^9 values once expanded
        alias_bomb(2, 40),  # deep rather than wide
        alias_bomb(50, 3),
        "x: " + "[" * 60 + "]" * 60,  # nesting past the depth limit
        "gate:\n  release_branches:\n" + "    - release/x\n" * 30_000,  # over 256 KiB
        "notes:\n  header: '" + "x" * (MAX_CONFIG_BYTES + 10) + "'\n",
        "a: " + "&a " * 5 + "1",
        "\n".join(f"k{i}: &k{i} " + (f"[*k{i - 1}, *k{i - 1}]" if i else "1") for i in range(60)),
    ],
    ids=[
        "billion-laughs",
        "deep-aliases",
        "wide-aliases",
        "deep-nesting",
        "many-lines",
        "huge-string",
        "anchors",
        "binary-doubling",
    ],
)
def test_alias_bombs_and_huge_files_are_refused_fast_and_small(text: str) -> None:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        data, problems = validate_text(text)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    check_problems(problems)
    assert problems and data == {}, problems
    assert elapsed < 5.0 and peak < 200 * 1024 * 1024, (elapsed, peak)


class ContentsApi:
    """GitHub's contents API for the loader: ``files`` by (repository, path)."""

    def __init__(self, files: dict[tuple[str, str], str]) -> None:
        self.files = files
        self.requester = self
        self.calls = 0

    def requestJsonAndCheck(self, verb: str, url: str, **_: Any) -> tuple[dict[str, Any], Any]:  # noqa: N802
        from github.GithubException import GithubException

        self.calls += 1
        assert self.calls < 100, "the loader went on reading"
        _, _, owner, name, _, *path = url.split("/")
        repo, rel = f"{owner}/{name}", "/".join(path).replace("%2F", "/")
        if rel == ".github":
            listed = [
                {"path": p, "type": "file"} for (r, p) in self.files if r == repo and p.startswith(".github/")
            ]
            if not listed:
                raise GithubException(404, {"message": "Not Found"}, {})
            return {}, listed
        text = self.files.get((repo, rel))
        if text is None:
            raise GithubException(404, {"message": "Not Found"}, {})
        return {}, {"type": "file", "encoding": "base64", "content": base64.b64encode(text.encode()).decode()}


@st.composite
def extends_chains(draw: st.DrawFn) -> dict[tuple[str, str], str]:
    """Files whose ``_extends`` point at each other: chains, loops, other owners, missing targets."""
    names = [f"acme/c{i}" for i in range(draw(st.integers(1, MAX_EXTENDS_DEPTH + 3)))]
    files: dict[tuple[str, str], str] = {}
    for i, repo in enumerate(names):
        target = draw(
            st.sampled_from([*names, "rival/evil", "acme/missing", "c0:other.yml", "", None, 7, ["x"]])
        )
        body: dict[str, Any] = {"gate": {"require_milestone": draw(st.booleans())}}
        if target is not None:
            body["_extends"] = target
        if draw(st.integers(0, 5)) == 0:
            body["roles"] = draw(VALUES)
        files[(repo, CONFIG_PATH)] = yaml.safe_dump(body)
        if i == 0:
            files[("acme/c0", "other.yml")] = yaml.safe_dump({"_extends": names[-1]})
    return files


@pytest.mark.reliability(
    area="bad input",
    case="fuzzed _extends chains: loops, too long, another owner, missing targets, wrong types",
    trials=200,
)
@given(files=extends_chains())
@example(files={("acme/c0", CONFIG_PATH): "_extends: c0\n"})
@example(
    files={
        ("acme/c0", CONFIG_PATH): "_extends: rival/evil\nroles: {release_managers: {permission: read}}\n",
        ("rival/evil", CONFIG_PATH): "roles: {release_managers: {permission: read}}\n",
    }
)
@example(files={(f"acme/c{i}", CONFIG_PATH): f"_extends: c{i + 1}\n" for i in range(MAX_EXTENDS_DEPTH + 2)})
def test_extends_chains_never_fail_the_loader(files: dict[tuple[str, str], str], reliability: Any) -> None:
    reliability.trials(1)
    loaded = ConfigLoader(store=None).load(ContentsApi(files), "acme/c0")  # type: ignore[arg-type]
    if loaded.error is not None:
        assert not loaded.valid and loaded.config["roles"] == default_config()["roles"], loaded
        assert "Traceback" not in loaded.error and loaded.error.strip()
    else:
        assert all(source.startswith("acme/") for source in loaded.sources), loaded.sources
        consume(loaded.config)
    # who may approve never comes from another account's file
    assert loaded.config["roles"]["release_managers"].get("permission") != "read"
