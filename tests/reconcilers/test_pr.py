"""The pr: reconciler against the in-process sandbox (real REST calls, no webhooks, no queue).

Each test gets its own repository in the session's sandbox (tests/conftest.py, tests/world.py);
the reconciler is called directly with a JobContext, the way a worker would, so these tests see
exactly which requests it makes.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from memory_store import MemoryStore
from world import BOT, Repo, ok, unique
from world import World as SandboxWorld

from bot.config.defaults import default_config
from bot.core.audit import PushedCommit, unexplained
from bot.core.gate import parse_record
from bot.github import permissions
from bot.github.auth import GitHubApp
from bot.jobs import JobSpec, pr_key
from bot.reconcilers import audit, pr
from bot.reconcilers.context import JobContext
from bot.reconcilers.reply_throttle import PER_PERSON_PER_THREAD


class World:
    """One fresh repository with a release line `release/1.4`, milestone v1.4.0 and a pull request.

    Built with the shared sandbox builder (tests/world.py); the methods keep the gate tests short.
    """

    def __init__(self, builder: SandboxWorld, app: GitHubApp) -> None:
        self.builder = builder
        self.sandbox = builder.handle
        self.app = app
        self.store = MemoryStore()
        self.enqueued: list[JobSpec] = []
        self.gh_repo: Repo = builder.repo(unique("gate"))
        self.repo = self.gh_repo.full_name
        self.repo_id = self.gh_repo.id
        self.gh_repo.branch("release/1.4")
        self.milestone = self.gh_repo.milestone("v1.4.0")
        self.gh_repo.milestone("v1.5.0")
        self.gh_repo.branch("fix", login="dev")
        self.commit("fix", "dev")
        self.number = self.gh_repo.pull("fix", "release/1.4", title="Fix", login="dev")
        self.gh_repo.set_milestone(self.number, self.milestone)
        self.reconcile()  # the bot sees the pull request open (its check run dates the head commit)

    ok = staticmethod(ok)

    def as_(self, login: str) -> httpx.Client:
        return self.builder.as_(login)

    def commit(self, branch: str, login: str) -> str:
        return self.gh_repo.commit(branch, login)

    def label(self, login: str, *labels: str) -> None:
        self.gh_repo.label(self.number, login, *labels)

    def comment(self, login: str, body: str) -> int:
        return self.gh_repo.comment(self.number, login, body)

    def pull(self) -> dict[str, Any]:
        return self.gh_repo.get(f"/pulls/{self.number}")

    def labels(self) -> set[str]:
        return {label["name"] for label in self.pull()["labels"]}

    def comments(self) -> list[dict[str, Any]]:
        return self.gh_repo.comments(self.number)

    def check(self, sha: str | None = None) -> dict[str, Any] | None:
        sha = sha or self.pull()["head"]["sha"]
        runs = self.gh_repo.get(f"/commits/{sha}/check-runs")["check_runs"]
        ours = [r for r in runs if r["name"] == "release-bot/gate" and r["app"]["id"] == 1]
        assert len(ours) <= 1, "the check is updated in place, never duplicated"
        return ours[0] if ours else None

    def seq(self) -> int:
        """The sandbox's latest request number."""
        return self.builder.log.seq()

    def bot_requests(self, since: int) -> list[dict[str, Any]]:
        return self.builder.log.since(since, actor=BOT)

    def reconcile(
        self, hints: dict[str, Any] | None = None, config: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Run the reconciler once; returns the API requests it made."""
        before = self.seq()
        job = JobSpec(pr_key(self.repo_id, self.number), 1, self.repo, "test", hints or {})
        ctx = JobContext(
            job=job,
            gh=self.app.client_for(1),
            repo_full_name=self.repo,
            bot_login=BOT,
            app_id=1,
            config=config or default_config(),
            config_error=None,
            store=self.store,
            enqueue=self.enqueued.extend,
        )
        pr.reconcile(ctx)
        return self.bot_requests(before)


@pytest.fixture
def world(sandbox_world: SandboxWorld, sandbox_app: GitHubApp) -> World:
    permissions.clear_caches()
    return World(sandbox_world, sandbox_app)


def writes(requests: list[dict[str, Any]]) -> list[str]:
    return [f"{r['method']} {r['path']}" for r in requests if r["method"] != "GET"]


def test_fresh_pull_request_gets_a_failing_check(world: World) -> None:
    world.reconcile()
    check = world.check()
    assert check is not None and check["conclusion"] == "failure"
    assert check["output"]["title"] == "Missing: UAT, approval"
    assert "- [x] Milestone — in `v1.4.0`" in check["output"]["summary"]


def test_each_gate_decision_logs_one_summary_line(world: World, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="bot.reconcile"):
        world.reconcile()
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("gate ")]
    assert len(lines) == 1 and lines[0].endswith(": failure — Missing: UAT, approval"), lines
    assert lines[0].startswith(f"gate {world.repo}#{world.number} @")


def test_nothing_to_change_costs_four_reads_and_no_write(world: World) -> None:
    world.label("qa", "uat-passed")
    world.reconcile()
    permissions.clear_caches()  # the record in the check run, not the cache, is what spares look-ups
    requests = world.reconcile()
    assert writes(requests) == []
    assert len(requests) <= 4, requests


def test_unauthorized_label_is_removed_with_one_reply(world: World) -> None:
    world.label("triager", "uat-passed")
    world.reconcile()
    assert "uat-passed" not in world.labels()
    replies = [c for c in world.comments() if c["user"]["login"] == BOT]
    assert (
        len(replies) == 1
        and "@triager" in replies[0]["body"]
        and "write permission or above" in replies[0]["body"]
    )
    world.reconcile()  # replayed: nothing more
    assert len([c for c in world.comments() if c["user"]["login"] == BOT]) == 1


def test_commands_turn_the_gate_green_and_survive_replays(world: World) -> None:
    uat = world.comment("qa", "/uat passed")
    approve = world.comment("releaser", "LGTM\n/approve")
    world.reconcile({"comment_ids": [uat, approve]})
    assert {"uat-passed", "release-approved"} <= world.labels()
    check = world.check()
    assert check is not None and check["conclusion"] == "success", check["output"]
    assert "by @qa" in check["output"]["summary"] and "by @releaser" in check["output"]["summary"]
    # the bot's own label events, redelivered hints: nothing changes
    requests = world.reconcile({"comment_ids": [uat, approve]})
    assert writes(requests) == []
    assert world.check()["conclusion"] == "success"  # type: ignore[index]


def test_refused_commands_reply_and_change_nothing(world: World) -> None:
    outsider = world.comment("outsider", "/approve")
    author = world.comment("dev", "/uat passed")
    world.reconcile({"comment_ids": [outsider, author]})
    assert world.labels() == set()
    bodies = [c["body"] for c in world.comments() if c["user"]["login"] == BOT]
    assert any("@outsider" in b and "release managers" in b for b in bodies)
    assert any("@dev" in b and "author of a pull request cannot give its UAT" in b for b in bodies)


def test_new_commit_resets_both_labels(world: World) -> None:
    world.label("qa", "uat-passed")
    world.label("releaser", "release-approved")
    world.reconcile()
    old_head = world.pull()["head"]["sha"]
    assert world.check(old_head)["conclusion"] == "success"  # type: ignore[index]
    new_head = world.commit("fix", "dev")
    world.reconcile()
    assert world.labels() & {"uat-passed", "release-approved"} == set()
    assert world.check(new_head)["conclusion"] == "failure"  # type: ignore[index]
    notices = [c for c in world.comments() if c["user"]["login"] == BOT and "New head commit" in c["body"]]
    assert len(notices) == 1
    world.reconcile()
    assert (
        len([c for c in world.comments() if c["user"]["login"] == BOT and "New head commit" in c["body"]])
        == 1
    )


def test_hold_turns_green_red(world: World) -> None:
    world.label("qa", "uat-passed")
    world.label("releaser", "release-approved")
    world.reconcile()
    hold = world.comment("qa", "/hold")
    world.reconcile({"comment_ids": [hold]})
    check = world.check()
    assert check is not None and check["conclusion"] == "failure" and "on hold" in check["output"]["title"]


def test_milestone_command_and_unknown_title(world: World) -> None:
    world.ok(world.as_("admin").patch(f"/repos/{world.repo}/issues/{world.number}", json={"milestone": None}))
    unknown = world.comment("releaser", "/milestone v9.9.9")
    world.reconcile({"comment_ids": [unknown]})
    bodies = [c["body"] for c in world.comments() if c["user"]["login"] == BOT]
    assert any("`v1.4.0`, `v1.5.0`" in b for b in bodies)
    good = world.comment("releaser", "/milestone v1.4.0")
    world.reconcile({"comment_ids": [good]})
    assert world.pull()["milestone"]["title"] == "v1.4.0"


def test_retarget_off_release_branch_gets_neutral(world: World) -> None:
    world.reconcile()
    world.ok(world.as_("dev").patch(f"/repos/{world.repo}/pulls/{world.number}", json={"base": "main"}))
    world.reconcile()
    check = world.check()
    assert check is not None and check["conclusion"] == "neutral"


def test_release_note_command_is_routed_to_the_notes_module(world: World) -> None:
    mine = world.comment("dev", "/release-note Fixes the launch countdown")
    world.reconcile({"comment_ids": [mine]})
    assert "Fixes the launch countdown" in (world.pull()["body"] or "")
    outsider = world.comment("outsider", "/release-note Something else")
    world.reconcile({"comment_ids": [mine, outsider]})
    assert "Something else" not in (world.pull()["body"] or "")
    refusals = [c for c in world.comments() if c["user"]["login"] == BOT and "@outsider" in c["body"]]
    assert len(refusals) == 1
    world.reconcile({"comment_ids": [outsider]})  # redelivered: answered once only
    assert len([c for c in world.comments() if c["user"]["login"] == BOT and "@outsider" in c["body"]]) == 1


def _repo_job(world: World, hints: dict[str, Any], config: dict[str, Any] | None = None) -> JobContext:
    from bot.jobs import repo_key

    return JobContext(
        job=JobSpec(repo_key(world.repo_id), 1, world.repo, "test", hints),
        gh=world.app.client_for(1),
        repo_full_name=world.repo,
        bot_login=BOT,
        app_id=1,
        config=config or default_config(),
        config_error=None,
        store=world.store,
        enqueue=world.enqueued.extend,
    )


def test_direct_push_to_a_release_branch_is_audited(world: World) -> None:
    hints = {"refs": ["refs/heads/release/1.4"]}
    assert audit.gate_discovery(_repo_job(world, hints)) == []  # first sight: the tip is remembered
    direct = world.commit("release/1.4", "dev")
    jobs = audit.gate_discovery(_repo_job(world, hints))
    entries = audit.audit_entries(world.store, world.repo, "release/1.4")
    assert [(e["kind"], e["sha"]) for e in entries] == [("direct_push", direct)]
    assert [j.key for j in jobs] == [f"release:{world.repo_id}@{world.milestone}"]
    assert audit.gate_discovery(_repo_job(world, hints)) == []  # the same tip again: nothing new
    assert len(audit.audit_entries(world.store, world.repo)) == 1


def test_protect_release_branches_on_request(world: World) -> None:
    config = default_config()
    config["gate"]["protect_release_branches"] = True
    audit.gate_discovery(_repo_job(world, {"config_changed": True}, config))
    rulesets = world.ok(world.as_("admin").get(f"/repos/{world.repo}/rulesets"))
    assert [r["name"] for r in rulesets] == ["release-bot gate"]
    detail = world.ok(world.as_("admin").get(f"/repos/{world.repo}/rulesets/{rulesets[0]['id']}"))
    checks = detail["rules"][0]["parameters"]["required_status_checks"]
    assert checks == [{"context": "release-bot/gate", "integration_id": 1}]
    before = world.seq()
    audit.gate_discovery(_repo_job(world, {"config_changed": True}, config))
    assert writes(world.bot_requests(before)) == []  # already in place


def _commit(sha: str, parents: list[str], message: str = "x") -> PushedCommit:
    return PushedCommit(sha, tuple(parents), message, "")


@pytest.mark.parametrize(
    ("commits", "merged", "expected"),
    [
        # a merge commit of a merged PR, then a direct commit
        ([_commit("m1", ["a", "f1"]), _commit("d1", ["m1"])], {"m1": (5, 1)}, ["d1"]),
        # a squash merge
        ([_commit("s1", ["a"], "Fix (#6)")], {"s1": (6, 3)}, []),
        # a rebase merge of three commits lands r1, r2, r3 (r3 is merge_commit_sha)
        ([_commit("r1", ["a"]), _commit("r2", ["r1"]), _commit("r3", ["r2"])], {"r3": (7, 3)}, []),
        # a direct commit before a rebase merge of two commits is still caught
        ([_commit("d0", ["a"]), _commit("r1", ["d0"]), _commit("r2", ["r1"])], {"r2": (8, 2)}, ["d0"]),
    ],
)
def test_unexplained_commits(
    commits: list[PushedCommit], merged: dict[str, tuple[int, int]], expected: list[str]
) -> None:
    tip = commits[-1].sha
    assert [c.sha for c in unexplained(commits, tip, "a", merged)] == expected


def test_rebase_commit_count_is_asked_only_when_unknown() -> None:
    commits = [_commit("r1", ["a"]), _commit("r2", ["r1"])]
    asked: list[int] = []

    def count_of(number: int) -> int:
        asked.append(number)
        return 2

    assert unexplained(commits, "r2", "a", {"r2": (9, 0)}, count_of) == []
    assert asked == [9]


def test_approving_review_counts_only_when_configured(world: World) -> None:
    world.label("qa", "uat-passed")
    world.ok(
        world.as_("releaser").post(
            f"/repos/{world.repo}/pulls/{world.number}/reviews", json={"event": "APPROVE"}
        )
    )
    world.reconcile()
    assert world.check()["conclusion"] == "failure"  # type: ignore[index]
    config = default_config()
    config["gate"]["approval_from_reviews"] = True
    world.reconcile(config=config)
    check = world.check()
    assert check is not None and check["conclusion"] == "success", check["output"]
    assert "by @releaser" in check["output"]["summary"] and "approving review" in check["output"]["summary"]
    # a new commit makes the review stale: approval is for a commit
    world.commit("fix", "dev")
    world.reconcile(config=config)
    assert world.check()["conclusion"] == "failure"  # type: ignore[index]


def test_vanished_pull_request_ends_the_job(world: World) -> None:
    from bot.errors import PermanentError

    world.builder.admin_api.delete(f"/repos/{world.repo}/pulls/{world.number}")
    with pytest.raises(PermanentError, match="no longer exists"):
        world.reconcile()


def test_replies_are_throttled_per_person(world: World) -> None:
    ids = [world.comment("outsider", "/approve") for _ in range(5)]
    world.reconcile({"comment_ids": ids})
    replies = [c for c in world.comments() if c["user"]["login"] == BOT and "@outsider" in c["body"]]
    assert len(replies) == PER_PERSON_PER_THREAD.replies
    for comment_id in ids:  # every comment is still marked handled, with a reaction
        reactions = world.ok(
            world.as_("admin").get(f"/repos/{world.repo}/issues/comments/{comment_id}/reactions")
        )
        assert [r["content"] for r in reactions if r["user"]["login"] == BOT] == ["confused"]


def bot_bodies(world: World) -> list[str]:
    return [c["body"] for c in world.comments() if c["user"]["login"] == BOT]


def test_label_given_after_a_push_the_bot_missed_counts_by_githubs_time_of_the_push(world: World) -> None:
    new_head = world.commit("fix", "dev")  # pushed while the bot is down …
    world.sandbox.state.advance_clock(2)
    world.label("qa", "uat-passed")  # … and labelled by QA after it, before the bot has seen it
    requests = world.reconcile()
    # GitHub's repository activity dates the push: the label came after it, as a bot that was up saw
    assert any("/activity" in r["path"] for r in requests)
    check = world.check(new_head)
    assert "uat-passed" in world.labels() and check is not None
    assert "UAT passed — by @qa" in check["output"]["summary"]
    assert not [b for b in bot_bodies(world) if b.startswith("@qa ")]


def test_a_commit_made_before_a_sign_off_and_pushed_after_it_gets_none(world: World) -> None:
    """The forged-date case: the commit's date puts it before the sign-offs in the timeline, but
    GitHub's time of the push (its repository activity) says they were given on the earlier head."""
    dev = world.as_("dev")
    head = world.pull()["head"]["sha"]
    tree = world.ok(dev.get(f"/repos/{world.repo}/git/commits/{head}"))["tree"]["sha"]
    made = world.ok(
        dev.post(f"/repos/{world.repo}/git/commits", json={"message": "x", "tree": tree, "parents": [head]})
    )["sha"]  # made (dated) now …
    world.sandbox.state.advance_clock(5)
    approve = world.comment("releaser", "/approve")  # … the bot is down while the old head is signed off
    world.label("qa", "uat-passed")
    world.sandbox.state.advance_clock(5)
    world.ok(dev.patch(f"/repos/{world.repo}/git/refs/heads/fix", json={"sha": made}))  # … pushed later
    timeline = world.gh_repo.get(f"/issues/{world.number}/timeline")
    kinds = [e["event"] for e in timeline if e["event"] in ("committed", "commented", "labeled")]
    assert kinds.index("committed", 1) < kinds.index("commented")  # the date alone would let them count
    world.reconcile({"comment_ids": [approve]})
    check = world.check(made)
    assert check is not None and check["conclusion"] == "failure"
    assert "release-approved" not in world.labels() and "uat-passed" not in world.labels()
    refusals = [b for b in bot_bodies(world) if b.startswith("@releaser ")]
    assert len(refusals) == 1 and f"before head commit {made[:7]} became this pull request's head" in (
        refusals[0]
    )
    assert any("New head commit" in b for b in bot_bodies(world))

def test_hold_removed_by_someone_not_allowed_is_put_back(world: World) -> None:
    world.label("qa", "uat-passed")
    world.label("releaser", "release-approved")
    hold = world.comment("qa", "/hold")
    world.reconcile({"comment_ids": [hold]})
    assert "hold" in world.labels()
    world.ok(world.as_("triager").delete(f"/repos/{world.repo}/issues/{world.number}/labels/hold"))
    world.reconcile()
    assert "hold" in world.labels()
    assert world.check()["conclusion"] == "failure"  # type: ignore[index]
    assert [b for b in bot_bodies(world) if "`hold` label was put back" in b and b.startswith("@triager ")]
    # QA lifting it by removing the label is accepted, and recorded: no look-up on later reconciles
    world.ok(world.as_("qa").delete(f"/repos/{world.repo}/issues/{world.number}/labels/hold"))
    world.reconcile()
    assert "hold" not in world.labels()
    assert world.check()["conclusion"] == "success"  # type: ignore[index]
    permissions.clear_caches()
    requests = world.reconcile()
    assert writes(requests) == [] and len(requests) <= 4, requests


def _merge_past_the_gate(world: World) -> None:
    world.reconcile()
    merged = world.as_("admin").put(f"/repos/{world.repo}/pulls/{world.number}/merge", json={})
    assert merged.status_code == 200, merged.text


def _audits(world: World) -> list[str]:
    return [b for b in bot_bodies(world) if b.startswith("Audit: this pull request was merged")]


@pytest.mark.parametrize("failing", ["post_comment", "write_check"])
def test_bypass_audit_is_posted_exactly_once_across_a_failed_attempt(
    world: World, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    _merge_past_the_gate(world)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("connection reset")  # what a loaded machine can do to any request

    with monkeypatch.context() as patch:
        patch.setattr(pr.gate_io, failing, broken)
        with pytest.raises(ConnectionError):
            world.reconcile()
    world.reconcile()  # the queue's retry
    world.reconcile()  # and a redelivery
    assert len(_audits(world)) == 1, bot_bodies(world)
    pull = world.pull()
    record = parse_record(
        world.check()["output"]["summary"], pull["head"]["sha"], pull["number"], pull["base"]["ref"]
    )  # type: ignore[index]
    assert record is not None and record.audited
    assert [e["kind"] for e in audit.audit_entries(world.store, world.repo)] == ["bypass_merge"]


def test_a_push_wakes_the_pull_requests_it_merged(world: World) -> None:
    hints = {"refs": ["refs/heads/release/1.4"]}
    audit.gate_discovery(_repo_job(world, hints))  # first sight of the branch
    _merge_past_the_gate(world)  # and the `pull_request` `closed` delivery is lost
    jobs = audit.gate_discovery(_repo_job(world, hints))
    assert pr_key(world.repo_id, world.number) in [job.key for job in jobs]
    assert audit.audit_entries(world.store, world.repo) == []  # the merge commit is explained
    world.reconcile()  # the woken key
    assert len(_audits(world)) == 1


def test_audit_entries_are_appended_once_each() -> None:
    item = {"kind": "direct_push", "branch": "release/1.4", "sha": "abc"}
    store = MemoryStore()
    audit.append_entry(store, "k", item)
    audit.append_entry(store, "k", item)  # the same entry twice: kept once
    audit.append_entry(store, "k", {**item, "sha": "def"})
    assert [e["sha"] for e in store.state["k"]] == ["abc", "def"]


def test_a_commit_the_bot_checked_for_another_pull_request_gets_no_earlier_sign_off(world: World) -> None:
    """The bot's check run on a commit can predate the commit becoming this pull request's head
    (it was another pull request's head first): GitHub's time of the push decides, not that run."""
    world.gh_repo.branch("other", from_="fix", login="dev")
    twin_head = world.commit("other", "dev")
    first, world.number = world.number, world.gh_repo.pull("other", "release/1.4", title="Other", login="dev")
    world.reconcile()  # the bot checks the commit as the other pull request's head
    assert world.check(twin_head) is not None
    world.number = first
    world.sandbox.state.advance_clock(5)
    approve = world.comment("releaser", "/approve")  # for the pull request's head before the push
    world.sandbox.state.advance_clock(5)
    world.ok(world.as_("dev").patch(f"/repos/{world.repo}/git/refs/heads/fix", json={"sha": twin_head}))
    world.reconcile({"comment_ids": [approve]})
    assert "release-approved" not in world.labels()
    refusals = [b for b in bot_bodies(world) if b.startswith("@releaser ")]
    assert len(refusals) == 1 and "became this pull request's head" in refusals[0], bot_bodies(world)


# ---------------------------------------------------------------------------------------------
# what a command costs: its comment comes from the timeline, its handling from the command ledger


def _comment_reads(requests: list[dict[str, Any]]) -> list[str]:
    """The requests about single comments: ``GET /issues/comments/{id}`` and its reactions."""
    return [
        f"{r['method']} {r['path']}"
        for r in requests
        if r["method"] == "GET" and "/issues/comments/" in r["path"]
    ]


def _bot_reactions(world: World, comment_id: int) -> list[str]:
    found = world.ok(world.as_("admin").get(f"/repos/{world.repo}/issues/comments/{comment_id}/reactions"))
    return [r["content"] for r in found if r["user"]["login"] == BOT]


def test_a_command_costs_no_read_of_its_comment_nor_of_its_reactions(world: World) -> None:
    uat = world.comment("qa", "/uat passed")
    requests = world.reconcile({"comment_ids": [uat]})
    # The gate's timeline (read anyway) holds the comment, and its empty reactions rollup says the
    # bot has not answered it yet: neither single read is made.
    assert _comment_reads(requests) == [], requests
    assert any(r["path"].endswith(f"/issues/{world.number}/timeline") for r in requests)
    assert "uat-passed" in world.labels()
    assert _bot_reactions(world, uat) == ["+1"]


def test_a_replayed_command_the_ledger_knows_costs_nothing_for_its_comment(world: World) -> None:
    uat = world.comment("qa", "/uat passed")
    approve = world.comment("releaser", "/approve")
    world.reconcile({"comment_ids": [uat, approve]})
    assert world.check()["conclusion"] == "success"  # type: ignore[index]
    requests = world.reconcile({"comment_ids": [uat, approve]})  # a redelivery, a retried job
    assert _comment_reads(requests) == [] and writes(requests) == [], requests
    assert _bot_reactions(world, uat) == ["+1"] and _bot_reactions(world, approve) == ["+1"]


def test_after_a_store_wipe_the_reactions_are_read_and_nothing_is_redone(world: World) -> None:
    outsider = world.comment("outsider", "/approve")  # refused: a reply and a confused reaction
    world.reconcile({"comment_ids": [outsider]})
    replies = len(bot_bodies(world))
    world.store = MemoryStore()  # the store is wiped: the ledger is gone, GitHub's reaction is not
    requests = world.reconcile({"comment_ids": [outsider]})
    assert _comment_reads(requests) == [
        f"GET /repos/{world.repo}/issues/comments/{outsider}/reactions"
    ], requests
    assert writes(requests) == [] and len(bot_bodies(world)) == replies
    # what GitHub showed is kept: the next replay needs no look
    again = world.reconcile({"comment_ids": [outsider]})
    assert _comment_reads(again) == [] and writes(again) == [], again


def test_a_reaction_by_someone_else_first_means_the_reactions_are_listed(world: World) -> None:
    uat = world.comment("qa", "/uat passed")
    world.ok(
        world.as_("dev").post(
            f"/repos/{world.repo}/issues/comments/{uat}/reactions", json={"content": "rocket"}
        )
    )
    requests = world.reconcile({"comment_ids": [uat]})
    assert _comment_reads(requests) == [f"GET /repos/{world.repo}/issues/comments/{uat}/reactions"]
    assert "uat-passed" in world.labels() and _bot_reactions(world, uat) == ["+1"]


def test_an_edited_command_is_still_refused_and_a_handled_one_never_rerun(world: World) -> None:
    from bot.jobs import comment_digest

    edited = world.comment("qa", "/uat passed")
    world.ok(
        world.as_("admin").patch(
            f"/repos/{world.repo}/issues/comments/{edited}", json={"body": "/uat passed\n/approve"}
        )
    )
    hints = {"comment_ids": [edited], "comment_digests": [[edited, comment_digest("/uat passed")]]}
    world.reconcile(hints)
    assert world.labels() & {"uat-passed", "release-approved"} == set()
    assert any("was edited after it was posted" in b for b in bot_bodies(world))
    assert _bot_reactions(world, edited) == ["confused"]
    # handled (the ledger knows it): edited again, replayed, it changes nothing and costs no read
    world.ok(
        world.as_("admin").patch(f"/repos/{world.repo}/issues/comments/{edited}", json={"body": "/hold"})
    )
    requests = world.reconcile(hints)
    assert _comment_reads(requests) == [] and writes(requests) == [], requests


def test_a_comment_outside_the_timeline_read_is_read_on_its_own(world: World) -> None:
    world.ok(world.as_("dev").patch(f"/repos/{world.repo}/pulls/{world.number}", json={"base": "main"}))
    world.reconcile()
    help_id = world.comment("dev", "/help")  # not gated: no timeline is read, so the comment is
    requests = world.reconcile({"comment_ids": [help_id]})
    assert _comment_reads(requests) == [f"GET /repos/{world.repo}/issues/comments/{help_id}"], requests
    assert any("merge gate commands" in b for b in bot_bodies(world))
    elsewhere = world.gh_repo.comment(world.gh_repo.issue("Elsewhere"), "qa", "/uat passed")
    back = {"base": "release/1.4"}
    world.ok(world.as_("dev").patch(f"/repos/{world.repo}/pulls/{world.number}", json=back))
    requests = world.reconcile({"comment_ids": [elsewhere]})  # hinted for the wrong issue: ignored
    assert _comment_reads(requests) == [f"GET /repos/{world.repo}/issues/comments/{elsewhere}"], requests
    assert "uat-passed" not in world.labels()


def test_a_push_after_the_merge_was_reconciled_lists_no_pulls_and_wakes_nothing(world: World) -> None:
    hints = {"refs": ["refs/heads/release/1.4"]}
    audit.gate_discovery(_repo_job(world, hints))  # first sight of the branch
    _merge_past_the_gate(world)
    world.reconcile()  # the `pull_request` `closed` delivery: the bypass is audited
    assert len(_audits(world)) == 1
    before = world.seq()
    jobs = audit.gate_discovery(_repo_job(world, hints))  # the push that landed it
    reads = [r["path"] for r in world.bot_requests(before) if r["method"] == "GET"]
    assert not any(path.endswith("/pulls") or "/pulls/" in path for path in reads), reads
    assert jobs == []  # its reconcile already ran on the merged pull request
    assert [e["kind"] for e in audit.audit_entries(world.store, world.repo)] == ["bypass_merge"]


def test_a_direct_push_after_a_reconciled_merge_is_still_audited(world: World) -> None:
    hints = {"refs": ["refs/heads/release/1.4"]}
    audit.gate_discovery(_repo_job(world, hints))
    _merge_past_the_gate(world)
    world.reconcile()
    direct = world.commit("release/1.4", "dev")  # on top of the merge, in the same audit window
    jobs = audit.gate_discovery(_repo_job(world, hints))
    entries = audit.audit_entries(world.store, world.repo, "release/1.4")
    assert [(e["kind"], e["sha"]) for e in entries][-1] == ("direct_push", direct)
    assert pr_key(world.repo_id, world.number) not in [j.key for j in jobs]
