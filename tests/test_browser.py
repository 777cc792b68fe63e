"""A real browser against Evergraph from another origin (issue 12, item 2).

Headless Chromium (Debian's ``chromium`` package, driven by Playwright; no browser is
downloaded) loads the React page of ``tests/browser/`` from a static server the test
starts on one loopback port; the page talks to an ``evergraph dev`` of
``examples/langgraph.json`` on another port, so every call is cross-origin and needs
the API's CORS answers. The page is built once per session with ``npm ci`` and
``npm run build`` (esbuild).

The example agent runs with a real ``langchain-openai`` model
(``EVERGRAPH_EXAMPLE_MODEL=openai:gpt-4o-mini``, ``OPENAI_BASE_URL``) against
:class:`tests.providers.ProviderServer`, whose streamed chunks are paced so that tokens
reach the browser one by one. For each hook, ``useStream`` of
``@langchain/langgraph-sdk/react`` (``lib=sdk``) and of ``@langchain/react``
(``lib=react``), the test sends a message to ``agent`` and sees the tool call render
and the answer grow over several renders, then asks ``approval`` for an action,
approves the interrupt with the page's button and sees the run's result.

Screenshots (PNG) of each step are written under the test's tmp path; a failing step
names its screenshot, the page's console errors and failed requests in the assertion
message.
"""

from __future__ import annotations

import asyncio
import functools
import http.server
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from evergraph.adapter.process.devserver import free_port
from tests.conftest import ROOT, EvergraphProcess, evergraph_env
from tests.providers import OPENAI_CHAT, ProviderServer

BROWSER_DIR = ROOT / "tests" / "browser"
EXAMPLES_CONFIG = ROOT / "examples" / "langgraph.json"
CHROMIUM = Path("/usr/bin/chromium")
#: flags this sandbox needs: no sandboxing, no GPU, and no background traffic to the
#: (closed) network; a fresh user-data dir is passed per test
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MODEL = "gpt-4o-mini"
#: seconds between the provider's streamed chunks, standing for a model's token latency
TOKEN_PACE = 0.03
#: seconds any one DOM condition may take
STEP_TIMEOUT_MS = 20_000

CITY = "Paris"
#: the provider script calls the first tool (get_weather) with the user's text, then
#: answers with the tool's result (tests/providers.py, examples/agent.py)
TOOL_RESULT = f"The weather in {CITY} is sunny, 22°C"
ANSWER = f"Tool said: {TOOL_RESULT}"
REQUEST = "refund order 42"

pytestmark = pytest.mark.timeout(240)


def _require(condition: bool, why: str) -> None:
    """Skip when a tool is missing on a developer's machine; fail under CI, whose
    ``.ci/run`` installs them."""
    if not condition:
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)


