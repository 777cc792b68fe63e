"""A stream broker on Redis Streams (:class:`RedisBroker`, a
:class:`~adapter.broker.protocol.StreamBroker`), for any number of ``evergraph serve``
and ``evergraph worker`` processes on any number of machines (``EVERGRAPH_REDIS_URI``).

Layout in Redis (``<p>`` is the key prefix, default ``evergraph:``):

* ``<p>run:<run_id>``: the run's events, one stream entry each (fields ``e``: event
  name, ``d``: JSON data). The entry id *is* the event id (``<ms>-<n>``, the SSE id).
* ``<p>run:<run_id>:end``: set, with the stream's expiry, when the run's stream ends.
* ``<p>last``: the last id given to any event. A Lua script gives each new event the
  next id after it (Redis' clock, ``TIME``), so ids increase across all runs and all
  processes, as :mod:`adapter.broker.protocol` requires (a thread's stream is the
  concatenation of its runs' streams).
* ``<p>starts``: one entry per run whose stream started (capped at about 10,000).

Events live in Redis, not in Python: readers fetch bounded batches (``XRANGE``), and
a finished run's keys expire ``retention`` seconds after its end. Connections do not
grow with the number of readers: readers that caught up wait on one shared blocking
``XREAD`` (:class:`~adapter.broker.redis_tail.RedisTail`, one dedicated connection,
which also follows run starts), and their short commands share a pool of at most
``pool_size`` connections that makes a command wait for a free connection rather than
fail. A reader whose Redis commands fail (after redis-py's few quick retries) raises
:class:`~adapter.errors.Unavailable`, which the SSE layer sends as an ``error`` event:
a stream never ends silently short. Writes go through one writer thread with its own event loop and asyncio client,
which sends queued events in batches (one script call per batch), so
:meth:`RedisBroker.publish` never blocks its caller; :meth:`RedisBroker.end` waits
until Redis has stored everything queued before it (a run whose end was reported
has its whole stream in Redis).

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, AsyncIterator

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from evergraph.adapter import serde
from evergraph.adapter.broker.common import QueueStartWatch
from evergraph.adapter.broker.protocol import (
    BEFORE_EVERYTHING, END, StartWatch, StreamEvent, format_event_id, subscribe_cursor,
)
from evergraph.adapter.broker.redis_tail import RedisTail
from evergraph.adapter.errors import Unavailable

__all__ = ["RedisBroker"]

logger = logging.getLogger(__name__)

_BATCH = 256
_STARTS_MAXLEN = 10_000

# KEYS[1] = last id, KEYS[2] = starts stream; ARGV[1] = key prefix, ARGV[2] = retention
# (s), then (run_id, event, data, is_end) per event. Returns the number stored.
_APPEND = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lms, ln = 0, 0
local last = redis.call('GET', KEYS[1])
if last then
  local dash = string.find(last, '-', 1, true)
  lms = tonumber(string.sub(last, 1, dash - 1))
  ln = tonumber(string.sub(last, dash + 1))
end
local stored = 0
for i = 3, #ARGV, 4 do
  local key = ARGV[1] .. 'run:' .. ARGV[i]
  local ended = key .. ':end'
  if redis.call('EXISTS', ended) == 0 then
    if now > lms then lms, ln = now, 0 else ln = ln + 1 end
    local id = string.format('%d-%d', lms, ln)
    local new = redis.call('EXISTS', key) == 0
    redis.call('XADD', key, id, 'e', ARGV[i + 1], 'd', ARGV[i + 2])
    if new then
      redis.call('XADD', KEYS[2], 'MAXLEN', '~', '""" + str(_STARTS_MAXLEN) + """', id, 'r', ARGV[i])
    end
    if ARGV[i + 3] == '1' then
      redis.call('SET', ended, '1', 'EX', ARGV[2])
      redis.call('EXPIRE', key, ARGV[2])
    end
    stored = stored + 1
  end
end
redis.call('SET', KEYS[1], string.format('%d-%d', lms, ln))
return stored
"""


