"""The commit-graph walks (generation numbers, two-sided paint) agree with brute force on random
histories with branches and merges, and stay cheap on a long history."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from bot.sandbox import gitobjects
from bot.sandbox.state import GitPerson, Repo


def _repo() -> Repo:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return Repo(id=1, owner="acme", name="graph", created_at=now, updated_at=now, pushed_at=now)


def _commit(repo: Repo, parents: list[str], n: int, when: datetime) -> str:
    who = GitPerson("dev", "dev@example.com", when)
    c = gitobjects.make_commit({"f": str(n).encode()}, parents, f"c{n}", who, who)
    repo.commits[c.sha] = c
    return c.sha


def _random_history(seed: int, size: int = 120) -> tuple[Repo, list[str]]:
    rng = random.Random(seed)
    repo = _repo()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    shas = [_commit(repo, [], 0, base)]
    for n in range(1, size):
        # Few distinct seconds, so ties on the date are common (as in fast tests).
        when = base + timedelta(seconds=n // 7)
        if len(shas) > 3 and rng.random() < 0.3:
            parents = rng.sample(shas[-30:], 2)
        else:
            parents = [rng.choice(shas[-10:])]
        shas.append(_commit(repo, parents, n, when))
    return repo, shas


def _naive_ancestors(repo: Repo, sha: str) -> set[str]:
    out, todo = set(), [sha]
    while todo:
        cur = todo.pop()
        if cur not in out and cur in repo.commits:
            out.add(cur)
            todo.extend(repo.commits[cur].parents)
    return out


def _naive_merge_bases(repo: Repo, a: str, b: str) -> set[str]:
    common = _naive_ancestors(repo, a) & _naive_ancestors(repo, b)
    dominated: set[str] = set()
    for c in common:
        for p in repo.commits[c].parents:
            dominated |= _naive_ancestors(repo, p)
    return common - dominated


def test_walks_agree_with_brute_force() -> None:
    for seed in range(6):
        repo, shas = _random_history(seed)
        rng = random.Random(seed + 100)
        for _ in range(60):
            a, b = rng.choice(shas), rng.choice(shas)
            anc_a, anc_b = _naive_ancestors(repo, a), _naive_ancestors(repo, b)
            assert gitobjects.is_ancestor(repo, b, a) is (b in anc_a)
            assert set(gitobjects.commits_between(repo, b, a)) == anc_a - anc_b
            bases = _naive_merge_bases(repo, a, b)
            got = gitobjects.merge_base(repo, a, b)
            assert got in bases
            assert got == max(bases, key=lambda s: (repo.commits[s].committer.date, s))
            listed = gitobjects.commits_between(repo, b, a)
            position = {s: i for i, s in enumerate(listed)}
            for s in listed:  # parents are listed before their children
                assert all(position[p] < position[s] for p in repo.commits[s].parents if p in position)
        assert gitobjects.generation(repo, shas[0]) == 1
        assert gitobjects.generation(repo, "f" * 40) == 0


def test_unknown_commits_are_handled_like_missing_history() -> None:
    repo, shas = _random_history(1, 20)
    assert set(gitobjects.commits_between(repo, "0" * 40, shas[5])) == _naive_ancestors(repo, shas[5])
    assert gitobjects.commits_between(repo, shas[5], "0" * 40) == []
    assert gitobjects.merge_base(repo, shas[5], "0" * 40) is None
    assert gitobjects.is_ancestor(repo, "0" * 40, shas[5]) is False


def test_cost_does_not_grow_with_history() -> None:
    # main with 20,000 commits, a topic branch of 3 commits off its tip: the walks touch only the tip.
    repo = _repo()
    base = datetime(2026, 1, 1, tzinfo=UTC)
    tip = _commit(repo, [], 0, base)
    for n in range(1, 20_000):
        tip = _commit(repo, [tip], n, base + timedelta(seconds=n))
    gitobjects.generation(repo, tip)  # computed once, as the sandbox does on the first walk
    topic = tip
    for n in range(3):
        topic = _commit(repo, [topic], 100_000 + n, base + timedelta(seconds=30_000 + n))
    started = time.perf_counter()
    for _ in range(200):
        assert gitobjects.merge_base(repo, tip, topic) == tip
        assert len(gitobjects.commits_between(repo, tip, topic)) == 3
        assert gitobjects.is_ancestor(repo, tip, topic)
    assert time.perf_counter() - started < 1.0  # a full-history walk would take minutes here
