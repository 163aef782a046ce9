"""The layers of bot/ hold (docs/ARCHITECTURE.md): checked on the real module graph, read with ast.

- ``bot/core`` is pure: it imports only ``bot.core``, the standard library and pure libraries;
- nothing below the top layer (``bot/cli``, ``bot/web`` and the app's composition roots) imports
  ``bot.web``: metrics live in ``bot.metrics``, which every layer may import;
- only ``bot/github`` (and the sandbox, a simulated GitHub) import or call PyGithub;
- no module in ``bot/`` outside ``bot/sandbox`` is longer than 600 lines.

Every import counts, also those inside functions (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"
MAX_LINES = 600

# Third-party libraries bot/core may use: pure computation, no I/O.
# icalendar: the release calendar's RFC 5545 text (bot/core/calendar.py), writing only, no I/O.
# regex: release-drafter replacers with a timeout (bot/core/notes/jsregex.py), matching only, no I/O.
PURE_LIBRARIES = {"semver", "icalendar", "regex"}

# The top layer: command line, web pages, and the two composition roots that assemble the Flask
# app (bot/intake/app.py mounts bot.web's /healthz and /metrics blueprints; wsgi.py is gunicorn's).
TOP_LAYER = ("bot/cli/", "bot/web/", "bot/wsgi.py", "bot/intake/app.py")

# PyGithub's entry points besides its imports: an object that has them is a PyGithub client.
PYGITHUB_CALLS = {"requester", "requestJsonAndCheck", "get_repo", "get_repo_installation", "integration"}

def _modules() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # `from bot import web` imports bot.web
                yield node.lineno, f"{module}.{alias.name}"


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _is(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _outside(rel: str, *prefixes: str) -> bool:
    return not any(rel.startswith(prefix) for prefix in prefixes)


def test_the_module_graph_is_read() -> None:
    """The checks below see the real graph (a check of nothing would pass)."""
    gate = {m for _, m in _imports(BOT / "reconcilers" / "pr.py")}
    assert "bot.core.gate" in gate and "bot.github.gate_io" in gate
    assert any(_is(m, "github") for _, m in _imports(BOT / "github" / "gate_io.py"))


def test_core_imports_only_core_the_standard_library_and_pure_libraries() -> None:
    bad = []
    for path in _modules():
        rel = _rel(path)
        if not rel.startswith("bot/core/"):
            continue
        for line, module in _imports(path):
            top = _top(module)
            if _is(module, "bot.core") or top in sys.stdlib_module_names or top in PURE_LIBRARIES:
                continue
            bad.append(f"{rel}:{line} imports {module}")
    assert bad == [], "bot/core must stay pure:\n" + "\n".join(bad)


def test_only_the_top_layer_imports_bot_web() -> None:
    bad = [
        f"{_rel(path)}:{line} imports {module}"
        for path in _modules()
        if _outside(_rel(path), *TOP_LAYER)
        for line, module in _imports(path)
        if _is(module, "bot.web")
    ]
    assert bad == [], "below bot/cli and bot/web nothing imports bot.web:\n" + "\n".join(bad)


def test_only_the_github_layer_imports_or_calls_pygithub() -> None:
    bad = []
    for path in _modules():
        rel = _rel(path)
        if not _outside(rel, "bot/github/", "bot/sandbox/"):
            continue
        for line, module in _imports(path):
            if _is(module, "github"):
                bad.append(f"{rel}:{line} imports {module}")
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in PYGITHUB_CALLS:
                bad.append(f"{rel}:{node.lineno} calls PyGithub (.{node.attr})")
    assert bad == [], "PyGithub belongs to bot/github:\n" + "\n".join(bad)


def test_no_module_is_longer_than_600_lines() -> None:
    long = {}
    for path in _modules():
        rel = _rel(path)
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if _outside(rel, "bot/sandbox/") and lines > MAX_LINES:
            long[rel] = lines
    assert long == {}, f"split these by concern (at most {MAX_LINES} lines a module): {long}"
