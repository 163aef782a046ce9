"""The sandbox's whole in-memory model of GitHub, guarded by one lock.

Every entity of the contract lives here as a plain dataclass. API modules read and change it while
holding ``state.lock`` (an RLock, so helpers may nest); nothing here knows about HTTP. Ids are global
integers per kind and node ids are opaque base64 strings, as on GitHub.
"""

from __future__ import annotations

import base64
import itertools
import random
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from bot.sandbox.secondary_limits import SecondaryLimits

# The request log keeps this many records (a long benchmark must not grow memory without bound).
REQUEST_LOG_LIMIT = 1_000_000

# Repository roles in increasing order of power (GitHub's built-in roles).
ROLES: tuple[str, ...] = ("read", "triage", "write", "maintain", "admin")

SEED_PERMISSIONS: dict[str, str] = {
    "admin": "admin",
    "pm": "maintain",
    "releaser": "maintain",
    "qa": "write",
    "dev": "write",
    "triager": "triage",
    "outsider": "read",
}
SEED_TEAMS: dict[str, list[str]] = {"product": ["pm"], "release-managers": ["releaser"], "qa": ["qa"]}

# What the seeded App may do; installation tokens carry these (GitHub's permission names).
APP_PERMISSIONS: dict[str, str] = {
    "administration": "write",
    "checks": "write",
    "contents": "write",
    "deployments": "write",
    "actions": "read",
    "issues": "write",
    "members": "read",
    "metadata": "read",
    "pull_requests": "write",
    "statuses": "write",
}
APP_EVENTS: list[str] = [
    "check_run",
    "create",
    "delete",
    "deployment",
    "deployment_protection_rule",
    "deployment_status",
    "issue_comment",
    "issues",
    "label",
    "merge_group",
    "milestone",
    "pull_request",
    "pull_request_review",
    "push",
    "release",
    "status",
]


def role_at_least(role: str | None, needed: str) -> bool:
    """True if ``role`` is ``needed`` or a more powerful built-in role."""
    if role is None:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


def node_id(kind: str, ident: int) -> str:
    """An opaque GraphQL-style node id (GitHub's legacy form: base64 of "0<len>:<Kind><id>")."""
    raw = f"0{len(kind)}:{kind}{ident}".encode()
    return base64.b64encode(raw).decode().rstrip("=")


def iso(ts: datetime | None) -> str | None:
    """GitHub's timestamp format: UTC, seconds precision, trailing Z."""
    if ts is None:
        return None
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- accounts


@dataclass
class User:
    id: int
    login: str
    type: str = "User"  # "User" | "Bot" | "Organization"
    name: str | None = None
    email: str | None = None
    site_admin: bool = False
    created_at: datetime | None = None

    @property
    def node_id(self) -> str:
        return node_id(self.type, self.id)


@dataclass
class Org:
    id: int
    login: str
    description: str | None = None
    owners: set[str] = field(default_factory=set)
    members: set[str] = field(default_factory=set)  # includes owners

    @property
    def node_id(self) -> str:
        return node_id("Organization", self.id)


@dataclass
class Team:
    id: int
    org: str
    slug: str
    name: str
    members: set[str] = field(default_factory=set)
    maintainers: set[str] = field(default_factory=set)
    description: str | None = None
    privacy: str = "closed"

    @property
    def node_id(self) -> str:
        return node_id("Team", self.id)


# --------------------------------------------------------------------------- git data


@dataclass
class GitPerson:
    name: str
    email: str
    date: datetime
    login: str | None = None  # the GitHub account the commit is attributed to, if any


@dataclass
class Commit:
    sha: str
    tree: dict[str, bytes]  # path -> file content (a flat snapshot; trees are derived)
    parents: list[str]
    message: str
    author: GitPerson
    committer: GitPerson

    # Commits never change, so what is derived from the whole tree is computed once.
    @cached_property
    def tree_sha(self) -> str:
        from bot.sandbox import gitobjects

        return gitobjects.tree_sha(self.tree)

    @cached_property
    def tree_size(self) -> int:
        """Bytes of all files (the repository's ``size`` is this, in KiB, for the default branch)."""
        return sum(len(v) for v in self.tree.values())


@dataclass
class GitTag:
    """An annotated tag object (``POST /git/tags``); a ref may point at it."""

    sha: str
    tag: str
    message: str
    object_sha: str
    object_type: str
    tagger: GitPerson


