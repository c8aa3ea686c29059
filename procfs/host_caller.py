"""Who is calling: map the FUSE request's thread id to the host process behind it.

FUSE gives the *thread* id; /proc/self must name the process, so the tid is mapped to its Tgid
through the host's /proc (cached, since a caller asks many times in a row).  The caller's own PID
then resolves as a hidden directory so that `ps`, which looks itself up, works; its `fd/` and
`fdinfo/` are the caller's own, read from the host, so a reader that watches its own descriptors
(psutil's open_files, `lsof -p $$`) sees them.  Only the caller itself ever reaches that view.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass


_HOST_PROC = "/proc"


def host_process_facts(pid: int) -> dict[str, str]:
    """Name, Tgid, PPid, Uid, Gid and NSpid (its PID in each PID namespace, outermost first) of a
    host process from the host's /proc/PID/status ({} if gone)."""
    facts: dict[str, str] = {}
    try:
        with open(f"{_HOST_PROC}/{pid}/status", encoding="utf-8", errors="replace") as status:
            for line in status:
                key, _, value = line.partition(":")
                if key in ("Name", "Tgid", "PPid", "Uid", "Gid"):
                    facts[key] = value.strip().split("\t")[0]
                elif key == "NSpid":
                    facts[key] = " ".join(value.split())
                if len(facts) == 6:
                    break
    except OSError:
        return {}
    return facts


def host_identity(pid: int) -> int | None:
    """What tells this host process from a later one with the same number (host PIDs wrap): the
    inode number of its /proc/PID, new for every process.  One stat(2); None if it is gone."""
    try:
        return os.stat(f"{_HOST_PROC}/{pid}").st_ino
    except OSError:
        return None


def host_cmdline(pid: int) -> list[str]:
    try:
        with open(f"{_HOST_PROC}/{pid}/cmdline", "rb") as f:
            raw = f.read()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a]


def host_fds(pid: int) -> list[str]:
    """The host process's open descriptors, ascending."""
    try:
        return sorted((name for name in os.listdir(f"{_HOST_PROC}/{pid}/fd") if name.isdigit()), key=int)
    except OSError:
        return []


def host_fd(pid: int, fd: str) -> tuple[str, int] | None:
    """Where the host process's descriptor leads, and its link's permission bits (how it was
    opened); None once it is closed."""
    try:
        return os.readlink(f"{_HOST_PROC}/{pid}/fd/{fd}"), os.lstat(f"{_HOST_PROC}/{pid}/fd/{fd}").st_mode & 0o777
    except OSError:
        return None


def host_fdinfo(pid: int, fd: str) -> bytes | None:
    try:
        with open(f"{_HOST_PROC}/{pid}/fdinfo/{fd}", "rb") as f:
            return f.read(65536)
    except OSError:
        return None


def own_view(pid: int, facts: dict[str, str]) -> tuple[int, int]:
    """(PID, parent PID) as the host process `pid` sees them from its own PID namespace: a parent
    outside that namespace reads 0, as on Linux."""
    levels = (facts.get("NSpid") or str(pid)).split()
    ppid = int(facts.get("PPid", "0") or 0)
    parent_levels = (host_process_facts(ppid).get("NSpid") or "").split() if ppid else []
    return int(levels[-1]), int(parent_levels[-1]) if len(parent_levels) == len(levels) else 0


@dataclass(frozen=True, slots=True)
class HostProcess:
    """The host process behind a request: its PID in procsim's PID namespace, its name, and the
    PID it knows itself by (in a PID namespace of its own, `procsim shell`, another number)."""

    pid: int
    name: str
    own_pid: int


class CallerResolver:
    """Caches tid -> HostProcess.  An entry is checked against the thread asking now (host PIDs
    wrap: a new process with an old number must not be taken for the old one)."""

    def __init__(self, size: int = 256) -> None:
        self._cache: OrderedDict[int, tuple[int | None, HostProcess]] = OrderedDict()
        self._size = size

    def process_of(self, tid: int) -> HostProcess:
        identity = host_identity(tid) if tid > 0 else None
        hit = self._cache.get(tid)
        if hit is not None and hit[0] == identity:
            self._cache.move_to_end(tid)
            return hit[1]
        facts = host_process_facts(tid) if tid > 0 else {}
        tgid = int(facts.get("Tgid", tid) or tid)
        if tgid != tid:
            facts = host_process_facts(tgid) or facts  # a thread: its process's numbers
        own = int((facts.get("NSpid") or str(tgid)).split()[-1])
        process = HostProcess(tgid, facts.get("Name", ""), own)
        self._cache[tid] = (identity, process)
        if len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return process
