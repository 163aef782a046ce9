"""Validating a configuration file: YAML syntax, the shipped JSON Schema, and the checks a schema
cannot express (regular expressions compile, time zones exist). Every problem carries the line of
the YAML node it is about, found by walking PyYAML's composed node tree along the JSON path.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from bot.config.defaults import load_schema

PathPart = str | int


@dataclass(frozen=True)
class ConfigProblem:
    message: str
    path: tuple[PathPart, ...] = ()
    line: int | None = None  # 1-based; None when the file text is not known

    def pointer(self) -> str:
        """The JSON pointer of the offending value (``/gate/release_branches/0``)."""
        return "".join(f"/{part}" for part in self.path) or "/"

    def render(self, filename: str = ".github/release-bot.yml") -> str:
        where = f"{filename}:{self.line}" if self.line is not None else filename
        location = ".".join(str(p) for p in self.path) or "(top level)"
        return f"{where}: {location}: {self.message}"


class ConfigError(ValueError):
    """A configuration that cannot be used; ``problems`` say where and why."""

    def __init__(self, problems: Sequence[ConfigProblem], filename: str = ".github/release-bot.yml") -> None:
        self.problems = list(problems)
        self.filename = filename
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(p.render(self.filename) for p in self.problems)


@cache
def _validator() -> Draft202012Validator:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


# A configuration is a few hundred lines. Bigger files, and documents whose aliases expand to more
# nodes than this (a "billion laughs" bomb: each alias repeats the one before it), are refused
# before anything walks them: validating, merging or storing one would expand every alias.
MAX_CONFIG_BYTES = 256 * 1024
MAX_EXPANDED_NODES = 20_000
MAX_DEPTH = 50


def _expanded_size(root: yaml.Node | None) -> tuple[int, int]:
    """(nodes, depth) of the document with every alias expanded, computed once per shared node."""
    sizes: dict[int, tuple[int, int]] = {}

    def walk(node: yaml.Node, depth: int) -> tuple[int, int]:
        if depth > MAX_DEPTH:
            return MAX_EXPANDED_NODES + 1, depth
        known = sizes.get(id(node))
        if known is not None:
            return known
        count, deepest = 1, 1
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        for child in children:
            size, below = walk(child, depth + 1)
            count += size
            deepest = max(deepest, below + 1)
            if count > MAX_EXPANDED_NODES:
                break
        sizes[id(node)] = (count, deepest)
        return count, deepest

    return walk(root, 0) if root is not None else (0, 0)


def parse_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """Parse ``text`` safely (no tags that build objects). Raises ``ConfigError`` with the line of a
    syntax error, or when the file is too large or expands too far to be a configuration."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CONFIG_BYTES:
        raise ConfigError([ConfigProblem(f"the file is larger than {MAX_CONFIG_BYTES // 1024} KiB", ())])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        nodes, depth = _expanded_size(node)
        if nodes > MAX_EXPANDED_NODES or depth > MAX_DEPTH:
            raise ConfigError([ConfigProblem(
                f"the document expands to more than {MAX_EXPANDED_NODES} values or {MAX_DEPTH} levels "
                "(aliases repeating aliases?); a configuration is far smaller", ())])
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(f"invalid YAML: {problem}", (), line)]) from None
    return data, node


def validate_config(data: Any, node: yaml.Node | None = None) -> list[ConfigProblem]:
    """Every problem of one configuration file's parsed content (``{}`` for an empty file)."""
    if data is None:
        data = {}
    problems: list[ConfigProblem] = []
    for error in sorted(_validator().iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        problems.extend(_from_schema_error(error, node))
    if isinstance(data, dict):
        # Reported together with the schema's problems: one run shows everything to fix.
        problems.extend(_semantic_problems(data, node))
    problems.sort(key=lambda p: (p.line or 0, p.path and str(p.path)))
    return problems


def validate_text(text: str) -> tuple[dict[str, Any], list[ConfigProblem]]:
    """Parse and validate a file's text: ``(data, problems)``. ``data`` is ``{}`` when unusable."""
    try:
        data, node = parse_yaml(text)
    except ConfigError as exc:
        return {}, exc.problems
    problems = validate_config(data, node)
    return (data if isinstance(data, dict) and not problems else {}), problems


def _from_schema_error(error: ValidationError, node: yaml.Node | None) -> list[ConfigProblem]:
    if error.validator in ("anyOf", "oneOf") and error.context:
        # "is not valid under any of the given schemas" says nothing: report the branch's own
        # problem (a checklist item {item, fact} with a misspelled fact names the fact).
        # A branch whose type fits the value is the one meant; the others only say "not a string".
        def branch(e: ValidationError) -> Any:
            return e.relative_schema_path[0] if e.relative_schema_path else None

        misfits = {branch(e) for e in error.context if e.validator == "type"}
        fitting = [e for e in error.context if e.validator != "type" and branch(e) not in misfits]
        fitting = fitting or [e for e in error.context if e.validator != "type"] or list(error.context)
        return _from_schema_error(best_match(fitting), node)
    path = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extras = [key for key in error.instance if key not in allowed]
        return [
            ConfigProblem(
                f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})",
                (*path, key),
                line_of(node, (*path, key), key_line=True),
            )
            for key in extras
        ]
    message = error.message
    if error.validator == "pattern" and isinstance(error.schema, dict) and error.schema.get("description"):
        message = f"{error.instance!r} is not {error.schema['description']}"
    elif error.validator == "enum":
        message = f"{error.instance!r} is not one of {', '.join(map(repr, error.validator_value))}"
    return [ConfigProblem(message, path, line_of(node, path))]