# --------------------------------------------------------------------------- issues and pull requests


@dataclass
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False

    @property
    def node_id(self) -> str:
        return node_id("Label", self.id)


@dataclass
class Milestone:
    id: int
    number: int
    title: str
    creator: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    state: str = "open"
    due_on: datetime | None = None
    closed_at: datetime | None = None

    @property
    def node_id(self) -> str:
        return node_id("Milestone", self.id)


@dataclass
class Review:
    id: int
    user: str
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    body: str | None
    commit_id: str
    submitted_at: datetime | None

    @property
    def node_id(self) -> str:
        return node_id("PullRequestReview", self.id)


@dataclass
class PullPart:
    """What makes an issue a pull request (same number space, as on GitHub)."""

    id: int
    head_ref: str
    head_sha: str
    base_ref: str
    base_sha: str  # base branch tip when the PR was opened or last retargeted
    draft: bool = False
    merged: bool = False
    merged_at: datetime | None = None
    merged_by: str | None = None
    merge_commit_sha: str | None = None
    maintainer_can_modify: bool = False
    requested_reviewers: list[str] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)

    @property
    def node_id(self) -> str:
        return node_id("PullRequest", self.id)


@dataclass
class Issue:
    id: int
    number: int
    title: str
    user: str
    created_at: datetime
    updated_at: datetime
    body: str | None = None
    state: str = "open"
    state_reason: str | None = None
    labels: list[str] = field(default_factory=list)  # label names, in the order they were added
    assignees: list[str] = field(default_factory=list)
    milestone: int | None = None  # milestone number
    closed_at: datetime | None = None
    closed_by: str | None = None
    locked: bool = False
    pull: PullPart | None = None
    deleted: bool = False  # vanished through /_sandbox (404 from then on)

    @property
    def node_id(self) -> str:
        return node_id("PullRequest" if self.pull else "Issue", self.id)

    def __setattr__(self, name: str, value: Any) -> None:
        # Once in an IssueTable, a change of a counted field moves this issue between the counters.
        if name in _ISSUE_COUNTED_FIELDS and "_table" in self.__dict__:
            self._count(-1)
            object.__setattr__(self, name, value)
            self._count(+1)
        else:
            object.__setattr__(self, name, value)

    def _count(self, sign: int) -> None:
        table: IssueTable = self.__dict__["_table"]
        if self.deleted:
            return
        if self.state == "open":
            table.open_count += sign
            if sign > 0:
                table.open_numbers.add(self.number)
            else:
                table.open_numbers.discard(self.number)
        if self.milestone is not None:
            pair = table.milestone_counts.setdefault(self.milestone, [0, 0])
            pair[0 if self.state == "open" else 1] += sign


_ISSUE_COUNTED_FIELDS = frozenset({"milestone", "state", "deleted"})


class IssueTable(dict[int, Issue]):
    """A repository's issues and pull requests by number, keeping the open count and each milestone's
    (open, closed) counts up to date as issues are added or change milestone, state or existence — so
    serializing a repository or a milestone costs the same with 10 issues or 10,000."""

    def __init__(self) -> None:
        super().__init__()
        self.milestone_counts: dict[int, list[int]] = {}
        self.open_count = 0  # open issues and pull requests (the repository's ``open_issues_count``)
        self.open_numbers: set[int] = set()  # their numbers

    def __setitem__(self, number: int, issue: Issue) -> None:
        old = self.get(number)
        if old is not None and old is not issue:
            old._count(-1)
            del old.__dict__["_table"]
        super().__setitem__(number, issue)
        if old is not issue:
            object.__setattr__(issue, "_table", self)
            issue._count(+1)

    def __delitem__(self, number: int) -> None:
        old = self[number]
        old._count(-1)
        del old.__dict__["_table"]
        super().__delitem__(number)

    def counts(self, milestone: int) -> tuple[int, int]:
        pair = self.milestone_counts.get(milestone)
        return (pair[0], pair[1]) if pair else (0, 0)


@dataclass
class Reaction:
    id: int
    user: str
    content: str
    created_at: datetime

    @property
    def node_id(self) -> str:
        return node_id("Reaction", self.id)


