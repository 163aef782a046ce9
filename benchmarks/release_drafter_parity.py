"""How many of release-drafter's own test cases release-bot renders identically.

Replays the cases of release-drafter's end-to-end test suite (``src/tests/drafter/*.e2e.test.ts``:
a configuration fixture, the GraphQL comparison fixtures that hold the pull requests, the
releases fixtures, and the release body in the inline snapshot) through release-bot's
renderer (``bot.core.notes``), plus the unit cases of ``render-template.test.ts`` (template,
values, replacers → text) through release-drafter mode's template substitution and the
"generate changelog" cases of ``build-release-payload.test.ts`` (a configuration and the file's
pull requests → ``$CHANGES``), and prints how many come out identical.

Usage (outside CI; release-drafter's files are read from a checkout, never copied here):

    git --git-dir=/work/.mirror/release-drafter+release-drafter/repo archive HEAD | tar -x -C /tmp/rd
    .venv/bin/python benchmarks/release_drafter_parity.py /tmp/rd [--show-diffs] [--only NAME]

``$RESOLVED_VERSION`` is the milestone's version in release-bot; each case uses the version
release-drafter resolves (the previous release incremented by the most severe
``semver-increment`` of the categories its pull requests land in), as the milestone's.
Cases whose expected body differs by a documented design choice (release-drafter's "no previous
release" warning; the action's version/tag/name inputs and release filters, where release-bot
uses the milestone and the tags) are counted separately, and so are the cases that need the
files a pull request changed (release-bot reports those conditions as not honoured).
"""

from __future__ import annotations

import argparse
import dataclasses
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

try:  # release-drafter mode's pieces; absent in a tree from before it (the "before" figure)
    from bot.core.notes.drafter_render import render_template
    from bot.core.notes.jsregex import ReplacerError, parse_js_replacer
except ImportError:  # pragma: no cover - measuring an older tree
    render_template = parse_js_replacer = None  # type: ignore[assignment]
    ReplacerError = ValueError  # type: ignore[assignment,misc]

_ITEM_FIELDS = {f.name for f in dataclasses.fields(NoteItem)}
_SEMVER = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?")


@dataclass(frozen=True)
class _Version:
    major: int
    minor: int
    patch: int
    pre: str

    def bumped_patch(self) -> str:
        return f"{self.major}.{self.minor}.{self.patch + (0 if self.pre else 1)}"


def parse_semver(text: str) -> _Version | None:
    m = _SEMVER.search(text or "")
    if not m:
        return None
    return _Version(int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), m.group(4) or "")


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
    overrides: list[dict[str, Any]] = field(default_factory=list)
    files: dict[int, tuple[str, ...]] | None = None  # nockGetPrFiles entries: what each pull request changed
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
_OVERRIDES = re.compile(r"fetchedReleasesOverrides:\s*(?P<list>\[.*?\])\s*,?\s*\}\)", re.DOTALL)
_FILES_CALL = re.compile(r"nockGetPrFiles\(\{.*?entries:\s*\[(?P<entries>.*?)\]\s*,?\s*\}\)", re.DOTALL)
_FILES_ENTRY = re.compile(r"\[\s*(?P<number>\d+)\s*,\s*\[(?P<files>[^\]]*)\]\s*\]")
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
            files = _FILES_CALL.search(chunk)
            if files:
                case.files = {
                    int(e.group("number")): tuple(re.findall(r"'([^']+)'", e.group("files")))
                    for e in _FILES_ENTRY.finditer(files.group("entries") + "]")
                }
            overrides = _OVERRIDES.search(chunk)
            if overrides:
                try:
                    case.overrides = _js_literal(overrides.group("list"))
                except ValueError:
                    case.overrides = []
            fields = {f.group("key"): f.group("value") for f in _FIELD.finditer(snapshot)}
            case.snapshot_name, case.snapshot_tag = fields.get("name", ""), fields.get("tag_name", "")
            cases.append(case)
    return cases


def _fixture(root: Path, name: str) -> dict[str, Any]:
    return json.loads((root / "src/tests/fixtures/graphql" / f"{name}.json").read_text(encoding="utf-8"))


