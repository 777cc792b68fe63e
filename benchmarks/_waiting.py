"""The waiting-threads measurement: K threads, each with a run stopped at
``interrupt()``, created through the API with bounded concurrency; the RSS of the
server's processes (per role) at every checkpoint, the creation rate, and then the
resume latency of the oldest threads against the newest."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import _proctree
from bench_runs import log

__all__ = ["render_waiting", "waiting_threads"]


async def waiting_threads(
    sdk, root_pid: int, k: int, concurrency: int = 32, every: int = 1000, resume_n: int = 5,
    graph: str = "approval",
) -> dict[str, Any]:
    """Create ``k`` threads, each with one ``runs.wait`` of ``graph`` that stops at
    ``interrupt()``, ``concurrency`` at once, and sample the RSS of the tree of
    ``root_pid`` every ``every`` threads; then resume the ``resume_n`` oldest and
    newest threads (alternating) and time each ``runs.wait`` with
    ``command={"resume": ...}``.

    Returns:
        ``{"checkpoints": [{"threads", "elapsed_s", "rate_per_s" (this batch),
        "rss_mb": {role: MB}}...], "resume_oldest_ms": [...], "resume_newest_ms":
        [...], "failures": int, "total_s": seconds}``.

    Raises:
        RuntimeError: a run did not stop at the interrupt or did not resume.
    """
    ids: list[str | None] = [None] * k
    failures = 0

    async def one(i: int) -> None:
        nonlocal failures
        for attempt in range(3):
            try:
                thread = await sdk.threads.create()
                out = await sdk.runs.wait(thread["thread_id"], graph, input={"request": f"r{i}"})
                if not (isinstance(out, dict) and "__interrupt__" in out):
                    raise RuntimeError(f"run of thread {thread['thread_id']} did not stop at interrupt(): {out!r}")
                ids[i] = thread["thread_id"]
                return
            except Exception as exc:
                failures += 1
                if attempt == 2:
                    raise RuntimeError(f"waiting thread {i}: {exc!r}") from exc

    def rss_mb() -> dict[str, float]:
        return {role: round(kb / 1024, 1) for role, kb in _proctree.rss_kb(root_pid).items()}

    checkpoints = [{"threads": 0, "elapsed_s": 0.0, "rate_per_s": None, "rss_mb": rss_mb()}]
    log(f"waiting threads: 0 -> RSS {checkpoints[0]['rss_mb']}")
    t_start = time.perf_counter()
    done = 0
    while done < k:
        stop = min(k, done + every)
        todo = iter(range(done, stop))

        async def drain(indices) -> None:
            for i in indices:
                await one(i)

        t0 = time.perf_counter()
        await asyncio.gather(*(drain(todo) for _ in range(concurrency)))
        t1 = time.perf_counter()
        cp = {"threads": stop, "elapsed_s": round(t1 - t_start, 2),
              "rate_per_s": round((stop - done) / (t1 - t0), 2), "rss_mb": rss_mb()}
        checkpoints.append(cp)
        log(f"waiting threads: {stop} ({cp['rate_per_s']:.1f}/s) -> RSS {cp['rss_mb']}")
        done = stop
    total = time.perf_counter() - t_start

    async def resume(tid: str) -> float:
        t0 = time.perf_counter()
        out = await sdk.runs.wait(tid, graph, command={"resume": "yes"})
        dt = time.perf_counter() - t0
        if not (isinstance(out, dict) and out.get("answer") == "yes"):
            raise RuntimeError(f"resume of thread {tid} returned {out!r}")
        return dt * 1000

    n = min(resume_n, k // 2)
    oldest, newest = ids[:n], ids[k - n:][::-1]
    res_old, res_new = [], []
    for a, b in zip(oldest, newest):
        res_old.append(await resume(a))
        res_new.append(await resume(b))
    return {
        "k": k, "concurrency": concurrency, "checkpoints": checkpoints, "total_s": round(total, 2),
        "rate_per_s": round(k / total, 2), "failures": failures,
        "rss_after_resume_mb": rss_mb(),
        "resume_oldest_ms": [round(x, 1) for x in res_old], "resume_newest_ms": [round(x, 1) for x in res_new],
        "resume_oldest_median_ms": statistics.median(res_old) if res_old else None,
        "resume_newest_median_ms": statistics.median(res_new) if res_new else None,
    }


def render_waiting(w: dict[str, Any], label: dict[str, str] | None = None) -> str:
    """A table: waiting threads, creation rate, RSS per role (MB); then resume
    latency, oldest vs newest."""
    label = label or {}
    roles = [r for r in w["checkpoints"][-1]["rss_mb"] if r != "total"] + ["total"]
    L = [f"Waiting threads (runs stopped at interrupt(); {w['concurrency']} created at once; "
         f"{w['k']} in {w['total_s']:.0f} s = {w['rate_per_s']:.1f}/s"
         + (f"; {w['failures']} retried requests" if w["failures"] else "") + ")"]
    head = f"{'threads':>8}{'rate/s':>9}" + "".join(f"{label.get(r, r) + ' MB':>16}" for r in roles)
    L.append(head)
    base = w["checkpoints"][0]["rss_mb"]
    for cp in w["checkpoints"]:
        rate = f"{cp['rate_per_s']:.1f}" if cp["rate_per_s"] else "-"
        L.append(f"{cp['threads']:>8}{rate:>9}" + "".join(f"{cp['rss_mb'].get(r, 0):>16.0f}" for r in roles))
    last = w["checkpoints"][-1]
    if w["k"]:
        per = {r: (last["rss_mb"].get(r, 0) - base.get(r, 0)) * 1024 / w["k"] for r in roles}
        L.append(f"{'KB/thread':>17}" + "".join(f"{per[r]:>16.1f}" for r in roles))
    if w["resume_oldest_ms"]:
        L.append(f"resume runs.wait, oldest {len(w['resume_oldest_ms'])} threads: median "
                 f"{w['resume_oldest_median_ms']:.0f} ms {w['resume_oldest_ms']}")
        L.append(f"resume runs.wait, newest {len(w['resume_newest_ms'])} threads: median "
                 f"{w['resume_newest_median_ms']:.0f} ms {w['resume_newest_ms']}  "
                 f"(oldest/newest {w['resume_oldest_median_ms'] / w['resume_newest_median_ms']:.2f}x)")
    return "\n".join(L)
