"""Real model client libraries, created once at import time of the graph module and used
from async nodes, keep working across node attempts, runs, threads and a worker
restart (issue 10, item 2).

The graphs (tests/graphs/models.py, config tests/graphs/langgraph_models.json) use
``ChatOpenAI`` (invoke, ``astream``, ``bind_tools`` + ``ToolNode``),
``init_chat_model``, ``ChatAnthropic`` (in ``create_agent``), the ``openai`` SDK's
``AsyncOpenAI``, an ``httpx.AsyncClient`` and an ``asyncio.Semaphore``, against
:class:`tests.providers.ProviderServer` on loopback (real HTTP, keep-alive
connections). ``evergraph serve`` and ``evergraph worker`` run as separate processes
on the session's Temporal dev server, with their own task queue and data folder.

One campaign drives every graph at once: per graph ("client kind"), runs on two
threads, four runs in flight at a time (so each thread has one run going and one
queued behind it), alternately with ``runs.wait`` (the providers' non-streaming APIs)
and ``runs.stream`` in ``messages-tuple`` mode (their streaming APIs). Half of each
kind's runs go before a worker restart (the worker process is stopped and a new one
started), half after. The tests then check the campaign's record per kind.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
import pytest_asyncio
from langgraph_sdk import get_client

from tests.conftest import ROOT, EvergraphProcess, evergraph_env, free_port
from tests.providers import ANTHROPIC_MESSAGES, OPENAI_CHAT, ProviderServer

CONFIG = ROOT / "tests" / "graphs" / "langgraph_models.json"

#: runs per client kind before and after the worker restart
RUNS_PER_PHASE = 10
#: runs of one kind in flight at once (over its two threads)
IN_FLIGHT = 4
#: a phase's runs must all end within this many seconds
PHASE_TIMEOUT = 60.0
#: latency of the rate-limited model's answers (seconds), so that the semaphore's two
#: slots are taken while more node attempts arrive
LIMITED_LATENCY = 0.2

# model names as in tests/graphs/models.py (not imported: it needs the provider URLs)
OPENAI_MODEL = "gpt-4o"
INIT_MODEL = "gpt-4o-mini"
ANTHROPIC_MODEL = "claude-haiku-4-5"
SDK_MODEL = "gpt-4.1"
HTTPX_MODEL = "gpt-4.1-nano"
LIMITED_MODEL = "gpt-4.1-mini"
LIMIT_SLOTS = 2


def text_of(content: Any) -> str:
    """Text of a message's ``content``: a string, or a list of content blocks
    (``ChatAnthropic`` gives ``[{"type": "text", "text": ...}, ...]``)."""
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content or [] if isinstance(b, dict) and b.get("type") == "text")


def echo(text: str) -> str:
    """The provider script's answer to ``text`` (see tests/providers.py)."""
    return f"Echo: {text}"


def tool_said(city: str) -> str:
    """The provider script's answer after ``weather(city)`` (tests/graphs/models.py)."""
    return f"Tool said: Sunny, 21 degrees in {city}"


def _check_chat(tag: str, values: dict) -> list[str]:
    last = values["messages"][-1]
    if last["type"] != "ai" or text_of(last["content"]) != echo(f"hello {tag}"):
        return [f"last message is not the model's echo: {last}"]
    return []


def _check_stream(tag: str, values: dict) -> list[str]:
    problems = _check_chat(tag, values)
    last = values["messages"][-1]
    words = len(echo(f"hello {tag}").split())
    usage = last.get("usage_metadata") or {}
    if usage.get("output_tokens") != words:
        problems.append(f"usage from the include_usage chunk missing or wrong: {usage}")
    if values.get("chunks", 0) < words:
        problems.append(f"astream gave {values.get('chunks')} chunks for {words} tokens")
    return problems


def _check_agent(tag: str, values: dict) -> list[str]:
    messages = values["messages"]
    call, result, last = messages[-3], messages[-2], messages[-1]
    problems = []
    calls = call.get("tool_calls") or []
    if call["type"] != "ai" or [(c["name"], c["args"]) for c in calls] != [("weather", {"city": tag})]:
        problems.append(f"no weather tool call for this run: {call}")
    if result["type"] != "tool" or text_of(result["content"]) != f"Sunny, 21 degrees in {tag}":
        problems.append(f"no tool result for this run: {result}")
    if last["type"] != "ai" or text_of(last["content"]) != tool_said(tag):
        problems.append(f"the final answer does not carry the tool result: {last}")
    return problems