@dataclass
class Comment:
    id: int
    issue_number: int
    user: str
    body: str
    created_at: datetime
    updated_at: datetime
    reactions: list[Reaction] = field(default_factory=list)

    @property
    def node_id(self) -> str:
        return node_id("IssueComment", self.id)

    def __setattr__(self, name: str, value: Any) -> None:
        table: CommentTable | None = self.__dict__.get("_table")
        if name == "issue_number" and table is not None:
            table.per_issue[self.issue_number] -= 1
            object.__setattr__(self, name, value)
            table.per_issue[value] += 1
        else:
            object.__setattr__(self, name, value)


class CommentTable(dict[int, Comment]):
    """A repository's issue comments by id, with the number of comments per issue kept current."""

    def __init__(self) -> None:
        super().__init__()
        self.per_issue: Counter[int] = Counter()

    def __setitem__(self, comment_id: int, comment: Comment) -> None:
        if comment_id in self:
            del self[comment_id]
        super().__setitem__(comment_id, comment)
        object.__setattr__(comment, "_table", self)
        self.per_issue[comment.issue_number] += 1

    def __delitem__(self, comment_id: int) -> None:
        old = self[comment_id]
        self.per_issue[old.issue_number] -= 1
        old.__dict__.pop("_table", None)
        super().__delitem__(comment_id)


@dataclass
class IssueEvent:
    """An issue event (``/issues/{n}/events``) or timeline-only entry, with the actor who caused it.

    ``data`` carries the event-specific part: ``label`` ({name, color}), ``milestone`` ({title}),
    ``commit_id``, ``rename`` ({from, to}), ``assignee`` ...
    """

    id: int
    issue_number: int
    event: str
    actor: str
    created_at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def node_id(self) -> str:
        return node_id("Event", self.id)


# ------------------------------------------------------------------- checks, statuses, deployments, releases


@dataclass
class CheckRun:
    id: int
    name: str
    head_sha: str
    app_id: int
    status: str = "queued"
    conclusion: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    external_id: str | None = None
    details_url: str | None = None
    output: dict[str, Any] = field(default_factory=dict)
    actions: list[dict[str, Any]] = field(default_factory=list)
    check_suite_id: int = 0

    @property
    def node_id(self) -> str:
        return node_id("CheckRun", self.id)


@dataclass
class CommitStatus:
    id: int
    sha: str
    state: str
    context: str
    creator: str
    created_at: datetime
    updated_at: datetime
    description: str | None = None
    target_url: str | None = None

    @property
    def node_id(self) -> str:
        return node_id("StatusContext", self.id)


@dataclass
class Ruleset:
    id: int
    name: str
    target: str
    enforcement: str
    conditions: dict[str, Any]
    rules: list[dict[str, Any]]
    bypass_actors: list[dict[str, Any]]
    created_at: datetime
    updated_at: datetime

    @property
    def node_id(self) -> str:
        return node_id("RepositoryRuleset", self.id)


@dataclass
class Deployment:
    id: int
    sha: str
    ref: str
    task: str
    environment: str
    creator: str
    created_at: datetime
    updated_at: datetime
    payload: dict[str, Any] | str = field(default_factory=dict)
    description: str | None = None
    original_environment: str | None = None
    transient_environment: bool = False
    production_environment: bool = False
    statuses: list[DeploymentStatus] = field(default_factory=list)
    performed_via_app: int | None = None

    @property
    def node_id(self) -> str:
        return node_id("Deployment", self.id)


@dataclass
class DeploymentStatus:
    id: int
    deployment_id: int
    state: str
    creator: str
    created_at: datetime
    updated_at: datetime
    description: str = ""
    environment: str = ""
    target_url: str = ""
    log_url: str = ""
    environment_url: str = ""

    @property
    def node_id(self) -> str:
        return node_id("DeploymentStatus", self.id)


@dataclass
class ProtectionRule:
    """A custom deployment protection rule: an App enabled on an environment."""

    id: int
    app_id: int
    enabled: bool = True

    @property
    def node_id(self) -> str:
        return node_id("DeploymentProtectionRule", self.id)


@dataclass
class Environment:
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    wait_timer: int = 0
    prevent_self_review: bool = False
    deployment_branch_policy: dict[str, bool] | None = None
    rules: dict[int, ProtectionRule] = field(default_factory=dict)  # custom rules by id

    @property
    def node_id(self) -> str:
        return node_id("Environment", self.id)


