"""`release-bot notes --from FILE`: render release notes offline, with no GitHub call.

FILE holds pull requests as ``gh`` writes them::

    gh pr list --state merged --search 'milestone:v1.4.0' \\
        --json number,title,author,labels,mergedAt,body,url > prs.json
    release-bot notes --from prs.json --repo acme/rocket --version 1.4.0 --previous-tag v1.3.0 \\
        --config .github/release-drafter.yml

(``files``, ``commits``, ``baseRefName`` and ``headRefName`` in the listing are used when present:
release-drafter's path conditions, co-authors and ``$BASE_REF_NAME``/``$HEAD_REF_NAME`` need them;
so is release-bot's own ``"firstContribution": true``.) ``--config`` may
be given more than once; each file is read as what its name says: ``release-drafter.yml``
(release-drafter's format), ``release.yml`` (GitHub's generated notes), anything else
``release-bot.yml``. The format is chosen as the bot chooses it (``notes.format``).
Exit codes: 0 printed, 1 unreadable or invalid input, 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bot.config.defaults import default_config
from bot.config.merge import deep_merge
from bot.config.validate import ConfigError, parse_yaml, validate_text
from bot.core.notes import NoteItem, ReleaseInfo, render_notes, resolve_notes_config
from bot.core.notes.plan import fill_template
from bot.core.versions import parse_version, version_text


class InputError(ValueError):
    """Input the command cannot use; the message says what and how to fix it."""


def config_kind(path: str) -> str:
    name = Path(path).name.lower()
    if name.startswith("release-drafter"):
        return "release_drafter_yml"
    if name in ("release.yml", "release.yaml"):
        return "release_yml"
    return "release_bot"


def read_sources(paths: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(release-bot configuration with defaults, {release_yml, release_drafter_yml})."""
    own: dict[str, Any] = {}
    sources: dict[str, Any] = {"release_yml": None, "release_drafter_yml": None}
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read: {exc}") from exc
        kind = config_kind(path)
        if kind == "release_bot":
            data, problems = validate_text(text)
            if problems:
                raise InputError("\n".join(p.render(path) for p in problems))
            own = {k: v for k, v in data.items() if k != "_extends"}
            continue
        try:
            data, _node = parse_yaml(text)
        except ConfigError as exc:
            raise InputError(exc.render()) from exc
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected a mapping at the top level")
        sources[kind] = data
    return deep_merge(default_config(), own), sources


def read_pulls(path: str) -> tuple[list[NoteItem], int]:
    """The merged pull requests of a ``gh pr list --json …`` file, and how many were not merged."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not JSON ({exc.msg} at line {exc.lineno}); expected the output of "
                         "gh pr list --json number,title,author,labels,mergedAt,body,url") from exc
    if not isinstance(data, list):
        raise InputError(f"{path}: expected a JSON list of pull requests (gh pr list --json …)")
    items, unmerged = [], 0
    for index, entry in enumerate(data):
        try:
            item = NoteItem.from_gh_json(entry)
        except ValueError as exc:
            raise InputError(f"{path}: entry {index}: {exc}") from exc
        # gh writes an unmerged pull request's mergedAt as null or as the zero time.
        if not item.merged_at or item.merged_at.startswith("0001-"):
            unmerged += 1
            continue
        items.append(item)
    return items, unmerged


def _repo_of(items: list[NoteItem]) -> str | None:
    for item in items:
        parts = item.url.split("/")
        if len(parts) >= 7 and parts[-2] == "pull":
            return f"{parts[-4]}/{parts[-3]}"
    return None


def _html_base(items: list[NoteItem]) -> str:
    for item in items:
        if item.url.count("/") >= 6:
            return "/".join(item.url.split("/")[:-4])
    return "https://github.com"


def run_offline(args: argparse.Namespace) -> int:
    version = parse_version(str(args.release_version or ""))
    if version is None:
        print("release-bot notes --from: --version is required, like 1.4.0", file=sys.stderr)
        return 2
    try:
        config, sources = read_sources(list(args.config or []))
        items, unmerged = read_pulls(args.from_file)
    except InputError as exc:
        print(f"release-bot notes: {exc}", file=sys.stderr)
        return 1
    repo = args.repo_option or _repo_of(items)
    if not repo or repo.count("/") != 1:
        print("release-bot notes --from: give --repo OWNER/REPO (no pull request URL names it)",
              file=sys.stderr)
        return 2
    owner, name = repo.split("/")
    notes_cfg = config.get("notes") or {}
    tag = fill_template(str(notes_cfg.get("tag_template") or "v{version}"), version)
    release = ReleaseInfo(
        version=version_text(version),
        tag=tag,
        previous_tag=args.previous_tag or None,
        owner=owner,
        repository=name,
        html_base=_html_base(items),
    )
    resolved = resolve_notes_config(
        notes_cfg, release_yml=sources["release_yml"], drafter_yml=sources["release_drafter_yml"]
    )
    rendered = render_notes(items, resolved, release)
    for error in rendered.errors:
        print(f"warning: {error}", file=sys.stderr)
    if unmerged:
        print(f"note: {unmerged} pull request(s) in the file are not merged and were left out",
              file=sys.stderr)
    if args.format == "json":
        print(
            json.dumps(
                {
                    "version": release.version,
                    "tag": tag,
                    "previous_tag": release.previous_tag,
                    "format": resolved.mode,
                    "categories": [
                        {"title": c.title, "collapsed": c.collapsed, "items": [i.number for i in c.items]}
                        for c in rendered.categories
                    ],
                    "excluded": list(rendered.excluded),
                    "errors": list(rendered.errors),
                    "markdown": rendered.markdown,
                },
                indent=2,
            )
        )
    else:
        sys.stdout.write(rendered.markdown if rendered.markdown.endswith("\n") else rendered.markdown + "\n")
    return 0
