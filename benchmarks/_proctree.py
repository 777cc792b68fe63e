"""Process trees from /proc: the processes of one server (a root process and all its
descendants), each labelled with a role read from its command line, and their CPU
time and resident memory.

A server may be one process or several (``evergraph dev`` starts a Temporal dev
server as a child; it may also run its API and worker as child processes;
``langgraph dev`` runs a reloader that spawns the server). Summing the tree and
attributing by command line works for every shape. Linux only.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

__all__ = ["RssSampler", "classify", "cpu_by_role", "diff", "rss_kb", "thread_cpu", "tree", "vm_hwm_kb"]

_TICK = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """Direct children of ``pid`` (all its threads' children files)."""
    out: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                out += [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


def tree(root: int) -> list[int]:
    """``root`` and all its live descendants (pids, root first); empty when ``root``
    is gone."""
    if not Path(f"/proc/{root}").exists():
        return []
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo += _children(pid)
    return seen


def cmdline(pid: int) -> list[str]:
    """The command line of ``pid`` as a list (empty when it is gone)."""
    try:
        return [x for x in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0") if x]
    except OSError:
        return []


def classify(pid: int, root: int) -> str:
    """The role of ``pid`` in the tree of ``root``, from its command line:

    * ``temporal``: a Temporal dev server (``temporal server start-dev``);
    * ``worker`` / ``api``: an ``evergraph worker`` / ``evergraph serve`` process, or a
      child whose arguments name its role (``worker``; ``serve`` or ``api``);
    * ``postgres`` / ``redis``: the scale-out services;
    * ``root``: the root process itself (``evergraph dev``: API and worker unless
      children took those roles; ``langgraph dev``: the whole server or its reloader);
    * ``other``: any other descendant (e.g. a ``multiprocessing`` helper).
    """
    args = cmdline(pid)
    if not args:
        return "other"
    exe = os.path.basename(args[0])
    if exe == "temporal" or "start-dev" in args:
        return "temporal"
    if exe.startswith("postgres"):
        return "postgres"
    if exe.startswith("redis"):
        return "redis"
    words = {os.path.basename(a) for a in args[1:]}
    words |= {w for a in args[1:] for w in a.replace("=", " ").replace(",", " ").split()}
    if pid != root or "dev" not in words:
        if any("worker" in w for w in words):
            return "worker"
        if "serve" in words or "api" in words:
            return "api"
    return "root" if pid == root else "other"


def _stat(pid: int) -> tuple[float, int] | None:
    """(user + system CPU seconds, ppid) of ``pid``."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK, int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def cpu_by_role(root: int) -> dict[str, float]:
    """CPU seconds (user + system, all threads) used so far by each role of the tree
    of ``root`` (:func:`classify`), live processes only; ``"total"`` is their sum.
    Take it before and after a measurement and subtract (:func:`diff`)."""
    out: dict[str, float] = {}
    for pid in tree(root):
        st = _stat(pid)
        if st is None:
            continue
        role = classify(pid, root)
        out[role] = out.get(role, 0.0) + st[0]
    out["total"] = sum(v for k, v in out.items())
    return out


def diff(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    """``after - before`` per key (a key missing before counts as 0)."""
    return {k: v - before.get(k, 0.0) for k, v in after.items()}


def thread_cpu(root: int) -> dict[str, float]:
    """CPU seconds used so far per thread group of the tree of ``root``: the key is
    ``"<role>: main thread"`` for each process's main thread (where Python runs its
    event loop) and ``"<role>: <thread name>"`` for the other threads, summed by name
    (e.g. the Temporal SDK's ``tokio-runtime-w`` threads). A group busy close to
    1.0 core during a measurement is what bounds it."""
    out: dict[str, float] = {}
    for pid in tree(root):
        role = classify(pid, root)
        try:
            tasks = list(Path(f"/proc/{pid}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                raw = (task / "stat").read_text()
                comm = raw[raw.index("(") + 1: raw.rindex(")")]
                fields = raw.rsplit(")", 1)[1].split()
                secs = (int(fields[11]) + int(fields[12])) / _TICK
            except (OSError, ValueError, IndexError):
                continue
            key = f"{role}: main thread" if int(task.name) == pid else f"{role}: {comm}"
            out[key] = out.get(key, 0.0) + secs
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss_kb(root: int) -> dict[str, int]:
    """Current resident set size (VmRSS, kB) per role of the tree of ``root`` and
    ``"total"``."""
    out: dict[str, int] = {}
    for pid in tree(root):
        role = classify(pid, root)
        out[role] = out.get(role, 0) + _status_kb(pid, "VmRSS:")
    out["total"] = sum(out.values())
    return out


def vm_hwm_kb(root: int) -> dict[str, int]:
    """Peak resident set size (VmHWM, kB) per role of the tree of ``root`` (sum over
    the role's processes of each one's own peak) and ``"total"``."""
    out: dict[str, int] = {}
    for pid in tree(root):
        role = classify(pid, root)
        out[role] = out.get(role, 0) + _status_kb(pid, "VmHWM:")
    out["total"] = sum(out.values())
    return out


class RssSampler:
    """Samples :func:`rss_kb` of several trees every ``interval`` seconds in a thread
    and keeps each tree's peak per role (kB); the peak of ``"total"`` is the peak of
    the tree's sum, not the sum of its processes' peaks.

    Args:
        roots: name -> root pid.
        interval: seconds between samples.
    """

    def __init__(self, roots: dict[str, int], interval: float = 0.25) -> None:
        self.roots = dict(roots)
        self.interval = interval
        self.peak: dict[str, dict[str, int]] = {name: {} for name in roots}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def sample(self) -> None:
        """Take one sample now."""
        for name, root in self.roots.items():
            peak = self.peak[name]
            for role, kb in rss_kb(root).items():
                if kb > peak.get(role, 0):
                    peak[role] = kb

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def wait_for(pred, timeout: float, interval: float = 0.1) -> bool:
    """Poll ``pred()`` until it is true or ``timeout`` seconds pass; returns its last
    value (for processes that appear after start-up, which nothing signals)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > deadline:
            return bool(v)
        time.sleep(interval)