@dataclass
class DeployRun:
    """A workflow job deploying to an environment (``POST /_sandbox/deployments/request``): it waits
    on the environment's custom protection rules, one answer per App (``pending`` until given)."""

    id: int  # the workflow run id the callback URL names
    deployment_id: int
    environment: str
    state: str = "waiting"  # waiting | approved | rejected
    answers: dict[int, str] = field(default_factory=dict)  # app id -> pending | approved | rejected
    comments: list[dict[str, Any]] = field(default_factory=list)  # {app, state, comment} in order


@dataclass
class Release:
    id: int
    tag_name: str
    target_commitish: str
    name: str | None
    body: str | None
    draft: bool
    prerelease: bool
    author: str
    created_at: datetime
    published_at: datetime | None = None
    make_latest: str = "true"

    @property
    def node_id(self) -> str:
        return node_id("Release", self.id)


# --------------------------------------------------------------------------- repositories


@dataclass
class Repo:
    id: int
    owner: str  # org or user login
    name: str
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime
    private: bool = False
    description: str | None = None
    default_branch: str = "main"
    # Explicit collaborators/roles; organization owners are admins on top of this.
    permissions: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)  # "refs/heads/main" -> sha (commit or tag object)
    tags: dict[str, GitTag] = field(default_factory=dict)  # annotated tag objects by sha
    blobs: dict[str, bytes] = field(default_factory=dict)  # blobs created through POST /git/blobs
    trees: dict[str, dict[str, bytes]] = field(default_factory=dict)  # flat snapshots by tree sha
    issues: IssueTable = field(default_factory=IssueTable)  # issues AND pull requests, by number
    next_number: int = 1
    milestones: dict[int, Milestone] = field(default_factory=dict)
    next_milestone_number: int = 1
    labels: dict[str, Label] = field(default_factory=dict)  # lower-cased name -> label
    comments: CommentTable = field(default_factory=CommentTable)  # issue comments by id
    events: list[IssueEvent] = field(default_factory=list)  # issue events, in order
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    statuses: list[CommitStatus] = field(default_factory=list)
    protection: dict[str, dict[str, Any]] = field(default_factory=dict)  # branch -> protection settings
    rulesets: dict[int, Ruleset] = field(default_factory=dict)
    releases: dict[int, Release] = field(default_factory=dict)
    deployments: dict[int, Deployment] = field(default_factory=dict)
    environments: dict[str, Environment] = field(default_factory=dict)  # lower-cased name -> environment
    deploy_runs: dict[int, DeployRun] = field(default_factory=dict)  # by workflow run id
    # Every ref change, oldest first, as GitHub's repository activity (``GET /repos/{o}/{r}/activity``)
    # records it: id, ref, before, after, timestamp (GitHub's time of the push), activity_type, actor.
    activity: list[dict[str, Any]] = field(default_factory=list)
    # Generation numbers of commits (1 + the highest parent's), memoized by gitobjects: commits never
    # change, so graph walks can stop early instead of visiting the whole history.
    generations: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def node_id(self) -> str:
        return node_id("Repository", self.id)

    def branch_sha(self, branch: str) -> str | None:
        return self.refs.get(f"refs/heads/{branch}")

    def branches(self) -> Iterator[tuple[str, str]]:
        for ref, sha in sorted(self.refs.items()):
            if ref.startswith("refs/heads/"):
                yield ref[len("refs/heads/") :], sha

    def pull_requests(self) -> Iterator[Issue]:
        for issue in self.issues.values():
            if issue.pull is not None and not issue.deleted:
                yield issue

    def open_pull_requests(self) -> list[Issue]:
        """Open pull requests, by number (cheap however many were closed or merged before)."""
        found = (self.issues[n] for n in sorted(self.issues.open_numbers))
        return [it for it in found if it.pull is not None]


# --------------------------------------------------------------------------- the App, installations, tokens


@dataclass
class App:
    id: int
    slug: str
    name: str
    owner: str  # org login
    client_id: str
    client_secret: str
    webhook_secret: str | None
    webhook_url: str | None
    public_key_pem: bytes
    bot_user: str  # "<slug>[bot]"
    created_at: datetime
    updated_at: datetime
    hook_id: int
    permissions: dict[str, str] = field(default_factory=lambda: dict(APP_PERMISSIONS))
    events: list[str] = field(default_factory=lambda: list(APP_EVENTS))
    description: str = ""
    external_url: str = ""
    private_key_pem: bytes | None = None  # kept only for Apps created by the manifest flow

    @property
    def node_id(self) -> str:
        return node_id("Integration", self.id)


