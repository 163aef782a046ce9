"""The web pages in real headless Chromium (Debian's package, driven by Playwright), against the
sandbox and a real `release-bot serve`: sign in through the sandbox's OAuth page, follow a release
live while the sandbox is driven, who sees what, and injected HTML shown as text.

Chromium comes from ``scripts/install-chromium`` (called by ./scripts/test); Playwright never
downloads a browser here. Screenshots go to ``test-artifacts/web/`` (RELEASE_BOT_ARTIFACTS), not git.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import E2E, ROOT, SECRET, open_e2e

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium's own connections are refused on a closed network
# and slow every launch; a fresh profile per run keeps runs independent.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("RELEASE_BOT_ARTIFACTS", ROOT / "test-artifacts")) / "web"
REPO = "acme/rocket"
INJECTED_TITLE = "<img src=x onerror=alert(1)> Fix <b>it</b>"
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)  # the bot works after it answers: pages follow within seconds
    assert Path(CHROMIUM).exists(), "Debian's chromium is missing: run ./scripts/install-chromium"
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1200, "height": 900},
        )
        context.set_default_timeout(WAIT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """A page in a context with no cookies (a new visitor); alerts are recorded, never accepted."""
    chromium.clear_cookies()
    page = chromium.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        page.close()


@pytest.fixture
def web(tmp_path: Path, bot_factory: Any) -> Iterator[E2E]:
    """Sandbox + bot as the ``e2e`` fixture, with a short page cache and live refresh."""
    env = {"WEB_CACHE_SECONDS": "0.5", "WEB_REFRESH_SECONDS": "1"}
    with open_e2e(tmp_path, bot_factory, env=env) as built:
        yield built


def ok(resp: httpx.Response) -> Any:
    assert resp.status_code < 300, (resp.request.method, resp.request.url, resp.status_code, resp.text)
    return resp.json() if resp.content else None


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in_by_picking(page: Any, bot_url: str, login: str) -> None:
    """Anonymous → sign-in page → the sandbox's authorize page → pick ``login`` → back, signed in."""
    page.goto(bot_url + "/")
    page.get_by_role("link", name="Sign in with GitHub").click()
    page.get_by_role("link", name=login, exact=True).click()
    page.get_by_text(f"Signed in as {login}").wait_for()


