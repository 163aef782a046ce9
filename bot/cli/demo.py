"""`release-bot demo`: a guided tour of one whole release on the built-in sandbox.

    release-bot demo [--keep-running] [--port N] [--bot-port N] [--fast] [--step-timeout S]

Starts the sandbox in this process and the bot as a `release-bot serve` subprocess, plays a
scripted release of acme/rocket as the seeded users, narrates what the bot did after each step
and ends with the API calls per actor. Exit 0 when every expected effect happened, 1 when one did
not (the message names the step), 2 for bad arguments or when the demo cannot start. With
``--keep-running`` both stay up (until Ctrl-C) with the URLs and tokens printed for curl.
"""

from __future__ import annotations

import argparse
import signal
import threading
import time
from typing import Any

HELP = "play a whole release on the built-in sandbox, narrating what the bot does (also a smoke test)"
_PAUSE_SECONDS = 1.0  # between steps without --fast, so a person can read along


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help=HELP, description=HELP)
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the sandbox and the bot running afterwards (Ctrl-C stops them)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=0,
        help="the sandbox's port, to explore it afterwards (default: any free port)",
    )
    parser.add_argument("--bot-port", type=int, default=0, help="the bot's port (default: any free port)")
    parser.add_argument("--fast", action="store_true", help="no pauses between steps")
    parser.add_argument(
        "--step-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="how long a step may take to show its effect (default 60)",
    )


def run(args: argparse.Namespace) -> int:
    from bot.demo.environment import DemoEnvironment
    from bot.demo.errors import DemoFailure
    from bot.demo.narrator import Narrator
    from bot.demo.story import REPO, Story

    narrator = Narrator()
    for name in ("port", "bot_port"):
        port = getattr(args, name)
        if not 0 <= port <= 65535:
            narrator.error(f"release-bot demo: invalid --{name.replace('_', '-')} {port}")
            return 2
    if args.step_timeout <= 0:
        narrator.error("release-bot demo: --step-timeout must be positive")
        return 2

    started = time.monotonic()
    narrator.banner(f"release-bot demo: one release of {REPO}, start to finish, on the built-in sandbox")
    try:
        env = DemoEnvironment.start(sandbox_port=args.port, bot_port=args.bot_port)
    except DemoFailure as exc:
        narrator.error(f"release-bot demo: cannot start: {exc.message}")
        if exc.detail:
            narrator.error(exc.detail)
        return 2
    story = Story(env, narrator, pause=0.0 if args.fast else _PAUSE_SECONDS, step_timeout=args.step_timeout)
    failed = False
    try:
        narrator.line(f"sandbox (simulated GitHub): {env.sandbox.base_url}  REST API: {env.sandbox.api_url}")
        narrator.line(f"bot (release-bot serve, pid {env.proc.pid if env.proc else '?'}): {env.bot_url}")
        try:
            story.run()
        except DemoFailure as exc:
            failed = True
            narrator.error(f"\nrelease-bot demo FAILED at {exc.step}: {exc.message}")
            if exc.detail:
                narrator.error(exc.detail.rstrip())
            narrator.error(f"release-bot demo: the bot's log and queue are kept in {env.workdir}")
            return 1
        except KeyboardInterrupt:
            narrator.error("\nrelease-bot demo: interrupted; stopping the bot and the sandbox")
            return 130
        _print_summary(narrator, story, time.monotonic() - started)
        if args.keep_running:
            _print_exploration(narrator, env, story)
            _wait_for_interrupt()
        return 0
    finally:
        story.close()
        env.stop(keep_workdir=failed)


def _print_summary(narrator: Any, story: Any, seconds: float) -> None:
    from bot.demo.summary import bot_calls, bot_writes_by_endpoint, per_actor

    rows = story.log.rows
    narrator.line()
    narrator.banner(f"Done: every step had its effect ({seconds:.1f}s).")
    narrator.line(
        f"API calls during the demo, per actor (from GET {story.env.sandbox.base_url}/_sandbox/requests):"
    )
    for actor, calls in per_actor(rows).items():
        who = {
            "release-bot[bot]": "  <- the bot (installation token)",
            "app": "  <- the bot (App JWT)",
            "admin": "  (includes the demo's read-backs)",
        }.get(actor, "")
        narrator.line(f"  {actor:<18} {calls.total:>5}  ({calls.reads} reads, {calls.writes} writes){who}")
    narrator.line(f"  the bot in total: {bot_calls(rows)}")
    warnings, errors = story.env.log_problems()
    narrator.line(f"  the bot's log: {warnings} warnings, {len(errors)} errors")
    for message in errors[:5]:
        narrator.line(f"    error: {message[:200]}")
    writes = bot_writes_by_endpoint(rows)
    if writes:
        narrator.line("  the bot's writes by endpoint:")
        for name, count in writes:
            narrator.line(f"    {count:>4}  {name}")


def _print_exploration(narrator: Any, env: Any, story: Any) -> None:
    from bot.sandbox.guide import SandboxEndpoints, drive_me_lines

    api = env.sandbox.api_url
    state = story.state
    narrator.line()
    narrator.banner("Still running (--keep-running). Ctrl-C stops both.")
    endpoints = SandboxEndpoints(
        web_url=env.sandbox.base_url,
        api_url=api,
        bot_url=env.bot_url,
        webhook_path="/api/github/webhooks",
        key_path=env.bot_env["PRIVATE_KEY_PATH"],
        queue_url=env.bot_env["QUEUE_URL"],
    )
    for line in drive_me_lines(endpoints):
        narrator.line(line)
    narrator.line(f"  bot log / queue  : {env.workdir}")
    narrator.line("  look:")
    narrator.line(f"    {env.bot_url}/login?login=pm   (signs pm in at once; then the overview)")
    narrator.line(f"    {env.bot_url}/releases/acme/rocket/{state.milestone}   (the release page)")
    narrator.line(f"    {env.sandbox.base_url}/acme/rocket/issues/{state.tracking}   (the tracking issue)")
    narrator.line(f"    {env.sandbox.base_url}/acme/rocket/pull/{state.pr}   (the gated pull request)")
    narrator.line("  try:")
    auth = "-H 'Authorization: token sandbox-token-pm'"
    narrator.line(f"    curl -s {auth} {api}/repos/acme/rocket/issues/{state.tracking}")
    narrator.line(f"    curl -s {auth} {api}/repos/acme/rocket/commits/{state.pr_head}/check-runs")
    narrator.line(f"    curl -s {auth} {api}/repos/acme/rocket/releases")
    narrator.line(f"    curl -s {env.sandbox.base_url}/_sandbox/deliveries")
    narrator.line(f"    curl -s {env.bot_url}/healthz")


def _wait_for_interrupt() -> None:
    stop = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stop.wait()
