"""The Redis Streams broker against a real Redis (``EVERGRAPH_TEST_REDIS_URI``, set by
``.ci/run``): the broker contract of :mod:`adapter.broker.memory`, across two broker
instances (as two processes would use it)."""

from __future__ import annotations

import asyncio
import os
import threading
import uuid

import orjson
import pytest

from evergraph.adapter.broker.memory import END, parse_event_id

REDIS_URI = os.environ.get("EVERGRAPH_TEST_REDIS_URI")
pytestmark = pytest.mark.skipif(
    not REDIS_URI, reason="EVERGRAPH_TEST_REDIS_URI is not set (.ci/run starts a Redis server and sets it)"
)


@pytest.fixture
async def brokers():
    from evergraph.adapter.broker.redis import RedisBroker

    loop = asyncio.get_running_loop()
    a = await RedisBroker(REDIS_URI, loop, retention=60, block=0.5).open()
    b = await RedisBroker(REDIS_URI, loop, retention=60, block=0.5).open()
    yield a, b
    await a.close()
    await b.close()


async def collect(it, timeout: float = 10.0):
    async def run():
        return [e async for e in it]

    return await asyncio.wait_for(run(), timeout)


def rid() -> str:
    return str(uuid.uuid4())


async def test_publish_subscribe_end_replay(brokers):
    a, b = brokers
    run = rid()
    assert not await b.has_stream(run)
    live = asyncio.ensure_future(collect(b.subscribe(run, from_start=True)))
    for i in range(600):  # more than one read batch
        a.publish(run, "custom", {"i": i})
    a.end(run)
    a.publish(run, "custom", {"i": "late"})  # ignored: the stream has ended
    events = await live
    assert [e.event for e in events] == ["custom"] * 600 + [END]
    assert [orjson.loads(e.data)["i"] for e in events[:-1]] == list(range(600))
    ids = [parse_event_id(e.id) for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert await b.has_stream(run)
    # replay strictly after an id, from the start, and nothing without a cursor
    again = await collect(b.subscribe(run, events[299].id))
    assert [e.id for e in again] == [e.id for e in events[300:]]
    assert [e.id for e in await collect(b.subscribe(run, "-1"))] == [e.id for e in events]
    assert await collect(b.subscribe(run)) == []
    assert await collect(b.subscribe(run, events[-1].id)) == []
    # the finished run's keys expire
    ttl = await a._redis.ttl(a._key(run))
    assert 0 < ttl <= 60


async def test_ids_increase_across_runs_and_publishers(brokers):
    a, b = brokers
    runs = [rid() for _ in range(4)]

    def publish_from_thread(broker, run):
        for i in range(50):
            broker.publish(run, "values", i)
        broker.end(run)

    threads = [threading.Thread(target=publish_from_thread, args=(a if i % 2 else b, r)) for i, r in enumerate(runs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    streams = [await collect(a.subscribe(r, from_start=True)) for r in runs]
    everything = sorted((parse_event_id(e.id), r) for r, s in zip(runs, streams) for e in s)
    assert len({i for i, _ in everything}) == 4 * 51  # unique across runs and brokers
    for s in streams:
        assert [orjson.loads(e.data) for e in s[:-1]] == list(range(50))


async def test_live_only_subscription_and_watch_starts(brokers):
    a, b = brokers
    run = rid()
    a.publish(run, "values", "before")
    watch = b.watch_starts()
    try:
        other = rid()
        starts = watch.__aiter__()
        # a subscriber without a cursor sees only what is published from now on
        live = b.subscribe(run)
        first = asyncio.ensure_future(live.__anext__())
        await asyncio.sleep(0)  # let it take its position
        while not first.done():
            a.publish(run, "values", "after")
            done, _ = await asyncio.wait([first], timeout=0.2)
        assert orjson.loads(first.result().data) == "after"
        a.publish(other, "values", 1)
        seen = await asyncio.wait_for(starts.__anext__(), 10)
        while seen != other:  # runs started by other tests on the same Redis
            seen = await asyncio.wait_for(starts.__anext__(), 10)
        assert seen == other
        a.end(run)
        rest = [e async for e in live]
        assert rest[-1].event == END
        assert all(orjson.loads(e.data) == "after" for e in rest[:-1])
    finally:
        watch.close()
        a.end(other)
