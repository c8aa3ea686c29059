"""Who is calling: map the FUSE request's thread id to the host process behind it.

FUSE gives the *thread* id; /proc/self must name the process, so the tid is mapped to its Tgid
through the host's /proc (cached, since a caller asks many times in a row).  The caller's own PID
then resolves as a hidden directory so that `ps`, which looks itself up, works.  This is the only
read of the host's /proc on a request path, and only for those two names.
"""
from __future__ import annotations

import threading
from collections import OrderedDict


_HOST_PROC = "/proc"


def host_process_facts(pid: int) -> dict[str, str]:
    """Name, Tgid, PPid and Uid of a host process from the host's /proc/PID/status ({} if gone)."""
    facts: dict[str, str] = {}
    try:
        with open(f"{_HOST_PROC}/{pid}/status", encoding="utf-8", errors="replace") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("Name", "Tgid", "PPid", "Uid", "Gid"):
                    facts[key] = value.strip().split("\t")[0]
                if len(facts) == 5:
                    break
    except OSError:
        return {}
    return facts


def host_cmdline(pid: int) -> list[str]:
    try:
        with open(f"{_HOST_PROC}/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


class CallerResolver:
    """Caches tid -> (tgid, name); a tid is never reused while we could still be asked about it
    often enough to matter, and a stale entry only mislabels a handle description."""

    def __init__(self, size: int = 256) -> None:
        self._cache: OrderedDict[int, tuple[int, str]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()  # protects _cache

    def process_of(self, tid: int) -> tuple[int, str]:
        """(PID, name) of the host process that thread `tid` belongs to."""
        with self._lock:
            hit = self._cache.get(tid)
        if hit is None:
            facts = host_process_facts(tid) if tid > 0 else {}
            hit = (int(facts.get("Tgid", tid) or tid), facts.get("Name", ""))
            with self._lock:
                self._cache[tid] = hit
                if len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        return hit