def _replies(expected: Callable[[str], list[str]]) -> Callable[[str, dict], list[str]]:
    def check(tag: str, values: dict) -> list[str]:
        missing = [r for r in expected(tag) if r not in values.get("replies", [])]
        return [f"replies missing {missing}"] if missing else []

    return check


def _sdk_replies(tag: str) -> list[str]:
    streamed = echo(f"streamed {tag}")
    return [echo(f"plain {tag}"), f"{streamed} [{len(streamed.split())} tokens]"]


def _limited_replies(tag: str) -> list[str]:
    return [echo(f"limited{n} {tag}") for n in range(4)]


@dataclass(frozen=True)
class Kind:
    """One client kind: a graph of tests/graphs/models.py and what its runs must show.

    Attributes:
        graph: graph id in tests/graphs/langgraph_models.json.
        input: the run's input for a run tag (a unique string).
        check: problems with the run's final state values (empty list: none).
        tokens: texts the model must stream as ``messages-tuple`` tokens in a streamed
            run (``None``: the node's calls do not go through LangChain callbacks).
        always_stream: every run is streamed (the node itself streams tokens).
    """

    graph: str
    input: Callable[[str], dict]
    check: Callable[[str, dict], list[str]]
    tokens: Callable[[str], list[str]] | None = None
    always_stream: bool = False


def _messages(text: str) -> dict:
    return {"messages": [{"role": "user", "content": text}]}


KINDS: dict[str, Kind] = {
    "openai_chat": Kind("openai_chat", lambda t: _messages(f"hello {t}"), _check_chat, lambda t: [echo(f"hello {t}")]),
    "openai_stream": Kind(
        "openai_stream", lambda t: _messages(f"hello {t}"), _check_stream, lambda t: [echo(f"hello {t}")], True
    ),
    "openai_tools": Kind("openai_tools", _messages, _check_agent, lambda t: [tool_said(t)]),
    "init_chat": Kind("init_chat", _messages, _check_agent, lambda t: [tool_said(t)]),
    "anthropic_agent": Kind("anthropic_agent", _messages, _check_agent, lambda t: [tool_said(t)]),
    "openai_sdk": Kind("openai_sdk", lambda t: {"prompt": t}, _replies(_sdk_replies)),
    "httpx_client": Kind(
        "httpx_client", lambda t: {"prompt": t}, _replies(lambda t: [echo(f"post {t}"), echo(f"sse {t}")])
    ),
    "rate_limited": Kind("rate_limited", lambda t: {"prompt": t}, _replies(_limited_replies), _limited_replies),
}


