"""Helpers shared by the kernel-model tests."""
from __future__ import annotations

from kernel_model import Kernel


def state_of(kernel: Kernel) -> tuple:
    """Everything a failed syscall must leave unchanged: counters, process table, regions, fds."""
    with kernel.lock:
        procs = tuple(
            (pid, p.state, p.ppid, tuple(sorted(p.children)), tuple(p.wait_list),
             tuple((r.base, r.size, r.vmobject.class_name, r.pagemap()) for r in p.space.regions),
             tuple(sorted(p.fds)), p.ref_count)
            for pid, p in sorted(kernel.processes.items()))
        return (tuple(kernel.mm.counters().items()), procs, len(kernel.registry))


def assert_all_freed(kernel: Kernel) -> None:
    """After shutdown: only the marker pages are used, nothing is committed, no VM object lives."""
    kernel.shutdown()
    kernel.check_invariants()
    assert kernel.processes == {}
    assert kernel.mm.used == 2 and kernel.mm.committed == 0
    assert kernel.mm.vmobjects == {}
    kinds = {type(o).__name__ for o in kernel.registry.objects()}
    assert kinds <= {"Inode", "Process"}, kinds
    assert [o.pid for o in kernel.registry.objects() if type(o).__name__ == "Process"] == [0]
