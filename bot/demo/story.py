"""The scripted release of `acme/rocket` v1.4.0, played by the seeded users over GitHub's REST API.

Each step acts as a person, lets the bot settle, then reads back the effect the bot must have had.
An effect that does not appear within the step's timeout raises ``DemoFailure`` naming the step
and what was missing, so the demo doubles as a smoke test of the whole product.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from bot.config.repo_config import default_gate_settings
from bot.core.due_dates import GITHUB_DUE_ZONE_NAME, github_due_day
from bot.core.stages import STAGE_TITLES
from bot.demo import readback as rb
from bot.demo.actors import Cast
from bot.demo.environment import DemoEnvironment
from bot.demo.errors import DemoFailure
from bot.demo.narrator import Narrator
from bot.demo.summary import RequestLog, bot_calls
from bot.github.client import GithubException, token_client

T = TypeVar("T")

REPO = "acme/rocket"
VERSION = "1.4.0"
MILESTONE = f"v{VERSION}"
BRANCH = "release/1.4"
RC_TAG = f"v{VERSION}-rc.1"
FINAL_TAG = f"v{VERSION}"
FEATURE_BRANCH = "feature/rocket-boosters"
PR_TITLE = "Add rocket boosters"


@dataclass
class StoryState:
    """What earlier steps produced and later steps need."""

    milestone: int = 0
    tracking: int = 0
    pr: int = 0
    pr_head: str = ""


@dataclass
class Story:
    env: DemoEnvironment
    narrator: Narrator
    pause: float = 0.0  # seconds between steps, so a person can read along (0 with --fast)
    step_timeout: float = 60.0
    state: StoryState = field(default_factory=StoryState)
    _step_name: str = ""

    def __post_init__(self) -> None:
        self.cast = Cast(self.env.sandbox.api_url, REPO)
        self.reader = self.cast["admin"]  # read-backs: admin sees everything
        self.log = RequestLog(self.env.sandbox.base_url)
        self.gate = default_gate_settings()

    # ------------------------------------------------------------------ running

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            (f"pm plans release {MILESTONE}", self.plan_milestone),
            (f"dev cuts the release branch {BRANCH}", self.cut_branch),
            ("admin makes the merge gate a required check", self.protect),
            (f"dev opens a pull request into {BRANCH}", self.open_pull_request),
            ("triager labels it uat-passed (not allowed)", self.triager_label),
            ("QA accepts it, a release manager approves", self.uat_and_approve),
            ("dev merges the pull request", self.merge),
            (f"dev tags the first candidate {RC_TAG}", self.tag_candidate),
            ("QA accepts the candidate on the tracking issue", self.accept_candidate),
            (f"dev tags the release {FINAL_TAG}", self.tag_final),
            ("a release manager ticks the Deploy checklist and moves to Monitor", self.tick_deploy),
            (f"pm closes milestone {MILESTONE}", self.close_milestone),
        ]

    def run(self) -> None:
        self.log.fetch()  # start counting from here
        steps = self.steps()
        for index, (title, action) in enumerate(steps, 1):
            self._step_name = f"step {index} ({title})"
            if index > 1 and self.pause:
                time.sleep(self.pause)
            self.narrator.step(index, len(steps), title)
            began = time.monotonic()
            action()
            seconds = time.monotonic() - began
            self.narrator.bot(f"made {bot_calls(self.log.fetch())} in this step ({seconds:.1f}s)")
        self._step_name = "the end"
        self.env.settle(timeout=self.step_timeout)
        failed = self.env.queue().get("failed", 0)
        if failed:
            # Every effect showed, yet a job gave up: still a defect of the product.
            raise self.fail(f"{failed} job(s) of the bot failed for good", self.env.jobs_report())

    def close(self) -> None:
        self.cast.close()

    # ------------------------------------------------------------------ waiting for effects

    def fail(self, message: str, detail: str = "") -> DemoFailure:
        return DemoFailure(self._step_name, message, detail)

    def expect(
        self, what: str, probe: Callable[[], T | None], observed: Callable[[], str] | None = None
    ) -> T:
        """Settle, then ``probe()`` until it returns something truthy, or fail after the step timeout."""
        deadline = time.monotonic() + self.step_timeout
        while True:
            try:
                self.env.settle(timeout=max(1.0, deadline - time.monotonic()))
            except DemoFailure as exc:
                raise self.fail(f"waiting for {what}: {exc.message}", exc.detail) from exc
            value = probe()
            if value:
                return value
            if time.monotonic() >= deadline:
                detail = observed() if observed else ""
                jobs = self.env.jobs_report()
                raise self.fail(
                    f"expected {what}, but it did not happen within {self.step_timeout:.0f}s",
                    f"{detail}\n--- release-bot jobs ---\n{jobs}\n--- bot log (tail) ---\n"
                    f"{self.env.bot_log_tail()}",
                )
            time.sleep(0.2)

    def tracking_body(self) -> str:
        issue = rb.tracking_issue(self.reader, self.state.milestone)
        return (issue or {}).get("body") or ""

    def expect_stage(self, stage_id: str, comment: bool = True) -> dict[str, Any]:
        """The tracking issue shows ``stage_id`` as current (and its checklist comment exists)."""
        title = STAGE_TITLES[stage_id]

        def probe() -> dict[str, Any] | None:
            body = self.tracking_body()
            if rb.current_stage(body) != title:
                return None
            comments = rb.stage_comments(self.reader, self.state.tracking)
            if comment and stage_id not in comments:
                return None
            return {"body": body, "comments": comments}

        def observed() -> str:
            body = self.tracking_body()
            posted = list(rb.stage_comments(self.reader, self.state.tracking)) if self.state.tracking else []
            return f"current stage: {rb.current_stage(body)!r}; stage comments: {posted}\n{body[:1500]}"

        found = self.expect(f"the tracking issue to show stage {title!r}", probe, observed)
        self.show_stages(found["body"], found["comments"])
        return found

    def show_stages(self, body: str, comments: dict[str, dict[str, Any]]) -> None:
        rows = rb.stage_table(body)
        line = " > ".join(
            f"[{r.title}]" if r.is_current else r.title for r in rows if r.state and "pending" not in r.state
        )
        self.narrator.bot(f"tracking issue #{self.state.tracking} stages: {line}")
        titles = [STAGE_TITLES.get(s, s) for s in comments]
        self.narrator.detail(f"stage checklist comments: {', '.join(titles)}")

    # ------------------------------------------------------------------ the steps

    def plan_milestone(self) -> None:
        due = (datetime.now(UTC) + timedelta(days=21)).strftime("%Y-%m-%dT00:00:00Z")
        pm = self.cast["pm"]
        milestone = pm.post(
            "milestones", {"title": MILESTONE, "due_on": due, "description": "Rocket boosters"}
        )
        self.state.milestone = int(milestone["number"])
        # The day GitHub keeps (a US Pacific day), as the tracking issue and the retrospective name it.
        day = github_due_day(milestone.get("due_on"))
        self.narrator.act(
            "pm", f"created milestone {MILESTONE} due {day} ({GITHUB_DUE_ZONE_NAME}, as GitHub keeps it)"
        )
        self.narrator.link("milestone", milestone.get("html_url"))
        issue = self.expect(
            "a tracking issue for the milestone", lambda: rb.tracking_issue(self.reader, self.state.milestone)
        )
        self.state.tracking = int(issue["number"])
        self.narrator.bot(f"opened tracking issue #{issue['number']} {issue['title']!r}")
        self.narrator.link("tracking issue", issue.get("html_url"))
        found = self.expect_stage("plan")
        if "identify_needs" not in found["comments"]:
            raise self.fail(
                "expected an Identify Needs checklist comment besides Plan Release",
                str(list(found["comments"])),
            )

    def cut_branch(self) -> None:
        dev = self.cast["dev"]
        dev.create_ref(f"refs/heads/{BRANCH}", dev.ref_sha("heads/main"))
        self.narrator.act("dev", f"created branch {BRANCH} from main")
        self.expect_stage("build_test")

    def protect(self) -> None:
        # The same logic as `release-bot protect acme/rocket --token-env VAR`, as the admin.
        from bot.github import branch_protection_io

        gh = token_client(self.env.sandbox.api_url, "sandbox-token-admin")
        try:
            done = branch_protection_io.protect_release_branches(
                gh, REPO, list(self.gate.release_branches), self.gate.check_name, rb.APP_ID
            )
        except GithubException as exc:
            raise self.fail(
                f"protecting the release branches was refused ({exc.status})", str(exc.data)
            ) from exc
        finally:
            gh.close()
        self.narrator.act(
            "admin", "ran the equivalent of `release-bot protect acme/rocket --token-env ADMIN_TOKEN`"
        )
        for line in done:
            self.narrator.detail(line)
        rulesets = self.reader.get("rulesets")
        if not any(r.get("name") == "release-bot gate" for r in rulesets) and not done:
            raise self.fail("expected a ruleset or branch protection requiring the gate", str(rulesets))

    def open_pull_request(self) -> None:
        dev = self.cast["dev"]
        dev.create_ref(f"refs/heads/{FEATURE_BRANCH}", dev.ref_sha(f"heads/{BRANCH}"))
        dev.commit_file(FEATURE_BRANCH, "boosters.txt", "two solid rocket boosters\n", "Add rocket boosters")
        pr = dev.post(
            "pulls",
            {"title": PR_TITLE, "head": FEATURE_BRANCH, "base": BRANCH, "body": "Adds the boosters for 1.4."},
        )
        self.state.pr = int(pr["number"])
        self.state.pr_head = str(pr["head"]["sha"])
        dev.patch(f"issues/{self.state.pr}", {"labels": ["feature"]})
        self.narrator.act(
            "dev", f"opened pull request #{self.state.pr} {PR_TITLE!r} into {BRANCH}, label `feature`"
        )
        # The gate counts a milestone only when a release manager set it: anyone with write access can.
        self.cast["releaser"].patch(f"issues/{self.state.pr}", {"milestone": self.state.milestone})
        self.narrator.act("releaser", f"put #{self.state.pr} into milestone {MILESTONE}")
        self.narrator.link("pull request", pr.get("html_url"))
        check = self.expect(
            "the gate check run on the pull request's head commit",
            lambda: self._completed_check(self.state.pr_head),
        )
        if check.get("conclusion") != "failure":
            raise self.fail(
                f"expected the gate to fail before UAT and approval, got {check.get('conclusion')!r}",
                str(check.get("output")),
            )
        self._show_check(check)
        refused = dev.merge(self.state.pr, expect=(405,))
        message = " ".join(str(refused.json().get("message", "")).split())
        self.narrator.act("dev", f"tried to merge: GitHub refused it ({refused.status_code}: {message})")

    def triager_label(self) -> None:
        label = self.gate.uat_label
        self.cast["triager"].add_labels(self.state.pr, label)
        self.narrator.act("triager", f"added label `{label}` to #{self.state.pr}")

        def removed_with_reply() -> dict[str, Any] | None:
            if label in rb.labels(self.reader, self.state.pr):
                return None
            replies = rb.bot_comments(self.reader, self.state.pr, containing="@triager")
            return replies[-1] if replies else None

        reply = self.expect(
            f"`{label}` removed and a reply to @triager",
            removed_with_reply,
            lambda: f"labels: {rb.labels(self.reader, self.state.pr)}",
        )
        self.narrator.bot(f"removed `{label}` and replied: {_first_line(reply['body'])}")
        self.narrator.link("reply", reply.get("html_url"))

    def uat_and_approve(self) -> None:
        qa_comment = self.cast["qa"].comment(self.state.pr, "/uat passed")
        self.narrator.act("qa", f"commented `/uat passed` on #{self.state.pr}")
        rm_comment = self.cast["releaser"].comment(self.state.pr, "/approve")
        self.narrator.act("releaser", f"commented `/approve` on #{self.state.pr}")

        def green() -> dict[str, Any] | None:
            check = rb.gate_check(self.reader, self.state.pr_head)
            return check if check and check.get("conclusion") == "success" else None

        check = self.expect(
            "the gate to turn green",
            green,
            lambda: str((rb.gate_check(self.reader, self.state.pr_head) or {}).get("output")),
        )
        labels = rb.labels(self.reader, self.state.pr)
        wanted = {self.gate.uat_label, self.gate.approval_label}
        if not wanted <= labels:
            raise self.fail(f"expected labels {sorted(wanted)} on #{self.state.pr}", str(sorted(labels)))
        for login, comment in (("qa", qa_comment), ("releaser", rm_comment)):
            if ("+1", rb.BOT_LOGIN) not in rb.reactions(self.reader, int(comment["id"])):
                raise self.fail(f"expected a 👍 from the bot on {login}'s command")
        self.narrator.bot(
            f"reacted 👍 to both commands and labelled #{self.state.pr} {', '.join(sorted(wanted))}"
        )
        self._show_check(check)

    def merge(self) -> None:
        merged = self.cast["dev"].merge(self.state.pr).json()
        self.narrator.act("dev", f"merged #{self.state.pr} into {BRANCH} ({str(merged.get('sha'))[:7]})")
        needle = f"(#{self.state.pr})"

        def draft_lists_pr() -> dict[str, Any] | None:
            release = rb.notes_release(self.reader, self.state.milestone)
            return release if release and needle in (release.get("body") or "") else None

        release = self.expect(
            f"the release notes draft to list #{self.state.pr}",
            draft_lists_pr,
            lambda: str(rb.notes_release(self.reader, self.state.milestone)),
        )
        state = "draft" if release.get("draft") else "published"
        self.narrator.bot(f"release notes ({state}, tag {release.get('tag_name')}) now read:")
        for heading, line in rb.headed_lines(release.get("body") or ""):
            self.narrator.detail(f"{heading}: {line}" if heading else line)
        self.narrator.link("release", release.get("html_url"))

    def tag_candidate(self) -> None:
        dev = self.cast["dev"]
        dev.create_ref(f"refs/tags/{RC_TAG}", dev.ref_sha(f"heads/{BRANCH}"))
        self.narrator.act("dev", f"pushed tag {RC_TAG} on {BRANCH}")
        self.expect_stage("uat")

    def accept_candidate(self) -> None:
        comment = self.cast["qa"].comment(self.state.tracking, "/uat passed")
        self.narrator.act("qa", f"commented `/uat passed` on tracking issue #{self.state.tracking}")
        found = self.expect_stage("prepare")
        if "passed on rc.1" not in found["body"]:
            self.narrator.detail("(the body does not name the candidate that passed)")
        if ("+1", rb.BOT_LOGIN) not in rb.reactions(self.reader, int(comment["id"])):
            raise self.fail("expected a 👍 from the bot on QA's `/uat passed`")
        self.narrator.bot("reacted 👍 and recorded UAT passed on rc.1")

    def tag_final(self) -> None:
        dev = self.cast["dev"]
        dev.create_ref(f"refs/tags/{FINAL_TAG}", dev.ref_sha(f"heads/{BRANCH}"))
        self.narrator.act("dev", f"pushed tag {FINAL_TAG} on {BRANCH}")
        self.expect_stage("deploy")

        def published() -> dict[str, Any] | None:
            release = rb.notes_release(self.reader, self.state.milestone)
            ok = release and not release.get("draft") and release.get("tag_name") == FINAL_TAG
            return release if ok else None

        release = self.expect(
            f"the release to be published on {FINAL_TAG}",
            published,
            lambda: str(rb.notes_release(self.reader, self.state.milestone)),
        )
        self.narrator.bot(
            f"published release {release.get('name') or release.get('tag_name')!r} "
            f"on {release.get('tag_name')}"
        )
        self.narrator.link("release", release.get("html_url"))

    def tick_deploy(self) -> None:
        comments = rb.stage_comments(self.reader, self.state.tracking)
        deploy = comments.get("deploy")
        if deploy is None:
            raise self.fail("no Deploy checklist comment to tick", str(list(comments)))
        body = str(deploy["body"])
        ticked = body.count("- [ ]")
        self.cast["releaser"].patch(
            f"issues/comments/{deploy['id']}", {"body": body.replace("- [ ]", "- [x]")}
        )
        self.narrator.act("releaser", f"ticked the {ticked} boxes of the Deploy checklist")
        self.narrator.link("checklist", deploy.get("html_url"))
        # A tick moves no stage (GitHub does not say who ticked): the release manager says so.
        self.cast["releaser"].comment(self.state.tracking, "/stage monitor")
        self.narrator.act("releaser", f"commented `/stage monitor` on tracking issue #{self.state.tracking}")
        self.expect_stage("monitor")

    def close_milestone(self) -> None:
        self.cast["pm"].patch(f"milestones/{self.state.milestone}", {"state": "closed"})
        self.narrator.act("pm", f"closed milestone {MILESTONE}")
        self.expect_stage("future_planning")
        retro = self.expect(
            "a retrospective comment on the tracking issue",
            lambda: (
                rb.bot_comments(
                    self.reader, self.state.tracking, containing=f"release-bot:retro:{self.state.milestone}"
                )
                or [None]
            )[0],
        )
        self.narrator.bot("posted the retrospective:")
        for line in (retro.get("body") or "").splitlines():
            if line.strip() and not line.startswith("<!--"):
                self.narrator.detail(line[:100])
        self.narrator.link("retrospective", retro.get("html_url"))

    # ------------------------------------------------------------------ helpers

    def _completed_check(self, sha: str) -> dict[str, Any] | None:
        check = rb.gate_check(self.reader, sha, self.gate.check_name)
        return check if check and check.get("status") == "completed" else None

    def _show_check(self, check: dict[str, Any]) -> None:
        title = (check.get("output") or {}).get("title") or ""
        self.narrator.bot(
            f"check `{check.get('name')}` on {str(check.get('head_sha'))[:7]}: "
            f"{check.get('conclusion')} — {title}"
        )
        self.narrator.link("check run", check.get("html_url"))


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("<!--"):
            return line.strip()
    return ""