def streamed(kind: Kind, index: int) -> bool:
    """Whether run ``index`` of ``kind`` uses ``runs.stream`` (else ``runs.wait``):
    pairs of runs alternate, so each of the two threads gets both."""
    return kind.always_stream or (index // 2) % 2 == 1


@dataclass
class Outcome:
    """One run of the campaign.

    Attributes:
        kind: client kind name; index: 0-based run number within the kind.
        phase: 1 before the worker restart, 2 after; thread_id: the run's thread.
        mode: ``"wait"`` or ``"stream"``; problems: what went wrong (empty: success).
        seconds: wall time of the SDK call.
    """

    kind: str
    index: int
    phase: int
    thread_id: str
    mode: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def __str__(self) -> str:
        return f"run {self.index} (phase {self.phase}, {self.mode}, {self.seconds:.1f}s): {'; '.join(self.problems)}"


def _token_texts(parts: list) -> list[str]:
    """Texts of the ``messages-tuple`` token streams: each AI message's chunks joined,
    for messages that arrived in more than one chunk."""
    chunks: dict[str, list[str]] = collections.defaultdict(list)
    for p in parts:
        if p.event == "messages":
            message = p.data[0]
            if message.get("type") in ("AIMessageChunk", "ai"):
                chunks[message.get("id")].append(text_of(message.get("content")))
    return ["".join(c) for c in chunks.values() if len(c) > 1]


async def _one_run(client, name: str, index: int, phase: int, thread_id: str) -> Outcome:
    kind = KINDS[name]
    tag = f"{name}-{index}"
    mode = "stream" if streamed(kind, index) else "wait"
    out = Outcome(name, index, phase, thread_id, mode)
    started = time.monotonic()
    try:
        if mode == "wait":
            values = await client.runs.wait(thread_id, kind.graph, input=kind.input(tag), multitask_strategy="enqueue")
            tokens = None
        else:
            parts = [
                p
                async for p in client.runs.stream(
                    thread_id, kind.graph, input=kind.input(tag), stream_mode=["messages-tuple", "values"],
                    multitask_strategy="enqueue",
                )
            ]
            errors = [p.data for p in parts if p.event == "error"]
            if errors:
                raise RuntimeError(f"stream error event: {errors[0]}")
            values = [p.data for p in parts if p.event == "values"][-1]
            tokens = _token_texts(parts)
        out.problems += kind.check(tag, values)
        if tokens is not None and kind.tokens is not None:
            missing = [t for t in kind.tokens(tag) if t not in tokens]
            if missing:
                out.problems.append(f"no messages-tuple token stream of {missing} (token streams: {tokens})")
    except Exception as exc:  # noqa: BLE001 - recorded, reported by the tests
        out.problems.append(f"{type(exc).__name__}: {exc}")
    out.seconds = time.monotonic() - started
    return out


class ModelStack:
    """``evergraph serve`` + ``evergraph worker`` on tests/graphs/langgraph_models.json,
    with the provider server's URLs in their environment, an own task queue, and an
    own data folder.

    Args:
        temporal_address: Temporal frontend ``host:port``.
        data_dir: folder for the processes' data and logs (created).
        providers: the started provider server.

    Attributes:
        url: the API's base URL; worker: the running worker process.
        worker_pids: process ids of every worker started, in order.
    """

    def __init__(self, temporal_address: str, data_dir: Path, providers: ProviderServer) -> None:
        port = free_port()
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.env = evergraph_env(
            temporal_address,
            data_dir / "data",
            EVERGRAPH_TASK_QUEUE=f"model-clients-{port}",
            EVERGRAPH_CONFIG=str(CONFIG),
            PROVIDER_OPENAI_BASE_URL=providers.openai_base_url,
            PROVIDER_ANTHROPIC_BASE_URL=providers.anthropic_base_url,
            NO_PROXY="127.0.0.1,localhost",
        )
        self.url = f"http://127.0.0.1:{port}"
        self.worker_pids: list[int] = []
        self.worker = self._start_worker()
        self.api = EvergraphProcess(["serve", "--port", str(port)], self.env, data_dir / "api.log")

    def _start_worker(self) -> EvergraphProcess:
        worker = EvergraphProcess(["worker"], self.env, self.data_dir / f"worker-{len(self.worker_pids) + 1}.log")
        self.worker_pids.append(worker.process.pid)
        return worker

    def restart_worker(self) -> None:
        """Stop the worker process (waits for it to exit) and start a new one."""
        self.worker.stop()
        self.worker = self._start_worker()

    def logs(self) -> str:
        """The API's and the workers' output, for failure messages."""
        out = []
        for path in sorted(self.data_dir.glob("*.log")):
            out.append(f"--- {path.name}\n{path.read_text(errors='replace')[-6000:]}")
        return "\n".join(out)

    def stop(self) -> None:
        """Stop the API and the worker."""
        self.api.stop()
        self.worker.stop()


@dataclass
class Campaign:
    """The record of the campaign.

    Attributes:
        outcomes: per kind, every run in order.
        statuses: per kind, the statuses ``runs.list`` gives per thread at the end.
        final: per kind, each thread's final state values.
        stack: the processes; providers: the provider server (with its counters).
        skipped: kinds whose phase-1 runs did not all end, so phase 2 was not started.
        seconds: wall time of phase 1, the restart, and phase 2.
    """

    outcomes: dict[str, list[Outcome]]
    statuses: dict[str, list[list[str]]]
    final: dict[str, list[dict]]
    stack: ModelStack
    providers: ProviderServer
    skipped: set[str]
    seconds: dict[str, float]


async def _phase(client, stack: ModelStack, threads: dict[str, list[str]], phase: int, kinds: list[str]):
    """Runs ``RUNS_PER_PHASE`` runs of each of ``kinds``, ``IN_FLIGHT`` at a time per
    kind; returns the outcomes and the kinds with runs that did not end in time (or
    before the worker died)."""
    first = (phase - 1) * RUNS_PER_PHASE
    tasks: dict[asyncio.Task, tuple[str, int]] = {}

    async def limited(name: str, index: int, limit: asyncio.Semaphore) -> Outcome:
        async with limit:
            return await _one_run(client, name, index, phase, threads[name][index % 2])

    for name in kinds:
        limit = asyncio.Semaphore(IN_FLIGHT)
        for index in range(first, first + RUNS_PER_PHASE):
            tasks[asyncio.ensure_future(limited(name, index, limit))] = (name, index)

    worker_exit = asyncio.ensure_future(asyncio.to_thread(stack.worker.process.wait))
    pending = set(tasks)
    deadline = time.monotonic() + PHASE_TIMEOUT
    while pending and not worker_exit.done():
        _, pending = await asyncio.wait(
            pending | {worker_exit}, timeout=deadline - time.monotonic(), return_when=asyncio.FIRST_COMPLETED
        )
        pending.discard(worker_exit)
        if time.monotonic() >= deadline:
            break
    why = "worker exited" if worker_exit.done() else f"did not end within {PHASE_TIMEOUT:.0f}s"
    outcomes, unfinished = [], set()
    for task, (name, index) in tasks.items():
        if task.done():
            outcomes.append(task.result())
        else:
            task.cancel()
            unfinished.add(name)
            outcomes.append(Outcome(name, index, phase, threads[name][index % 2], "?", [why]))
    if not worker_exit.done():
        worker_exit.cancel()  # the thread waiting on the process ends with the process
    return outcomes, unfinished


@pytest.fixture(scope="module")
def providers():
    """The provider server (OpenAI and Anthropic APIs) on a free loopback port."""
    server = ProviderServer(delays={LIMITED_MODEL: LIMITED_LATENCY}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def model_stack(temporal_server, data_root: Path, providers: ProviderServer):
    """The API and a worker serving tests/graphs/langgraph_models.json."""
    stack = ModelStack(temporal_server.address, data_root / "model-clients", providers)
    try:
        stack.api.wait_ready(stack.url)
        yield stack
    finally:
        stack.stop()


@pytest_asyncio.fixture(scope="module")
async def campaign(model_stack: ModelStack, providers: ProviderServer) -> Campaign:
    """Phase 1 (``RUNS_PER_PHASE`` runs per kind), a worker restart, phase 2."""
    client = get_client(url=model_stack.url)
    threads = {
        name: [(await client.threads.create())["thread_id"] for _ in range(2)] for name in KINDS
    }
    outcomes: dict[str, list[Outcome]] = {name: [] for name in KINDS}
    seconds = {}
    started = time.monotonic()
    first, skipped = await _phase(client, model_stack, threads, 1, list(KINDS))
    seconds["phase 1"] = time.monotonic() - started
    started = time.monotonic()
    await asyncio.to_thread(model_stack.restart_worker)
    seconds["restart"] = time.monotonic() - started
    started = time.monotonic()
    second, more = await _phase(client, model_stack, threads, 2, [k for k in KINDS if k not in skipped])
    seconds["phase 2"] = time.monotonic() - started
    for o in sorted(first + second, key=lambda o: o.index):
        outcomes[o.kind].append(o)
    statuses, final = {}, {}
    for name in KINDS:
        statuses[name] = [[r["status"] for r in await client.runs.list(t, limit=100)] for t in threads[name]]
        final[name] = [(await client.threads.get_state(t))["values"] for t in threads[name]]
    return Campaign(outcomes, statuses, final, model_stack, providers, skipped | more, seconds)


def _report(c: Campaign, problems: list[str], logs: bool = False) -> str:
    """A failure message: ``problems``, the campaign's timing and the provider's
    counters, and with ``logs`` the processes' output."""
    lines = [*problems, f"campaign seconds: {c.seconds}", f"provider: {c.providers.stats.snapshot()}"]
    return "\n".join([*lines, c.stack.logs()] if logs else lines)


@pytest.mark.parametrize("kind", list(KINDS))
def test_every_run_succeeds(campaign: Campaign, kind: str):
    """All ``2 * RUNS_PER_PHASE`` runs of the kind succeed, before and after the worker
    restart, with the content the provider script implies, and every run of the
    kind's threads is recorded ``success``."""
    outcomes = campaign.outcomes[kind]
    failed = [str(o) for o in outcomes if o.problems]
    problems = []
    if kind in campaign.skipped:
        problems.append("phase 2 not started: phase-1 runs did not end")
    if failed:
        problems.append(f"{len(failed)} of {len(outcomes)} runs failed:\n  " + "\n  ".join(failed))
    assert not problems, _report(campaign, problems, logs=kind in campaign.skipped)
    assert len(outcomes) == 2 * RUNS_PER_PHASE
    assert {o.phase for o in outcomes} == {1, 2}
    assert {o.mode for o in outcomes} == ({"stream"} if KINDS[kind].always_stream else {"wait", "stream"})
    assert campaign.statuses[kind] == [["success"] * RUNS_PER_PHASE] * 2, _report(
        campaign, [f"run statuses per thread: {campaign.statuses[kind]}"]
    )


def test_worker_was_restarted_between_phases(campaign: Campaign):
    """Two worker processes served the campaign, one per phase."""
    pids = campaign.stack.worker_pids
    assert len(pids) == 2 and pids[0] != pids[1]
    assert campaign.stack.worker.process.poll() is None, campaign.stack.logs()


def _expected_calls() -> dict[tuple[str, str, bool | None], int]:
    """Provider requests the campaign makes when every run succeeds, per
    ``(endpoint, model, streamed)`` (``None``: either)."""
    runs = 2 * RUNS_PER_PHASE
    s = lambda k: sum(streamed(KINDS[k], i) for i in range(runs))  # noqa: E731
    return {
        # openai_chat: 1 call per run; openai_stream: 1 (streamed); openai_tools: 2
        (OPENAI_CHAT, OPENAI_MODEL, None): runs + runs + 2 * runs,
        (OPENAI_CHAT, OPENAI_MODEL, True): s("openai_chat") + s("openai_stream") + 2 * s("openai_tools"),
        (OPENAI_CHAT, INIT_MODEL, None): 2 * runs,
        (OPENAI_CHAT, INIT_MODEL, True): 2 * s("init_chat"),
        (ANTHROPIC_MESSAGES, ANTHROPIC_MODEL, None): 2 * runs,
        (ANTHROPIC_MESSAGES, ANTHROPIC_MODEL, True): 2 * s("anthropic_agent"),
        (OPENAI_CHAT, SDK_MODEL, True): runs,
        (OPENAI_CHAT, SDK_MODEL, False): runs,
        (OPENAI_CHAT, HTTPX_MODEL, True): runs,
        (OPENAI_CHAT, HTTPX_MODEL, False): runs,
        (OPENAI_CHAT, LIMITED_MODEL, None): 4 * runs,
        (OPENAI_CHAT, LIMITED_MODEL, True): 4 * s("rate_limited"),
    }


def test_provider_servers_were_used(campaign: Campaign):
    """The provider server saw every model call the runs imply, streamed and not,
    usage chunks were asked for, and pooled connections were reused."""
    stats = campaign.providers.stats
    wrong = {
        key: (stats.count(*key), n) for key, n in _expected_calls().items() if stats.count(*key) != n
    }
    assert not wrong, _report(campaign, [f"(endpoint, model, streamed): (seen, expected): {wrong}"])
    assert stats.include_usage[OPENAI_MODEL] == _expected_calls()[(OPENAI_CHAT, OPENAI_MODEL, True)]
    assert stats.include_usage[SDK_MODEL] == 2 * RUNS_PER_PHASE
    for endpoint in (OPENAI_CHAT, ANTHROPIC_MESSAGES):
        # keep-alive: far fewer connections than requests
        assert stats.connection_count(endpoint) * 2 < stats.count(endpoint), stats.snapshot()


def test_semaphore_was_contended_and_limited(campaign: Campaign):
    """Node attempts waited on the module-level semaphore (so it is bound to an event
    loop), and it held the rate-limited model to ``LIMIT_SLOTS`` calls at once."""
    waited = [w for values in campaign.final["rate_limited"] for w in values.get("waited", [])]
    assert len(waited) == 4 * 2 * RUNS_PER_PHASE
    assert any(waited), "no node attempt had to wait for the semaphore"
    assert campaign.providers.stats.in_flight_max[LIMITED_MODEL] == LIMIT_SLOTS
