"""Thread: the scheduling and fault counters of a process's (single, simulated) thread."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Thread:
    tid: int
    name: str
    state: str = "Blocked"        # SerenityOS names: Runnable, Running, Blocked, Stopped, Dying, Dead
    blocker: str = "Sleeping"     # when Blocked: "Sleeping", "Waiting", ...
    times_scheduled: int = 1       # a new thread ran once, to where it blocks (a sleeper has switched too)
    time_user: int = 0            # nanoseconds of simulated CPU time
    time_kernel: int = 0
    cpu: int = 0
    priority: int = 30
    syscall_count: int = 0
    inode_faults: int = 0
    zero_faults: int = 0
    cow_faults: int = 0
    file_read_bytes: int = 0
    file_write_bytes: int = 0

    @property
    def state_name(self) -> str:
        return self.blocker if self.state == "Blocked" and self.blocker else self.state