# The ``{placeholder}`` templates and what each may name (bot.core.versions fills the patterns,
# the tracking issue and the notes fill the rest by plain replacement).
_VERSION_FIELDS = frozenset({"version", "major", "minor", "patch"})
BRACE_TEMPLATES: dict[tuple[str, str], frozenset[str]] = {
    ("releases", "branch_pattern"): _VERSION_FIELDS,
    ("releases", "rc_tag_pattern"): _VERSION_FIELDS | {"n"},
    ("releases", "final_tag_pattern"): _VERSION_FIELDS,
    ("releases", "tracking_issue_title"): frozenset({"version"}),
    ("notes", "name_template"): _VERSION_FIELDS,
    ("notes", "tag_template"): _VERSION_FIELDS,
}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _placeholder_problems(data: dict[str, Any], node: yaml.Node | None) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for (section, key), allowed in BRACE_TEMPLATES.items():
        value = data.get(section).get(key) if isinstance(data.get(section), dict) else None
        if not isinstance(value, str):
            continue
        unknown = [name for name in _PLACEHOLDER.findall(value) if name not in allowed]
        for name in dict.fromkeys(unknown):
            problems.append(
                ConfigProblem(
                    f"unknown placeholder {{{name}}} "
                    f"(known: {', '.join('{' + a + '}' for a in sorted(allowed))})",
                    (section, key),
                    line_of(node, (section, key)),
                )
            )
    return problems


def _semantic_problems(data: dict[str, Any], node: yaml.Node | None) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = _placeholder_problems(data, node)
    releases = data.get("releases") if isinstance(data.get("releases"), dict) else {}
    pattern = releases.get("milestone_pattern")
    if isinstance(pattern, str):
        path: tuple[PathPart, ...] = ("releases", "milestone_pattern")
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            problems.append(
                ConfigProblem(f"not a valid regular expression: {exc}", path, line_of(node, path))
            )
        else:
            if "version" not in compiled.groupindex:
                problems.append(
                    ConfigProblem("must have a named group (?P<version>...)", path, line_of(node, path))
                )
    problems.extend(_freeze_problems(releases.get("freeze"), node))
    tz = releases.get("timezone")
    if isinstance(tz, str):
        path = ("releases", "timezone")
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            problems.append(
                ConfigProblem(
                    f"unknown time zone {tz!r} (use an IANA name such as Europe/Paris)",
                    path,
                    line_of(node, path),
                )
            )
    return problems


def _freeze_problems(freeze: Any, node: yaml.Node | None) -> list[ConfigProblem]:
    """``releases.freeze``: a freeze that ends before it starts would never hold."""
    from bot.core.stages import STAGES

    if not isinstance(freeze, dict):
        return []
    starts, ends = freeze.get("starts"), freeze.get("ends", "deploy")
    if starts in STAGES and ends in STAGES and STAGES.index(ends) <= STAGES.index(starts):
        path = ("releases", "freeze", "ends")
        return [
            ConfigProblem(
                f"{ends!r} does not come after starts {starts!r}: the freeze would never hold "
                f"(stages in order: {', '.join(STAGES)})",
                path,
                line_of(node, path if "ends" in freeze else ("releases", "freeze", "starts")),
            )
        ]
    return []


def line_of(node: yaml.Node | None, path: Sequence[PathPart], key_line: bool = False) -> int | None:
    """1-based line of the YAML node at ``path`` (or of its key when ``key_line``); the nearest
    existing ancestor's line when the path goes further than the file does (a missing key)."""
    if node is None:
        return None
    current: yaml.Node = node
    key_node: yaml.Node | None = None
    for part in path:
        child: yaml.Node | None = None
        if isinstance(current, yaml.MappingNode):
            for k, v in current.value:
                if isinstance(k, yaml.ScalarNode) and k.value == str(part):
                    key_node, child = k, v
                    break
        elif (
            isinstance(current, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(current.value)
        ):
            key_node, child = None, current.value[part]
        if child is None:
            break
        current = child
    else:
        if key_line and key_node is not None:
            return key_node.start_mark.line + 1
    return current.start_mark.line + 1
