"""One blocking ``XREAD`` for every reader of a process (:class:`RedisTail`), so the
number of Redis connections an API process holds does not grow with the number of
streams it serves.

A reader that has caught up with a stream asks :meth:`RedisTail.wait` for the entries
after its position. The tail keeps one dedicated connection blocked in ``XREAD BLOCK``
on every stream some reader waits on (from the lowest position waited on), and hands
each waiter the entries after its own position. When a reader starts waiting on a
stream (or on an earlier position) the read in flight does not cover, the tail is
woken by an entry on its own wake stream (``<prefix>wake:<uuid>``, one entry, expiring
when the process is gone), which that ``XREAD`` always includes; it then reads again
with the new set. A failed read fails every waiter of that read with the error (their
readers turn it into an error for their clients) and the tail reconnects.

See docs/architecture.md for the layers.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from evergraph.adapter.broker.protocol import parse_event_id

__all__ = ["Entry", "RedisTail"]

logger = logging.getLogger(__name__)

Entry = tuple[bytes, dict]
"""One stream entry as redis-py gives it: ``(id, {field: value})`` (bytes)."""

#: seconds the wake stream lives after its last entry (a dead process's wake key goes)
_WAKE_TTL = 3600

#: seconds :meth:`RedisTail.close` waits for its reading task to end once cancelled
_CLOSE_TIMEOUT = 10.0


def _key_id(raw: bytes | str) -> tuple[int, int]:
    parsed = parse_event_id(raw.decode() if isinstance(raw, bytes) else raw)
    assert parsed is not None, raw
    return parsed


@dataclass(eq=False)
class _Waiter:
    pos: tuple[int, int]
    future: asyncio.Future = field(repr=False)


class RedisTail:
    """See the module docstring.

    Args:
        reader: a client of its own for the blocking reads (``single_connection_client``,
            socket timeout above ``block_ms``), closed by :meth:`close`.
        commands: the broker's shared client, for the wake entries.
        prefix: key prefix of the broker.
        block_ms: milliseconds one ``XREAD`` blocks at most.
        count: entries per stream per read at most.

    Use on one event loop; :meth:`start` before :meth:`wait`, :meth:`close` at the end.
    """

    def __init__(
        self, reader: aioredis.Redis, commands: aioredis.Redis, prefix: str, block_ms: int, count: int
    ) -> None:
        self._reader = reader
        self._commands = commands
        self._wake_key = f"{prefix}wake:{uuid.uuid4().hex}"
        self._wake_pos = "0-0"
        self._block_ms = block_ms
        self._count = count
        self._waiters: dict[str, list[_Waiter]] = {}
        self._inflight: dict[str, tuple[int, int]] | None = None  # the XREAD in flight
        self._wake_pending = False
        self._changed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._wakes: set[asyncio.Task] = set()
        self._closed = False
        self.reads = 0  # XREAD calls made (for tests and measurements)

    def start(self) -> None:
        """Start the reading task on the running loop."""
        self._task = asyncio.ensure_future(self._run())

    async def close(self) -> None:
        """Stop reading; pending waits end with ``asyncio.CancelledError``.

        Waits up to ``_CLOSE_TIMEOUT`` seconds for the reading task (and wake-ups in
        flight) to end, then goes on with an error logged: closing never hangs.
        """
        self._closed = True
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            _done, pending = await asyncio.wait({task, *self._wakes}, timeout=_CLOSE_TIMEOUT)
            if pending:
                logger.error("Redis broker: %d stream reading tasks did not stop within %ss: %r",
                             len(pending), _CLOSE_TIMEOUT, pending)
        for waiters in self._waiters.values():
            for w in waiters:
                if not w.future.done():
                    w.future.cancel()
        self._waiters.clear()
        try:
            await self._commands.delete(self._wake_key)
        except (RedisError, OSError):
            pass
        await self._reader.aclose()

    async def wait(self, key: str, pos: str, timeout: float) -> list[Entry]:
        """Entries of stream ``key`` after id ``pos`` (``"<ms>-<n>"``), as soon as there
        are any; ``[]`` after ``timeout`` seconds without.

        Raises:
            redis.exceptions.RedisError, OSError: the blocking read failed (Redis down).
            asyncio.CancelledError: the tail is closed.
        """
        if self._closed:
            raise asyncio.CancelledError("the Redis stream tail is closed")
        waiter = _Waiter(_key_id(pos), asyncio.get_running_loop().create_future())
        self._waiters.setdefault(key, []).append(waiter)
        self._wake_for(key, waiter.pos)
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for returns the result
            # and drops a cancellation that arrives as the future completes, so a
            # reader looping on wait() could never be cancelled (CPython gh-86296)
            async with asyncio.timeout(timeout):
                return await waiter.future
        except TimeoutError:
            return []
        finally:
            waiters = self._waiters.get(key)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._waiters[key]

    # -- the reading task ---------------------------------------------------------------

    def _wake_for(self, key: str, pos: tuple[int, int]) -> None:
        """Make the tail read ``key`` from ``pos`` (or earlier) soon."""
        if self._inflight is None:
            self._changed.set()  # idle, or between reads: it picks the waiter up
            return
        covered = self._inflight.get(key)
        if covered is not None and covered <= pos:
            return
        if not self._wake_pending:
            self._wake_pending = True
            task = asyncio.ensure_future(self._send_wake())
            self._wakes.add(task)
            task.add_done_callback(self._wakes.discard)

    async def _send_wake(self) -> None:
        try:
            async with self._commands.pipeline(transaction=False) as pipe:
                pipe.xadd(self._wake_key, {"w": "1"}, maxlen=1, approximate=False)
                pipe.expire(self._wake_key, _WAKE_TTL)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            # the read in flight fails too, or times out within block_ms
            logger.warning("Redis broker: waking the stream reader failed: %r", exc)

    async def _run(self) -> None:
        backoff = 0.1
        while not self._closed:
            if not self._waiters:
                self._changed.clear()
                await self._changed.wait()
                continue
            streams: dict[str, str] = {self._wake_key: self._wake_pos}
            inflight: dict[str, tuple[int, int]] = {}
            for key, waiters in self._waiters.items():
                low = min(w.pos for w in waiters)
                inflight[key] = low
                streams[key] = f"{low[0]}-{low[1]}"
            self._wake_pending = False
            self._inflight = inflight
            try:
                self.reads += 1
                res = await self._reader.xread(streams, count=self._count, block=self._block_ms)
            except (RedisError, OSError) as exc:
                self._inflight = None
                self._fail(inflight, exc)
                logger.warning("Redis broker: reading streams failed: %r", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            self._inflight = None
            backoff = 0.1
            for raw_key, entries in res or ():
                key = raw_key.decode()
                if key == self._wake_key:
                    self._wake_pos = entries[-1][0].decode()
                    continue
                self._deliver(key, entries)

    def _deliver(self, key: str, entries: list[Entry]) -> None:
        """Hand each waiter on ``key`` the entries after its position; a waiter
        served leaves the set (it comes back with its new position)."""
        ids = [_key_id(entry_id) for entry_id, _ in entries]
        keep = []
        for waiter in self._waiters.get(key, ()):
            mine = [entry for entry, eid in zip(entries, ids) if eid > waiter.pos]
            if waiter.future.done():
                continue
            if mine:
                waiter.future.set_result(mine)
            else:
                keep.append(waiter)
        self._settle(key, keep)

    def _fail(self, keys: dict[str, tuple[int, int]], exc: BaseException) -> None:
        for key in keys:
            for waiter in self._waiters.get(key, ()):
                if not waiter.future.done():
                    waiter.future.set_exception(exc)
            self._settle(key, [])

    def _settle(self, key: str, waiters: list[_Waiter]) -> None:
        if waiters:
            self._waiters[key] = waiters
        else:
            self._waiters.pop(key, None)