def _pull_requests(root: Path, case: Case) -> list[dict[str, Any]]:
    """The merged pull requests of the comparison, as release-drafter gathers them (first seen
    position, last seen value), each with the authors of its commits (``_commit_authors``)."""
    by_key: dict[str, dict[str, Any]] = {}
    authors: dict[str, dict[tuple[str, bool], None]] = {}
    oids: set[str] = set()
    for query, fixture in case.payloads:
        if "findCommitsInComparison" not in query:
            continue
        commits = _fixture(root, fixture)["data"]["repository"]["ref"]["compare"]["commits"]["nodes"]
        for commit in commits:
            if commit.get("oid"):
                oids.add(commit["oid"])
            people = (commit.get("authors") or {}).get("nodes") or (
                [commit["author"]] if commit.get("author") else []
            )
            for pr in (commit.get("associatedPullRequests") or {}).get("nodes") or []:
                if pr is None:
                    continue
                key = f"{(pr.get('baseRepository') or {}).get('nameWithOwner')}#{pr['number']}"
                by_key[key] = pr
                for person in people:
                    if person and person.get("user"):
                        authors.setdefault(key, {})[(person["user"]["login"], True)] = None
                    elif person and person.get("name"):
                        authors.setdefault(key, {})[(person["name"], False)] = None
    for query, fixture in case.payloads:
        if "findRecentMergedPullRequests" not in query or not oids:
            continue
        for pr in _fixture(root, fixture)["data"]["repository"]["pullRequests"]["nodes"]:
            key = f"{(pr.get('baseRepository') or {}).get('nameWithOwner')}#{pr['number']}"
            if key not in by_key and (pr.get("mergeCommit") or {}).get("oid") in oids:
                by_key[key] = pr
    out = []
    for key, pr in by_key.items():
        if (pr.get("baseRepository") or {}).get("nameWithOwner") == f"{OWNER}/{REPO}" and pr.get("merged"):
            out.append({**pr, "_commit_authors": tuple(authors.get(key, {}))})
    return out