def test_pm_signs_in_and_follows_a_release_live(web: E2E, browser: Any) -> None:
    from playwright.sync_api import expect

    admin = web.api("admin")
    due = (datetime.now(UTC) + timedelta(days=14)).strftime("%Y-%m-%dT12:00:00Z")
    milestone = ok(admin.post(f"/repos/{REPO}/milestones", json={"title": "v1.4.0", "due_on": due}))["number"]
    web.settle()

    page = browser
    page.goto(web.bot.url + "/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert REPO not in page.content()  # anonymous: nothing about any repository
    sign_in_by_picking(page, web.bot.url, "pm")
    expect(page.get_by_role("heading", name=REPO)).to_be_visible()
    expect(page.locator("article.release [aria-current=step]")).to_contain_text("Plan Release")
    expect(page.locator("article.release")).to_contain_text("days left")
    shot(page, "overview")

    page.get_by_role("link", name="v1.4.0").click()
    current = page.locator(".timeline [aria-current=step]")
    expect(current).to_contain_text("Plan Release")
    page.evaluate("window.__same_document = true")  # survives only if the page is never reloaded

    # The sandbox is driven; the open page follows without a reload (progressive enhancement).
    main = ok(admin.get(f"/repos/{REPO}/git/ref/heads/main"))["object"]["sha"]
    ok(admin.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/heads/release/1.4", "sha": main}))
    web.settle()
    expect(current).to_contain_text("Build & Test")

    dev = web.api("dev")
    ok(dev.post(f"/repos/{REPO}/git/refs", json={"ref": "refs/heads/fix-web", "sha": main}))
    ok(
        dev.put(
            f"/repos/{REPO}/contents/web.txt",
            json={"message": "fix", "content": base64.b64encode(b"web\n").decode(), "branch": "fix-web"},
        )
    )
    number = ok(
        dev.post(
            f"/repos/{REPO}/pulls", json={"title": INJECTED_TITLE, "head": "fix-web", "base": "release/1.4"}
        )
    )["number"]
    ok(web.api("releaser").patch(f"/repos/{REPO}/issues/{number}", json={"milestone": milestone}))
    web.settle()
    row = page.locator("table.pulls tbody tr", has_text=f"#{number}")
    expect(row).to_contain_text(INJECTED_TITLE)  # the title is text, not markup
    expect(row.locator("td.gate")).to_have_text("failing")

    ok(web.api("qa").post(f"/repos/{REPO}/issues/{number}/comments", json={"body": "/uat passed"}))
    ok(web.api("releaser").post(f"/repos/{REPO}/issues/{number}/comments", json={"body": "/approve"}))
    web.settle()
    expect(row.locator("td.gate")).to_have_text("passing")
    expect(row).to_contain_text("met by qa")
    expect(row).to_contain_text("met by releaser")
    assert page.evaluate("window.__same_document") is True
    assert page.locator("table.pulls img").count() == 0 and page.dialogs == []  # type: ignore[attr-defined]
    shot(page, "release")

    # phone width: nothing wider than the screen, the stages still listed
    page.set_viewport_size({"width": 375, "height": 800})
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    shot(page, "release-phone")
    page.set_viewport_size({"width": 1200, "height": 900})

    # the tracking issue's link leads to the sandbox's page of it
    page.goto(web.bot.url + "/")
    tracking = page.locator("article.release dd a", has_text="#").first
    tracking.click()
    expect(page.get_by_role("heading", name="Release v1.4.0", level=1)).to_be_visible()
    assert page.locator("input[type=checkbox]").count() >= 4  # the stage checklists as boxes
    shot(page, "sandbox-issue")


def test_who_sees_what(web: E2E, browser: Any, chromium: Any) -> None:
    from playwright.sync_api import expect

    ok(
        httpx.post(
            f"{web.sandbox.base_url}/_sandbox/repos",
            timeout=15,
            json={"owner": "acme", "name": "secret-rocket", "private": True, "permissions": {"dev": "write"}},
        )
    )
    ok(web.api("admin").post("/repos/acme/secret-rocket/milestones", json={"title": "v0.9.0"}))
    ok(web.api("admin").post(f"/repos/{REPO}/milestones", json={"title": "v2.0.0"}))
    web.settle()
    page = browser

    page.goto(web.bot.url + "/releases/acme/secret-rocket/1")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert "secret-rocket" not in page.locator("main").inner_text()

    sign_in_by_picking(page, web.bot.url, "outsider")
    expect(page.get_by_role("heading", name=REPO)).to_be_visible()
    assert "secret-rocket" not in page.content()
    page.goto(web.bot.url + "/releases/acme/secret-rocket/1")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()

    chromium.clear_cookies()
    # /login?login=dev: the sandbox signs the suggested user in at once (scripted sign-in)
    page.goto(web.bot.url + "/login?login=dev")
    page.get_by_text("Signed in as dev").wait_for()
    expect(page.get_by_role("heading", name="acme/secret-rocket")).to_be_visible()


@pytest.fixture
def unconfigured(tmp_path: Path) -> Iterator[tuple[Any, str, Path]]:
    """The sandbox, and a real `release-bot serve --no-sandbox` with no App: what a maintainer
    starts before the App exists (GITHUB_API_URL names the GitHub to create it on)."""
    import signal
    import subprocess
    import sys
    import time

    from harness import free_port

    from bot.sandbox.server import start_sandbox

    sandbox = start_sandbox(port=0, webhook_url=None, app_key_path=str(tmp_path / "sandbox-app.pem"))
    workdir = tmp_path / "deploy"
    workdir.mkdir()
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "GITHUB_API_URL": sandbox.api_url,
        "WEBHOOK_SECRET": SECRET,
        "QUEUE_URL": f"sqlite:///{workdir / 'queue.db'}",
        "WORKER_THREADS": "0",
        "PYTHONPATH": str(ROOT),
    }
    env.pop("APP_ID", None)
    log = open(workdir / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from bot.cli import main; sys.exit(main())",
            "serve",
            "--no-sandbox",
        ],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, (workdir / "serve.log").read_text()[-2000:]
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "serve --no-sandbox did not start"
            time.sleep(0.05)
        yield sandbox, url, workdir
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        log.close()
        sandbox.stop()


def test_setup_flow_runs_to_the_end_and_refuses_to_run_again(
    unconfigured: tuple[Any, str, Path], browser: Any
) -> None:
    from playwright.sync_api import expect

    sandbox, url, workdir = unconfigured
    page = browser
    page.goto(url + "/setup")
    # a post without the form's CSRF token is refused (the browser's cookies, no token)
    refused = page.request.post(url + "/setup", form={"owner_kind": "user"})
    assert refused.status == 400 and "CSRF" in refused.text()

    page.get_by_label("The App's name").fill("release-bot for acme")
    page.get_by_label("an organization").check()
    page.get_by_label("Organization name").fill("acme")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Create the App on GitHub").click()  # to the sandbox, and back
    expect(page.get_by_role("heading", name="App created")).to_be_visible()
    env_file = workdir / ".env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert "APP_ID=" in env_file.read_text() and "GITHUB_CLIENT_SECRET=" in env_file.read_text()
    shot(page, "setup-done")

    page.get_by_role("link", name="Install the App").click()  # GitHub's install page (the sandbox's)
    page.get_by_label("acme").check()
    page.get_by_role("button", name="Install").click()
    expect(page.get_by_role("heading", name="release-bot for acme is installed")).to_be_visible()
    with sandbox.state.lock:
        app = next(a for a in sandbox.state.apps.values() if a.name == "release-bot for acme")
        assert [i.account for i in sandbox.state.installations.values() if i.app_id == app.id] == ["acme"]

    before = env_file.read_bytes()
    page.goto(url + "/setup")
    expect(page.get_by_role("heading", name="The App is configured")).to_be_visible()
    assert page.locator("form[action='/setup']").count() == 0 and env_file.read_bytes() == before
