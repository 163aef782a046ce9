"""How many of release-drafter's own test cases release-bot renders identically.

Replays the cases of release-drafter's end-to-end test suite (``src/tests/drafter/*.e2e.test.ts``:
a configuration fixture, the GraphQL comparison fixtures that hold the pull requests, the
releases fixtures, and the release body in the inline snapshot) through release-bot's
renderer (``bot.core.notes``), plus the unit cases of ``render-template.test.ts`` (template,
values, replacers → text) through release-drafter mode's template substitution, and prints how
many come out identical.

Usage (outside CI; release-drafter's files are read from a checkout, never copied here):

    git --git-dir=/work/.mirror/release-drafter+release-drafter/repo archive HEAD | tar -x -C /tmp/rd
    .venv/bin/python benchmarks/release_drafter_parity.py /tmp/rd [--show-diffs] [--only NAME]

``$RESOLVED_VERSION`` is the milestone's version in release-bot; each case uses the version
release-drafter resolved (read from the snapshot's name/tag when they carry one, else the
patch increment of the previous release). Cases whose expected body differs by a documented
design choice (release-drafter's "no previous release" warning, version inputs of the action)
are counted separately.
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.notes import NoteItem, ReleaseInfo, render_notes, resolve_notes_config  # noqa: E402
from bot.core.notes.drafter_render import render_template  # noqa: E402
from bot.core.notes.drafter_version import parse_semver  # noqa: E402
from bot.core.notes.jsregex import ReplacerError, parse_js_replacer  # noqa: E402

OWNER, REPO = "toolmantim", "release-drafter-test-project"


@dataclass
class Case:
    source: str
    name: str
    expected: str
    config: str | None = None
    payloads: list[tuple[str, str]] = field(default_factory=list)  # (query, fixture)
    releases: list[str] = field(default_factory=list)
    inputs: dict[str, str] = field(default_factory=dict)
    snapshot_name: str = ""
    snapshot_tag: str = ""


def _unescape_template_literal(text: str) -> str:
    return re.sub(r"\\([\\`$])", r"\1", text)


def _dedent(text: str) -> str:
    lines = text.split("\n")
    indents = [len(line) - len(line.lstrip(" ")) for line in lines if line.strip()]
    cut = min(indents) if indents else 0
    return "\n".join(line[cut:] for line in lines)


_IT = re.compile(r"^(\s*)it\((['\"`])(?P<name>.*?)\2", re.MULTILINE)
_SNAPSHOT = re.compile(r"toMatchInlineSnapshot\(\s*`(?P<body>(?:\\.|[^`\\])*)`\s*\)", re.DOTALL)
_BODY = re.compile(r'^ {4}"body": "(?P<body>.*?)",\n {4}"draft":', re.DOTALL | re.MULTILINE)
_FIELD = re.compile(r'^ {4}"(?P<key>name|tag_name)": "(?P<value>[^"\n]*)",?$', re.MULTILINE)
_CONFIG = re.compile(r"mocks\.config\.mockReturnValue\(\s*'(?P<name>[^']+)'")
_PAYLOAD = re.compile(
    r"(?:query:\s*'(?P<query>[^']+)',\s*)?payload:\s*(?P<value>'[^']+'|\[[^\]]*\])", re.DOTALL
)
_RELEASES = re.compile(r"fetchedReleases:\s*\[(?P<list>[^\]]*)\]")
_INPUT = re.compile(r"mockInput\(\s*'(?P<key>[^']+)',\s*'(?P<value>[^']*)'")


def e2e_cases(root: Path) -> list[Case]:
    cases = []
    for path in sorted((root / "src/tests/drafter").glob("*.e2e.test.ts")):
        text = path.read_text(encoding="utf-8")
        starts = [m for m in _IT.finditer(text)]
        for index, m in enumerate(starts):
            chunk = text[m.start() : starts[index + 1].start() if index + 1 < len(starts) else len(text)]
            snapshots = [
                _dedent(_unescape_template_literal(s.group("body"))) for s in _SNAPSHOT.finditer(chunk)
            ]
            bodies = [(b, s) for s in snapshots if (b := _BODY.search(s))]
            if not bodies:
                continue
            body_match, snapshot = bodies[-1]
            config = _CONFIG.search(chunk)
            case = Case(
                path.name, m.group("name"), body_match.group("body"), config.group("name") if config else None
            )
            for p in _PAYLOAD.finditer(chunk):
                query = p.group("query") or "query findCommitsInComparison"
                case.payloads += [(query, v) for v in re.findall(r"'([^']+)'", p.group("value"))]
            releases = _RELEASES.search(chunk)
            case.releases = re.findall(r"'([^']+)'", releases.group("list")) if releases else []
            case.inputs = {i.group("key"): i.group("value") for i in _INPUT.finditer(chunk)}
            fields = {f.group("key"): f.group("value") for f in _FIELD.finditer(snapshot)}
            case.snapshot_name, case.snapshot_tag = fields.get("name", ""), fields.get("tag_name", "")
            cases.append(case)
    return cases


def _pull_requests(root: Path, case: Case) -> list[dict[str, Any]]:
    by_key: dict[str, dict[str, Any]] = {}
    for query, fixture in case.payloads:
        if "findCommitsInComparison" not in query:
            continue
        data = json.loads(
            (root / "src/tests/fixtures/graphql" / f"{fixture}.json").read_text(encoding="utf-8")
        )
        commits = data["data"]["repository"]["ref"]["compare"]["commits"]["nodes"]
        for commit in commits:
            for pr in (commit.get("associatedPullRequests") or {}).get("nodes") or []:
                if pr is None:
                    continue
                by_key[f"{(pr.get('baseRepository') or {}).get('nameWithOwner')}#{pr['number']}"] = pr
    return [
        pr
        for pr in by_key.values()
        if (pr.get("baseRepository") or {}).get("nameWithOwner") == f"{OWNER}/{REPO}" and pr.get("merged")
    ]


def _note_item(pr: dict[str, Any]) -> NoteItem:
    author = pr.get("author") or {}
    login = str(author.get("login") or "ghost")
    bot = author.get("__typename") == "Bot"
    return NoteItem(
        number=int(pr["number"]),
        title=str(pr.get("title") or ""),
        author=f"{login}[bot]" if bot and not login.endswith("[bot]") else login,
        url=str(pr.get("url") or ""),
        labels=tuple(n["name"] for n in (pr.get("labels") or {}).get("nodes") or [] if n and n.get("name")),
        body=str(pr.get("body") or ""),
        merged_at=pr.get("mergedAt"),
        author_is_bot=bot,
        base_ref=pr.get("baseRefName"),
        head_ref=pr.get("headRefName"),
    )


def _last_release(root: Path, case: Case, config: dict[str, Any]) -> dict[str, Any] | None:
    include_pre = str(config.get("include-pre-releases", case.inputs.get("include-pre-releases", ""))).lower()
    prerelease = str(config.get("prerelease", case.inputs.get("prerelease", ""))).lower()
    prefix = str(config.get("tag-prefix") or "")
    candidates = []
    for name in case.releases:
        release = json.loads(
            (root / "src/tests/fixtures/releases" / f"{name}.json").read_text(encoding="utf-8")
        )
        if release.get("draft") or (prefix and not release["tag_name"].startswith(prefix)):
            continue
        if release.get("prerelease") and "true" not in (include_pre, prerelease):
            continue
        candidates.append(release)

    def key(release: dict[str, Any]) -> tuple[Any, ...]:
        version = parse_semver(release["tag_name"].removeprefix(prefix))
        main = (version.major, version.minor, version.patch) if version else (-1, -1, -1)
        return (main, not (version and version.prerelease), release.get("created_at") or "")

    return max(candidates, key=key) if candidates else None


def _resolved_version(case: Case, last: dict[str, Any] | None, prefix: str) -> str:
    for text in (case.inputs.get("version"), case.snapshot_tag, case.snapshot_name):
        version = parse_semver(text or "")
        if version is not None and text and "$" not in text:
            return f"{version.major}.{version.minor}.{version.patch}{version.prerelease_text}"
    previous = parse_semver(last["tag_name"].removeprefix(prefix)) if last else None
    base = previous.increment("patch") if previous else None
    return f"{base.major}.{base.minor}.{base.patch}" if base else "0.0.0"


@dataclass
class Outcome:
    case: Case
    actual: str
    verdict: str  # identical | by-design | reported | differs | error


def replay_e2e(root: Path, case: Case) -> Outcome:
    if case.config is None:
        return Outcome(case, "", "error")
    path = root / "src/tests/fixtures/config" / f"{case.config}.yml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return Outcome(case, "(invalid YAML)", "error")
    last = _last_release(root, case, config)
    pulls = [_note_item(pr) for pr in _pull_requests(root, case)] if last else []
    prefix = str(config.get("tag-prefix") or "")
    release = ReleaseInfo(
        version=_resolved_version(case, last, prefix),
        tag=case.snapshot_tag or "",
        previous_tag=last["tag_name"] if last else None,
        owner=OWNER,
        repository=REPO,
    )
    notes = resolve_notes_config({}, drafter_yml=config)
    actual = render_notes(pulls, notes, release).markdown
    if actual == case.expected:
        return Outcome(case, actual, "identical")
    design = last is None or any(k in case.inputs for k in ("version", "tag", "name"))
    if not design and notes.drafter is not None and notes.drafter.uses_paths:
        # Conditions on changed files: release-bot reads no pull request files (reported).
        return Outcome(case, actual, "reported")
    return Outcome(case, actual, "by-design" if design else "differs")


# ------------------------------------------------------------------ render-template unit cases

_RT_CASE = re.compile(
    r"it\((['\"`])(?P<name>.*?)\1,.*?renderTemplate\(\{(?P<args>.*?)\}\)\s*\)?\s*"
    r"expect\(output\)\.toMatchInlineSnapshot\(\s*`(?P<snap>(?:\\.|[^`\\])*)`",
    re.DOTALL,
)


def _js_literal(text: str) -> Any:
    """A small JavaScript object/array/string literal (the render-template cases use only these)."""
    text = re.sub(r"//[^\n]*", "", text)
    text = re.sub(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:", r'\1"\2":', text)
    text = re.sub(r"'((?:\\.|[^'\\])*)'", lambda m: json.dumps(m.group(1).replace("\\'", "'")), text)
    text = re.sub(r",(\s*[}\]])", r"\1", text)
    return json.loads(text)


def render_template_cases(root: Path) -> list[tuple[str, Outcome]]:
    path = root / "src/tests/drafter/render-template.test.ts"
    if not path.exists():
        return []
    out = []
    for m in _RT_CASE.finditer(path.read_text(encoding="utf-8")):
        expected = _unescape_template_literal(m.group("snap"))
        if expected.startswith("\n"):
            expected = _dedent(expected.strip("\n"))
        expected = expected.removeprefix('"').removesuffix('"')
        case = Case(path.name, m.group("name"), expected)
        try:
            args = _js_literal("{" + m.group("args") + "}")
            template, values = args["template"], args.get("object") or {}
            flat = {
                k: (None if v is None else (v if isinstance(v, str) else json.dumps(v)))
                for k, v in values.items()
            }
            text = render_template(template, flat)
            for r in args.get("replacers") or []:
                text = parse_js_replacer(r["search"], r["replace"]).apply(text)
        except (ValueError, KeyError, TypeError, ReplacerError) as exc:
            out.append((path.name, Outcome(case, f"(not replayed: {exc})", "error")))
            continue
        out.append((path.name, Outcome(case, text, "identical" if text == expected else "differs")))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkout", type=Path, help="an extracted release-drafter checkout")
    parser.add_argument("--show-diffs", action="store_true")
    parser.add_argument("--only", help="replay only cases whose name contains this text")
    args = parser.parse_args(argv)
    root: Path = args.checkout
    outcomes = [replay_e2e(root, c) for c in e2e_cases(root)]
    outcomes += [o for _, o in render_template_cases(root)]
    if args.only:
        outcomes = [o for o in outcomes if args.only in o.case.name]
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.verdict] = counts.get(outcome.verdict, 0) + 1
        if args.show_diffs and outcome.verdict != "identical":
            print(
                f"--- {outcome.case.source}: {outcome.case.name} [{outcome.case.config}] ({outcome.verdict})"
            )
            diff = difflib.unified_diff(
                outcome.case.expected.splitlines(),
                outcome.actual.splitlines(),
                "release-drafter",
                "release-bot",
                lineterm="",
            )
            print("\n".join(diff))
    configs = {o.case.config for o in outcomes if o.case.config}
    total = len(outcomes)
    print(
        f"{counts.get('identical', 0)} of {total} cases identical "
        f"({len(configs)} configuration fixtures); "
        f"{counts.get('by-design', 0)} differ by design, {counts.get('reported', 0)} need changed files "
        f"(reported as not honoured), {counts.get('differs', 0)} differ, "
        f"{counts.get('error', 0)} not replayed"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