def _note_item(pr: dict[str, Any]) -> NoteItem:
    author = pr.get("author") or {}
    login = str(author.get("login") or "ghost")
    bot = author.get("__typename") == "Bot"
    extra = {
        "base_ref": pr.get("baseRefName"),
        "head_ref": pr.get("headRefName"),
        "commit_authors": pr.get("_commit_authors", ()),
    }
    return NoteItem(
        **{k: v for k, v in extra.items() if k in _ITEM_FIELDS},
        number=int(pr["number"]),
        title=str(pr.get("title") or ""),
        author=f"{login}[bot]" if bot and not login.endswith("[bot]") else login,
        url=str(pr.get("url") or ""),
        labels=tuple(n["name"] for n in (pr.get("labels") or {}).get("nodes") or [] if n and n.get("name")),
        body=str(pr.get("body") or ""),
        merged_at=pr.get("mergedAt"),
        author_is_bot=bot,
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
        return (main, not (version and version.pre), release.get("created_at") or "")

    return max(candidates, key=key) if candidates else None


_PRIORITY = {"patch": 1, "minor": 2, "major": 3}


def _increment(drafter: Any, pulls: list[NoteItem]) -> str:
    """release-drafter's version increment: the most severe ``semver-increment`` among the
    categories the pull requests land in (the milestone's version stands for it in release-bot)."""
    from bot.core.notes.drafter_render import category_matches, pre_filter

    kept = pre_filter(pulls, drafter.categories)

    def highest(kind: str, fallback: bool) -> int | None:
        categories = [c for c in drafter.categories if c.type == kind]
        empty = next((c for c in categories if not c.when), None)
        best: int | None = None
        matched: set[int] = set()
        remaining = list(kept)
        for category in categories:
            if not category.when:
                continue
            hits = [p for p in remaining if category_matches(category, p) is True]
            if not hits:
                continue
            best = max(best or 0, _PRIORITY[category.semver_increment])
            matched |= {id(p) for p in hits}
            if category.exclusive:
                remaining = [p for p in remaining if id(p) not in {id(h) for h in hits}]
        if empty is None:
            return best
        if fallback:
            return best if best is not None else _PRIORITY[empty.semver_increment]
        if all(id(p) in matched for p in kept):
            return best
        return max(best or 0, _PRIORITY[empty.semver_increment])

    level = max(highest("changelog", False) or 0, highest("version-resolver", True) or 1)
    return next(k for k, v in _PRIORITY.items() if v == level)


def _resolved_version(
    case: Case,
    last: dict[str, Any] | None,
    prefix: str,
    drafter: Any = None,
    pulls: list[NoteItem] = (),
    config: dict[str, Any] | None = None,
) -> str:
    config = config or {}
    for text in (case.inputs.get("version"),):
        version = parse_semver(text or "")
        if version is not None and text and "$" not in text:
            return f"{version.major}.{version.minor}.{version.patch}" + (
                f"-{version.pre}" if version.pre else ""
            )
    previous = parse_semver(last["tag_name"].removeprefix(prefix)) if last else None
    if previous is None:
        return "0.0.0"
    if drafter is None:
        return previous.bumped_patch()
    from bot.core.notes.drafter_version import parse_semver as full_semver

    version = full_semver(last["tag_name"].removeprefix(prefix) if last else "")
    if version is None:
        return previous.bumped_patch()
    key = _increment(drafter, list(pulls))
    identifier = drafter.prerelease_identifier
    if str(config.get("prerelease", "")).lower() == "true" and identifier:
        # release-drafter increments as "pre<key>" (the first pre-release of the next version).
        nxt = version.increment("prerelease", identifier) if version.prerelease else version.increment(key)
        if not version.prerelease:
            nxt = nxt.with_pre(identifier)
    else:
        nxt = version.increment(key)
    return f"{nxt.major}.{nxt.minor}.{nxt.patch}{nxt.prerelease_text}"


@dataclass
class Outcome:
    case: Case
    actual: str
    verdict: str  # identical | by-design | reported | differs | error


def replay_e2e(root: Path, case: Case, *, with_files: bool = True) -> Outcome:
    if case.config is None:
        return Outcome(case, "", "error")
    path = root / "src/tests/fixtures/config" / f"{case.config}.yml"
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return Outcome(case, "(invalid YAML)", "error")
    for key in ("header", "footer", "prerelease-identifier"):
        if key in case.inputs:  # the action's inputs override the file (trimmed, as @actions/core does)
            config[key] = case.inputs[key].strip()
    last = _last_release(root, case, config)
    pulls = [_note_item(pr) for pr in _pull_requests(root, case)] if last else []
    if with_files and case.files is not None and "changed_files" in _ITEM_FIELDS:
        # The files release-drafter's test serves for each pull request (as `gh --json files` gives them).
        pulls = [dataclasses.replace(p, changed_files=case.files.get(p.number, ())) for p in pulls]
    prefix = str(config.get("tag-prefix") or "")
    notes = resolve_notes_config({}, drafter_yml=config)
    release = ReleaseInfo(
        version=_resolved_version(case, last, prefix, getattr(notes, "drafter", None), pulls, config),
        tag=case.snapshot_tag or "",
        previous_tag=last["tag_name"] if last else None,
        owner=OWNER,
        repository=REPO,
    )
    actual = render_notes(pulls, notes, release).markdown
    if actual == case.expected:
        return Outcome(case, actual, "identical")
    # Documented differences: release-drafter's "no previous release" warning, and which release is
    # the previous one or what the version is when the action's inputs or filters decide it
    # (release-bot: the tags and the milestone).
    design = (
        last is None
        or any(k in case.inputs for k in ("version", "tag", "name"))
        or any(k in config for k in ("filter-by-range", "filter-by-commitish"))
    )
    drafter = getattr(notes, "drafter", None)
    if not design and drafter is not None and drafter.uses_paths and (case.files is None or not with_files):
        # Conditions on changed files: release-bot reads no pull request files (reported).
        return Outcome(case, actual, "reported")
    return Outcome(case, actual, "by-design" if design else "differs")


# ------------------------------------------------------------------ render-template unit cases

_RT_CALL = re.compile(r"renderTemplate\(\{(?P<args>.*?)\}\)\s*\n\s*expect\(output\)", re.DOTALL)
_RT_SNAPSHOT_ANY = re.compile(
    r"expect\(\w+\)\.toMatchInlineSnapshot\(\s*`(?P<snap>(?:\\.|[^`\\])*)`", re.DOTALL
)
_RT_SNAPSHOT = re.compile(
    r"expect\(output\)\.toMatchInlineSnapshot\(\s*`(?P<snap>(?:\\.|[^`\\])*)`", re.DOTALL
)
_JOINED_CONST = re.compile(r"const (?P<name>\w+) = (?P<array>\[.*?\])\.join\('(?P<sep>[^']*)'\)", re.DOTALL)
_REGEX_LITERAL = re.compile(r"(search:\s*)(/(?:\\.|[^/\n])+/[a-z]*)")


_JS_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "`": "`", "0": "\0"}


