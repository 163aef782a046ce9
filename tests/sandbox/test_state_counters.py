"""Incremental counters of the sandbox state (issue 3, scale): they must always equal a recount."""

from __future__ import annotations

import random
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.sandbox.server import start_sandbox
from bot.sandbox.state import Comment, Issue, SandboxState

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _recount(st: SandboxState) -> tuple[dict[int, tuple[int, int]], int, set[int]]:
    repo = st.repo("acme", "rocket")
    assert repo is not None
    per: dict[int, list[int]] = {}
    for it in repo.issues.values():
        if it.deleted:
            continue
        if it.milestone is not None:
            per.setdefault(it.milestone, [0, 0])[0 if it.state == "open" else 1] += 1
    live = [it for it in repo.issues.values() if not it.deleted and it.state == "open"]
    return {k: (v[0], v[1]) for k, v in per.items()}, len(live), {it.number for it in live}


def test_issue_and_comment_tables_match_a_recount_after_random_changes() -> None:
    st = SandboxState()
    repo = st.repo("acme", "rocket")
    assert repo is not None
    rng = random.Random(7)
    for n in range(1, 200):
        repo.issues[n] = Issue(id=n, number=n, title="t", user="dev", created_at=NOW, updated_at=NOW,
                               milestone=rng.choice([None, 1, 2, 3]))
    for _ in range(2000):
        it = repo.issues[rng.randrange(1, 200)]
        change = rng.randrange(4)
        if change == 0:
            it.milestone = rng.choice([None, 1, 2, 3])
        elif change == 1:
            it.state = rng.choice(["open", "closed"])
        elif change == 2:
            it.deleted = rng.random() < 0.2
        else:  # replaced under the same number (the old object must stop counting)
            repo.issues[it.number] = Issue(id=it.id, number=it.number, title="t2", user="dev", created_at=NOW,
                                           updated_at=NOW, milestone=rng.choice([None, 1, 2, 3]))
            it.state = "closed"
    per, open_count, open_numbers = _recount(st)
    assert {m: repo.issues.counts(m) for m in (1, 2, 3)} == {m: per.get(m, (0, 0)) for m in (1, 2, 3)}
    assert repo.issues.open_count == open_count and repo.issues.open_numbers == open_numbers
    for cid in range(1, 300):
        repo.comments[cid] = Comment(id=cid, issue_number=rng.randrange(1, 20), user="dev", body="b",
                                     created_at=NOW, updated_at=NOW)
    for cid in range(1, 300, 3):
        del repo.comments[cid]
    truth: dict[int, int] = {}
    for c in repo.comments.values():
        truth[c.issue_number] = truth.get(c.issue_number, 0) + 1
    assert {n: repo.comments.per_issue[n] for n in range(1, 20)} == {n: truth.get(n, 0) for n in range(1, 20)}


def test_scale_benchmark_smoke(tmp_path: Path) -> None:
    """The benchmark's two scenarios on a small scale (the full run is benchmarks/sandbox_scale.py)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    try:
        import sandbox_scale
    finally:
        sys.path.pop(0)
    with start_sandbox(port=0, app_key_path=str(tmp_path / "app.pem")) as sb:
        listing = sandbox_scale.milestone_listing(sb.api_url, 120)
        merges = sandbox_scale.merges(sb.api_url, 8)
    assert listing["issues"] == 120 and listing["pages"] == 2
    assert merges["merges"] == 8 and merges["total_seconds"] > 0