class PacedStreams:
    """ASGI middleware: waits ``pace`` seconds after each non-final body chunk of a
    response, so a streamed answer arrives token by token as from a real model.

    Args:
        app: the wrapped ASGI app.
        pace: seconds to wait after each chunk.
    """

    def __init__(self, app, pace: float) -> None:
        self.app = app
        self.pace = pace

    async def __call__(self, scope, receive, send) -> None:
        async def paced_send(message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and message.get("more_body") and message.get("body"):
                await asyncio.sleep(self.pace)

        await self.app(scope, receive, paced_send)


@pytest.fixture(scope="module")
def page_bundle() -> Path:
    """``tests/browser/dist``, built by ``npm run build`` after ``npm ci`` (the install
    is left out when ``node_modules`` is newer than ``package-lock.json``).

    Raises:
        AssertionError: ``npm ci`` or the build failed (with their output).
    """
    npm = shutil.which("npm")
    _require(npm is not None, "npm is not installed")
    installed = BROWSER_DIR / "node_modules" / ".package-lock.json"
    lock = BROWSER_DIR / "package-lock.json"
    steps = []
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        steps.append([npm, "ci", "--no-audit", "--no-fund"])
    steps.append([npm, "run", "build"])
    for step in steps:
        done = subprocess.run(step, check=False, cwd=BROWSER_DIR, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{' '.join(step)} failed:\n{done.stdout}\n{done.stderr}"
    dist = BROWSER_DIR / "dist"
    assert (dist / "index.html").exists() and (dist / "app.js").exists()
    return dist


@pytest.fixture(scope="module")
def page_origin(page_bundle: Path) -> str:
    """Base URL of a static server for the built page, on its own loopback port
    (another origin than the API's)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(page_bundle)))
    thread = threading.Thread(target=httpd.serve_forever, name="page-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def provider() -> ProviderServer:
    """The OpenAI-compatible server, its streamed chunks paced by ``TOKEN_PACE``."""
    server = ProviderServer()
    server.app = PacedStreams(server.app, TOKEN_PACE)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def examples_api(temporal_server, data_root: Path, provider: ProviderServer) -> str:
    """``evergraph dev`` of examples/langgraph.json (API + worker) on the session's
    Temporal, the agent on a real ``langchain-openai`` model at ``provider``."""
    port = free_port()
    env = evergraph_env(
        temporal_server.address,
        data_root / "browser",
        EVERGRAPH_TASK_QUEUE=f"browser-{port}",
        EVERGRAPH_EXAMPLE_MODEL=f"openai:{MODEL}",
        OPENAI_BASE_URL=provider.openai_base_url,
        OPENAI_API_KEY="sk-evergraph-tests",
    )
    proc = EvergraphProcess(
        ["dev", "--config", str(EXAMPLES_CONFIG), "--port", str(port)], env, data_root / "browser.log"
    )
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_ready(url)
        yield url
    finally:
        proc.stop()


@pytest_asyncio.fixture
async def browser_page(tmp_path: Path) -> AsyncIterator[Any]:
    """A new page in headless Chromium with a fresh user-data dir."""
    _require(CHROMIUM.exists(), f"{CHROMIUM} is missing (Debian package `chromium`)")
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        async with async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS,
                viewport={"width": 1000, "height": 900},
            )
            try:
                page = context.pages[0] if context.pages else await context.new_page()
                yield page
            finally:
                await context.close()


class Steps:
    """Runs the test's steps on ``page``: each waits on DOM state; on failure it writes
    a screenshot and fails with its path, the page's console errors, failed requests
    and the page's recorded hook errors. Every step also leaves a screenshot.

    Args:
        page: the Playwright page.
        folder: where the PNG files go.
    """

    def __init__(self, page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0
        self.console: list[str] = []
        self.failed_requests: list[str] = []
        page.on(
            "console",
            lambda m: self.console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
        )
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: self.failed_requests.append(f"{r.method} {r.url}: {r.failure}"))
        page.on(
            "response",
            lambda r: (
                self.failed_requests.append(f"{r.request.method} {r.url}: HTTP {r.status}") if r.status >= 400 else None
            ),
        )

    async def shot(self, name: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        await self.page.screenshot(path=str(path), full_page=True)
        return path

    async def __call__(self, name: str, check) -> None:
        """Await ``check()`` (a coroutine function); screenshot after it either way."""
        try:
            await check()
        except Exception as exc:  # AssertionError, and Playwright's own errors
            path = await self.shot(f"FAILED-{name}")
            try:
                recorded = await self.page.evaluate("() => window.__evergraph && window.__evergraph.errors")
            except Exception as inner:  # noqa: BLE001 - the page may be gone
                recorded = f"<unreadable: {inner}>"
            raise AssertionError(
                f"step {name!r} failed: {exc}\nscreenshot: {path}\nhook errors: {recorded}\n"
                f"console: {self.console[-20:]}\nfailed requests: {self.failed_requests[-20:]}"
            ) from exc
        print(f"screenshot: {await self.shot(name)}")


async def settled(target, error) -> None:
    """Wait until ``target`` or ``error`` (Playwright locators) shows, then fail at
    once if it is the error: a failed call ends the wait early."""
    from playwright.async_api import expect

    await expect(target.or_(error).first).to_be_visible(timeout=STEP_TIMEOUT_MS)
    if await error.count():
        raise AssertionError(f"the page shows an error: {await error.first.inner_text()}")


def test_cors_preflight_answers_another_origin(examples_api: str, page_origin: str):
    """The page's calls need the API to accept its origin; say so plainly first."""
    response = httpx.options(
        f"{examples_api}/threads",
        headers={
            "Origin": page_origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    allowed = response.headers.get("access-control-allow-origin")
    assert response.status_code in (200, 204) and allowed in ("*", page_origin), (
        f"CORS preflight from {page_origin}: HTTP {response.status_code} {dict(response.headers)} {response.text[:300]}"
    )


@pytest.mark.parametrize("lib", ["sdk", "react"])
async def test_use_stream_from_another_origin(
    lib: str, browser_page, examples_api: str, page_origin: str, provider: ProviderServer, tmp_path: Path
):
    from playwright.async_api import expect

    page = browser_page
    step = Steps(page, tmp_path)
    calls_before = provider.stats.count(OPENAI_CHAT, MODEL, streamed=True)
    await page.goto(f"{page_origin}/index.html?api={examples_api}&lib={lib}")

    # --- the agent: a tool call renders, then the answer streams in ------------------
    agent = page.get_by_test_id("agent")

    async def loaded():
        await expect(agent.get_by_test_id("agent-status")).to_have_text("idle", timeout=STEP_TIMEOUT_MS)

    await step("loaded", loaded)
    await agent.get_by_test_id("agent-input").fill(CITY)
    await agent.get_by_test_id("agent-send").click()

    async def tool_call_rendered():
        call = agent.get_by_test_id("tool-call")
        await settled(call, agent.get_by_test_id("agent-error"))
        await expect(call).to_have_count(1)
        await expect(call).to_have_attribute("data-name", "get_weather")
        await expect(call).to_contain_text(f'"city":"{CITY}"', timeout=STEP_TIMEOUT_MS)

    await step("tool-call", tool_call_rendered)

    async def answered():
        await expect(agent.get_by_test_id("msg-ai").last).to_have_text(ANSWER, timeout=STEP_TIMEOUT_MS)
        await expect(agent.get_by_test_id("msg-tool")).to_have_text(TOOL_RESULT, timeout=STEP_TIMEOUT_MS)
        await expect(agent.get_by_test_id("agent-status")).to_have_text("idle", timeout=STEP_TIMEOUT_MS)
        await expect(agent.get_by_test_id("msg-human")).to_have_text(CITY)
        await expect(agent.get_by_test_id("agent-error")).to_have_count(0)

    await step("answered", answered)

    async def streamed():
        final_id = await agent.get_by_test_id("msg-ai").last.get_attribute("data-id")
        growth = await page.evaluate("() => window.__evergraph.growth")
        texts = [t for t in growth.get(final_id, []) if t]
        assert len(texts) > 1 and texts[-1] == ANSWER, (
            f"the answer did not grow over several renders: {texts} (all: {growth})"
        )
        assert all(ANSWER.startswith(t) for t in texts), f"a render showed a non-prefix of the answer: {texts}"
        print(f"{lib}: the answer's renders: {texts}")
        # the real client library streamed from the provider: the tool call and the answer
        calls = provider.stats.count(OPENAI_CHAT, MODEL, streamed=True) - calls_before
        assert calls == 2, f"expected 2 streamed model calls, saw {calls}: {provider.stats.snapshot()}"

    await step("streamed", streamed)

    # --- the approval: approve the interrupt in the page, the run finishes ------------
    approval = page.get_by_test_id("approval")
    await approval.get_by_test_id("approval-input").fill(REQUEST)
    await approval.get_by_test_id("approval-send").click()

    async def interrupted():
        await settled(approval.get_by_test_id("approval-question"), approval.get_by_test_id("approval-error"))
        await expect(approval.get_by_test_id("approval-question")).to_have_text("Approve?")
        await expect(approval.get_by_test_id("approval-action")).to_have_text(f"execute: {REQUEST}")
        await expect(approval.get_by_test_id("approval-result")).to_have_text("")

    await step("interrupted", interrupted)
    await approval.get_by_test_id("approve").click()

    async def finished():
        result = approval.get_by_test_id("approval-result")
        await settled(result.get_by_text("done:"), approval.get_by_test_id("approval-error"))
        await expect(approval.get_by_test_id("approval-result")).to_have_text(
            f"done: execute: {REQUEST}", timeout=STEP_TIMEOUT_MS
        )
        await expect(approval.get_by_test_id("approval-status")).to_have_text("idle", timeout=STEP_TIMEOUT_MS)
        await expect(approval.get_by_test_id("approval-interrupt")).to_have_count(0, timeout=STEP_TIMEOUT_MS)
        await expect(approval.get_by_test_id("approval-error")).to_have_count(0)

    await step("finished", finished)

    # the server agrees: the thread is idle with the approved result
    thread_id = await approval.get_by_test_id("approval-thread").inner_text()
    async with httpx.AsyncClient(base_url=examples_api) as http:
        state = (await http.get(f"/threads/{thread_id}/state")).json()
    assert state["values"].get("result") == f"done: execute: {REQUEST}" and not state["next"], state
