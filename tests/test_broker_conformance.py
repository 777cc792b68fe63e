"""One conformance suite for every stream broker (:class:`adapter.broker.protocol.StreamBroker`):
memory, SQLite and Redis run the same tests.

Each test gets a *publisher* and a *reader*: two broker instances on the same file or
Redis (as an API process and a worker process use them), the same instance for the
in-process memory broker. The memory broker keeps a window of only 10 events in Python
memory here, so every test reads through its spill file too.

Redis is real (``EVERGRAPH_TEST_REDIS_URI``, set by ``.ci/run``); without it its tests
are skipped. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import os
import threading
import uuid
from dataclasses import dataclass
from typing import Any, AsyncIterator, Awaitable, Callable

import orjson
import pytest

from evergraph.adapter.broker.memory import MemoryBroker
from evergraph.adapter.broker.protocol import (
    END,
    StartWatch,
    StreamBroker,
    StreamEvent,
    format_event_id,
    next_event_id,
    parse_event_id,
)
from evergraph.adapter.broker.sqlite import SqliteBroker

REDIS_URI = os.environ.get("EVERGRAPH_TEST_REDIS_URI")
NEEDS_REDIS = pytest.mark.skipif(
    not REDIS_URI, reason="EVERGRAPH_TEST_REDIS_URI is not set (.ci/run starts a Redis server and sets it)"
)
WINDOW = 10  # the memory broker's replay window in these tests


@dataclass
class Pair:
    """The broker under test: ``publisher`` writes, ``reader`` reads (the same object
    for the memory broker)."""

    kind: str
    publisher: StreamBroker
    reader: StreamBroker


async def _open(kind: str, tmp_path) -> tuple[list[Any], Pair]:
    loop = asyncio.get_running_loop()
    if kind == "memory":
        broker = MemoryBroker(loop, window=WINDOW, spill_path=tmp_path / "spill.sqlite")
        return [broker], Pair(kind, broker, broker)
    if kind == "sqlite":
        a = await SqliteBroker(tmp_path / "streams.sqlite", loop).open()
        b = await SqliteBroker(tmp_path / "streams.sqlite", loop).open()
        return [a, b], Pair(kind, a, b)
    from evergraph.adapter.broker.redis import RedisBroker  # deferred: needs a Redis

    a = await RedisBroker(REDIS_URI, loop, retention=60, block=0.5).open()
    try:
        b = await RedisBroker(REDIS_URI, loop, retention=60, block=0.5).open()
    except BaseException:
        await a.close()
        raise
    return [a, b], Pair(kind, a, b)


async def _close(opened: list[Any]) -> None:
    """Close every broker, even when closing one of them fails."""
    errors = []
    for broker in opened:
        try:
            result = broker.close()
            if asyncio.iscoroutine(result):
                await result
        except Exception as exc:  # noqa: BLE001 - raised below, once all are closed
            errors.append(exc)
    if errors:
        raise errors[0]


@pytest.fixture(params=["memory", "sqlite", pytest.param("redis", marks=NEEDS_REDIS)])
async def pair(request, tmp_path):
    opened, brokers = await _open(request.param, tmp_path)
    try:
        yield brokers
    finally:
        await _close(opened)


def rid() -> str:
    return str(uuid.uuid4())


async def collect(stream: AsyncIterator[StreamEvent], timeout: float = 10.0) -> list[StreamEvent]:
    """Every event of a stream that ends (fails if it does not within ``timeout``)."""

    async def run() -> list[StreamEvent]:
        return [e async for e in stream]

    return await asyncio.wait_for(run(), timeout)


class Reader:
    """A subscription read by a task of its own, so a test can see that it waits
    (cancelling a read would close the stream)."""

    def __init__(self, stream: AsyncIterator[StreamEvent]) -> None:
        self.queue: asyncio.Queue[StreamEvent] = asyncio.Queue()
        self.task = asyncio.ensure_future(self._read(stream))

    async def _read(self, stream: AsyncIterator[StreamEvent]) -> None:
        async for event in stream:
            self.queue.put_nowait(event)

    async def next(self, timeout: float = 10.0) -> StreamEvent:
        """The next event."""
        return await asyncio.wait_for(self.queue.get(), timeout)

    async def waits(self, seconds: float = 0.3) -> bool:
        """Whether no event comes and the stream does not end for ``seconds``."""
        await asyncio.sleep(seconds)
        return self.queue.empty() and not self.task.done()

    async def rest(self, timeout: float = 10.0) -> list[StreamEvent]:
        """The events left once the stream ends."""
        await asyncio.wait_for(asyncio.shield(self.task), timeout)
        return [self.queue.get_nowait() for _ in range(self.queue.qsize())]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until ``check()`` is true (publishing may be asynchronous, e.g. Redis')."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def next_start(watch: StartWatch, wanted: set[str], timeout: float = 10.0) -> str:
    """The next run id of ``wanted`` the watch reports (other tests' runs may share a Redis)."""
    starts = watch.__aiter__()
    while True:
        seen = await asyncio.wait_for(starts.__anext__(), timeout)
        if seen in wanted:
            return seen


def values(events: list[StreamEvent]) -> list[Any]:
    return [orjson.loads(e.data) for e in events]


def published(pair: Pair, run: str, count: int, event: str = "custom") -> None:
    for i in range(count):
        pair.publisher.publish(run, event, {"i": i})


# ------------------------------------------------------------------------- the protocol


def test_event_id_helpers():
    assert parse_event_id("1700000000000-3") == (1700000000000, 3)
    assert parse_event_id(" 5-0 ") == (5, 0)
    assert parse_event_id("-1") == (-1, -1)
    for bad in (None, "", "abc", "5", "5-", "-5", "5-x", "1.5-0"):
        assert parse_event_id(bad) is None, bad
    assert format_event_id((12, 4)) == "12-4"
    assert parse_event_id(format_event_id((12, 4))) == (12, 4)
    # the next id moves on with the clock, or counts up within a millisecond (or when
    # the clock stepped back)
    first = next_event_id((0, 0))
    assert first[0] > 0 and first[1] == 0
    future = (first[0] + 10_000_000, 7)
    assert next_event_id(future) == (future[0], 8)


async def test_every_broker_satisfies_the_protocol(pair: Pair):
    broker: StreamBroker = pair.publisher  # a static check, done at run time below
    assert isinstance(broker, StreamBroker) and isinstance(pair.reader, StreamBroker)
    watch = pair.reader.watch_starts()
    try:
        assert isinstance(watch, StartWatch)
    finally:
        watch.close()


# ------------------------------------------------------------------ publish, read, end


async def test_publish_read_end(pair: Pair):
    run = rid()
    assert not await pair.reader.has_stream(run)
    published(pair, run, 5)
    pair.publisher.publish(run, "values", {"nested": {"b": 1, "a": [1, "é"]}, "none": None})
    pair.publisher.end(run)
    pair.publisher.publish(run, "custom", {"i": "late"})  # ignored: the stream has ended
    pair.publisher.end(run)  # idempotent: no second END
    events = await collect(pair.reader.subscribe(run, from_start=True))
    assert [e.event for e in events] == ["custom"] * 5 + ["values", END]
    assert values(events[:5]) == [{"i": i} for i in range(5)]
    # data is JSON as written (key order kept), the END event's data is null
    assert events[5].data == b'{"nested":{"b":1,"a":[1,"\xc3\xa9"]},"none":null}'
    assert events[-1].data == b"null"
    ids = [parse_event_id(e.id) for e in events]
    assert all(i is not None for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # strictly increasing
    assert await pair.reader.has_stream(run)
    # read again: the same events
    assert await collect(pair.reader.subscribe(run, from_start=True)) == events


async def test_end_without_events(pair: Pair):
    run = rid()
    pair.publisher.end(run)
    await eventually(lambda: pair.reader.has_stream(run))
    (only,) = await collect(pair.reader.subscribe(run, from_start=True))
    assert only.event == END and only.data == b"null"
    pair.publisher.publish(run, "custom", 1)  # ignored
    assert [e.id for e in await collect(pair.reader.subscribe(run, "-1"))] == [only.id]


async def test_has_stream_once_an_event_is_published(pair: Pair):
    run = rid()
    assert not await pair.reader.has_stream(run)
    pair.publisher.publish(run, "custom", 0)
    await eventually(lambda: pair.reader.has_stream(run))
    assert not await pair.reader.has_stream(rid())
    pair.publisher.end(run)


# ---------------------------------------------------------------------- Last-Event-ID


async def test_replay_is_strictly_after_the_cursor(pair: Pair):
    run = rid()
    published(pair, run, 40)
    pair.publisher.end(run)
    events = await collect(pair.reader.subscribe(run, from_start=True))
    assert len(events) == 41
    for k in (0, 1, WINDOW - 1, WINDOW, 20, 38, 39):
        again = await collect(pair.reader.subscribe(run, events[k].id))
        assert [e.id for e in again] == [e.id for e in events[k + 1:]], k
        assert again[-1].event == END
    # after the END event's own id: nothing
    assert await collect(pair.reader.subscribe(run, events[-1].id)) == []
    # "-1" and from_start: everything (from_start wins over a cursor)
    assert await collect(pair.reader.subscribe(run, "-1")) == events
    assert await collect(pair.reader.subscribe(run, events[20].id, from_start=True)) == events
    # a cursor before the first event: everything
    assert await collect(pair.reader.subscribe(run, "0-0")) == events
    # an ended run without a (usable) cursor: nothing
    assert await collect(pair.reader.subscribe(run)) == []
    assert await collect(pair.reader.subscribe(run, "not-an-id")) == []


async def test_a_cursor_from_another_run_selects_by_id(pair: Pair):
    """Ids are comparable across runs: a thread's stream resumes with the id of any of
    its runs' events."""
    run, other = rid(), rid()
    published(pair, run, 3)
    pair.publisher.end(other)  # wait until what was published is stored
    (marker,) = await collect(pair.reader.subscribe(other, from_start=True))
    published(pair, run, 3)
    pair.publisher.end(run)
    events = await collect(pair.reader.subscribe(run, from_start=True))
    after = await collect(pair.reader.subscribe(run, marker.id))
    assert [e.id for e in after] == [e.id for e in events[3:]]
    assert values(after[:-1]) == [{"i": i} for i in range(3)]


# ---------------------------------------------------------------------- live readers


async def test_reader_waits_for_new_events(pair: Pair):
    run = rid()
    reader = Reader(pair.reader.subscribe(run, from_start=True))
    assert await reader.waits()  # no event yet: the reader waits
    pair.publisher.publish(run, "custom", {"i": 0})
    first = await reader.next()
    assert values([first]) == [{"i": 0}]
    assert await reader.waits()
    pair.publisher.publish(run, "custom", {"i": 1})
    second = await reader.next()
    assert parse_event_id(second.id) > parse_event_id(first.id)
    # a reader resuming after the last event waits too
    resumed = Reader(pair.reader.subscribe(run, second.id))
    assert await resumed.waits()
    pair.publisher.end(run)
    rest = await reader.rest()
    assert [e.event for e in rest] == [END]
    assert await resumed.rest() == rest


async def test_live_only_subscription(pair: Pair):
    """Without a cursor, a reader sees only what is published after it subscribed."""
    run = rid()
    pair.publisher.publish(run, "values", "before")
    # publishing may be asynchronous (Redis): wait until "before" is stored
    stored = pair.reader.subscribe(run, from_start=True)
    assert orjson.loads((await stored.__anext__()).data) == "before"
    await stored.aclose()
    live = pair.reader.subscribe(run)
    first = asyncio.ensure_future(live.__anext__())
    await asyncio.sleep(0)  # let it take its position
    while not first.done():
        pair.publisher.publish(run, "values", "after")
        await asyncio.wait([first], timeout=0.2)
    assert orjson.loads(first.result().data) == "after"
    pair.publisher.end(run)
    rest = await collect(live)
    assert rest[-1].event == END
    assert all(orjson.loads(e.data) == "after" for e in rest[:-1])


async def test_publishers_on_other_threads(pair: Pair):
    """Node attempts publish from their own threads while a reader waits."""
    run = rid()
    reading = asyncio.ensure_future(collect(pair.reader.subscribe(run, from_start=True)))

    def work() -> None:
        for i in range(50):
            pair.publisher.publish(run, "custom", {"i": i})
        pair.publisher.end(run)

    worker = threading.Thread(target=work)
    worker.start()
    events = await reading
    worker.join()
    assert values(events[:-1]) == [{"i": i} for i in range(50)] and events[-1].event == END


# ------------------------------------------------------------------- ids across runs


async def test_ids_increase_across_runs(pair: Pair):
    """The order of publication across runs is the order of ids."""
    runs = [rid() for _ in range(3)]
    order = []
    for i in range(30):
        run = runs[i % 3]
        pair.publisher.publish(run, "custom", {"i": i})
        order.append(i)
    for run in runs:
        pair.publisher.end(run)
    streams = {run: await collect(pair.reader.subscribe(run, from_start=True)) for run in runs}
    merged = sorted(
        (parse_event_id(e.id), orjson.loads(e.data)["i"]) for s in streams.values() for e in s if e.event != END
    )
    assert [i for _, i in merged] == order
    # each END comes after everything published before it, in any run
    last_event = max(key for key, _ in merged)
    assert all(parse_event_id(s[-1].id) > last_event for s in streams.values())


async def test_ids_unique_across_runs_threads_and_instances(pair: Pair):
    runs = [rid() for _ in range(4)]

    def publish_from_thread(broker: StreamBroker, run: str) -> None:
        for i in range(50):
            broker.publish(run, "values", i)
        broker.end(run)

    threads = [
        threading.Thread(target=publish_from_thread, args=(pair.publisher if i % 2 else pair.reader, r))
        for i, r in enumerate(runs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    streams = [await collect(pair.publisher.subscribe(r, from_start=True)) for r in runs]
    everything = sorted((parse_event_id(e.id), r) for r, s in zip(runs, streams) for e in s)
    assert len({i for i, _ in everything}) == 4 * 51  # unique across runs and brokers
    for s in streams:
        assert values(s[:-1]) == list(range(50))


# -------------------------------------------------------------------- watching starts


async def test_watch_starts_reports_runs_started_after_it(pair: Pair):
    before, after, ended_only = rid(), rid(), rid()
    pair.publisher.publish(before, "values", 1)
    await eventually(lambda: pair.reader.has_stream(before))
    watch = pair.reader.watch_starts()
    try:
        pair.publisher.publish(before, "values", 2)  # not a start
        pair.publisher.publish(after, "values", 1)
        # a broker whose feed of starts lags (Redis) may still report ``before``, which
        # started just before the watch: consumers dedupe (adapter/resources/follow.py)
        assert await next_start(watch, {after, ended_only}) == after
        pair.publisher.publish(after, "values", 2)  # not a start either
        pair.publisher.end(ended_only)  # a stream that starts by ending
        assert await next_start(watch, {after, ended_only}) == ended_only
    finally:
        watch.close()
        for run in (before, after):
            pair.publisher.end(run)


# --------------------------------------------------------------------- long streams


async def test_long_stream_pages_and_spills(pair: Pair):
    """More events than one read batch (256) and than the memory broker's window: a
    reader from the start, one behind the window and a live one all get every event."""
    run, other = rid(), rid()
    live = asyncio.ensure_future(collect(pair.reader.subscribe(run, from_start=True), timeout=30))
    published(pair, run, 1000)
    if isinstance(pair.publisher, MemoryBroker):
        assert pair.publisher.events_in_memory(run) < 2 * WINDOW  # the rest is in the spill file
    pair.publisher.publish(other, "custom", {"other": True})
    pair.publisher.end(run)
    everything = await collect(pair.reader.subscribe(run, from_start=True), timeout=30)
    assert [e.data for e in everything[:-1]] == [f'{{"i":{i}}}'.encode() for i in range(1000)]
    assert everything[-1].event == END
    ids = [parse_event_id(e.id) for e in everything]
    assert ids == sorted(set(ids))
    assert await live == everything
    assert await collect(pair.reader.subscribe(run, everything[499].id)) == everything[500:]
    assert await collect(pair.reader.subscribe(run, everything[5].id)) == everything[6:]
    # ids increase across runs: the other run's event sits between the run's last
    # event and its end
    first_other = await asyncio.wait_for(pair.reader.subscribe(other, from_start=True).__anext__(), 10)
    assert ids[-2] < parse_event_id(first_other.id) < ids[-1]
    assert await pair.reader.has_stream(run) and not await pair.reader.has_stream(rid())
    pair.publisher.end(other)


# ------------------------------------------------------------------ backend specifics


@NEEDS_REDIS
async def test_redis_keys_of_a_finished_run_expire(tmp_path):
    opened, pair = await _open("redis", tmp_path)
    try:
        run = rid()
        pair.publisher.publish(run, "custom", 1)
        await eventually(lambda: pair.reader.has_stream(run))
        assert await pair.reader.retention_left(run) is None  # kept while the run goes on
        pair.publisher.end(run)
        left = await pair.reader.retention_left(run)
        assert left is not None and 0 < left <= 60
    finally:
        await _close(opened)


@NEEDS_REDIS
async def test_redis_reader_cancelled_as_its_entries_arrive_ends(tmp_path):
    """A reader waiting on the shared ``XREAD`` that is cancelled in the same loop turn
    as its entries are handed over ends cancelled, instead of taking the entries and
    going on (Python 3.11's ``asyncio.wait_for`` drops such a cancellation, CPython
    gh-86296: the broker's own run-start listener, which loops on the tail, could then
    never stop, and ``close()`` would hang). Closing the broker then returns."""
    opened, pair = await _open("redis", tmp_path)
    try:
        tail = pair.reader._tail
        key = f"{pair.reader.prefix}run:{rid()}"
        waiting = asyncio.ensure_future(tail.wait(key, "0-0", 30))
        await asyncio.sleep(0)  # the waiter is registered
        tail._deliver(key, [(b"1-0", {b"e": b"custom", b"d": b"1"})])
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
    finally:
        await asyncio.wait_for(_close(opened), 30)