@dataclass
class Installation:
    id: int
    app_id: int
    account: str  # org (or user) login
    created_at: datetime
    updated_at: datetime
    repository_selection: str = "all"  # "all" | "selected"
    repository_ids: set[int] = field(default_factory=set)  # used when selection is "selected"
    suspended_at: datetime | None = None
    suspended_by: str | None = None
    deleted: bool = False

    @property
    def node_id(self) -> str:
        return node_id("Installation", self.id)


@dataclass
class Token:
    token: str
    kind: str  # "user" | "installation" | "oauth"
    login: str | None = None  # user tokens; for installation tokens the App's bot user
    installation_id: int | None = None
    expires_at: datetime | None = None
    repository_ids: set[int] | None = None  # installation tokens narrowed to some repositories


# --------------------------------------------------------------------------- sandbox machinery


@dataclass
class Delivery:
    """One webhook delivery attempt (redeliveries are new records sharing ``guid``)."""

    id: int
    guid: str
    event: str
    action: str | None
    app_id: int
    installation_id: int | None
    repository_id: int | None
    payload: dict[str, Any]
    delivered_at: datetime
    redelivery: bool = False
    status: str = "pending"  # "pending" | "OK" | "Invalid HTTP Response: 500" | "timed out" | "dropped" ...
    status_code: int = 0
    duration: float = 0.0  # seconds
    request_headers: dict[str, str] = field(default_factory=dict)
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    url: str | None = None
    done: bool = False


@dataclass
class Fault:
    """An injected failure (``POST /_sandbox/faults``): the matching requests fail that way.

    A request matches on ``method``, the ``path`` regex and the ``actor`` regex; the first ``after``
    matches pass, then each match fails with ``probability`` (drawn from a ``seed``-ed generator, so
    a test is reproducible) until ``times`` requests failed (``times`` < 0: until cleared)."""

    path: str  # regex searched in the path after /api/v3
    method: str | None = None
    status: int | None = None
    times: int = 1
    retry_after: int | None = None
    delay_ms: int = 0
    rate_limit_exhausted: bool = False
    after: int = 0
    probability: float = 1.0
    seed: int | None = None
    message: str | None = None
    applied: bool = False  # the request is carried out, then answered with ``status`` (a lost answer)
    actor: str | None = None  # regex the caller's login must match (``release-bot\[bot\]``, ``app``)
    id: int = 0
    hits: int = 0  # requests this fault failed (or delayed) so far
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def exhausted(self) -> bool:
        return self.times == 0


@dataclass
class RequestRecord:
    seq: int
    method: str
    path: str
    status: int
    actor: str | None


@dataclass
class Chaos:
    shuffle: bool = False
    duplicate: float = 0.0
    drop: float = 0.0
    delay_ms: int = 0

    @property
    def active(self) -> bool:
        return self.shuffle or self.duplicate > 0 or self.drop > 0 or self.delay_ms > 0