def _js_literal(text: str) -> Any:
    """A small JavaScript object/array/string literal (the render-template cases use only these):
    strings in either quote, bare keys, trailing commas, line comments."""
    out: list[str] = []
    strings: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char in "'\"":
            j, value = i + 1, []
            while j < n and text[j] != char:
                if text[j] == "\\" and j + 1 < n:
                    value.append(_JS_ESCAPES.get(text[j + 1], text[j + 1]))
                    j += 2
                    continue
                value.append(text[j])
                j += 1
            strings.append(json.dumps("".join(value)))
            out.append(f"@{len(strings) - 1}@")  # kept aside while bare keys are quoted
            i = j + 1
            continue
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else n
            continue
        out.append(char)
        i += 1
    code = "".join(out)
    code = re.sub(r"([{,]\s*)([A-Za-z_$][\w$]*)\s*:", r'\1"\2":', code)
    code = re.sub(r",(\s*[}\]])", r"\1", code)
    return json.loads(re.sub(r"@(\d+)@", lambda m: strings[int(m.group(1))], code))


def render_template_cases(root: Path) -> list[tuple[str, Outcome]]:
    path = root / "src/tests/drafter/render-template.test.ts"
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    starts = list(_IT.finditer(text))
    # `const body = ['line', …].join('\n')` in the test file: the value the cases name.
    consts: dict[str, str] = {}
    for c in _JOINED_CONST.finditer(text):
        try:
            consts[c.group("name")] = json.loads(f'"{c.group("sep")}"').join(_js_literal(c.group("array")))
        except ValueError:
            continue
    out = []
    for index, m in enumerate(starts):
        chunk = text[m.start() : starts[index + 1].start() if index + 1 < len(starts) else len(text)]
        call, snap = _RT_CALL.search(chunk), _RT_SNAPSHOT.search(chunk)
        if not call or not snap:
            continue
        expected = _unescape_template_literal(snap.group("snap"))
        if expected.startswith("\n"):
            expected = _dedent(expected.strip("\n")).strip("\n")
        expected = expected.removeprefix('"').removesuffix('"')
        case = Case(path.name, m.group("name"), expected)
        if render_template is None or parse_js_replacer is None:
            out.append((path.name, Outcome(case, "(no release-drafter template renderer)", "differs")))
            continue
        try:
            source = _REGEX_LITERAL.sub(lambda r: r.group(1) + json.dumps(r.group(2)), call.group("args"))
            source = re.sub(
                r"(template:\s*)(\w+)(\s*,)",
                lambda r: r.group(1) + json.dumps(consts.get(r.group(2), r.group(2))) + r.group(3),
                source,
            )
            args = _js_literal("{" + source + "}")
            template, values = args["template"], args.get("object") or {}
            if any(isinstance(v, dict) for v in values.values()):
                raise ValueError("nested templates are an internal API of release-drafter, not configuration")
            flat = {k: (None if v is None else str(v)) for k, v in values.items()}
            rendered = render_template(template, flat)
            for r in args.get("replacers") or []:
                rendered = parse_js_replacer(r["search"], r["replace"]).apply(rendered)
        except (ValueError, KeyError, TypeError, ReplacerError) as exc:
            out.append((path.name, Outcome(case, f"(not replayed: {exc})", "error")))
            continue
        out.append((path.name, Outcome(case, rendered, "identical" if rendered == expected else "differs")))
    return out


