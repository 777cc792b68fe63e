"""Resumable run streams, SDK reconnects, the thread join stream and long-poll bodies,
as langgraph-api 0.16.7 serves them, through the official SDK and httpx against the
session's ``evergraph dev``."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from tests.conftest import wait_for

ID = re.compile(r"^\d+-\d+$")


def _key(event_id: str) -> tuple[int, int]:
    ms, n = event_id.split("-")
    return int(ms), int(n)


async def _collect(stream, limit: int | None = None) -> list:
    parts = []
    async for part in stream:
        parts.append(part)
        if limit is not None and len(parts) >= limit:
            break
    return parts


def _triples(parts) -> list[tuple]:
    return [(p.event, p.data, p.id) for p in parts]


async def _terminal(client, thread_id: str, run_id: str) -> None:
    async def done() -> bool:
        return (await client.runs.get(thread_id, run_id))["status"] in ("success", "error", "interrupted")

    await wait_for(done)


# ----------------------------------------------------------------------------- run streams


async def test_resumable_join_replays_strictly_after_the_id(client):
    tid = (await client.threads.create())["thread_id"]
    run = await client.runs.create(
        tid, "chain", input={"log": [], "sleep": 0.3}, stream_mode=["values", "custom"], stream_resumable=True
    )
    rid = run["run_id"]
    # from the start: without an id a join sees only what is published after it
    # connects, and the run may already have begun
    first = await _collect(client.runs.join_stream(tid, rid, last_event_id="-1"), limit=4)
    assert [p.event for p in first] == ["metadata", "values", "custom", "values"][: len(first)]
    assert first[0].data == {"run_id": rid, "attempt": 1}
    assert all(ID.match(p.id) for p in first)
    assert [_key(p.id) for p in first] == sorted({_key(p.id) for p in first})

    # reconnect with the second id: everything strictly after it, then live to the end
    resumed = await _collect(client.runs.join_stream(tid, rid, last_event_id=first[1].id))
    assert _triples(resumed[:2]) == _triples(first[2:4])
    assert _key(resumed[0].id) > _key(first[1].id)
    assert resumed[-1].event == "values" and resumed[-1].data["log"] == ["step1", "step2", "step3"]
    everything = first[:2] + resumed
    ids = [_key(p.id) for p in everything]
    assert ids == sorted(set(ids))

    # the run has ended (the SDK checked before returning): -1 replays the whole stream
    assert (await client.runs.get(tid, rid))["status"] == "success"
    replay = await _collect(client.runs.join_stream(tid, rid, last_event_id="-1"))
    assert _triples(replay) == _triples(everything)
    # the stream_mode filter applies to the replay (metadata included)
    custom = await _collect(client.runs.join_stream(tid, rid, last_event_id="-1", stream_mode="custom"))
    assert _triples(custom) == [t for t in _triples(everything) if t[0] == "custom"]
    assert [p.data for p in custom] == [{"node": "step1"}, {"node": "step2"}, {"node": "step3"}]
    # no Last-Event-ID on a finished run: an empty stream
    assert await _collect(client.runs.join_stream(tid, rid)) == []


def test_garbage_last_event_id_on_run_join_is_ignored(http):
    thread = http.post("/threads", json={}).json()
    run = http.post(
        f"/threads/{thread['thread_id']}/runs/wait",
        json={"assistant_id": "chain", "input": {"log": []}, "stream_resumable": True},
    )
    run_path = run.headers["content-location"]
    response = http.get(f"{run_path}/stream", headers={"Last-Event-ID": "garbage"})
    assert response.status_code == 200 and response.content == b""
    assert response.headers["location"] == f"{run_path}/stream"


async def test_non_resumable_run_has_no_ids_and_no_replay(client):
    tid = (await client.threads.create())["thread_id"]
    parts = await _collect(client.runs.stream(tid, "chain", input={"log": []}, stream_mode="updates"))
    assert [p.event for p in parts] == ["metadata", "updates", "updates", "updates"]
    assert all(p.id is None for p in parts)
    rid = parts[0].data["run_id"]
    assert await _collect(client.runs.join_stream(tid, rid, last_event_id="-1")) == []


class CuttingProxy:
    """A TCP proxy in front of the server that lets through ``cut_after`` SSE events
    (and a few bytes of the next) of every ``text/event-stream`` response, then drops
    both connections, as a proxy with an idle or length limit does."""

    def __init__(self, upstream: str, cut_after: int) -> None:
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream = (host, int(port))
        self.cut_after = cut_after
        self.cuts = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(*self.upstream)

        async def upstream() -> None:
            while data := await client_r.read(65536):
                server_w.write(data)
                await server_w.drain()

        async def downstream() -> None:
            head, sse, frames = b"", None, 0
            while data := await server_r.read(65536):
                if sse is None:
                    head += data
                    if b"\r\n\r\n" not in head:
                        client_w.write(data)
                        continue
                    sse = b"text/event-stream" in head.split(b"\r\n\r\n", 1)[0].lower()
                    body_start = len(data) - len(head.split(b"\r\n\r\n", 1)[1])
                else:
                    body_start = 0
                if sse:
                    pos = body_start
                    while (end := data.find(b"\r\n\r\n", pos)) != -1:
                        frames += 1
                        pos = end + 4
                        if frames >= self.cut_after:
                            client_w.write(data[: pos + 7])
                            await client_w.drain()
                            self.cuts += 1
                            return
                client_w.write(data)
                await client_w.drain()

        tasks = [asyncio.ensure_future(upstream()), asyncio.ensure_future(downstream())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for writer in (client_w, server_w):
                writer.transport.abort()


async def test_sdk_reconnects_through_drops_and_gets_every_event_once(server, client):
    from langgraph_sdk import get_client

    proxy = CuttingProxy(server, cut_after=3)
    proxied = get_client(url=await proxy.start())
    try:
        tid = (await client.threads.create())["thread_id"]
        parts = await _collect(
            proxied.runs.stream(
                tid,
                "chain",
                input={"log": [], "sleep": 0.2},
                stream_mode=["values", "updates", "custom"],
                stream_resumable=True,
            )
        )
    finally:
        await proxy.stop()
    assert proxy.cuts >= 3  # the stream really was cut several times
    rid = parts[0].data["run_id"]
    assert (await client.runs.get(tid, rid))["status"] == "success"
    reference = await _collect(client.runs.join_stream(tid, rid, last_event_id="-1"))
    assert len(reference) == 1 + 3 * 3 + 1  # metadata, 3 x (custom, updates, values), input values
    assert _triples(parts) == _triples(reference)


# ----------------------------------------------------------------------------- thread stream


def _is_done(part, run_id: str) -> bool:
    return part.event == "metadata" and part.data == {"status": "run_done", "run_id": run_id}


async def test_thread_stream_brackets_each_run_and_replays(client):
    tid = (await client.threads.create())["thread_id"]
    # "-1" from the start, so no event can slip by before the stream is open
    parts: list = []
    done = asyncio.Event()
    wanted: set[str] = set()

    async def follow() -> None:
        async for part in await client.threads.join_stream(tid, last_event_id="-1"):
            parts.append(part)
            if part.event == "metadata" and part.data.get("status") == "run_done":
                wanted.discard(part.data["run_id"])
                if not wanted:
                    done.set()

    run1 = await client.runs.create(tid, "chain", input={"log": []}, stream_mode=["updates"])
    run2 = await client.runs.create(
        tid, "chain", input={"log": []}, stream_mode=["values", "custom"], stream_resumable=True
    )
    wanted.update({run1["run_id"], run2["run_id"]})
    task = asyncio.ensure_future(follow())
    try:
        await asyncio.wait_for(done.wait(), 60)
    finally:
        task.cancel()
    events = [p.event for p in parts]
    assert events == (
        ["metadata", "updates", "updates", "updates", "metadata"]
        + ["metadata", "values"] + ["custom", "values"] * 3 + ["metadata"]
    )
    assert parts[0].data == {"run_id": run1["run_id"], "attempt": 1}
    assert _is_done(parts[4], run1["run_id"])
    assert parts[5].data == {"run_id": run2["run_id"], "attempt": 1}
    assert _is_done(parts[-1], run2["run_id"])
    # ids on every event, also for the non-resumable run, increasing
    ids = [_key(p.id) for p in parts]
    assert all(ID.match(p.id) for p in parts) and ids == sorted(set(ids))
    # the resumable run's events carry the same ids as on its own stream
    own = await _collect(client.runs.join_stream(tid, run2["run_id"], last_event_id="-1"))
    assert _triples(own) == _triples(parts[5:-1])

    # Last-Event-ID: strictly after run 1's run_done
    replay: list = []
    async for part in await client.threads.join_stream(tid, last_event_id=parts[4].id):
        replay.append(part)
        if _is_done(part, run2["run_id"]):
            break
    assert _triples(replay) == _triples(parts[5:])


async def _sse_blocks(response: httpx.Response):
    """(event, data, id) per SSE block; comments as ("heartbeat", None, None)."""
    buffer = b""
    async for chunk in response.aiter_raw():
        buffer += chunk
        while b"\r\n\r\n" in buffer:
            block, buffer = buffer.split(b"\r\n\r\n", 1)
            if block == b": heartbeat":
                yield ("heartbeat", None, None)
                continue
            fields = dict(line.split(b": ", 1) for line in block.split(b"\r\n"))
            yield (fields[b"event"].decode(), fields[b"data"].decode(), fields.get(b"id", b"").decode() or None)


async def test_thread_stream_lifecycle_is_live_and_stays_open(server, client):
    import json

    tid = (await client.threads.create())["thread_id"]
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        async with http.stream("GET", f"/threads/{tid}/stream", params={"stream_modes": "lifecycle"}) as response:
            assert response.status_code == 200
            assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert "location" not in response.headers
            # the stream is open (headers sent): a run created now is followed from its start
            run = await client.runs.create(tid, "chain", input={"log": []}, stream_mode=["values", "custom"])
            seen = []
            async for block in _sse_blocks(response):
                seen.append(block)
                if block[0] == "heartbeat" and any(b[0] == "metadata" and "run_done" in b[1] for b in seen):
                    break  # still open, heartbeating, after the run ended
    events = [b for b in seen if b[0] != "heartbeat"]
    assert [e[0] for e in events] == ["metadata", "metadata"]
    assert json.loads(events[0][1]) == {"run_id": run["run_id"], "attempt": 1}
    assert json.loads(events[1][1]) == {"status": "run_done", "run_id": run["run_id"]}
    assert all(ID.match(e[2]) for e in events)


async def test_thread_stream_state_update_sends_nothing_during_a_run(server, client):
    tid = (await client.threads.create())["thread_id"]
    async with httpx.AsyncClient(base_url=server, timeout=60) as http:
        async with http.stream("GET", f"/threads/{tid}/stream", params={"stream_modes": "state_update"}) as response:
            assert response.status_code == 200
            run = await client.runs.create(tid, "chain", input={"log": []})
            await client.runs.join(tid, run["run_id"])
            seen = []
            async for block in _sse_blocks(response):
                seen.append(block)
                if (await client.runs.get(tid, run["run_id"]))["status"] == "success" and block[0] == "heartbeat":
                    break
    assert {b[0] for b in seen} == {"heartbeat"}


@pytest.mark.parametrize(
    "headers, params, status, detail",
    [
        ({"Last-Event-ID": "garbage"}, {}, 422, "Invalid last-event-id: must be a valid Redis stream ID"),
        ({}, {"stream_modes": "values"}, 422, "Invalid stream mode: 'values'"),
    ],
)
def test_thread_stream_rejects_bad_input(http, headers, params, status, detail):
    thread = http.post("/threads", json={}).json()
    response = http.get(f"/threads/{thread['thread_id']}/stream", headers=headers, params=params)
    assert response.status_code == status
    assert response.json()["detail"].startswith(detail)


def test_thread_stream_of_unknown_thread_is_404(http):
    response = http.get("/threads/0d1e8f1b-8a3c-4f7e-9b4e-2d2a3c4b5e6f/stream")
    assert response.status_code == 404


# ----------------------------------------------------------------------------- long-poll


def test_join_pads_then_answers_and_failures_are_200_bodies(http):
    thread = http.post("/threads", json={}).json()
    base = f"/threads/{thread['thread_id']}/runs"
    run = http.post(base, json={"assistant_id": "slow", "input": {"log": [], "sleep": 2.5}}).json()
    joined = http.get(f"{base}/{run['run_id']}/join")
    assert joined.status_code == 200
    assert joined.headers["location"] == f"{base}/{run['run_id']}/join"
    assert joined.text.startswith("\n") and joined.json()["log"] == ["step1"]

    failed = http.post(base, json={"assistant_id": "failing", "input": {"log": []}}).json()
    body = http.get(f"{base}/{failed['run_id']}/join")
    assert body.status_code == 200
    assert body.json() == {"__error__": {"error": "Boom", "message": "the node exploded"}}

    # an unknown run is 404, as GET of the run answers (langgraph-api 0.16.7: 200 + error body)
    missing = http.get(f"{base}/0d1e8f1b-8a3c-4f7e-9b4e-2d2a3c4b5e6f/join")
    assert (missing.status_code, missing.json()) == (404, {"detail": "Not Found"})


# ----------------------------------------------------------------------------- brokers


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_broker_keeps_a_long_stream_out_of_python_memory(kind, tmp_path):
    from evergraph.adapter.broker.memory import MemoryBroker
    from evergraph.adapter.broker.protocol import END
    from evergraph.adapter.broker.sqlite import SqliteBroker

    loop = asyncio.get_running_loop()
    if kind == "memory":
        broker = MemoryBroker(loop, window=10, spill_path=tmp_path / "spill.sqlite")
    else:
        broker = await SqliteBroker(tmp_path / "streams.sqlite", loop).open()
    for i in range(1000):
        broker.publish("r1", "custom", {"i": i})
    if kind == "memory":
        assert len(broker._runs["r1"].events) < 20  # the rest is in the spill file
    live = [e async for e in _take(broker.subscribe("r1"), 0)]  # nothing new yet
    assert live == []
    broker.publish("r2", "custom", {"other": True})
    broker.end("r1")
    everything = [e async for e in broker.subscribe("r1", from_start=True)]
    assert [e.data for e in everything[:-1]] == [f'{{"i":{i}}}'.encode() for i in range(1000)]
    assert everything[-1].event == END
    ids = [_key(e.id) for e in everything]
    assert ids == sorted(set(ids))
    after = [e async for e in broker.subscribe("r1", everything[499].id)]
    assert after == everything[500:]
    # ids increase across runs: r2's event sits between r1's last event and r1's end
    (r2,) = [e async for e in _take(broker.subscribe("r2", from_start=True), 1)]
    assert ids[-2] < _key(r2.id) < ids[-1]
    assert await broker.has_stream("r1") and not await broker.has_stream("r3")
    if kind == "memory":
        broker.close()
    else:
        await broker.close()


async def _take(stream, n: int):
    """The first ``n`` events of ``stream`` (then stop waiting)."""
    if n == 0:
        try:
            await asyncio.wait_for(stream.__anext__(), 0.2)
        except (asyncio.TimeoutError, StopAsyncIteration):
            return
        raise AssertionError("unexpected event")
    count = 0
    async for event in stream:
        yield event
        count += 1
        if count >= n:
            return
