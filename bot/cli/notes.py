"""`release-bot notes OWNER/REPO VERSION`: print the release notes the bot would write.

For previewing a configuration change before committing it (``--config`` takes a local
``.github/release-bot.yml``). Reads only; writes nothing to GitHub. ``--from FILE`` renders
offline from a ``gh pr list --json`` listing instead (``bot.cli.notes_offline``). A progress bar on stderr
follows the paging of large milestones.

Credentials: ``GITHUB_TOKEN`` (any token that can read the repository) or the App's
(``APP_ID`` + ``PRIVATE_KEY``/``PRIVATE_KEY_PATH``); ``GITHUB_API_URL`` for GitHub Enterprise
or the sandbox. Exit codes: 0 printed, 1 not found / invalid configuration, 2 bad usage or
no credentials.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bot.cli.notes_offline import run_offline
from bot.config.defaults import default_config
from bot.config.merge import deep_merge
from bot.config.repo_config import RepoConfig
from bot.config.validate import validate_text
from bot.core.versions import Version, branch_for, parse_milestone_title, parse_version
from bot.github import notes_io
from bot.github.client import GitHubClient
from bot.github.errors import GithubException
from bot.github.notes_client import NoCredentials, notes_client
from bot.github.notes_facts import NotesInputs
from bot.reconcilers.release_notes import NotesPlan, plan_notes

HELP = "print the release notes the bot would write for a version (reads only)"


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("notes", help=HELP, description=HELP)
    parser.add_argument("repo", metavar="OWNER/REPO", nargs="?")
    parser.add_argument(
        "version", metavar="VERSION", nargs="?", help="the milestone's version, e.g. 1.4.0 or v1.4.0"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        action="append",
        help="a local .github/release-bot.yml to preview instead of the repository's; with --from, "
        "also release-drafter.yml / release.yml (repeatable)",
    )
    offline = parser.add_argument_group("offline rendering (no GitHub call)")
    offline.add_argument(
        "--from",
        dest="from_file",
        metavar="FILE",
        help="render from a JSON list of pull requests as 'gh pr list --json "
        "number,title,author,labels,mergedAt,body,url' writes it ('-' for stdin)",
    )
    offline.add_argument("--repo", dest="repo_option", metavar="OWNER/REPO", help="with --from: the repo")
    offline.add_argument("--version", dest="release_version", metavar="VERSION", help="with --from: version")
    offline.add_argument("--previous-tag", metavar="TAG", help="with --from: the previous release's tag")
    parser.add_argument("--format", choices=("markdown", "json"), default="markdown")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")


class Progress:
    """One tqdm bar per listing (items, then commits), on stderr — only when stderr is a terminal:
    piped or captured, a bar's carriage returns are noise in a log."""

    def __init__(self, enabled: bool, stream: Any = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.enabled = enabled and bool(isatty and isatty())
        self.bars: dict[str, tqdm] = {}

    def __call__(self, what: str, done: int, total: int | None) -> None:
        if not self.enabled:
            return
        bar = self.bars.get(what)
        if bar is None:
            bar = self.bars[what] = tqdm(
                desc=f"reading {what}",
                total=total,
                unit=" " + what,
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
            )
        if total is not None and bar.total != total:
            bar.total = total
        bar.update(done - bar.n)

    def close(self) -> None:
        for bar in self.bars.values():
            # The count is what was read: a total announced by GitHub (total_commits) that the
            # listing did not reach is not shown as if it had been.
            bar.total = bar.n
            bar.refresh()
            bar.close()


def _find_milestone(gh: GitHubClient, repo: str, version: Version, pattern: str) -> int | None:
    """The number of the milestone whose title names ``version``."""
    for milestone in notes_io.list_milestones(gh, repo):
        if parse_milestone_title(str(milestone.get("title") or ""), pattern) == version:
            return int(milestone["number"])
    return None


def _effective_config(
    gh: GitHubClient, repo: str, config_file: str | None
) -> tuple[dict[str, Any], list[str]]:
    from bot.config.loader import ConfigLoader

    loaded = ConfigLoader(None).load(gh, repo)
    config = loaded.config
    problems = [loaded.error] if loaded.error else []
    if config_file:
        text = Path(config_file).read_text(encoding="utf-8")
        data, found = validate_text(text)
        if found:
            return config, [p.render(config_file) for p in found]
        sources = config.get("_sources")
        config = deep_merge(default_config(), {k: v for k, v in data.items() if k != "_extends"})
        config["_sources"] = sources
        problems = []
    return config, problems


def build_plan(
    gh: GitHubClient, repo: str, version: Version, config: dict[str, Any], progress: Progress | None = None
) -> tuple[NotesPlan, int]:
    """The notes plan of the version's milestone, and the milestone's number (reads only)."""
    conventions = RepoConfig.from_mapping(config, repo.partition("/")[0]).releases.conventions
    milestone = _find_milestone(gh, repo, version, conventions.milestone_pattern)
    if milestone is None:
        raise LookupError(f"{repo} has no milestone for version {version}")
    default_branch = notes_io.default_branch(gh, repo)
    branch = branch_for(version, conventions.branch_pattern)
    inputs = NotesInputs(
        milestone_number=milestone,
        version=version,
        branch=branch if notes_io.branch_exists(gh, repo, branch) else None,
        tag_names=frozenset(notes_io.list_tag_names(gh, repo)),
        default_branch=default_branch,
    )
    return plan_notes(gh, repo, config, inputs, on_progress=progress), milestone


def as_json(plan: NotesPlan, markdown: str, errors: list[str], collapsed: list[str]) -> dict[str, Any]:
    return {
        "version": plan.release.version,
        "tag": plan.release_tag,
        "name": plan.release_name,
        "previous_tag": plan.previous_tag,
        "target": plan.target,
        "published_on_tag": plan.final_exists,
        "categories": [],
        "not_on_branch": [
            {"number": i.number, "title": i.title, "url": i.url} for i in plan.selection.not_on_branch
        ],
        "off_milestone": [
            {"number": n, "sha": ref.sha, "title": ref.title} for n, ref in plan.selection.off_milestone
        ],
        "collapsed": collapsed,
        "errors": errors,
        "markdown": markdown,
    }


def run(args: argparse.Namespace) -> int:
    if args.from_file:
        return run_offline(args)
    if args.config and len(args.config) > 1:
        print("release-bot notes: give --config once (a release-bot.yml) without --from", file=sys.stderr)
        return 2
    args.config = args.config[0] if args.config else None
    version = parse_version(str(args.version or "").removeprefix("v"))
    if version is None or "/" not in str(args.repo or ""):
        print("release-bot notes: expected OWNER/REPO and a version like 1.4.0", file=sys.stderr)
        return 2
    try:
        gh = notes_client(args.repo)
    except NoCredentials as exc:
        print(exc, file=sys.stderr)
        return 2
    progress = Progress(enabled=not args.no_progress)
    try:
        config, problems = _effective_config(gh, args.repo, args.config)
        if problems and args.config:
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1
        plan, _milestone = build_plan(gh, args.repo, version, config, progress)
    except (LookupError, OSError) as exc:
        print(f"release-bot notes: {exc}", file=sys.stderr)
        return 1
    except GithubException as exc:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        print(f"release-bot notes: GitHub answered {exc.status}: {message}", file=sys.stderr)
        return 1
    finally:
        progress.close()
    rendered = plan.render(None)
    errors = [*plan.config.errors, *plan.errors, *problems]
    for error in errors:
        print(f"warning: {error}", file=sys.stderr)
    if args.format == "json":
        data = as_json(plan, rendered.markdown, errors, list(rendered.collapsed))
        data["categories"] = [
            {"title": c.title, "collapsed": c.collapsed, "items": [i.number for i in c.items]}
            for c in rendered.categories
        ]
        print(json.dumps(data, indent=2))
    else:
        print(rendered.markdown)
    return 0