class _Writer(threading.Thread):
    """The thread that sends events to Redis, in order, in batches."""

    def __init__(self, url: str, prefix: str, retention: float) -> None:
        super().__init__(name="evergraph-redis-writer", daemon=True)
        self.url = url
        self.prefix = prefix
        self.retention = max(1, int(retention))
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._queue: asyncio.Queue | None = None

    def run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        finally:
            self.loop.close()

    async def _main(self) -> None:
        self._queue = asyncio.Queue()
        client = aioredis.Redis.from_url(self.url, protocol=2)
        try:
            try:
                await client.ping()
                script = client.register_script(_APPEND)
            except BaseException as exc:
                self.error = exc
                return
            finally:
                self.ready.set()
            stopping = False
            while not stopping:
                batch = [await self._queue.get()]
                while len(batch) < _BATCH and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                if None in batch:
                    stopping = True
                    batch = [item for item in batch if item is not None]
                if batch:
                    await self._write(script, batch)
        finally:
            await client.aclose()

    async def _write(self, script, batch: list[tuple]) -> None:
        args: list[Any] = [self.prefix, self.retention]
        for run_id, event, payload, is_end, _done in batch:
            args.extend((run_id, event, payload, "1" if is_end else "0"))
        delay = 0.05
        for attempt in range(12):  # about 30 s of retries while Redis is unreachable
            try:
                await script(keys=[self.prefix + "last", self.prefix + "starts"], args=args)
                break
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                logger.warning("Redis broker: write failed (attempt %d): %r", attempt + 1, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:
                logger.exception("Redis broker: %d events could not be stored", len(batch))
                break
        else:
            logger.error("Redis broker: %d events dropped, Redis unreachable", len(batch))
        for *_rest, done in batch:
            if done is not None:
                done.set()

    def submit(self, item: tuple | None) -> None:
        """Queue ``(run_id, event, payload, is_end, done_event)``; ``None`` stops."""
        assert self._queue is not None
        self.loop.call_soon_threadsafe(self._queue.put_nowait, item)


class RedisBroker:
    """See the module docstring.

    Args:
        url: Redis URL (``redis://host:port/db``, ``rediss://`` for TLS).
        loop: the loop readers run on (the process's main loop).
        retention: seconds a finished run's events stay in Redis (replay and join).
        prefix: key prefix.
        block: seconds one blocking read waits before checking again whether the run
            ended (only matters for streams that expired while a reader waited).
        end_timeout: seconds :meth:`end` waits for Redis to store the run's stream.
        pool_size: connections the readers' short commands share at most (the
            blocking read has one more of its own, the writer thread one).
        pool_timeout: seconds a command waits for a free pooled connection before
            it fails (raising :class:`~adapter.errors.Unavailable` to its reader).

    Call :meth:`open` before use and :meth:`close` at the end.
    """

    def __init__(
        self,
        url: str,
        loop: asyncio.AbstractEventLoop,
        retention: float = 3600.0,
        prefix: str = "evergraph:",
        block: float = 2.0,
        end_timeout: float = 30.0,
        pool_size: int = 32,
        pool_timeout: float = 20.0,
    ) -> None:
        self.url = url
        self.loop = loop
        self.retention = retention
        self.prefix = prefix
        self.block_ms = max(1, int(block * 1000))
        self.end_timeout = end_timeout
        self.pool_size = pool_size
        self.pool_timeout = pool_timeout
        self._redis: aioredis.Redis | None = None
        self._tail: RedisTail | None = None
        self._writer: _Writer | None = None
        self._watches: set[QueueStartWatch] = set()
        self._listener: asyncio.Task | None = None

    def _client(self, **kwargs: Any) -> aioredis.Redis:
        # a few quick retries ride out a blip; a Redis that stays away fails the
        # reader within about a second, which its client then hears about
        retry = Retry(ExponentialBackoff(cap=0.5, base=0.05), 3)
        return aioredis.Redis.from_url(self.url, protocol=2, retry=retry, **kwargs)

    async def open(self) -> RedisBroker:
        """Connect (readers' pool and blocking reader on this loop, writer thread) and
        start following run starts.

        Raises:
            redis.exceptions.ConnectionError: Redis is unreachable.
        """
        # blocking reads wait up to ``block``: the socket timeout must exceed it
        socket_timeout = self.block_ms / 1000 + 10
        pool = aioredis.BlockingConnectionPool.from_url(
            self.url, protocol=2, max_connections=self.pool_size, timeout=self.pool_timeout,
            socket_timeout=socket_timeout, retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 3),
        )
        self._redis = aioredis.Redis(connection_pool=pool)
        await self._redis.ping()
        reader = self._client(single_connection_client=True, socket_timeout=socket_timeout)
        await reader.ping()
        self._tail = RedisTail(reader, self._redis, self.prefix, self.block_ms, _BATCH)
        self._tail.start()
        writer = _Writer(self.url, self.prefix, self.retention)
        writer.start()
        await asyncio.get_running_loop().run_in_executor(None, writer.ready.wait)
        if writer.error is not None:
            raise writer.error
        self._writer = writer
        last = await self._redis.xrevrange(self._starts_key, count=1)
        cursor = last[0][0].decode() if last else "0-0"
        self._listener = asyncio.ensure_future(self._follow_starts(cursor))
        return self

    async def close(self) -> None:
        """Store what is queued, stop the writer thread and close the connections."""
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.submit(None)
            await asyncio.get_running_loop().run_in_executor(None, writer.join, self.end_timeout)
        if self._tail is not None:
            tail, self._tail = self._tail, None
            await tail.close()
        if self._redis is not None:
            redis, self._redis = self._redis, None
            await redis.aclose()
            await redis.connection_pool.disconnect()

    @property
    def _starts_key(self) -> str:
        return self.prefix + "starts"

    def _key(self, run_id: str) -> str:
        return f"{self.prefix}run:{run_id}"

    # -- writing (any thread) -----------------------------------------------------------

    def publish(self, run_id: str, event: str, data: Any) -> None:
        """See :meth:`StreamBroker.publish`: queued for the writer thread."""
        writer = self._writer
        if writer is None:
            logger.warning("Redis broker closed: event %s of run %s dropped", event, run_id)
            return
        writer.submit((run_id, event, serde.dumps(data), False, None))

    def end(self, run_id: str) -> None:
        """See :meth:`StreamBroker.end`: waits (up to ``end_timeout``) until Redis has
        stored the run's stream."""
        writer = self._writer
        if writer is None:
            logger.warning("Redis broker closed: end of run %s dropped", run_id)
            return
        done = threading.Event()
        writer.submit((run_id, END, b"null", True, done))
        if threading.current_thread() is not writer and not done.wait(self.end_timeout):
            logger.error("Redis broker: end of run %s not confirmed within %ss", run_id, self.end_timeout)

    # -- reading (the broker's loop) ------------------------------------------------------

    async def has_stream(self, run_id: str) -> bool:
        """See :meth:`StreamBroker.has_stream`.

        Raises:
            Unavailable: Redis did not answer.
        """
        assert self._redis is not None, "RedisBroker.open() was not called"
        key = self._key(run_id)
        try:
            return bool(await self._redis.exists(key, key + ":end"))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    def watch_starts(self) -> StartWatch:
        """See :meth:`StreamBroker.watch_starts`."""
        return QueueStartWatch(self._watches)

    async def retention_left(self, run_id: str) -> int | None:
        """Seconds until the run's events expire from Redis; ``None`` while they do not
        (the run has not ended) or once they are gone.

        Raises:
            Unavailable: Redis did not answer.
        """
        assert self._redis is not None, "RedisBroker.open() was not called"
        try:
            ttl = await self._redis.ttl(self._key(run_id))
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc
        return ttl if ttl >= 0 else None

    async def _follow_starts(self, cursor: str) -> None:
        """Forward every run start after ``cursor`` to the open watches."""
        assert self._tail is not None
        while True:
            try:
                entries = await self._tail.wait(self._starts_key, cursor, self.block_ms / 1000)
            except (RedisError, OSError) as exc:
                logger.warning("Redis broker: following run starts failed: %r", exc)
                await asyncio.sleep(0.5)
                continue
            for entry_id, fields in entries:
                cursor = entry_id.decode()
                QueueStartWatch.notify(self._watches, fields[b"r"].decode())

    async def subscribe(
        self, run_id: str, after: str | None = None, *, from_start: bool = False
    ) -> AsyncIterator[StreamEvent]:
        """See :meth:`StreamBroker.subscribe`.

        Raises:
            Unavailable: Redis did not answer (after the events read before).
        """
        assert self._redis is not None and self._tail is not None, "RedisBroker.open() was not called"
        try:
            async for event in self._subscribe(run_id, after, from_start):
                yield event
        except (RedisError, OSError) as exc:
            raise _unavailable(exc) from exc

    async def _subscribe(self, run_id: str, after: str | None, from_start: bool) -> AsyncIterator[StreamEvent]:
        assert self._redis is not None and self._tail is not None
        redis, tail, key = self._redis, self._tail, self._key(run_id)
        ended_key = key + ":end"
        cursor = subscribe_cursor(after, from_start)
        if cursor is None:
            if await redis.exists(ended_key):
                return
            last = await redis.xrevrange(key, count=1)
            pos = last[0][0].decode() if last else "0-0"
        elif cursor == BEFORE_EVERYTHING:
            pos = "0-0"
        else:
            pos = format_event_id(cursor)
        entries = await redis.xrange(key, min="(" + pos, count=_BATCH)
        while True:
            for entry_id, fields in entries:
                pos = entry_id.decode()
                event = fields[b"e"].decode()
                yield StreamEvent(pos, event, bytes(fields[b"d"]))
                if event == END:
                    return
            if len(entries) >= _BATCH:  # more stored after this batch
                entries = await redis.xrange(key, min="(" + pos, count=_BATCH)
                continue
            # caught up: wait with every other reader of this process on one XREAD
            entries = await tail.wait(key, pos, self.block_ms / 1000)
            if not entries and await redis.exists(ended_key):
                # ended (its END entry is stored with the flag) or expired meanwhile
                entries = await redis.xrange(key, min="(" + pos, count=_BATCH)
                if not entries:
                    return


def _unavailable(exc: BaseException) -> Unavailable:
    return Unavailable(f"stream broker unavailable: Redis: {type(exc).__name__}: {exc}")
