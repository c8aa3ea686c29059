"""Time: how much CPU a process wants, and the clock tick that charges it (SerenityOS's
Scheduler, reduced to shares of the CPUs)."""
from __future__ import annotations

import errno

from ..kernel_core import KernelCore
from ..kernel_error import KernelError
from ..process import Process
from . import kernel_call, syscall


class SchedSyscalls(KernelCore):
    @syscall
    def set_cpu_load(self, process: Process, load: float) -> None:
        """How much of one CPU the process wants (0 = sleeping); tick() charges it."""
        pid = process.pid
        if not 0.0 <= load <= 1.0:
            raise KernelError(errno.EINVAL, "load must be between 0 and 1")
        process.cpu_load = load
        thread = process.thread
        assert thread is not None
        if load > 0:
            self.busy.add(pid)
            if not process.stopped:
                thread.state, thread.blocker = "Running", ""
        else:
            self.busy.discard(pid)
            if not process.stopped:
                thread.state, thread.blocker = "Blocked", "Sleeping"

    @kernel_call
    def tick(self, seconds: float) -> None:
        """Advance simulated time and charge CPU time to the processes that want it."""
        if not 0 <= seconds <= 10 * 365 * 86400:
            raise KernelError(errno.EINVAL, f"bad tick {seconds!r}")
        dt = int(seconds * 1e9)
        self.clock.advance(dt)
        capacity = dt * self.ncpus
        demand = sum(self.processes[p].cpu_load for p in self.busy if not self.processes[p].stopped)
        scale = min(1.0, self.ncpus / demand) if demand else 0.0
        used = 0
        for pid in sorted(self.busy):
            process = self.processes[pid]
            if process.stopped:
                continue
            share = int(dt * process.cpu_load * scale)
            thread = process.counters
            thread.time_kernel += share // 10
            thread.time_user += share - share // 10
            thread.times_scheduled += 1
            used += share
        self.total_time += capacity
        self.total_time_kernel += used // 10
        self.idle_time += capacity - used
        colonel = self.colonel.counters
        colonel.time_kernel += capacity - used
        colonel.times_scheduled += 1
        self.load.advance(self.clock.now_ns(), self.runnable())