def _balanced(text: str, start: int) -> int:
    """The index after the bracket that closes the one at ``start`` (strings skipped)."""
    pairs = {"[": "]", "{": "}", "(": ")"}
    stack: list[str] = []
    i = start
    while i < len(text):
        char = text[i]
        if char in "'\"`":
            j = i + 1
            while j < len(text) and text[j] != char:
                j += 2 if text[j] == "\\" else 1
            i = j + 1
            continue
        if char in pairs:
            stack.append(pairs[char])
        elif stack and char == stack[-1]:
            stack.pop()
            if not stack:
                return i + 1
        i += 1
    raise ValueError("unbalanced")


_CHANGELOG_CALL = re.compile(r"generateChangeLog\(\{")
_SCHEMA_PARSE = re.compile(r"configSchema\.parse\(")
_SLICE = re.compile(r"pullRequests:\s*pullRequests\.slice\((\d+),\s*(\d+)\)")


def changelog_cases(root: Path) -> list[Outcome]:
    """The ``generate changelog`` unit cases of ``build-release-payload.test.ts`` (a configuration,
    the file's pull requests → the changelog in the inline snapshot) through ``$CHANGES``."""
    path = root / "src/tests/drafter/build-release-payload.test.ts"
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    start = text.find("const pullRequests:")
    end = text.find("describe('build release payload'")
    if start < 0 or end < 0:
        return []
    bracket = text.index("[", text.index("=", start))
    pulls = [_note_item(pr) for pr in _js_literal(text[bracket : _balanced(text, bracket)])]
    block = text[:end]
    starts = list(_IT.finditer(block))
    out = []
    for index, m in enumerate(starts):
        chunk = block[m.start() : starts[index + 1].start() if index + 1 < len(starts) else len(block)]
        snap, call = _RT_SNAPSHOT_ANY.search(chunk), _CHANGELOG_CALL.search(chunk)
        if not snap or not call:
            continue
        expected = _unescape_template_literal(snap.group("snap"))
        if expected.startswith("\n"):
            expected = _dedent(expected.strip("\n")).strip("\n")
        expected = expected.removeprefix('"').removesuffix('"')
        case = Case(path.name, m.group("name"), expected, config="(inline)")
        try:
            config: dict[str, Any] = {"template": "$CHANGES"}
            schema = _SCHEMA_PARSE.search(chunk)
            args = chunk[call.end() - 1 : _balanced(chunk, call.end() - 1)]
            if schema:
                brace = chunk.index("{", schema.end())
                config = _js_literal(chunk[brace : _balanced(chunk, brace)])
            elif "...config" in args:
                brace = args.index("{", args.index("config:"))
                override = args[brace : _balanced(args, brace)].replace("...config,", "")
                config.update(_js_literal(override))
            items = pulls
            sliced = _SLICE.search(args)
            if sliced:
                items = pulls[int(sliced.group(1)) : int(sliced.group(2))]
            elif re.search(r"pullRequests:\s*\[\]", args):
                items = []
        except (ValueError, KeyError) as exc:
            out.append(Outcome(case, f"(not replayed: {exc})", "error"))
            continue
        release = ReleaseInfo("1.0.1", "v1.0.1", "v1.0.0", "toolmantim", "release-drafter")
        actual = render_notes(items, resolve_notes_config({}, drafter_yml=config), release).markdown
        out.append(Outcome(case, actual, "identical" if actual == expected else "differs"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkout", type=Path, help="an extracted release-drafter checkout")
    parser.add_argument("--show-diffs", action="store_true")
    parser.add_argument("--only", help="replay only cases whose name contains this text")
    parser.add_argument(
        "--no-files",
        action="store_true",
        help="give no changed files (the running bot's facts) instead of those the test serves "
        "(what `notes --from` gets from a listing with `files`)",
    )
    args = parser.parse_args(argv)
    root: Path = args.checkout
    outcomes = [replay_e2e(root, c, with_files=not args.no_files) for c in e2e_cases(root)]
    outcomes += [o for _, o in render_template_cases(root)]
    outcomes += changelog_cases(root)
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
