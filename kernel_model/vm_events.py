"""VMEvents: the machine's memory events since boot (Linux's vm_event_states behind /proc/vmstat).

Per-process fault counters die with their process; these do not, so `pgfault` never goes back
when a process is reaped, as on Linux.  A major fault is one that read a page from a file (the
inode path); zero-fill and copy-on-write faults are minor.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class VMEvents:
    pgfault: int = 0        # every fault, major and minor
    pgmajfault: int = 0     # faults that read a file's page
    oom_kill: int = 0       # processes killed for want of a page
    pgpurged: int = 0       # volatile pages given back by a purge (no Linux key: shown as pgsteal)