class SandboxState:
    """Everything the simulated GitHub knows. Hold ``lock`` while reading or changing anything."""

    def __init__(
        self,
        *,
        app_public_key_pem: bytes | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self._ids: dict[str, Iterator[int]] = {}
        self.clock_offset = timedelta(0)
        self.base_url: str | None = None  # "http://127.0.0.1:8900" once a server runs it
        self.users: dict[str, User] = {}  # lower-cased login -> user
        self.orgs: dict[str, Org] = {}  # lower-cased login -> org
        self.teams: dict[tuple[str, str], Team] = {}  # (org lower, slug) -> team
        self.repos: dict[str, Repo] = {}  # lower-cased "owner/name" -> repo
        self.repos_by_id: dict[int, Repo] = {}
        self.apps: dict[int, App] = {}
        self.installations: dict[int, Installation] = {}
        self.tokens: dict[str, Token] = {}
        self.token_ttl = timedelta(hours=1)  # GitHub's installation tokens last an hour
        self.deliveries: list[Delivery] = []
        self.faults: list[Fault] = []
        self.requests: list[RequestRecord] = []  # seq of requests[i] is requests_first_seq + i
        self.requests_first_seq = 1
        self.request_seq = 0
        self.rate_used: dict[str, tuple[int, int]] = {}  # actor key -> (window start epoch, used)
        self.rate_limit = 5000  # per hour for users, installations and the App (anonymous: 60)
        self.rate_limit_enforced = False
        self.secondary_limits = SecondaryLimits()  # off until POST /_sandbox/limits
        self.chaos = Chaos()
        self.merge_groups: list[dict[str, Any]] = []
        self.oauth_codes: dict[str, dict[str, Any]] = {}  # for the OAuth web flow (part 2)
        self.manifest_codes: dict[str, dict[str, Any]] = {}
        self.extra: dict[str, Any] = {}  # room for resource modules' own bookkeeping
        self._seed(app_public_key_pem, webhook_url, webhook_secret)

    # ------------------------------------------------------------------ clock and ids

    def now(self) -> datetime:
        """The sandbox's clock: real time moved by ``POST /_sandbox/clock``, whole seconds."""
        return (datetime.now(UTC) + self.clock_offset).replace(microsecond=0)

    def advance_clock(self, seconds: float) -> None:
        with self.lock:
            self.clock_offset += timedelta(seconds=seconds)

    def next_id(self, kind: str) -> int:
        """Globally unique ids per kind, starting at distinct bases so kinds are easy to tell apart."""
        with self.lock:
            counter = self._ids.get(kind)
            if counter is None:
                base = 1000 + 1000 * len(self._ids) * 1000
                counter = itertools.count(base)
                self._ids[kind] = counter
            return next(counter)

    def log_request(self, method: str, path: str, status: int, actor: str | None) -> None:
        """Append to the request log, keeping the newest ``REQUEST_LOG_LIMIT`` records."""
        with self.lock:
            self.request_seq += 1
            self.requests.append(RequestRecord(self.request_seq, method, path, status, actor))
            if len(self.requests) > REQUEST_LOG_LIMIT:
                drop = len(self.requests) - REQUEST_LOG_LIMIT // 2
                del self.requests[:drop]
                self.requests_first_seq += drop

    def requests_since(self, seq: int) -> list[RequestRecord]:
        with self.lock:
            start = max(0, seq + 1 - self.requests_first_seq)
            return self.requests[start:]

    # ------------------------------------------------------------------ look-ups

    def user(self, login: str) -> User | None:
        return self.users.get(login.lower())

    def org(self, login: str) -> Org | None:
        return self.orgs.get(login.lower())

    def repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def account(self, login: str) -> User | None:
        """A user, bot or organization account (organizations are accounts with type Organization)."""
        return self.users.get(login.lower())

    def role(self, repo: Repo, login: str | None) -> str | None:
        """The built-in role ``login`` has on ``repo`` (None: no access)."""
        if login is None:
            return "read" if not repo.private else None
        org = self.org(repo.owner)
        if org is not None and login.lower() in {o.lower() for o in org.owners}:
            return "admin"
        if login.lower() == repo.owner.lower():
            return "admin"
        explicit = {k.lower(): v for k, v in repo.permissions.items()}.get(login.lower())
        if explicit is not None:
            return explicit
        return None if repo.private else "read"

    def app_installation_for(self, app_id: int, repo: Repo) -> Installation | None:
        """The live installation of ``app_id`` that covers ``repo`` (suspended ones included)."""
        for inst in self.installations.values():
            if inst.deleted or inst.app_id != app_id or inst.account.lower() != repo.owner.lower():
                continue
            if inst.repository_selection == "all" or repo.id in inst.repository_ids:
                return inst
        return None

    def installation_repos(self, inst: Installation) -> list[Repo]:
        repos = [r for r in self.repos.values() if r.owner.lower() == inst.account.lower()]
        if inst.repository_selection == "selected":
            repos = [r for r in repos if r.id in inst.repository_ids]
        return sorted(repos, key=lambda r: r.id)

    # ------------------------------------------------------------------ creation helpers

    def add_user(self, login: str, *, type_: str = "User", name: str | None = None) -> User:
        with self.lock:
            existing = self.user(login)
            if existing is not None:
                return existing
            user = User(
                id=self.next_id("user"),
                login=login,
                type=type_,
                name=name,
                email=f"{login}@users.noreply.sandbox" if type_ == "User" else None,
                created_at=self.now(),
            )
            self.users[login.lower()] = user
            if type_ == "User":
                token = f"sandbox-token-{login}"
                self.tokens[token] = Token(token=token, kind="user", login=login)
            return user

    def add_org(self, login: str, owners: list[str]) -> Org:
        with self.lock:
            existing = self.org(login)
            if existing is not None:
                return existing
            account = self.add_user(login, type_="Organization")
            org = Org(id=account.id, login=login, owners=set(owners), members=set(owners))
            self.orgs[login.lower()] = org
            return org

    def add_team(self, org: str, slug: str, members: list[str]) -> Team:
        with self.lock:
            key = (org.lower(), slug)
            team = self.teams.get(key)
            if team is None:
                team = Team(id=self.next_id("team"), org=org, slug=slug, name=slug.replace("-", " ").title())
                self.teams[key] = team
            team.members.update(members)
            o = self.org(org)
            if o is not None:
                o.members.update(members)
            return team

    def add_repo(
        self,
        owner: str,
        name: str,
        *,
        private: bool = False,
        permissions: dict[str, str] | None = None,
        readme: str | None = None,
    ) -> Repo:
        from bot.sandbox import gitobjects

        with self.lock:
            now = self.now()
            repo = Repo(
                id=self.next_id("repo"),
                owner=owner,
                name=name,
                private=private,
                created_at=now,
                updated_at=now,
                pushed_at=now,
                permissions=dict(SEED_PERMISSIONS if permissions is None else permissions),
            )
            text = readme if readme is not None else f"# {name}\n"
            person = GitPerson(name="admin", email="admin@users.noreply.sandbox", date=now, login="admin")
            root = gitobjects.make_commit({"README.md": text.encode()}, [], "Initial commit", person, person)
            repo.commits[root.sha] = root
            repo.refs["refs/heads/main"] = root.sha
            for lname, color, desc in DEFAULT_LABELS:
                repo.labels[lname.lower()] = Label(
                    id=self.next_id("label"), name=lname, color=color, description=desc, default=True
                )
            self.repos[repo.full_name.lower()] = repo
            self.repos_by_id[repo.id] = repo
            return repo

    def issue_token(self, installation_id: int, *, repository_ids: set[int] | None = None) -> Token:
        import secrets

        with self.lock:
            inst = self.installations[installation_id]
            app = self.apps[inst.app_id]
            token = Token(
                token="ghs_" + secrets.token_hex(18),
                kind="installation",
                login=app.bot_user,
                installation_id=installation_id,
                expires_at=self.now() + self.token_ttl,
                repository_ids=repository_ids,
            )
            self.tokens[token.token] = token
            return token

    # ------------------------------------------------------------------ seed

    def _seed(
        self, app_public_key_pem: bytes | None, webhook_url: str | None, webhook_secret: str | None
    ) -> None:
        now = self.now()
        for login in SEED_PERMISSIONS:
            self.add_user(login, name=login.title())
        self.add_org("acme", owners=["admin"])
        org = self.org("acme")
        assert org is not None
        # Everyone but the outsider belongs to the organization.
        org.members.update(login for login in SEED_PERMISSIONS if login != "outsider")
        for slug, members in SEED_TEAMS.items():
            self.add_team("acme", slug, members)
        self.add_repo("acme", "rocket")
        bot = self.add_user("release-bot[bot]", type_="Bot")
        self.apps[1] = App(
            id=1,
            slug="release-bot",
            name="release-bot",
            owner="acme",
            client_id="Iv1.sandbox",
            client_secret="sandbox-client-secret",
            webhook_secret=webhook_secret,
            webhook_url=webhook_url,
            public_key_pem=app_public_key_pem or b"",
            bot_user=bot.login,
            created_at=now,
            updated_at=now,
            hook_id=self.next_id("hook"),
            description="Runs the release life cycle",
            external_url="http://127.0.0.1/",
        )
        self.installations[1] = Installation(id=1, app_id=1, account="acme", created_at=now, updated_at=now)
        self._ids["installation"] = itertools.count(2)
        self._ids["app"] = itertools.count(2)


# GitHub's default labels of a new repository.
DEFAULT_LABELS: list[tuple[str, str, str]] = [
    ("bug", "d73a4a", "Something isn't working"),
    ("documentation", "0075ca", "Improvements or additions to documentation"),
    ("duplicate", "cfd3d7", "This issue or pull request already exists"),
    ("enhancement", "a2eeef", "New feature or request"),
    ("good first issue", "7057ff", "Good for newcomers"),
    ("help wanted", "008672", "Extra attention is needed"),
    ("invalid", "e4e669", "This doesn't seem right"),
    ("question", "d876e3", "Further information is requested"),
    ("wontfix", "ffffff", "This will not be worked on"),
]
